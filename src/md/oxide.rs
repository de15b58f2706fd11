//! TiO2 crystals and particles (rutile and anatase) for the LAMMPS backend's oxide potentials.
//!
//! Species 0 is Ti, 1 is O. A particle is cut from the crystal by whole formula units: a Ti
//! whose centre lies inside the sphere comes with its two apical O (the octahedron's long axis:
//! along [110] or [1-10] in rutile, along c in anatase), so every particle
//! is stoichiometric and neutral with fixed charges, which a periodic Ewald sum needs.

use serde::{Deserialize, Serialize};

use super::SimBox;
use super::build::Atoms;
use crate::error::{Error, Result};

/// Species index of Ti in the structures built here.
pub const TI: u8 = 0;
/// Species index of O in the structures built here.
pub const O: u8 = 1;

/// A TiO2 polymorph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TiO2Phase {
    /// Rutile, P4₂/mnm, 2 formula units per tetragonal cell.
    Rutile,
    /// Anatase, I4₁/amd, 4 formula units per body-centred tetragonal cell.
    Anatase,
}

/// Cell parameters of a tetragonal TiO2 cell: `a`, `c` and the one free O coordinate `u`
/// (rutile: O at (u, u, 0); anatase: O at (0, 0, u)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TiO2Cell {
    /// Lattice constant a.
    pub a_a: f64,
    /// Lattice constant c.
    pub c_a: f64,
    /// Fractional O coordinate.
    pub u: f64,
}

impl TiO2Phase {
    /// The measured room-temperature cell: rutile a = 4.5937 Å, c = 2.9587 Å, u = 0.30478;
    /// anatase a = 3.7845 Å, c = 9.5143 Å, u = 0.20806 (Burdett, Hughbanks, Miller, Richardson
    /// and Smith, J. Am. Chem. Soc. 109, 3639 (1987), neutron diffraction at 295 K).
    pub fn experimental_cell(self) -> TiO2Cell {
        match self {
            TiO2Phase::Rutile => TiO2Cell {
                a_a: 4.5937,
                c_a: 2.9587,
                u: 0.30478,
            },
            TiO2Phase::Anatase => TiO2Cell {
                a_a: 3.7845,
                c_a: 9.5143,
                u: 0.20806,
            },
        }
    }

    /// Formula units of the conventional cell, each a Ti and its two apical O, in fractional
    /// coordinates.
    fn units(self, u: f64) -> Vec<[[f64; 3]; 3]> {
        match self {
            TiO2Phase::Rutile => vec![
                [[0.0, 0.0, 0.0], [u, u, 0.0], [-u, -u, 0.0]],
                [
                    [0.5, 0.5, 0.5],
                    [0.5 + u, 0.5 - u, 0.5],
                    [0.5 - u, 0.5 + u, 0.5],
                ],
            ],
            TiO2Phase::Anatase => [
                [0.0, 0.0, 0.0],
                [0.0, 0.5, 0.25],
                [0.5, 0.5, 0.5],
                [0.5, 0.0, 0.75],
            ]
            .iter()
            .map(|t| [*t, [t[0], t[1], t[2] + u], [t[0], t[1], t[2] - u]])
            .collect(),
        }
    }
}

fn check_cell(cell: &TiO2Cell) -> Result<()> {
    for (name, v) in [("a_a", cell.a_a), ("c_a", cell.c_a)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::field(
                format!("cell.{name}"),
                format!("must be a positive length, got {v}"),
            ));
        }
    }
    if !(cell.u > 0.0 && cell.u < 0.5) {
        return Err(Error::field(
            "cell.u",
            format!("must lie in (0, 0.5), got {}", cell.u),
        ));
    }
    Ok(())
}

/// A periodic TiO2 crystal of `cells` conventional cells (x ∥ a, y ∥ a, z ∥ c).
pub fn tio2_crystal(phase: TiO2Phase, cell: &TiO2Cell, cells: [usize; 3]) -> Result<Atoms> {
    check_cell(cell)?;
    if cells.contains(&0) {
        return Err(Error::field("cells", "every count must be at least 1"));
    }
    let scale = [cell.a_a, cell.a_a, cell.c_a];
    let lengths = [0, 1, 2].map(|k| cells[k] as f64 * scale[k]);
    let simbox = SimBox::periodic(lengths);
    let mut positions = Vec::new();
    let mut species = Vec::new();
    for i in 0..cells[0] {
        for j in 0..cells[1] {
            for k in 0..cells[2] {
                for unit in phase.units(cell.u) {
                    for (n, f) in unit.iter().enumerate() {
                        let x = [
                            (i as f64 + f[0]) * scale[0],
                            (j as f64 + f[1]) * scale[1],
                            (k as f64 + f[2]) * scale[2],
                        ];
                        positions.push(simbox.wrap(x));
                        species.push(if n == 0 { TI } else { O });
                    }
                }
            }
        }
    }
    Ok(Atoms {
        positions,
        species,
        simbox,
    })
}

/// A TiO2 particle: the formula units whose Ti lies within `diameter_a / 2` of a Ti at the
/// origin, positions around the origin (see the module docs).
pub fn tio2_sphere(
    phase: TiO2Phase,
    cell: &TiO2Cell,
    diameter_a: f64,
) -> Result<(Vec<[f64; 3]>, Vec<u8>)> {
    check_cell(cell)?;
    if !(diameter_a.is_finite() && diameter_a > 0.0) {
        return Err(Error::field(
            "diameter_nm",
            format!("must be positive, got {} Å", diameter_a),
        ));
    }
    let r = 0.5 * diameter_a;
    let scale = [cell.a_a, cell.a_a, cell.c_a];
    let reach = [0, 1, 2].map(|k| (r / scale[k]).ceil() as i64 + 1);
    let mut positions = Vec::new();
    let mut species = Vec::new();
    for i in -reach[0]..=reach[0] {
        for j in -reach[1]..=reach[1] {
            for k in -reach[2]..=reach[2] {
                for unit in phase.units(cell.u) {
                    let at = |f: [f64; 3]| {
                        [
                            (i as f64 + f[0]) * scale[0],
                            (j as f64 + f[1]) * scale[1],
                            (k as f64 + f[2]) * scale[2],
                        ]
                    };
                    let ti = at(unit[0]);
                    if crate::vec3::norm(ti) > r {
                        continue;
                    }
                    for (n, f) in unit.iter().enumerate() {
                        positions.push(at(*f));
                        species.push(if n == 0 { TI } else { O });
                    }
                }
            }
        }
    }
    Ok((positions, species))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nearest_ti_o(atoms: &Atoms) -> (f64, f64, usize) {
        // Shortest and longest of the six Ti–O bonds of the first Ti, and how many lie below
        // 2.1 Å.
        let b = &atoms.simbox;
        let ti = atoms.positions[0];
        let mut d: Vec<f64> = atoms
            .positions
            .iter()
            .zip(&atoms.species)
            .filter(|(_, s)| **s == O)
            .map(|(x, _)| {
                let mut v = [0.0; 3];
                for k in 0..3 {
                    v[k] = x[k] - ti[k];
                    v[k] -= b.lengths[k] * (v[k] / b.lengths[k]).round();
                }
                crate::vec3::norm(v)
            })
            .collect();
        d.sort_by(f64::total_cmp);
        (d[0], d[5], d.iter().filter(|&&x| x < 2.1).count())
    }

    /// Six O around every Ti at the closed-form bond lengths of each cell (rutile: 4 at
    /// √(2((½ − u)a)² + (c/2)²), 2 at √2·u·a; anatase: 4 at √((a/2)² + ((¼ − u)c)²), 2 at
    /// u·c; with the measured cells 1.9486/1.9800 Å and 1.9339/1.9795 Å); neutral.
    #[test]
    fn tio2_crystals_have_their_octahedra() {
        for phase in [TiO2Phase::Rutile, TiO2Phase::Anatase] {
            let c = phase.experimental_cell();
            let (lo, hi) = match phase {
                TiO2Phase::Rutile => (
                    (2.0 * ((0.5 - c.u) * c.a_a).powi(2) + (0.5 * c.c_a).powi(2)).sqrt(),
                    2f64.sqrt() * c.u * c.a_a,
                ),
                TiO2Phase::Anatase => (
                    ((0.5 * c.a_a).powi(2) + ((0.25 - c.u) * c.c_a).powi(2)).sqrt(),
                    c.u * c.c_a,
                ),
            };
            let atoms = tio2_crystal(phase, &c, [3, 3, 3]).unwrap();
            let n_ti = atoms.species.iter().filter(|&&s| s == TI).count();
            assert_eq!(2 * n_ti, atoms.positions.len() - n_ti);
            let (short, long, six) = nearest_ti_o(&atoms);
            assert_eq!(six, 6, "{phase:?}");
            assert!((short - lo).abs() < 1e-9, "{phase:?} {short} {lo}");
            assert!((long - hi).abs() < 1e-9, "{phase:?} {long} {hi}");
        }
    }

    #[test]
    fn tio2_spheres_are_stoichiometric_and_round() {
        for phase in [TiO2Phase::Rutile, TiO2Phase::Anatase] {
            let (x, s) = tio2_sphere(phase, &phase.experimental_cell(), 20.0).unwrap();
            let n_ti = s.iter().filter(|&&k| k == TI).count();
            assert_eq!(x.len(), 3 * n_ti);
            // Bulk density 4.25 (rutile) and 3.89 g/cm³ (anatase): about 0.032 and 0.029 Ti per
            // Å³, so a 1 nm radius holds roughly 130 and 120 Ti.
            assert!((90..170).contains(&n_ti), "{phase:?} {n_ti}");
            let rmax = x.iter().map(|p| crate::vec3::norm(*p)).fold(0.0, f64::max);
            assert!(rmax < 10.0 + 2.0, "{rmax}");
        }
    }
}
