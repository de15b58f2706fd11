//! Lennard-Jones 12-6 potential, truncated and (optionally) shifted to zero at the cutoff.

use super::pair::{self, PairFunction};
use super::{Configuration, Evaluation, NeighborList, Potential};

/// `E(r) = 4 ε [(σ/r)^12 − (σ/r)^6] − E_shift` for `r < r_c`, the same for every species pair.
#[derive(Debug, Clone)]
pub struct LennardJones {
    /// Well depth ε in eV.
    pub epsilon_ev: f64,
    /// Length σ in Å.
    pub sigma_a: f64,
    /// Cutoff r_c in Å.
    pub cutoff_a: f64,
    /// Subtract `E(r_c)` so the energy is continuous at the cutoff.
    pub shifted: bool,
    elements: Vec<String>,
    masses: Vec<f64>,
}

impl LennardJones {
    /// A single-element LJ potential.
    pub fn new(element: &str, mass_amu: f64, epsilon_ev: f64, sigma_a: f64, cutoff_a: f64) -> Self {
        LennardJones {
            epsilon_ev,
            sigma_a,
            cutoff_a,
            shifted: true,
            elements: vec![element.to_string()],
            masses: vec![mass_amu],
        }
    }

    /// Argon-like parameters (ε = 0.0104 eV, σ = 3.40 Å, r_c = 2.5 σ, 39.948 amu), for tests.
    pub fn argon() -> Self {
        LennardJones::new("Ar", 39.948, 0.0104, 3.40, 8.5)
    }
}

impl PairFunction for LennardJones {
    fn pair_cutoff(&self) -> f64 {
        self.cutoff_a
    }

    #[inline]
    fn raw(&self, r2: f64) -> (f64, f64) {
        let s2 = self.sigma_a * self.sigma_a / r2;
        let s6 = s2 * s2 * s2;
        let s12 = s6 * s6;
        let e = 4.0 * self.epsilon_ev * (s12 - s6);
        let f_over_r = 24.0 * self.epsilon_ev * (2.0 * s12 - s6) / r2;
        (e, f_over_r)
    }

    fn shift(&self) -> f64 {
        if self.shifted {
            self.raw(self.cutoff_a * self.cutoff_a).0
        } else {
            0.0
        }
    }
}

impl Potential for LennardJones {
    fn cutoff(&self) -> f64 {
        self.cutoff_a
    }

    fn elements(&self) -> &[String] {
        &self.elements
    }

    fn masses(&self) -> &[f64] {
        &self.masses
    }

    fn compute(
        &self,
        conf: &Configuration<'_>,
        neighbors: &NeighborList,
        per_atom: bool,
        out: &mut Evaluation,
    ) {
        pair::compute(self, conf, neighbors, per_atom, out)
    }

    fn site_energies(
        &self,
        conf: &Configuration<'_>,
        neighbors: &NeighborList,
        which: &[u32],
        out: &mut [f64],
    ) {
        pair::site_energies(self, conf, neighbors, which, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::md::SimBox;

    fn fcc(a: f64, n: usize) -> (Vec<[f64; 3]>, SimBox) {
        let mut x = Vec::new();
        for i in 0..n {
            for j in 0..n {
                for k in 0..n {
                    for b in [
                        [0.0, 0.0, 0.0],
                        [0.5, 0.5, 0.0],
                        [0.5, 0.0, 0.5],
                        [0.0, 0.5, 0.5],
                    ] {
                        x.push([
                            (i as f64 + b[0]) * a,
                            (j as f64 + b[1]) * a,
                            (k as f64 + b[2]) * a,
                        ]);
                    }
                }
            }
        }
        (x, SimBox::periodic([a * n as f64; 3]))
    }

    #[test]
    fn dimer_energy_and_force() {
        let lj = LennardJones {
            shifted: false,
            ..LennardJones::argon()
        };
        let r_min = 2f64.powf(1.0 / 6.0) * lj.sigma_a;
        let x = vec![[0.0, 0.0, 0.0], [r_min, 0.0, 0.0]];
        let b = SimBox::open([20.0; 3]);
        let nl = NeighborList::brute_force(&x, &b, lj.cutoff(), 0.0, true);
        let conf = Configuration {
            positions: &x,
            species: &[0, 0],
            simbox: &b,
        };
        let mut out = Evaluation::default();
        lj.compute(&conf, &nl, true, &mut out);
        // At the minimum of the pair curve: E = -ε and zero force.
        assert!((out.energy + lj.epsilon_ev).abs() < 1e-12);
        assert!(out.forces[0][0].abs() < 1e-12 && out.forces[1][0].abs() < 1e-12);
        assert!((out.per_atom[0] - 0.5 * out.energy).abs() < 1e-15);
    }

    #[test]
    fn site_energies_sum_to_total() {
        let (x, b) = fcc(5.26, 3);
        let lj = LennardJones::argon();
        let species = vec![0u8; x.len()];
        let conf = Configuration {
            positions: &x,
            species: &species,
            simbox: &b,
        };
        let half = NeighborList::brute_force(&x, &b, lj.cutoff(), 0.0, true);
        let full = NeighborList::brute_force(&x, &b, lj.cutoff(), 0.0, false);
        let mut out = Evaluation::default();
        lj.compute(&conf, &half, true, &mut out);
        let which: Vec<u32> = (0..x.len() as u32).collect();
        let mut e = vec![0.0; x.len()];
        lj.site_energies(&conf, &full, &which, &mut e);
        let sum: f64 = e.iter().sum();
        assert!((sum - out.energy).abs() < 1e-10 * out.energy.abs());
        // A perfect crystal: every atom has the same energy and zero force.
        for f in &out.forces {
            assert!(f.iter().all(|c| c.abs() < 1e-10));
        }
    }
}
