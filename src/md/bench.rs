//! The MD speed benchmark behind `kmc bench md`: NVE velocity Verlet of an FCC Cu crystal with
//! the Zhou 2004 EAM, the system LAMMPS is timed on in the project's reference notes
//! (`lattice fcc 3.615`, 20³ cells = 32,000 atoms, `velocity all create 600.0`, `timestep 0.001`,
//! `run 200`, `neighbor 1.0 bin`, `pair_style eam/alloy`).
//!
//! Time is wall-clock time from `std::time::Instant` around the MD steps only (set-up, the first
//! force call and list build excluded, as in LAMMPS's "Loop time"). Thread counts are set with a
//! dedicated rayon pool, so the figures do not depend on `RAYON_NUM_THREADS`.

use std::time::Instant;

use super::build;
use super::eam::{DEFAULT_PARALLEL_THRESHOLD, Eam};
use super::integrate::{Integrator, Md};
use super::system::System;
use super::zhou04;
use crate::error::{Error, Result};
use crate::rng::{Stream, stream};

/// What to time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MdBenchOptions {
    /// Conventional FCC cells per axis (4 atoms each).
    pub cells: usize,
    /// Lattice constant in Å.
    pub lattice_constant_a: f64,
    /// Temperature of the initial velocities.
    pub temperature_k: f64,
    /// MD time step.
    pub timestep_fs: f64,
    /// Timed MD steps.
    pub steps: u64,
    /// Verlet skin in Å.
    pub skin_a: f64,
    /// Seed of the initial velocities.
    pub seed: u64,
}

impl Default for MdBenchOptions {
    /// The LAMMPS reference system: 20³ cells, a = 3.615 Å, 600 K, 1 fs, 200 steps, 1 Å skin.
    fn default() -> Self {
        MdBenchOptions {
            cells: 20,
            lattice_constant_a: 3.615,
            temperature_k: 600.0,
            timestep_fs: 1.0,
            steps: 200,
            skin_a: 1.0,
            seed: 4_928_459,
        }
    }
}

/// One timed run.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MdBenchResult {
    /// Worker threads of the pool the run used.
    pub threads: usize,
    /// Whether the EAM kernel ran its chunked (parallel) path.
    pub chunked: bool,
    /// Atoms.
    pub atoms: usize,
    /// Timed steps.
    pub steps: u64,
    /// Wall time of the steps, s.
    pub seconds: f64,
    /// Wall time per atom and step, µs.
    pub us_per_atom_step: f64,
    /// Neighbour-list builds during the timed steps.
    pub list_builds: u64,
    /// Relative change of the total energy over the run, `|E_end − E_0| / |E_0|`.
    pub energy_drift_rel: f64,
}

/// Times NVE velocity Verlet of the Cu crystal on a pool of `threads` threads. With
/// `threads == 1` the EAM kernel runs its serial single-chunk path; otherwise the chunked path
/// (whose results do not depend on the thread count) from
/// [`DEFAULT_PARALLEL_THRESHOLD`] atoms on, as in any MD run.
pub fn bench_md(opts: &MdBenchOptions, threads: usize) -> Result<MdBenchResult> {
    if opts.cells == 0 || opts.steps == 0 || threads == 0 {
        return Err(Error::field(
            "bench",
            "cells, steps and threads must be at least 1",
        ));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::field("threads", e.to_string()))?;
    let mut eam = Eam::from_setfl(&zhou04::setfl(&["Cu"])?)?;
    eam.parallel_threshold = if threads == 1 {
        usize::MAX
    } else {
        DEFAULT_PARALLEL_THRESHOLD
    };
    let atoms = build::fcc_crystal(opts.lattice_constant_a, [opts.cells; 3]);
    let n = atoms.positions.len();
    let chunked = n >= eam.parallel_threshold;
    let system = System::new(atoms.positions, atoms.species, atoms.simbox, &eam)?;
    let mut rng = stream(opts.seed, Stream::Md);
    pool.install(|| -> Result<MdBenchResult> {
        let mut md = Md::new(
            system,
            &eam,
            Integrator::VelocityVerlet,
            opts.timestep_fs,
            opts.skin_a,
        )?;
        md.init_velocities(opts.temperature_k, &mut rng);
        let e0 = md.thermo().total_energy_ev;
        let builds0 = md.list_builds();
        let start = Instant::now();
        md.run(opts.steps, &mut rng);
        let seconds = start.elapsed().as_secs_f64();
        let e1 = md.thermo().total_energy_ev;
        Ok(MdBenchResult {
            threads,
            chunked,
            atoms: n,
            steps: opts.steps,
            seconds,
            us_per_atom_step: seconds * 1e6 / (n as f64 * opts.steps as f64),
            list_builds: md.list_builds() - builds0,
            energy_drift_rel: ((e1 - e0) / e0).abs(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_benchmark_runs_and_conserves_energy() {
        // 3³ cells, 50 steps: the timed run is real NVE (energy conserved to 1e-5 relative at
        // 1 fs) in pools of one and two threads, and bad options are errors.
        let opts = MdBenchOptions {
            cells: 3,
            steps: 50,
            ..Default::default()
        };
        for threads in [1, 2] {
            let r = bench_md(&opts, threads).unwrap();
            assert_eq!((r.atoms, r.steps, r.threads), (108, 50, threads));
            // Below the parallel threshold both run the serial kernel.
            assert!(!r.chunked);
            assert!(r.seconds > 0.0 && r.us_per_atom_step > 0.0);
            assert!(r.energy_drift_rel < 1e-5, "{r:?}");
        }
        let bad = MdBenchOptions { cells: 0, ..opts };
        assert!(bench_md(&bad, 1).is_err());
        assert!(bench_md(&opts, 0).is_err());
    }
}
