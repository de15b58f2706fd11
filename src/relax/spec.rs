//! Scenario settings of the contact relaxer (`relax: Some((..))`), validated against the
//! scenario's species, and the potential they name.

use super::RelaxParams;
use crate::error::{Error, Result};
use crate::md::{Eam, zhou04};
use crate::state::MAX_SPECIES;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The potential the relaxer uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum RelaxPotential {
    /// The Zhou–Johnson–Wadley 2004 EAM for the scenario's species (each must be one of its
    /// 16 elements).
    #[default]
    Zhou04,
    /// A LAMMPS `eam/alloy` setfl file (relative to the scenario file) providing every species.
    Setfl(PathBuf),
}

/// Scenario settings of the contact relaxer (`relax: Some((..))`; `relax: None` disables it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelaxSpec {
    /// Interatomic potential.
    pub potential: RelaxPotential,
    /// Longest MD run per contact.
    pub md_time_ps: f64,
    /// MD runs at least this long before early stopping may end it.
    pub min_md_time_ps: f64,
    /// Stop the MD once the lattice occupancy has settled (see [`crate::relax`]).
    pub early_stop: bool,
    /// Bath temperature; the scenario's if absent.
    pub temperature_k: Option<f64>,
    /// Fixed radius of the mobile sphere; by default one equivalent radius of the smaller body.
    pub region_radius_a: Option<f64>,
    /// Upper bound on the mobile sphere's radius (caps the cost of contacts of big bodies).
    pub max_region_radius_a: Option<f64>,
    /// Atom count from which the EAM forces run on several threads.
    pub parallel_threshold: usize,
}

impl Default for RelaxSpec {
    fn default() -> Self {
        let p = RelaxParams::default();
        RelaxSpec {
            potential: RelaxPotential::Zhou04,
            md_time_ps: p.md_time_ps,
            min_md_time_ps: p.min_md_time_ps,
            early_stop: p.early_stop,
            temperature_k: None,
            region_radius_a: None,
            max_region_radius_a: None,
            // Contact regions hold 10^3..10^4 atoms; below ~1000 the thread hand-off costs
            // more than it saves.
            parallel_threshold: 1024,
        }
    }
}

impl RelaxSpec {
    /// Checks values (field paths under `relax`) and that every species has a potential.
    pub fn validate(&self, species: &[String]) -> Result<()> {
        for (name, v) in [
            ("relax.md_time_ps", self.md_time_ps),
            ("relax.min_md_time_ps", self.min_md_time_ps),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::field(
                    name,
                    format!("must be a non-negative number of ps, got {v}"),
                ));
            }
        }
        for (name, v) in [
            ("relax.temperature_k", self.temperature_k),
            ("relax.region_radius_a", self.region_radius_a),
            ("relax.max_region_radius_a", self.max_region_radius_a),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && v > 0.0) {
                    return Err(Error::field(
                        name,
                        format!("must be a positive number, got {v}"),
                    ));
                }
            }
        }
        if species.len() > MAX_SPECIES {
            return Ok(()); // reported by the scenario's own species check
        }
        if self.potential == RelaxPotential::Zhou04 {
            for (k, s) in species.iter().enumerate() {
                if zhou04::element(s).is_err() {
                    let known: Vec<&str> =
                        zhou04::table().iter().map(|e| e.name.as_str()).collect();
                    return Err(Error::field(
                        format!("species[{k}]"),
                        format!(
                            "no potential for `{s}`: the contact relaxer's default potential, the \
                             Zhou 2004 EAM, covers {}; give relax: Some((potential: Setfl(\"file\"))) \
                             or disable the relaxer with relax: None",
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Builds the potential (a relative setfl path is resolved against `base_dir`).
    pub fn build_potential(&self, species: &[String], base_dir: &Path) -> Result<Eam> {
        match &self.potential {
            RelaxPotential::Zhou04 => {
                let names: Vec<&str> = species.iter().map(String::as_str).collect();
                Eam::from_setfl(&zhou04::setfl(&names)?)
            }
            RelaxPotential::Setfl(path) => Eam::read_setfl(base_dir.join(path)),
        }
    }
}
