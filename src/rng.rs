//! The one random stream of a simulation.
//!
//! A `KmcRng` is a value owned by whoever draws from it (the engine, a sector, a test); nothing in
//! the crate reads a global or clock-seeded generator, so runs are reproducible from the scenario
//! seed and a checkpoint carries the exact stream position.

use rand::{RngExt, SeedableRng};

/// The generator used everywhere: PCG-64 with a 128-bit multiplicative congruential state
/// (fast, small, serialisable).
pub type KmcRng = rand_pcg::Pcg64Mcg;

/// A generator seeded from a 64-bit seed.
pub fn rng_from_seed(seed: u64) -> KmcRng {
    KmcRng::seed_from_u64(seed)
}

/// A generator for stream `index` derived from `seed` (for sectors, batches, independent
/// replicas): distinct indices give unrelated streams.
pub fn rng_stream(seed: u64, index: u64) -> KmcRng {
    // SplitMix64 finaliser over (seed, index) so neighbouring indices are decorrelated.
    let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    KmcRng::seed_from_u64(z)
}

/// Uniform in [0, 1) with 53 random bits.
#[inline]
pub fn uniform(rng: &mut KmcRng) -> f64 {
    rng.random::<f64>()
}

/// Uniform in (0, 1]: safe to take the logarithm of.
#[inline]
pub fn uniform_open0(rng: &mut KmcRng) -> f64 {
    1.0 - rng.random::<f64>()
}

/// Rejection-free waiting time `dt = -ln(U) / R` with `U` in (0, 1] (BKL / n-fold way).
///
/// Returns `f64::INFINITY` when `total_rate` is zero.
#[inline]
pub fn waiting_time(total_rate: f64, rng: &mut KmcRng) -> f64 {
    -uniform_open0(rng).ln() / total_rate
}
