//! `kmc rates`: rate tables (warming an EamNeb barrier cache by running the scenario) and one
//! EamNeb barrier on demand.

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use kmc::lattice::LatticeKind;
use kmc::rates::eam_neb::{
    BarrierRequest, EamPotential, EventKind, NebSpec, SlabSpec, adatom_barrier,
};
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
    /// Computes one EamNeb barrier, as a run would: an adatom on a flat terrace hopping to
    /// the next in-layer site or exchanging with a surface atom; prints the forward and
    /// reverse barriers.
    Barrier {
        /// Substrate element (and the adatom's, unless --adatom).
        #[arg(long)]
        species: String,
        /// Adatom element, if not the substrate's.
        #[arg(long)]
        adatom: Option<String>,
        /// The event.
        #[arg(long, value_enum, default_value_t = Event::Hop)]
        event: Event,
        /// The surface.
        #[arg(long, value_enum, default_value_t = Surface::Fcc100)]
        surface: Surface,
        /// Lateral slab size in the lattice's size units, e.g. 5x5 (default: at least eight
        /// lattice constants both ways, as the EamNeb model).
        #[arg(long, value_parser = parse_size)]
        slab: Option<(usize, usize)>,
        /// Substrate layers below the event.
        #[arg(long, default_value_t = SlabSpec::default().layers_below)]
        layers_below: usize,
        /// Bottom layers held fixed.
        #[arg(long, default_value_t = SlabSpec::default().fixed_layers)]
        fixed_layers: usize,
        /// A LAMMPS eam/alloy setfl file (default: Zhou04 for the species).
        #[arg(long)]
        setfl: Option<PathBuf>,
        /// Lattice constant in Å (default: the substrate's from the potential).
        #[arg(long)]
        lattice_constant_a: Option<f64>,
    },
}

/// Event of `kmc rates barrier`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Event {
    /// Hop to an in-layer nearest-neighbour site.
    Hop,
    /// Exchange with a surface atom, which is pushed out.
    Exchange,
}

/// Surfaces EamNeb computes barriers on.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Surface {
    /// fcc(100).
    Fcc100,
    /// fcc(111).
    Fcc111,
    /// fcc(110).
    Fcc110,
}

fn parse_size(s: &str) -> std::result::Result<(usize, usize), String> {
    let bad = || format!("`{s}` is not a size like 5x5");
    let (a, b) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let (a, b) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if a == 0 || b == 0 || a > 64 || b > 64 {
        return Err(format!("`{s}`: each side must be 1 to 64"));
    }
    Ok((a, b))
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
            RatesCommand::Barrier {
                species,
                adatom,
                event,
                surface,
                slab,
                layers_below,
                fixed_layers,
                setfl,
                lattice_constant_a,
            } => {
                let adatom = adatom.unwrap_or_else(|| species.clone());
                let mut elements = vec![species.clone()];
                if adatom != species {
                    elements.push(adatom.clone());
                }
                let req = BarrierRequest {
                    potential: match setfl {
                        Some(p) => EamPotential::Setfl(p.to_string_lossy().into_owned()),
                        None => EamPotential::Zhou04(elements),
                    },
                    substrate: species,
                    adatom,
                    surface: match surface {
                        Surface::Fcc100 => LatticeKind::Fcc100,
                        Surface::Fcc111 => LatticeKind::Fcc111,
                        Surface::Fcc110 => LatticeKind::Fcc110,
                    },
                    event: match event {
                        Event::Hop => EventKind::Hop,
                        Event::Exchange => EventKind::Exchange,
                    },
                    lattice_constant_a,
                    slab: SlabSpec {
                        size: slab,
                        layers_below,
                        fixed_layers,
                    },
                    neb: NebSpec::default(),
                    base_dir: None,
                };
                rates_barrier(&req)
            }
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

fn rates_barrier(req: &BarrierRequest) -> Result<()> {
    let started = Instant::now();
    let r = adatom_barrier(req)?;
    let (sx, sy) = r.slab.size.unwrap_or_default();
    let event = match req.event {
        EventKind::Hop => "hop",
        EventKind::Exchange => "exchange",
    };
    outln!(
        "{} adatom {event} on {} {:?}: {}, a = {} Å, slab {sx} x {sy}, {} layers below ({} fixed)",
        req.adatom,
        req.substrate,
        req.surface,
        r.potential,
        r.lattice_constant_a,
        r.slab.layers_below,
        r.slab.fixed_layers
    );
    let e = &r.entry;
    outln!("status: {:?}", e.status);
    if e.status.is_event() {
        outln!("forward barrier: {:.6} eV", e.forward_ev);
        outln!("reverse barrier: {:.6} eV", e.reverse_ev);
    } else {
        outln!(
            "no event: the {:?} end state relaxes away",
            if e.status == kmc::rates::eam_neb::Status::UnstableInitial {
                "initial"
            } else {
                "final"
            }
        );
    }
    outln!(
        "end states: {:.6} eV, {:.6} eV; {} band iterations; {:.1} s",
        r.end_energies_ev[0],
        r.end_energies_ev[1],
        e.neb_steps,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
