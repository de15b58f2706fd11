//! `kmc rates`: rate tables (warming an EamNeb barrier cache by running the scenario).

use anyhow::{Context, Result};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use kmc::scenario::LoadedScenario;
use kmc::sim::Simulation;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

/// Rate tables.
#[derive(Subcommand)]
pub enum RatesCommand {
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

impl RatesCommand {
    /// Runs the subcommand.
    pub fn run(self) -> Result<()> {
        match self {
            RatesCommand::Build {
                scenario,
                save_every,
                quiet,
            } => rates_build(scenario, save_every, quiet),
        }
    }
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
    let summary = kmc::sim::warm::warm_cache(&mut sim, save_every, &mut |p| {
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
    outln!(
        "{}: {} entries ({} new) written to {}",
        scenario.display(),
        summary.entries,
        summary.new_entries,
        summary.path.display()
    );
    outln!(
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
    outln!("entries by outcome: {}", counts.join(", "));
    for e in &summary.errors {
        eprintln!("failed: {e}");
    }
    Ok(())
}
