//! Rate samplers: pick leaf `j` with probability `r_j / R`.
//!
//! One leaf per active site (or per global event such as deposition). The engine sets a leaf when
//! that site's total rate changes and asks for a selection once per event. Every sampler gives the
//! same distribution; they differ in cost, which `kmc bench samplers` measures.
//!
//! | kind | select | update | total kept exact by |
//! |---|---|---|---|
//! | [`SumTree`] (default) | O(log N) walk | O(log N) | recomputing ancestors from children |
//! | [`Linear`] | O(N) scan | O(1) | a compensated sum on every call |
//! | [`Fenwick`] | O(log N) bit search | O(log N) | compensated nodes, periodic rebuild |
//! | [`CompositionRejection`] | O(1) expected | O(1) | exact integer group sums |
//!
//! A sampler owns whatever set of leaves it is given (a whole lattice or one sector of it); leaf
//! indices are the caller's business. Leaves added by `resize` start at rate zero, and growing one
//! leaf at a time is amortised O(1).

pub mod bench;
mod composition;
mod fenwick;
mod linear;
mod sum_tree;

pub use bench::{SamplerBenchRow, bench_sampler, bench_samplers};
pub use composition::CompositionRejection;
pub use fenwick::Fenwick;
pub use linear::{Linear, compensated_sum};
pub use sum_tree::SumTree;

use crate::rng::KmcRng;
use serde::{Deserialize, Serialize};

/// A set of non-negative rates with weighted selection.
///
/// Contract for implementors:
/// - `set` accepts any finite rate `>= 0` (the engine never passes NaN or a negative rate);
/// - `total` is the sum of the current rates and does not drift: after any sequence of `set`
///   calls it equals the sum recomputed from scratch to round-off of one summation;
/// - `select` returns `Some(j)` with probability `rate(j) / total()` and never returns a leaf of
///   rate zero; it returns `None` exactly when `total() == 0`.
pub trait RateSampler: Send {
    /// Number of leaves.
    fn len(&self) -> usize;
    /// True when there are no leaves.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Grows or shrinks to `n` leaves; new leaves have rate zero.
    fn resize(&mut self, n: usize);
    /// Sets the rate of leaf `i`.
    fn set(&mut self, i: usize, rate: f64);
    /// The rate of leaf `i`.
    fn rate(&self, i: usize) -> f64;
    /// The sum of all rates.
    fn total(&self) -> f64;
    /// Picks a leaf with probability proportional to its rate.
    fn select(&self, rng: &mut KmcRng) -> Option<usize>;
    /// Replaces all rates at once (O(N) build).
    fn assign(&mut self, rates: &[f64]) {
        self.resize(rates.len());
        for (i, &r) in rates.iter().enumerate() {
            self.set(i, r);
        }
    }
}

/// Which sampler a scenario uses (`sampler: SumTree`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SamplerKind {
    /// Binary sum tree, O(log N) select and update (default).
    #[default]
    SumTree,
    /// Linear search, O(N) select, O(1) update; the reference for tests.
    Linear,
    /// Fenwick (binary indexed) tree, O(log N) select and update.
    Fenwick,
    /// Composition–rejection: groups by rate magnitude, O(1) expected select.
    CompositionRejection,
}

impl SamplerKind {
    /// All kinds, for `kmc info` and benchmarks.
    pub const ALL: [SamplerKind; 4] = [
        SamplerKind::SumTree,
        SamplerKind::Linear,
        SamplerKind::Fenwick,
        SamplerKind::CompositionRejection,
    ];

    /// One line on how it selects and updates, for `kmc info`.
    pub fn summary(self) -> &'static str {
        match self {
            SamplerKind::SumTree => "O(log N) select and update (default)",
            SamplerKind::Linear => "O(N) select, O(1) update; the reference for tests",
            SamplerKind::Fenwick => "O(log N) select and update (binary indexed tree)",
            SamplerKind::CompositionRejection => "O(1) expected select, groups by rate magnitude",
        }
    }

    /// Short name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SamplerKind::SumTree => "sum-tree",
            SamplerKind::Linear => "linear",
            SamplerKind::Fenwick => "fenwick",
            SamplerKind::CompositionRejection => "composition-rejection",
        }
    }

    /// A sampler of this kind with `n` leaves of rate zero.
    pub fn build(self, n: usize) -> AnySampler {
        match self {
            SamplerKind::SumTree => AnySampler::SumTree(SumTree::new(n)),
            SamplerKind::Linear => AnySampler::Linear(Linear::new(n)),
            SamplerKind::Fenwick => AnySampler::Fenwick(Fenwick::new(n)),
            SamplerKind::CompositionRejection => {
                AnySampler::CompositionRejection(CompositionRejection::new(n))
            }
        }
    }
}

/// Any sampler, chosen at run time (from a scenario's `sampler:`); dispatches by `match`.
///
/// Code that knows its sampler at compile time can be generic over `S: RateSampler` instead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum AnySampler {
    /// See [`SumTree`].
    SumTree(SumTree),
    /// See [`Linear`].
    Linear(Linear),
    /// See [`Fenwick`].
    Fenwick(Fenwick),
    /// See [`CompositionRejection`].
    CompositionRejection(CompositionRejection),
}

impl AnySampler {
    /// Which kind this is.
    pub fn kind(&self) -> SamplerKind {
        match self {
            AnySampler::SumTree(_) => SamplerKind::SumTree,
            AnySampler::Linear(_) => SamplerKind::Linear,
            AnySampler::Fenwick(_) => SamplerKind::Fenwick,
            AnySampler::CompositionRejection(_) => SamplerKind::CompositionRejection,
        }
    }
}

impl Default for AnySampler {
    fn default() -> Self {
        SamplerKind::default().build(0)
    }
}

/// Forwards a method call to whichever sampler `self` holds.
macro_rules! dispatch {
    ($self:expr, $s:ident => $call:expr) => {
        match $self {
            AnySampler::SumTree($s) => $call,
            AnySampler::Linear($s) => $call,
            AnySampler::Fenwick($s) => $call,
            AnySampler::CompositionRejection($s) => $call,
        }
    };
}

impl AnySampler {
    /// Checks a sampler read from outside (a checkpoint) before it is used: its inner shape
    /// and sums, which `rate`, `total` and `select` rely on, so a crafted one (valid checksum,
    /// wrong content) is refused with a message instead of panicking or looping later.
    pub fn check_shape(&self) -> Result<(), String> {
        dispatch!(self, s => s.check_shape())
    }
}

impl RateSampler for AnySampler {
    #[inline]
    fn len(&self) -> usize {
        dispatch!(self, s => s.len())
    }
    #[inline]
    fn resize(&mut self, n: usize) {
        dispatch!(self, s => s.resize(n))
    }
    #[inline]
    fn set(&mut self, i: usize, rate: f64) {
        dispatch!(self, s => s.set(i, rate))
    }
    #[inline]
    fn rate(&self, i: usize) -> f64 {
        dispatch!(self, s => s.rate(i))
    }
    #[inline]
    fn total(&self) -> f64 {
        dispatch!(self, s => s.total())
    }
    #[inline]
    fn select(&self, rng: &mut KmcRng) -> Option<usize> {
        dispatch!(self, s => s.select(rng))
    }
    fn assign(&mut self, rates: &[f64]) {
        dispatch!(self, s => s.assign(rates))
    }
}
