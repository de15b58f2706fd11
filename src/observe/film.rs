//! Film observables that experiment measures, taken at snapshots: the island size distribution
//! and its scaling form, the density profile along z and the porosity, the grain size and
//! misorientation distributions, and the moment the film first percolates.
//!
//! Definitions ("film atoms" are every atom above the substrate layers, particle grains'
//! included; S is the number of sites per layer):
//!
//! * **island**: a connected set of film atoms, two atoms being connected by a bond: a
//!   nearest-neighbour pair of the film's lattice, or, for an atom of a particle grain, any atom
//!   closer than 1.15 nearest-neighbour distances (1.077 on BCC, halfway to its second shell),
//!   which is the same bond across a grain boundary. Islands of fewer than
//!   [`MIN_ISLAND`] atoms are the mobile population of nucleation theory, not islands.
//! * **size distribution**: `n_s` = islands of s atoms per site (count / S); the mean island
//!   size `<s> = Σ s n_s / Σ n_s` and `θ = Σ s n_s` the coverage held by islands (ML), both over
//!   islands only. The scaled form `n_s <s>² / θ` against `s / <s>` is the collapse of
//!   Amar & Family (Phys. Rev. Lett. 74, 2066 (1995)) and Bartelt & Evans (Phys. Rev. B 46,
//!   12675 (1992)); with θ taken over the same islands its zeroth and first moments are exactly 1.
//! * **density profile**: atoms in film layer k (k = 0 the first layer above the substrate)
//!   over S, the fill fraction. Particle-grain atoms are put in the global layer nearest their
//!   height, which counts a rotated dense crystal as ≈ 1 (a layer of a global lattice holds the
//!   atoms of a slab one layer spacing thick at the bulk density).
//! * **mean height** h: the mean over the S columns of the film layers up to the column's
//!   highest film atom (0 for a bare column); a particle-grain atom belongs to the column of the
//!   global site nearest it in its layer.
//! * **porosity**: `1 − N(h) / (h S)`, with N(h) the film atoms below h (layers k < ⌊h⌋, plus
//!   the fraction h − ⌊h⌋ of layer ⌊h⌋): the empty fraction of the slab between the substrate
//!   top and the mean height. 0 for a perfect slab; NaN for a bare substrate.
//! * **misorientation**: the cubic misorientation angle (0 to 62.8°) between the crystal frames
//!   of two particle grains that touch (an atom of one within the bond distance of an atom of
//!   the other), and of every particle grain against the substrate frame (grain 0).

use super::structure::{AtomSet, CellList};
use crate::grains::Grains;
use crate::lattice::{Lattice, LatticeKind};
use crate::rotation::cubic_misorientation_deg;
use hashbrown::HashMap;
use petgraph::unionfind::UnionFind;
use serde::{Deserialize, Serialize};
use std::io::Write;

/// Smallest island, in atoms (monomers are not islands).
pub const MIN_ISLAND: usize = 2;

/// Width of a misorientation bin, degrees.
pub const MISORIENTATION_BIN_DEG: f64 = 1.0;

/// Largest cubic misorientation, degrees (Mackenzie 1958).
const MAX_CUBIC_MISORIENTATION_DEG: f64 = 62.8;

/// The bond distance over the nearest-neighbour distance: BCC has its second shell at 2/√3 =
/// 1.155 times the first, the others at ≥ √2 (HCP: ≥ 1.35 a over at most 1.155 a); 15 % leaves
/// room for the strained bonds across grain boundaries and stays below every second shell.
fn bond_factor(kind: LatticeKind) -> f64 {
    match kind {
        LatticeKind::Bcc100 | LatticeKind::Bcc110 => 0.5 * (1.0 + 2.0 / 3f64.sqrt()),
        _ => 1.15,
    }
}

/// [`FilmAtoms::site`] of an atom of a particle grain.
pub const NO_SITE: usize = usize::MAX;

/// The film atoms of a snapshot with their grain, film layer and column.
#[derive(Debug, Clone, Default)]
pub struct FilmAtoms {
    /// Positions and species (periodic in x and y).
    pub atoms: AtomSet,
    /// Grain of each atom (0: the film on the global lattice).
    pub grain: Vec<u32>,
    /// Film layer of each atom (0: the first layer above the substrate).
    pub layer: Vec<u32>,
    /// Column (`y · nx + x` of the global lattice) of each atom.
    pub column: Vec<u32>,
    /// Site on the global lattice of each film-grain atom ([`NO_SITE`] for particle grains').
    pub site: Vec<usize>,
    /// Sites per layer of the global lattice.
    pub sites_per_layer: usize,
    /// Bond distance: halfway between the first and second neighbour shells, Å.
    pub bond_cutoff_a: f64,
}

impl FilmAtoms {
    /// Every atom of `grains` above the bottom `substrate_layers` layers of the film.
    pub fn of(grains: &Grains, substrate_layers: usize) -> Self {
        let film = &grains.grain(0).state;
        let lat = film.lattice();
        let ls = lat.layer_size();
        let (nx, _) = lat.grid();
        let d = lat.layer_spacing();
        let mut out = FilmAtoms {
            atoms: AtomSet {
                periodic_xy: Some(lat.box_lengths()),
                ..Default::default()
            },
            sites_per_layer: ls,
            bond_cutoff_a: lat.nn_shell().1 * bond_factor(lat.kind()),
            ..Default::default()
        };
        for (g, idx, p, sp) in super::write::atoms(grains) {
            let (l, col, site) = if g == 0 {
                if idx < substrate_layers * ls {
                    continue;
                }
                let s = lat.site_at(idx);
                (s.l as usize, s.y as usize * nx + s.x as usize, idx)
            } else {
                let l = if d > 0.0 {
                    (p[2] / d).round().max(0.0) as usize
                } else {
                    0
                };
                // Lateral positions repeat every 2 (FCC(100), (110), HCP) or 3 (FCC(111))
                // layers: a layer above the allocation is looked up 6k layers lower.
                let top = lat.layers().saturating_sub(1);
                let ll = if l > top {
                    l - (l - top).div_ceil(6) * 6
                } else {
                    l
                };
                let s = lat.nearest_in_layer(p[0], p[1], ll);
                (l, s.y as usize * nx + s.x as usize, NO_SITE)
            };
            out.atoms.positions.push(p);
            out.atoms.species.push(sp as usize - 1);
            out.grain.push(g as u32);
            // A particle atom is never below the substrate's top; if one were, it would count
            // in the first film layer (every particle atom is a film atom, as in g(r) and XRD).
            out.layer.push(l.saturating_sub(substrate_layers) as u32);
            out.column.push(col as u32);
            out.site.push(site);
        }
        out
    }

    /// Islands (connected sets, see the module documentation) and the pairs of particle grains
    /// that touch. Film atoms are joined by the bonds of `lat` (the film's lattice: O(N) without
    /// geometry, so a film of 10⁷ atoms costs what the series' cluster count does); atoms of
    /// particle grains by distance, to any film atom.
    pub fn islands(&self, lat: &Lattice) -> Islands {
        let n = self.atoms.positions.len();
        let mut uf = UnionFind::<usize>::new(n);
        let index: HashMap<usize, usize> = self
            .site
            .iter()
            .enumerate()
            .filter(|(_, s)| **s != NO_SITE)
            .map(|(i, &s)| (s, i))
            .collect();
        for (i, &s) in self.site.iter().enumerate() {
            if s == NO_SITE {
                continue;
            }
            for (_, m) in lat.neighbors(&lat.site_at(s)) {
                if m.idx > s {
                    if let Some(&j) = index.get(&m.idx) {
                        uf.union(i, j);
                    }
                }
            }
        }
        let mut touching = Vec::new();
        if self.site.contains(&NO_SITE) {
            let cells = CellList::new(&self.atoms, self.bond_cutoff_a);
            for i in (0..n).filter(|&i| self.site[i] == NO_SITE) {
                cells.for_neighbors(&self.atoms, i, self.bond_cutoff_a, |j, _| {
                    // A pair of particle atoms is met from both ends: take it once.
                    if self.site[j] == NO_SITE && j < i {
                        return;
                    }
                    uf.union(i, j);
                    let (a, b) = (self.grain[i], self.grain[j]);
                    if a != b && a > 0 && b > 0 {
                        touching.push((a.min(b), a.max(b)));
                    }
                });
            }
        }
        let mut roots: Vec<usize> = (0..n).map(|k| uf.find(k)).collect();
        roots.sort_unstable();
        let mut sizes: Vec<usize> = roots.chunk_by(|a, b| a == b).map(<[_]>::len).collect();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        touching.sort_unstable();
        touching.dedup();
        Islands { sizes, touching }
    }

    /// The density profile and porosity.
    pub fn profile(&self) -> DensityProfile {
        DensityProfile::new(&self.layer, &self.column, self.sites_per_layer)
    }
}

/// Islands of a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Islands {
    /// Atoms of every connected set, largest first (monomers included).
    pub sizes: Vec<usize>,
    /// Pairs `(a, b)`, a < b, of particle grains with atoms within the bond distance.
    pub touching: Vec<(u32, u32)>,
}

/// The island size distribution and its scaling form (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeDistribution {
    /// `(s, islands of s atoms)`, by s, for s ≥ [`MIN_ISLAND`].
    pub counts: Vec<(usize, usize)>,
    /// Sites per layer.
    pub sites_per_layer: usize,
    /// Mean island size `<s>`, atoms (NaN without islands).
    pub mean_size: f64,
    /// Coverage held by the islands, ML.
    pub coverage_ml: f64,
}

impl SizeDistribution {
    /// The distribution of connected sets of `sizes` atoms on a lattice of `sites_per_layer`
    /// sites per layer.
    pub fn new(sizes: &[usize], sites_per_layer: usize) -> Self {
        let mut s: Vec<usize> = sizes.iter().copied().filter(|&s| s >= MIN_ISLAND).collect();
        s.sort_unstable();
        let counts: Vec<(usize, usize)> =
            s.chunk_by(|a, b| a == b).map(|c| (c[0], c.len())).collect();
        let atoms: usize = s.iter().sum();
        let per_site = sites_per_layer.max(1) as f64;
        SizeDistribution {
            mean_size: if s.is_empty() {
                f64::NAN
            } else {
                atoms as f64 / s.len() as f64
            },
            coverage_ml: atoms as f64 / per_site,
            counts,
            sites_per_layer,
        }
    }

    /// Rows `(s, count, n_s, s / <s>, n_s <s>² / θ)`.
    pub fn rows(&self) -> Vec<(usize, usize, f64, f64, f64)> {
        let m = self.mean_size;
        self.counts
            .iter()
            .map(|&(s, c)| {
                let ns = c as f64 / self.sites_per_layer.max(1) as f64;
                (s, c, ns, s as f64 / m, ns * m * m / self.coverage_ml)
            })
            .collect()
    }

    /// Writes the CSV: a comment line with `<s>`, θ and the island count, then the rows.
    pub fn write_csv(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let islands: usize = self.counts.iter().map(|c| c.1).sum();
        writeln!(
            w,
            "# islands of >= {MIN_ISLAND} atoms: {islands}; mean size <s> = {} atoms; coverage in islands theta = {} ML; {} sites per layer; scaled: n_s <s>^2 / theta against s / <s> (Amar & Family 1995)",
            self.mean_size, self.coverage_ml, self.sites_per_layer
        )?;
        writeln!(w, "{SIZE_CSV_HEADER}")?;
        for (s, c, ns, x, y) in self.rows() {
            writeln!(w, "{s},{c},{ns},{x},{y}")?;
        }
        Ok(())
    }
}

/// Columns of `sizes_<snapshot>.csv`.
pub const SIZE_CSV_HEADER: &str = "size_atoms,count,density_per_site,s_over_mean,scaled_density";

/// The `(s / <s>, n_s <s>² / θ)` points of a `sizes_<snapshot>.csv` file.
pub fn read_scaled(text: &str) -> Vec<(f64, f64)> {
    read_xy(text, 3, 4)
}

/// The scaled distribution of a `sizes_<snapshot>.csv` file in bins of `dx` in x = s / <s>:
/// `(bin centre, f)` with `f = Σ_{s in bin} n_s <s> / θ / dx`, the estimate of the scaling
/// function whose integral is 1. Single sizes are too sparse to compare (a film of a hundred
/// islands has counts of 0 and 1); bins of x are how the scaling collapse is shown.
pub fn scaled_binned(text: &str, dx: f64) -> Vec<(f64, f64)> {
    let sizes = read_xy(text, 0, 3);
    let scaled = read_scaled(text);
    let mut f: Vec<f64> = Vec::new();
    for (&(s, x), &(_, y)) in sizes.iter().zip(&scaled) {
        let k = (x / dx) as usize;
        if f.len() <= k {
            f.resize(k + 1, 0.0);
        }
        // n_s <s>² / θ over <s> = s / x is this size's share of the unit integral.
        f[k] += y * x / s / dx;
    }
    f.iter()
        .enumerate()
        .map(|(k, &v)| ((k as f64 + 0.5) * dx, v))
        .collect()
}

/// Columns `x` and `y` (0-based) of the numeric rows of one of these CSV files (comment and
/// header lines skipped, as are rows where either does not parse).
pub fn read_xy(text: &str, x: usize, y: usize) -> Vec<(f64, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f.get(x)?.parse().ok()?, f.get(y)?.parse().ok()?))
        })
        .collect()
}

/// Fill fraction per film layer, mean height and porosity (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DensityProfile {
    /// Atoms in each film layer, from the first above the substrate.
    pub atoms: Vec<u64>,
    /// Sites per layer.
    pub sites_per_layer: usize,
    /// Mean column height, layers.
    pub mean_height: f64,
    /// `1 − N(h) / (h S)` (NaN for a bare substrate).
    pub porosity: f64,
}

impl DensityProfile {
    /// The profile of atoms in film layers `layer` and columns `column` (parallel lists) on
    /// `sites_per_layer` columns.
    pub fn new(layer: &[u32], column: &[u32], sites_per_layer: usize) -> Self {
        let top = layer.iter().copied().max().map_or(0, |t| t as usize + 1);
        let mut atoms = vec![0u64; top];
        let mut height = vec![0u32; sites_per_layer];
        for (&l, &c) in layer.iter().zip(column) {
            atoms[l as usize] += 1;
            let h = &mut height[c as usize];
            *h = (*h).max(l + 1);
        }
        let s = sites_per_layer.max(1) as f64;
        let h = height.iter().map(|&x| x as f64).sum::<f64>() / s;
        let whole = h.floor() as usize;
        let below: f64 = atoms.iter().take(whole).map(|&a| a as f64).sum::<f64>()
            + atoms
                .get(whole)
                .map_or(0.0, |&a| a as f64 * (h - whole as f64));
        DensityProfile {
            atoms,
            sites_per_layer,
            mean_height: h,
            porosity: if h > 0.0 {
                1.0 - below / (h * s)
            } else {
                f64::NAN
            },
        }
    }

    /// Fill fraction of each film layer.
    pub fn fill(&self) -> Vec<f64> {
        let s = self.sites_per_layer.max(1) as f64;
        self.atoms.iter().map(|&a| a as f64 / s).collect()
    }

    /// Writes the CSV: a comment line with the mean height and porosity, then one row per
    /// film layer (`z_a` is the height above the substrate's top layer).
    pub fn write_csv(&self, w: &mut dyn Write, layer_spacing_a: f64) -> std::io::Result<()> {
        writeln!(
            w,
            "# mean height h = {} layers; porosity = 1 - (film atoms below h) / (h x sites per layer) = {}; {} sites per layer",
            self.mean_height, self.porosity, self.sites_per_layer
        )?;
        writeln!(w, "{PROFILE_CSV_HEADER}")?;
        for (k, f) in self.fill().iter().enumerate() {
            writeln!(
                w,
                "{k},{},{},{},{f}",
                (k + 1) as f64 * layer_spacing_a,
                self.atoms[k],
                self.sites_per_layer
            )?;
        }
        Ok(())
    }
}

/// Columns of `profile_<snapshot>.csv`.
pub const PROFILE_CSV_HEADER: &str = "film_layer,z_a,atoms,sites,fill_fraction";

/// Grain sizes and misorientations of a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GrainStatistics {
    /// `(grain, atoms)` of every particle grain with atoms.
    pub sizes: Vec<(u32, usize)>,
    /// `(a, b, degrees)` of every touching pair of particle grains.
    pub pairs: Vec<(u32, u32, f64)>,
    /// `(grain, degrees)` of every particle grain against the substrate frame.
    pub to_substrate: Vec<(u32, f64)>,
}

impl GrainStatistics {
    /// The statistics of `grains` with film atoms `film` and touching pairs `touching`.
    pub fn new(grains: &Grains, film: &FilmAtoms, touching: &[(u32, u32)]) -> Self {
        let mut atoms = vec![0usize; grains.len()];
        for &g in &film.grain {
            atoms[g as usize] += 1;
        }
        let q = |g: u32| grains.grain(g as usize).frame.rotation;
        let sizes: Vec<(u32, usize)> = (1..grains.len() as u32)
            .filter(|&g| atoms[g as usize] > 0)
            .map(|g| (g, atoms[g as usize]))
            .collect();
        GrainStatistics {
            pairs: touching
                .iter()
                .map(|&(a, b)| (a, b, cubic_misorientation_deg(q(a), q(b))))
                .collect(),
            to_substrate: sizes
                .iter()
                .map(|&(g, _)| (g, cubic_misorientation_deg(q(g), q(0))))
                .collect(),
            sizes,
        }
    }

    /// Writes `grain_sizes_<snapshot>.csv`: grains per size with the diameter of a sphere of
    /// that many atoms of volume `atomic_volume` Å³ each.
    pub fn write_sizes_csv(&self, w: &mut dyn Write, atomic_volume: f64) -> std::io::Result<()> {
        let mut s: Vec<usize> = self.sizes.iter().map(|x| x.1).collect();
        s.sort_unstable();
        let mean = s.iter().sum::<usize>() as f64 / s.len().max(1) as f64;
        writeln!(
            w,
            "# {} particle grains, mean {} atoms; diameter of the sphere of the same volume",
            s.len(),
            mean
        )?;
        writeln!(w, "{GRAIN_SIZE_CSV_HEADER}")?;
        for c in s.chunk_by(|a, b| a == b) {
            let d_nm = 2.0
                * (3.0 * c[0] as f64 * atomic_volume / (4.0 * std::f64::consts::PI)).cbrt()
                / 10.0;
            writeln!(w, "{},{},{d_nm}", c[0], c.len())?;
        }
        Ok(())
    }

    /// Histograms of the two misorientation lists in [`MISORIENTATION_BIN_DEG`] bins.
    pub fn histogram(&self) -> Vec<(f64, usize, usize)> {
        let nb = (MAX_CUBIC_MISORIENTATION_DEG / MISORIENTATION_BIN_DEG).ceil() as usize;
        let mut h = vec![(0usize, 0usize); nb];
        let bin = |a: f64| ((a / MISORIENTATION_BIN_DEG) as usize).min(nb - 1);
        for p in &self.pairs {
            h[bin(p.2)].0 += 1;
        }
        for p in &self.to_substrate {
            h[bin(p.1)].1 += 1;
        }
        h.into_iter()
            .enumerate()
            .map(|(k, (a, b))| (k as f64 * MISORIENTATION_BIN_DEG, a, b))
            .collect()
    }

    /// Writes `misorientation_<snapshot>.csv`.
    pub fn write_misorientation_csv(&self, w: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            w,
            "# cubic misorientation: {} touching pairs of particle grains, {} particle grains against the substrate",
            self.pairs.len(),
            self.to_substrate.len()
        )?;
        writeln!(w, "{MISORIENTATION_CSV_HEADER}")?;
        for (lo, a, b) in self.histogram() {
            writeln!(w, "{lo},{},{a},{b}", lo + MISORIENTATION_BIN_DEG)?;
        }
        Ok(())
    }
}

/// Columns of `grain_sizes_<snapshot>.csv`.
pub const GRAIN_SIZE_CSV_HEADER: &str = "atoms,grains,diameter_nm";

/// Columns of `misorientation_<snapshot>.csv`.
pub const MISORIENTATION_CSV_HEADER: &str = "angle_lo_deg,angle_hi_deg,touching_pairs,to_substrate";

/// The sample at which the film first spanned the box along one direction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Onset {
    /// Simulated time, s.
    pub time_s: f64,
    /// Events executed.
    pub events: u64,
    /// Atoms deposited so far (particles' included) per layer site, ML: the nominal coverage.
    pub deposited_ml: f64,
}

/// The first samples at which the film percolated along x and along y.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PercolationOnset {
    /// Along x.
    pub x: Option<Onset>,
    /// Along y.
    pub y: Option<Onset>,
}

impl PercolationOnset {
    /// True once both directions have percolated (nothing further to look for).
    pub fn complete(&self) -> bool {
        self.x.is_some() && self.y.is_some()
    }

    /// Takes a sample: `percolating` along x and y at `at`. Only the first sample of each
    /// direction is kept, so a film that breaks up and reconnects keeps its first onset.
    pub fn observe(&mut self, percolating: [bool; 2], at: Onset) {
        for (slot, p) in [&mut self.x, &mut self.y].into_iter().zip(percolating) {
            if p && slot.is_none() {
                *slot = Some(at);
            }
        }
    }

    /// One line for people: `x at t = … s (… ML, … events); y not reached`.
    pub fn describe(&self) -> String {
        let one = |o: &Option<Onset>| match o {
            Some(o) => format!(
                "at t = {:.4e} s ({:.4} ML, {} events)",
                o.time_s, o.deposited_ml, o.events
            ),
            None => "not reached".into(),
        };
        format!("x {}; y {}", one(&self.x), one(&self.y))
    }
}

#[cfg(test)]
mod tests;
