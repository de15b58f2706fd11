//! EamNeb in a simulation: trajectories do not depend on the cache's history.

use kmc::rates::AnyRateModel;
use kmc::scenario::LoadedScenario;
use kmc::sim::Simulation;
use std::path::Path;

fn scenario(cache: &Path, seed: u64) -> LoadedScenario {
    // A small slab keeps the saddle searches cheap; the claim tested does not depend on it.
    let text = format!(
        r#"(
    name: "eamneb_determinism",
    seed: {seed},
    temperature_k: 400.0,
    species: ["Cu"],
    lattice: (kind: Fcc100, lattice_constant_a: 3.615, size: (8, 8), substrate_layers: 4,
              frozen_layers: 2, height_layers: 8),
    rate_model: EamNeb((
        potential: Zhou04(["Cu"]),
        cache: "{}",
        min_barrier_ev: 0.35,
        slab: (size: Some((4, 4)), layers_below: 3, fixed_layers: 1),
    )),
    deposition: [(species: "Cu", flux_ml_per_s: 20.0, funnelling: true)],
    stop: (events: 400),
)"#,
        cache.display()
    );
    LoadedScenario::from_text(text, None).unwrap()
}

fn run(cache: &Path, seed: u64) -> (Vec<kmc::state::Cell>, u64, u64, usize) {
    let mut sim = Simulation::new(scenario(cache, seed)).unwrap();
    assert_eq!(sim.run_events(400).unwrap(), 400);
    let AnyRateModel::EamNeb(m) = sim.engine().model() else {
        panic!("EamNeb expected")
    };
    let computed = m.stats().pairs_computed;
    if m.new_entries() > 0 {
        m.save().unwrap();
    }
    (
        sim.state().cells().to_vec(),
        sim.time().to_bits(),
        computed,
        m.len(),
    )
}

#[test]
fn cold_and_warm_runs_are_identical() {
    let dir = std::env::temp_dir().join(format!("kmc_eamneb_it_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cache = dir.join("cache.ron");
    let _ = std::fs::remove_file(&cache);
    // Cold: every barrier computed on the way (prefetch batches and misses), cache written.
    let (cells, t, computed, n) = run(&cache, 3);
    assert!(computed > 0 && n > 0);
    // Warm: the same trajectory, bit for bit, and nothing computed.
    let (cells2, t2, computed2, n2) = run(&cache, 3);
    assert_eq!((t2, computed2, n2), (t, 0, n));
    assert!(cells == cells2, "the warm run took another path");
    // A partly warm cache (another seed's keys) changes nothing either.
    let other = dir.join("other.ron");
    let _ = std::fs::remove_file(&other);
    run(&other, 4);
    let (cells3, t3, _, _) = run(&other, 3);
    assert_eq!(t3, t);
    assert!(cells == cells3);
    // Issue 16: an entry with a negative barrier was accepted without a word.
    let text = std::fs::read_to_string(&cache).unwrap();
    // The first entry with a positive forward barrier (spontaneous ones hold 0.0).
    let key = "forward_ev:Some(";
    let at = text
        .match_indices(key)
        .map(|(k, _)| k + key.len())
        .find(|&k| !text[k..].starts_with("0.0)"))
        .unwrap();
    std::fs::write(&cache, format!("{}-{}", &text[..at], &text[at..])).unwrap();
    let e = Simulation::new(scenario(&cache, 3))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("forward_ev must be a barrier >= 0 eV, got -"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
