//! Surface segregation of a cluster by species: the composition of its surface atoms against
//! that of its interior.
//!
//! A **surface atom** is one with at most [`SURFACE_MAX_CN`] = 9 neighbours closer than
//! r_c = (1 + √2)/2 · d, the definition of [`crate::observe::analyze`], with d the median
//! nearest-neighbour distance of a reference frame ([`nn_distance`]; the MD driver takes the
//! first row's, after any minimisation, as `analyze` does). d is not re-measured on hot frames:
//! the nearest of twelve vibrating neighbours is closer than the mean bond, so a per-frame d
//! would shrink r_c with temperature and count bulk atoms as surface. Every other atom is
//! **interior**. The **enrichment** of
//! species s is its surface fraction minus its fraction of the whole cluster: positive when s
//! segregates to the surface.

use crate::observe::analyze::{CN_CUTOFF_NN, SURFACE_MAX_CN, coordination, median_nn_distance};
use crate::vec3::Vec3;

/// Surface and interior atom counts by species at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segregation {
    /// Surface atoms of each species.
    pub surface: Vec<usize>,
    /// Interior atoms of each species.
    pub interior: Vec<usize>,
}

impl Segregation {
    /// Classifies the atoms (species indices below `n_species`) of a frame with box `lengths`
    /// and periodicity `pbc`, for nearest-neighbour distance `d` (Å; NaN: every atom is surface).
    pub fn of(
        positions: &[Vec3],
        species: &[u8],
        n_species: usize,
        lengths: [f64; 3],
        pbc: [bool; 3],
        d: f64,
    ) -> Self {
        let mut out = Segregation {
            surface: vec![0; n_species],
            interior: vec![0; n_species],
        };
        let cn = if d.is_finite() {
            coordination(positions, lengths, pbc, CN_CUTOFF_NN * d)
        } else {
            // No atom has a neighbour: all are surface.
            vec![0; positions.len()]
        };
        for (c, &s) in cn.iter().zip(species) {
            let s = s as usize;
            if s >= n_species {
                continue;
            }
            if *c <= SURFACE_MAX_CN {
                out.surface[s] += 1;
            } else {
                out.interior[s] += 1;
            }
        }
        out
    }

    /// Surface atoms.
    pub fn surface_atoms(&self) -> usize {
        self.surface.iter().sum()
    }

    /// Interior atoms.
    pub fn interior_atoms(&self) -> usize {
        self.interior.iter().sum()
    }

    /// Fraction of the surface atoms that are of each species (NaN without surface atoms).
    pub fn surface_fraction(&self) -> Vec<f64> {
        fractions(&self.surface)
    }

    /// Fraction of the interior atoms that are of each species (NaN without interior atoms).
    pub fn interior_fraction(&self) -> Vec<f64> {
        fractions(&self.interior)
    }

    /// Surface fraction minus whole-cluster fraction, per species.
    pub fn enrichment(&self) -> Vec<f64> {
        let all: Vec<usize> = self
            .surface
            .iter()
            .zip(&self.interior)
            .map(|(a, b)| a + b)
            .collect();
        self.surface_fraction()
            .iter()
            .zip(fractions(&all))
            .map(|(s, t)| s - t)
            .collect()
    }

    /// The CSV row of this instant after `step,time_ps` (see [`segregation_header`]).
    pub fn csv(&self, step: u64, time_ps: f64) -> String {
        let mut row = format!(
            "{step},{time_ps},{},{}",
            self.surface_atoms(),
            self.interior_atoms()
        );
        for v in [
            self.surface_fraction(),
            self.interior_fraction(),
            self.enrichment(),
        ] {
            for x in v {
                row.push_str(&format!(",{x}"));
            }
        }
        row
    }
}

/// The nearest-neighbour distance d of a frame: the median over atoms of the distance to the
/// nearest neighbour (NaN if no atom has one within 4 Å).
pub fn nn_distance(positions: &[Vec3], lengths: [f64; 3], pbc: [bool; 3]) -> f64 {
    median_nn_distance(positions, lengths, pbc)
}

fn fractions(counts: &[usize]) -> Vec<f64> {
    let n: usize = counts.iter().sum();
    counts
        .iter()
        .map(|&c| if n > 0 { c as f64 / n as f64 } else { f64::NAN })
        .collect()
}

/// Header of `segregation.csv`: `step,time_ps,surface_atoms,interior_atoms`, then
/// `surface_fraction_<El>`, `interior_fraction_<El>` and `enrichment_<El>` for each element.
pub fn segregation_header(elements: &[String]) -> String {
    let mut h = String::from("step,time_ps,surface_atoms,interior_atoms");
    for prefix in ["surface_fraction", "interior_fraction", "enrichment"] {
        for e in elements {
            h.push_str(&format!(",{prefix}_{e}"));
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::md::build::fcc_sphere;

    #[test]
    fn a_cuboctahedron_has_one_interior_atom() {
        // 13 atoms: the centre (12 neighbours) and its 12 nearest neighbours (5 each).
        let x = fcc_sphere(4.0, 2.0 * 4.0 / 2f64.sqrt());
        let mut species = vec![1u8; x.len()];
        species[0] = 0;
        let centre = x.iter().position(|p| p == &[0.0, 0.0, 0.0]).unwrap();
        species.swap(0, centre);
        let x: Vec<Vec3> = x
            .iter()
            .map(|p| [p[0] + 20.0, p[1] + 20.0, p[2] + 20.0])
            .collect();
        let d = nn_distance(&x, [40.0; 3], [false; 3]);
        assert!((d - 4.0 / 2f64.sqrt()).abs() < 1e-12);
        let g = Segregation::of(&x, &species, 2, [40.0; 3], [false; 3], d);
        assert_eq!(g.surface, vec![0, 12]);
        assert_eq!(g.interior, vec![1, 0]);
        assert_eq!(g.enrichment()[1], 1.0 - 12.0 / 13.0);
        assert_eq!(
            segregation_header(&["A".into(), "B".into()]),
            "step,time_ps,surface_atoms,interior_atoms,surface_fraction_A,surface_fraction_B,\
             interior_fraction_A,interior_fraction_B,enrichment_A,enrichment_B"
        );
    }
}
