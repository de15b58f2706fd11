//! One suite, run against every sampler kind: selection statistics (chi-square), exponential
//! waiting times (Kolmogorov–Smirnov), an exact total after many updates, zero-rate handling,
//! resizing, and random operation sequences compared with the `Linear` reference (proptest).
//!
//! Seeds are fixed, so every statistical test is deterministic; the thresholds (p > 0.001) are
//! what a correct sampler passes with probability 0.999 for an arbitrary seed. The statistics
//! (special functions, p-values, confidence statements) are tests/common, shared by all tests.

use kmc::rng::{KmcRng, rng_from_seed, rng_stream, uniform, waiting_time};
use kmc::sampler::{
    AnySampler, Fenwick, Linear, RateSampler, SamplerKind, SumTree, compensated_sum,
};
use proptest::prelude::*;

mod common;
use common::{chi_square_p, kolmogorov_q, ks_test};

// ---------------------------------------------------------------------------------------------
// Chi-square of selection counts, exact sums and their tolerance.

/// Pearson chi-square of selection counts against rates. Bins are leaves; leaves whose expected
/// count is below 5 are pooled, smallest first, into merged bins of expected count >= 5 (so with
/// rates spread over 1e12 the many rarely-chosen leaves form a few pooled bins). Returns
/// (chi2, degrees of freedom, p-value). Zero-rate leaves must never have been selected.
fn chi_square_of_counts(counts: &[u64], rates: &[f64]) -> (f64, usize, f64) {
    let draws: u64 = counts.iter().sum();
    let total = compensated_sum(rates.iter().copied());
    let mut bins: Vec<(f64, u64)> = Vec::new();
    for (&c, &r) in counts.iter().zip(rates) {
        if r == 0.0 {
            assert_eq!(c, 0, "a zero-rate leaf was selected");
        } else {
            bins.push((draws as f64 * r / total, c));
        }
    }
    bins.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    let mut pooled: Vec<(f64, u64)> = Vec::new();
    let mut acc = (0.0, 0);
    for (e, o) in bins {
        acc.0 += e;
        acc.1 += o;
        if acc.0 >= 5.0 {
            pooled.push(acc);
            acc = (0.0, 0);
        }
    }
    if acc.0 > 0.0 {
        match pooled.last_mut() {
            Some(last) => {
                last.0 += acc.0;
                last.1 += acc.1;
            }
            None => pooled.push(acc),
        }
    }
    let chi2: f64 = pooled
        .iter()
        .map(|&(e, o)| (o as f64 - e).powi(2) / e)
        .sum();
    let df = pooled.len() - 1;
    (chi2, df, chi_square_p(chi2, df))
}

/// Exact sum of rates that are 0 or in [2^-20, 2^40], correctly rounded once: every such rate is
/// an integer multiple of 2^-72, and 2^(40+72) times a few thousand fits an i128.
fn exact_sum(rates: &[f64]) -> f64 {
    let scale = 2f64.powi(72);
    let mut acc: i128 = 0;
    for &r in rates {
        assert!(
            r == 0.0 || (2f64.powi(-20)..=2f64.powi(40)).contains(&r),
            "{r}"
        );
        let scaled = r * scale;
        assert_eq!(scaled.fract(), 0.0);
        acc += scaled as i128;
    }
    acc as f64 / scale
}

/// Round-off allowed between `total()` and the exact sum: a pairwise sum over a tree of depth
/// d has relative error <= d·u (u = ε/2) for non-negative terms; the deepest tree here is
/// composition–rejection's group tree (4096 slots, d = 12) or the leaf tree of N leaves; two
/// extra ε cover the final rounding of compensated sums. About 14 ε for N <= 4096, far inside
/// "a few ulps × N".
fn total_tolerance(n: usize, exact: f64) -> f64 {
    let depth = (n.max(4096) as f64).log2().ceil();
    (depth + 2.0) * f64::EPSILON * exact
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// Log-uniform rate on [lo, lo·spread].
fn log_uniform(lo: f64, spread: f64, rng: &mut KmcRng) -> f64 {
    lo * spread.powf(uniform(rng))
}

/// A sampler of `kind` holding `rates`, reached through updates rather than one `assign`: it is
/// first assigned a scrambled version, then every leaf is set to its final rate.
fn built_by_updates(kind: SamplerKind, rates: &[f64], rng: &mut KmcRng) -> AnySampler {
    let mut s = kind.build(0);
    let scrambled: Vec<f64> = rates
        .iter()
        .map(|&r| if uniform(rng) < 0.5 { r * 3.0 } else { 0.0 })
        .collect();
    s.assign(&scrambled);
    for (i, &r) in rates.iter().enumerate() {
        s.set(i, r);
    }
    s
}

fn all_rates(s: &impl RateSampler) -> Vec<f64> {
    (0..s.len()).map(|i| s.rate(i)).collect()
}

// ---------------------------------------------------------------------------------------------
// The statistics helpers themselves, against tabulated values.

#[test]
fn statistics_helpers_match_tables() {
    // df = 2: the chi-square tail is exactly exp(-x/2).
    assert!((chi_square_p(5.0, 2) - (-2.5f64).exp()).abs() < 1e-14);
    // 5 % critical values (Abramowitz & Stegun table 26.8).
    for &(x, df) in &[(3.841_458_820_694_124, 1), (18.307_038_053_275_146, 10)] {
        assert!((chi_square_p(x, df) - 0.05).abs() < 1e-9, "df {df}");
    }
    assert!((chi_square_p(124.342_113_404_218_4, 100) - 0.05).abs() < 1e-9);
    // Series branch (x < a + 1): df = 10, x = 2.558212 is the 1 % lower quantile -> p = 0.99.
    assert!((chi_square_p(2.558_212_217_969_188, 10) - 0.99).abs() < 1e-9);
    // Kolmogorov distribution: Q(1.358099) = 0.05 and Q(1.627624) = 0.01.
    assert!((kolmogorov_q(1.358_098_639_322_550_7) - 0.05).abs() < 1e-6);
    assert!((kolmogorov_q(1.627_623_611_518_498_7) - 0.01).abs() < 1e-6);
    // Normal: 1.959964 σ is 95 %, 3.290527 σ is 99.9 % two-sided.
    assert!((common::normal_confidence(1.959_963_984_540_054) - 0.95).abs() < 1e-10);
    assert!((common::normal_confidence(3.290_526_731_491_926) - 0.999).abs() < 1e-10);
    assert!((common::normal_k(1e-3) - 3.290_526_731_491_926).abs() < 1e-9);
    // Student t, two-sided 95 % and 99 % critical values (df 1: tan(π·0.475) = 12.7062).
    for &(t, df, conf) in &[
        (12.706_204_736_174_7, 1, 0.95),
        (3.182_446_305_284_263, 3, 0.95),
        (5.840_909_309_733_35, 3, 0.99),
        (2.776_445_105_197_799, 4, 0.95),
        (2.228_138_851_986_273_5, 10, 0.95),
    ] {
        assert!(
            (common::student_t_confidence(t, df) - conf).abs() < 1e-9,
            "t {t}, df {df}"
        );
        assert!((common::student_t_k(1.0 - conf, df) - t).abs() < 1e-6);
    }
    // Chi-square upper 5 % quantile for df = 10.
    assert!((common::chi_square_quantile(0.05, 10) - 18.307_038_053_275_146).abs() < 1e-8);
}

#[test]
fn confidence_checks_reject_a_value_outside_k_sigma() {
    use common::{Sigma, within};
    assert!(within(1.0, 1.3, Sigma::Known(0.1), 3.29).is_ok());
    let err = within(1.0, 1.4, Sigma::Known(0.1), 3.29).unwrap_err();
    assert!(err.contains("4.00 σ") && err.contains("0.999"), "{err}");
    // Four seeds: the same deviation in standard errors is less significant under Student's t.
    let est = Sigma::Estimated { se: 0.1, n: 4 };
    assert!(est.confidence(3.29) < Sigma::Known(0.1).confidence(3.29));
    assert!(within(1.0, 1.4, est, 3.29).is_err());
}

// ---------------------------------------------------------------------------------------------
// Selection statistics.

const DRAWS: usize = 200_000;

/// Rate sets of the chi-square test: (name, rates). Some contain zero-rate leaves.
fn rate_sets() -> Vec<(&'static str, Vec<f64>)> {
    let mut rng = rng_from_seed(11);
    let mut spread = |n: usize, s: f64, zero_every: usize| -> Vec<f64> {
        (0..n)
            .map(|i| {
                if zero_every > 0 && i % zero_every == 3 {
                    0.0
                } else {
                    log_uniform(1.0, s, &mut rng)
                }
            })
            .collect()
    };
    vec![
        ("uniform", vec![1.0; 100]),
        ("spread 1e3", spread(200, 1e3, 10)),
        ("spread 1e6", spread(200, 1e6, 0)),
        ("spread 1e12", spread(200, 1e12, 7)),
    ]
}

fn selection_counts(s: &impl RateSampler, draws: usize, rng: &mut KmcRng) -> Vec<u64> {
    let mut counts = vec![0u64; s.len()];
    for _ in 0..draws {
        counts[s.select(rng).expect("rates are not all zero")] += 1;
    }
    counts
}

fn check_selection_statistics(kind: SamplerKind) {
    for (set_index, (name, rates)) in rate_sets().into_iter().enumerate() {
        let mut rng = rng_stream(2024, set_index as u64);
        let s = built_by_updates(kind, &rates, &mut rng);
        let counts = selection_counts(&s, DRAWS, &mut rng);
        let (chi2, df, p) = chi_square_of_counts(&counts, &rates);
        // Pooling must leave enough bins for the test to have power.
        assert!(df >= 20, "{kind:?} {name}: only {df} degrees of freedom");
        assert!(
            p > 1e-3,
            "{kind:?} {name}: chi2 = {chi2:.1} with {df} dof, p = {p:.2e}"
        );
    }
}

#[test]
fn chi_square_detects_a_wrong_distribution() {
    // The test above must be able to fail: sample with one leaf's rate doubled and test the
    // counts against the original rates.
    let (_, rates) = rate_sets().swap_remove(1);
    let biggest = (0..rates.len())
        .max_by(|&a, &b| rates[a].partial_cmp(&rates[b]).unwrap())
        .unwrap();
    let mut wrong = rates.clone();
    wrong[biggest] *= 2.0;
    let mut s = Linear::new(0);
    s.assign(&wrong);
    let counts = selection_counts(&s, DRAWS, &mut rng_from_seed(5));
    let (_, _, p) = chi_square_of_counts(&counts, &rates);
    assert!(p < 1e-6, "p = {p}");
}

// ---------------------------------------------------------------------------------------------
// Waiting times.

fn check_waiting_times(kind: SamplerKind) {
    let mut rng = rng_from_seed(77);
    let rates: Vec<f64> = (0..500)
        .map(|_| log_uniform(2f64.powi(-19), 1e6, &mut rng))
        .collect();
    let mut s = kind.build(0);
    s.assign(&rates);
    let total = s.total();
    assert!((total - exact_sum(&rates)).abs() <= total_tolerance(500, total));

    // As in the engine: a selection, then a waiting time from the same stream.
    let n = 20_000;
    let mut dts: Vec<f64> = (0..n)
        .map(|_| {
            s.select(&mut rng).unwrap();
            waiting_time(s.total(), &mut rng)
        })
        .collect();
    let mean = dts.iter().sum::<f64>() / n as f64;
    // The mean of n Exp(R) samples has standard error 1/(R √n): allow 4 of them (2.8 %).
    let tolerance = 4.0 / (total * (n as f64).sqrt());
    assert!(
        (mean - 1.0 / total).abs() < tolerance,
        "{kind:?}: mean {mean:e} vs 1/R = {:e}",
        1.0 / total
    );
    let (d, p) = ks_test(&mut dts, |t| 1.0 - (-total * t).exp());
    assert!(p > 1e-3, "{kind:?}: KS D = {d:.4}, p = {p:.2e}");
}

#[test]
fn ks_detects_a_wrong_rate() {
    // Waiting times drawn with 5 % too small a total must fail the same test.
    let mut rng = rng_from_seed(78);
    let mut dts: Vec<f64> = (0..20_000).map(|_| waiting_time(0.95, &mut rng)).collect();
    let (_, p) = ks_test(&mut dts, |t| 1.0 - (-t).exp());
    assert!(p < 1e-6, "p = {p}");
}

// ---------------------------------------------------------------------------------------------
// Exact total.

/// 10^6 random updates on 1000 leaves, rates log-uniform over 12 decades ([1e-6, 1e6]) with
/// 10 % zeros; the total is compared with the exact sum along the way.
fn check_total_after_many_updates(kind: SamplerKind) {
    let n = 1000;
    let mut rng = rng_from_seed(31);
    let mut rates = vec![0.0; n];
    let mut s = kind.build(n);
    for step in 1..=1_000_000 {
        let i = (uniform(&mut rng) * n as f64) as usize;
        let r = if uniform(&mut rng) < 0.1 {
            0.0
        } else {
            log_uniform(1e-6, 1e12, &mut rng)
        };
        rates[i] = r;
        s.set(i, r);
        if step % 100_000 == 0 {
            let exact = exact_sum(&rates);
            let total = s.total();
            assert!(
                (total - exact).abs() <= total_tolerance(n, exact),
                "{kind:?} after {step} updates: total {total:e}, exact {exact:e}"
            );
        }
    }
    assert_eq!(all_rates(&s), rates);
}

/// Random leaves swing up to ~1e12 and straight back to small values while the total stays
/// ~1e5: a scheme that updates sums by plain deltas keeps errors of order u·1e12 ≈ 1e-4 per
/// swing (relative 1e-9, far outside the tolerance); rebuilds every N updates do not hide it.
fn check_total_after_large_swings(kind: SamplerKind) {
    let n = 1000;
    let mut rng = rng_from_seed(32);
    let mut rates: Vec<f64> = (0..n)
        .map(|_| log_uniform(2f64.powi(-20), 1e6, &mut rng))
        .collect();
    let mut s = kind.build(0);
    s.assign(&rates);
    for step in 0..20_000 {
        let i = (uniform(&mut rng) * n as f64) as usize;
        s.set(i, 1e12 * (1.0 + uniform(&mut rng)));
        rates[i] = log_uniform(2f64.powi(-20), 1e6, &mut rng);
        s.set(i, rates[i]);
        if step % 10 == 0 {
            let exact = exact_sum(&rates);
            let total = s.total();
            assert!(
                (total - exact).abs() <= total_tolerance(n, exact),
                "{kind:?} at step {step}: total {total:e}, exact {exact:e}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Zero rates and resizing.

fn check_zero_rates(kind: SamplerKind) {
    let mut rng = rng_from_seed(41);
    let n = 1000;

    // All zero: no selection, total exactly zero, also after leaves went up and down again.
    let mut s = kind.build(n);
    assert_eq!(s.select(&mut rng), None);
    assert_eq!(s.total(), 0.0);
    for i in (0..n).step_by(3) {
        s.set(i, log_uniform(1e-6, 1e12, &mut rng));
    }
    for i in (0..n).step_by(3) {
        s.set(i, 0.0);
    }
    assert_eq!(s.select(&mut rng), None, "{kind:?}");
    assert_eq!(s.total(), 0.0, "{kind:?}");

    // All but one zero, for a tiny, an ordinary and a huge rate.
    for &r in &[1e-300, 1.0, 1e300] {
        s.set(777, r);
        assert_eq!(s.total(), r, "{kind:?}");
        for _ in 0..2000 {
            assert_eq!(s.select(&mut rng), Some(777), "{kind:?} rate {r}");
        }
    }
    s.set(777, 0.0);
    assert_eq!(s.select(&mut rng), None);

    // Many leaves set back to zero after being large: never selected again.
    let mut rates: Vec<f64> = (0..n).map(|_| log_uniform(1e-6, 1e12, &mut rng)).collect();
    s.assign(&rates);
    for (i, r) in rates.iter_mut().enumerate() {
        if uniform(&mut rng) < 0.7 {
            *r = 0.0;
            s.set(i, 0.0);
        }
    }
    for _ in 0..100_000 {
        let j = s.select(&mut rng).unwrap();
        assert!(rates[j] > 0.0, "{kind:?} selected zero leaf {j}");
    }
}

fn check_resize(kind: SamplerKind) {
    let mut rng = rng_from_seed(51);
    let mut rates: Vec<f64> = (0..100)
        .map(|_| log_uniform(2f64.powi(-20), 1e12, &mut rng))
        .collect();
    let mut s = kind.build(0);
    s.assign(&rates);
    let check = |s: &AnySampler, rates: &[f64], what: &str| {
        assert_eq!(s.len(), rates.len(), "{kind:?} {what}");
        assert_eq!(all_rates(s), rates, "{kind:?} {what}");
        let exact = exact_sum(rates);
        assert!(
            (s.total() - exact).abs() <= total_tolerance(rates.len(), exact),
            "{kind:?} {what}: total {} vs {exact}",
            s.total()
        );
    };

    s.resize(1000);
    rates.resize(1000, 0.0);
    check(&s, &rates, "grown");
    for i in (500..1000).step_by(7) {
        rates[i] = 3.0;
        s.set(i, 3.0);
    }
    check(&s, &rates, "grown and set");

    s.resize(50);
    rates.truncate(50);
    check(&s, &rates, "shrunk");

    // Leaves that come back after a shrink start at zero, not at their old rates.
    s.resize(700);
    rates.resize(700, 0.0);
    check(&s, &rates, "regrown");
    for _ in 0..10_000 {
        assert!(s.select(&mut rng).unwrap() < 50);
    }

    s.resize(0);
    assert!(s.is_empty());
    assert_eq!(s.total(), 0.0);
    assert_eq!(s.select(&mut rng), None);

    // Growing one leaf at a time, as the engine does when sites become active.
    let mut rates = Vec::new();
    for i in 0..5000 {
        s.resize(i + 1);
        let r = log_uniform(2f64.powi(-20), 1e6, &mut rng);
        s.set(i, r);
        rates.push(r);
    }
    check(&s, &rates, "grown one by one");
}

fn check_assign_matches_set(kind: SamplerKind) {
    let mut rng = rng_from_seed(61);
    let rates: Vec<f64> = (0..3000)
        .map(|i| {
            if i % 5 == 0 {
                0.0
            } else {
                log_uniform(2f64.powi(-20), 1e12, &mut rng)
            }
        })
        .collect();
    let mut a = kind.build(0);
    a.assign(&rates);
    let mut b = kind.build(rates.len());
    for (i, &r) in rates.iter().enumerate() {
        b.set(i, r);
    }
    assert_eq!(a.kind(), kind);
    assert_eq!(all_rates(&a), rates);
    assert_eq!(all_rates(&b), rates);
    let exact = exact_sum(&rates);
    for s in [&a, &b] {
        assert!((s.total() - exact).abs() <= total_tolerance(rates.len(), exact));
    }
}

// ---------------------------------------------------------------------------------------------
// The suite, once per kind.

macro_rules! suite {
    ($($module:ident => $kind:expr),* $(,)?) => {$(
        mod $module {
            use super::*;
            #[test]
            fn selection_statistics() {
                check_selection_statistics($kind);
            }
            #[test]
            fn waiting_times() {
                check_waiting_times($kind);
            }
            #[test]
            fn total_after_many_updates() {
                check_total_after_many_updates($kind);
            }
            #[test]
            fn total_after_large_swings() {
                check_total_after_large_swings($kind);
            }
            #[test]
            fn zero_rates() {
                check_zero_rates($kind);
            }
            #[test]
            fn resize() {
                check_resize($kind);
            }
            #[test]
            fn assign_matches_set() {
                check_assign_matches_set($kind);
            }
        }
    )*};
}

suite! {
    sum_tree => SamplerKind::SumTree,
    linear => SamplerKind::Linear,
    fenwick => SamplerKind::Fenwick,
    composition_rejection => SamplerKind::CompositionRejection,
}

#[test]
fn all_kinds_are_covered() {
    // Adding a kind without adding it to `suite!` above should fail here.
    assert_eq!(SamplerKind::ALL.len(), 4);
    for kind in SamplerKind::ALL {
        assert_eq!(kind.build(3).kind(), kind);
        assert_eq!(kind.build(3).len(), 3);
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic walks at the edges of [0, 1): where rounding pushes the target past the last
// nonzero leaf, the walk must still end on a nonzero leaf.

fn edge_uniforms() -> Vec<f64> {
    let below_one = 1.0 - f64::EPSILON / 2.0;
    let mut us = vec![0.0, f64::MIN_POSITIVE, 1e-300, 0.5, below_one];
    let mut u = below_one;
    for _ in 0..2000 {
        u = f64::from_bits(u.to_bits() - 1);
        us.push(u);
    }
    us
}

fn edge_rate_sets() -> Vec<Vec<f64>> {
    let mut rng = rng_from_seed(71);
    let mut sets = vec![
        vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        vec![1e16, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
        vec![1.0, 1e-17, 1e-17, 1e-17, 1e-17, 0.0, 0.0, 0.0, 0.0],
        vec![0.1, 0.2, 0.3, 0.0, 0.0, 0.7, 0.0],
        vec![1e-300, 0.0, 0.0, 0.0, 0.0],
        // Found by a search with u = 1 - 2^-53: a sum tree walk that always steps right when
        // `target >= left` ends on the zero last leaf for these.
        vec![0.0, 5737019299773.094, 383447708932081.25, 0.0],
        vec![
            0.0,
            0.0,
            12212612764.58212,
            2.951198156853775e-8,
            17559834461.036686,
            15.818155945816773,
            0.0,
            0.0,
        ],
        vec![
            0.0,
            1.198119321902556e-14,
            0.0,
            0.0,
            0.0,
            1.4003617003108495e-13,
        ],
        vec![
            808.5699793765319,
            10496851033205.043,
            0.0,
            884882226447024.1,
            112949531.76918907,
            0.0,
            2744836202822834.0,
        ],
        vec![
            0.0,
            187471430.21213573,
            0.0,
            5.763039664785836e-10,
            0.0,
            4.516310886873975e-9,
            820163857.9926064,
        ],
    ];
    for _ in 0..50 {
        let n = 1 + (uniform(&mut rng) * 300.0) as usize;
        sets.push(
            (0..n)
                .map(|_| {
                    if uniform(&mut rng) < 0.6 {
                        0.0
                    } else {
                        log_uniform(1e-15, 1e30, &mut rng)
                    }
                })
                .collect(),
        );
    }
    sets
}

#[test]
fn walks_at_the_edges_end_on_nonzero_leaves() {
    for rates in edge_rate_sets() {
        let mut tree = SumTree::new(0);
        tree.assign(&rates);
        let mut fenwick = Fenwick::new(0);
        fenwick.assign(&rates);
        let mut linear = Linear::new(0);
        linear.assign(&rates);
        for u in edge_uniforms() {
            for (name, j) in [
                ("sum tree", tree.select_at(u)),
                ("fenwick", fenwick.select_at(u)),
                ("linear", linear.select_at(u)),
            ] {
                let j = j.expect("not all zero");
                assert!(
                    rates[j] > 0.0,
                    "{name}: u = {u:e} gave zero leaf {j} of {rates:?}"
                );
            }
        }
        // u = 0 picks the first nonzero leaf in every layout.
        let first = rates.iter().position(|&r| r > 0.0);
        assert_eq!(tree.select_at(0.0), first);
        assert_eq!(fenwick.select_at(0.0), first);
        assert_eq!(linear.select_at(0.0), first);
    }
}

// ---------------------------------------------------------------------------------------------
// Random operation sequences against the Linear reference.

#[derive(Debug, Clone)]
enum Op {
    /// Set leaf `index % len` (ignored when empty).
    Set(usize, f64),
    Resize(usize),
}

fn rate_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        2 => Just(0.0),
        5 => (-300.0..300.0f64).prop_map(|e| 10f64.powf(e)),
        2 => 0.5..2.0f64,
        1 => (1u64..1000).prop_map(|k| k as f64 * 5e-324),
    ]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (any::<usize>(), rate_strategy()).prop_map(|(i, r)| Op::Set(i, r)),
        1 => (0usize..300).prop_map(Op::Resize),
    ]
}

fn check_against_linear(kind: SamplerKind, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut reference = Linear::new(0);
    let mut s = kind.build(0);
    let mut rng = rng_from_seed(91);
    for op in ops {
        match *op {
            Op::Set(i, r) => {
                if !reference.is_empty() {
                    let i = i % reference.len();
                    reference.set(i, r);
                    s.set(i, r);
                }
            }
            Op::Resize(n) => {
                reference.resize(n);
                s.resize(n);
            }
        }
        prop_assert_eq!(s.len(), reference.len());
        prop_assert_eq!(all_rates(&s), all_rates(&reference));
        let expected = reference.total();
        // The reference is itself within ~1 ulp; subnormal sums have absolute error 2^-1074.
        let tolerance = total_tolerance(s.len(), expected) + f64::EPSILON * expected + 5e-324;
        prop_assert!(
            (s.total() - expected).abs() <= tolerance,
            "{:?}: total {:e} vs {:e}",
            kind,
            s.total(),
            expected
        );
        match s.select(&mut rng) {
            Some(j) => prop_assert!(s.rate(j) > 0.0),
            None => prop_assert_eq!(expected, 0.0),
        }
        prop_assert_eq!(s.total() == 0.0, expected == 0.0);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_operations_match_linear(ops in prop::collection::vec(op_strategy(), 1..60)) {
        for kind in SamplerKind::ALL {
            check_against_linear(kind, &ops)?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The bench command's library function (what it returns, not how fast anything is).

#[test]
fn bench_samplers_returns_one_row_per_measured_pair() {
    use kmc::sampler::{bench::LINEAR_MAX_LEAVES, bench_samplers};
    let big = LINEAR_MAX_LEAVES * 2;
    let rows = bench_samplers(
        &[SamplerKind::Linear, SamplerKind::SumTree],
        &[10, big],
        2.0,
        1,
    );
    let pairs: Vec<(SamplerKind, usize)> = rows.iter().map(|r| (r.kind, r.leaves)).collect();
    // Linear is skipped above LINEAR_MAX_LEAVES.
    assert_eq!(
        pairs,
        [
            (SamplerKind::Linear, 10),
            (SamplerKind::SumTree, 10),
            (SamplerKind::SumTree, big)
        ]
    );
    for row in rows {
        assert!(row.iterations >= 1000);
        assert!(row.ns_per_event.is_finite() && row.ns_per_event > 0.0);
        assert_eq!(row.spread, 2.0);
    }
}
