//! The crate's error type. Every error that stems from user input names the file and, where it
//! can, the line, column and field, so the CLI can print it as is.

use std::fmt;
use std::path::{Path, PathBuf};

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where in an input something went wrong: file, line/column (1-based) and field path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// File the input came from; `None` for in-memory input.
    pub path: Option<PathBuf>,
    /// 1-based line, if known.
    pub line: Option<usize>,
    /// 1-based column, if known.
    pub column: Option<usize>,
    /// Dotted field path such as `species[1].prefactor_hz`, if known.
    pub field: Option<String>,
}

impl Location {
    /// A location that only names a file.
    pub fn file(path: impl AsRef<Path>) -> Self {
        Location {
            path: Some(path.as_ref().to_path_buf()),
            ..Default::default()
        }
    }

    /// Adds a line and column.
    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    /// Adds a line.
    pub fn line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    /// Adds a field path.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}", p.display())?,
            None => write!(f, "<input>")?,
        }
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        Ok(())
    }
}

/// Every error the library returns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An input (scenario, rate table, potential file, particle list, ...) is malformed or invalid.
    #[error("{location}: {message}")]
    Input {
        /// Where.
        location: Location,
        /// What is wrong, and what was expected.
        message: String,
    },
    /// A checkpoint is truncated, corrupted, of another version or from another scenario.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The simulation cannot proceed (a particle that cannot be placed, a lattice that cannot grow, ...).
    #[error("{0}")]
    Simulation(String),
}

impl Error {
    /// An input error at `location`.
    pub fn input(location: Location, message: impl Into<String>) -> Self {
        Error::Input {
            location,
            message: message.into(),
        }
    }

    /// An input error that names only a field (for values built in memory rather than read from a file).
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Input {
            location: Location::default().field(field),
            message: message.into(),
        }
    }

    /// An error found inside a file the input names (a setfl, a barrier table, a cache), or
    /// in reading it: the message adds the input field that names the file, so both are in
    /// one line (a file that cannot be read is reported at that field).
    pub fn in_file_named_by(self, field: &str) -> Self {
        match self {
            Error::Input { location, message } => Error::Input {
                location,
                message: format!("{message} (in the file given as `{field}`)"),
            },
            Error::Io { path, source } => Error::Input {
                location: Location::default().field(field),
                message: format!("cannot read {}: {source}", path.display()),
            },
            other => other,
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// Fills in the file of an input error that was raised without one (e.g. by validation of a
    /// value that was parsed from that file).
    pub fn in_file(self, path: impl AsRef<Path>) -> Self {
        match self {
            Error::Input {
                mut location,
                message,
            } => {
                if location.path.is_none() {
                    location.path = Some(path.as_ref().to_path_buf());
                }
                Error::Input { location, message }
            }
            other => other,
        }
    }
}
