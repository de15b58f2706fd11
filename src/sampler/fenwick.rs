//! Fenwick (binary indexed) tree.
//!
//! Node `j` (1-based, `1 ..= cap`, `cap` a power of two) holds the sum of leaves
//! `j - lowbit(j) .. j` (0-based, half open), so node `cap` is the total. An update adds the change
//! of one leaf to the O(log N) nodes that cover it; selection is the descending bit search.
//!
//! Updating by deltas makes a plain Fenwick tree drift: after a leaf goes from 1e12 back to 1,
//! the nodes above it carry the rounding error of the large value for ever. Two measures keep
//! every node, and so the total, at the accuracy of one summation:
//! - each node is a compensated pair (sum, carry): the delta `new - old` is formed exactly with
//!   TwoSum and added with TwoSum, the rounding error going into the carry, so a node's value
//!   `sum + carry` is its exact sum to about one ulp plus a second-order term O(m u^2 M), with
//!   `m` the updates since the last rebuild and `M` the largest rate they involved;
//! - every node is rebuilt from the leaf rates (O(N)) after `max(cap, 64)` updates, amortised
//!   O(1) per update, which bounds `m` and clears the carries; and also as soon as a running
//!   bound on the root's accumulated rounding error exceeds one ulp of the current total. That
//!   second trigger only fires when the total has fallen far below the rates of the recent past
//!   (e.g. from 1e12 to 1e-3, or to a lone 1e-300 after everything else was cleared), where the
//!   second-order term would otherwise show.

use super::RateSampler;
use crate::rng::{KmcRng, uniform};

/// Fewest updates between two rebuilds, so tiny trees do not rebuild on every update.
const MIN_REBUILD_PERIOD: usize = 64;

/// Error-free sum: `a + b == s + err` exactly (Knuth's TwoSum, no branch).
#[inline]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// A node: `sum + carry` is its value; `carry` collects the rounding errors of `sum`.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
struct Node {
    sum: f64,
    carry: f64,
}

impl Node {
    #[inline]
    fn value(self) -> f64 {
        self.sum + self.carry
    }

    /// Adds `x + x_err` (a value with its own low-order part).
    #[inline]
    fn add(&mut self, x: f64, x_err: f64) {
        let (s, e) = two_sum(self.sum, x);
        self.sum = s;
        self.carry += e + x_err;
    }
}

/// Fenwick tree with compensated nodes and periodic rebuild: O(log N) select and update.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Fenwick {
    /// Leaf rates, `rates.len() == cap`; entries past `len` are zero.
    rates: Vec<f64>,
    /// `nodes[j]` for `j` in `1 ..= cap`; `nodes[0]` is unused.
    nodes: Vec<Node>,
    cap: usize,
    len: usize,
    /// Leaves with a positive rate: `total()` is exactly zero when there are none.
    nonzero: usize,
    /// Updates since the last rebuild.
    updates: usize,
    /// Bound on the rounding error the root has accumulated since the last rebuild.
    drift: f64,
}

impl Default for Fenwick {
    fn default() -> Self {
        Fenwick::new(0)
    }
}

#[inline]
fn lowbit(j: usize) -> usize {
    j & j.wrapping_neg()
}

impl Fenwick {
    /// A tree with `n` leaves of rate zero.
    pub fn new(n: usize) -> Self {
        let cap = n.next_power_of_two();
        Fenwick {
            rates: vec![0.0; cap],
            nodes: vec![Node::default(); cap + 1],
            cap,
            len: n,
            nonzero: 0,
            updates: 0,
            drift: 0.0,
        }
    }

    /// Checks a tree read from outside (a checkpoint): the shape `rate` and `select` index
    /// by, leaves finite and non-negative (zero past `len`), the count of nonzero leaves, and
    /// every node within rounding of its value recomputed from the leaves (nodes are updated
    /// by compensated deltas, so they match a rebuild to about one ulp of the total, not
    /// bit for bit). A crafted tree is refused, not panicked on.
    pub fn check_shape(&self) -> Result<(), String> {
        let cap = self.cap;
        if !cap.is_power_of_two()
            || self.len > cap
            || self.rates.len() != cap
            || self.nodes.len() != cap + 1
        {
            return Err(format!(
                "Fenwick tree of {} rates and {} nodes with {cap} leaf slots and {} leaves",
                self.rates.len(),
                self.nodes.len(),
                self.len
            ));
        }
        for (i, &r) in self.rates.iter().enumerate() {
            if !(r.is_finite() && r >= 0.0) || (i >= self.len && r != 0.0) {
                return Err(format!("Fenwick tree leaf {i} holds {r}"));
            }
        }
        let nonzero = self.rates.iter().filter(|&&r| r > 0.0).count();
        if self.nonzero != nonzero {
            return Err(format!(
                "Fenwick tree counts {} nonzero leaves, it has {nonzero}",
                self.nonzero
            ));
        }
        if !(self.drift.is_finite() && self.drift >= 0.0)
            || self.updates > cap.max(MIN_REBUILD_PERIOD)
        {
            return Err(format!(
                "Fenwick tree bookkeeping: drift {}, {} updates",
                self.drift, self.updates
            ));
        }
        let mut fresh = self.clone();
        fresh.rebuild();
        let total = fresh.nodes[cap].value();
        // With every leaf zero, `total` and `select` ignore the nodes (which may keep
        // second-order residue of past updates): only finiteness matters then.
        let tolerance = if nonzero == 0 {
            f64::INFINITY
        } else {
            1e-9 * total
        };
        for j in 1..=cap {
            let (a, b) = (self.nodes[j].value(), fresh.nodes[j].value());
            if !(a.is_finite() && (a - b).abs() <= tolerance) {
                return Err(format!(
                    "Fenwick tree node {j} holds {a}, its leaves sum to {b}"
                ));
            }
        }
        Ok(())
    }

    /// Recomputes every node from the leaf rates in O(cap): each leaf is added to its own node,
    /// and each finished node to its parent `j + lowbit(j)`, all with compensation.
    fn rebuild(&mut self) {
        for j in 1..=self.cap {
            self.nodes[j] = Node {
                sum: self.rates[j - 1],
                carry: 0.0,
            };
        }
        for j in 1..=self.cap {
            let parent = j + lowbit(j);
            if parent <= self.cap {
                let child = self.nodes[j];
                self.nodes[parent].add(child.sum, child.carry);
            }
        }
        self.nonzero = self.rates.iter().filter(|&&r| r > 0.0).count();
        self.updates = 0;
        self.drift = 0.0;
    }

    /// Keeps the first `keep` leaves in a tree with `cap` slots and rebuilds it.
    fn reallocate(&mut self, keep: usize, cap: usize) {
        self.rates.truncate(keep.min(self.len));
        self.rates.resize(cap, 0.0);
        self.nodes = vec![Node::default(); cap + 1];
        self.cap = cap;
        self.rebuild();
    }

    /// The leaf picked by the uniform number `u` in `[0, 1)`: the search of `select`, exposed
    /// so tests can drive it with chosen values.
    pub fn select_at(&self, u: f64) -> Option<usize> {
        let total = self.total();
        if total <= 0.0 {
            return None;
        }
        let mut target = u * total;
        let mut pos = 0;
        let mut step = self.cap / 2;
        while step > 0 {
            let v = self.nodes[pos + step].value();
            // Blocks of sum <= target (zero blocks included) are skipped; the chosen leaf is
            // the first whose prefix sum exceeds the target.
            if v <= target {
                target -= v;
                pos += step;
            }
            step /= 2;
        }
        if pos < self.len && self.rates[pos] > 0.0 {
            Some(pos)
        } else {
            self.nearest_nonzero(pos)
        }
    }

    /// The nonzero leaf nearest below `i` (else above). Only reached when rounding lands the
    /// descending search on a zero leaf, an event of probability of order u per selection.
    fn nearest_nonzero(&self, i: usize) -> Option<usize> {
        let i = i.min(self.len.checked_sub(1)?);
        (0..=i)
            .rev()
            .chain(i + 1..self.len)
            .find(|&j| self.rates[j] > 0.0)
    }
}

impl RateSampler for Fenwick {
    fn len(&self) -> usize {
        self.len
    }

    fn resize(&mut self, n: usize) {
        if n > self.cap {
            // At least doubling keeps growth one leaf at a time amortised O(1) per leaf.
            self.reallocate(n, n.next_power_of_two().max(2 * self.cap));
        } else if n < self.cap / 4 {
            self.reallocate(n, n.next_power_of_two());
        } else {
            for i in n..self.len {
                self.set(i, 0.0);
            }
        }
        self.len = n;
    }

    fn set(&mut self, i: usize, rate: f64) {
        assert!(i < self.len, "leaf {i} out of range {}", self.len);
        debug_assert!(rate >= 0.0 && rate.is_finite(), "rate {rate}");
        let old = self.rates[i];
        if old == rate {
            return;
        }
        self.nonzero = self.nonzero + (rate > 0.0) as usize - (old > 0.0) as usize;
        self.rates[i] = rate;
        self.updates += 1;
        if self.updates >= self.cap.max(MIN_REBUILD_PERIOD) {
            self.rebuild();
            return;
        }
        // `delta + delta_err == rate - old` exactly.
        let (delta, delta_err) = two_sum(rate, -old);
        let mut j = i + 1;
        while j <= self.cap {
            self.nodes[j].add(delta, delta_err);
            j += lowbit(j);
        }
        // The root's update rounds twice, both in second-order terms: `e + delta_err` (at most
        // u^2 (|sum| + |delta|)) and `carry + ...` (at most u |carry|).
        let root = self.nodes[self.cap];
        self.drift +=
            f64::EPSILON * (root.carry.abs() + f64::EPSILON * (root.sum.abs() + delta.abs()));
        let total = root.value();
        if self.nonzero > 0 && (total <= 0.0 || self.drift > f64::EPSILON * total) {
            self.rebuild();
        }
    }

    fn rate(&self, i: usize) -> f64 {
        assert!(i < self.len, "leaf {i} out of range {}", self.len);
        self.rates[i]
    }

    fn total(&self) -> f64 {
        if self.nonzero == 0 {
            0.0
        } else {
            self.nodes[self.cap].value()
        }
    }

    fn select(&self, rng: &mut KmcRng) -> Option<usize> {
        self.select_at(uniform(rng))
    }

    fn assign(&mut self, rates: &[f64]) {
        let cap = rates.len().next_power_of_two();
        self.rates.clear();
        self.rates.extend_from_slice(rates);
        self.rates.resize(cap, 0.0);
        self.nodes.clear();
        self.nodes.resize(cap + 1, Node::default());
        self.cap = cap;
        self.len = rates.len();
        self.rebuild();
    }
}
