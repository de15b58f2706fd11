//! Composition–rejection sampling (Slepoy, Thompson & Plimpton, J. Chem. Phys. 128, 205101, 2008).
//!
//! Leaves are grouped by binary exponent: group `g` holds the rates in `[2^g, 2^(g+1))`. A
//! selection picks a group with probability proportional to its sum, then a uniform member of it,
//! accepted with probability `r / 2^(g+1)` (at least 1/2); a rejected draw retries *within the
//! same group*, since going back to the group choice would bias towards dense groups.
//!
//! Exact accounting, no drift: a rate `r` in group `g` is `m * 2^(g-52)` with an integer
//! mantissa `m` in `[2^52, 2^53)`, so a group's sum is kept as the exact integer `sum m` (u128)
//! and converted to `f64` with one rounding whenever it changes. The group sums sit in a
//! [`SumTree`] over all 2098 possible exponents of a positive finite `f64`; it picks the group
//! (never an empty one) and its root is the total, the pairwise sum of the exactly rounded
//! group sums. Acceptance compares a 53-bit random integer with `m`, so it is exact too.
//! Members are kept in per-group arrays with a leaf -> position map, so insertion and removal
//! (swap-remove) are O(1); the group tree adds O(log 2098) = 12 node updates per change.

use super::{RateSampler, SumTree};
use crate::rng::KmcRng;
use rand::RngExt;

/// Number of possible groups: `floor(log2 r)` of a positive finite `f64` spans `-1074 ..= 1023`.
const GROUPS: usize = 2098;
/// Position marker for a leaf of rate zero (in no group).
const NO_SLOT: usize = usize::MAX;

/// Group index (`floor(log2 r) + 1074`) and integer mantissa `m` in `[2^52, 2^53)` of a positive
/// finite rate, with `r = m * 2^(index - 1126)` exactly.
#[inline]
fn decompose(rate: f64) -> (usize, u64) {
    let bits = rate.to_bits();
    let exponent = (bits >> 52) as usize & 0x7ff;
    let fraction = bits & ((1 << 52) - 1);
    if exponent > 0 {
        (exponent + 51, fraction | (1 << 52))
    } else {
        // Subnormal: normalise the fraction so the same mantissa range holds.
        let shift = fraction.leading_zeros() as usize - 11;
        (52 - shift, fraction << shift)
    }
}

/// `2^e` for `e` in the normal range `-1022 ..= 1023`.
#[inline]
fn pow2(e: i32) -> f64 {
    debug_assert!((-1022..=1023).contains(&e));
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// The `f64` value of a group's mantissa sum: `sum * 2^(index - 1126)`, rounded once.
fn group_value(index: usize, mantissa_sum: u128) -> f64 {
    if mantissa_sum == 0 {
        return 0.0;
    }
    let x = mantissa_sum as f64;
    let e = index as i32 - 1126;
    if e >= -1022 {
        x * pow2(e)
    } else {
        // Scale in two steps: the first is exact, only the second (into the subnormals) rounds.
        x * pow2(e + 200) * pow2(-200)
    }
}

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Member {
    leaf: usize,
    mantissa: u64,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Group {
    members: Vec<Member>,
    /// Exact sum of the members' mantissas.
    mantissa_sum: u128,
}

/// Composition–rejection sampler: O(1) expected select, O(1) update (plus a fixed 12-level tree).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CompositionRejection {
    rates: Vec<f64>,
    /// Position of each leaf in its group's `members`, or `NO_SLOT` for a zero rate.
    slot: Vec<usize>,
    groups: Vec<Group>,
    /// Leaf `g` is the `f64` sum of group `g`.
    group_tree: SumTree,
}

impl Default for CompositionRejection {
    fn default() -> Self {
        CompositionRejection::new(0)
    }
}

impl CompositionRejection {
    /// `n` leaves of rate zero.
    pub fn new(n: usize) -> Self {
        CompositionRejection {
            rates: vec![0.0; n],
            slot: vec![NO_SLOT; n],
            groups: vec![Group::default(); GROUPS],
            group_tree: SumTree::new(GROUPS),
        }
    }

    /// Checks a sampler read from outside (a checkpoint): rates finite and non-negative,
    /// every positive rate a member of its exponent's group at the position `slot` names with
    /// its exact mantissa and no other members, each group's mantissa sum exact, and the group
    /// tree holding exactly each group's value. Selection indexes by all of these, so a
    /// crafted sampler is refused here rather than panicking or looping later.
    pub fn check_shape(&self) -> Result<(), String> {
        let n = self.rates.len();
        if self.slot.len() != n || self.groups.len() != GROUPS || self.group_tree.len() != GROUPS {
            return Err(format!(
                "composition-rejection sampler of {n} rates, {} slots, {} groups, a group tree \
                 of {} leaves",
                self.slot.len(),
                self.groups.len(),
                self.group_tree.len()
            ));
        }
        self.group_tree.check_shape()?;
        let mut members = 0;
        for (i, &r) in self.rates.iter().enumerate() {
            if !(r.is_finite() && r >= 0.0) {
                return Err(format!("composition-rejection leaf {i} holds {r}"));
            }
            if r == 0.0 {
                if self.slot[i] != NO_SLOT {
                    return Err(format!(
                        "composition-rejection leaf {i} of rate 0 has a slot"
                    ));
                }
                continue;
            }
            let (g, m) = decompose(r);
            let found = self.groups[g].members.get(self.slot[i]);
            if !found.is_some_and(|x| x.leaf == i && x.mantissa == m) {
                return Err(format!(
                    "composition-rejection leaf {i} is not where its slot says in group {g}"
                ));
            }
            members += 1;
        }
        let mut listed = 0;
        for (g, grp) in self.groups.iter().enumerate() {
            listed += grp.members.len();
            let sum: u128 = grp.members.iter().map(|x| u128::from(x.mantissa)).sum();
            if sum != grp.mantissa_sum {
                return Err(format!(
                    "composition-rejection group {g}: mantissa sum {} but its members add to \
                     {sum}",
                    grp.mantissa_sum
                ));
            }
            if self.group_tree.rate(g) != group_value(g, sum) {
                return Err(format!(
                    "composition-rejection group {g}: the group tree holds {} for {}",
                    self.group_tree.rate(g),
                    group_value(g, sum)
                ));
            }
        }
        if listed != members {
            return Err(format!(
                "composition-rejection groups list {listed} members for {members} positive rates"
            ));
        }
        Ok(())
    }

    /// Number of groups with at least one member.
    pub fn occupied_groups(&self) -> usize {
        self.groups.iter().filter(|g| !g.members.is_empty()).count()
    }

    fn remove(&mut self, leaf: usize, group: usize, mantissa: u64) {
        let g = &mut self.groups[group];
        let pos = self.slot[leaf];
        g.members.swap_remove(pos);
        if let Some(moved) = g.members.get(pos) {
            self.slot[moved.leaf] = pos;
        }
        g.mantissa_sum -= u128::from(mantissa);
        self.slot[leaf] = NO_SLOT;
    }

    fn insert(&mut self, leaf: usize, group: usize, mantissa: u64) {
        let g = &mut self.groups[group];
        self.slot[leaf] = g.members.len();
        g.members.push(Member { leaf, mantissa });
        g.mantissa_sum += u128::from(mantissa);
    }

    fn refresh_group(&mut self, group: usize) {
        let value = group_value(group, self.groups[group].mantissa_sum);
        self.group_tree.set(group, value);
    }
}

impl RateSampler for CompositionRejection {
    fn len(&self) -> usize {
        self.rates.len()
    }

    fn resize(&mut self, n: usize) {
        for i in n..self.rates.len() {
            self.set(i, 0.0);
        }
        self.rates.resize(n, 0.0);
        self.slot.resize(n, NO_SLOT);
    }

    fn set(&mut self, i: usize, rate: f64) {
        debug_assert!(rate >= 0.0 && rate.is_finite(), "rate {rate}");
        let old = self.rates[i];
        if old == rate {
            return;
        }
        self.rates[i] = rate;
        let old_part = (old > 0.0).then(|| decompose(old));
        let new_part = (rate > 0.0).then(|| decompose(rate));
        match (old_part, new_part) {
            (Some((go, mo)), Some((gn, mn))) if go == gn => {
                // Same group: rewrite the mantissa in place.
                let g = &mut self.groups[gn];
                g.members[self.slot[i]].mantissa = mn;
                g.mantissa_sum = g.mantissa_sum - u128::from(mo) + u128::from(mn);
                self.refresh_group(gn);
            }
            _ => {
                if let Some((go, mo)) = old_part {
                    self.remove(i, go, mo);
                    self.refresh_group(go);
                }
                if let Some((gn, mn)) = new_part {
                    self.insert(i, gn, mn);
                    self.refresh_group(gn);
                }
            }
        }
    }

    fn rate(&self, i: usize) -> f64 {
        self.rates[i]
    }

    fn total(&self) -> f64 {
        self.group_tree.total()
    }

    fn select(&self, rng: &mut KmcRng) -> Option<usize> {
        let members = &self.groups[self.group_tree.select(rng)?].members;
        loop {
            let candidate = members[rng.random_range(0..members.len())];
            // Accept with probability m / 2^53 = r / 2^(g+1).
            if rng.random::<u64>() >> 11 < candidate.mantissa {
                return Some(candidate.leaf);
            }
        }
    }

    fn assign(&mut self, rates: &[f64]) {
        for g in &mut self.groups {
            g.members.clear();
            g.mantissa_sum = 0;
        }
        self.rates.clear();
        self.rates.extend_from_slice(rates);
        self.slot.clear();
        self.slot.resize(rates.len(), NO_SLOT);
        for (i, &r) in rates.iter().enumerate() {
            if r > 0.0 {
                let (g, m) = decompose(r);
                self.insert(i, g, m);
            }
        }
        let values: Vec<f64> = (0..GROUPS)
            .map(|g| group_value(g, self.groups[g].mantissa_sum))
            .collect();
        self.group_tree.assign(&values);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 16: a sampler read from a crafted checkpoint (checksum valid, content wrong) is
    /// refused by `check_shape`, naming what is wrong, where `select` or `set` would index out
    /// of range, loop or drift; an honestly updated one passes.
    #[test]
    fn crafted_samplers_are_refused_by_check_shape() {
        let mut good = CompositionRejection::new(50);
        for i in 0..50 {
            good.set(i, (1.0 + i as f64) * 1.7e3);
        }
        for i in (0..50).step_by(7) {
            good.set(i, 0.0);
        }
        good.set(3, 2.5e5);
        assert_eq!(good.check_shape(), Ok(()));
        let refused = |f: &dyn Fn(&mut CompositionRejection), want: &str| {
            let mut bad = good.clone();
            f(&mut bad);
            let e = bad.check_shape().unwrap_err();
            assert!(e.contains(want), "{want:?} not in {e:?}");
        };
        refused(&|s| s.slot.truncate(10), "50 rates, 10 slots");
        refused(&|s| s.rates[4] = f64::NAN, "leaf 4 holds NaN");
        refused(&|s| s.rates[5] = -1.0, "leaf 5 holds -1");
        refused(&|s| s.slot[0] = 3, "leaf 0 of rate 0 has a slot");
        refused(&|s| s.slot[1] = 10_000, "leaf 1 is not where its slot says");
        let (g, _) = decompose(good.rates[2]);
        refused(
            &|s| s.groups[g].members[0].mantissa = 1,
            "is not where its slot says",
        );
        refused(&|s| s.groups[g].mantissa_sum += 1, "mantissa sum");
        refused(
            &|s| {
                s.groups[0].members.push(Member {
                    leaf: 0,
                    mantissa: 1 << 52,
                });
                s.groups[0].mantissa_sum += 1 << 52;
                s.group_tree.set(0, group_value(0, 1 << 52));
            },
            "list 43 members for 42 positive rates",
        );
        refused(&|s| s.group_tree.set(g, 1.0), "the group tree holds 1");
        refused(&|s| s.groups.truncate(7), "7 groups");
    }

    #[test]
    fn decompose_is_exact_across_the_range() {
        for &r in &[
            1.0,
            1.5,
            2.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE / 3.0,
            5e-324,
            3.7e-310,
            1e13,
            2.85e5,
        ] {
            let (g, m) = decompose(r);
            // m in [2^52, 2^53) and r == m 2^(g - 1126) exactly: r lies in [2^(g-1074), 2^(g-1073)).
            assert!((1u64 << 52..1u64 << 53).contains(&m), "{r}: mantissa {m}");
            assert_eq!(group_value(g, u128::from(m)), r, "{r}");
        }
        assert_eq!(decompose(5e-324).0, 0);
        assert_eq!(decompose(f64::MAX).0, GROUPS - 1);
    }
}
