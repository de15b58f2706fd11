//! `kmc` command-line interface: a thin client over the library.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use kmc::sampler::SamplerKind;
use kmc::scenario::LoadedScenario;
use kmc::simulation::{Progress, RunOptions, Runner, Simulation, peak_memory_bytes};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Lattice kinetic Monte Carlo for metal film growth.
#[derive(Parser)]
#[command(version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a scenario and writes series.csv, snapshots and summary.json.
    Run {
        /// Scenario file (.ron).
        scenario: PathBuf,
        /// Output directory (default: out/<scenario name>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Overrides the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Stops after this many events (overrides stop.events).
        #[arg(long)]
        events: Option<u64>,
        /// Stops at this simulated time in s (overrides stop.time_s).
        #[arg(long)]
        until_time: Option<f64>,
        /// Resumes from a checkpoint written by a run of the same scenario.
        #[arg(long)]
        resume: Option<PathBuf>,
        /// Writes checkpoint.kmc every N events (and at the end).
        #[arg(long)]
        checkpoint_every: Option<u64>,
        /// No progress bar, only errors and the final line.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Validates a scenario without running it.
    Check {
        /// Scenario file (.ron).
        scenario: PathBuf,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
    /// Lists lattices, rate models and samplers.
    Info,
    /// Generates interatomic potential files.
    #[command(subcommand)]
    Potential(PotentialCommand),
    /// Builds nanoparticles.
    #[command(subcommand)]
    Particle(ParticleCommand),
    /// Rate tables.
    #[command(subcommand)]
    Rates(RatesCommand),
    /// Runs a molecular-dynamics scenario (RON).
    Md {
        /// The scenario file.
        scenario: PathBuf,
        /// Output directory (default: out/<scenario file stem>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
}

#[derive(Subcommand)]
enum PotentialCommand {
    /// Tabulates the Zhou–Johnson–Wadley 2004 EAM (Cu Ag Au Ni Pd Pt Al) as a LAMMPS
    /// `eam/alloy` setfl file.
    Zhou04 {
        /// Elements in species order, e.g. `Cu Ag`.
        #[arg(required = true)]
        elements: Vec<String>,
        /// Output setfl file.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum ParticleCommand {
    /// Cuts a particle from the lattice and writes it as extended XYZ.
    Build {
        /// sphere, truncated-octahedron or cuboctahedron.
        #[arg(long, default_value = "sphere")]
        shape: String,
        /// Equal-volume diameter, nm.
        #[arg(long = "d-nm")]
        d_nm: f64,
        /// Core (or only) species, e.g. Cu.
        #[arg(long, required_unless_present = "alloy")]
        core: Option<String>,
        /// Shell species and thickness, e.g. Ag:0.5nm.
        #[arg(long, conflicts_with_all = ["alloy", "janus"])]
        shell: Option<String>,
        /// Random alloy instead of a core, e.g. Ag:0.3,Au:0.7.
        #[arg(long, conflicts_with_all = ["core", "janus"])]
        alloy: Option<String>,
        /// Janus particle: the species of the +axis half (the core species is the other).
        #[arg(long)]
        janus: Option<String>,
        /// Normal of the Janus plane: x, y or z.
        #[arg(long, default_value = "x")]
        axis: String,
        /// Lattice kind (which crystal direction is z).
        #[arg(long, default_value = "Fcc100")]
        lattice: String,
        /// Lattice constant in Å (default: Zhou 2004 EAM value of the core element).
        #[arg(long)]
        a: Option<f64>,
        /// Seed of a random alloy's arrangement.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file (.xyz).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum RatesCommand {
    /// Computes every barrier a scenario with the EamNeb rate model needs, by running it, and
    /// writes them to the model's cache file.
    Build {
        /// Scenario file (.ron).
        scenario: PathBuf,
        /// Saves the cache every this many seconds while building.
        #[arg(long, default_value_t = 60.0)]
        save_every: f64,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
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
        /// Langevin damping time, fs.
        #[arg(long, default_value_t = kmc::relax::RelaxParams::default().langevin_damping_fs)]
        damping_fs: f64,
        /// Seed of the Langevin noise.
        #[arg(long, default_value_t = 1)]
        seed: u64,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cmd: Command) -> Result<()> {
    match cmd {
        Command::Run {
            scenario,
            out,
            seed,
            events,
            until_time,
            resume,
            checkpoint_every,
            quiet,
        } => {
            let mut loaded = LoadedScenario::from_file(&scenario)?;
            if let Some(s) = seed {
                loaded.scenario.seed = s;
            }
            let out = out.unwrap_or_else(|| PathBuf::from("out").join(&loaded.scenario.name));
            let sim = Simulation::new(loaded)?;
            let opts = RunOptions {
                events,
                until_time_s: until_time,
                checkpoint_every,
                resume,
            };
            let mut runner = Runner::new(sim, out.clone(), opts)?;
            let bar = if quiet || !std::io::stderr().is_terminal() {
                ProgressBar::hidden()
            } else {
                let b = ProgressBar::new(1000);
                b.set_style(
                    ProgressStyle::with_template("{bar:30} {percent:>3}% {elapsed_precise} {msg}")
                        .expect("valid template"),
                );
                b
            };
            let started = Instant::now();
            let mut show = |p: Progress| {
                let rate = p.events as f64 / started.elapsed().as_secs_f64().max(1e-9);
                bar.set_position((p.fraction * 1000.0) as u64);
                bar.set_message(format!(
                    "t = {:.4e} s, θ = {:.3} ML, {} events, {:.3e} ev/s",
                    p.time_s, p.deposited_ml, p.events, rate
                ));
            };
            let summary = runner.run(&mut show)?;
            bar.finish_and_clear();
            if let Some((path, n)) = runner.simulation().engine().model().save_cache()? {
                println!("barrier cache: {n} entries written to {}", path.display());
            }
            let o = &summary.final_observables;
            println!(
                "{}: stopped ({:?}) at t = {:.6e} s after {} events ({:.3e} events/s); coverage {:.4} ML, roughness {:.3} ML, {} islands",
                summary.scenario,
                summary.stop_reason,
                o.time_s,
                summary.counters.events(),
                summary.events_per_s,
                o.coverage_ml,
                o.roughness_ml,
                o.islands
            );
            if let Some(p) = &summary.particles {
                println!(
                    "particles: {} deposited, {} unplaceable, {} contacts, {} aggregates, {} necks, covered {:.3}, percolating x {} y {}",
                    p.particles_deposited,
                    p.particles_unplaceable,
                    p.contacts,
                    p.aggregates,
                    p.necks,
                    p.covered_fraction,
                    p.percolating[0],
                    p.percolating[1]
                );
                if let Some(r) = &p.relax {
                    println!(
                        "relaxer: {} contacts, {:.1} ps of MD, {} atoms moved, residual mean {:.3} Å max {:.3} Å, {} off-lattice; {:.1} s wall ({:.0}% of the run)",
                        r.totals.relaxations,
                        r.totals.md_time_ps,
                        r.totals.moved_atoms,
                        r.mean_residual_a,
                        r.totals.max_residual_a,
                        r.totals.off_lattice,
                        r.wall_s_this_run,
                        100.0 * r.wall_share
                    );
                }
                for m in p.unplaceable_messages.iter().chain(&p.notes) {
                    eprintln!("warning: {m}");
                }
            }
            println!(
                "output written to {}/ ({})",
                out.display(),
                summary.files.join(", ")
            );
            Ok(())
        }
        Command::Check { scenario } => {
            let loaded = LoadedScenario::from_file(&scenario)?;
            let sim = Simulation::new(loaded)?;
            let s = sim.scenario();
            let lat = sim.state().lattice();
            println!(
                "{}: ok — {:?} {} × {} grid, {} layers allocated ({} sites), {} atoms, species {}, {} active atoms, total rate {:.4e} /s",
                scenario.display(),
                lat.kind(),
                lat.grid().0,
                lat.grid().1,
                lat.layers(),
                lat.n_sites(),
                sim.state().n_atoms(),
                s.species.join(", "),
                sim.engine().active_atoms(),
                sim.engine().total_rate()
            );
            Ok(())
        }
        Command::Bench { what } => match what {
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
                println!("{:>24} {:>10} {:>16}", "sampler", "N", "ns/select+update");
                let rows = kmc::sampler::bench_samplers(&SamplerKind::ALL, &sizes, spread, seed);
                for r in rows {
                    println!(
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
                damping_fs,
                seed,
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
                setup.params.seed = seed;
                setup.params.timestep_fs = timestep_fs;
                setup.params.langevin_damping_fs = damping_fs;
                let cases = bench::cases(&radii, &times, !no_early_stop);
                println!("{}", bench::BENCH_HEADER);
                bench::run(&setup, &cases, |row| println!("{}", row.line()))?;
                Ok(())
            }
            BenchCommand::Run { scenarios, events } => {
                let mut rows = Vec::new();
                for scenario in &scenarios {
                    rows.push((scenario, bench_run(scenario, events)?));
                }
                if rows.len() > 1 {
                    println!("\n{:>12}  scenario", "events/s");
                    for (scenario, rate) in rows {
                        println!("{rate:>12.4e}  {}", scenario.display());
                    }
                }
                Ok(())
            }
        },
        Command::Md {
            scenario,
            out,
            quiet,
        } => md(scenario, out, quiet),
        Command::Rates(RatesCommand::Build {
            scenario,
            save_every,
            quiet,
        }) => rates_build(scenario, save_every, quiet),
        Command::Potential(PotentialCommand::Zhou04 { elements, out }) => {
            let names: Vec<&str> = elements.iter().map(String::as_str).collect();
            kmc::md::zhou04::write_setfl(&names, &out)?;
            println!("wrote {} ({})", out.display(), names.join(" "));
            Ok(())
        }
        Command::Particle(ParticleCommand::Build {
            shape,
            d_nm,
            core,
            shell,
            alloy,
            janus,
            axis,
            lattice,
            a,
            seed,
            out,
        }) => {
            use kmc::particle::{Composition, build_standalone, parse_alloy, parse_shell};
            let core = core.unwrap_or_default();
            let composition = match (alloy, shell, janus) {
                (Some(al), _, _) => Composition::Alloy(parse_alloy(&al)?),
                (None, Some(sh), _) => {
                    let (shell, shell_nm) = parse_shell(&sh)?;
                    Composition::CoreShell {
                        core,
                        shell,
                        shell_nm,
                    }
                }
                (None, None, Some(second)) => Composition::Janus {
                    first: core,
                    second,
                    axis: kmc::particle::parse_axis(&axis)?,
                },
                (None, None, None) => Composition::Pure(core),
            };
            let req = kmc::particle::BuildRequest {
                shape: kmc::particle::Shape::parse(&shape)?,
                diameter_nm: d_nm,
                composition,
                lattice: kmc::particle::parse_lattice_kind(&lattice)?,
                lattice_constant_a: a,
                seed,
            };
            let (p, names, a) = build_standalone(&req)?;
            p.write_xyz(&out, &names, a)?;
            let counts: Vec<String> = names
                .iter()
                .enumerate()
                .map(|(k, n)| {
                    let c = p.species.iter().filter(|&&s| s as usize == k + 1).count();
                    format!("{c} {n}")
                })
                .collect();
            println!(
                "wrote {}: {:?}, d = {d_nm} nm, a = {a:.4} Å, {} atoms ({})",
                out.display(),
                p.shape,
                p.len(),
                counts.join(", ")
            );
            Ok(())
        }
        Command::Info => {
            print!("{}", kmc::info::render());
            Ok(())
        }
    }
}

fn bench_md(cells: usize, steps: u64, threads: &[usize], repeat: usize) -> anyhow::Result<()> {
    let opts = kmc::md::bench::MdBenchOptions {
        cells,
        steps,
        ..Default::default()
    };
    println!(
        "{:>7} {:>7} {:>6} {:>8} {:>12} {:>8}   runs (µs/atom-step)",
        "threads", "atoms", "steps", "s", "µs/atom-step", "builds"
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
        println!(
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

fn md(scenario: PathBuf, out: Option<PathBuf>, quiet: bool) -> anyhow::Result<()> {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let out = out.unwrap_or_else(|| {
        let stem = scenario
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "md".into());
        PathBuf::from("out").join(stem)
    });
    let bar = ProgressBar::new(0);
    if quiet || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} steps, {elapsed_precise} (eta {eta}) {msg}",
        )
        .expect("static template"),
    );
    let start = std::time::Instant::now();
    let summary = kmc::md::run::run_md_scenario(&scenario, &out, &mut |p| {
        bar.set_length(p.steps);
        bar.set_position(p.step);
        if let Some(t) = &p.thermo {
            bar.set_message(format!(
                "T {:.1} K, E_tot {:.4} eV",
                t.temperature_k, t.total_energy_ev
            ));
        }
    })?;
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} atoms, {} steps in {:.2} s ({:.3} µs per atom-step)",
        summary.atoms,
        summary.steps,
        secs,
        secs * 1e6 / (summary.atoms as f64 * summary.steps.max(1) as f64)
    );
    if let Some(m) = &summary.minimization {
        println!(
            "minimisation: converged {}, {} steps, E {:.6} eV, max |F| {:.2e} eV/Å",
            m.converged, m.steps, m.energy_ev, m.max_force_ev_a
        );
    }
    let (a, b) = (&summary.initial, &summary.last);
    println!(
        "T {:.2} -> {:.2} K, E_pot {:.6} -> {:.6} eV, E_tot {:.6} -> {:.6} eV, {} neighbour-list builds",
        a.temperature_k,
        b.temperature_k,
        a.potential_energy_ev,
        b.potential_energy_ev,
        a.total_energy_ev,
        b.total_energy_ev,
        summary.neighbor_builds
    );
    if let Some(mc) = &summary.mc {
        let pct = |r: Option<f64>| r.map_or("-".to_string(), |x| format!("{:.1} %", 100.0 * x));
        println!(
            "Monte Carlo: swaps {}/{} accepted ({}), displacements {}/{} ({})",
            mc.swaps_accepted,
            mc.swaps_attempted,
            pct(mc.swap_acceptance()),
            mc.displacements_accepted,
            mc.displacements_attempted,
            pct(mc.displacement_acceptance())
        );
    }
    for f in &summary.files {
        println!("wrote {}", f.display());
    }
    Ok(())
}

fn rates_build(scenario: PathBuf, save_every: f64, quiet: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let loaded = LoadedScenario::from_file(&scenario)?;
    let mut sim = Simulation::new(loaded).context("building the simulation")?;
    let bar = if quiet || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new(1000);
        b.set_style(
            ProgressStyle::with_template("{bar:30} {percent:>3}% {elapsed_precise} {msg}")
                .expect("valid template"),
        );
        b
    };
    let summary = kmc::rates::eam_neb::warm_cache(&mut sim, save_every, &mut |p| {
        bar.set_position((p.fraction * 1000.0) as u64);
        bar.set_message(format!(
            "{} events, {} barriers cached, {} saddle searches, hit rate {:.2} %",
            p.events,
            p.entries,
            p.stats.pairs_computed,
            100.0 * p.stats.hit_rate()
        ));
    })?;
    bar.finish_and_clear();
    let s = &summary.stats;
    println!(
        "{}: {} entries ({} new) written to {}",
        scenario.display(),
        summary.entries,
        summary.new_entries,
        summary.path.display()
    );
    println!(
        "{} events, {} saddle searches in {:.1} s of compute ({:.1} ms each on average), {:.1} s wall in total",
        summary.events,
        s.pairs_computed,
        s.compute_seconds,
        1e3 * s.compute_seconds / s.pairs_computed.max(1) as f64,
        started.elapsed().as_secs_f64()
    );
    let counts: Vec<String> = summary
        .status_counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(st, n)| format!("{st:?} {n}"))
        .collect();
    println!("entries by outcome: {}", counts.join(", "));
    for e in &summary.errors {
        eprintln!("failed: {e}");
    }
    Ok(())
}

/// Times one scenario's engine (`kmc bench run`); returns its events per second.
fn bench_run(scenario: &Path, events: Option<u64>) -> anyhow::Result<f64> {
    let loaded = LoadedScenario::from_file(scenario)?;
    let t0 = Instant::now();
    let mut sim = Simulation::new(loaded).context("building the simulation")?;
    let setup = t0.elapsed().as_secs_f64();
    let sites = sim.state().lattice().n_sites();
    let s = sim.scenario().clone();
    let t1 = Instant::now();
    let n = match events {
        Some(n) => sim.run_events(n),
        None => {
            let stop_t = s.stop.time_s.unwrap_or(f64::INFINITY);
            let stop_ev = s.stop.events.unwrap_or(u64::MAX);
            let stop_cov = s.stop.coverage_ml.unwrap_or(f64::INFINITY);
            let mut n = 0u64;
            while n < stop_ev && sim.deposited_ml() < stop_cov {
                let before = sim.counters().events();
                if !sim.run_until(stop_t.min(sim.time() + 1e9)) && sim.counters().events() == before
                {
                    break;
                }
                n = sim.counters().events();
                if sim.time() >= stop_t {
                    break;
                }
            }
            n
        }
    };
    let wall = t1.elapsed().as_secs_f64();
    let peak = peak_memory_bytes();
    println!("scenario        {}", scenario.display());
    println!(
        "sites           {sites} ({} layers allocated)",
        sim.state().lattice().layers()
    );
    println!("set-up          {setup:.3} s");
    println!(
        "events          {n} ({} hops, {} depositions)",
        sim.counters().hops,
        sim.counters().deposited
    );
    println!("simulated time  {:.6e} s", sim.time());
    println!("wall time       {wall:.3} s");
    println!("events/s        {:.4e}", n as f64 / wall);
    println!("ns/event        {:.1}", wall * 1e9 / n.max(1) as f64);
    println!(
        "peak memory     {:.1} MB ({:.2} bytes/site; process peak so far)",
        peak as f64 / 1e6,
        peak as f64 / sites as f64
    );
    if let Some(st) = sim.engine().model().eam_neb_stats() {
        println!(
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
