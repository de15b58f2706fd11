//! `kmc bench`: samplers, the engine of a scenario, the MD engine, the relaxer.

use anyhow::{Context, Result};
use clap::Subcommand;
use kmc::sampler::SamplerKind;
use kmc::scenario::LoadedScenario;
use kmc::sim::{Simulation, peak_memory_bytes};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Benchmarks.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// Nanoseconds per select + update for each sampler and size.
    Samplers {
        /// Numbers of leaves.
        #[arg(long, value_delimiter = ',', default_values_t = vec![1_000usize, 10_000, 100_000, 1_000_000])]
        sizes: Vec<usize>,
        /// Ratio of the largest to the smallest rate (log-uniform); 1 = all equal.
        #[arg(long, default_value_t = 1e12)]
        spread: f64,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Relaxer: two particles touching at one site, relaxed by MD, per region radius and MD time.
    Relax {
        /// Element (Zhou 2004 EAM).
        #[arg(long, default_value = "Au")]
        element: String,
        /// Particle diameter, nm.
        #[arg(long, default_value_t = 3.0)]
        d_nm: f64,
        /// Temperature, K.
        #[arg(long, default_value_t = 600.0)]
        temperature: f64,
        /// Region radii around the contact, Å.
        #[arg(long, value_delimiter = ',', default_values_t = vec![15.0])]
        radii: Vec<f64>,
        /// Longest MD times, ps.
        #[arg(long, value_delimiter = ',', default_values_t = vec![kmc::relax::RelaxParams::default().md_time_ps])]
        times: Vec<f64>,
        /// Runs the full MD time (no early stopping).
        #[arg(long)]
        no_early_stop: bool,
        /// MD time step, fs (default: chosen from the atomic mass, 4 fs for Au).
        #[arg(long)]
        timestep_fs: Option<f64>,
        /// Langevin thermostat with this damping time, fs (default: Nosé–Hoover, `--tau-fs`).
        #[arg(long)]
        langevin_fs: Option<f64>,
        /// Nosé–Hoover period, fs.
        #[arg(long, default_value_t = 100.0)]
        tau_fs: f64,
        /// Seeds of the MD (one row per seed).
        #[arg(long, value_delimiter = ',', default_values_t = vec![1])]
        seeds: Vec<u64>,
        /// Release the particles whole (the film, if any, is cut by the region radius).
        #[arg(long)]
        whole: bool,
        /// Also print each MD window's neck radius and mean potential energy (the settle
        /// criterion's inputs) under its row.
        #[arg(long)]
        series: bool,
        /// One particle on a film of this many layers instead of two particles.
        #[arg(long)]
        on_film: Option<usize>,
    },
    /// Events per second, ns per event and memory of a scenario's engine (no output files).
    Run {
        /// Scenario files (.ron), timed one after the other in this process.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// Events to time (default: the scenario's stop condition).
        #[arg(long)]
        events: Option<u64>,
        /// Runs on N threads (synchronous sublattice; overrides the scenario's `threads`).
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
    },
    /// µs per atom-step of NVE velocity Verlet, Cu FCC crystal with the Zhou04 EAM (defaults:
    /// the LAMMPS reference system, 32,000 atoms, 600 K, 1 fs, 200 steps, 1 Å skin).
    Md {
        /// FCC cells per axis.
        #[arg(long, default_value_t = 20)]
        cells: usize,
        /// Timed steps.
        #[arg(long, default_value_t = 200)]
        steps: u64,
        /// Thread counts to time, e.g. `1,2`.
        #[arg(long, value_delimiter = ',', default_values_t = vec![1usize, 2])]
        threads: Vec<usize>,
        /// Runs per thread count (the median is reported).
        #[arg(long, default_value_t = 1)]
        repeat: usize,
    },
}

impl BenchCommand {
    /// Runs the subcommand.
    pub fn run(self) -> Result<()> {
        match self {
            BenchCommand::Md {
                cells,
                steps,
                threads,
                repeat,
            } => bench_md(cells, steps, &threads, repeat),
            BenchCommand::Samplers {
                sizes,
                spread,
                seed,
            } => {
                outln!("{:>24} {:>10} {:>16}", "sampler", "N", "ns/select+update");
                let rows = kmc::sampler::bench_samplers(&SamplerKind::ALL, &sizes, spread, seed);
                for r in rows {
                    outln!(
                        "{:>24} {:>10} {:>16.1}",
                        r.kind.name(),
                        r.leaves,
                        r.ns_per_event
                    );
                }
                Ok(())
            }
            BenchCommand::Relax {
                element,
                d_nm,
                temperature,
                radii,
                times,
                no_early_stop,
                timestep_fs,
                langevin_fs,
                tau_fs,
                seeds,
                whole,
                series,
                on_film,
            } => {
                use kmc::relax::bench;
                let mut setup = bench::BenchSetup {
                    geometry: match on_film {
                        Some(film_layers) => bench::Geometry::ParticleOnFilm { film_layers },
                        None => bench::Geometry::TwoParticles,
                    },
                    element,
                    diameter_nm: d_nm,
                    ..Default::default()
                };
                setup.params.temperature_k = temperature;
                setup.params.timestep_fs = timestep_fs;
                setup.params.thermostat = match langevin_fs {
                    Some(damping_fs) => kmc::relax::Thermostat::Langevin { damping_fs },
                    None => kmc::relax::Thermostat::NoseHoover { tau_fs },
                };
                let cases = bench::cases(&radii, &times, &seeds, !no_early_stop, whole);
                outln!("{}", bench::BENCH_HEADER);
                bench::run(&setup, &cases, |row| {
                    outln!("{}", row.line());
                    if series {
                        let o = &row.outcome;
                        let w = setup.params.settle_window_ps;
                        for (k, (n, e)) in o
                            .window_necks_a
                            .iter()
                            .zip(&o.window_energies_ev)
                            .enumerate()
                        {
                            outln!(
                                "#   t_ps {:>5.2}  neck_A {n:>6.2}  pe_eV {e:>12.3}",
                                (k as f64 + 1.0) * w
                            );
                        }
                    }
                })?;
                Ok(())
            }
            BenchCommand::Run {
                scenarios,
                events,
                threads,
            } => {
                let mut rows = Vec::new();
                for scenario in &scenarios {
                    rows.push((scenario, bench_run(scenario, events, threads)?));
                }
                if rows.len() > 1 {
                    outln!("\n{:>12}  scenario", "events/s");
                    for (scenario, rate) in rows {
                        outln!("{rate:>12.4e}  {}", scenario.display());
                    }
                }
                Ok(())
            }
        }
    }
}

fn bench_md(cells: usize, steps: u64, threads: &[usize], repeat: usize) -> anyhow::Result<()> {
    let opts = kmc::md::bench::MdBenchOptions {
        cells,
        steps,
        ..Default::default()
    };
    outln!(
        "{:>7} {:>7} {:>6} {:>8} {:>12} {:>8}   runs (µs/atom-step)",
        "threads",
        "atoms",
        "steps",
        "s",
        "µs/atom-step",
        "builds"
    );
    for &t in threads {
        let mut runs = Vec::new();
        for _ in 0..repeat.max(1) {
            runs.push(kmc::md::bench::bench_md(&opts, t)?);
        }
        runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        let med = runs[runs.len() / 2];
        let all: Vec<String> = runs
            .iter()
            .map(|r| format!("{:.3}", r.us_per_atom_step))
            .collect();
        outln!(
            "{:>7} {:>7} {:>6} {:>8.3} {:>12.3} {:>8}   {}",
            t,
            med.atoms,
            med.steps,
            med.seconds,
            med.us_per_atom_step,
            med.list_builds,
            all.join(" ")
        );
    }
    Ok(())
}

/// Times one scenario's engine (`kmc bench run`); returns its events per second.
fn bench_run(scenario: &Path, events: Option<u64>, threads: Option<usize>) -> anyhow::Result<f64> {
    let mut loaded = LoadedScenario::from_file(scenario)?;
    if let Some(n) = threads {
        if n == 0 {
            anyhow::bail!("--threads: must be at least 1, got 0");
        }
        loaded.scenario.threads = Some(n);
        if let Err(e) = loaded.scenario.validate() {
            anyhow::bail!("--threads {n}: {}", loaded.locate(e));
        }
    }
    crate::run::one_sector_per_rank(&mut loaded)?;
    let t0 = Instant::now();
    let mut sim = Simulation::new(loaded).context("building the simulation")?;
    let setup = t0.elapsed().as_secs_f64();
    let sites = sim.state().lattice().n_sites();
    let t1 = Instant::now();
    // The engine alone: no series samples (they measure the whole film), no output.
    sim.set_recording(false);
    let n = match events {
        Some(n) => sim.run_events(n)?,
        None => {
            sim.run_slice(u64::MAX)?;
            sim.counters().events()
        }
    };
    let wall = t1.elapsed().as_secs_f64();
    let peak = peak_memory_bytes();
    outln!("scenario        {}", scenario.display());
    outln!(
        "sites           {sites} ({} layers allocated)",
        sim.state().lattice().layers()
    );
    outln!("set-up          {setup:.3} s");
    outln!(
        "events          {n} ({} hops, {} depositions)",
        sim.counters().hops,
        sim.counters().deposited
    );
    outln!("simulated time  {:.6e} s", sim.time());
    outln!("wall time       {wall:.3} s");
    outln!("events/s        {:.4e}", n as f64 / wall);
    outln!("ns/event        {:.1}", wall * 1e9 / n.max(1) as f64);
    outln!(
        "peak memory     {:.1} MB ({:.2} bytes/site; process peak so far)",
        peak as f64 / 1e6,
        peak as f64 / sites as f64
    );
    if let Some(st) = sim.engine().model().eam_neb_stats() {
        outln!(
            "EamNeb          {} rate requests ({} from the site memo), {} barrier pairs computed ({:.1} ms each), hit rate {:.4} %",
            st.requests,
            st.memo_hits,
            st.pairs_computed,
            1e3 * st.compute_seconds / st.pairs_computed.max(1) as f64,
            100.0 * st.hit_rate()
        );
    }
    Ok(n as f64 / wall)
}
