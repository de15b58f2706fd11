//! Morse pair potential, truncated at a cutoff and shifted to zero there.

use super::{Configuration, Evaluation, NeighborList, Potential};
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
        for (name, value, ok) in [
            ("morse.depth_ev", depth_ev, depth_ev > 0.0),
            ("morse.alpha_per_a", alpha_per_a, alpha_per_a > 0.0),
            ("morse.r0_a", r0_a, r0_a > 0.0),
            ("morse.cutoff_a", cutoff_a, cutoff_a > 0.0),
        ] {
            if !ok || !value.is_finite() {
                return Err(Error::field(
                    name,
                    format!("expected a positive number, found {value}"),
                ));
            }
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
    fn raw(&self, r: f64) -> (f64, f64) {
        let e1 = (-self.alpha_per_a * (r - self.r0_a)).exp();
        let e = self.depth_ev * (e1 * e1 - 2.0 * e1);
        let de_dr = -2.0 * self.alpha_per_a * self.depth_ev * (e1 * e1 - e1);
        (e, -de_dr / r)
    }

    fn shift(&self) -> f64 {
        if self.shifted {
            self.raw(self.cutoff_a).0
        } else {
            0.0
        }
    }

    /// Pair energy (shifted) at distance `r`, zero at and beyond the cutoff.
    pub fn pair_energy(&self, r: f64) -> f64 {
        if r < self.cutoff_a {
            self.raw(r).0 - self.shift()
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
        debug_assert!(neighbors.half, "Morse::compute needs a half neighbour list");
        let n = conf.positions.len();
        out.energy = 0.0;
        out.virial = [0.0; 6];
        out.forces.clear();
        out.forces.resize(n, [0.0; 3]);
        out.per_atom.clear();
        if per_atom {
            out.per_atom.resize(n, 0.0);
        }
        let rc2 = self.cutoff_a * self.cutoff_a;
        let shift = self.shift();
        for i in 0..n {
            for &e in neighbors.of(i) {
                let d = NeighborList::displacement(conf.positions, conf.simbox, i, e);
                let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                if r2 >= rc2 {
                    continue;
                }
                let (eij, f_over_r) = self.raw(r2.sqrt());
                let eij = eij - shift;
                let j = e.j as usize;
                out.energy += eij;
                if per_atom {
                    out.per_atom[i] += 0.5 * eij;
                    out.per_atom[j] += 0.5 * eij;
                }
                for k in 0..3 {
                    out.forces[j][k] += f_over_r * d[k];
                    out.forces[i][k] -= f_over_r * d[k];
                }
                out.virial[0] += f_over_r * d[0] * d[0];
                out.virial[1] += f_over_r * d[1] * d[1];
                out.virial[2] += f_over_r * d[2] * d[2];
                out.virial[3] += f_over_r * d[0] * d[1];
                out.virial[4] += f_over_r * d[0] * d[2];
                out.virial[5] += f_over_r * d[1] * d[2];
            }
        }
    }

    fn site_energies(
        &self,
        conf: &Configuration<'_>,
        neighbors: &NeighborList,
        which: &[u32],
        out: &mut [f64],
    ) {
        debug_assert!(
            !neighbors.half,
            "Morse::site_energies needs a full neighbour list"
        );
        let rc2 = self.cutoff_a * self.cutoff_a;
        let shift = self.shift();
        for (slot, &i) in out.iter_mut().zip(which) {
            let i = i as usize;
            let mut e_i = 0.0;
            for &e in neighbors.of(i) {
                let d = NeighborList::displacement(conf.positions, conf.simbox, i, e);
                let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                if r2 < rc2 {
                    e_i += 0.5 * (self.raw(r2.sqrt()).0 - shift);
                }
            }
            *slot = e_i;
        }
    }
}
