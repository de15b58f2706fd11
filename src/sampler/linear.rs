//! Linear search over a flat array: the reference sampler for tests.
//!
//! Nothing is cached: `total` is a compensated (Neumaier) sum over all rates each time it is
//! asked for, and `select` scans the rates in order. Both are O(N); `set` is O(1). The point is
//! to be obviously right, not fast.

use super::RateSampler;
use crate::rng::{KmcRng, uniform};

/// Flat array of rates with O(N) select and total, O(1) update.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Linear {
    rates: Vec<f64>,
}

impl Linear {
    /// `n` leaves of rate zero.
    pub fn new(n: usize) -> Self {
        Linear {
            rates: vec![0.0; n],
        }
    }

    /// Checks rates read from outside (a checkpoint): finite and non-negative, as `set`
    /// keeps them (a NaN would make every selection and the clock meaningless).
    pub fn check_shape(&self) -> Result<(), String> {
        match self
            .rates
            .iter()
            .position(|r| !(r.is_finite() && *r >= 0.0))
        {
            Some(i) => Err(format!("linear sampler leaf {i} holds {}", self.rates[i])),
            None => Ok(()),
        }
    }

    /// The leaf picked by the uniform number `u` in `[0, 1)`: the scan of `select`.
    pub fn select_at(&self, u: f64) -> Option<usize> {
        let total = self.total();
        if total <= 0.0 {
            return None;
        }
        let target = u * total;
        let mut prefix = 0.0;
        let mut last_nonzero = None;
        for (i, &r) in self.rates.iter().enumerate() {
            if r > 0.0 {
                prefix += r;
                if target < prefix {
                    return Some(i);
                }
                last_nonzero = Some(i);
            }
        }
        // The plain prefix sum can end a few ulps below the compensated total.
        last_nonzero
    }
}

/// Neumaier's compensated sum: the result is within about one ulp of the exact sum for any
/// number of non-negative terms (error <= 2u|S| + O(n u^2) sum |x_i|).
pub fn compensated_sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut sum = 0.0_f64;
    let mut compensation = 0.0_f64;
    for x in values {
        let t = sum + x;
        if sum.abs() >= x.abs() {
            compensation += (sum - t) + x;
        } else {
            compensation += (x - t) + sum;
        }
        sum = t;
    }
    sum + compensation
}

impl RateSampler for Linear {
    fn len(&self) -> usize {
        self.rates.len()
    }

    fn resize(&mut self, n: usize) {
        self.rates.resize(n, 0.0);
    }

    fn set(&mut self, i: usize, rate: f64) {
        debug_assert!(rate >= 0.0 && rate.is_finite(), "rate {rate}");
        self.rates[i] = rate;
    }

    fn rate(&self, i: usize) -> f64 {
        self.rates[i]
    }

    fn total(&self) -> f64 {
        compensated_sum(self.rates.iter().copied())
    }

    fn select(&self, rng: &mut KmcRng) -> Option<usize> {
        self.select_at(uniform(rng))
    }

    fn assign(&mut self, rates: &[f64]) {
        self.rates.clear();
        self.rates.extend_from_slice(rates);
    }
}
