//! Morse pair potential, truncated at a cutoff and shifted to zero there.

use super::pair::{self, PairFunction};
use super::{Configuration, Evaluation, NeighborList, Potential};
use crate::io::validate::positive;
use crate::{Error, Result};

fn is_positive(x: f64) -> bool {
    x > 0.0
}

/// `E(r) = D [e^{−2α(r − r0)} − 2 e^{−α(r − r0)}] − E_shift` for `r < r_c`, the same for every
/// species pair. With `shifted`, `E_shift = E(r_c)` so the energy is continuous at the cutoff
/// (the force is not).
#[derive(Debug, Clone)]
pub struct Morse {
    /// Well depth D, eV.
    pub depth_ev: f64,
    /// Stiffness α, 1/Å.
    pub alpha_per_a: f64,
    /// Equilibrium distance r0, Å.
    pub r0_a: f64,
    /// Cutoff r_c, Å.
    pub cutoff_a: f64,
    /// Subtract `E(r_c)` so the energy is continuous at the cutoff.
    pub shifted: bool,
    elements: Vec<String>,
    masses: Vec<f64>,
}

impl Morse {
    /// A Morse potential for the given elements (all pairs alike).
    pub fn new(
        elements: &[(&str, f64)],
        depth_ev: f64,
        alpha_per_a: f64,
        r0_a: f64,
        cutoff_a: f64,
    ) -> Result<Self> {
        if elements.is_empty() {
            return Err(Error::field(
                "morse.elements",
                "expected at least one element",
            ));
        }
        for (name, value) in [
            ("morse.depth_ev", depth_ev),
            ("morse.alpha_per_a", alpha_per_a),
            ("morse.r0_a", r0_a),
            ("morse.cutoff_a", cutoff_a),
        ] {
            positive(name, value)?;
        }
        if elements.iter().any(|(_, m)| !is_positive(*m)) {
            return Err(Error::field("morse.elements", "masses must be positive"));
        }
        Ok(Morse {
            depth_ev,
            alpha_per_a,
            r0_a,
            cutoff_a,
            shifted: true,
            elements: elements.iter().map(|(n, _)| n.to_string()).collect(),
            masses: elements.iter().map(|(_, m)| *m).collect(),
        })
    }

    /// Copper from Girifalco & Weizer, Phys. Rev. 114, 687 (1959): D = 0.3429 eV,
    /// α = 1.3588 Å⁻¹, r0 = 2.866 Å; cutoff 7 Å here.
    pub fn copper() -> Self {
        Morse::new(&[("Cu", 63.546)], 0.3429, 1.3588, 2.866, 7.0)
            .expect("literature parameters are valid")
    }

    /// Unshifted energy and `-(dE/dr)/r` at distance `r`.
    #[inline]
    fn raw_r(&self, r: f64) -> (f64, f64) {
        let e1 = (-self.alpha_per_a * (r - self.r0_a)).exp();
        let e = self.depth_ev * (e1 * e1 - 2.0 * e1);
        let de_dr = -2.0 * self.alpha_per_a * self.depth_ev * (e1 * e1 - e1);
        (e, -de_dr / r)
    }

    /// Pair energy (shifted) at distance `r`, zero at and beyond the cutoff.
    pub fn pair_energy(&self, r: f64) -> f64 {
        if r < self.cutoff_a {
            self.raw_r(r).0 - PairFunction::shift(self)
        } else {
            0.0
        }
    }
}

impl PairFunction for Morse {
    fn pair_cutoff(&self) -> f64 {
        self.cutoff_a
    }

    #[inline]
    fn raw(&self, r2: f64) -> (f64, f64) {
        self.raw_r(r2.sqrt())
    }

    fn shift(&self) -> f64 {
        if self.shifted {
            self.raw_r(self.cutoff_a).0
        } else {
            0.0
        }
    }
}

impl Potential for Morse {
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

    fn eval(m: &Morse, x: &[[f64; 3]], b: &SimBox) -> Evaluation {
        let nl = NeighborList::build(x, b, m.cutoff(), 0.5, true);
        let species = vec![0u8; x.len()];
        let conf = Configuration {
            positions: x,
            species: &species,
            simbox: b,
        };
        let mut out = Evaluation::default();
        m.compute(&conf, &nl, true, &mut out);
        out
    }

    #[test]
    fn dimer_minimum_and_shift() {
        let m = Morse::copper();
        let b = SimBox::open([20.0; 3]);
        let out = eval(&m, &[[0.0; 3], [m.r0_a, 0.0, 0.0]], &b);
        // At r0 the unshifted energy is −D and the force vanishes.
        let shift = m.raw_r(m.cutoff_a).0;
        assert!((out.energy - (-m.depth_ev - shift)).abs() < 1e-14);
        assert!(out.forces[0][0].abs() < 1e-14);
        // Continuous at the cutoff, zero beyond.
        assert!(m.pair_energy(m.cutoff_a * (1.0 - 1e-12)).abs() < 1e-12);
        assert_eq!(m.pair_energy(m.cutoff_a), 0.0);
        let far = eval(&m, &[[0.0; 3], [7.5, 0.0, 0.0]], &b);
        assert_eq!(far.energy, 0.0);
    }

    #[test]
    fn forces_virial_and_site_energies_are_consistent() {
        let m = Morse::copper();
        let b = SimBox::periodic([9.0, 9.5, 10.0]);
        let x: Vec<[f64; 3]> = (0..40)
            .map(|i| {
                let t = i as f64;
                [
                    (t * 2.3 + 0.1 * (t * 0.7).sin()) % 9.0,
                    (t * 1.7 + 0.2 * (t * 1.3).cos()) % 9.5,
                    (t * 3.1) % 10.0,
                ]
            })
            .collect();
        let out = eval(&m, &x, &b);
        let h = 1e-6;
        for i in [0, 7, 23] {
            for k in 0..3 {
                let mut y = x.clone();
                y[i][k] += h;
                let ep = eval(&m, &y, &b).energy;
                y[i][k] -= 2.0 * h;
                let em = eval(&m, &y, &b).energy;
                let fd = -(ep - em) / (2.0 * h);
                assert!((fd - out.forces[i][k]).abs() < 1e-6 * (1.0 + fd.abs()));
            }
        }
        // W_xx = −dE/dε for x → (1 + ε) x with the box.
        let strained = |eps: f64| {
            let y: Vec<[f64; 3]> = x.iter().map(|p| [p[0] * (1.0 + eps), p[1], p[2]]).collect();
            let mut bb = b;
            bb.lengths[0] *= 1.0 + eps;
            eval(&m, &y, &bb).energy
        };
        let fd = -(strained(h) - strained(-h)) / (2.0 * h);
        assert!((fd - out.virial[0]).abs() < 1e-6 * (1.0 + fd.abs()));
        let full = NeighborList::build(&x, &b, m.cutoff(), 0.0, false);
        let species = vec![0u8; x.len()];
        let conf = Configuration {
            positions: &x,
            species: &species,
            simbox: &b,
        };
        let which: Vec<u32> = (0..x.len() as u32).collect();
        let mut e = vec![0.0; x.len()];
        m.site_energies(&conf, &full, &which, &mut e);
        for (a, b) in e.iter().zip(&out.per_atom) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(Morse::new(&[("Cu", 63.5)], -1.0, 1.0, 2.5, 6.0).is_err());
        assert!(Morse::new(&[("Cu", 0.0)], 1.0, 1.0, 2.5, 6.0).is_err());
        assert!(Morse::new(&[], 1.0, 1.0, 2.5, 6.0).is_err());
    }
}
