//! Builders of atomic structures in Cartesian space: periodic FCC crystals, FCC spheres cut
//! from the lattice, two particles at a gap, random alloys.

use super::SimBox;
use crate::error::{Error, Result};
use crate::rng::{KmcRng, uniform};

/// Atoms with species in a box.
#[derive(Debug, Clone, PartialEq)]
pub struct Atoms {
    /// Positions in Å.
    pub positions: Vec<[f64; 3]>,
    /// Species indices.
    pub species: Vec<u8>,
    /// The box.
    pub simbox: SimBox,
}

/// The four atoms of the conventional FCC cell, in units of the lattice constant.
pub const FCC_BASIS: [[f64; 3]; 4] = [
    [0.0, 0.0, 0.0],
    [0.5, 0.5, 0.0],
    [0.5, 0.0, 0.5],
    [0.0, 0.5, 0.5],
];

/// The two atoms of the conventional BCC cell, in units of the lattice constant.
pub const BCC_BASIS: [[f64; 3]; 2] = [[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]];

/// A periodic BCC crystal of `cells` conventional cells, all species 0.
pub fn bcc_crystal(a: f64, cells: [usize; 3]) -> Atoms {
    cubic_crystal(a, cells, &BCC_BASIS)
}

/// A Cartesian axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Axis {
    /// x
    X,
    /// y
    Y,
    /// z
    Z,
}

impl Axis {
    /// 0, 1 or 2.
    pub fn index(self) -> usize {
        match self {
            Axis::X => 0,
            Axis::Y => 1,
            Axis::Z => 2,
        }
    }
}

/// A periodic FCC crystal of `cells` conventional cells with lattice constant `a` (Å), all of
/// species 0, cubic axes along x, y, z.
pub fn fcc_crystal(a: f64, cells: [usize; 3]) -> Atoms {
    cubic_crystal(a, cells, &FCC_BASIS)
}

/// A periodic crystal of `cells` cubic cells of edge `a` with `basis` (in units of `a`) in each,
/// all species 0.
fn cubic_crystal(a: f64, cells: [usize; 3], basis: &[[f64; 3]]) -> Atoms {
    let mut positions = Vec::with_capacity(basis.len() * cells[0] * cells[1] * cells[2]);
    for i in 0..cells[0] {
        for j in 0..cells[1] {
            for k in 0..cells[2] {
                for b in basis {
                    positions.push([
                        (i as f64 + b[0]) * a,
                        (j as f64 + b[1]) * a,
                        (k as f64 + b[2]) * a,
                    ]);
                }
            }
        }
    }
    let n = positions.len();
    Atoms {
        positions,
        species: vec![0; n],
        simbox: SimBox::periodic([
            a * cells[0] as f64,
            a * cells[1] as f64,
            a * cells[2] as f64,
        ]),
    }
}

/// The FCC lattice sites (constant `a`) within a sphere of diameter `diameter_a`, centred on an
/// atom at the origin (so the sphere has full cubic symmetry). A site exactly on the surface,
/// to within 1e-9 a, is included.
pub fn fcc_sphere(a: f64, diameter_a: f64) -> Vec<[f64; 3]> {
    let r = 0.5 * diameter_a;
    let r2 = (r + 1e-9 * a) * (r + 1e-9 * a);
    // Sites are (i, j, k) a/2 with i + j + k even.
    let m = (2.0 * r / a).ceil() as i64 + 1;
    let h = 0.5 * a;
    let mut out = Vec::new();
    for i in -m..=m {
        for j in -m..=m {
            for k in -m..=m {
                if (i + j + k).rem_euclid(2) != 0 {
                    continue;
                }
                let x = [i as f64 * h, j as f64 * h, k as f64 * h];
                if x[0] * x[0] + x[1] * x[1] + x[2] * x[2] <= r2 {
                    out.push(x);
                }
            }
        }
    }
    out
}

/// Rotates `positions` by `angle_rad` about `axis` through the origin (right-handed).
pub fn rotate(positions: &mut [[f64; 3]], axis: Axis, angle_rad: f64) {
    let (s, c) = angle_rad.sin_cos();
    let (p, q) = match axis {
        Axis::X => (1, 2),
        Axis::Y => (2, 0),
        Axis::Z => (0, 1),
    };
    for x in positions {
        let (u, v) = (x[p], x[q]);
        x[p] = c * u - s * v;
        x[q] = s * u + c * v;
    }
}

/// Centroid of a set of positions.
pub fn centroid(positions: &[[f64; 3]]) -> [f64; 3] {
    let mut c = [0.0; 3];
    for x in positions {
        for k in 0..3 {
            c[k] += x[k];
        }
    }
    let n = positions.len().max(1) as f64;
    [c[0] / n, c[1] / n, c[2] / n]
}

/// `first` followed by `second` shifted so that the centroids lie on one line along `axis` and
/// the gap between the outermost atoms along `axis`, `min(second) − max(first)`, is `gap_a`.
pub fn pair_along_axis(
    first: &[[f64; 3]],
    second: &[[f64; 3]],
    gap_a: f64,
    axis: Axis,
) -> Vec<[f64; 3]> {
    let ax = axis.index();
    let c1 = centroid(first);
    let c2 = centroid(second);
    let max1 = first
        .iter()
        .map(|x| x[ax])
        .fold(f64::NEG_INFINITY, f64::max);
    let min2 = second.iter().map(|x| x[ax]).fold(f64::INFINITY, f64::min);
    let mut shift = [c1[0] - c2[0], c1[1] - c2[1], c1[2] - c2[2]];
    shift[ax] = max1 + gap_a - min2;
    let mut out = first.to_vec();
    out.extend(
        second
            .iter()
            .map(|x| [x[0] + shift[0], x[1] + shift[1], x[2] + shift[2]]),
    );
    out
}

/// Puts a cluster in an open box with `vacuum_a` of empty space on every side.
pub fn in_open_box(mut positions: Vec<[f64; 3]>, vacuum_a: f64) -> (Vec<[f64; 3]>, SimBox) {
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for x in &positions {
        for k in 0..3 {
            lo[k] = lo[k].min(x[k]);
            hi[k] = hi[k].max(x[k]);
        }
    }
    if positions.is_empty() {
        lo = [0.0; 3];
        hi = [0.0; 3];
    }
    for x in &mut positions {
        for k in 0..3 {
            x[k] += vacuum_a - lo[k];
        }
    }
    let lengths = [
        hi[0] - lo[0] + 2.0 * vacuum_a,
        hi[1] - lo[1] + 2.0 * vacuum_a,
        hi[2] - lo[2] + 2.0 * vacuum_a,
    ];
    (positions, SimBox::open(lengths))
}

/// Exact atom counts of `n` atoms with the given composition `(species, fraction)`, by largest
/// remainder (ties to the earlier entry). Fractions must be non-negative and sum to 1 (within
/// 1e-6).
pub fn exact_counts(n: usize, composition: &[(u8, f64)]) -> Result<Vec<usize>> {
    if composition.is_empty() {
        return Err(Error::field("composition", "is empty"));
    }
    if composition
        .iter()
        .any(|&(_, f)| !(f >= 0.0 && f.is_finite()))
    {
        return Err(Error::field(
            "composition",
            "fractions must be non-negative numbers",
        ));
    }
    let total: f64 = composition.iter().map(|&(_, f)| f).sum();
    if (total - 1.0).abs() > 1e-6 {
        return Err(Error::field(
            "composition",
            format!("fractions sum to {total}, not 1"),
        ));
    }
    let ideal: Vec<f64> = composition.iter().map(|&(_, f)| f * n as f64).collect();
    let mut counts: Vec<usize> = ideal.iter().map(|x| x.floor() as usize).collect();
    let mut left = n.saturating_sub(counts.iter().sum::<usize>());
    let mut order: Vec<usize> = (0..composition.len()).collect();
    order.sort_by(|&a, &b| {
        let ra = ideal[a] - ideal[a].floor();
        let rb = ideal[b] - ideal[b].floor();
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &k in order.iter().cycle() {
        if left == 0 {
            break;
        }
        counts[k] += 1;
        left -= 1;
    }
    Ok(counts)
}

/// Species for `n` atoms with the given composition `(species, fraction)`: exact counts
/// ([`exact_counts`]) in a random order drawn from `rng`.
pub fn random_species(n: usize, composition: &[(u8, f64)], rng: &mut KmcRng) -> Result<Vec<u8>> {
    let counts = exact_counts(n, composition)?;
    let mut species = Vec::with_capacity(n);
    for (k, &(s, _)) in composition.iter().enumerate() {
        species.extend(std::iter::repeat_n(s, counts[k]));
    }
    shuffle(&mut species, rng);
    Ok(species)
}

/// Species of the atoms at `positions` in concentric shells: exact counts ([`exact_counts`]),
/// the first species of `composition` on the atoms nearest the centroid, the next species
/// around it, and so on outwards (an onion; a binary is a core–shell particle). Atoms at the
/// same distance (within 1e-6 Å; an FCC sphere has whole shells of them) are ordered at random
/// from `rng`, so a species that only partly fills a shell takes random sites of it rather than
/// one side.
pub fn shell_species(
    positions: &[[f64; 3]],
    composition: &[(u8, f64)],
    rng: &mut KmcRng,
) -> Result<Vec<u8>> {
    let counts = exact_counts(positions.len(), composition)?;
    let c = centroid(positions);
    let r: Vec<f64> = positions
        .iter()
        .map(|x| ((x[0] - c[0]).powi(2) + (x[1] - c[1]).powi(2) + (x[2] - c[2]).powi(2)).sqrt())
        .collect();
    let mut order: Vec<usize> = (0..positions.len()).collect();
    shuffle(&mut order, rng);
    // Stable: the shuffled order survives within a shell.
    order.sort_by_key(|&i| (r[i] * 1e6).round() as i64);
    let mut species = vec![0u8; positions.len()];
    let mut at = order.iter();
    for (k, &(s, _)) in composition.iter().enumerate() {
        for &i in at.by_ref().take(counts[k]) {
            species[i] = s;
        }
    }
    Ok(species)
}

/// Fisher–Yates shuffle.
pub fn shuffle<T>(v: &mut [T], rng: &mut KmcRng) {
    for i in (1..v.len()).rev() {
        let j = ((uniform(rng) * (i + 1) as f64) as usize).min(i);
        v.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stream, stream};
    use crate::vec3::norm;

    #[test]
    fn sphere_counts_match_shell_sums() {
        // FCC shells around an atom: 12 at a/√2, 6 at a. A sphere of radius a/√2 holds the
        // centre and its 12 nearest neighbours (the surface tolerance keeps them in).
        let a = 4.0;
        assert_eq!(fcc_sphere(a, 2.0 * a / 2f64.sqrt()).len(), 13);
        // Radius a: adds the 6 second neighbours at a → 19.
        assert_eq!(fcc_sphere(a, 2.0 * a).len(), 19);
    }

    #[test]
    fn crystal_and_pair_geometry() {
        let c = fcc_crystal(3.6, [2, 3, 4]);
        assert_eq!(c.positions.len(), 4 * 24);
        assert_eq!(c.simbox.lengths, [7.2, 3.6 * 3.0, 3.6 * 4.0]);
        let s = fcc_sphere(4.0, 12.0);
        let p = pair_along_axis(&s, &s, 3.0, Axis::X);
        let n = s.len();
        let max1 = p[..n].iter().map(|x| x[0]).fold(f64::MIN, f64::max);
        let min2 = p[n..].iter().map(|x| x[0]).fold(f64::MAX, f64::min);
        assert!((min2 - max1 - 3.0).abs() < 1e-12);
        let (q, b) = in_open_box(p, 10.0);
        assert!(
            q.iter().all(
                |x| (0..3).all(|k| x[k] >= 10.0 - 1e-12 && x[k] <= b.lengths[k] - 10.0 + 1e-12)
            )
        );
    }

    #[test]
    fn alloy_counts_are_exact() {
        let mut rng = stream(3, Stream::Md);
        let s = random_species(10, &[(0, 0.25), (1, 0.75)], &mut rng).unwrap();
        // 2.5 / 7.5: remainders tie, the first entry gets the extra atom.
        assert_eq!(s.iter().filter(|&&x| x == 0).count(), 3);
        assert!(random_species(10, &[(0, 0.5)], &mut rng).is_err());
    }

    #[test]
    fn shells_fill_from_the_centre_outwards() {
        let mut rng = stream(5, Stream::Md);
        let x = fcc_sphere(4.0, 16.0);
        let comp = [(2, 0.2), (0, 0.3), (1, 0.5)];
        let s = shell_species(&x, &comp, &mut rng).unwrap();
        let counts = exact_counts(x.len(), &comp).unwrap();
        let r = |i: usize| norm(x[i]);
        for (k, &(sp, _)) in comp.iter().enumerate() {
            assert_eq!(s.iter().filter(|&&v| v == sp).count(), counts[k]);
        }
        // Every atom of an inner species is no farther out than every atom of an outer one.
        for k in 0..comp.len() - 1 {
            let inner = (0..x.len())
                .filter(|&i| s[i] == comp[k].0)
                .map(r)
                .fold(0.0, f64::max);
            let outer = (0..x.len())
                .filter(|&i| s[i] == comp[k + 1].0)
                .map(r)
                .fold(f64::INFINITY, f64::min);
            assert!(inner <= outer + 1e-9, "{k}: {inner} > {outer}");
        }
    }
}
