//! The MD driver behind `kmc md`: builds the scenario's structure and potential, runs
//! minimisation, MD and Monte Carlo, and writes thermo, trajectories and the final frame.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::md::Potential;
use crate::md::build;
use crate::md::integrate::{CRescale, Md, Thermo};
use crate::md::mc::{McOptions, McStats, MonteCarlo};
use crate::md::minimize::{self, FireOptions, MinimizeResult};
use crate::md::system::System;
use crate::md::traj::{self, Frame, ThermoWriter, TrajFormat, TrajectoryWriter};
use crate::rng::{Stream, stream};
use crate::scenario::md::{
    Composition, EnsembleSpec, MdScenario, StructureSpec, parse_md_scenario,
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
