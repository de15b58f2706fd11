//! Every random stream of a simulation, named.
//!
//! A `KmcRng` is a value owned by whoever draws from it (the engine, a sector, a test); nothing in
//! the crate reads a global or clock-seeded generator, so runs are reproducible from the scenario
//! seed and a checkpoint carries the exact stream position. Every generator the crate seeds
//! comes from [`stream`], which names its purpose with a [`Stream`].

use rand::{RngExt, SeedableRng};

/// The generator used everywhere: PCG-64 with a 128-bit multiplicative congruential state
/// (fast, small, serialisable).
pub type KmcRng = rand_pcg::Pcg64Mcg;

/// Separates the contact relaxer's streams from the other streams of the same seed
/// (the bytes spell `RELAXER!`).
pub const CONTACT_SALT: u64 = 0x5245_4C41_5845_5221;

/// Separates the orientation streams (the bytes spell `ORIENTED`).
pub const ORIENTATION_SALT: u64 = 0x4F52_4945_4E54_4544;

/// Separates the streams of parallel KMC sectors (the bytes spell `SECTORS!`).
pub const SECTOR_SALT: u64 = 0x5345_4354_4F52_5321;

/// The purpose of a random stream; [`stream`] turns a seed and a purpose into a generator.
///
/// Each variant reproduces, bit for bit, the generator the crate drew from before the streams
/// were named, so trajectories did not change. With `seed_from_u64` the `rand_pcg` seeding of
/// [`KmcRng`] and `mix(s, i)` the SplitMix64 finaliser of `s ^ i·0x9E3779B97F4A7C15`:
///
/// | variant | seed it takes | generator |
/// |---|---|---|
/// | [`Engine`](Stream::Engine) | scenario seed | `seed_from_u64(seed)` |
/// | [`InitialAtoms`](Stream::InitialAtoms) | scenario seed | `seed_from_u64(mix(seed, 1))` |
/// | [`ContactK`](Stream::ContactK)`(k)` | scenario seed | `seed_from_u64(mix(seed ^ CONTACT_SALT, k))` |
/// | [`Md`](Stream::Md) | MD seed | `seed_from_u64(seed)` |
/// | [`EamNebKey`](Stream::EamNebKey) | folded environment | `seed_from_u64(mix(seed, event_type << 8 \| mover))` |
/// | [`ParticleBuild`](Stream::ParticleBuild) | build seed | `seed_from_u64(seed)` |
/// | [`Replica`](Stream::Replica)`(i)` | any seed | `seed_from_u64(mix(seed, i))` |
/// | [`Orientation`](Stream::Orientation)`(k)` | scenario seed | `seed_from_u64(mix(seed ^ ORIENTATION_SALT, k))` |
/// | [`Sector`](Stream::Sector)`(s)` | scenario seed | `seed_from_u64(mix(seed ^ SECTOR_SALT, s))` |
/// | [`SectorColours`](Stream::SectorColours) | scenario seed | `seed_from_u64(mix(seed ^ SECTOR_SALT, u64::MAX))` |
///
/// Deposition (landing points, particle draws) has no stream of its own: it draws from the
/// engine's, so the order of events and depositions is one sequence. Streams of different
/// purposes may coincide for the same seed (`Engine`, `Md` and `ParticleBuild`;
/// `InitialAtoms` and `Replica(1)`): they are fed different seeds or never run together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// The engine's main stream: event selection, waiting times, deposition.
    Engine,
    /// Random initial atoms of a scenario (placed before the engine starts).
    InitialAtoms,
    /// Contact `k` (counted from the start of the simulation) handed to the MD relaxer: its
    /// first `u64` is the seed of that relaxation's [`Md`](Stream::Md) stream, so a resumed run
    /// relaxes every contact as the uninterrupted run did.
    ContactK(u64),
    /// Thermostat noise and initial velocities of one MD run (a standalone MD scenario, the
    /// MD benchmark or one contact relaxation).
    Md,
    /// The deterministic kicks of an EamNeb barrier computation; the seed is folded from the
    /// environment key, so a barrier depends on its key only, never on when it was computed.
    EamNebKey {
        /// The key's event type.
        event_type: u16,
        /// The key's mover species.
        mover: u8,
    },
    /// Random species arrangement of a particle cut from the lattice (alloys).
    ParticleBuild,
    /// Orientation of crystal `k` of a structure or of the `k`-th deposited particle (only
    /// `Random` orientations draw from it).
    Orientation(u64),
    /// Independent replica `i` of anything (benchmark sets, batches).
    Replica(u64),
    /// Sector `s` of a parallel (synchronous sublattice) run: its event selection, waiting
    /// times and deposition, independent of how many threads run the sectors.
    Sector(u64),
    /// The order in which a parallel run visits the sublattices in each cycle (one stream for
    /// all sectors: every sector runs the same sublattice at the same time).
    SectorColours,
}

/// The generator of stream `which` for `seed` (see [`Stream`] for the derivations).
pub fn stream(seed: u64, which: Stream) -> KmcRng {
    match which {
        Stream::Engine | Stream::Md | Stream::ParticleBuild => KmcRng::seed_from_u64(seed),
        Stream::InitialAtoms => KmcRng::seed_from_u64(mix(seed, 1)),
        Stream::ContactK(k) => KmcRng::seed_from_u64(mix(seed ^ CONTACT_SALT, k)),
        Stream::EamNebKey { event_type, mover } => {
            KmcRng::seed_from_u64(mix(seed, ((event_type as u64) << 8) | mover as u64))
        }
        Stream::Replica(i) => KmcRng::seed_from_u64(mix(seed, i)),
        Stream::Orientation(k) => KmcRng::seed_from_u64(mix(seed ^ ORIENTATION_SALT, k)),
        Stream::Sector(s) => KmcRng::seed_from_u64(mix(seed ^ SECTOR_SALT, s)),
        Stream::SectorColours => KmcRng::seed_from_u64(mix(seed ^ SECTOR_SALT, u64::MAX)),
    }
}

/// SplitMix64 finaliser over `(seed, index)`, so that neighbouring indices give unrelated
/// seeds.
fn mix(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `stream(seed, Stream::Engine)`. Kept for callers not yet moved to [`stream`]; new code
/// names its stream.
pub fn rng_from_seed(seed: u64) -> KmcRng {
    stream(seed, Stream::Engine)
}

/// `stream(seed, Stream::Replica(index))`. Kept for callers not yet moved to [`stream`]; new
/// code names its stream.
pub fn rng_stream(seed: u64, index: u64) -> KmcRng {
    stream(seed, Stream::Replica(index))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeding schemes as they were written before [`Stream`] named them.
    fn legacy_stream(seed: u64, index: u64) -> KmcRng {
        let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        KmcRng::seed_from_u64(z)
    }

    fn draws(mut r: KmcRng) -> [u64; 4] {
        std::array::from_fn(|_| r.random::<u64>())
    }

    #[test]
    fn every_stream_is_the_generator_it_replaced() {
        for seed in [0, 1, 42, 0x5245_4C41_5845_5221, u64::MAX] {
            let plain = draws(KmcRng::seed_from_u64(seed));
            assert_eq!(draws(stream(seed, Stream::Engine)), plain);
            assert_eq!(draws(stream(seed, Stream::Md)), plain);
            assert_eq!(draws(stream(seed, Stream::ParticleBuild)), plain);
            assert_eq!(
                draws(stream(seed, Stream::InitialAtoms)),
                draws(legacy_stream(seed, 1))
            );
            for k in [0, 1, 7, 1 << 40] {
                assert_eq!(
                    draws(stream(seed, Stream::ContactK(k))),
                    draws(legacy_stream(seed ^ 0x5245_4C41_5845_5221, k))
                );
                assert_eq!(
                    draws(stream(seed, Stream::Replica(k))),
                    draws(legacy_stream(seed, k))
                );
            }
            let (event_type, mover) = (0x1234u16, 3u8);
            assert_eq!(
                draws(stream(seed, Stream::EamNebKey { event_type, mover })),
                draws(legacy_stream(
                    seed,
                    ((event_type as u64) << 8) | mover as u64
                ))
            );
        }
    }

    #[test]
    fn pinned_first_draws() {
        // The first draw of each derivation for seed 7, so a change of the seeding itself
        // (not only of this file) is caught.
        let first = |w| stream(7, w).random::<u64>();
        let got = [
            first(Stream::Engine),
            first(Stream::InitialAtoms),
            first(Stream::ContactK(0)),
            first(Stream::Replica(5)),
        ];
        assert_eq!(
            got,
            [
                12_726_360_963_827_698_830,
                6_673_358_495_290_914_042,
                2_716_508_670_810_368_186,
                17_760_472_198_995_305_924,
            ]
        );
    }
}
