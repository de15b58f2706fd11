//! MD scenarios: a RON file that names a potential, a structure, an ensemble and the output,
//! validated with file, line, column and field in every error, and run by [`run_md_scenario`].
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

use super::Potential;
use super::build::{self, Axis};
use super::integrate::{CRescale, Integrator, Md, Thermo};
use super::lj::LennardJones;
use super::mc::{McOptions, McStats, MonteCarlo};
use super::minimize::{self, FireOptions, MinimizeResult};
use super::system::System;
use super::traj::{self, Frame, ThermoWriter, TrajFormat, TrajectoryWriter};
use crate::error::{Error, Result};
use crate::rng::rng_from_seed;

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
    /// Hybrid MD/MC: Monte Carlo moves between blocks of MD steps.
    #[serde(default)]
    pub mc: Option<McSpec>,
    /// What to write.
    #[serde(default)]
    pub output: OutputSpec,
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
}

impl PotentialSpec {
    /// Builds the potential; relative file paths are resolved against `base_dir`.
    pub fn build(&self, base_dir: &Path) -> Result<Box<dyn Potential>> {
        match self {
            PotentialSpec::Zhou04 { elements } => {
                let names: Vec<&str> = elements.iter().map(String::as_str).collect();
                let setfl = crate::md::zhou04::setfl(&names).map_err(|e| match e {
                    Error::Input { message, .. } => Error::field("potential.elements", message),
                    other => other,
                })?;
                Ok(Box::new(crate::md::Eam::from_setfl(&setfl)?))
            }
            PotentialSpec::Setfl { path } => {
                Ok(Box::new(crate::md::Eam::read_setfl(base_dir.join(path))?))
            }
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
}

/// The initial structure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum StructureSpec {
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
        /// Lattice constant.
        lattice_constant_a: f64,
        /// The particle.
        particle: ParticleSpec,
        /// Empty space around it in the (open) output box.
        #[serde(default = "default_vacuum")]
        vacuum_a: f64,
    },
    /// Two FCC spheres on a line along `axis`, `gap_a` apart (outermost atoms), in an open box.
    TwoSpheres {
        /// Lattice constant (both particles).
        lattice_constant_a: f64,
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

/// Relaxation before MD.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinimizeSpec {
    /// Stop when `max_i |F_i|` falls below this.
    pub force_tolerance_ev_a: f64,
    /// Force-call limit.
    pub max_steps: usize,
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
/// `traj.lammpstrj` and `final.xyz`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSpec {
    /// Extended-XYZ trajectory.
    pub xyz: bool,
    /// LAMMPS dump trajectory.
    pub lammps_dump: bool,
    /// Per-atom energies in trajectory frames (one extra force call per frame).
    pub per_atom_energy: bool,
}

impl Default for OutputSpec {
    fn default() -> Self {
        OutputSpec {
            xyz: true,
            lammps_dump: true,
            per_atom_energy: true,
        }
    }
}

/// Progress of a running scenario, reported after every MD step.
#[derive(Debug, Clone, Copy)]
pub struct MdProgress {
    /// Steps done.
    pub step: u64,
    /// Steps in the run.
    pub steps: u64,
    /// The thermo row, on thermo steps.
    pub thermo: Option<Thermo>,
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct MdSummary {
    /// Number of atoms.
    pub atoms: usize,
    /// Steps run.
    pub steps: u64,
    /// Thermo at step 0 (after any minimisation).
    pub initial: Thermo,
    /// Thermo after the last step.
    pub last: Thermo,
    /// Result of the minimisation, if one ran.
    pub minimization: Option<MinimizeResult>,
    /// Monte Carlo counts, if Monte Carlo ran.
    pub mc: Option<McStats>,
    /// Neighbour-list builds of the MD driver.
    pub neighbor_builds: u64,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// Reads and validates a scenario file.
pub fn load_md_scenario(path: impl AsRef<Path>) -> Result<MdScenario> {
    let path = path.as_ref();
    let src = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_md_scenario(&src, Some(path))
}

/// Parses and validates scenario text; `path` names it in errors.
pub fn parse_md_scenario(src: &str, path: Option<&Path>) -> Result<MdScenario> {
    let scenario: MdScenario = crate::scenario::locate::parse_ron(src, path)?;
    scenario
        .validate()
        .map_err(|e| crate::scenario::locate::locate_error(e, src, path))?;
    Ok(scenario)
}

fn positive(field: &str, v: f64) -> Result<()> {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(Error::field(field, format!("must be positive, got {v}")))
    }
}

fn non_negative(field: &str, v: f64) -> Result<()> {
    if v >= 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(Error::field(
            field,
            format!("must be non-negative, got {v}"),
        ))
    }
}

impl MdScenario {
    /// Checks every value that serde cannot: signs, ranges, combinations.
    pub fn validate(&self) -> Result<()> {
        non_negative("temperature_k", self.temperature_k)?;
        positive("timestep_fs", self.timestep_fs)?;
        positive("skin_a", self.skin_a)?;
        if self.thermo_every == 0 {
            return Err(Error::field("thermo_every", "must be at least 1"));
        }
        match &self.structure {
            StructureSpec::FccCrystal {
                lattice_constant_a,
                cells,
                ..
            } => {
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
                positive("structure.lattice_constant_a", *lattice_constant_a)?;
                positive("structure.particle.diameter_nm", particle.diameter_nm)?;
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
                positive("structure.lattice_constant_a", *lattice_constant_a)?;
                positive("structure.first.diameter_nm", first.diameter_nm)?;
                positive("structure.second.diameter_nm", second.diameter_nm)?;
                non_negative("structure.gap_a", *gap_a)?;
                non_negative("structure.vacuum_a", *vacuum_a)?;
                if !rotation_deg.is_finite() {
                    return Err(Error::field("structure.rotation_deg", "must be finite"));
                }
            }
        }
        let periodic = matches!(self.structure, StructureSpec::FccCrystal { .. });
        match &self.ensemble {
            EnsembleSpec::Nve { .. } => {}
            EnsembleSpec::Langevin { damping_fs } => positive("ensemble.damping_fs", *damping_fs)?,
            EnsembleSpec::NoseHoover {
                tau_fs,
                chain_length,
            } => {
                positive("ensemble.tau_fs", *tau_fs)?;
                if *chain_length == 0 {
                    return Err(Error::field("ensemble.chain_length", "must be at least 1"));
                }
            }
            EnsembleSpec::Npt {
                thermostat,
                pressure_bar,
                tau_p_fs,
                compressibility_per_bar,
            } => {
                if !periodic {
                    return Err(Error::field(
                        "ensemble",
                        "Npt needs a periodic structure (FccCrystal)",
                    ));
                }
                match thermostat {
                    ThermostatSpec::Langevin { damping_fs } => {
                        positive("ensemble.thermostat.damping_fs", *damping_fs)?
                    }
                    ThermostatSpec::NoseHoover {
                        tau_fs,
                        chain_length,
                    } => {
                        positive("ensemble.thermostat.tau_fs", *tau_fs)?;
                        if *chain_length == 0 {
                            return Err(Error::field(
                                "ensemble.thermostat.chain_length",
                                "must be at least 1",
                            ));
                        }
                    }
                }
                if !pressure_bar.is_finite() {
                    return Err(Error::field("ensemble.pressure_bar", "must be finite"));
                }
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
            positive("minimize.force_tolerance_ev_a", m.force_tolerance_ev_a)?;
            if m.max_steps == 0 {
                return Err(Error::field("minimize.max_steps", "must be at least 1"));
            }
        }
        if let Some(mc) = &self.mc {
            if mc.every_steps == 0 {
                return Err(Error::field("mc.every_steps", "must be at least 1"));
            }
            if !(0.0..=1.0).contains(&mc.swap_fraction) {
                return Err(Error::field("mc.swap_fraction", "must be in [0, 1]"));
            }
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

    fn integrator(&self) -> Integrator {
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

/// Species indices of a composition, in the potential's element order.
fn species_of(comp: &Composition, elements: &[String], field: &str) -> Result<Vec<(u8, f64)>> {
    comp.iter()
        .map(|(name, f)| {
            elements
                .iter()
                .position(|e| e == name)
                .map(|k| (k as u8, *f))
                .ok_or_else(|| {
                    Error::field(
                        field,
                        format!(
                            "element `{name}` is not in the potential (it has {})",
                            elements.join(", ")
                        ),
                    )
                })
        })
        .collect()
}

/// Builds the scenario's structure for `potential`, drawing alloy species from `rng`.
pub fn build_structure(
    spec: &StructureSpec,
    potential: &dyn Potential,
    rng: &mut crate::rng::KmcRng,
) -> Result<System> {
    let elements = potential.elements();
    let (positions, species, simbox) = match spec {
        StructureSpec::FccCrystal {
            lattice_constant_a,
            cells,
            composition,
        } => {
            let atoms = build::fcc_crystal(*lattice_constant_a, [cells.0, cells.1, cells.2]);
            let comp = species_of(composition, elements, "structure.composition")?;
            let species = build::random_species(atoms.positions.len(), &comp, rng)
                .map_err(|e| relabel(e, "structure.composition"))?;
            (atoms.positions, species, atoms.simbox)
        }
        StructureSpec::Sphere {
            lattice_constant_a,
            particle,
            vacuum_a,
        } => {
            let x = build::fcc_sphere(*lattice_constant_a, particle.diameter_nm * 10.0);
            let comp = species_of(
                &particle.composition,
                elements,
                "structure.particle.composition",
            )?;
            let species = build::random_species(x.len(), &comp, rng)
                .map_err(|e| relabel(e, "structure.particle.composition"))?;
            let (x, b) = build::in_open_box(x, *vacuum_a);
            (x, species, b)
        }
        StructureSpec::TwoSpheres {
            lattice_constant_a,
            first,
            second,
            gap_a,
            axis,
            rotation_deg,
            vacuum_a,
        } => {
            let p1 = build::fcc_sphere(*lattice_constant_a, first.diameter_nm * 10.0);
            let mut p2 = build::fcc_sphere(*lattice_constant_a, second.diameter_nm * 10.0);
            build::rotate(&mut p2, *axis, rotation_deg.to_radians());
            let c1 = species_of(&first.composition, elements, "structure.first.composition")?;
            let c2 = species_of(
                &second.composition,
                elements,
                "structure.second.composition",
            )?;
            let mut species = build::random_species(p1.len(), &c1, rng)
                .map_err(|e| relabel(e, "structure.first.composition"))?;
            species.extend(
                build::random_species(p2.len(), &c2, rng)
                    .map_err(|e| relabel(e, "structure.second.composition"))?,
            );
            let x = build::pair_along_axis(&p1, &p2, *gap_a, *axis);
            let (x, b) = build::in_open_box(x, *vacuum_a);
            (x, species, b)
        }
    };
    System::new(positions, species, simbox, potential)
}

fn relabel(e: Error, field: &str) -> Error {
    match e {
        Error::Input {
            mut location,
            message,
        } => {
            location.field = Some(field.to_string());
            Error::Input { location, message }
        }
        other => other,
    }
}

/// Runs the scenario at `path`, writing into `out_dir` (created if needed). `progress` is called
/// after every step. The library never prints; the caller shows progress.
pub fn run_md_scenario(
    path: impl AsRef<Path>,
    out_dir: impl AsRef<Path>,
    progress: &mut dyn FnMut(&MdProgress),
) -> Result<MdSummary> {
    let path = path.as_ref();
    let src = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let scenario = parse_md_scenario(&src, Some(path))?;
    let base = path.parent().unwrap_or(Path::new("."));
    run_scenario(&scenario, base, out_dir.as_ref(), progress)
        .map_err(|e| crate::scenario::locate::locate_error(e, &src, Some(path)))
}

/// Runs an already parsed scenario (relative paths resolved against `base_dir`).
pub fn run_scenario(
    sc: &MdScenario,
    base_dir: &Path,
    out_dir: &Path,
    progress: &mut dyn FnMut(&MdProgress),
) -> Result<MdSummary> {
    sc.validate()?;
    let potential = sc.potential.build(base_dir)?;
    let pot: &dyn Potential = potential.as_ref();
    let mut rng = rng_from_seed(sc.seed);
    let mut system = build_structure(&sc.structure, pot, &mut rng)?;
    let minimization = match &sc.minimize {
        Some(m) => Some(minimize::relax(
            &mut system,
            pot,
            &FireOptions {
                force_tolerance_ev_a: m.force_tolerance_ev_a,
                max_steps: m.max_steps,
                skin_a: sc.skin_a,
                ..Default::default()
            },
        )?),
        None => None,
    };
    let mut md = Md::new(system, pot, sc.integrator(), sc.timestep_fs, sc.skin_a)?;
    if let EnsembleSpec::Npt {
        pressure_bar,
        tau_p_fs,
        compressibility_per_bar,
        ..
    } = sc.ensemble
    {
        md = md.with_barostat(CRescale {
            pressure_bar,
            tau_p_fs,
            compressibility_per_bar,
        })?;
    }
    md.init_velocities(sc.temperature_k, &mut rng);
    let mut mc = match &sc.mc {
        Some(m) => Some(MonteCarlo::new(
            pot,
            McOptions {
                temperature_k: sc.temperature_k,
                swap_fraction: m.swap_fraction,
                max_displacement_a: m.max_displacement_a,
            },
            sc.skin_a,
        )?),
        None => None,
    };

    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let thermo_path = out_dir.join("thermo.csv");
    let mut files = vec![thermo_path.clone()];
    let mut thermo_out = ThermoWriter::create(&thermo_path)?;
    let mut trajs = Vec::new();
    if sc.output.xyz {
        trajs.push(TrajectoryWriter::create(
            out_dir.join("traj.xyz"),
            TrajFormat::ExtXyz,
        )?);
    }
    if sc.output.lammps_dump {
        trajs.push(TrajectoryWriter::create(
            out_dir.join("traj.lammpstrj"),
            TrajFormat::LammpsDump,
        )?);
    }
    files.extend(trajs.iter().map(|t| t.path().to_path_buf()));
    let write_frame = |md: &mut Md<'_>, trajs: &mut Vec<TrajectoryWriter>| -> Result<()> {
        if trajs.is_empty() {
            return Ok(());
        }
        let energies = sc.output.per_atom_energy.then(|| md.per_atom_energies());
        let (step, time) = (md.step_count(), md.time_fs());
        let frame = Frame::of(md.system(), step, time, energies.as_deref());
        for t in trajs.iter_mut() {
            t.write(&frame)?;
        }
        Ok(())
    };

    let initial = md.thermo();
    thermo_out.write(&initial)?;
    write_frame(&mut md, &mut trajs)?;
    let mut mc_total = McStats::default();
    for step in 1..=sc.steps {
        md.step(&mut rng);
        if let (Some(mc), Some(spec)) = (mc.as_mut(), sc.mc.as_ref())
            && step % spec.every_steps == 0
        {
            let s = mc.run(md.system_mut(), spec.attempts, &mut rng);
            mc_total.add(&s);
        }
        let thermo = (step % sc.thermo_every == 0 || step == sc.steps).then(|| md.thermo());
        if let Some(t) = &thermo {
            thermo_out.write(t)?;
        }
        let dump = if sc.dump_every == 0 {
            step == sc.steps
        } else {
            step % sc.dump_every == 0
        };
        if dump {
            write_frame(&mut md, &mut trajs)?;
        }
        progress(&MdProgress {
            step,
            steps: sc.steps,
            thermo,
        });
    }
    let last = md.thermo();
    let final_path = out_dir.join("final.xyz");
    {
        let energies = sc.output.per_atom_energy.then(|| md.per_atom_energies());
        let (step, time) = (md.step_count(), md.time_fs());
        traj::write_xyz_snapshot(
            &final_path,
            &Frame::of(md.system(), step, time, energies.as_deref()),
        )?;
    }
    files.push(final_path);
    Ok(MdSummary {
        atoms: md.system().len(),
        steps: sc.steps,
        initial,
        last,
        minimization,
        mc: sc.mc.as_ref().map(|_| mc_total),
        neighbor_builds: md.list_builds(),
        files,
    })
}

#[cfg(test)]
mod tests {
    use crate::scenario::locate::{line_col, locate};

    fn find_field(src: &str, path: &str) -> Option<(usize, usize)> {
        locate(src, path).map(|o| line_col(src, o))
    }

    #[test]
    fn fields_are_found_by_path() {
        let src =
            "A(\n  x: 1,\n  ensemble: Langevin(\n    damping_fs: 3,\n  ),\n  my_damping_fs: 2,\n)";
        assert_eq!(find_field(src, "x"), Some((2, 3)));
        assert_eq!(find_field(src, "ensemble.damping_fs"), Some((4, 5)));
        assert_eq!(find_field(src, "my_damping_fs"), Some((6, 3)));
        assert_eq!(find_field(src, "absent"), None);
    }
}
