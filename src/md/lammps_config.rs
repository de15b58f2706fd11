//! The scenario form of the LAMMPS force backend ([`LammpsPotentialSpec`]): any LAMMPS
//! interaction given as its own input lines, checked without LAMMPS and built into a
//! [`super::Lammps`] when kmc has the `lammps` feature.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Potential;
use crate::error::{Error, Result};

/// The text in [`LammpsPotentialSpec::commands`] replaced by the scenario file's directory,
/// so that potential files can sit beside the scenario whatever the working directory.
pub const SCENARIO_DIR: &str = "${scenario_dir}";

/// A LAMMPS-evaluated potential, as a scenario gives it:
///
/// ```ron
/// Lammps((
///     commands: ["pair_style meam", "pair_coeff * * ${scenario_dir}/Au.library.meam Au NULL Au"],
///     elements: ["Au"],
///     masses_amu: [196.967],
///     cutoff_a: 4.0,
/// ))
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LammpsPotentialSpec {
    /// LAMMPS input lines run after the box exists (`pair_style`, `pair_coeff`, `kspace_style`,
    /// `pair_modify`, ...). LAMMPS type `k + 1` is element `k`; `${scenario_dir}` stands for
    /// the scenario file's directory (paths with spaces need LAMMPS quotes around them).
    pub commands: Vec<String>,
    /// Element names, indexed by species (LAMMPS type − 1).
    pub elements: Vec<String>,
    /// Masses in amu, one per element.
    pub masses_amu: Vec<f64>,
    /// Fixed charges in units of e, one per element, for styles with charges (e.g.
    /// `buck/coul/long`); empty (default): `atom_style atomic`, no charges.
    #[serde(default)]
    pub charges_e: Vec<f64>,
    /// The interaction's cutoff (the largest of the pair style's cutoffs): kmc sizes its
    /// frozen shells, contact regions and neighbour lists with it.
    pub cutoff_a: f64,
    /// `liblammps.so` (relative to the scenario file); default: the environment variable
    /// `KMC_LIBLAMMPS`.
    #[serde(default)]
    pub library: Option<PathBuf>,
    /// A library loaded before it (the PyPI wheel's `libmpi.so.12`); default: `KMC_LIBMPI`,
    /// else none.
    #[serde(default)]
    pub mpi_library: Option<PathBuf>,
}

impl LammpsPotentialSpec {
    /// Checks counts and values without LAMMPS; error fields are `{field}.<name>`.
    pub fn validate(&self, field: &str) -> Result<()> {
        let f = |name: &str| format!("{field}.{name}");
        if self.commands.iter().all(|c| c.trim().is_empty()) {
            return Err(Error::field(
                f("commands"),
                "is empty: give at least `pair_style ...` and `pair_coeff ...`",
            ));
        }
        if let Some(i) = self.commands.iter().position(|c| c.contains(['\n', '\0'])) {
            return Err(Error::field(
                format!("{field}.commands[{i}]"),
                "holds a line break or NUL: give one LAMMPS command per string",
            ));
        }
        if self.elements.is_empty() {
            return Err(Error::field(f("elements"), "is empty"));
        }
        if self.elements.len() > u8::MAX as usize + 1 {
            return Err(Error::field(
                f("elements"),
                format!("{} elements: at most 256", self.elements.len()),
            ));
        }
        if let Some(i) = self.elements.iter().position(|e| e.trim().is_empty()) {
            return Err(Error::field(
                format!("{field}.elements[{i}]"),
                "is not an element name",
            ));
        }
        if self.masses_amu.len() != self.elements.len() {
            return Err(Error::field(
                f("masses_amu"),
                format!(
                    "{} masses for {} elements: give one per element",
                    self.masses_amu.len(),
                    self.elements.len()
                ),
            ));
        }
        if let Some(i) = self
            .masses_amu
            .iter()
            .position(|m| !(m.is_finite() && *m > 0.0))
        {
            return Err(Error::field(
                format!("{field}.masses_amu[{i}]"),
                format!("must be a positive mass, got {}", self.masses_amu[i]),
            ));
        }
        if !self.charges_e.is_empty() && self.charges_e.len() != self.elements.len() {
            return Err(Error::field(
                f("charges_e"),
                format!(
                    "{} charges for {} elements: give one per element, or none",
                    self.charges_e.len(),
                    self.elements.len()
                ),
            ));
        }
        if let Some(i) = self.charges_e.iter().position(|q| !q.is_finite()) {
            return Err(Error::field(
                format!("{field}.charges_e[{i}]"),
                "must be a finite number",
            ));
        }
        if !(self.cutoff_a.is_finite() && self.cutoff_a > 0.0) {
            return Err(Error::field(
                f("cutoff_a"),
                format!("must be a positive distance, got {}", self.cutoff_a),
            ));
        }
        Ok(())
    }

    /// The commands with [`SCENARIO_DIR`] replaced by `base_dir`.
    pub fn commands_in(&self, base_dir: &Path) -> Vec<String> {
        let dir = if base_dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            base_dir
        };
        let dir = dir.to_string_lossy();
        self.commands
            .iter()
            .map(|c| c.replace(SCENARIO_DIR, &dir))
            .collect()
    }

    /// The LAMMPS potential (files relative to `base_dir`); without the `lammps` feature, an
    /// error on `field` saying so.
    pub fn build(&self, base_dir: &Path, field: &str) -> Result<Box<dyn Potential>> {
        self.validate(field)?;
        self.build_lammps(base_dir, field)
    }

    #[cfg(feature = "lammps")]
    fn build_lammps(&self, base_dir: &Path, field: &str) -> Result<Box<dyn Potential>> {
        // The backend names its fields `lammps.x`; here they are `{field}.x`.
        super::Lammps::new(self.spec(base_dir))
            .map(|l| Box::new(l) as Box<dyn Potential>)
            .map_err(|e| match e {
                Error::Input {
                    mut location,
                    message,
                } => {
                    location.field = location.field.map(|f| f.replacen("lammps", field, 1));
                    Error::Input { location, message }
                }
                other => other,
            })
    }

    #[cfg(not(feature = "lammps"))]
    fn build_lammps(&self, _base_dir: &Path, field: &str) -> Result<Box<dyn Potential>> {
        Err(Error::field(
            field,
            "this kmc was built without the LAMMPS backend: rebuild with `cargo build --release \
             --features lammps`",
        ))
    }

    /// The backend's set-up, files relative to `base_dir`.
    #[cfg(feature = "lammps")]
    pub fn spec(&self, base_dir: &Path) -> super::LammpsSpec {
        super::LammpsSpec {
            library: self.library.as_ref().map(|p| base_dir.join(p)),
            mpi_library: self.mpi_library.as_ref().map(|p| base_dir.join(p)),
            pair_commands: self.commands_in(base_dir),
            elements: self.elements.clone(),
            masses_amu: self.masses_amu.clone(),
            charges_e: self.charges_e.clone(),
            cutoff_a: self.cutoff_a,
        }
    }
}
