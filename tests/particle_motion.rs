//! Whole-particle motion (issue 14, item 1): a particle grain that touches nothing but the
//! substrate glides and turns as one body with the diffusion coefficients of its size law, a
//! particle that meets another body stops and raises a contact, every cached rate stays exact,
//! and a snapshot resumes the same walk.
//!
//! The statistics are exact for the lattice walk: a walk with rate k per direction over z
//! directions of length a has ⟨|Δr|²⟩ = z k a² Δt = 4 D Δt, and ±δ turns at rate k each way
//! have ⟨Δθ²⟩ = 2 k δ² Δt = 2 D_r Δt, whatever the substrate under the particle. Each test
//! compares the mean over independent windows (several seeds) with that value within 4
//! standard errors (two-sided confidence 0.99994) and shows that a coefficient off by a
//! third (turns: by half) would fail.

use kmc::engine::Step;
use kmc::sim::Simulation;
use kmc::vec3::{Vec3, norm, sub};

mod common;
use common::{mean, std_error};

const D0: f64 = 1e4;
const ALPHA: f64 = 0.5;
const DR0: f64 = 10.0;
const STEP_DEG: f64 = 2.0;

/// One 0.9 nm Au particle (19 atoms), turned 20° about the normal, resting on Au(100); atoms
/// do not hop (a 3 eV barrier at 300 K), so only the body moves.
fn scenario(seed: u64, translation: bool, rotation: bool, extra: &str) -> String {
    let d0 = if translation { D0 } else { 0.0 };
    let rot = if rotation {
        format!(
            "Some((d0_rad2_per_s: {DR0}, size_exponent: 1.0, barrier_ev: 0.0, step_deg: {STEP_DEG}))"
        )
    } else {
        "None".into()
    };
    format!(
        r#"(
    name: "glide",
    seed: {seed},
    temperature_k: 300.0,
    species: ["Au"],
    lattice: (kind: Fcc100, lattice_constant_a: 4.08, size: (12, 12), substrate_layers: 2, frozen_layers: 1),
    rate_model: BondCounting((
        species: {{ "Au": (prefactor_hz: 1e13, barrier_ev: 3.0) }},
        bonds_ev: [("Au", "Au", 0.339)],
        count: Broken,
    )),
    initial: [
        Particle(diameter_nm: 0.9, composition: Pure("Au"), at_nm: (2.0, 2.0),
                 orientation: Some(AxisAngle(axis: (0, 0, 1), angle_deg: 20))),
        {extra}
    ],
    relax: None,
    particle_motion: Some((
        translation: (d0_a2_per_s: {d0}, size_exponent: {ALPHA}, barrier_ev: 0.0),
        rotation: {rot},
    )),
    stop: (events: 1000000),
)"#
    )
}

/// Per event: the time, the unwrapped centre of grain 1 and its accumulated turn (degrees).
fn walk(sim: &mut Simulation, events: usize) -> Vec<(f64, Vec3, f64)> {
    let e = sim.engine_mut();
    let [lx, ly] = e.state().lattice().box_lengths();
    let centre = |e: &kmc::engine::Engine<_, _>| e.grains().centre(1);
    let mut prev = centre(e);
    let mut q_prev = e.grains().grain(1).frame.rotation;
    let (mut r, mut theta) = (prev, 0.0);
    let mut out = vec![(e.time(), r, theta)];
    for _ in 0..events {
        assert_eq!(e.step_until(f64::INFINITY), Step::Executed);
        let c = centre(e);
        let mut d = sub(c, prev);
        d[0] -= lx * (d[0] / lx).round();
        d[1] -= ly * (d[1] / ly).round();
        r = [r[0] + d[0], r[1] + d[1], c[2]];
        prev = c;
        let q = e.grains().grain(1).frame.rotation;
        let rel = kmc::rotation::compose(q, kmc::rotation::inverse(q_prev));
        // A turn about z: sin(θ/2) is the z part.
        theta += 2.0 * rel[3].atan2(rel[0]).to_degrees();
        q_prev = q;
        out.push((e.time(), r, theta));
    }
    out
}

/// Values of `f(start, end)` over consecutive windows of `dt` seconds.
fn windows(
    w: &[(f64, Vec3, f64)],
    dt: f64,
    f: impl Fn(&(f64, Vec3, f64), &(f64, Vec3, f64)) -> f64,
) -> Vec<f64> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut t0 = w[0].0;
    for j in 1..w.len() {
        // The state during [w[j-1].0, w[j].0) is w[j-1].
        while w[j].0 >= t0 + dt {
            out.push(f(&w[i], &w[j - 1]));
            t0 += dt;
            i = j - 1;
        }
    }
    out
}

fn n_atoms(sim: &Simulation) -> f64 {
    sim.engine().grains().grain(1).state.n_atoms() as f64
}

#[test]
fn a_free_particle_glides_with_the_diffusion_coefficient_of_its_size_law() {
    let mut ratios = Vec::new();
    let mut wrong = Vec::new();
    for seed in 1..=4 {
        let mut sim = Simulation::from_ron(&scenario(seed, true, false, "")).unwrap();
        let n = n_atoms(&sim);
        let d = D0 * n.powf(-ALPHA);
        let nn = sim.state().lattice().nn_distance();
        let z0 = sim.engine().grains().centre(1)[2];
        let w = walk(&mut sim, 2000);
        let dt = 25.0 * nn * nn / (4.0 * d);
        let sq = windows(&w, dt, |a, b| {
            let dr = sub(b.1, a.1);
            dr[0] * dr[0] + dr[1] * dr[1]
        });
        ratios.extend(sq.iter().map(|x| x / (4.0 * d * dt)));
        wrong.extend(sq.iter().map(|x| x / (4.0 * 1.33 * d * dt)));
        let k = sim.counters();
        assert_eq!(
            k.particle_moves_blocked, 0,
            "a flat substrate blocks nothing"
        );
        assert_eq!(k.particle_turns, 0);
        assert_eq!(k.hops, 0);
        sim.engine().grains().check_ghosts().unwrap();
        // It rides over the corrugation, neither sinking in nor lifting off.
        for (_, r, _) in &w {
            assert!((r[2] - z0).abs() < 0.5 * nn, "height {} from {z0}", r[2]);
        }
        let (worst, ok) = sim.engine_mut().verify();
        assert!(
            ok && worst == 0.0,
            "cached rates: worst {worst}, bookkeeping {ok}"
        );
    }
    let (m, se) = (mean(&ratios), std_error(&ratios));
    assert!(ratios.len() >= 200, "{} windows", ratios.len());
    assert!(se < 0.1, "standard error {se}: too few windows to tell");
    assert!((m - 1.0).abs() < 4.0 * se, "⟨Δr²⟩ / 4DΔt = {m} ± {se}");
    let (mw, sew) = (mean(&wrong), std_error(&wrong));
    assert!(
        (mw - 1.0).abs() > 4.0 * sew,
        "a D off by a third passes: {mw} ± {sew}"
    );
}

#[test]
fn a_free_particle_turns_with_its_rotational_diffusion_coefficient() {
    let mut ratios = Vec::new();
    let mut wrong = Vec::new();
    for seed in 11..=14 {
        let mut sim = Simulation::from_ron(&scenario(seed, false, true, "")).unwrap();
        let dr = DR0 / n_atoms(&sim);
        let w = walk(&mut sim, 300);
        let delta = STEP_DEG.to_radians();
        let dt = 3.0 * delta * delta / (2.0 * dr);
        let sq = windows(&w, dt, |a, b| (b.2 - a.2).to_radians().powi(2));
        ratios.extend(sq.iter().map(|x| x / (2.0 * dr * dt)));
        wrong.extend(sq.iter().map(|x| x / (2.0 * 1.5 * dr * dt)));
        // Steps are whole turns of ±δ about the normal: the accumulated angle is a multiple.
        let last = w.last().unwrap().2;
        assert!(
            ((last / STEP_DEG).round() * STEP_DEG - last).abs() < 1e-6,
            "{last}"
        );
        let k = sim.counters();
        assert_eq!((k.particle_steps, k.particle_moves_blocked), (0, 0));
        let (worst, ok) = sim.engine_mut().verify();
        assert!(
            ok && worst == 0.0,
            "cached rates: worst {worst}, bookkeeping {ok}"
        );
    }
    let (m, se) = (mean(&ratios), std_error(&ratios));
    assert!(
        se < 0.08,
        "standard error {se} over {} windows",
        ratios.len()
    );
    assert!((m - 1.0).abs() < 4.0 * se, "⟨Δθ²⟩ / 2D_rΔt = {m} ± {se}");
    let (mw, sew) = (mean(&wrong), std_error(&wrong));
    assert!(
        (mw - 1.0).abs() > 4.0 * sew,
        "a D_r off by half passes: {mw} ± {sew}"
    );
}

/// Atoms of different grains, closest pair.
fn closest_pair(sim: &Simulation) -> f64 {
    let atoms = sim.engine().grains().atoms_with_sites();
    let [lx, ly] = sim.state().lattice().box_lengths();
    let mut best = f64::INFINITY;
    for (i, a) in atoms.iter().enumerate() {
        for b in &atoms[i + 1..] {
            if a.0 == b.0 {
                continue;
            }
            let mut d = sub(a.2, b.2);
            d[0] -= lx * (d[0] / lx).round();
            d[1] -= ly * (d[1] / ly).round();
            best = best.min(norm(d));
        }
    }
    best
}

#[test]
fn a_particle_that_meets_another_stops_and_raises_a_contact() {
    // A second particle 1.8 nm away: the two meet within a few hundred steps.
    let other = r#"Particle(diameter_nm: 0.9, composition: Pure("Au"), at_nm: (3.8, 2.0),
                 orientation: Some(AxisAngle(axis: (0, 0, 1), angle_deg: 35))),"#;
    let mut met = 0;
    for seed in 21..=23 {
        let mut sim = Simulation::from_ron(&scenario(seed, true, true, other)).unwrap();
        let nn = sim.state().lattice().nn_distance();
        let mut steps = 0;
        while sim.engine().total_rate() > 1.0 && steps < 4000 {
            sim.engine_mut().step_until(f64::INFINITY);
            steps += 1;
            if steps % 50 == 0 {
                assert!(
                    closest_pair(&sim) > 0.5 * nn,
                    "grains overlap after {steps} events"
                );
                // The ghosts moved by the shortcut for steps are those of the rule.
                if let Err(e) = sim.engine().grains().check_ghosts() {
                    panic!("after {steps} events: {e}");
                }
            }
        }
        let (worst, ok) = sim.engine_mut().verify();
        assert!(
            ok && worst == 0.0,
            "cached rates: worst {worst}, bookkeeping {ok}"
        );
        if sim.engine().total_rate() <= 1.0 {
            met += 1;
            // Both stopped: bonded to each other, and the pair's contact was raised.
            let t = sim.engine().contacts().expect("tracked");
            assert!(
                t.had_grain_contact(1, 2),
                "no contact between the particles"
            );
            let d = closest_pair(&sim);
            assert!(
                d > 0.5 * nn && d < 1.5 * nn,
                "closest pair {d} Å at the stop"
            );
        }
    }
    assert!(met >= 2, "only {met} of 3 pairs met within 4000 events");
}

#[test]
fn a_snapshot_resumes_the_same_walk() {
    let text = scenario(31, true, true, "");
    let mut a = Simulation::from_ron(&text).unwrap();
    for _ in 0..150 {
        a.engine_mut().step_until(f64::INFINITY);
    }
    let snap = a.snapshot();
    let mut b = Simulation::from_ron(&text).unwrap();
    b.engine_mut().restore(&snap).unwrap();
    for _ in 0..150 {
        a.engine_mut().step_until(f64::INFINITY);
        b.engine_mut().step_until(f64::INFINITY);
    }
    let (fa, fb) = (
        a.engine().grains().grain(1).frame,
        b.engine().grains().grain(1).frame,
    );
    assert_eq!(fa, fb);
    assert_eq!(a.counters(), b.counters());
    assert_eq!(a.time(), b.time());
    assert!(a.counters().particle_steps > 50 && a.counters().particle_turns > 0);
}

fn refusal(text: &str) -> String {
    match Simulation::from_ron(text) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn particle_motion_without_grains_is_refused_with_the_field() {
    let text = scenario(1, true, false, "").replace(
        "orientation: Some(AxisAngle(axis: (0, 0, 1), angle_deg: 20))",
        "orientation: None",
    );
    let e = refusal(&text);
    assert!(
        e.contains("particle_motion") && e.contains("orientation"),
        "{e}"
    );
    let text = scenario(1, true, false, "").replace("d0_a2_per_s: 10000", "d0_a2_per_s: -1");
    let e = refusal(&text);
    assert!(e.contains("particle_motion.translation.d0_a2_per_s"), "{e}");
}

/// Particles raining onto the film glide among each other, ride over each other's edges and
/// stop where they meet: the ghosts that the steps move by their shortcut (the film seen one
/// step behind) stay those of the rule, and every cached rate exact.
#[test]
fn gliding_among_many_particles_keeps_the_ghosts_of_the_rule() {
    let text = r#"(
    name: "rain",
    seed: 5,
    temperature_k: 300.0,
    species: ["Au"],
    lattice: (kind: Fcc100, lattice_constant_a: 4.08, size: (16, 16), substrate_layers: 2, frozen_layers: 1),
    rate_model: BondCounting((
        species: { "Au": (prefactor_hz: 1e13, barrier_ev: 3.0) },
        bonds_ev: [("Au", "Au", 0.339)],
        count: Broken,
    )),
    particles: [(flux_per_nm2_s: 20.0, size: Fixed(diameter_nm: 0.9), composition: Pure("Au"),
                 orientation: Some(Random))],
    relax: None,
    particle_motion: Some((
        translation: (d0_a2_per_s: 1e4, barrier_ev: 0.0),
        rotation: Some((d0_rad2_per_s: 1.0, barrier_ev: 0.0)),
    )),
    stop: (events: 1000000),
)"#;
    let mut sim = Simulation::from_ron(text).unwrap();
    for i in 1..=300 {
        sim.engine_mut().step_until(f64::INFINITY);
        if i % 100 == 0 {
            if let Err(e) = sim.engine().grains().check_ghosts() {
                panic!("after {i} events: {e}");
            }
        }
    }
    let k = sim.counters();
    assert!(k.particles_deposited >= 8, "{k:?}");
    assert!(k.particle_steps > 150 && k.particle_turns > 0, "{k:?}");
    let (worst, ok) = sim.engine_mut().verify();
    assert!(
        ok && worst == 0.0,
        "cached rates: worst {worst}, bookkeeping {ok}"
    );
}
