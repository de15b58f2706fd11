//! Line-oriented reading and writing of the DYNAMO/LAMMPS tabulated-potential formats.
//!
//! Reading is free format like LAMMPS (any number of values per line, blank lines and `#`
//! comments skipped in the data), but strict where LAMMPS would silently misread: every table
//! starts on a new line, a line that overruns a table is an error (it means a count in the header
//! is wrong), and values must be finite numbers.

use std::fmt::Write as _;
use std::path::Path;

use crate::{Error, Location, Result};

/// A cursor over the lines of a potential file that reports errors with file and line.
pub(crate) struct Lines<'a> {
    path: Option<&'a Path>,
    lines: Vec<&'a str>,
    /// Index of the next line to read (0-based).
    pos: usize,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str, path: Option<&'a Path>) -> Self {
        Lines {
            path,
            lines: text.lines().collect(),
            pos: 0,
        }
    }

    /// Location of 1-based line `line`.
    pub(crate) fn at(&self, line: usize) -> Location {
        let loc = match self.path {
            Some(p) => Location::file(p),
            None => Location::default(),
        };
        loc.line(line)
    }

    pub(crate) fn error(&self, line: usize, message: impl Into<String>) -> Error {
        Error::input(self.at(line), message)
    }

    /// The next raw line (for comment lines), or an error naming what was expected.
    pub(crate) fn raw_line(&mut self, expected: &str) -> Result<(usize, &'a str)> {
        match self.lines.get(self.pos) {
            Some(l) => {
                self.pos += 1;
                Ok((self.pos, l))
            }
            None => Err(self.error(
                self.lines.len().max(1),
                format!("the file ends where {expected} was expected"),
            )),
        }
    }

    /// The words of the next line that has any data (blank lines and comments skipped).
    pub(crate) fn data_line(&mut self, expected: &str) -> Result<(usize, Vec<&'a str>)> {
        loop {
            let (n, l) = self.raw_line(expected)?;
            let words: Vec<&str> = strip_comment(l).split_whitespace().collect();
            if !words.is_empty() {
                return Ok((n, words));
            }
        }
    }

    /// Reads `n` values of a table that starts on a new line and may span several lines.
    pub(crate) fn table(&mut self, n: usize, what: &str) -> Result<Vec<f64>> {
        // The count comes from the header: reserve no more than the rest of the file can hold
        // (a value and its separator take at least two bytes), so a header saying Nrho = 2e9
        // ends in the "file ends after" message below instead of an allocation failure.
        let rest: usize = self.lines[self.pos..].iter().map(|l| l.len() + 1).sum();
        let mut out = Vec::with_capacity(n.min(rest / 2 + 1));
        while out.len() < n {
            let expected = format!("{} more values of {what} ({} expected)", n - out.len(), n);
            let (line, words) = match self.data_line(&expected) {
                Ok(x) => x,
                Err(_) => {
                    return Err(self.error(
                        self.lines.len().max(1),
                        format!(
                            "the file ends after {} of the {n} values of {what}: truncated file or wrong count in the header",
                            out.len()
                        ),
                    ));
                }
            };
            if out.len() + words.len() > n {
                return Err(self.error(
                    line,
                    format!(
                        "this line holds {} values but only {} more of {what} were expected ({n} in all): wrong count in the header?",
                        words.len(),
                        n - out.len()
                    ),
                ));
            }
            for w in words {
                out.push(parse_f64(w, what).map_err(|m| self.error(line, m))?);
            }
        }
        Ok(out)
    }

    /// The first line after the current position that holds data, if any.
    pub(crate) fn trailing_data(&self) -> Option<usize> {
        for (k, l) in self.lines.iter().enumerate().skip(self.pos) {
            if !strip_comment(l).trim().is_empty() {
                return Some(k + 1);
            }
        }
        None
    }
}

fn strip_comment(line: &str) -> &str {
    match line.find('#') {
        Some(k) => &line[..k],
        None => line,
    }
}

/// Parses a finite number; the error message names what was expected.
pub(crate) fn parse_f64(word: &str, what: &str) -> std::result::Result<f64, String> {
    match word.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("{what}: expected a finite number, found `{word}`")),
        Err(_) => Err(format!("{what}: expected a number, found `{word}`")),
    }
}

/// Parses a non-negative integer (as LAMMPS's `next_int` would) for `what`.
pub(crate) fn parse_count(word: &str, what: &str) -> std::result::Result<usize, String> {
    word.parse::<usize>()
        .map_err(|_| format!("{what}: expected a non-negative integer, found `{word}`"))
}

/// C's `%.16e` (`-1.2345678901234567e+00`): 17 significant digits, so values read back exactly.
pub(crate) fn fmt_e(x: f64) -> String {
    let s = format!("{x:.16e}");
    match s.split_once('e') {
        Some((mant, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            if digits.len() < 2 {
                format!("{mant}e{sign}0{digits}")
            } else {
                format!("{mant}e{sign}{digits}")
            }
        }
        None => s,
    }
}

/// Appends `values` five to a line, each right-aligned in 24 columns (the DYNAMO layout).
pub(crate) fn write_table(out: &mut String, values: &[f64]) {
    for chunk in values.chunks(5) {
        for v in chunk {
            let _ = write!(out, "{:>24}", fmt_e(*v));
        }
        out.push('\n');
    }
}

/// Reads a whole file, mapping failures to [`Error::Io`].
pub(crate) fn read_to_string(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fmt_e_round_trips_and_looks_like_c() {
        assert_eq!(fmt_e(1.0), "1.0000000000000000e+00");
        assert_eq!(fmt_e(-2.5e-7), "-2.4999999999999999e-07");
        assert_eq!(fmt_e(-0.25), "-2.5000000000000000e-01");
        assert_eq!(fmt_e(0.0), "0.0000000000000000e+00");
        assert_eq!(fmt_e(1.5e300), "1.5000000000000001e+300");
        for x in [std::f64::consts::PI, -1.0 / 3.0, 6.02214076e23, 5e-324] {
            assert_eq!(fmt_e(x).parse::<f64>().unwrap(), x);
        }
    }

    #[test]
    fn parse_rejects_nan_and_words() {
        assert!(parse_f64("NaN", "F").unwrap_err().contains("finite"));
        assert!(parse_f64("inf", "F").unwrap_err().contains("finite"));
        assert!(
            parse_f64("1.0x", "F")
                .unwrap_err()
                .contains("expected a number")
        );
        assert_eq!(parse_f64("-1.5E+01", "F").unwrap(), -15.0);
    }
}
