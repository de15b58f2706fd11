//! Statistics for the integration tests: sample moments, the chi-square, Student-t and normal
//! tails (from statrs), the Kolmogorov–Smirnov tail (not in statrs), and assertions that state
//! their confidence.
//!
//! Every statistical assertion in tests/ goes through `assert_within` (a σ known from theory)
//! or `assert_mean_within` / `assert_mean_above` (σ estimated from the spread of several seeds,
//! confidence from Student's t with n − 1 degrees of freedom), so a failure message always
//! prints the value, its σ, k and the two-sided confidence that k·σ implies.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal, StudentsT};

// ---------------------------------------------------------------------------------------------
// Sample moments.

pub fn mean(x: &[f64]) -> f64 {
    assert!(!x.is_empty(), "mean of no samples");
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample standard deviation (n − 1 in the denominator).
pub fn sample_sd(x: &[f64]) -> f64 {
    assert!(x.len() >= 2, "a standard deviation needs two samples");
    let m = mean(x);
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
}

/// Standard error of the mean, s / √n.
pub fn std_error(x: &[f64]) -> f64 {
    sample_sd(x) / (x.len() as f64).sqrt()
}

/// Means of `blocks` consecutive blocks of a correlated series (the remainder is dropped):
/// blocks much longer than the correlation time are nearly independent samples.
pub fn block_means(series: &[f64], blocks: usize) -> Vec<f64> {
    let len = series.len() / blocks;
    assert!(len >= 1, "{} samples in {blocks} blocks", series.len());
    series.chunks_exact(len).take(blocks).map(mean).collect()
}

/// Least-squares slope of y against x.
pub fn slope(pts: &[(f64, f64)]) -> f64 {
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    sxy / sxx
}

// ---------------------------------------------------------------------------------------------
// Tails of the distributions the tests use (statrs; the tables they are checked against are in
// tests/samplers.rs, `statistics_helpers_match_tables`).

/// p-value of a chi-square statistic with `df` degrees of freedom.
pub fn chi_square_p(chi2: f64, df: usize) -> f64 {
    ChiSquared::new(df as f64).expect("df >= 1").sf(chi2)
}

/// The upper-α quantile of chi-square with `df` degrees of freedom.
pub fn chi_square_quantile(alpha: f64, df: usize) -> f64 {
    ChiSquared::new(df as f64)
        .expect("df >= 1")
        .inverse_cdf(1.0 - alpha)
}

/// Two-sided confidence of a normal variable within k σ of its mean, erf(k/√2).
pub fn normal_confidence(k: f64) -> f64 {
    statrs::function::erf::erf(k / std::f64::consts::SQRT_2)
}

/// Two-sided confidence of Student's t with `df` degrees of freedom within ±k.
pub fn student_t_confidence(k: f64, df: usize) -> f64 {
    let t = StudentsT::new(0.0, 1.0, df as f64).expect("df >= 1");
    t.cdf(k) - t.cdf(-k)
}

/// Kolmogorov distribution tail Q_KS(λ) = 2 Σ (-1)^(k-1) exp(-2 k² λ²).
pub fn kolmogorov_q(lambda: f64) -> f64 {
    if lambda < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    let mut sign = 1.0;
    for k in 1..=100 {
        let term = (-2.0 * (k * k) as f64 * lambda * lambda).exp();
        sum += sign * term;
        if term < 1e-17 {
            break;
        }
        sign = -sign;
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// One-sample Kolmogorov–Smirnov test of `samples` against the CDF `cdf`: (D, p-value), with
/// Stephens' small-sample correction λ = (√n + 0.12 + 0.11/√n) D.
pub fn ks_test(samples: &mut [f64], cdf: impl Fn(f64) -> f64) -> (f64, f64) {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = samples.len() as f64;
    let mut d: f64 = 0.0;
    for (i, &x) in samples.iter().enumerate() {
        let f = cdf(x);
        d = d.max(f - i as f64 / n).max((i + 1) as f64 / n - f);
    }
    let sqrt_n = n.sqrt();
    (d, kolmogorov_q((sqrt_n + 0.12 + 0.11 / sqrt_n) * d))
}

// ---------------------------------------------------------------------------------------------
// Assertions that state their confidence.

/// Why |x − expected| may reach k·σ: σ known from theory (normal) or estimated from n seeds.
#[derive(Debug, Clone, Copy)]
pub enum Sigma {
    /// σ of x from theory or from an independent estimate with many degrees of freedom.
    Known(f64),
    /// Standard error of a mean over `n` independent samples, estimated from their spread.
    Estimated { se: f64, n: usize },
}

impl Sigma {
    fn value(self) -> f64 {
        match self {
            Sigma::Known(s) | Sigma::Estimated { se: s, .. } => s,
        }
    }

    /// Two-sided confidence that a correct x lies within k of these σ.
    pub fn confidence(self, k: f64) -> f64 {
        match self {
            Sigma::Known(_) => normal_confidence(k),
            Sigma::Estimated { n, .. } => student_t_confidence(k, n - 1),
        }
    }
}

/// Result of a check, for tests that must show that a wrong value fails the same checker.
pub fn within(x: f64, expected: f64, sigma: Sigma, k: f64) -> Result<(), String> {
    let s = sigma.value();
    let dev = (x - expected).abs();
    if dev <= k * s {
        Ok(())
    } else {
        Err(format!(
            "{x:.6} vs expected {expected:.6}: |Δ| = {dev:.3e} = {:.2} σ > k = {k} (σ = {s:.3e}, \
             {sigma:?}; two-sided confidence {:.5}, α = {:.2e})",
            dev / s,
            sigma.confidence(k),
            1.0 - sigma.confidence(k)
        ))
    }
}

/// |x − expected| ≤ k·σ, panicking with x, σ, k and the confidence k·σ implies.
#[track_caller]
pub fn assert_within(what: &str, x: f64, expected: f64, sigma: Sigma, k: f64) {
    if let Err(msg) = within(x, expected, sigma, k) {
        panic!("{what}: {msg}");
    }
    eprintln!(
        "{what}: {x:.6} vs {expected:.6}, |Δ| = {:.2} σ (σ = {:.3e}) ≤ k = {k} \
         (confidence {:.5})",
        (x - expected).abs() / sigma.value(),
        sigma.value(),
        sigma.confidence(k)
    );
}

/// The mean of independent `samples` (one per seed) lies within k standard errors of
/// `expected`; returns (mean, standard error).
#[track_caller]
pub fn assert_mean_within(what: &str, samples: &[f64], expected: f64, k: f64) -> (f64, f64) {
    let (m, se) = (mean(samples), std_error(samples));
    let sigma = Sigma::Estimated {
        se,
        n: samples.len(),
    };
    if let Err(msg) = within(m, expected, sigma, k) {
        panic!("{what}: mean of {samples:?}: {msg}");
    }
    eprintln!(
        "{what}: mean {m:.6} ± {se:.3e} (n = {}, samples {samples:?}) vs {expected:.6}: {:.2} \
         standard errors ≤ k = {k} (confidence {:.5})",
        samples.len(),
        (m - expected).abs() / se,
        sigma.confidence(k)
    );
    (m, se)
}

/// The mean of independent `samples` exceeds `bound` by more than k standard errors (one-sided:
/// a mean at the bound passes with probability (1 − confidence)/2); returns (mean, standard
/// error).
#[track_caller]
pub fn assert_mean_above(what: &str, samples: &[f64], bound: f64, k: f64) -> (f64, f64) {
    let (m, se) = (mean(samples), std_error(samples));
    let conf = 1.0 - (1.0 - student_t_confidence(k, samples.len() - 1)) / 2.0;
    assert!(
        m - bound > k * se,
        "{what}: mean {m:.6} ± {se:.3e} of {samples:?} is not k = {k} standard errors above \
         {bound:.6} (one-sided confidence {conf:.5})"
    );
    eprintln!(
        "{what}: mean {m:.6} ± {se:.3e} (n = {}) is {:.1} standard errors above {bound:.6} \
         (k = {k}, one-sided confidence {conf:.5})",
        samples.len(),
        (m - bound) / se
    );
    (m, se)
}

/// k for a two-sided normal confidence 1 − α.
pub fn normal_k(alpha: f64) -> f64 {
    Normal::standard().inverse_cdf(1.0 - alpha / 2.0)
}

/// k for a two-sided Student-t confidence 1 − α with `df` degrees of freedom.
pub fn student_t_k(alpha: f64, df: usize) -> f64 {
    StudentsT::new(0.0, 1.0, df as f64)
        .expect("df >= 1")
        .inverse_cdf(1.0 - alpha / 2.0)
}

// ---------------------------------------------------------------------------------------------
// The binary and scratch directories.

/// The `kmc` binary of this build.
pub fn kmc() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_kmc"))
}

/// An empty scratch directory `kmc-<tag>-<pid>-<name>` under the system's temp directory
/// (the pid keeps concurrent test runs apart).
pub fn scratch_dir(tag: &str, name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("kmc-{tag}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
