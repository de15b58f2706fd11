use super::*;
use crate::relax::Mapping;

const SCENARIO: &str = r#"(
    name: "api", seed: 7, temperature_k: 400.0, species: ["Cu", "Ag"],
    lattice: (kind: Fcc100, lattice_constant_a: 3.615, size: (6, 6),
              substrate_layers: 3, frozen_layers: 1),
    rate_model: BondCounting((
        species: { "Cu": (prefactor_hz: 1e13, barrier_ev: 0.48),
                   "Ag": (prefactor_hz: 1e13, barrier_ev: 0.40) },
        bonds_ev: [("Cu", "Cu", 0.25), ("Cu", "Ag", 0.22), ("Ag", "Ag", 0.20)])),
    deposition: [(species: "Cu", flux_ml_per_s: 1.0), (species: "Ag", flux_ml_per_s: 0.5)],
    stop: (coverage_ml: 1.0),
)"#;

fn sim() -> Simulation {
    let mut s = Simulation::from_ron(SCENARIO).unwrap();
    s.run_events(300).unwrap();
    s
}

#[test]
fn atoms_round_trip_through_positions_keeps_the_occupancy() {
    let mut s = sim();
    let map = s.state().species_map();
    let atoms = s.atoms();
    assert_eq!(atoms.len() as u64, s.state().n_atoms());
    // Thermal-like noise of 0.1 Å (well under the 0.64 Å off-lattice threshold) maps back.
    let mut rng = crate::rng::stream(3, crate::rng::Stream::Engine);
    let mut noisy = atoms.clone();
    for p in &mut noisy.positions_a {
        for c in p.iter_mut() {
            *c += 0.2 * (crate::rng::uniform(&mut rng) - 0.5);
        }
    }
    // Reversed order: the mapping must not depend on the order atoms come in.
    noisy.species.reverse();
    noisy.positions_a.reverse();
    let m = s.set_atoms(&noisy, &SetAtomsOptions::default()).unwrap();
    assert!(m.off_lattice.is_empty() && m.max_residual_a < 0.2);
    assert_eq!(s.state().species_map()[..map.len()], map[..]);
    // The engine's rates match a recomputation after the hand-over.
    let mut e = s.engine.clone();
    assert_eq!(e.verify(), (0.0, true));
}

#[test]
fn off_lattice_atoms_are_refused_with_their_index_or_accepted_on_request() {
    let mut s = sim();
    let before = s.state().species_map();
    let mut atoms = s.atoms();
    let nn = s.state().lattice().nn_distance();
    atoms.positions_a[5][0] += 0.45 * nn; // a bridge position: no site within nn / 4
    let err = s
        .set_atoms(&atoms, &SetAtomsOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("atom 5 ") && err.contains("off the lattice"),
        "{err}"
    );
    assert_eq!(
        s.state().species_map(),
        before,
        "state changed by a refused hand-over"
    );
    let opts = SetAtomsOptions {
        off_lattice: OffLatticePolicy::Accept,
        ..Default::default()
    };
    let m = s.set_atoms(&atoms, &opts).unwrap();
    assert_eq!(m.off_lattice.len(), 1);
    assert!((m.off_lattice[0].distance_a - 0.45 * nn).abs() < 1e-9);
}

#[test]
fn atoms_without_the_frozen_substrate_are_refused() {
    let mut s = sim();
    let before = s.state().species_map();
    let frozen_top = s.state().lattice().layer_spacing() * s.state().frozen_layers() as f64;
    let all = s.atoms();
    let mut film = Atoms::default();
    for (&sp, &p) in all.species.iter().zip(&all.positions_a) {
        if p[2] >= frozen_top - 1e-9 {
            film.species.push(sp);
            film.positions_a.push(p);
        }
    }
    assert!(film.len() < all.len());
    let ls = s.state().lattice().layer_size();
    let err = s
        .set_atoms(&film, &SetAtomsOptions::default())
        .unwrap_err()
        .to_string();
    let want = format!(
        "would empty {ls} of the {ls} occupied sites of the frozen substrate (layers 0..1)"
    );
    assert!(err.contains(&want), "{err}");
    assert_eq!(
        s.state().species_map(),
        before,
        "state changed by a refusal"
    );
    // One frozen atom missing is refused too, naming its site.
    let mut holed = all.clone();
    holed.species.remove(0);
    holed.positions_a.remove(0);
    let err = s
        .set_atoms(&holed, &SetAtomsOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("would empty 1 of the {ls} ")) && err.contains("site 0 at"),
        "{err}"
    );
    // The whole configuration still goes through.
    s.set_atoms(&all, &SetAtomsOptions::default()).unwrap();
    assert_eq!(s.state().species_map(), before);
}

#[test]
fn off_lattice_message_names_the_option_in_every_language() {
    let mut s = sim();
    let mut atoms = s.atoms();
    let nn = s.state().lattice().nn_distance();
    atoms.positions_a[40][1] += 0.45 * nn;
    let err = s
        .set_atoms(&atoms, &SetAtomsOptions::default())
        .unwrap_err()
        .to_string();
    for word in [
        "accept_off_lattice=True in Python",
        "nonzero accept_off_lattice in C",
    ] {
        assert!(err.contains(word), "{word:?} missing from: {err}");
    }
}

#[test]
fn bad_atoms_are_errors() {
    let mut s = sim();
    let o = SetAtomsOptions::default();
    let e = |r: Result<Mapping>| r.unwrap_err().to_string();
    let a = Atoms::new(vec![3], vec![[0.0; 3]]);
    assert!(e(s.set_atoms(&a, &o)).contains("valid ids are 1..=2 (Cu, Ag)"));
    let a = Atoms::new(vec![1, 1], vec![[0.0; 3]]);
    assert!(e(s.set_atoms(&a, &o)).contains("2 species but 1 positions"));
    let a = Atoms::new(vec![1], vec![[f64::NAN, 0.0, 0.0]]);
    assert!(e(s.set_atoms(&a, &o)).contains("non-finite"));
}

#[test]
fn set_state_checks_the_lattice() {
    let mut s = sim();
    let mut st = s.state().clone();
    let site = st.lattice().site(0, 0, 5);
    if !st.cell(site.idx).occupied() {
        st.place(&site, 2);
    }
    s.set_state(st.clone()).unwrap();
    assert_eq!(s.state().species(site.idx), st.species(site.idx));
    let other = State::new(
        crate::lattice::Lattice::new(crate::lattice::LatticeKind::Fcc100, 3.615, [5, 6], 8)
            .unwrap(),
    );
    assert!(s.set_state(other).unwrap_err().to_string().contains("grid"));
}

#[test]
fn checkpoints_resume_bit_identically_and_refuse_damage() {
    let mut a = sim();
    let bytes = a.checkpoint().unwrap();
    let dir = std::env::temp_dir().join(format!("kmc-api-ck-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("c.kmc");
    a.save_checkpoint(&file).unwrap();
    a.run_events(500).unwrap();
    let end = (a.observables(), a.state().species_map(), a.time());

    for from_file in [false, true] {
        let mut b = Simulation::from_ron(SCENARIO).unwrap();
        if from_file {
            b.load_checkpoint(&file).unwrap();
        } else {
            b.restore_checkpoint(&bytes).unwrap();
        }
        b.run_events(500).unwrap();
        assert_eq!((b.observables(), b.state().species_map(), b.time()), end);
    }
    let mut b = Simulation::from_ron(SCENARIO).unwrap();
    let mut bad = bytes.clone();
    *bad.last_mut().unwrap() ^= 1;
    let msg = b.restore_checkpoint(&bad).unwrap_err().to_string();
    assert!(
        msg.starts_with("checkpoint <buffer>") && msg.contains("checksum"),
        "{msg}"
    );
    let other = SCENARIO.replace("seed: 7", "seed: 8");
    let mut c = Simulation::from_ron(&other).unwrap();
    assert!(
        c.restore_checkpoint(&bytes)
            .unwrap_err()
            .to_string()
            .contains("different scenario")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn observers_run_on_schedule_without_changing_the_trajectory() {
    use std::sync::{Arc, Mutex};
    let mut plain = Simulation::from_ron(SCENARIO).unwrap();
    plain.run_until(0.005).unwrap();
    let mut s = Simulation::from_ron(SCENARIO).unwrap();
    let times = Arc::new(Mutex::new(Vec::new()));
    let events = Arc::new(Mutex::new(Vec::new()));
    let (t, e) = (times.clone(), events.clone());
    let id = s
        .add_observer(Every::Seconds(0.001), move |x: &Simulation| {
            t.lock().unwrap().push(x.time())
        })
        .unwrap();
    s.add_observer(Every::Events(7), move |x: &Simulation| {
        e.lock().unwrap().push(x.counters().events())
    })
    .unwrap();
    assert!(s.run_until(0.005).unwrap());
    assert_eq!(s.observables(), plain.observables());
    assert_eq!(s.state().species_map(), plain.state().species_map());
    let t = times.lock().unwrap().clone();
    assert_eq!(t.len(), 5, "{t:?}");
    for (k, x) in t.iter().enumerate() {
        assert!((x - 0.001 * (k + 1) as f64).abs() < 1e-12, "{t:?}");
    }
    let ev = events.lock().unwrap().clone();
    assert_eq!(ev.len() as u64, s.counters().events() / 7);
    assert!(ev.iter().all(|n| n % 7 == 0));
    assert!(s.remove_observer(id) && !s.remove_observer(id));
    // A clone starts without observers.
    let mut c = s.clone();
    c.run_events(70).unwrap();
    assert_eq!(events.lock().unwrap().len(), ev.len());
    assert!(
        s.add_observer(Every::Events(0), |_: &Simulation| {})
            .is_err()
    );
    assert!(
        s.add_observer(Every::Seconds(-1.0), |_: &Simulation| {})
            .is_err()
    );
}

/// Issue 16: crafted checkpoints with a valid checksum panicked in the rate model (a species
/// byte beyond the scenario's species) and in the engine (a free slot with a rate); they must
/// be refused with a message.
#[test]
fn crafted_snapshots_are_refused_not_panicked_on() {
    let mut s = sim();
    let good = s.snapshot();
    let mut bad = good.clone();
    let site = bad.species.iter().position(|&x| x == 1).unwrap();
    bad.species[site] = 9;
    let e = s.restore(&bad).unwrap_err().to_string();
    assert!(e.contains("holds species 9, the scenario has 2"), "{e}");
    let mut bad = good.clone();
    let slot = bad.site_of_slot.len() - 1;
    bad.site_of_slot[slot] = u32::MAX;
    let e = s.restore(&bad).unwrap_err().to_string();
    assert!(e.contains("free slot"), "{e}");
    let mut bad = good.clone();
    bad.free_slots.push(0);
    let e = s.restore(&bad).unwrap_err().to_string();
    assert!(e.contains("free slot 0 is not a free slot"), "{e}");
    let mut bad = good.clone();
    bad.site_of_slot[0] = 1 << 30;
    assert!(s.restore(&bad).is_err());
    // A sum tree whose shape or sums were edited.
    let mut v = ron::to_string(&good.sampler).unwrap();
    v = v.replacen("cap:", "cap:1", 1);
    let bad_tree: crate::sampler::AnySampler = ron::from_str(&v).unwrap();
    let mut bad = good.clone();
    bad.sampler = bad_tree;
    let e = s.restore(&bad).unwrap_err().to_string();
    assert!(e.contains("sum tree"), "{e}");
    // The whole checkpoint path too (species byte out of range).
    // A refused snapshot left the simulation as it was.
    let now = s.snapshot();
    assert_eq!(
        (now.species, now.site_of_slot, now.time),
        (good.species.clone(), good.site_of_slot.clone(), good.time)
    );
    let mut ck = s.checkpoint().unwrap();
    let before = s.observables();
    assert!(s.restore_checkpoint(&ck).is_ok());
    ck.truncate(ck.len() - 3);
    assert!(s.restore_checkpoint(&ck).is_err());
    assert_eq!(s.observables(), before);
}

/// A snapshot's sampler with its RON text edited: `edits` are (pattern, replacement) pairs,
/// each applied once and required to match.
fn edited(
    sampler: &crate::sampler::AnySampler,
    edits: &[(&str, &str)],
) -> crate::sampler::AnySampler {
    let mut v = ron::to_string(sampler).unwrap();
    for (from, to) in edits {
        assert!(v.contains(from), "{from} not in the sampler's RON");
        v = v.replacen(from, to, 1);
    }
    ron::from_str(&v).unwrap()
}

/// Issue 16: crafted Fenwick and linear samplers (the checkpoint's checksum valid, the content
/// wrong) are refused with a message naming what is wrong, not panicked on later (they were
/// not checked; only the sum tree was); the untouched snapshot still restores. The
/// composition-rejection sampler holds u128 sums that RON cannot carry: its crafted cases are
/// in `sampler::composition`'s tests, and `restore` calls the same `check_shape`.
#[test]
fn crafted_fenwick_and_linear_samplers_are_refused() {
    // (sampler kind, [(RON edits, expected message)]).
    type Crafted<'a> = &'a [(&'a [(&'a str, &'a str)], &'a str)];
    let cases: [(&str, Crafted); 2] = [
        (
            "Fenwick",
            &[
                (&[("cap:", "cap:1")], "Fenwick tree of"),
                (&[("nonzero:", "nonzero:9")], "nonzero leaves"),
                (
                    &[(
                        "nodes:[(sum:0.0,carry:0.0),(sum:",
                        "nodes:[(sum:0.0,carry:0.0),(sum:7",
                    )],
                    "Fenwick tree node 1 holds",
                ),
                (&[("drift:", "drift:-")], "bookkeeping"),
            ],
        ),
        (
            "Linear",
            &[(&[("rates:[", "rates:[-")], "linear sampler leaf 0 holds -")],
        ),
    ];
    for (kind, crafted) in cases {
        let text = SCENARIO.replace(
            "stop: (coverage_ml: 1.0),",
            &format!("stop: (coverage_ml: 1.0), sampler: {kind},"),
        );
        let mut s = Simulation::from_ron(&text).unwrap();
        s.run_events(300).unwrap();
        let good = s.snapshot();
        assert_eq!(format!("{:?}", good.sampler.kind()), kind);
        for (edits, want) in crafted {
            let mut bad = good.clone();
            bad.sampler = edited(&good.sampler, edits);
            let e = s.restore(&bad).unwrap_err().to_string();
            assert!(e.contains(want), "{kind} {edits:?}: {e}");
            assert!(e.contains("snapshot does not fit this scenario"), "{e}");
        }
        s.restore(&good).unwrap();
        let mut e = s.engine.clone();
        assert_eq!(e.verify(), (0.0, true), "{kind}");
    }
}

/// Issue 16: with a tiny total rate the clock stopped at every point of a fine time schedule
/// up to the next event (9e8 s / 0.01 s rows): the schedule now skips to the event.
#[test]
fn a_clock_jump_records_a_bounded_number_of_rows() {
    let text = r#"(
        name: "jump", seed: 1, temperature_k: 300.0, species: ["Cu"],
        lattice: (kind: Fcc100, lattice_constant_a: 3.615, size: (6, 6), substrate_layers: 3),
        rate_model: BondCounting((
            species: { "Cu": (prefactor_hz: 1e13, barrier_ev: 1.5) },
            bonds_ev: [("Cu", "Cu", 0.25)])),
        initial: [Atoms(species: "Cu", sites: [(1, 1, 3)])],
        stop: (events: 3),
        output: (series_every_s: 0.01, snapshot_every_s: 1e-9),
    )"#;
    let mut s = Simulation::from_ron(text).unwrap();
    let summary = s.run().unwrap();
    assert_eq!(summary.stop_reason, StopReason::Events);
    assert!(s.time() > 1e6, "the clock jumped: t = {}", s.time());
    assert!(s.series_rows().len() < 50, "{} rows", s.series_rows().len());
    assert!(summary.notes.iter().any(|n| n.contains("series.csv rows")));
    assert!(summary.notes.iter().any(|n| n.contains("snapshots")));
}

/// Issue 16: nothing to deposit and nothing mobile: the coverage stop cannot be reached; the
/// library says so and the run stops at once as Idle.
#[test]
fn an_unreachable_stop_warns_and_an_idle_run_stops() {
    let text = r#"(
        name: "idle", seed: 1, temperature_k: 300.0, species: ["Cu"],
        lattice: (kind: Fcc100, lattice_constant_a: 3.615, size: (6, 6), substrate_layers: 3,
                  frozen_layers: 3),
        rate_model: BondCounting((
            species: { "Cu": (prefactor_hz: 1e13, barrier_ev: 0.5) },
            bonds_ev: [("Cu", "Cu", 0.25)])),
        deposition: [(species: "Cu", flux_ml_per_s: 0.0)],
        stop: (coverage_ml: 0.5),
    )"#;
    let mut s = Simulation::from_ron(text).unwrap();
    let w = s.warnings();
    assert!(
        w.iter()
            .any(|m| m.contains("field `stop.coverage_ml`: 0.5 ML cannot be reached")),
        "{w:?}"
    );
    assert!(w.iter().any(|m| m.contains("the total rate is 0")), "{w:?}");
    assert_eq!(s.run().unwrap().stop_reason, StopReason::Idle);
}
