//! The cubic interpolation LAMMPS applies to tabulated EAM functions (`pair_style eam`,
//! `PairEAM::interpolate`): on a uniform grid, each interval gets a cubic through its two end
//! values with end slopes from a fourth-order central difference (second-order and one-sided near
//! the ends). The result is C¹, and the derivative is the exact derivative of the cubic, so
//! forces are the exact gradient of the interpolated energy.
//!
//! Coefficients are stored per interval in LAMMPS's layout so values and derivatives come out
//! bit for bit as LAMMPS computes them: with `p ∈ [0, 1]` the position inside interval `m`,
//! `value = ((c[3] p + c[4]) p + c[5]) p + c[6]` and
//! `derivative = (c[0] p + c[1]) p + c[2]` (per unit of the tabulated variable).

/// The seven coefficients of one interval, padded to a 64-byte cache line.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[repr(C, align(64))]
pub struct Knot(pub [f64; 7]);

/// A tabulated function on the grid `x_m = (m - 1) · delta`, `m = 1 ..= n` (LAMMPS indexing;
/// slot 0 is unused).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spline {
    /// Coefficients, index `1 ..= n`.
    pub knots: Vec<Knot>,
}

impl Spline {
    /// Fits `values[k]` = f(k · delta), `k = 0 .. n`, as LAMMPS does. Needs `n >= 5`.
    pub fn new(values: &[f64], delta: f64) -> Self {
        let n = values.len();
        assert!(n >= 5, "a spline needs at least 5 points");
        let mut s = vec![[0.0f64; 7]; n + 1];
        for m in 1..=n {
            s[m][6] = values[m - 1];
        }
        s[1][5] = s[2][6] - s[1][6];
        s[2][5] = 0.5 * (s[3][6] - s[1][6]);
        s[n - 1][5] = 0.5 * (s[n][6] - s[n - 2][6]);
        s[n][5] = s[n][6] - s[n - 1][6];
        for m in 3..=n - 2 {
            s[m][5] = ((s[m - 2][6] - s[m + 2][6]) + 8.0 * (s[m + 1][6] - s[m - 1][6])) / 12.0;
        }
        for m in 1..n {
            s[m][4] = 3.0 * (s[m + 1][6] - s[m][6]) - 2.0 * s[m][5] - s[m + 1][5];
            s[m][3] = s[m][5] + s[m + 1][5] - 2.0 * (s[m + 1][6] - s[m][6]);
        }
        s[n][4] = 0.0;
        s[n][3] = 0.0;
        for m in 1..=n {
            s[m][2] = s[m][5] / delta;
            s[m][1] = 2.0 * s[m][4] / delta;
            s[m][0] = 3.0 * s[m][3] / delta;
        }
        Spline {
            knots: s.into_iter().map(Knot).collect(),
        }
    }

    /// Value in interval `m` at fraction `p`.
    #[inline(always)]
    pub fn value(&self, m: usize, p: f64) -> f64 {
        let c = &self.knots[m].0;
        ((c[3] * p + c[4]) * p + c[5]) * p + c[6]
    }

    /// Derivative in interval `m` at fraction `p`.
    #[inline(always)]
    pub fn derivative(&self, m: usize, p: f64) -> f64 {
        let c = &self.knots[m].0;
        (c[0] * p + c[1]) * p + c[2]
    }

    /// Value and derivative in interval `m` at fraction `p`.
    #[inline(always)]
    pub fn both(&self, m: usize, p: f64) -> (f64, f64) {
        let c = &self.knots[m].0;
        (
            ((c[3] * p + c[4]) * p + c[5]) * p + c[6],
            (c[0] * p + c[1]) * p + c[2],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_a_cubic_inside_and_is_continuous() {
        // The 5-point slope estimate is exact for cubics, so away from the ends the spline
        // reproduces a cubic exactly (up to rounding).
        let f = |x: f64| 0.3 * x * x * x - x * x + 2.0 * x - 1.0;
        let df = |x: f64| 0.9 * x * x - 2.0 * x + 2.0;
        let delta = 0.1;
        let v: Vec<f64> = (0..40).map(|k| f(k as f64 * delta)).collect();
        let s = Spline::new(&v, delta);
        for m in 3..36 {
            for p in [0.0, 0.25, 0.7] {
                let x = (m as f64 - 1.0 + p) * delta;
                assert!((s.value(m, p) - f(x)).abs() < 1e-12);
                assert!((s.derivative(m, p) - df(x)).abs() < 1e-11);
            }
            // C¹ at the knots.
            assert!((s.value(m, 1.0) - s.value(m + 1, 0.0)).abs() < 1e-13);
            assert!((s.derivative(m, 1.0) - s.derivative(m + 1, 0.0)).abs() < 1e-12);
        }
    }
}
