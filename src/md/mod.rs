//! Molecular dynamics: potentials, neighbour lists, integrators, minimisers, Metropolis moves.
//!
//! Units: Å, eV, amu, fs (see [`crate::units`] for the conversion factors).
//!
//! The seams are the [`Potential`] trait and the [`NeighborList`] it reads; everything else is
//! concrete code.

pub mod bench;
pub mod build;
pub mod eam;
pub mod geometry;
pub mod integrate;
#[cfg(feature = "lammps")]
pub mod lammps;
pub mod lammps_config;
pub mod lj;
pub mod mc;
pub mod minimize;
pub mod morse;
pub mod neb;
pub mod neighbor;
pub mod oxide;
pub mod pair;
pub mod system;
pub mod traj;
pub mod zhou04;

use crate::error::{Error, Result};

pub use eam::{Eam, Funcfl, Setfl};
#[cfg(feature = "lammps")]
pub use lammps::{Lammps, LammpsSpec};
pub use lammps_config::LammpsPotentialSpec;
pub use morse::Morse;
pub use neighbor::{NeighborEntry, NeighborList};
pub use zhou04::Zhou04;

/// An orthorhombic box `[0, L_x) × [0, L_y) × [0, L_z)`, periodic or open along each axis.
///
/// Along a periodic axis positions are kept in `[0, L)`; along an open axis they may take any
/// value and `L` is only a size hint.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SimBox {
    /// Edge lengths in Å.
    pub lengths: [f64; 3],
    /// Periodicity per axis.
    pub periodic: [bool; 3],
}

impl SimBox {
    /// A fully periodic box.
    pub fn periodic(lengths: [f64; 3]) -> Self {
        SimBox {
            lengths,
            periodic: [true; 3],
        }
    }

    /// An open box (a cluster in vacuum); `lengths` only bound the initial positions.
    pub fn open(lengths: [f64; 3]) -> Self {
        SimBox {
            lengths,
            periodic: [false; 3],
        }
    }

    /// Refuses a periodic length that is not positive and finite (a zero box puts every atom
    /// on its own images: infinite energies). Lengths of open axes are only size hints.
    pub fn validate(&self) -> Result<()> {
        for k in 0..3 {
            let l = self.lengths[k];
            if self.periodic[k] && !(l > 0.0 && l.is_finite()) {
                return Err(Error::field(
                    format!("box_a[{k}]"),
                    format!(
                        "the box length along the periodic {} axis is {l} Å; it must be positive \
                         and finite",
                        ["x", "y", "z"][k]
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Volume in Å³.
    pub fn volume(&self) -> f64 {
        self.lengths[0] * self.lengths[1] * self.lengths[2]
    }

    /// Minimum-image displacement `b - a`.
    #[inline]
    pub fn delta(&self, a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
        let mut d = crate::vec3::sub(b, a);
        for k in 0..3 {
            if self.periodic[k] {
                let l = self.lengths[k];
                d[k] -= l * (d[k] / l).round();
            }
        }
        d
    }

    /// Wraps a position into the box along periodic axes.
    #[inline]
    pub fn wrap(&self, mut x: [f64; 3]) -> [f64; 3] {
        for k in 0..3 {
            if self.periodic[k] {
                let l = self.lengths[k];
                x[k] -= l * (x[k] / l).floor();
                if x[k] >= l {
                    x[k] -= l;
                }
            }
        }
        x
    }
}

/// Positions and species of a set of atoms in a box: what a potential needs to evaluate.
#[derive(Debug, Clone, Copy)]
pub struct Configuration<'a> {
    /// Positions in Å.
    pub positions: &'a [[f64; 3]],
    /// Species index of each atom (an index into the potential's element list).
    pub species: &'a [u8],
    /// The box.
    pub simbox: &'a SimBox,
}

/// What a full evaluation returns.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// Total potential energy in eV.
    pub energy: f64,
    /// Per-atom energies in eV (filled only when asked for); they sum to `energy`.
    pub per_atom: Vec<f64>,
    /// Forces in eV/Å.
    pub forces: Vec<[f64; 3]>,
    /// Virial `W_ab = Σ_pairs r_ab f_ab` (eV) in the order xx, yy, zz, xy, xz, yz;
    /// the pressure is `(2 K + W_xx + W_yy + W_zz) / (3 V)`.
    pub virial: [f64; 6],
}

/// Atoms closer than this, Å, coincide for [`check_coincident`]: every potential's energy
/// diverges at r → 0, so a pair this close is an input mistake, not physics.
pub const COINCIDENT_A: f64 = 1e-3;

/// Refuses a non-finite coordinate (before a neighbour list is built from it).
pub fn check_positions(positions: &[[f64; 3]]) -> Result<()> {
    match positions
        .iter()
        .position(|p| p.iter().any(|c| !c.is_finite()))
    {
        Some(i) => Err(Error::field(
            format!("positions[{i}]"),
            format!("atom {i} has a non-finite coordinate {:?}", positions[i]),
        )),
        None => Ok(()),
    }
}

/// Refuses two atoms (or an atom and its own periodic image) closer than [`COINCIDENT_A`],
/// found through `neighbors` (half or full, any cutoff above it), naming the first pair.
pub fn check_coincident(
    positions: &[[f64; 3]],
    simbox: &SimBox,
    neighbors: &NeighborList,
) -> Result<()> {
    for i in 0..neighbors.n_atoms() {
        for &e in neighbors.of(i) {
            let r = crate::vec3::norm(NeighborList::displacement(positions, simbox, i, e));
            if r < COINCIDENT_A {
                let j = e.j as usize;
                let what = if j == i {
                    format!("atom {i} and its own periodic image {:?}", e.image)
                } else {
                    format!("atoms {} and {}", i.min(j), i.max(j))
                };
                return Err(Error::field(
                    "positions",
                    format!(
                        "{what} are {r:.3e} Å apart (closer than {COINCIDENT_A} Å: they \
                         coincide, and the energy would be infinite)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// An interatomic potential.
pub trait Potential: Send + Sync {
    /// Interaction cutoff in Å: pairs with `r >= cutoff` do not interact (strictly, as LAMMPS).
    fn cutoff(&self) -> f64;

    /// Element names, indexed by species.
    fn elements(&self) -> &[String];

    /// Atomic masses in amu, indexed by species.
    fn masses(&self) -> &[f64];

    /// Energy, forces and virial (and per-atom energies if `per_atom`) of `conf`.
    ///
    /// `neighbors` is a **half** list built with a cutoff of at least `self.cutoff()`.
    /// `out` is resized as needed and overwritten.
    fn compute(
        &self,
        conf: &Configuration<'_>,
        neighbors: &NeighborList,
        per_atom: bool,
        out: &mut Evaluation,
    );

    /// Per-atom energies `e_i` of the atoms in `which` only (local work, for Monte Carlo moves):
    /// with `E = Σ_i e_i`, changing atoms `C` changes only `e_i` for `i` in `C` and their
    /// neighbours within the cutoff, so `ΔE` is a sum over that set.
    ///
    /// `neighbors` is a **full** list. `out[k]` receives `e_{which[k]}`.
    fn site_energies(
        &self,
        conf: &Configuration<'_>,
        neighbors: &NeighborList,
        which: &[u32],
        out: &mut [f64],
    );
}
