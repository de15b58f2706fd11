//! Physics validation: each test compares the engine with an analytic result or a published
//! scaling law, with the tolerance and its reason stated.

use kmc::catalog::Event;
use kmc::deposit::{AtomDeposition, AtomDepositionSpec, Landing};
use kmc::engine::{Engine, Source, Step};
use kmc::lattice::{Lattice, LatticeKind};
use kmc::rates::*;
use kmc::rng::rng_from_seed;
use kmc::sampler::{AnySampler, SamplerKind};
use kmc::state::State;
use kmc::units::{arrhenius, kt_ev};
use std::collections::BTreeMap;

mod common;
use common::{Sigma, slope, student_t_k, within};

fn bond_counting(barrier_ev: f64, bond_ev: f64) -> RateModelSpec {
    RateModelSpec::BondCounting(BondCountingSpec {
        species: BTreeMap::from([(
            "A".into(),
            HopParams {
                prefactor_hz: 1e13,
                barrier_ev,
            },
        )]),
        bonds_ev: vec![("A".into(), "A".into(), bond_ev)],
        count: BondCount::InLayer,
        ehrlich_schwoebel_ev: 0.0,
        exchange_barrier_ev: None,
        grain_transfers: false,
    })
}

fn deposition(flux: f64, layer_size: usize, landing: Landing) -> Source {
    let spec = AtomDepositionSpec {
        species: "A".into(),
        flux_ml_per_s: flux,
        polar_deg: 0.0,
        azimuth_deg: 0.0,
        landing,
        funnelling: false,
    };
    Source::Atoms(AtomDeposition::new(&spec, 1, layer_size, "deposition[0]").unwrap())
}

fn build(
    state: State,
    model: &RateModelSpec,
    t: f64,
    sources: Vec<Source>,
    seed: u64,
) -> Engine<AnyRateModel, AnySampler> {
    let m = model.build(&["A".into()], state.lattice(), t).unwrap();
    Engine::new(
        state,
        m,
        SamplerKind::SumTree.build(0),
        sources,
        rng_from_seed(seed),
    )
}

/// Mean squared lateral displacement of a single adatom over windows of length `window`,
/// from one long walk (windows of a Markov walk on a translation-invariant lattice are
/// independent).
fn msd_of_walk(e: &mut Engine<AnyRateModel, AnySampler>, window: f64, windows: usize) -> f64 {
    let lat = e.state().lattice().clone();
    let [lx, ly] = lat.box_lengths();
    let mut sum = 0.0;
    for w in 0..windows {
        let t_end = (w + 1) as f64 * window;
        let (mut dx, mut dy) = (0.0, 0.0);
        while e.step_until(t_end) == Step::Executed {
            if let Some(Event::Hop { from, to, .. }) = e.last_event() {
                let a = lat.position_of(from);
                let b = lat.position_of(to);
                let mut ddx = b[0] - a[0];
                let mut ddy = b[1] - a[1];
                ddx -= lx * (ddx / lx).round();
                ddy -= ly * (ddy / ly).round();
                dx += ddx;
                dy += ddy;
            }
        }
        sum += dx * dx + dy * dy;
    }
    sum / windows as f64
}

/// MSD = 4 D t with D = r λ² (r the hop rate per direction, λ the jump length) for a 2-D
/// lattice walk with four directions (DESIGN: "Random walk"). The squared displacement of a
/// 2-D walk of many steps is nearly exponentially distributed (standard deviation = mean), so
/// over M windows the relative standard error is 1/√M: 4000 windows give 1.6 %, and the
/// tolerance is 5 % (3σ).
#[test]
fn single_adatom_random_walk_on_square_and_fcc100() {
    let t = 300.0;
    let e0 = 0.45;
    let r = arrhenius(1e13, e0, t);
    let windows = 4000;
    let window = 50.0 / (4.0 * r); // about 50 hops per window

    // 2-D square lattice, a = 2.5 Å.
    let lat = Lattice::new(LatticeKind::Square, 2.5, [64, 64], 1).unwrap();
    let mut st = State::new(lat);
    let s = st.lattice().site(10, 10, 0);
    st.place(&s, 1);
    let mut e = build(st, &bond_counting(e0, 0.3), t, vec![], 1);
    let msd = msd_of_walk(&mut e, window, windows);
    let expected = 4.0 * r * 2.5f64.powi(2) * window;
    println!("square: MSD/(4Dt) = {:.4}", msd / expected);
    assert!(
        (msd / expected - 1.0).abs() < 0.05,
        "square: MSD {msd} vs 4Dt {expected}"
    );

    // FCC(100): an adatom on a frozen substrate; jump length a/√2.
    let a = 3.615;
    let lat = Lattice::new(LatticeKind::Fcc100, a, [32, 32], 12).unwrap();
    let mut st = State::new(lat);
    st.fill_layers(3, 1).unwrap();
    st.set_frozen_layers(3);
    let s = st.lattice().site(5, 5, 3);
    st.place(&s, 1);
    let mut e = build(st, &bond_counting(e0, 0.3), t, vec![], 2);
    let msd = msd_of_walk(&mut e, window, windows);
    let expected = 4.0 * r * (a * a / 2.0) * window;
    println!("fcc(100): MSD/(4Dt) = {:.4}", msd / expected);
    assert!(
        (msd / expected - 1.0).abs() < 0.05,
        "fcc(100): MSD {msd} vs 4Dt {expected}"
    );
}

/// Growth exponent β of w ∝ t^β fitted over 1..64 ML of random deposition on 64² columns.
fn random_deposition_beta(seed: u64) -> f64 {
    let lat = Lattice::new(LatticeKind::Sc100, 3.0, [64, 64], 40).unwrap();
    let mut st = State::new(lat);
    st.fill_layers(1, 1).unwrap();
    st.set_frozen_layers(1);
    let ls = st.lattice().layer_size();
    // Barriers so high that every hop rate underflows to zero: no diffusion at all.
    let mut e = build(
        st,
        &bond_counting(50.0, 1.0),
        300.0,
        vec![deposition(1.0, ls, Landing::Supported)],
        seed,
    );
    assert_eq!(e.active_atoms(), 0);
    let mut pts = Vec::new();
    for k in 0..=6 {
        let t = 2f64.powi(k);
        while e.step_until(t) == Step::Executed {}
        let o = kmc::observe::Observables::measure(e.state(), 1, t, 0, 1);
        pts.push((t.ln(), o.roughness_ml.ln()));
    }
    slope(&pts)
}

/// Random deposition without diffusion: column heights are Poisson, so w² = mean height and
/// w ∝ t^β with β = 1/2 exactly (DESIGN: "Random deposition"; simple cubic with supported
/// landing is exactly random deposition). Five seeds: the mean β lies within k standard errors
/// of 1/2, k from Student's t with 4 degrees of freedom for a two-sided α = 1e-3; the same
/// numbers must reject the 2+1-D RSOS/KPZ value β ≈ 0.24, i.e. a deposition that smooths.
#[test]
fn random_deposition_roughness_grows_as_t_to_the_half() {
    let betas: Vec<f64> = (3..8).map(random_deposition_beta).collect();
    let k = student_t_k(1e-3, betas.len() - 1);
    let (m, se) = common::assert_mean_within("random deposition: β", &betas, 0.5, k);
    let sigma = Sigma::Estimated { se, n: betas.len() };
    assert!(within(m, 0.24, sigma, k).is_err(), "β = {m} ± {se}");
}

/// χ of one seed: the island density at coverage 0.1 for D/F = 10^5, 10^6, 10^7 (lattices
/// sized for about a hundred islands each), fitted as N ∝ (D/F)^(−χ).
fn nucleation_exponent(seed: u64) -> f64 {
    let t = 300.0;
    let e0 = 0.45;
    let d = arrhenius(1e13, e0, t);
    let mut pts = Vec::new();
    for (ratio, l) in [(1e5, 96usize), (1e6, 144), (1e7, 208)] {
        let flux = d / ratio; // ML/s = per site per s
        let lat = Lattice::new(LatticeKind::Square, 2.5, [l, l], 1).unwrap();
        let st = State::new(lat);
        let ls = st.lattice().layer_size();
        // Bonds of 5 eV: an atom with a neighbour never moves again (i = 1).
        let mut e = build(
            st,
            &bond_counting(e0, 5.0),
            t,
            vec![deposition(flux, ls, Landing::Supported)],
            seed,
        );
        while (e.counters().deposited as f64) < 0.1 * ls as f64 {
            assert_eq!(e.step_until(f64::INFINITY), Step::Executed);
        }
        // Islands of two or more atoms: nucleation theory's island density counts no monomers
        // (the `islands_ge2` column of series.csv, not `islands`).
        let islands = kmc::observe::clusters(e.state(), 0, 1).islands_ge2;
        let density = islands as f64 / ls as f64;
        pts.push((ratio.ln(), density.ln()));
    }
    -slope(&pts)
}

/// Irreversible nucleation (critical nucleus i = 1) on a square lattice: the island density at
/// coverage θ = 0.1 scales as (D/F)^(−χ), χ = i/(i+2) = 1/3 (Venables; Amar, Family & Lam,
/// PRB 50, 8781 (1994)). D is the hop rate per direction, F the flux per site. Sixteen seeds,
/// each fitting its own χ over D/F = 10^5 .. 10^7: the mean lies within k standard errors of
/// 1/3, k from Student's t with 15 degrees of freedom for a two-sided α = 1e-3, and the same
/// numbers reject χ = 1/2 (critical nucleus i = 2: dimers unstable).
#[test]
fn island_density_scales_with_exponent_one_third() {
    let chis: Vec<f64> = (100..116).map(nucleation_exponent).collect();
    let k = student_t_k(1e-3, chis.len() - 1);
    let (m, se) = common::assert_mean_within("nucleation: χ", &chis, 1.0 / 3.0, k);
    let sigma = Sigma::Estimated { se, n: chis.len() };
    assert!(within(m, 0.5, sigma, k).is_err(), "χ = {m} ± {se}");
}

/// Fraction of the time two atoms on a closed 6 × 6 square lattice with E(n) = c·n spend
/// bonded, in `blocks` consecutive blocks of `events` events each, from one seed.
fn bonded_time_fractions(c: f64, t: f64, seed: u64, blocks: usize, events: usize) -> Vec<f64> {
    let spec = RateModelSpec::CoordinationMetropolis(CoordinationMetropolisSpec {
        species: BTreeMap::from([(
            "A".into(),
            CoordinationParams {
                prefactor_hz: 1e13,
                barrier_ev: 0.3,
                site_energy: SiteEnergy::Linear { coefficient_ev: c },
            },
        )]),
    });
    let lat = Lattice::new(LatticeKind::Square, 2.5, [6, 6], 1).unwrap();
    let mut st = State::new(lat);
    for (x, y) in [(0, 0), (3, 3)] {
        let s = st.lattice().site(x, y, 0);
        st.place(&s, 1);
    }
    let mut e = build(st, &spec, t, vec![], seed);
    let mut last = 0.0;
    (0..blocks)
        .map(|_| {
            let (mut t_bonded, mut t_apart) = (0.0, 0.0);
            for _ in 0..events {
                let bonded = e
                    .state()
                    .cells()
                    .iter()
                    .any(|&b| b.occupied() && b.coordination() == 1);
                assert_eq!(e.step_until(f64::INFINITY), Step::Executed);
                let dt = e.time() - last;
                last = e.time();
                if bonded {
                    t_bonded += dt;
                } else {
                    t_apart += dt;
                }
            }
            t_bonded / (t_bonded + t_apart)
        })
        .collect()
}

/// Detailed balance of the coordination–Metropolis model: two atoms on a closed 6 × 6 square
/// lattice with E(n) = c·n. The 630 placements split into 72 bonded (energy 2c) and 558
/// apart (energy 0), so the bonded time fraction is P = R/(1 + R) with
/// R = (72/558) exp(−2c/kT). Four seeds × 10 blocks of 25,000 events: the time to decorrelate
/// is a few hundred events, so the 40 block fractions are independent samples; their mean lies
/// within k standard errors of P, k from Student's t with 39 degrees of freedom for a two-sided
/// α = 1e-3. The same numbers reject the fraction of a bond energy 10 % off.
#[test]
fn coordination_metropolis_obeys_detailed_balance() {
    let (c, t) = (-0.05, 600.0);
    let fractions: Vec<f64> = (5..9)
        .flat_map(|seed| bonded_time_fractions(c, t, seed, 10, 25_000))
        .collect();
    let p = |c: f64| {
        let r = 72.0 / 558.0 * (-2.0 * c / kt_ev(t)).exp();
        r / (1.0 + r)
    };
    let k = student_t_k(1e-3, fractions.len() - 1);
    let (m, se) = common::assert_mean_within(
        "detailed balance: bonded time fraction",
        &fractions,
        p(c),
        k,
    );
    let sigma = Sigma::Estimated {
        se,
        n: fractions.len(),
    };
    assert!(
        within(m, p(1.1 * c), sigma, k).is_err(),
        "{m} ± {se} does not resolve a 10 % error in the bond energy ({})",
        p(1.1 * c)
    );
}
