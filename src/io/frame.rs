//! One frame of atoms as the extended-XYZ and LAMMPS-dump readers and writers see it.

use crate::error::{Error, Location, Result};
use std::io::Write;
use std::path::Path;

/// How a real number is printed. Readers give [`Real::Shortest`], which reads back to the same
/// number, so a frame written with it round-trips exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Real {
    /// The shortest text that reads back to the same `f64` (`{}`).
    #[default]
    Shortest,
    /// Fixed point with this many decimals (`{:.n}`).
    Fixed(usize),
    /// Scientific notation with this many decimals (`{:.ne}`).
    Sci(usize),
}

impl Real {
    /// Writes `x` in this format.
    pub fn write(self, w: &mut dyn Write, x: f64) -> std::io::Result<()> {
        match self {
            Real::Shortest => write!(w, "{x}"),
            Real::Fixed(n) => write!(w, "{x:.n$}"),
            Real::Sci(n) => write!(w, "{x:.n$e}"),
        }
    }
}

/// How a frame's cell, positions and velocities are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Format {
    /// Cell lengths (and dump box bounds).
    pub cell: Real,
    /// Positions.
    pub positions: Real,
    /// Velocities.
    pub velocities: Real,
}

/// Values of an extra per-atom column, `width` per atom, atom after atom.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Real numbers, printed in the given format.
    Real(Vec<f64>, Real),
    /// Integers.
    Int(Vec<i64>),
    /// Words (extended XYZ `S` and `L` columns).
    Str(Vec<String>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Real(v, _) => v.len(),
            Values::Int(v) => v.len(),
            Values::Str(v) => v.len(),
        }
    }

    /// The extended-XYZ type letter.
    pub(crate) fn letter(&self) -> char {
        match self {
            Values::Real(..) => 'R',
            Values::Int(_) => 'I',
            Values::Str(_) => 'S',
        }
    }

    /// Writes value `k` preceded by a space.
    pub(crate) fn write_one(&self, w: &mut dyn Write, k: usize) -> std::io::Result<()> {
        match self {
            Values::Real(v, f) => {
                write!(w, " ")?;
                f.write(w, v[k])
            }
            Values::Int(v) => write!(w, " {}", v[k]),
            Values::Str(v) => write!(w, " {}", v[k]),
        }
    }
}

/// An extra per-atom column (`energies`, `site`, `depth`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Name, as in an extended-XYZ `Properties` entry.
    pub name: String,
    /// Values per atom.
    pub width: usize,
    /// `width` values per atom.
    pub values: Values,
}

impl Column {
    /// A column of one real number per atom.
    pub fn real(name: impl Into<String>, values: Vec<f64>, format: Real) -> Self {
        Column {
            name: name.into(),
            width: 1,
            values: Values::Real(values, format),
        }
    }

    /// A column of one integer per atom.
    pub fn int(name: impl Into<String>, values: Vec<i64>) -> Self {
        Column {
            name: name.into(),
            width: 1,
            values: Values::Int(values),
        }
    }
}

/// Atoms in an orthorhombic box: species, positions, optional velocities and extra columns,
/// and `key=value` properties (time, energy, ...). Velocities are in Å/fs; positions and the
/// cell in Å.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frame {
    /// Timestep: LAMMPS `TIMESTEP`, extended-XYZ `step=` (written only when set).
    pub step: Option<u64>,
    /// Lower corner of the box.
    pub origin: [f64; 3],
    /// Box edge lengths.
    pub lengths: [f64; 3],
    /// Periodicity per axis.
    pub pbc: [bool; 3],
    /// Species names; `types` index into it (LAMMPS type = index + 1).
    pub names: Vec<String>,
    /// Species index of each atom.
    pub types: Vec<u32>,
    /// Positions.
    pub positions: Vec<[f64; 3]>,
    /// Velocities, if recorded.
    pub velocities: Option<Vec<[f64; 3]>>,
    /// Extra per-atom columns, in file order.
    pub columns: Vec<Column>,
    /// Comment-line properties in file order (extended XYZ only), values unquoted.
    pub info: Vec<(String, String)>,
    /// How numbers are printed.
    pub format: Format,
}

impl Frame {
    /// Number of atoms.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// True if the frame has no atoms.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// Species name of atom `i` (`X` if its type has no name).
    pub fn name(&self, i: usize) -> &str {
        self.types
            .get(i)
            .and_then(|&t| self.names.get(t as usize))
            .map_or("X", String::as_str)
    }

    /// The extra column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The value of comment property `key`.
    pub fn info(&self, key: &str) -> Option<&str> {
        self.info
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Checks that every per-atom array has one entry (or `width`) per atom, so writers never
    /// index out of bounds.
    pub(crate) fn check(&self) -> std::io::Result<()> {
        let n = self.len();
        let bad = |what: &str| {
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("frame of {n} atoms has {what} of another length"),
            ))
        };
        if self.types.len() != n {
            return bad("types");
        }
        if self.velocities.as_ref().is_some_and(|v| v.len() != n) {
            return bad("velocities");
        }
        for c in &self.columns {
            if c.width == 0 || c.values.len() != n * c.width {
                return bad(&format!("column `{}`", c.name));
            }
        }
        Ok(())
    }
}

/// An input error at `line` of the file being read (readers of this folder).
pub(super) fn bad(path: Option<&Path>, line: usize, msg: impl Into<String>) -> Error {
    let loc = Location {
        path: path.map(Path::to_path_buf),
        ..Default::default()
    };
    Error::input(loc.line(line), msg)
}

/// Parses field `what` of `line`, or says what was expected and what was found.
pub(super) fn num<T: std::str::FromStr>(
    path: Option<&Path>,
    line: usize,
    s: Option<&str>,
    what: &str,
) -> Result<T> {
    s.and_then(|x| x.parse().ok()).ok_or_else(|| {
        bad(
            path,
            line,
            format!("expected {what}, got {:?}", s.unwrap_or("")),
        )
    })
}
