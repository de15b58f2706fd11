//! The library API as a user outside the crate sees it: a rate model defined here replaces the
//! scenario's, and its physics comes out of the engine.

use kmc::catalog::Event;
use kmc::lattice::SiteRef;
use kmc::rates::RateModel;
use kmc::sim::Simulation;
use kmc::state::State;

/// A lattice gas with one hop rate to every empty nearest neighbour, no interactions.
#[derive(Clone)]
struct ConstantHop {
    rate_hz: f64,
}

impl RateModel for ConstantHop {
    fn name(&self) -> &'static str {
        "constant-hop"
    }
    fn interaction_range(&self) -> usize {
        1
    }
    fn site_events(&mut self, state: &State, site: &SiteRef, out: &mut Vec<(Event, f64)>) {
        for (k, n) in state.lattice().neighbors(site) {
            if !state.cell(n.idx).occupied() {
                let ev = Event::Hop {
                    from: site.idx,
                    to: n.idx,
                    dir: k as u8,
                };
                out.push((ev, self.rate_hz));
            }
        }
    }
}

const WALK: &str = r#"(
    name: "walk", seed: 11, temperature_k: 300.0, species: ["A"],
    lattice: (kind: Square, lattice_constant_a: 2.5, size: (64, 64)),
    rate_model: BondCounting((species: { "A": (prefactor_hz: 1e13, barrier_ev: 0.5) },
                              bonds_ev: [("A", "A", 0.0)])),
    initial: [Atoms(species: "A", sites: [(32, 32, 0)])],
    stop: (events: 1),
)"#;

#[test]
fn an_external_rate_model_drives_a_random_walk() {
    let r = 1.0e3;
    let mut sim = Simulation::from_ron(WALK).unwrap();
    sim.set_rate_model(ConstantHop { rate_hz: r }).unwrap();
    assert_eq!(sim.engine().model().name(), "constant-hop");
    // One free atom on a square lattice: four hops of rate r.
    assert_eq!(sim.total_rate(), 4.0 * r);
    // Waiting times are exponential with mean 1 / (4 r): over 40 000 hops the mean has a
    // relative standard error of 1/200, so 2 % is four standard errors.
    let n = 40_000;
    assert_eq!(sim.run_events(n).unwrap(), n);
    let mean_dt = sim.time() / n as f64;
    assert!((mean_dt * 4.0 * r - 1.0).abs() < 0.02, "mean dt {mean_dt}");
    assert_eq!(sim.counters().hops, n);
    // A checkpoint restores into a simulation given the same model, and is refused by one
    // whose rates differ (every restored rate is checked).
    let ck = sim.checkpoint().unwrap();
    let mut same = Simulation::from_ron(WALK).unwrap();
    same.set_rate_model(ConstantHop { rate_hz: r }).unwrap();
    same.restore_checkpoint(&ck).unwrap();
    let mut other = Simulation::from_ron(WALK).unwrap();
    other
        .set_rate_model(ConstantHop { rate_hz: 2.0 * r })
        .unwrap();
    assert!(other.restore_checkpoint(&ck).is_err());
}

#[test]
fn an_unsupported_interaction_range_is_refused() {
    #[derive(Clone)]
    struct Wide;
    impl RateModel for Wide {
        fn name(&self) -> &'static str {
            "wide"
        }
        fn interaction_range(&self) -> usize {
            99
        }
        fn site_events(&mut self, _: &State, _: &SiteRef, _: &mut Vec<(Event, f64)>) {}
    }
    let mut sim = Simulation::from_ron(WALK).unwrap();
    let msg = sim.set_rate_model(Wide).unwrap_err().to_string();
    assert!(msg.contains("interaction range 99"), "{msg}");
}
