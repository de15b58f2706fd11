//! Timing of the KMC inner loop for `kmc bench samplers`: one selection plus one update of a
//! random leaf, per sampler kind and number of leaves.
//!
//! Rates are log-uniform on `[1, spread]` (`spread = 2`: one binary group, nearly uniform;
//! `spread = 1e12`: twelve decades). Each update writes a fresh rate from the same distribution
//! to a uniformly random leaf, so the tree paths touched are not the ones just selected (the
//! cache-unfriendly case). Time is wall-clock time from `std::time::Instant`.

use super::{RateSampler, SamplerKind};
use crate::rng::{KmcRng, Stream, stream, uniform};
use rand::RngExt;
use serde::Serialize;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Linear search is O(N): above this many leaves `bench_samplers` leaves it out.
pub const LINEAR_MAX_LEAVES: usize = 100_000;

/// How long `bench_samplers` measures each (kind, size) pair.
pub const DEFAULT_MEASURE_TIME: Duration = Duration::from_millis(300);

/// One measured (kind, size) pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SamplerBenchRow {
    /// Sampler measured.
    pub kind: SamplerKind,
    /// Number of leaves.
    pub leaves: usize,
    /// Rates were log-uniform on `[1, spread]`.
    pub spread: f64,
    /// Timed select + update pairs.
    pub iterations: u64,
    /// Mean wall-clock nanoseconds per select + update.
    pub ns_per_event: f64,
}

/// Rates log-uniform on `[1, spread]`.
fn random_rate(spread: f64, rng: &mut KmcRng) -> f64 {
    spread.powf(uniform(rng))
}

/// Memory per leaf in a benchmark, bytes: the initial rates (8) and the sampler's own arrays
/// (at most 32 for the trees, whose capacity is the next power of two), rounded up.
pub const BENCH_BYTES_PER_LEAF: f64 = 48.0;

/// Checks a benchmark size before anything is allocated (the Python binding calls it: a
/// `2**64 - 1` leaf count panicked in `next_power_of_two`, `10**11` aborted the interpreter).
pub fn check_leaves(leaves: usize) -> crate::Result<()> {
    crate::io::validate::at_least("leaves", leaves, 1)?;
    crate::io::validate::fits_in_memory(
        "leaves",
        leaves as f64 * BENCH_BYTES_PER_LEAF,
        &format!("a sampler of {leaves} leaves ({BENCH_BYTES_PER_LEAF} bytes each)"),
    )
}

/// Measures one kind at `leaves` leaves for at least `measure_time` (after a warm-up).
///
/// `leaves` must be at least 1 and `spread` at least 1.
pub fn bench_sampler(
    kind: SamplerKind,
    leaves: usize,
    spread: f64,
    seed: u64,
    measure_time: Duration,
) -> SamplerBenchRow {
    let leaves = leaves.max(1);
    let spread = spread.max(1.0);
    let mut rng = stream(seed, Stream::Replica(leaves as u64));
    let rates: Vec<f64> = (0..leaves).map(|_| random_rate(spread, &mut rng)).collect();
    // A small pool of new rates, so generating them (a `powf`) is not part of the timing.
    let pool: Vec<f64> = (0..4096).map(|_| random_rate(spread, &mut rng)).collect();
    let mut sampler = kind.build(0);
    sampler.assign(&rates);
    drop(rates);

    let mut next = 0usize;
    let mut run = |sampler: &mut super::AnySampler, rng: &mut KmcRng, count: u64| {
        for _ in 0..count {
            black_box(sampler.select(rng));
            let i = rng.random_range(0..leaves);
            sampler.set(i, pool[next & 4095]);
            next = next.wrapping_add(1);
        }
    };

    // Warm up (caches, branch predictors, page faults), then double the batch until one batch
    // lasts long enough.
    run(&mut sampler, &mut rng, 1000);
    let mut count = 1000u64;
    loop {
        let start = Instant::now();
        run(&mut sampler, &mut rng, count);
        let elapsed = start.elapsed();
        if elapsed >= measure_time {
            return SamplerBenchRow {
                kind,
                leaves,
                spread,
                iterations: count,
                ns_per_event: elapsed.as_secs_f64() * 1e9 / count as f64,
            };
        }
        // Aim straight at the measuring time once a batch is long enough to extrapolate from.
        let factor = if elapsed >= measure_time / 100 {
            (measure_time.as_secs_f64() / elapsed.as_secs_f64() * 1.1).ceil() as u64
        } else {
            2
        };
        count = count.saturating_mul(factor.max(2));
    }
}

/// Measures every kind at every size (`Linear` only up to [`LINEAR_MAX_LEAVES`]), each for
/// [`DEFAULT_MEASURE_TIME`]. Rows come in the order kinds × sizes.
pub fn bench_samplers(
    kinds: &[SamplerKind],
    sizes: &[usize],
    spread: f64,
    seed: u64,
) -> Vec<SamplerBenchRow> {
    let mut rows = Vec::new();
    for &kind in kinds {
        for &n in sizes {
            if kind == SamplerKind::Linear && n > LINEAR_MAX_LEAVES {
                continue;
            }
            rows.push(bench_sampler(kind, n, spread, seed, DEFAULT_MEASURE_TIME));
        }
    }
    rows
}

#[cfg(test)]
mod size_tests {
    #[test]
    fn absurd_leaf_counts_are_refused_before_allocation() {
        assert!(super::check_leaves(1000).is_ok());
        let e = super::check_leaves(usize::MAX).unwrap_err().to_string();
        assert!(
            e.contains("field `leaves`: a sampler of 18446744073709551615 leaves"),
            "{e}"
        );
        assert!(super::check_leaves(0).is_err());
    }
}
