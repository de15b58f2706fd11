//! The DYNAMO `funcfl` format (`pair_style eam` in LAMMPS): one element per file, the pair
//! interaction given by an effective charge Z(r) with φ(r) = 27.2 · 0.529 · Z_i(r) Z_j(r) / r
//! (Hartree × Bohr radius, LAMMPS's conversion to eV·Å).
//!
//! ```text
//! comment line
//! Z mass a0 lattice
//! Nrho drho Nr dr cutoff
//! F(rho) (Nrho values)
//! Z(r)   (Nr values)
//! f(r)   (Nr values)
//! ```

use std::fmt::Write as _;
use std::path::Path;

use super::setfl::{check_grid, is_positive};
use super::text::{self, Lines, parse_count, parse_f64};
use crate::{Error, Result};

/// Hartree (eV) times Bohr radius (Å) with the rounded values LAMMPS uses: `φ = 27.2·0.529·Z_i Z_j / r`.
pub const HARTREE_BOHR_EV_A: f64 = 27.2 * 0.529;

/// A single-element EAM potential as tabulated in a funcfl file.
#[derive(Debug, Clone, PartialEq)]
pub struct Funcfl {
    /// The comment line.
    pub comment: String,
    /// Atomic number.
    pub atomic_number: u32,
    /// Mass in amu.
    pub mass: f64,
    /// Lattice constant in Å (informational).
    pub lattice_constant: f64,
    /// Lattice name such as `fcc` (informational).
    pub lattice: String,
    /// ρ grid spacing.
    pub drho: f64,
    /// r grid spacing, Å.
    pub dr: f64,
    /// Cutoff, Å.
    pub cutoff: f64,
    /// F(ρ) in eV at ρ = k · drho.
    pub embedding: Vec<f64>,
    /// Effective charge Z(r) (in units of the electron charge) at r = k · dr.
    pub charge: Vec<f64>,
    /// Electron density f(r) at r = k · dr.
    pub density: Vec<f64>,
}

impl Funcfl {
    /// Reads a funcfl file.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = text::read_to_string(path)?;
        Self::parse(&text, Some(path))
    }

    /// Parses funcfl text; `path` only labels errors.
    pub fn parse(text: &str, path: Option<&Path>) -> Result<Self> {
        let mut lines = Lines::new(text, path);
        let comment = lines.raw_line("the comment line")?.1.to_string();
        let (ln, words) = lines.data_line("the header line `Z mass a0 lattice`")?;
        if words.len() < 2 {
            return Err(lines.error(
                ln,
                "header: expected `Z mass [a0 lattice]`, found one value",
            ));
        }
        let e = |m: String| lines.error(ln, m);
        let atomic_number = parse_count(words[0], "atomic number").map_err(e)? as u32;
        let mass = parse_f64(words[1], "mass").map_err(e)?;
        if mass <= 0.0 {
            return Err(e(format!("mass: expected > 0, found {mass}")));
        }
        let lattice_constant = match words.get(2) {
            Some(w) => parse_f64(w, "lattice constant").map_err(e)?,
            None => 0.0,
        };
        let lattice = words.get(3).map(|w| w.to_string()).unwrap_or_default();
        let (ln, words) = lines.data_line("the grid line `Nrho drho Nr dr cutoff`")?;
        if words.len() < 5 {
            return Err(lines.error(
                ln,
                format!(
                    "grid line: expected 5 values `Nrho drho Nr dr cutoff`, found {}",
                    words.len()
                ),
            ));
        }
        let e = |m: String| lines.error(ln, m);
        let nrho = parse_count(words[0], "Nrho").map_err(e)?;
        let drho = parse_f64(words[1], "drho").map_err(e)?;
        let nr = parse_count(words[2], "Nr").map_err(e)?;
        let dr = parse_f64(words[3], "dr").map_err(e)?;
        let cutoff = parse_f64(words[4], "cutoff").map_err(e)?;
        check_grid(nrho, drho, nr, dr, cutoff).map_err(e)?;
        let embedding = lines.table(nrho, "F(rho)")?;
        let charge = lines.table(nr, "Z(r)")?;
        let density = lines.table(nr, "f(r)")?;
        if let Some(ln) = lines.trailing_data() {
            return Err(lines.error(
                ln,
                "unexpected data after the f(r) table: wrong count in the header?",
            ));
        }
        Ok(Funcfl {
            comment,
            atomic_number,
            mass,
            lattice_constant,
            lattice,
            drho,
            dr,
            cutoff,
            embedding,
            charge,
            density,
        })
    }

    /// Checks the invariants a reader relies on (for tables built in memory).
    pub fn validate(&self) -> Result<()> {
        check_grid(
            self.embedding.len(),
            self.drho,
            self.density.len(),
            self.dr,
            self.cutoff,
        )
        .map_err(|m| Error::field("funcfl", m))?;
        if self.charge.len() != self.density.len() {
            return Err(Error::field(
                "funcfl.charge",
                format!(
                    "expected {} Z(r) values (as many as f(r)), found {}",
                    self.density.len(),
                    self.charge.len()
                ),
            ));
        }
        if !is_positive(self.mass) {
            return Err(Error::field("funcfl.mass", "expected a positive mass"));
        }
        let all_finite = self
            .embedding
            .iter()
            .chain(&self.charge)
            .chain(&self.density)
            .all(|v| v.is_finite());
        if !all_finite {
            return Err(Error::field("funcfl", "tables hold a non-finite value"));
        }
        Ok(())
    }

    /// The file text, five values per line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        out.push_str(&self.comment.replace(['\n', '\r'], " "));
        out.push('\n');
        let lattice = if self.lattice.is_empty() {
            "fcc"
        } else {
            &self.lattice
        };
        let _ = writeln!(
            out,
            "{} {} {} {}",
            self.atomic_number,
            text::fmt_e(self.mass),
            text::fmt_e(self.lattice_constant),
            lattice
        );
        let _ = writeln!(
            out,
            "{} {} {} {} {}",
            self.embedding.len(),
            text::fmt_e(self.drho),
            self.density.len(),
            text::fmt_e(self.dr),
            text::fmt_e(self.cutoff)
        );
        text::write_table(&mut out, &self.embedding);
        text::write_table(&mut out, &self.charge);
        text::write_table(&mut out, &self.density);
        out
    }

    /// Writes the file (through a temporary file and a rename) after validating the tables.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        self.validate()?;
        crate::io::write_bytes(path.as_ref(), self.to_text().as_bytes())
    }
}
