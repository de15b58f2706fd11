//! Binary sum tree: the default sampler.
//!
//! A complete binary tree stored in one `Vec<f64>` in heap order: node 1 is the root, node `k` has
//! children `2k` and `2k + 1`, and the leaves sit at `cap .. 2 * cap` with `cap` a power of two.
//! Leaves past `len` are zero. Setting a leaf recomputes each ancestor as the sum of its two
//! children, so every internal node is the plain sum of the current leaves below it and no
//! rounding error survives an update. Selection walks down from the root with `target = U * R`.

use super::RateSampler;
use crate::rng::{KmcRng, uniform};

/// Binary sum tree: O(log N) select and update, O(1) amortised growth by one leaf.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SumTree {
    /// `tree[1]` is the root, `tree[cap + i]` is leaf `i`; `tree[0]` is unused.
    tree: Vec<f64>,
    /// Number of leaf slots, a power of two `>= len`.
    cap: usize,
    /// Number of leaves in use.
    len: usize,
}

impl Default for SumTree {
    fn default() -> Self {
        SumTree::new(0)
    }
}

impl SumTree {
    /// A tree with `n` leaves of rate zero.
    pub fn new(n: usize) -> Self {
        let cap = n.next_power_of_two();
        SumTree {
            tree: vec![0.0; 2 * cap],
            cap,
            len: n,
        }
    }

    /// Checks a tree read from outside (a checkpoint): the shape `rate` and `select` index by,
    /// leaves finite and non-negative (zero past `len`), and every internal node exactly the
    /// sum of its children, as updates keep it. A crafted tree is refused, not panicked on.
    pub fn check_shape(&self) -> Result<(), String> {
        let cap = self.cap;
        if !cap.is_power_of_two() || self.len > cap || self.tree.len() != 2 * cap {
            return Err(format!(
                "sum tree of {} nodes with {cap} leaf slots and {} leaves",
                self.tree.len(),
                self.len
            ));
        }
        for (i, &r) in self.tree[cap..].iter().enumerate() {
            if !(r.is_finite() && r >= 0.0) || (i >= self.len && r != 0.0) {
                return Err(format!("sum tree leaf {i} holds {r}"));
            }
        }
        for k in 1..cap {
            if self.tree[k] != self.tree[2 * k] + self.tree[2 * k + 1] {
                return Err(format!("sum tree node {k} is not the sum of its children"));
            }
        }
        Ok(())
    }

    /// Recomputes every internal node from its children, bottom up (O(cap)).
    fn rebuild(&mut self) {
        for k in (1..self.cap).rev() {
            self.tree[k] = self.tree[2 * k] + self.tree[2 * k + 1];
        }
    }

    /// The leaf picked by the uniform number `u` in `[0, 1)`: the walk of `select`, exposed so
    /// tests can drive it with chosen values (`u` close to 1 is where rounding bites).
    #[inline]
    pub fn select_at(&self, u: f64) -> Option<usize> {
        let total = self.tree[1];
        if total <= 0.0 {
            return None;
        }
        let tree = &self.tree[..];
        let mut target = u * total;
        let mut k = 1;
        while k < self.cap {
            let left = tree[2 * k];
            // Step right only into a subtree with a positive sum: when rounding pushes `target`
            // past the last nonzero leaf we stay left, so the walk only ever enters subtrees of
            // positive sum and cannot end on a zero leaf (the root is positive).
            let right = target >= left && tree[2 * k + 1] > 0.0;
            target -= if right { left } else { 0.0 };
            k = 2 * k + right as usize;
        }
        Some(k - self.cap)
    }

    /// Moves the first `keep` leaves into a tree with `cap` slots and rebuilds the sums.
    fn reallocate(&mut self, keep: usize, cap: usize) {
        let keep = keep.min(self.len);
        let mut tree = vec![0.0; 2 * cap];
        tree[cap..cap + keep].copy_from_slice(&self.tree[self.cap..self.cap + keep]);
        self.tree = tree;
        self.cap = cap;
        self.rebuild();
    }
}

impl RateSampler for SumTree {
    fn len(&self) -> usize {
        self.len
    }

    fn resize(&mut self, n: usize) {
        if n > self.cap {
            // At least doubling keeps growth one leaf at a time amortised O(1) per leaf.
            self.reallocate(n, n.next_power_of_two().max(2 * self.cap));
        } else if n < self.cap / 4 {
            // Give memory back only well below capacity, so a grow/shrink cycle at the boundary
            // does not rebuild every time.
            self.reallocate(n, n.next_power_of_two());
        } else {
            for i in n..self.len {
                self.set(i, 0.0);
            }
        }
        self.len = n;
    }

    #[inline]
    fn set(&mut self, i: usize, rate: f64) {
        assert!(i < self.len, "leaf {i} out of range {}", self.len);
        debug_assert!(rate >= 0.0 && rate.is_finite(), "rate {rate}");
        let mut k = self.cap + i;
        if self.tree[k] == rate {
            // The engine often recomputes a rate that did not change: nothing to propagate.
            return;
        }
        self.tree[k] = rate;
        // Carry the new subtree sum in a register: the parent is `sum + sibling`, the same value
        // as recomputing it from both children (IEEE addition is commutative).
        let mut sum = rate;
        while k > 1 {
            sum += self.tree[k ^ 1];
            k /= 2;
            self.tree[k] = sum;
        }
    }

    #[inline]
    fn rate(&self, i: usize) -> f64 {
        assert!(i < self.len, "leaf {i} out of range {}", self.len);
        self.tree[self.cap + i]
    }

    #[inline]
    fn total(&self) -> f64 {
        self.tree[1]
    }

    #[inline]
    fn select(&self, rng: &mut KmcRng) -> Option<usize> {
        self.select_at(uniform(rng))
    }

    fn assign(&mut self, rates: &[f64]) {
        let cap = rates.len().next_power_of_two();
        if cap != self.cap {
            self.tree = vec![0.0; 2 * cap];
            self.cap = cap;
        }
        self.len = rates.len();
        self.tree[cap..cap + rates.len()].copy_from_slice(rates);
        self.tree[cap + rates.len()..].fill(0.0);
        self.rebuild();
    }
}
