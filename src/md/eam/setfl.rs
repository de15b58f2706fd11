//! The DYNAMO `setfl` format (`pair_style eam/alloy` in LAMMPS): several elements in one file.
//!
//! ```text
//! comment line 1
//! comment line 2
//! comment line 3
//! Nelements Element1 Element2 ...
//! Nrho drho Nr dr cutoff
//! Z mass a0 lattice          (element 1)
//! F(rho) for rho = 0, drho, ... (Nrho values)
//! f(r) for r = 0, dr, ...       (Nr values)
//! ... (the same for each element)
//! r*phi(r) for each pair i >= j: (1,1), (2,1), (2,2), (3,1), ... (Nr values each)
//! ```

use std::fmt::Write as _;
use std::path::Path;

use super::text::{self, Lines, parse_count, parse_f64};
use crate::{Error, Result};

/// One element of a setfl file.
#[derive(Debug, Clone, PartialEq)]
pub struct SetflElement {
    /// Element name as it appears on the element line (LAMMPS maps atom types by it).
    pub name: String,
    /// Atomic number.
    pub atomic_number: u32,
    /// Mass in amu.
    pub mass: f64,
    /// Lattice constant in Å (informational; 0 if the file gives none).
    pub lattice_constant: f64,
    /// Lattice name such as `fcc` (informational; may be empty).
    pub lattice: String,
    /// Embedding energy F(ρ) in eV at ρ = k · drho, `k = 0 .. nrho`.
    pub embedding: Vec<f64>,
    /// Electron density f(r) this element contributes at r = k · dr, `k = 0 .. nr`.
    pub density: Vec<f64>,
}

/// A multi-element EAM potential as tabulated in a setfl file.
#[derive(Debug, Clone, PartialEq)]
pub struct Setfl {
    /// The three comment lines (without line ends).
    pub comments: [String; 3],
    /// The elements, in file order.
    pub elements: Vec<SetflElement>,
    /// Number of ρ grid points.
    pub nrho: usize,
    /// ρ grid spacing.
    pub drho: f64,
    /// Number of r grid points.
    pub nr: usize,
    /// r grid spacing, Å.
    pub dr: f64,
    /// Cutoff, Å: pairs interact only when r < cutoff.
    pub cutoff: f64,
    /// r·φ(r) in eV·Å for each pair `i >= j`, at index [`Setfl::pair_index`]`(i, j)`.
    pub pair: Vec<Vec<f64>>,
}

impl Setfl {
    /// Index of the pair table of elements `i` and `j` (either order) in [`Setfl::pair`]:
    /// the lower triangle row by row, as in the file.
    pub fn pair_index(i: usize, j: usize) -> usize {
        let (a, b) = if i >= j { (i, j) } else { (j, i) };
        a * (a + 1) / 2 + b
    }

    /// Reads a setfl file.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = text::read_to_string(path)?;
        Self::parse(&text, Some(path))
    }

    /// Parses setfl text; `path` only labels errors.
    pub fn parse(text: &str, path: Option<&Path>) -> Result<Self> {
        let mut lines = Lines::new(text, path);
        let mut comments: [String; 3] = Default::default();
        for c in comments.iter_mut() {
            *c = lines
                .raw_line("a comment line (a setfl file starts with 3)")?
                .1
                .to_string();
        }
        let (ln, words) = lines.data_line("the element line `Nelements Element1 Element2 ...`")?;
        let n_el = parse_count(words[0], "number of elements").map_err(|m| lines.error(ln, m))?;
        if n_el == 0 {
            return Err(lines.error(ln, "number of elements: expected at least 1, found 0"));
        }
        if words.len() != n_el + 1 {
            return Err(lines.error(
                ln,
                format!(
                    "element line: says {n_el} element(s) but names {}",
                    words.len() - 1
                ),
            ));
        }
        let names: Vec<String> = words[1..].iter().map(|w| w.to_string()).collect();
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
        let mut elements = Vec::with_capacity(n_el);
        for name in names {
            let (ln, words) =
                lines.data_line(&format!("the header line `Z mass a0 lattice` of {name}"))?;
            if words.len() < 2 {
                return Err(lines.error(
                    ln,
                    format!("header of {name}: expected `Z mass [a0 lattice]`, found one value"),
                ));
            }
            let e = |m: String| lines.error(ln, m);
            let atomic_number =
                parse_count(words[0], &format!("atomic number of {name}")).map_err(e)? as u32;
            let mass = parse_f64(words[1], &format!("mass of {name}")).map_err(e)?;
            if mass <= 0.0 {
                return Err(e(format!("mass of {name}: expected > 0, found {mass}")));
            }
            let lattice_constant = match words.get(2) {
                Some(w) => parse_f64(w, &format!("lattice constant of {name}")).map_err(e)?,
                None => 0.0,
            };
            let lattice = words.get(3).map(|w| w.to_string()).unwrap_or_default();
            let embedding = lines.table(nrho, &format!("F(rho) of {name}"))?;
            let density = lines.table(nr, &format!("f(r) of {name}"))?;
            elements.push(SetflElement {
                name,
                atomic_number,
                mass,
                lattice_constant,
                lattice,
                embedding,
                density,
            });
        }
        let mut pair = Vec::with_capacity(n_el * (n_el + 1) / 2);
        for i in 0..n_el {
            for j in 0..=i {
                let what = format!("r*phi(r) of {}-{}", elements[i].name, elements[j].name);
                pair.push(lines.table(nr, &what)?);
            }
        }
        if let Some(ln) = lines.trailing_data() {
            return Err(lines.error(
                ln,
                "unexpected data after the last r*phi table: wrong count in the header?",
            ));
        }
        Ok(Setfl {
            comments,
            elements,
            nrho,
            drho,
            nr,
            dr,
            cutoff,
            pair,
        })
    }

    /// Checks the invariants a reader relies on (for tables built in memory).
    pub fn validate(&self) -> Result<()> {
        check_grid(self.nrho, self.drho, self.nr, self.dr, self.cutoff)
            .map_err(|m| Error::field("setfl", m))?;
        if self.elements.is_empty() {
            return Err(Error::field(
                "setfl.elements",
                "expected at least one element",
            ));
        }
        let n_el = self.elements.len();
        for el in &self.elements {
            if el.name.is_empty() || el.name.contains(char::is_whitespace) {
                return Err(Error::field(
                    "setfl.elements.name",
                    format!("`{}` is not a usable element name", el.name),
                ));
            }
            if el.embedding.len() != self.nrho || el.density.len() != self.nr {
                return Err(Error::field(
                    format!("setfl.elements[{}]", el.name),
                    format!(
                        "expected {} F(rho) and {} f(r) values, found {} and {}",
                        self.nrho,
                        self.nr,
                        el.embedding.len(),
                        el.density.len()
                    ),
                ));
            }
            if !is_positive(el.mass) {
                return Err(Error::field(
                    format!("setfl.elements[{}].mass", el.name),
                    "expected a positive mass",
                ));
            }
        }
        if self.pair.len() != n_el * (n_el + 1) / 2 || self.pair.iter().any(|p| p.len() != self.nr)
        {
            return Err(Error::field(
                "setfl.pair",
                format!(
                    "expected {} tables of {} values",
                    n_el * (n_el + 1) / 2,
                    self.nr
                ),
            ));
        }
        let all_finite = self
            .elements
            .iter()
            .flat_map(|e| e.embedding.iter().chain(&e.density))
            .chain(self.pair.iter().flatten())
            .all(|v| v.is_finite());
        if !all_finite {
            return Err(Error::field("setfl", "tables hold a non-finite value"));
        }
        Ok(())
    }

    /// The file text, in the layout LAMMPS and DYNAMO read (five values per line).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for c in &self.comments {
            // A comment must stay on its line.
            out.push_str(&c.replace(['\n', '\r'], " "));
            out.push('\n');
        }
        let names: Vec<&str> = self.elements.iter().map(|e| e.name.as_str()).collect();
        let _ = writeln!(out, "{} {}", self.elements.len(), names.join(" "));
        let _ = writeln!(
            out,
            "{} {} {} {} {}",
            self.nrho,
            text::fmt_e(self.drho),
            self.nr,
            text::fmt_e(self.dr),
            text::fmt_e(self.cutoff)
        );
        for el in &self.elements {
            let lattice = if el.lattice.is_empty() {
                "fcc"
            } else {
                &el.lattice
            };
            let _ = writeln!(
                out,
                "{} {} {} {}",
                el.atomic_number,
                text::fmt_e(el.mass),
                text::fmt_e(el.lattice_constant),
                lattice
            );
            text::write_table(&mut out, &el.embedding);
            text::write_table(&mut out, &el.density);
        }
        for p in &self.pair {
            text::write_table(&mut out, p);
        }
        out
    }

    /// Writes the file (through a temporary file and a rename) after validating the tables.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        self.validate()?;
        crate::io::write_bytes(path.as_ref(), self.to_text().as_bytes())
    }
}

/// Grid sanity shared by setfl and funcfl: LAMMPS's spline needs at least 5 points.
pub(crate) fn check_grid(
    nrho: usize,
    drho: f64,
    nr: usize,
    dr: f64,
    cutoff: f64,
) -> std::result::Result<(), String> {
    if nrho < 5 {
        return Err(format!(
            "Nrho: expected at least 5 grid points, found {nrho}"
        ));
    }
    if nr < 5 {
        return Err(format!("Nr: expected at least 5 grid points, found {nr}"));
    }
    if !is_positive(drho) {
        return Err(format!("drho: expected a positive spacing, found {drho}"));
    }
    if !is_positive(dr) {
        return Err(format!("dr: expected a positive spacing, found {dr}"));
    }
    if !is_positive(cutoff) {
        return Err(format!(
            "cutoff: expected a positive distance, found {cutoff}"
        ));
    }
    Ok(())
}

/// True for a positive number (false for NaN).
pub(crate) fn is_positive(x: f64) -> bool {
    x > 0.0
}
