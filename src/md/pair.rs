//! The force and energy loops shared by every simple pair potential (Lennard-Jones, Morse):
//! a potential supplies `E(r)` and `−(dE/dr)/r`, these loops do the rest.

use super::{Configuration, Evaluation, NeighborList};

/// A pair interaction, the same for every species pair, truncated at a cutoff.
pub trait PairFunction {
    /// Cutoff in Å.
    fn pair_cutoff(&self) -> f64;
    /// Unshifted energy (eV) and `−(dE/dr)/r` (eV/Å²) at squared distance `r2`.
    fn raw(&self, r2: f64) -> (f64, f64);
    /// Energy subtracted from every pair (`E(r_c)` for a shifted potential, else 0).
    fn shift(&self) -> f64;
}

/// Energy, forces, virial (and per-atom energies) of `conf` on a half list.
pub fn compute<P: PairFunction>(
    p: &P,
    conf: &Configuration<'_>,
    neighbors: &NeighborList,
    per_atom: bool,
    out: &mut Evaluation,
) {
    debug_assert!(
        neighbors.half,
        "a pair potential's compute needs a half neighbour list"
    );
    let n = conf.positions.len();
    out.energy = 0.0;
    out.virial = [0.0; 6];
    out.forces.clear();
    out.forces.resize(n, [0.0; 3]);
    out.per_atom.clear();
    if per_atom {
        out.per_atom.resize(n, 0.0);
    }
    let rc2 = p.pair_cutoff() * p.pair_cutoff();
    let shift = p.shift();
    for i in 0..n {
        for &e in neighbors.of(i) {
            let d = NeighborList::displacement(conf.positions, conf.simbox, i, e);
            let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            if r2 >= rc2 {
                continue;
            }
            let (eij, f_over_r) = p.raw(r2);
            let eij = eij - shift;
            let j = e.j as usize;
            out.energy += eij;
            if per_atom {
                out.per_atom[i] += 0.5 * eij;
                out.per_atom[j] += 0.5 * eij;
            }
            for k in 0..3 {
                // d points from i to j; a repulsive pair pushes j along +d.
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

/// Per-atom energies `½ Σ_j E(r_ij)` of the atoms in `which`, on a full list.
pub fn site_energies<P: PairFunction>(
    p: &P,
    conf: &Configuration<'_>,
    neighbors: &NeighborList,
    which: &[u32],
    out: &mut [f64],
) {
    debug_assert!(
        !neighbors.half,
        "a pair potential's site_energies needs a full neighbour list"
    );
    let rc2 = p.pair_cutoff() * p.pair_cutoff();
    let shift = p.shift();
    for (slot, &i) in out.iter_mut().zip(which) {
        let i = i as usize;
        let mut e_i = 0.0;
        for &e in neighbors.of(i) {
            let d = NeighborList::displacement(conf.positions, conf.simbox, i, e);
            let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            if r2 < rc2 {
                e_i += 0.5 * (p.raw(r2).0 - shift);
            }
        }
        *slot = e_i;
    }
}
