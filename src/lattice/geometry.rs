//! Positions of each lattice kind and the numerical derivation of its offset tables.

use super::{ClassTables, HopGeometry, Offset};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The lattices kmc knows, each with the surface facing +z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LatticeKind {
    /// FCC with a (100) surface: layers of a square net (spacing a/√2), ABAB stacking, a/2 apart.
    Fcc100,
    /// FCC with a (111) surface: triangular layers (spacing a/√2), ABC stacking, a/√3 apart.
    Fcc111,
    /// FCC with a (110) surface: rectangular layers (a/√2 × a), ABAB stacking, a/(2√2) apart.
    Fcc110,
    /// BCC with a (100) surface: square layers (spacing a), ABAB stacking, a/2 apart.
    Bcc100,
    /// Simple cubic with a (100) surface: square layers (spacing a) stacked directly, a apart.
    Sc100,
    /// 2-D square lattice (one layer).
    Square,
    /// 2-D triangular lattice (one layer).
    Triangular,
    /// BCC with a (110) surface: centred-rectangular layers (a × a√2 cell of two atoms, rows
    /// along [001] a/√2 apart, alternate rows shifted by a/2), ABAB stacking, a/√2 apart.
    Bcc110,
    /// HCP with a (0001) surface: triangular layers (spacing a), ABAB stacking, c/2 apart.
    /// The twelve neighbours are six in the layer at a and three in each adjacent layer at
    /// a·√(1/3 + (c/a)²/4); c/a is the lattice's `c_over_a` (ideal √(8/3) unless given).
    Hcp0001,
}

/// The ideal c/a of hard-sphere HCP, √(8/3): all twelve neighbours at the same distance.
pub const IDEAL_C_OVER_A: f64 = 1.632_993_161_855_452;

/// c/a ratios accepted for [`LatticeKind::Hcp0001`]. The real HCP metals lie inside (Be 1.57 to
/// Cd 1.89; the Zhou 2004 EAM's Mg, Co, Ti and Zr near 1.62); across it the twelve nearest
/// neighbours stay a shell apart from the next one (at ≥ 1.35 a), which the offset tables need.
pub const C_OVER_A_RANGE: (f64, f64) = (1.4, 2.0);

impl LatticeKind {
    /// All kinds, for `kmc info`.
    pub const ALL: [LatticeKind; 9] = [
        LatticeKind::Fcc100,
        LatticeKind::Fcc111,
        LatticeKind::Fcc110,
        LatticeKind::Bcc100,
        LatticeKind::Sc100,
        LatticeKind::Square,
        LatticeKind::Triangular,
        LatticeKind::Bcc110,
        LatticeKind::Hcp0001,
    ];

    /// True for the single-layer lattices.
    pub fn is_2d(self) -> bool {
        matches!(self, LatticeKind::Square | LatticeKind::Triangular)
    }

    /// What one unit of the scenario's lateral `size` is, for documentation and messages.
    pub fn size_unit(self) -> &'static str {
        match self {
            LatticeKind::Fcc100 => "conventional cubic cells (a × a); a layer holds 2·Lx·Ly sites",
            LatticeKind::Fcc111 => {
                "nearest-neighbour spacings along x and atomic rows along y (Ly even)"
            }
            LatticeKind::Fcc110 => "rows along [1-10] (a/√2) by cells along [001] (a)",
            LatticeKind::Bcc100 | LatticeKind::Sc100 => "cubic cells (a × a)",
            LatticeKind::Square => "sites (spacing a)",
            LatticeKind::Triangular => "sites along x and rows along y (Ly even)",
            LatticeKind::Bcc110 => {
                "cells along [001] (a) by cells along [1-10] (a√2); a layer holds 2·Lx·Ly sites"
            }
            LatticeKind::Hcp0001 => {
                "nearest-neighbour spacings (a) along x and atomic rows along y (Ly even); c/a \
                 from lattice.c_over_a (default ideal √(8/3))"
            }
        }
    }

    /// In-layer grid `(nx, ny)` for a lateral size.
    pub(crate) fn grid(self, size: [usize; 2]) -> Result<(usize, usize)> {
        let [sx, sy] = size;
        if sx == 0 || sy == 0 {
            return Err(Error::field(
                "lattice.size",
                "lateral size must be at least 1 × 1",
            ));
        }
        let needs_even_y = matches!(
            self,
            LatticeKind::Fcc111 | LatticeKind::Triangular | LatticeKind::Hcp0001
        );
        if needs_even_y && sy % 2 == 1 {
            return Err(Error::field(
                "lattice.size",
                format!(
                    "{self:?} needs an even number of rows along y (shifted rows must wrap), got {sy}"
                ),
            ));
        }
        let ny = match self {
            LatticeKind::Fcc100 | LatticeKind::Bcc110 => sy.checked_mul(2),
            _ => Some(sy),
        };
        match ny {
            Some(ny) if sx.checked_mul(ny).is_some() => Ok((sx, ny)),
            _ => Err(Error::field(
                "lattice.size",
                format!("a {sx} × {sy} box has more sites per layer than can be counted"),
            )),
        }
    }

    /// Distance between atomic layers for lattice constant `a` (Å; 0 for 2-D lattices) and,
    /// for [`LatticeKind::Hcp0001`], the ratio c/a (`None`: ideal; ignored by the cubic kinds).
    pub fn layer_spacing(self, a: f64, c_over_a: Option<f64>) -> f64 {
        Geometry::new(self, a, c_over_a.unwrap_or(IDEAL_C_OVER_A)).layer_spacing
    }
}

/// Cartesian geometry of a lattice kind with lattice constant `a`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    pub kind: LatticeKind,
    pub a: f64,
    /// c/a of an HCP lattice ([`IDEAL_C_OVER_A`] for the other kinds, which ignore it).
    pub c_over_a: f64,
    /// Nearest-neighbour distance (HCP: the in-layer one, a).
    pub nn: f64,
    /// Smallest and largest distance of a nearest neighbour: both `nn` except on HCP with a
    /// non-ideal c/a, whose interlayer neighbours are nearer or farther than the in-layer ones.
    pub nn_shell: (f64, f64),
    /// Distance between layers (0 in 2-D).
    pub layer_spacing: f64,
    /// Class period along y and along layers.
    pub py: usize,
    pub pl: usize,
}

const SQRT3: f64 = 1.732_050_807_568_877_2;

impl Geometry {
    pub fn new(kind: LatticeKind, a: f64, c_over_a: f64) -> Self {
        use LatticeKind::*;
        let s2 = std::f64::consts::SQRT_2;
        let (nn, layer_spacing, py, pl) = match kind {
            Fcc100 => (a / s2, a / 2.0, 2, 2),
            Fcc111 => (a / s2, a / SQRT3, 2, 3),
            Fcc110 => (a / s2, a / (2.0 * s2), 1, 2),
            Bcc100 => (a * SQRT3 / 2.0, a / 2.0, 1, 2),
            Sc100 => (a, a, 1, 1),
            Square => (a, 0.0, 1, 1),
            Triangular => (a, 0.0, 2, 1),
            Bcc110 => (a * SQRT3 / 2.0, a / s2, 2, 2),
            Hcp0001 => (a, c_over_a * a / 2.0, 2, 2),
        };
        let nn_shell = match kind {
            Hcp0001 => {
                let d = a * (1.0 / 3.0 + c_over_a * c_over_a / 4.0).sqrt();
                (nn.min(d), nn.max(d))
            }
            _ => (nn, nn),
        };
        Geometry {
            kind,
            a,
            c_over_a,
            nn,
            nn_shell,
            layer_spacing,
            py,
            pl,
        }
    }

    /// Position of grid point `(x, y, l)`; any integers (no wrap), so offsets can be derived.
    pub fn position(&self, x: i64, y: i64, l: i64) -> [f64; 3] {
        use LatticeKind::*;
        let a = self.a;
        // Parities in integers: `f64::rem_euclid` is a libm call, and grain runs ask for
        // positions in their inner loops. The values are the same.
        let (yi, li) = (y, l);
        let (x, y, l) = (x as f64, y as f64, l as f64);
        let odd = |v: i64| v.rem_euclid(2) as f64;
        match self.kind {
            Fcc100 => {
                let s = odd(yi + li);
                [(2.0 * x + s) * a / 2.0, y * a / 2.0, l * a / 2.0]
            }
            Fcc111 => {
                let d = self.nn;
                let stack = li.rem_euclid(3) as f64;
                [
                    (x + 0.5 * odd(yi) + 0.5 * stack) * d,
                    y * d * SQRT3 / 2.0 + stack * d * SQRT3 / 6.0,
                    l * self.layer_spacing,
                ]
            }
            Fcc110 => {
                let s = 0.5 * odd(li);
                [(x + s) * self.nn, (y + s) * a, l * self.layer_spacing]
            }
            Bcc100 => {
                let s = 0.5 * odd(li);
                [(x + s) * a, (y + s) * a, l * a / 2.0]
            }
            Sc100 => [x * a, y * a, l * a],
            Square => [x * a, y * a, 0.0],
            Triangular => [(x + 0.5 * odd(yi)) * a, y * a * SQRT3 / 2.0, 0.0],
            Bcc110 => {
                // Layer l + 1 sits over the long-bridge sites of layer l: the shift (a/2, 0)
                // is the one-row shift of the centred rectangular net.
                let s = 0.5 * odd(yi + li);
                [(x + s) * a, y * self.layer_spacing, l * self.layer_spacing]
            }
            Hcp0001 => {
                let stack = odd(li);
                [
                    (x + 0.5 * odd(yi) + 0.5 * stack) * a,
                    y * a * SQRT3 / 2.0 + stack * a * SQRT3 / 6.0,
                    l * self.layer_spacing,
                ]
            }
        }
    }

    /// Periodic box lengths for an `nx × ny` grid.
    pub fn box_lengths(&self, nx: usize, ny: usize) -> [f64; 2] {
        use LatticeKind::*;
        let (nx, ny) = (nx as f64, ny as f64);
        match self.kind {
            Fcc100 => [nx * self.a, ny * self.a / 2.0],
            Fcc111 => [nx * self.nn, ny * self.nn * SQRT3 / 2.0],
            Fcc110 => [nx * self.nn, ny * self.a],
            Bcc100 | Sc100 | Square => [nx * self.a, ny * self.a],
            Triangular | Hcp0001 => [nx * self.a, ny * self.a * SQRT3 / 2.0],
            Bcc110 => [nx * self.a, ny * self.layer_spacing],
        }
    }

    /// Row spacing along y and column spacing along x of the in-layer grid.
    fn grid_steps(&self) -> (f64, f64) {
        use LatticeKind::*;
        match self.kind {
            Fcc100 => (self.a, self.a / 2.0),
            Fcc111 => (self.nn, self.nn * SQRT3 / 2.0),
            Fcc110 => (self.nn, self.a),
            Bcc100 | Sc100 | Square => (self.a, self.a),
            Triangular | Hcp0001 => (self.a, self.a * SQRT3 / 2.0),
            Bcc110 => (self.a, self.layer_spacing),
        }
    }

    /// Grid point of layer `l` nearest to the lateral point `(px, py)` under periodic wrap.
    pub fn nearest_in_layer(
        &self,
        px: f64,
        py: f64,
        l: i64,
        nx: usize,
        ny: usize,
    ) -> (usize, usize) {
        let [lx, ly] = self.box_lengths(nx, ny);
        let (sx, sy) = self.grid_steps();
        let origin = self.position(0, 0, l);
        let y0 = ((py - origin[1]) / sy).round() as i64;
        let mut best = (0usize, 0usize);
        let mut best_d2 = f64::INFINITY;
        for y in y0 - 1..=y0 + 1 {
            let row = self.position(0, y, l);
            let x0 = ((px - row[0]) / sx).round() as i64;
            for x in x0 - 1..=x0 + 1 {
                let p = self.position(x, y, l);
                let mut dx = p[0] - px;
                let mut dy = p[1] - py;
                dx -= lx * round_near_zero(dx / lx);
                dy -= ly * round_near_zero(dy / ly);
                let d2 = dx * dx + dy * dy;
                if d2 < best_d2 {
                    best_d2 = d2;
                    best = (
                        x.rem_euclid(nx as i64) as usize,
                        y.rem_euclid(ny as i64) as usize,
                    );
                }
            }
        }
        best
    }

    fn class_of(&self, y: i64, l: i64) -> usize {
        y.rem_euclid(self.py as i64) as usize + self.py * l.rem_euclid(self.pl as i64) as usize
    }

    fn n_classes(&self) -> usize {
        self.py * self.pl
    }

    /// Representative grid point of class `c`.
    fn representative(&self, c: usize) -> (i64, i64, i64) {
        (0, (c % self.py) as i64, (c / self.py) as i64)
    }

    /// Nearest-neighbour offsets `(dx, dy, dl)` of class `c`, sorted by (dl, dy, dx).
    fn neighbor_offsets(&self, c: usize) -> Vec<(i32, i32, i32)> {
        let (x0, y0, l0) = self.representative(c);
        let p0 = self.position(x0, y0, l0);
        let dl_range = if self.kind.is_2d() { 0 } else { 3 };
        let mut out = Vec::new();
        for dl in -dl_range..=dl_range {
            for dy in -3..=3 {
                for dx in -3..=3 {
                    let p = self.position(x0 + dx, y0 + dy, l0 + dl);
                    let d =
                        ((p[0] - p0[0]).powi(2) + (p[1] - p0[1]).powi(2) + (p[2] - p0[2]).powi(2))
                            .sqrt();
                    let tol = 1e-9 * self.a;
                    if d > self.nn_shell.0 - tol && d < self.nn_shell.1 + tol {
                        out.push((dx as i32, dy as i32, dl as i32));
                    }
                }
            }
        }
        out.sort_by_key(|&(dx, dy, dl)| (dl, dy, dx));
        out
    }

    /// Offsets within `r` steps of a site of class `c`, BFS order (site itself first).
    fn shell(&self, c: usize, r: usize, nbrs: &[Vec<(i32, i32, i32)>]) -> Vec<(i32, i32, i32)> {
        let (_, y0, l0) = self.representative(c);
        let mut seen: BTreeSet<(i32, i32, i32)> = BTreeSet::new();
        let mut order = vec![(0, 0, 0)];
        seen.insert((0, 0, 0));
        let mut frontier = vec![(0, 0, 0)];
        for _ in 0..r {
            let mut next: BTreeSet<(i32, i32, i32)> = BTreeSet::new();
            for &(dx, dy, dl) in &frontier {
                let cc = self.class_of(y0 + dy as i64, l0 + dl as i64);
                for &(ex, ey, el) in &nbrs[cc] {
                    let o = (dx + ex, dy + ey, dl + el);
                    if !seen.contains(&o) {
                        next.insert(o);
                    }
                }
            }
            let mut next: Vec<_> = next.into_iter().collect();
            next.sort_by_key(|&(dx, dy, dl)| (dl, dy, dx));
            for &o in &next {
                seen.insert(o);
            }
            order.extend_from_slice(&next);
            frontier = next;
        }
        order
    }

    /// Largest |dx|, |dy|, |dl| over every class's `steps`-shell.
    pub fn reach(&self, steps: usize) -> [usize; 3] {
        let nbrs: Vec<_> = (0..self.n_classes())
            .map(|c| self.neighbor_offsets(c))
            .collect();
        let mut m = [0usize; 3];
        for c in 0..self.n_classes() {
            for (dx, dy, dl) in self.shell(c, steps, &nbrs) {
                m[0] = m[0].max(dx.unsigned_abs() as usize);
                m[1] = m[1].max(dy.unsigned_abs() as usize);
                m[2] = m[2].max(dl.unsigned_abs() as usize);
            }
        }
        m
    }

    /// Builds the offset tables of every class for an `nx × ny` grid.
    pub fn build_tables(&self, nx: usize, ny: usize, max_range: usize) -> Result<Vec<ClassTables>> {
        let nc = self.n_classes();
        let nbrs: Vec<_> = (0..nc).map(|c| self.neighbor_offsets(c)).collect();
        let expected = match self.kind {
            LatticeKind::Fcc100
            | LatticeKind::Fcc111
            | LatticeKind::Fcc110
            | LatticeKind::Hcp0001 => 12,
            LatticeKind::Bcc100 | LatticeKind::Bcc110 => 8,
            LatticeKind::Sc100 | LatticeKind::Triangular => 6,
            LatticeKind::Square => 4,
        };
        for (c, n) in nbrs.iter().enumerate() {
            // A wrong count means a geometry formula is wrong: an internal error, not user input.
            assert_eq!(
                n.len(),
                expected,
                "{:?} class {c}: {} neighbours",
                self.kind,
                n.len()
            );
        }
        // The two-step shell must map to distinct sites, or a site would be its own neighbour's
        // neighbour through the periodic wrap and coordination counts would be wrong.
        let two = self.reach(2);
        if nx < 2 * two[0] + 1 || ny < 2 * two[1] + 1 {
            return Err(Error::field(
                "lattice.size",
                format!(
                    "{:?} lattice too small: the in-layer grid is {nx} × {ny} but needs at least {} × {} \
                     so that second neighbours are distinct sites under periodic wrap",
                    self.kind,
                    2 * two[0] + 1,
                    2 * two[1] + 1
                ),
            ));
        }
        let mut out = Vec::with_capacity(nc);
        for c in 0..nc {
            let (_, y0, l0) = self.representative(c);
            let cls = |o: (i32, i32, i32)| self.class_of(y0 + o.1 as i64, l0 + o.2 as i64);
            let mk = |(dx, dy, dl): (i32, i32, i32)| Offset {
                dx,
                dy,
                dl,
                delta: (dl as isize * ny as isize + dy as isize) * nx as isize + dx as isize,
                class: cls((dx, dy, dl)) as u8,
            };
            let shells_raw: Vec<Vec<(i32, i32, i32)>> =
                (0..=max_range).map(|r| self.shell(c, r, &nbrs)).collect();
            let own: BTreeSet<_> = nbrs[c].iter().copied().collect();
            let mut hops = Vec::new();
            let mut hop_shells = vec![Vec::new(); max_range + 1];
            for &k in &nbrs[c] {
                let ck = cls(k);
                let dest_nbrs: BTreeSet<_> = nbrs[ck]
                    .iter()
                    .map(|&(x, y, l)| (k.0 + x, k.1 + y, k.2 + l))
                    .collect();
                let only_from = nbrs[c]
                    .iter()
                    .copied()
                    .filter(|o| *o != k && !dest_nbrs.contains(o))
                    .map(mk)
                    .collect();
                let common = nbrs[c]
                    .iter()
                    .copied()
                    .filter(|o| dest_nbrs.contains(o))
                    .map(mk)
                    .collect();
                let only_to = nbrs[ck]
                    .iter()
                    .map(|&(x, y, l)| (k.0 + x, k.1 + y, k.2 + l))
                    .filter(|o| *o != (0, 0, 0) && !own.contains(o))
                    .map(mk)
                    .collect();
                hops.push(HopGeometry {
                    to: Some(mk(k)),
                    only_from,
                    only_to,
                    common,
                });
                for (r, hs) in hop_shells.iter_mut().enumerate() {
                    let mut set: BTreeMap<(i32, i32, i32), ()> = BTreeMap::new();
                    let mut v = Vec::new();
                    for &o in &shells_raw[r] {
                        if set.insert(o, ()).is_none() {
                            v.push(mk(o));
                        }
                    }
                    for (x, y, l) in self.shell(ck, r, &nbrs) {
                        let o = (k.0 + x, k.1 + y, k.2 + l);
                        if set.insert(o, ()).is_none() {
                            v.push(mk(o));
                        }
                    }
                    // Memory order: the walk then touches the lattice bytes front to back.
                    v.sort_by_key(|o| (o.dl, o.dy, o.dx));
                    hs.push(v);
                }
            }
            let mut exchanges = Vec::new();
            for &v in nbrs[c].iter().filter(|v| v.2 < 0) {
                for &(x, y, l) in &nbrs[cls(v)] {
                    let t = (v.0 + x, v.1 + y, v.2 + l);
                    if t.2 == 0 && t != (0, 0, 0) && !own.contains(&t) {
                        exchanges.push((mk(v), mk(t)));
                    }
                }
            }
            out.push(ClassTables {
                exchanges,
                neighbors: nbrs[c].iter().copied().map(mk).collect(),
                neighbor_class: nbrs[c].iter().map(|&o| cls(o) as u8).collect(),
                hops,
                shells: shells_raw
                    .into_iter()
                    .map(|s| s.into_iter().map(mk).collect())
                    .collect(),
                hop_shells,
            });
        }
        Ok(out)
    }
}

/// `q.round()`, without the libm call for the common |q| < 0.5 (a minimum-image shift of a
/// point already near): the same value, signed zero included.
#[inline(always)]
pub(crate) fn round_near_zero(q: f64) -> f64 {
    if q.abs() < 0.5 {
        0.0f64.copysign(q)
    } else {
        q.round()
    }
}
