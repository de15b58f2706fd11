//! A growth run driven from code: the scenario is built as a value, an observer records the
//! film every 0.05 s of simulated time, and the run is checkpointed half way.
//!
//! ```text
//! cargo run --release --example growth [coverage_ml]
//! ```

use kmc::deposit::AtomDepositionSpec;
use kmc::io::ron::parse_ron;
use kmc::observe::Observables;
use kmc::rates::{BondCount, BondCountingSpec, HopParams, RateModelSpec};
use kmc::scenario::{Scenario, Stop};
use kmc::sim::{Every, Simulation};
use std::sync::mpsc;

fn main() -> Result<(), kmc::Error> {
    let coverage_ml: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1.0);
    // The fields every scenario needs, as text; everything else is set on the value below
    // (fields added to `Scenario` later take their defaults).
    let mut scenario: Scenario = parse_ron(
        r#"(name: "growth-from-code", seed: 2026, temperature_k: 300.0, species: ["Cu"],
            lattice: (kind: Fcc100, lattice_constant_a: 3.615, size: (8, 8)),
            rate_model: BondCounting((species: {}, bonds_ev: [])),
            stop: ())"#,
        None,
    )?;
    // Cu on Cu(100) at 300 K with the quickstart's bond-counting barriers.
    scenario.lattice.size = (32, 32);
    scenario.lattice.substrate_layers = 4;
    scenario.lattice.frozen_layers = 2;
    scenario.rate_model = RateModelSpec::BondCounting(BondCountingSpec {
        species: [(
            "Cu".to_string(),
            HopParams {
                prefactor_hz: 1e13,
                barrier_ev: 0.48,
            },
        )]
        .into(),
        bonds_ev: vec![("Cu".into(), "Cu".into(), 0.25)],
        count: BondCount::InLayer,
        ehrlich_schwoebel_ev: 0.08,
        exchange_barrier_ev: None,
        grain_transfers: false,
    });
    scenario.deposition.push(AtomDepositionSpec {
        species: "Cu".into(),
        flux_ml_per_s: 1.0,
        polar_deg: 0.0,
        azimuth_deg: 0.0,
        landing: Default::default(),
        funnelling: true,
    });
    scenario.stop = Stop {
        coverage_ml: Some(coverage_ml),
        ..Default::default()
    };
    let mut sim = Simulation::from_scenario(scenario)?;

    let (tx, rx) = mpsc::channel::<Observables>();
    sim.add_observer(Every::Seconds(0.05), move |s: &Simulation| {
        // The receiver lives until the end of main.
        let _ = tx.send(s.observables());
    })?;

    // Flux 1 ML/s: the coverage target is reached at t = coverage_ml seconds.
    let half = coverage_ml / 2.0;
    sim.run_until(half)?;
    let checkpoint = sim.checkpoint()?;
    sim.run_until(coverage_ml)?;

    println!("time_s,coverage_ml,mean_height_ml,roughness_ml,islands");
    for o in rx.try_iter() {
        println!(
            "{:.3},{:.4},{:.4},{:.4},{}",
            o.time_s, o.coverage_ml, o.mean_height_ml, o.roughness_ml, o.islands
        );
    }
    let end = sim.observables();
    // Resuming from the half-way checkpoint reproduces the end state exactly.
    let mut again = sim.clone();
    again.restore_checkpoint(&checkpoint)?;
    again.run_until(coverage_ml)?;
    assert_eq!(again.observables(), end);
    eprintln!(
        "{} events, {} atoms in all, {} islands; resumed run identical",
        sim.counters().events(),
        sim.atoms().len(),
        end.islands
    );
    Ok(())
}
