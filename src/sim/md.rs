//! The MD driver behind `kmc md`: builds the scenario's structure and potential, runs
//! minimisation, MD and Monte Carlo, and writes thermo, trajectories and the final frame.

use std::path::{Path, PathBuf};

use crate::error::Location;
use crate::error::{Error, Result};
use crate::io::frame::Frame as IoFrame;
use crate::md::Potential;
use crate::md::integrate::{CRescale, Md, Thermo};
use crate::md::mc::{McOptions, McStats, MonteCarlo};
use crate::md::minimize::{self, FireOptions, MinimizeResult};
use crate::md::system::System;
use crate::md::traj::{self, Frame, ThermoWriter, TrajFormat, TrajectoryWriter};
use crate::md::{SimBox, build, oxide};
use crate::observe::analyze::{AnalyzeOptions, Analyzer, analysis_header};
use crate::observe::segregation::{Segregation, nn_distance, segregation_header};
use crate::rng::{Stream, stream};
use crate::scenario::md::{
    AnalyzeSpec, Arrangement, Composition, EnsembleSpec, FileFormat, MdScenario, ParticleSpec,
    StructureSpec, parse_md_scenario,
};

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

/// Species indices of a composition, in the potential's element order.
fn species_of(comp: &Composition, elements: &[String], field: &str) -> Result<Vec<(u8, f64)>> {
    comp.iter()
        .enumerate()
        .map(|(i, (name, f))| {
            elements
                .iter()
                .position(|e| e == name)
                .map(|k| (k as u8, *f))
                .ok_or_else(|| {
                    Error::field(
                        format!("{field}[{i}]"),
                        format!(
                            "element `{name}` is not in the potential (it has {})",
                            elements.join(", ")
                        ),
                    )
                })
        })
        .collect()
}

/// The lattice constant of a particle: its own, else the structure's, else the Zhou04 value of
/// its composition (Vegard's law for an alloy).
fn lattice_constant_of(particle: &ParticleSpec, shared: Option<f64>, field: &str) -> Result<f64> {
    if let Some(a) = particle.lattice_constant_a.or(shared) {
        return Ok(a);
    }
    let mut a = 0.0;
    for (name, f) in &particle.composition {
        let el = crate::md::zhou04::element(name).map_err(|_| {
            Error::field(
                format!("{field}.lattice_constant_a"),
                format!(
                    "no lattice constant given and `{name}` has no Zhou04 value: give \
                     lattice_constant_a"
                ),
            )
        })?;
        a += f * el.lattice_constant();
    }
    Ok(a)
}

/// Species of a particle's sites `x` (centred on the particle) by its composition and
/// arrangement; `field` names the particle in errors.
fn particle_species(
    x: &[[f64; 3]],
    particle: &ParticleSpec,
    elements: &[String],
    rng: &mut crate::rng::KmcRng,
    field: &str,
) -> Result<Vec<u8>> {
    let cfield = format!("{field}.composition");
    let comp = species_of(&particle.composition, elements, &cfield)?;
    if x.len() < comp.len() {
        return Err(Error::field(
            format!("{field}.diameter_nm"),
            format!(
                "the sphere holds {} atom{}, fewer than the {} species of its composition",
                x.len(),
                if x.len() == 1 { "" } else { "s" },
                comp.len()
            ),
        ));
    }
    match particle.arrangement {
        Arrangement::Random => build::random_species(x.len(), &comp, rng),
        Arrangement::Shells => build::shell_species(x, &comp, rng),
    }
    .map_err(|e| relabel(e, &cfield))
}

/// Builds the scenario's structure for `potential`, drawing alloy species from `rng`; a
/// structure file is looked up relative to the working directory.
pub fn build_structure(
    spec: &StructureSpec,
    potential: &dyn Potential,
    rng: &mut crate::rng::KmcRng,
) -> Result<System> {
    build_structure_at(spec, potential, Path::new("."), rng)
}

/// Reads a structure file into a system for `potential`; the arguments are those of
/// [`StructureSpec::FromFile`], with the file resolved.
fn structure_from_file(
    file: &Path,
    format: FileFormat,
    types: &[String],
    pbc: Option<(bool, bool, bool)>,
    keep_velocities: bool,
    potential: &dyn Potential,
) -> Result<System> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        Error::field(
            "structure.path",
            format!("cannot read {}: {e}", file.display()),
        )
    })?;
    let elements = potential.elements();
    let masses = potential.masses();
    let at = |line: usize| Location::file(file).line(line);
    let (frame, species): (IoFrame, Vec<u8>) = match format {
        FileFormat::Xyz => {
            let frame = crate::io::xyz::parse(&text, Some(file))?
                .pop()
                .ok_or_else(|| Error::input(Location::file(file), "holds no frame"))?;
            // Line of atom i of the last frame: the atom lines end the file.
            let lines: Vec<&str> = text.lines().collect();
            let last = lines
                .iter()
                .rposition(|l| !l.trim().is_empty())
                .unwrap_or(0)
                + 1;
            let first_atom_line = last + 1 - frame.len();
            let mut map = Vec::with_capacity(frame.names.len());
            for (t, name) in frame.names.iter().enumerate() {
                match elements.iter().position(|e| e == name) {
                    Some(k) => map.push(k as u8),
                    None => {
                        let i = frame
                            .types
                            .iter()
                            .position(|&x| x as usize == t)
                            .unwrap_or(0);
                        return Err(Error::input(
                            at(first_atom_line + i).field("species"),
                            format!(
                                "element `{name}` is not in the potential (it has {})",
                                elements.join(", ")
                            ),
                        ));
                    }
                }
            }
            let species = frame.types.iter().map(|&t| map[t as usize]).collect();
            (frame, species)
        }
        FileFormat::LammpsData => {
            let mut data = crate::io::lammps_data::parse(&text, Some(file))?;
            data.name_types(types).map_err(|e| match e {
                Error::Input { location, message } if location.path.is_none() => {
                    Error::field("structure.types", message)
                }
                other => other,
            })?;
            let mut map = Vec::with_capacity(data.frame.names.len());
            for (t, name) in data.frame.names.iter().enumerate() {
                // A name from `types` is located in the scenario, one from a comment in the file.
                let here = |msg: String| {
                    if types.is_empty() {
                        Error::input(at(data.mass_lines[t]).field("Masses"), msg)
                    } else {
                        Error::field(format!("structure.types[{t}]"), msg)
                    }
                };
                let Some(k) = elements.iter().position(|e| e == name) else {
                    return Err(here(format!(
                        "type {} is `{name}`, which is not in the potential (it has {})",
                        t + 1,
                        elements.join(", ")
                    )));
                };
                // A mass far from the element's means the type mapping is wrong.
                if let Some(m) = data.masses[t]
                    && (m - masses[k]).abs() > 0.01 * masses[k]
                {
                    return Err(Error::input(
                        at(data.mass_lines[t]).field("Masses"),
                        format!(
                            "type {} has mass {m} amu but is mapped to {name} ({} amu): check \
                             the type names",
                            t + 1,
                            masses[k]
                        ),
                    ));
                }
                map.push(k as u8);
            }
            let species = data.frame.types.iter().map(|&t| map[t as usize]).collect();
            (data.frame, species)
        }
    };
    let periodic = pbc.map_or(frame.pbc, |(x, y, z)| [x, y, z]);
    let has_cell = frame.lengths.iter().all(|&l| l > 0.0);
    let (positions, simbox) = if has_cell {
        let o = frame.origin;
        let x = frame
            .positions
            .iter()
            .map(|p| [p[0] - o[0], p[1] - o[1], p[2] - o[2]])
            .collect();
        (
            x,
            crate::md::SimBox {
                lengths: frame.lengths,
                periodic,
            },
        )
    } else if periodic.iter().any(|&p| p) {
        return Err(Error::input(
            Location::file(file),
            "a periodic structure needs a cell (extended XYZ `Lattice=`)",
        ));
    } else {
        build::in_open_box(frame.positions.clone(), DEFAULT_VACUUM_A)
    };
    let mut system = System::new(positions, species, simbox, potential)?;
    if keep_velocities {
        match frame.velocities {
            Some(v) => system.velocities = v,
            None => {
                return Err(Error::field(
                    "structure.keep_velocities",
                    format!("{} holds no velocities", file.display()),
                ));
            }
        }
    }
    Ok(system)
}

/// Empty space around a cluster read from a file without a cell.
const DEFAULT_VACUUM_A: f64 = 10.0;

/// Builds the scenario's structure for `potential`, drawing alloy species from `rng`; a
/// structure file is looked up relative to `base_dir`.
pub fn build_structure_at(
    spec: &StructureSpec,
    potential: &dyn Potential,
    base_dir: &Path,
    rng: &mut crate::rng::KmcRng,
) -> Result<System> {
    let elements = potential.elements();
    let (positions, species, simbox) = match spec {
        StructureSpec::FromFile {
            path,
            format,
            types,
            pbc,
            keep_velocities,
        } => {
            return structure_from_file(
                &base_dir.join(path),
                *format,
                types,
                *pbc,
                *keep_velocities,
                potential,
            );
        }
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
        StructureSpec::BccCrystal {
            lattice_constant_a,
            cells,
            composition,
        } => {
            let atoms = build::bcc_crystal(*lattice_constant_a, [cells.0, cells.1, cells.2]);
            let comp = species_of(composition, elements, "structure.composition")?;
            let species = build::random_species(atoms.positions.len(), &comp, rng)
                .map_err(|e| relabel(e, "structure.composition"))?;
            (atoms.positions, species, atoms.simbox)
        }
        StructureSpec::TiO2Crystal { phase, cell, cells } => {
            let cell = cell.unwrap_or_else(|| phase.experimental_cell());
            let atoms = oxide::tio2_crystal(*phase, &cell, [cells.0, cells.1, cells.2])
                .map_err(|e| relabel(e, "structure"))?;
            let species = tio2_species(&atoms.species, elements)?;
            (atoms.positions, species, atoms.simbox)
        }
        StructureSpec::TiO2Particle {
            phase,
            cell,
            diameter_nm,
            vacuum_a,
            periodic_box,
        } => {
            let cell = cell.unwrap_or_else(|| phase.experimental_cell());
            let (x, s) = oxide::tio2_sphere(*phase, &cell, diameter_nm * 10.0)
                .map_err(|e| relabel(e, "structure"))?;
            let species = tio2_species(&s, elements)?;
            let (x, mut b) = build::in_open_box(x, *vacuum_a);
            if *periodic_box {
                b = SimBox::periodic(b.lengths);
            }
            (x, species, b)
        }
        StructureSpec::Sphere {
            lattice_constant_a,
            particle,
            vacuum_a,
        } => {
            let a = lattice_constant_of(particle, *lattice_constant_a, "structure.particle")?;
            let mut x = build::fcc_sphere(a, particle.diameter_nm * 10.0);
            orient(&mut x, &particle.orientation, rng, 0, "structure.particle")?;
            let species = particle_species(&x, particle, elements, rng, "structure.particle")?;
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
            let a1 = lattice_constant_of(first, *lattice_constant_a, "structure.first")?;
            let a2 = lattice_constant_of(second, *lattice_constant_a, "structure.second")?;
            let mut p1 = build::fcc_sphere(a1, first.diameter_nm * 10.0);
            let mut p2 = build::fcc_sphere(a2, second.diameter_nm * 10.0);
            orient(&mut p1, &first.orientation, rng, 0, "structure.first")?;
            orient(&mut p2, &second.orientation, rng, 1, "structure.second")?;
            build::rotate(&mut p2, *axis, rotation_deg.to_radians());
            let mut species = particle_species(&p1, first, elements, rng, "structure.first")?;
            species.extend(particle_species(
                &p2,
                second,
                elements,
                rng,
                "structure.second",
            )?);
            let x = build::pair_along_axis(&p1, &p2, *gap_a, *axis);
            let (x, b) = build::in_open_box(x, *vacuum_a);
            (x, species, b)
        }
    };
    System::new(positions, species, simbox, potential)
}

/// Turns the crystal `positions` (centred on the particle's centre) to `spec`. Particle `k` of
/// the structure draws a random orientation from its own [`Orientation`] stream, seeded by the
/// next number the structure's stream `rng` would give — which `rng` does not give up, so the
/// species drawn are those of an aligned build.
///
/// [`Orientation`]: crate::rng::Stream::Orientation
fn orient(
    positions: &mut [[f64; 3]],
    spec: &crate::grains::OrientationSpec,
    rng: &crate::rng::KmcRng,
    k: u64,
    field: &str,
) -> Result<()> {
    use rand::Rng;
    let seed = rng.clone().next_u64();
    let mut rng = crate::rng::stream(seed, crate::rng::Stream::Orientation(k));
    let q = spec.resolve(&format!("{field}.orientation"), &mut rng)?;
    if q != crate::rotation::IDENTITY {
        for x in positions.iter_mut() {
            *x = crate::rotation::rotate(q, *x);
        }
    }
    Ok(())
}

/// Particle labels (0 for the first particle, 1 for the second) when the run knows them: from
/// `analyze.first_particle_atoms`, else from the construction of `TwoSpheres`.
fn particle_labels(sc: &MdScenario, system: &System) -> Result<Option<Vec<u8>>> {
    let n = system.len();
    let first = match (&sc.analyze, &sc.structure) {
        (
            Some(AnalyzeSpec {
                first_particle_atoms: Some(k),
                ..
            }),
            _,
        ) => {
            if *k >= n {
                return Err(Error::field(
                    "analyze.first_particle_atoms",
                    format!(
                        "is {k}, but the structure has {n} atoms (at most {})",
                        n - 1
                    ),
                ));
            }
            *k
        }
        (
            _,
            StructureSpec::TwoSpheres {
                lattice_constant_a,
                first,
                ..
            },
        ) => {
            // The first sphere's atoms come first (see `build_structure_at`).
            let a = lattice_constant_of(first, *lattice_constant_a, "structure.first")?;
            build::fcc_sphere(a, first.diameter_nm * 10.0).len()
        }
        _ => return Ok(None),
    };
    Ok((first > 0).then(|| (0..n).map(|i| u8::from(i >= first)).collect()))
}

/// Writes `analyze.csv` row by row, through the same [`Analyzer`] as `kmc analyze`.
struct AnalyzeWriter {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    analyzer: Option<Analyzer>,
    swaps: bool,
}

impl AnalyzeWriter {
    fn create(path: PathBuf, swaps: bool) -> Result<Self> {
        let out = std::fs::File::create(&path)
            .map(std::io::BufWriter::new)
            .map_err(|e| Error::io(&path, e))?;
        Ok(AnalyzeWriter {
            path,
            out,
            analyzer: None,
            swaps,
        })
    }

    /// Analyses the system now; the first call sets up the analysis (and writes the header).
    fn write(
        &mut self,
        system: &System,
        step: u64,
        time_fs: f64,
        labels: Option<&[u8]>,
    ) -> Result<()> {
        use std::io::Write;
        let frame = Frame::of(system, step, time_fs, None).to_io();
        let first = self.analyzer.is_none();
        if first {
            let opts = AnalyzeOptions::default();
            let an = Analyzer::new(&frame, labels, &opts).map_err(|e| match e {
                Error::Input { message, .. } => Error::field("analyze", message),
                other => other,
            })?;
            // Monte Carlo swaps exchange species between atoms.
            self.analyzer = Some(if self.swaps {
                an.allow_species_swaps()
            } else {
                an
            });
        }
        let an = self
            .analyzer
            .as_mut()
            .ok_or_else(|| Error::field("analyze", "no analyzer"))?;
        let row = an.push(&frame)?;
        let mut text = String::new();
        if first {
            text.push_str(&analysis_header("time_ps", &system.elements));
            text.push('\n');
        }
        text.push_str(&row.csv());
        text.push('\n');
        self.out
            .write_all(text.as_bytes())
            .and_then(|_| self.out.flush())
            .map_err(|e| Error::io(&self.path, e))
    }
}

/// Writes `segregation.csv` row by row (see [`crate::observe::segregation`]).
struct SegregationWriter {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    /// Nearest-neighbour distance of the first row.
    nn_a: Option<f64>,
}

impl SegregationWriter {
    fn create(path: PathBuf, elements: &[String]) -> Result<Self> {
        use std::io::Write;
        let mut out = std::fs::File::create(&path)
            .map(std::io::BufWriter::new)
            .map_err(|e| Error::io(&path, e))?;
        writeln!(out, "{}", segregation_header(elements)).map_err(|e| Error::io(&path, e))?;
        Ok(SegregationWriter {
            path,
            out,
            nn_a: None,
        })
    }

    fn write(&mut self, system: &System, step: u64, time_fs: f64) -> Result<()> {
        use std::io::Write;
        let (x, b) = (&system.positions, &system.simbox);
        let d = *self
            .nn_a
            .get_or_insert_with(|| nn_distance(x, b.lengths, b.periodic));
        let g = Segregation::of(
            x,
            &system.species,
            system.elements.len(),
            b.lengths,
            b.periodic,
            d,
        );
        writeln!(self.out, "{}", g.csv(step, time_fs / 1000.0))
            .and_then(|_| self.out.flush())
            .map_err(|e| Error::io(&self.path, e))
    }
}

/// Refuses momentum zeroing for atoms that fill a periodic axis: they have no rigid rotation.
fn check_cluster(system: &System) -> Result<()> {
    for k in 0..3 {
        if system.simbox.periodic[k] {
            let l = system.simbox.lengths[k];
            let (_, gap) = crate::md::system::widest_gap(system.positions.iter().map(|x| x[k]), l);
            if gap < 0.25 * l {
                return Err(Error::field(
                    "zero_momentum_every_steps",
                    format!(
                        "removes the rigid rotation of a cluster, but the atoms fill the \
                         periodic {} axis (widest empty slab {gap:.2} Å of {l:.2} Å)",
                        ["x", "y", "z"][k]
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The potential's species of the Ti and O of [`oxide`]'s structures.
fn tio2_species(built: &[u8], elements: &[String]) -> Result<Vec<u8>> {
    let find = |name: &str| {
        elements
            .iter()
            .position(|e| e == name)
            .map(|k| k as u8)
            .ok_or_else(|| {
                Error::field(
                    "structure",
                    format!(
                        "a TiO2 structure needs `{name}` in the potential's elements (it has {})",
                        elements.join(", ")
                    ),
                )
            })
    };
    let map = [find("Ti")?, find("O")?];
    Ok(built.iter().map(|&s| map[s as usize]).collect())
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
        .map_err(|e| crate::io::ron::locate_error(e, &src, Some(path)))
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
    let mut rng = stream(sc.seed, Stream::Md);
    let mut system = build_structure_at(&sc.structure, pot, base_dir, &mut rng)?;
    if sc.zero_momentum_every_steps > 0 {
        check_cluster(&system)?;
    }
    let labels = particle_labels(sc, &system)?;
    let mut files = Vec::new();
    if sc.output.initial_data {
        std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
        let p = out_dir.join("initial.data");
        let mut f = Frame::of(&system, 0, 0.0, None).to_io();
        f.velocities = None;
        crate::io::lammps_data::write_file(&p, &f, pot.masses())?;
        files.push(p);
    }
    let minimization = match &sc.minimize {
        Some(m) => Some(minimize::relax(
            &mut system,
            pot,
            &FireOptions {
                force_tolerance_ev_a: m.criterion().0,
                norm: m.criterion().1,
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
    let keep = matches!(
        sc.structure,
        StructureSpec::FromFile {
            keep_velocities: true,
            ..
        }
    );
    if !keep {
        md.init_velocities(sc.temperature_k, &mut rng);
    }
    if sc.zero_momentum_every_steps > 0 {
        // As LAMMPS `velocity create T seed mom yes rot yes`: no drift, no spin, exactly T.
        md.remove_rigid_motion();
        if !keep {
            md.system_mut().scale_to_temperature(sc.temperature_k);
        }
    }
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
    files.push(thermo_path.clone());
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
    let mut observe = match &sc.analyze {
        Some(a) => {
            let p = out_dir.join("analyze.csv");
            files.push(p.clone());
            let swaps = sc.mc.is_some_and(|m| m.swap_fraction > 0.0);
            Some((a.every_steps, AnalyzeWriter::create(p, swaps)?))
        }
        None => None,
    };
    let mut segregation = match &sc.segregation {
        Some(g) => {
            let p = out_dir.join("segregation.csv");
            files.push(p.clone());
            Some((
                g.every_steps,
                SegregationWriter::create(p, &md.system().elements)?,
            ))
        }
        None => None,
    };
    let write_frame = |md: &mut Md<'_>, trajs: &mut Vec<TrajectoryWriter>| -> Result<()> {
        if trajs.is_empty() {
            return Ok(());
        }
        let energies = sc.output.per_atom_energy.then(|| md.per_atom_energies());
        let (step, time) = (md.step_count(), md.time_fs());
        let frame =
            Frame::of(md.system(), step, time, energies.as_deref()).with_labels(labels.as_deref());
        for t in trajs.iter_mut() {
            t.write(&frame)?;
        }
        Ok(())
    };

    let initial = md.thermo();
    thermo_out.write(&initial)?;
    write_frame(&mut md, &mut trajs)?;
    if let Some((_, w)) = observe.as_mut() {
        w.write(
            md.system(),
            md.step_count(),
            md.time_fs(),
            labels.as_deref(),
        )?;
    }
    if let Some((_, w)) = segregation.as_mut() {
        w.write(md.system(), md.step_count(), md.time_fs())?;
    }
    let mut mc_total = McStats::default();
    for step in 1..=sc.steps {
        md.step(&mut rng);
        if sc.zero_momentum_every_steps > 0 && step % sc.zero_momentum_every_steps == 0 {
            md.remove_rigid_motion();
        }
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
        if let Some((every, w)) = observe.as_mut()
            && step % *every == 0
        {
            w.write(md.system(), step, md.time_fs(), labels.as_deref())?;
        }
        if let Some((every, w)) = segregation.as_mut()
            && step % *every == 0
        {
            w.write(md.system(), step, md.time_fs())?;
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
            &Frame::of(md.system(), step, time, energies.as_deref()).with_labels(labels.as_deref()),
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
