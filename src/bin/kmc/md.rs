//! `kmc md`: a stand-alone molecular-dynamics run from an MD scenario.

use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Runs a molecular-dynamics scenario (RON).
#[derive(Args)]
pub struct MdArgs {
    /// The scenario file.
    scenario: PathBuf,
    /// Output directory (default: out/<scenario file stem>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

impl MdArgs {
    /// Runs the subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        // A file that parses as a KMC scenario is for `kmc run`; anything else is left to the
        // MD loader's own error.
        let kmc_scenario = std::fs::read_to_string(&self.scenario).is_ok_and(|t| {
            !kmc::scenario::md::is_md_scenario(&t)
                && kmc::scenario::LoadedScenario::from_text(t, Some(self.scenario.clone())).is_ok()
        });
        if kmc_scenario {
            anyhow::bail!(
                "{} is a KMC scenario: run it with `kmc run {}`",
                self.scenario.display(),
                self.scenario.display()
            );
        }
        md(self.scenario, self.out, self.quiet)
    }
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
    let summary = kmc::sim::md::run_md_scenario(&scenario, &out, &mut |p| {
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
    outln!(
        "{} atoms, {} steps in {:.2} s ({:.3} µs per atom-step)",
        summary.atoms,
        summary.steps,
        secs,
        secs * 1e6 / (summary.atoms as f64 * summary.steps.max(1) as f64)
    );
    if let Some(m) = &summary.minimization {
        outln!(
            "minimisation: converged {}, {} steps, E {:.6} eV, max |F| {:.2e} eV/Å, \
             |F| (2-norm of all forces) {:.2e} eV/Å",
            m.converged,
            m.steps,
            m.energy_ev,
            m.max_force_ev_a,
            m.force_two_norm_ev_a
        );
    }
    let (a, b) = (&summary.initial, &summary.last);
    outln!(
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
        outln!(
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
        outln!("wrote {}", f.display());
    }
    Ok(())
}
