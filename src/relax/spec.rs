//! Scenario settings of the contact relaxer (`relax: Some((..))`), validated against the
//! scenario's species, and the potential they name.

use super::{RelaxParams, Thermostat};
use crate::error::{Error, Result};
use crate::md::{Eam, LammpsPotentialSpec, Potential, zhou04};
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
    /// Any LAMMPS interaction evaluated by LAMMPS (kmc built with `--features lammps`); its
    /// elements must name every scenario species, e.g. `Lammps((commands: ["pair_style snap",
    /// ...], elements: ["Ta"], masses_amu: [180.88], cutoff_a: 4.8))`.
    Lammps(LammpsPotentialSpec),
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
    /// Stop the MD once the contact has settled (see [`crate::relax`]); otherwise run to
    /// `md_time_ps`.
    pub early_stop: bool,
    /// Thermostat of the contact MD: `NoseHoover(tau_fs: 100.0)` (default) or
    /// `Langevin(damping_fs: ..)`.
    pub thermostat: Thermostat,
    /// Bath temperature; the scenario's if absent.
    pub temperature_k: Option<f64>,
    /// Particles of a contact are released whole while their atoms together number at most
    /// this (smaller body first); the default holds two 3 nm particles with room to spare.
    pub whole_particles_max_atoms: usize,
    /// Fixed radius of the mobile sphere around the contact point (cuts the film and bodies
    /// too large to be whole); by default [`CONTACT_RADIUS_FACTOR`](super::CONTACT_RADIUS_FACTOR)
    /// equivalent radii of the smaller body. At least the potential's cutoff.
    pub region_radius_a: Option<f64>,
    /// Upper bound on the mobile sphere's radius (caps the cost of contacts of big bodies).
    /// At least the potential's cutoff.
    pub max_region_radius_a: Option<f64>,
    /// Window over which positions and potential energy are averaged for the settle test.
    pub settle_window_ps: f64,
    /// The settle rates are least-squares slopes over this many last windows.
    pub settle_fit_windows: usize,
    /// Settled when the neck radius changes by less than this ...
    pub settle_neck_rate_a_per_ps: f64,
    /// ... and the window-mean potential energy by less than this.
    pub settle_energy_rate_ev_per_ps: f64,
    /// Atom count from which the EAM forces run on several threads.
    pub parallel_threshold: usize,
    /// When two grains that touched merge into one after their contact stage.
    pub merge: MergeSpec,
}

/// When two touching grains become one (`relax.merge`): their cubic misorientation is below
/// `below_deg` and their lattices are in register, the offset of one grain's lattice point
/// nearest its centre from the other grain's nearest site being below `offset_nn`
/// nearest-neighbour distances. The offset is measured at the merging grain's centre so that
/// the small misorientation allowed does not count as an offset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MergeSpec {
    /// Largest cubic misorientation that merges, degrees (0: grains never merge).
    pub below_deg: f64,
    /// Largest lattice offset that merges, in nearest-neighbour distances.
    pub offset_nn: f64,
    /// A grain left with fewer atoms than this after its contact stage joins the other
    /// whatever its orientation: a small particle that wets the substrate in the MD moves
    /// most of its atoms onto the substrate's lattice, and the few left fix no orientation.
    pub min_atoms: usize,
}

impl Default for MergeSpec {
    /// 5°: below the 10–15° that separates low- from high-angle boundaries (Read–Shockley
    /// dislocation spacing of a few lattice constants); a quarter of d_nn, the off-lattice
    /// threshold of the mapping; 20 atoms.
    fn default() -> Self {
        MergeSpec {
            below_deg: 5.0,
            offset_nn: 0.25,
            // Below a 13-atom cuboctahedron and its first facet: no second shell, no
            // measurable lattice.
            min_atoms: 20,
        }
    }
}

impl MergeSpec {
    /// Checks the ranges, naming the field.
    pub fn validate(&self) -> Result<()> {
        if !(self.below_deg >= 0.0 && self.below_deg <= 62.8) {
            return Err(Error::field(
                "relax.merge.below_deg",
                format!(
                    "{} is outside [0, 62.8] degrees (62.8° is the largest cubic misorientation)",
                    self.below_deg
                ),
            ));
        }
        if !(self.offset_nn >= 0.0 && self.offset_nn <= 0.71) {
            return Err(Error::field(
                "relax.merge.offset_nn",
                format!(
                    "{} is outside [0, 0.71] nearest-neighbour distances (a site's cell)",
                    self.offset_nn
                ),
            ));
        }
        Ok(())
    }
}

impl Default for RelaxSpec {
    fn default() -> Self {
        let p = RelaxParams::default();
        RelaxSpec {
            potential: RelaxPotential::Zhou04,
            md_time_ps: p.md_time_ps,
            min_md_time_ps: p.min_md_time_ps,
            early_stop: p.early_stop,
            thermostat: p.thermostat,
            temperature_k: None,
            whole_particles_max_atoms: DEFAULT_WHOLE_PARTICLES_MAX_ATOMS,
            region_radius_a: None,
            max_region_radius_a: None,
            settle_window_ps: p.settle_window_ps,
            settle_fit_windows: p.settle_fit_windows,
            settle_neck_rate_a_per_ps: p.settle_neck_rate_a_per_ps,
            settle_energy_rate_ev_per_ps: p.settle_energy_rate_ev_per_ps,
            // Contact regions hold 10^3..10^4 atoms; below ~1000 the thread hand-off costs
            // more than it saves.
            parallel_threshold: 1024,
            merge: MergeSpec::default(),
        }
    }
}

/// Default of [`RelaxSpec::whole_particles_max_atoms`]: two 3 nm particles hold about 1,800
/// atoms (Au spheres 887 each, truncated octahedra 807); 2,500 also holds a 3 nm particle
/// with a 3.3 nm one, and a contact of that size relaxes in about 10 s on one core (see the
/// module docs of [`crate::relax`]).
pub const DEFAULT_WHOLE_PARTICLES_MAX_ATOMS: usize = 2500;

impl RelaxSpec {
    /// The MD parameters these settings give (temperature and seed still to be set).
    pub fn params(&self) -> RelaxParams {
        RelaxParams {
            md_time_ps: self.md_time_ps,
            min_md_time_ps: self.min_md_time_ps.min(self.md_time_ps),
            early_stop: self.early_stop,
            thermostat: self.thermostat,
            settle_window_ps: self.settle_window_ps,
            settle_fit_windows: self.settle_fit_windows,
            settle_neck_rate_a_per_ps: self.settle_neck_rate_a_per_ps,
            settle_energy_rate_ev_per_ps: self.settle_energy_rate_ev_per_ps,
            ..RelaxParams::default()
        }
    }

    /// Checks that the region radii are at least `cutoff_a`, the potential's cutoff: a
    /// thinner mobile sphere has no atom whose whole environment moves.
    pub fn check_region(&self, cutoff_a: f64) -> Result<()> {
        for (name, v) in [
            ("relax.region_radius_a", self.region_radius_a),
            ("relax.max_region_radius_a", self.max_region_radius_a),
        ] {
            if let Some(v) = v {
                if v < cutoff_a {
                    return Err(Error::field(
                        name,
                        format!(
                            "{v} Å is below the potential's cutoff ({cutoff_a:.3} Å): give at \
                             least the cutoff"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

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
        self.params().validate()?;
        self.merge.validate()?;
        if species.len() > MAX_SPECIES {
            return Ok(()); // reported by the scenario's own species check
        }
        if let RelaxPotential::Lammps(l) = &self.potential {
            l.validate("relax.potential.Lammps")?;
            self.check_region(l.cutoff_a)?;
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
            let names: Vec<&str> = species.iter().map(String::as_str).collect();
            self.check_region(zhou04::Zhou04::new(&names)?.cutoff())?;
        }
        Ok(())
    }

    /// Builds the potential (a relative path is resolved against `base_dir`); an EAM computes
    /// its forces on several threads from [`RelaxSpec::parallel_threshold`] atoms.
    pub fn build_potential(
        &self,
        species: &[String],
        base_dir: &Path,
    ) -> Result<Box<dyn Potential>> {
        let mut eam = match &self.potential {
            RelaxPotential::Zhou04 => {
                let names: Vec<&str> = species.iter().map(String::as_str).collect();
                Eam::from_setfl(&zhou04::setfl(&names)?)?
            }
            RelaxPotential::Setfl(path) => Eam::read_setfl(base_dir.join(path))
                .map_err(|e| e.in_file_named_by("relax.potential.Setfl"))?,
            RelaxPotential::Lammps(l) => return l.build(base_dir, "relax.potential.Lammps"),
        };
        eam.parallel_threshold = self.parallel_threshold.max(2);
        Ok(Box::new(eam))
    }
}
