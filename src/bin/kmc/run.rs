//! `kmc run` and `kmc check`: a scenario run through the library's one run loop, with a
//! progress bar and the output directory's built-in writers.

use anyhow::{Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use kmc::scenario::LoadedScenario;
use kmc::sim::{OutputOptions, Progress, Simulation};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

/// Runs a scenario and writes series.csv, snapshots and summary.json.
#[derive(Args)]
pub struct RunArgs {
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
    /// Runs on N threads: the surface cut into N sectors run side by side (synchronous
    /// sublattice, Shim & Amar 2005; overrides the scenario's `threads`). 1 is the serial
    /// algorithm, event for event.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// No progress bar or log lines, only errors and the final line.
    #[arg(long, short)]
    quiet: bool,
    /// Without a terminal (batch jobs), prints a progress line to stdout every this many
    /// seconds of wall time: simulated time, events, events/s, coverage, done and ETA.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    log_every: f64,
    /// Refuses scenarios whose lattice, tables or particles would need more memory than
    /// this (e.g. 4G, 512M; default: the machine's memory).
    #[arg(long, value_parser = parse_max_memory)]
    max_memory: Option<u64>,
    /// Stops writing scheduled snapshots once they would take more than this on disk (e.g.
    /// 500M; default 4G); summary.json notes it.
    #[arg(long, value_parser = parse_max_memory, value_name = "SIZE")]
    max_snapshot_bytes: Option<u64>,
}

/// Under mpirun every rank runs one sector: a scenario without `threads` (or with 1) gets as
/// many sectors as there are ranks. Any other `threads` is left for the library to refuse.
pub fn one_sector_per_rank(loaded: &mut LoadedScenario) -> Result<()> {
    let ranks = kmc::parallel::ranks();
    if ranks > 1 && loaded.scenario.threads() == 1 {
        loaded.scenario.threads = Some(ranks);
        if let Err(e) = loaded.scenario.validate() {
            bail!("{ranks} MPI ranks (one sector each): {}", loaded.locate(e));
        }
    }
    Ok(())
}

fn parse_max_memory(s: &str) -> Result<u64, String> {
    kmc::io::validate::parse_bytes(s)
}

/// Validates a scenario without running it.
#[derive(Args)]
pub struct CheckArgs {
    /// Scenario file (.ron).
    scenario: PathBuf,
    /// As for `kmc run`: the memory the scenario may need (default: the machine's memory).
    #[arg(long, value_parser = parse_max_memory)]
    max_memory: Option<u64>,
}

impl RunArgs {
    /// Runs the subcommand.
    pub fn run(self) -> Result<()> {
        // Flags are checked here, where their names are known: the library would name the
        // scenario field they override.
        if self.checkpoint_every == Some(0) {
            bail!("--checkpoint-every: must be at least 1 event, got 0");
        }
        if !(self.log_every.is_finite() && self.log_every > 0.0) {
            bail!(
                "--log-every: must be a positive number of seconds, got {}",
                self.log_every
            );
        }
        if let Some(t) = self.until_time {
            if !(t.is_finite() && t >= 0.0) {
                bail!("--until-time: must be a non-negative number of seconds, got {t}");
            }
        }
        kmc::io::validate::set_memory_limit(self.max_memory);
        let ScenarioFile::Kmc(boxed) = read_scenario(&self.scenario)? else {
            bail!(
                "{} is an MD scenario (MdScenario): run it with `kmc md {}`",
                self.scenario.display(),
                self.scenario.display()
            );
        };
        let mut loaded = *boxed;
        if let Some(s) = self.seed {
            loaded.scenario.seed = s;
        }
        if let Some(n) = self.threads {
            if n == 0 {
                bail!("--threads: must be at least 1, got 0");
            }
            loaded.scenario.threads = Some(n);
            if let Err(e) = loaded.scenario.validate() {
                bail!("--threads {n}: {}", loaded.locate(e));
            }
        }
        one_sector_per_rank(&mut loaded)?;
        let out = self
            .out
            .unwrap_or_else(|| PathBuf::from("out").join(&loaded.scenario.name));
        let mut stop = loaded.scenario.stop.clone();
        stop.events = self.events.or(stop.events);
        stop.time_s = self.until_time.or(stop.time_s);
        let mut sim = Simulation::with_stop(loaded, stop)?;
        sim.set_output(
            &out,
            OutputOptions {
                checkpoint_every: self.checkpoint_every,
                max_snapshot_bytes: self.max_snapshot_bytes,
            },
        )?;
        sim.set_command_line(std::env::args().collect());
        if let Some(ck) = &self.resume {
            sim.load_checkpoint(ck)?;
        }
        for w in sim.warnings() {
            eprintln!("warning: {w}");
        }
        let terminal = std::io::stderr().is_terminal();
        let bar = if self.quiet || !terminal {
            ProgressBar::hidden()
        } else {
            let b = ProgressBar::new(1000);
            b.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {percent:>3}% {elapsed_precise} ETA {eta_precise} {msg}",
                )
                .expect("valid template"),
            );
            b
        };
        // Batch jobs see no bar: they get a line every `log_every` seconds instead, as LAMMPS
        // and SPPARKS users expect in their logs.
        let log_lines = !self.quiet && !terminal;
        let started = Instant::now();
        let mut last_log = 0.0;
        let log_every = self.log_every;
        let mut show = |p: Progress| {
            let elapsed = started.elapsed().as_secs_f64();
            let rate = p.events as f64 / elapsed.max(1e-9);
            bar.set_position((p.fraction * 1000.0) as u64);
            bar.set_message(format!(
                "t = {:.4e} s, θ = {:.3} ML, {} events, {:.3e} ev/s",
                p.time_s, p.deposited_ml, p.events, rate
            ));
            if log_lines && elapsed - last_log >= log_every {
                last_log = elapsed;
                let eta = if p.fraction > 0.0 {
                    format!("{:.0} s", elapsed * (1.0 - p.fraction) / p.fraction)
                } else {
                    "unknown".into()
                };
                outln!(
                    "progress: {:.1}% done, t = {:.4e} s, {} events, {:.3e} events/s, coverage {:.3} ML, wall {:.0} s, ETA {eta}",
                    100.0 * p.fraction,
                    p.time_s,
                    p.events,
                    rate,
                    p.deposited_ml,
                    elapsed
                );
            }
        };
        let summary = sim.run_with_progress(&mut show)?;
        bar.finish_and_clear();
        if let Some((path, n)) = sim.engine().model().save_cache()? {
            outln!("barrier cache: {n} entries written to {}", path.display());
        }
        let o = &summary.final_observables;
        outln!(
            "{}: stopped ({:?}) at t = {:.6e} s after {} events ({:.3e} events/s); coverage {:.4} ML, roughness {:.3} ML, {} islands ({} of ≥ 2 atoms)",
            summary.scenario,
            summary.stop_reason,
            o.time_s,
            summary.counters.events(),
            summary.events_per_s,
            o.coverage_ml,
            o.roughness_ml,
            o.islands,
            o.islands_ge2
        );
        if sim.engine().particle_motion() {
            let k = &summary.counters;
            outln!(
                "particle motion: {} steps, {} turns, {} blocked",
                k.particle_steps,
                k.particle_turns,
                k.particle_moves_blocked
            );
        }
        outln!("percolation: {}", summary.percolation.describe());
        if let Some(p) = &summary.particles {
            outln!(
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
                outln!(
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
            for m in &p.unplaceable_messages {
                eprintln!("warning: {m}");
            }
        }
        // The run's notes (the particle summary repeats them).
        for m in &summary.notes {
            eprintln!("note: {m}");
        }
        outln!(
            "output written to {}/ ({})",
            out.display(),
            summary.files.join(", ")
        );
        Ok(())
    }
}

impl CheckArgs {
    /// Runs the subcommand.
    pub fn run(self) -> Result<()> {
        kmc::io::validate::set_memory_limit(self.max_memory);
        let loaded = match read_scenario(&self.scenario)? {
            ScenarioFile::Kmc(loaded) => *loaded,
            ScenarioFile::Md(text) => return check_md(&self.scenario, &text),
        };
        let sim = Simulation::new(loaded)?;
        let s = sim.scenario();
        let lat = sim.state().lattice();
        outln!(
            "{}: ok — {:?} {} × {} grid, {} layers allocated ({} sites), {} atoms, species {}, {} active atoms, total rate {:.4e} /s",
            self.scenario.display(),
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
        for w in sim.warnings() {
            eprintln!("warning: {w}");
        }
        Ok(())
    }
}

/// A scenario file, read once: a KMC scenario (parsed) or an MD one (its text).
enum ScenarioFile {
    Kmc(Box<LoadedScenario>),
    Md(String),
}

/// Reads `path` and tells a KMC scenario from an MD one, so each command can name the other
/// command instead of reporting a type mismatch.
fn read_scenario(path: &std::path::Path) -> Result<ScenarioFile> {
    Ok(match std::fs::read_to_string(path) {
        Ok(t) if kmc::scenario::md::is_md_scenario(&t) => ScenarioFile::Md(t),
        Ok(t) => ScenarioFile::Kmc(Box::new(LoadedScenario::from_text(
            t,
            Some(path.to_path_buf()),
        )?)),
        // The library's reader names the file and the I/O error.
        Err(_) => ScenarioFile::Kmc(Box::new(LoadedScenario::from_file(path)?)),
    })
}

/// `kmc check` of an MD scenario (`text` of `path`): validates it and builds its potential
/// and structure.
fn check_md(path: &std::path::Path, text: &str) -> Result<()> {
    let sc = kmc::scenario::md::parse_md_scenario(text, Some(path))?;
    let base = path.parent().unwrap_or(std::path::Path::new("."));
    // Errors that name a field get its line and column, as `kmc md` gives them.
    let locate = |e| kmc::io::ron::locate_error(e, text, Some(path));
    let pot = sc.potential.build(base).map_err(locate)?;
    let mut rng = kmc::rng::stream(sc.seed, kmc::rng::Stream::Md);
    let system = kmc::sim::md::build_structure_at(&sc.structure, pot.as_ref(), base, &mut rng)
        .map_err(locate)?;
    outln!(
        "{}: ok — MD scenario, {} atoms of {}, {} steps of {} fs at {} K",
        path.display(),
        system.len(),
        system.elements.join(", "),
        sc.steps,
        sc.timestep_fs,
        sc.temperature_k
    );
    Ok(())
}
