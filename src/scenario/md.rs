//! MD scenarios: a RON file that names a potential, a structure, an ensemble and the output,
//! validated with file, line, column and field in every error, and run by
//! [`crate::sim::md::run_md_scenario`].
//!
//! ```ron
//! MdScenario(
//!     seed: 7,
//!     potential: LennardJones(element: "Ar", mass_amu: 39.948, epsilon_ev: 0.0104,
//!                             sigma_a: 3.4, cutoff_a: 8.5),
//!     structure: FccCrystal(lattice_constant_a: 5.27, cells: (4, 4, 4),
//!                           composition: [("Ar", 1.0)]),
//!     temperature_k: 40.0,
//!     timestep_fs: 5.0,
//!     steps: 1000,
//!     thermo_every: 50,
//!     dump_every: 200,
//!     ensemble: Langevin(damping_fs: 200.0),
//! )
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::ron::parse_validated;
use crate::io::validate::{at_least, finite, fraction, non_negative, positive};
use crate::md::Potential;
use crate::md::build::Axis;
use crate::md::integrate::Integrator;
use crate::md::lj::LennardJones;
use crate::md::minimize::ForceNorm;

/// An MD scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MdScenario {
    /// Seed of the one random stream (velocities, alloy, thermostat noise, Monte Carlo).
    pub seed: u64,
    /// The interatomic potential.
    pub potential: PotentialSpec,
    /// The initial structure.
    pub structure: StructureSpec,
    /// Initial velocity temperature; thermostat and Monte Carlo temperature.
    pub temperature_k: f64,
    /// MD time step.
    pub timestep_fs: f64,
    /// Number of MD steps.
    pub steps: u64,
    /// Thermo row every this many steps.
    pub thermo_every: u64,
    /// Trajectory frame every this many steps (0: first and last frame only).
    #[serde(default)]
    pub dump_every: u64,
    /// Ensemble and integrator.
    #[serde(default)]
    pub ensemble: EnsembleSpec,
    /// Verlet skin.
    #[serde(default = "default_skin")]
    pub skin_a: f64,
    /// Relax the structure (FIRE, steepest-descent fallback) before MD.
    #[serde(default)]
    pub minimize: Option<MinimizeSpec>,
    /// Remove the centre-of-mass velocity and the rigid rotation every this many steps (0:
    /// never), as LAMMPS `fix momentum N linear 1 1 1 angular`; with it the initial velocities
    /// carry no rotation either (LAMMPS `velocity ... mom yes rot yes`). Clusters only: a
    /// periodic crystal has no rigid rotation.
    #[serde(default)]
    pub zero_momentum_every_steps: u64,
    /// Hybrid MD/MC: Monte Carlo moves between blocks of MD steps.
    #[serde(default)]
    pub mc: Option<McSpec>,
    /// What to write.
    #[serde(default)]
    pub output: OutputSpec,
    /// Coalescence observables of two particles every so many steps, as `kmc analyze` computes
    /// them (the same code), in `analyze.csv`.
    #[serde(default)]
    pub analyze: Option<AnalyzeSpec>,
    /// Surface and interior composition by species every so many steps, in `segregation.csv`.
    #[serde(default)]
    pub segregation: Option<SegregationSpec>,
}

/// In-run analysis of a two-particle structure (see [`crate::observe::analyze`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeSpec {
    /// A row every this many steps (and at step 0, after any minimisation).
    pub every_steps: u64,
    /// Particle labels from the atom order: the first this many atoms are particle A. Default:
    /// from the construction for `TwoSpheres` (the first sphere is A), else the two particles
    /// of the first analysed frame, as `kmc analyze` finds them.
    #[serde(default)]
    pub first_particle_atoms: Option<usize>,
}

fn default_skin() -> f64 {
    1.0
}

/// The interatomic potential. Each style is one variant and one arm in [`PotentialSpec::build`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum PotentialSpec {
    /// Truncated and shifted Lennard-Jones, one element.
    LennardJones {
        /// Element name used in compositions and output.
        element: String,
        /// Atomic mass.
        mass_amu: f64,
        /// Well depth.
        epsilon_ev: f64,
        /// Length scale.
        sigma_a: f64,
        /// Cutoff.
        cutoff_a: f64,
    },
    /// The Zhou–Johnson–Wadley 2004 EAM, tabulated as LAMMPS's `eam/alloy` would read it.
    Zhou04 {
        /// Elements in species order, e.g. `["Au", "Ag"]`.
        elements: Vec<String>,
    },
    /// A LAMMPS `eam/alloy` setfl file (path relative to the scenario file).
    Setfl {
        /// The file.
        path: PathBuf,
    },
    /// Any LAMMPS interaction, evaluated by LAMMPS itself (needs kmc built with `--features
    /// lammps`), e.g. `Lammps((commands: ["pair_style meam", ...], elements: ["Au"], ...))`.
    Lammps(crate::md::LammpsPotentialSpec),
}

impl PotentialSpec {
    /// Builds the potential; relative file paths are resolved against `base_dir`.
    pub fn build(&self, base_dir: &Path) -> Result<Box<dyn Potential>> {
        match self {
            PotentialSpec::Lammps(spec) => spec.build(base_dir, "potential"),
            PotentialSpec::Zhou04 { elements } => {
                let names: Vec<&str> = elements.iter().map(String::as_str).collect();
                let setfl = crate::md::zhou04::setfl(&names).map_err(|e| match e {
                    Error::Input { message, .. } => Error::field("potential.elements", message),
                    other => other,
                })?;
                Ok(Box::new(crate::md::Eam::from_setfl(&setfl)?))
            }
            PotentialSpec::Setfl { path } => Ok(Box::new(
                crate::md::Eam::read_setfl(base_dir.join(path))
                    .map_err(|e| e.in_file_named_by("potential.Setfl.path"))?,
            )),
            PotentialSpec::LennardJones {
                element,
                mass_amu,
                epsilon_ev,
                sigma_a,
                cutoff_a,
            } => {
                for (name, v) in [
                    ("potential.mass_amu", *mass_amu),
                    ("potential.epsilon_ev", *epsilon_ev),
                    ("potential.sigma_a", *sigma_a),
                    ("potential.cutoff_a", *cutoff_a),
                ] {
                    positive(name, v)?;
                }
                Ok(Box::new(LennardJones::new(
                    element,
                    *mass_amu,
                    *epsilon_ev,
                    *sigma_a,
                    *cutoff_a,
                )))
            }
        }
    }
}

/// Element fractions, e.g. `[("Au", 0.5), ("Ag", 0.5)]`; they must sum to 1.
pub type Composition = Vec<(String, f64)>;

/// One spherical particle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticleSpec {
    /// Diameter of the sphere cut from the lattice (centred on an atom).
    pub diameter_nm: f64,
    /// Random-alloy composition.
    pub composition: Composition,
    /// This particle's lattice constant (default: the structure's, else the Zhou04
    /// zero-pressure value of its composition, composition-weighted for an alloy).
    #[serde(default)]
    pub lattice_constant_a: Option<f64>,
    /// Crystal orientation about the particle's centre (`Random` draws from the scenario's
    /// orientation stream for this particle, so it does not change the species drawn).
    #[serde(default)]
    pub orientation: crate::grains::OrientationSpec,
    /// How the species of `composition` are placed on the sphere's sites (default `Random`).
    #[serde(default)]
    pub arrangement: Arrangement,
}

/// Placement of a particle's species on its sites; counts are exact either way (largest
/// remainder of fraction × atoms, see [`crate::md::build::exact_counts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Arrangement {
    /// A random alloy: the species in a random order from the scenario's stream.
    #[default]
    Random,
    /// Chemically ordered by radius: concentric shells, the first species of `composition` at
    /// the centre and each next one around the previous (a core–shell particle for a binary,
    /// an onion for more species; see [`crate::md::build::shell_species`]).
    Shells,
}

/// Surface segregation of a cluster: which atoms are at the surface and the composition there
/// and inside, in `segregation.csv` (see [`crate::observe::segregation`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegregationSpec {
    /// A row every this many steps (and at step 0, after any minimisation).
    pub every_steps: u64,
}

/// The format of a structure file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileFormat {
    /// Extended XYZ (ASE, OVITO, `kmc md` output); the last frame is used, as ASE's `read`.
    Xyz,
    /// LAMMPS data file, `atom_style atomic` (see [`crate::io::lammps_data`]).
    LammpsData,
}

/// The initial structure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum StructureSpec {
    /// Atoms read from a file; positions are shifted so that the box starts at the origin.
    FromFile {
        /// The file, relative to the scenario file.
        path: PathBuf,
        /// Its format.
        format: FileFormat,
        /// Element of each LAMMPS atom type (`["Au", "Ag"]`: type 1 is Au); empty: the comments
        /// after the masses (`1 196.97 # Au`). LAMMPS data files only.
        #[serde(default)]
        types: Vec<String>,
        /// Periodicity along x, y, z (default: the file's `pbc`; a LAMMPS data file, which does
        /// not say, is periodic along all three as LAMMPS's default `boundary p p p`).
        #[serde(default)]
        pbc: Option<(bool, bool, bool)>,
        /// Start from the file's velocities (`velo` in Å/fs, `Velocities` in Å/ps) instead of
        /// drawing them at `temperature_k`.
        #[serde(default)]
        keep_velocities: bool,
    },
    /// A periodic BCC crystal.
    BccCrystal {
        /// Lattice constant.
        lattice_constant_a: f64,
        /// Conventional cells along x, y, z.
        cells: (usize, usize, usize),
        /// Random-alloy composition.
        composition: Composition,
    },
    /// A periodic TiO2 crystal (x, y ∥ a, z ∥ c); the potential must name `Ti` and `O`.
    TiO2Crystal {
        /// Rutile or anatase.
        phase: crate::md::oxide::TiO2Phase,
        /// Cell parameters (default: the measured ones, see
        /// [`TiO2Phase::experimental_cell`](crate::md::oxide::TiO2Phase::experimental_cell)).
        #[serde(default)]
        cell: Option<crate::md::oxide::TiO2Cell>,
        /// Conventional cells along x, y, z.
        cells: (usize, usize, usize),
    },
    /// A stoichiometric TiO2 particle cut from the crystal by whole formula units (see
    /// [`crate::md::oxide`]), in a box with `vacuum_a` of space around it.
    TiO2Particle {
        /// Rutile or anatase.
        phase: crate::md::oxide::TiO2Phase,
        /// Cell parameters (default: the measured ones).
        #[serde(default)]
        cell: Option<crate::md::oxide::TiO2Cell>,
        /// Diameter of the sphere that holds the particle's Ti.
        diameter_nm: f64,
        /// Empty space around it.
        #[serde(default = "default_vacuum")]
        vacuum_a: f64,
        /// A periodic box (what an Ewald or PPPM sum needs; the vacuum then separates the
        /// particle from its images) instead of an open one.
        #[serde(default)]
        periodic_box: bool,
    },
    /// A periodic FCC crystal.
    FccCrystal {
        /// Lattice constant.
        lattice_constant_a: f64,
        /// Conventional cells along x, y, z.
        cells: (usize, usize, usize),
        /// Random-alloy composition.
        composition: Composition,
    },
    /// One FCC sphere in an open box.
    Sphere {
        /// Lattice constant (default: the particle's, see [`ParticleSpec::lattice_constant_a`]).
        #[serde(default)]
        lattice_constant_a: Option<f64>,
        /// The particle.
        particle: ParticleSpec,
        /// Empty space around it in the (open) output box.
        #[serde(default = "default_vacuum")]
        vacuum_a: f64,
    },
    /// Two FCC spheres on a line along `axis`, `gap_a` apart (outermost atoms), in an open box;
    /// each particle may have its own elements and lattice constant.
    TwoSpheres {
        /// Lattice constant of both particles unless a particle gives its own (default: each
        /// particle's Zhou04 value, see [`ParticleSpec::lattice_constant_a`]).
        #[serde(default)]
        lattice_constant_a: Option<f64>,
        /// First particle.
        first: ParticleSpec,
        /// Second particle.
        second: ParticleSpec,
        /// Surface-to-surface distance between the outermost atoms along `axis`.
        gap_a: f64,
        /// Axis joining the centres.
        axis: Axis,
        /// Rotation of the second particle about `axis` (a twist grain boundary once they touch).
        #[serde(default)]
        rotation_deg: f64,
        /// Empty space around the pair in the (open) output box.
        #[serde(default = "default_vacuum")]
        vacuum_a: f64,
    },
}

/// Checks a composition given at `field`: at least one element, each named once with a finite,
/// non-negative fraction, the fractions summing to 1 within 1e-6 (whether the potential has
/// the elements is checked when the structure is built).
fn check_composition(field: &str, comp: &Composition) -> Result<()> {
    if comp.is_empty() {
        return Err(Error::field(field, "is empty: name at least one element"));
    }
    for (k, (name, f)) in comp.iter().enumerate() {
        if !(f.is_finite() && *f >= 0.0) {
            return Err(Error::field(
                format!("{field}[{k}]"),
                format!("the fraction of `{name}` must be a non-negative number, got {f}"),
            ));
        }
        if comp[..k].iter().any(|(n, _)| n == name) {
            return Err(Error::field(
                format!("{field}[{k}]"),
                format!("`{name}` is named twice"),
            ));
        }
    }
    let total: f64 = comp.iter().map(|(_, f)| f).sum();
    if (total - 1.0).abs() > 1e-6 {
        return Err(Error::field(
            field,
            format!("fractions sum to {total}, not 1"),
        ));
    }
    Ok(())
}

/// Checks a TiO2 cell given in a scenario (fields under `structure.cell`).
fn tio2_cell(c: &crate::md::oxide::TiO2Cell) -> Result<()> {
    positive("structure.cell.a_a", c.a_a)?;
    positive("structure.cell.c_a", c.c_a)?;
    if !(c.u > 0.0 && c.u < 0.5) {
        return Err(Error::field(
            "structure.cell.u",
            format!("must lie in (0, 0.5), got {}", c.u),
        ));
    }
    Ok(())
}

fn default_vacuum() -> f64 {
    10.0
}

/// Velocity-Verlet family scheme for NVE.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NveScheme {
    /// Velocity Verlet.
    #[default]
    VelocityVerlet,
    /// Position Verlet.
    PositionVerlet,
    /// Leapfrog (velocities half a step behind).
    Leapfrog,
}

/// A thermostat, for NVT and NPT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum ThermostatSpec {
    /// Langevin, BAOAB.
    Langevin {
        /// Damping time 1/γ.
        damping_fs: f64,
    },
    /// Nosé–Hoover chain.
    NoseHoover {
        /// Thermostat period.
        tau_fs: f64,
        /// Chain length.
        #[serde(default = "default_chain")]
        chain_length: usize,
    },
}

fn default_chain() -> usize {
    3
}

/// Ensemble and integrator; `temperature_k` of the scenario is the bath temperature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum EnsembleSpec {
    /// Constant energy.
    Nve {
        /// Integration scheme.
        #[serde(default)]
        scheme: NveScheme,
    },
    /// Langevin NVT.
    Langevin {
        /// Damping time 1/γ.
        damping_fs: f64,
    },
    /// Nosé–Hoover chain NVT.
    NoseHoover {
        /// Thermostat period.
        tau_fs: f64,
        /// Chain length.
        #[serde(default = "default_chain")]
        chain_length: usize,
    },
    /// Isotropic NPT: a thermostat plus stochastic cell rescaling (periodic crystals only).
    Npt {
        /// The thermostat.
        thermostat: ThermostatSpec,
        /// Target pressure.
        pressure_bar: f64,
        /// Volume relaxation time.
        tau_p_fs: f64,
        /// Compressibility guess.
        compressibility_per_bar: f64,
    },
}

impl Default for EnsembleSpec {
    fn default() -> Self {
        EnsembleSpec::Nve {
            scheme: NveScheme::VelocityVerlet,
        }
    }
}

/// Relaxation before MD; exactly one of the two tolerances is given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinimizeSpec {
    /// Stop when the largest per-atom force `max_i |F_i|` falls below this (ASE's `fmax`).
    #[serde(default)]
    pub force_tolerance_ev_a: Option<f64>,
    /// Stop when the 2-norm of the global force vector `sqrt(Σ_i |F_i|²)` falls below this
    /// (LAMMPS `minimize 0 ftol ...` with its default `min_modify norm two`).
    #[serde(default)]
    pub ftol_ev_a: Option<f64>,
    /// Force-call limit.
    pub max_steps: usize,
}

impl MinimizeSpec {
    /// The tolerance and the norm it bounds (a NaN tolerance if neither is given, which
    /// [`MdScenario::validate`] refuses).
    pub fn criterion(&self) -> (f64, ForceNorm) {
        match (self.force_tolerance_ev_a, self.ftol_ev_a) {
            (_, Some(f)) => (f, ForceNorm::Global2),
            (Some(f), None) => (f, ForceNorm::MaxAtom),
            (None, None) => (f64::NAN, ForceNorm::MaxAtom),
        }
    }
}

/// Hybrid MD/MC.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McSpec {
    /// MD steps between Monte Carlo blocks.
    pub every_steps: u64,
    /// Monte Carlo attempts per block.
    pub attempts: u64,
    /// Fraction of attempts that are species swaps (the rest are displacements).
    pub swap_fraction: f64,
    /// Largest displacement per Cartesian component (at most skin/2).
    pub max_displacement_a: f64,
}

/// Output switches; files go to the output directory as `thermo.csv`, `traj.xyz`,
/// `traj.lammpstrj`, `final.xyz` and, if asked, `initial.data`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSpec {
    /// Extended-XYZ trajectory.
    pub xyz: bool,
    /// LAMMPS dump trajectory.
    pub lammps_dump: bool,
    /// Per-atom energies in trajectory frames (one extra force call per frame).
    pub per_atom_energy: bool,
    /// The structure as built, before minimisation and velocities, as a LAMMPS data file
    /// `initial.data` (atom_style atomic, types in the potential's element order), so that
    /// another code can start from the same coordinates.
    pub initial_data: bool,
}

impl Default for OutputSpec {
    fn default() -> Self {
        OutputSpec {
            xyz: true,
            lammps_dump: true,
            per_atom_energy: true,
            initial_data: false,
        }
    }
}

/// Reads and validates a scenario file.
pub fn load_md_scenario(path: impl AsRef<Path>) -> Result<MdScenario> {
    let path = path.as_ref();
    let src = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_md_scenario(&src, Some(path))
}

/// True if `text` is an MD scenario (`MdScenario(...)`) rather than a KMC one: its first
/// token after comments is `MdScenario`. Lets `kmc check`, `kmc run` and `kmc md` say which
/// command a file is for instead of a type mismatch.
pub fn is_md_scenario(text: &str) -> bool {
    let mut t = text;
    loop {
        t = t.trim_start();
        if let Some(rest) = t.strip_prefix("//") {
            t = rest.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(rest) = t.strip_prefix("/*") {
            t = rest.split_once("*/").map_or("", |(_, r)| r);
        } else if let Some(rest) = t.strip_prefix("#![") {
            // RON extensions attribute.
            t = rest.split_once(']').map_or("", |(_, r)| r);
        } else {
            break;
        }
    }
    t.starts_with("MdScenario")
}

/// Parses and validates scenario text; `path` names it in errors.
pub fn parse_md_scenario(src: &str, path: Option<&Path>) -> Result<MdScenario> {
    parse_validated(src, path, MdScenario::validate)
}

impl MdScenario {
    /// Checks every value that serde cannot: signs, ranges, combinations.
    pub fn validate(&self) -> Result<()> {
        non_negative("temperature_k", self.temperature_k)?;
        positive("timestep_fs", self.timestep_fs)?;
        positive("skin_a", self.skin_a)?;
        at_least("thermo_every", self.thermo_every, 1)?;
        if let Some(a) = &self.analyze {
            at_least("analyze.every_steps", a.every_steps, 1)?;
            if a.first_particle_atoms == Some(0) {
                return Err(Error::field(
                    "analyze.first_particle_atoms",
                    "must be at least 1 (particle A needs an atom)",
                ));
            }
        }
        if let Some(g) = &self.segregation {
            at_least("segregation.every_steps", g.every_steps, 1)?;
        }
        let lattice =
            |field: &str, a: Option<f64>| a.map_or(Ok(()), |a| positive(field, a).map(|_| ()));
        match &self.structure {
            StructureSpec::FromFile {
                path,
                format,
                types,
                ..
            } => {
                if path.as_os_str().is_empty() {
                    return Err(Error::field("structure.path", "is empty"));
                }
                if *format == FileFormat::Xyz && !types.is_empty() {
                    return Err(Error::field(
                        "structure.types",
                        "applies to LammpsData only (extended XYZ names its species)",
                    ));
                }
                if let Some(t) = types.iter().find(|t| t.trim().is_empty()) {
                    return Err(Error::field(
                        "structure.types",
                        format!("{t:?} is not an element name"),
                    ));
                }
            }
            StructureSpec::FccCrystal {
                lattice_constant_a,
                cells,
                composition,
            }
            | StructureSpec::BccCrystal {
                lattice_constant_a,
                cells,
                composition,
            } => {
                check_composition("structure.composition", composition)?;
                positive("structure.lattice_constant_a", *lattice_constant_a)?;
                if cells.0 == 0 || cells.1 == 0 || cells.2 == 0 {
                    return Err(Error::field("structure.cells", "must be at least 1 each"));
                }
            }
            StructureSpec::Sphere {
                lattice_constant_a,
                particle,
                vacuum_a,
            } => {
                lattice("structure.lattice_constant_a", *lattice_constant_a)?;
                lattice(
                    "structure.particle.lattice_constant_a",
                    particle.lattice_constant_a,
                )?;
                positive("structure.particle.diameter_nm", particle.diameter_nm)?;
                check_composition("structure.particle.composition", &particle.composition)?;
                particle
                    .orientation
                    .validate("structure.particle.orientation")?;
                non_negative("structure.vacuum_a", *vacuum_a)?;
            }
            StructureSpec::TwoSpheres {
                lattice_constant_a,
                first,
                second,
                gap_a,
                rotation_deg,
                vacuum_a,
                ..
            } => {
                lattice("structure.lattice_constant_a", *lattice_constant_a)?;
                lattice(
                    "structure.first.lattice_constant_a",
                    first.lattice_constant_a,
                )?;
                lattice(
                    "structure.second.lattice_constant_a",
                    second.lattice_constant_a,
                )?;
                positive("structure.first.diameter_nm", first.diameter_nm)?;
                positive("structure.second.diameter_nm", second.diameter_nm)?;
                check_composition("structure.first.composition", &first.composition)?;
                check_composition("structure.second.composition", &second.composition)?;
                first.orientation.validate("structure.first.orientation")?;
                second
                    .orientation
                    .validate("structure.second.orientation")?;
                non_negative("structure.gap_a", *gap_a)?;
                non_negative("structure.vacuum_a", *vacuum_a)?;
                finite("structure.rotation_deg", *rotation_deg)?;
            }
            StructureSpec::TiO2Crystal { cell, cells, .. } => {
                if let Some(c) = cell {
                    tio2_cell(c)?;
                }
                if cells.0 == 0 || cells.1 == 0 || cells.2 == 0 {
                    return Err(Error::field("structure.cells", "must be at least 1 each"));
                }
            }
            StructureSpec::TiO2Particle {
                cell,
                diameter_nm,
                vacuum_a,
                ..
            } => {
                if let Some(c) = cell {
                    tio2_cell(c)?;
                }
                positive("structure.diameter_nm", *diameter_nm)?;
                non_negative("structure.vacuum_a", *vacuum_a)?;
            }
        }
        if let PotentialSpec::Lammps(l) = &self.potential {
            l.validate("potential")?;
        }
        let periodic = matches!(
            self.structure,
            StructureSpec::FccCrystal { .. }
                | StructureSpec::BccCrystal { .. }
                | StructureSpec::TiO2Crystal { .. }
                | StructureSpec::TiO2Particle {
                    periodic_box: true,
                    ..
                }
        );
        match &self.ensemble {
            EnsembleSpec::Nve { .. } => {}
            EnsembleSpec::Langevin { damping_fs } => {
                positive("ensemble.damping_fs", *damping_fs)?;
            }
            EnsembleSpec::NoseHoover {
                tau_fs,
                chain_length,
            } => {
                positive("ensemble.tau_fs", *tau_fs)?;
                at_least("ensemble.chain_length", *chain_length, 1)?;
            }
            EnsembleSpec::Npt {
                thermostat,
                pressure_bar,
                tau_p_fs,
                compressibility_per_bar,
            } => {
                // A file's periodicity is known once it is read; Md::with_barostat checks it.
                let from_file = matches!(self.structure, StructureSpec::FromFile { .. });
                if !(periodic || from_file) {
                    return Err(Error::field(
                        "ensemble",
                        "Npt needs a periodic structure (FccCrystal or a periodic FromFile)",
                    ));
                }
                match thermostat {
                    ThermostatSpec::Langevin { damping_fs } => {
                        positive("ensemble.thermostat.damping_fs", *damping_fs)?;
                    }
                    ThermostatSpec::NoseHoover {
                        tau_fs,
                        chain_length,
                    } => {
                        positive("ensemble.thermostat.tau_fs", *tau_fs)?;
                        at_least("ensemble.thermostat.chain_length", *chain_length, 1)?;
                    }
                }
                finite("ensemble.pressure_bar", *pressure_bar)?;
                positive("ensemble.tau_p_fs", *tau_p_fs)?;
                positive("ensemble.compressibility_per_bar", *compressibility_per_bar)?;
            }
        }
        if matches!(self.ensemble, EnsembleSpec::NoseHoover { .. }) && self.temperature_k <= 0.0 {
            return Err(Error::field(
                "temperature_k",
                "a Nosé–Hoover thermostat needs a positive temperature",
            ));
        }
        if let Some(m) = &self.minimize {
            match (m.force_tolerance_ev_a, m.ftol_ev_a) {
                (Some(f), None) => positive("minimize.force_tolerance_ev_a", f).map(|_| ())?,
                (None, Some(f)) => positive("minimize.ftol_ev_a", f).map(|_| ())?,
                (Some(_), Some(_)) => {
                    return Err(Error::field(
                        "minimize.ftol_ev_a",
                        "give either ftol_ev_a (2-norm of all forces) or force_tolerance_ev_a \
                         (largest atomic force), not both",
                    ));
                }
                (None, None) => {
                    return Err(Error::field(
                        "minimize",
                        "needs ftol_ev_a (2-norm of all forces) or force_tolerance_ev_a \
                         (largest atomic force)",
                    ));
                }
            }
            at_least("minimize.max_steps", m.max_steps, 1)?;
        }
        if self.zero_momentum_every_steps > 0 && periodic {
            return Err(Error::field(
                "zero_momentum_every_steps",
                "removes the rigid rotation of a cluster; a periodic FccCrystal has none",
            ));
        }
        if let Some(mc) = &self.mc {
            at_least("mc.every_steps", mc.every_steps, 1)?;
            fraction("mc.swap_fraction", mc.swap_fraction)?;
            non_negative("mc.max_displacement_a", mc.max_displacement_a)?;
            if mc.max_displacement_a > 0.5 * self.skin_a {
                return Err(Error::field(
                    "mc.max_displacement_a",
                    format!("must not exceed skin_a / 2 = {}", 0.5 * self.skin_a),
                ));
            }
        }
        Ok(())
    }

    /// The integrator the ensemble asks for, at the scenario's temperature.
    pub fn integrator(&self) -> Integrator {
        let t = self.temperature_k;
        let thermostat = |th: &ThermostatSpec| match *th {
            ThermostatSpec::Langevin { damping_fs } => Integrator::Langevin {
                temperature_k: t,
                damping_fs,
            },
            ThermostatSpec::NoseHoover {
                tau_fs,
                chain_length,
            } => Integrator::NoseHooverChain {
                temperature_k: t,
                tau_fs,
                chain_length,
            },
        };
        match &self.ensemble {
            EnsembleSpec::Nve { scheme } => match scheme {
                NveScheme::VelocityVerlet => Integrator::VelocityVerlet,
                NveScheme::PositionVerlet => Integrator::PositionVerlet,
                NveScheme::Leapfrog => Integrator::Leapfrog,
            },
            EnsembleSpec::Langevin { damping_fs } => thermostat(&ThermostatSpec::Langevin {
                damping_fs: *damping_fs,
            }),
            EnsembleSpec::NoseHoover {
                tau_fs,
                chain_length,
            } => thermostat(&ThermostatSpec::NoseHoover {
                tau_fs: *tau_fs,
                chain_length: *chain_length,
            }),
            EnsembleSpec::Npt { thermostat: th, .. } => thermostat(th),
        }
    }
}
