//! Lattice geometry: site indexing, neighbour offsets, Cartesian positions, periodic wrap.
//!
//! Every lattice is a stack of atomic layers along +z. Each layer is an `nx × ny` grid; a site
//! is `(x, y, l)` and its index is `(l · ny + y) · nx + x`, so appending layers on top (the open
//! space growing as the film grows) never renumbers existing sites. Layers differ by a lateral
//! shift (ABAB, ABCABC stacking), and rows within a layer may be shifted (triangular layers), so
//! the neighbour offsets `(dx, dy, dl)` depend on a small *class* `(y mod py, l mod pl)`. Offsets,
//! shells and hop geometries are derived numerically from the Cartesian positions when the
//! lattice is built, so every lattice kind shares one code path and no table is typed by hand.
//!
//! Storage per site is zero here: nothing is stored per site, only per class.

mod geometry;

pub(crate) use geometry::round_near_zero;
pub use geometry::{C_OVER_A_RANGE, IDEAL_C_OVER_A, LatticeKind};

use crate::error::{Error, Result};
use crate::io::validate::in_range_of;

/// A neighbour (or shell) offset relative to a site of a given class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Offset {
    /// Shift along the in-layer x index.
    pub dx: i32,
    /// Shift along the in-layer y index.
    pub dy: i32,
    /// Shift in layers (+1 = one layer up).
    pub dl: i32,
    /// Shift of the linear index when no periodic wrap occurs: `(dl · ny + dy) · nx + dx`.
    pub delta: isize,
    /// Class of the target site (for an origin of the class whose table holds this offset).
    pub class: u8,
}

/// Geometry of a hop from a site to its neighbour number `k`.
#[derive(Debug, Clone, Default)]
pub struct HopGeometry {
    /// The destination.
    pub to: Option<Offset>,
    /// Neighbours of the origin that are neither the destination nor neighbours of it
    /// (bonds that break), relative to the origin.
    pub only_from: Vec<Offset>,
    /// Neighbours of the destination that are neither the origin nor neighbours of it
    /// (bonds that form), relative to the origin.
    pub only_to: Vec<Offset>,
    /// Common neighbours of origin and destination, relative to the origin.
    pub common: Vec<Offset>,
}

/// Offsets of one class of sites.
#[derive(Debug, Clone, Default)]
pub struct ClassTables {
    /// Nearest neighbours, in a fixed order (the direction index `k` of a hop).
    pub neighbors: Vec<Offset>,
    /// Class of each neighbour.
    pub neighbor_class: Vec<u8>,
    /// Geometry of the hop to each neighbour.
    pub hops: Vec<HopGeometry>,
    /// `shells[r]`: every offset within `r` nearest-neighbour steps (the site itself first).
    pub shells: Vec<Vec<Offset>>,
    /// `hop_shells[r][k]`: union of the `r`-shells of the origin and of neighbour `k`, relative
    /// to the origin, without duplicates: the sites whose rates a hop along `k` can change.
    pub hop_shells: Vec<Vec<Vec<Offset>>>,
    /// Exchange geometries `(via, to)` relative to the origin: `via` a neighbour in a lower
    /// layer, `to` a neighbour of `via` in the origin's layer that is neither the origin nor one
    /// of its neighbours (the adatom–substrate exchange of fcc(100) and alike).
    pub exchanges: Vec<(Offset, Offset)>,
}

/// Lattice constants accepted, Å: every element lies well inside; outside it the offset
/// tables, derived numerically from positions, lose their neighbours to rounding (1e300 or
/// 1e-300 Å gave "0 neighbours").
pub const LATTICE_CONSTANT_RANGE_A: (f64, f64) = (0.5, 20.0);

/// The c/a a lattice of `kind` is built with: `given` for [`LatticeKind::Hcp0001`] if within
/// [`C_OVER_A_RANGE`], the ideal ratio if none is given; the other kinds refuse a ratio.
pub fn check_c_over_a(kind: LatticeKind, given: Option<f64>) -> Result<f64> {
    match (kind, given) {
        (LatticeKind::Hcp0001, Some(q)) => {
            if !(q.is_finite() && (C_OVER_A_RANGE.0..=C_OVER_A_RANGE.1).contains(&q)) {
                return Err(Error::field(
                    "lattice.c_over_a",
                    format!(
                        "must be between {} and {} (the HCP metals lie between 1.57 and 1.89), \
                         got {}",
                        C_OVER_A_RANGE.0,
                        C_OVER_A_RANGE.1,
                        crate::io::validate::number(q)
                    ),
                ));
            }
            Ok(q)
        }
        (_, None) => Ok(IDEAL_C_OVER_A),
        (_, Some(_)) => Err(Error::field(
            "lattice.c_over_a",
            format!("only Hcp0001 has a c/a ratio; {kind:?} has none"),
        )),
    }
}

/// Largest interaction range (in nearest-neighbour steps) the lattice precomputes shells for.
pub const MAX_RANGE: usize = 4;

/// How far (in nearest-neighbour steps) a rate model may read around the atom it rates.
pub const READ_RADIUS: usize = 3;

/// Largest |dx|, |dy| a [`WrapFix`] corrects.
pub const FIX_W: usize = 8;

/// Periodic-wrap corrections of the linear index around one site (see [`Lattice::wrap_fix`]).
#[derive(Debug, Clone, Copy)]
pub struct WrapFix {
    x: [isize; 2 * FIX_W + 1],
    y: [isize; 2 * FIX_W + 1],
}

impl WrapFix {
    /// No correction: the fix of an interior site.
    pub const NONE: WrapFix = WrapFix {
        x: [0; 2 * FIX_W + 1],
        y: [0; 2 * FIX_W + 1],
    };

    /// Correction of the linear index for an offset `(dx, dy)`.
    #[inline(always)]
    pub fn of(&self, dx: i32, dy: i32) -> isize {
        self.x[(dx + FIX_W as i32) as usize] + self.y[(dy + FIX_W as i32) as usize]
    }
}

/// A site with its coordinates, so neighbour look-ups need no division.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteRef {
    /// Linear index.
    pub idx: usize,
    /// In-layer x index.
    pub x: u32,
    /// In-layer y index.
    pub y: u32,
    /// Layer.
    pub l: u32,
    /// Class (selects the offset tables).
    pub class: u8,
    /// True if every offset within [`READ_RADIUS`] steps resolves without periodic wrap and
    /// stays inside the allocated layers, so `idx + delta` is the answer.
    pub interior: bool,
}

/// The lattice: kind, lattice constant, lateral size and allocated layers.
#[derive(Debug, Clone)]
pub struct Lattice {
    kind: LatticeKind,
    a: f64,
    nx: usize,
    ny: usize,
    nl: usize,
    classes: Vec<ClassTables>,
    geom: geometry::Geometry,
    /// Reach (in x, y, layers) of the `READ_RADIUS` shell: beyond it a `SiteRef` is interior.
    margin_read: [usize; 3],
    /// `margin_shell[r]`: reach of `r + READ_RADIUS` steps, for the fast shell walk
    /// (`r` up to `MAX_RANGE + 1`, the extent of a hop shell).
    margin_shell: Vec<[usize; 3]>,
    /// Largest |dl| of one neighbour step.
    max_step_dl: usize,
}

impl Lattice {
    /// Builds a lattice of `kind` with lattice constant `a` (Å), lateral size `size` (see
    /// [`LatticeKind::size_unit`]) and `layers` allocated layers.
    pub fn new(kind: LatticeKind, a: f64, size: [usize; 2], layers: usize) -> Result<Self> {
        Self::with_c_over_a(kind, a, None, size, layers)
    }

    /// As [`Lattice::new`], with the ratio c/a of an [`LatticeKind::Hcp0001`] lattice (`None`:
    /// the ideal [`IDEAL_C_OVER_A`]); the cubic and 2-D kinds have no c/a and refuse one.
    pub fn with_c_over_a(
        kind: LatticeKind,
        a: f64,
        c_over_a: Option<f64>,
        size: [usize; 2],
        layers: usize,
    ) -> Result<Self> {
        in_range_of(
            "lattice.lattice_constant_a",
            a,
            LATTICE_CONSTANT_RANGE_A.0,
            LATTICE_CONSTANT_RANGE_A.1,
            "Å",
        )?;
        let c_over_a = check_c_over_a(kind, c_over_a)?;
        let (nx, ny) = kind.grid(size)?;
        let layers = if kind.is_2d() { 1 } else { layers };
        if layers == 0 {
            return Err(Error::field("lattice.height_layers", "must be at least 1"));
        }
        let g = geometry::Geometry::new(kind, a, c_over_a);
        let classes = g.build_tables(nx, ny, MAX_RANGE)?;
        let mut lat = Lattice {
            kind,
            a,
            nx,
            ny,
            nl: layers,
            classes,
            geom: g,
            margin_read: g.reach(READ_RADIUS),
            margin_shell: (0..=MAX_RANGE + 1)
                .map(|r| g.reach(r + READ_RADIUS))
                .collect(),
            max_step_dl: g.reach(1)[2],
        };
        if lat.kind.is_2d() {
            for m in std::iter::once(&mut lat.margin_read).chain(lat.margin_shell.iter_mut()) {
                m[2] = 0;
            }
        }
        Ok(lat)
    }

    /// The kind of lattice.
    pub fn kind(&self) -> LatticeKind {
        self.kind
    }

    /// Lattice constant in Å (HCP: the in-layer constant a).
    pub fn lattice_constant(&self) -> f64 {
        self.a
    }

    /// The ratio c/a of an HCP lattice; `None` for the other kinds.
    pub fn c_over_a(&self) -> Option<f64> {
        (self.kind == LatticeKind::Hcp0001).then_some(self.geom.c_over_a)
    }

    /// True if `other` has the same kind, lattice constant and c/a: its sites are this
    /// lattice's sites, up to the box.
    pub fn same_crystal(&self, other: &Lattice) -> bool {
        self.kind == other.kind && self.a == other.a && self.c_over_a() == other.c_over_a()
    }

    /// A lattice of the same kind, lattice constant and c/a with another box (a grain's box,
    /// a probe), so no caller rebuilding a lattice can drop the c/a.
    pub fn resized(&self, size: [usize; 2], layers: usize) -> Result<Lattice> {
        Lattice::with_c_over_a(self.kind, self.a, self.c_over_a(), size, layers)
    }

    /// In-layer grid size `(nx, ny)`.
    pub fn grid(&self) -> (usize, usize) {
        (self.nx, self.ny)
    }

    /// The lateral size this lattice was built with (`size` of [`Lattice::new`]): the grid
    /// counts two rows per cell along y on FCC(100) and BCC(110).
    pub fn size(&self) -> [usize; 2] {
        match self.kind {
            LatticeKind::Fcc100 | LatticeKind::Bcc110 => [self.nx, self.ny / 2],
            _ => [self.nx, self.ny],
        }
    }

    /// Grid steps (x, y, layers) an atom of a finite box (a particle grain) must keep from the
    /// box's edges so that neither a rate model's reads nor a refresh walk ever wraps.
    pub fn clearance(&self) -> [usize; 3] {
        self.margin_shell[MAX_RANGE + 1]
    }

    /// Sites per layer (one monolayer).
    pub fn layer_size(&self) -> usize {
        self.nx * self.ny
    }

    /// Allocated layers.
    pub fn layers(&self) -> usize {
        self.nl
    }

    /// Allocated sites.
    pub fn n_sites(&self) -> usize {
        self.nx * self.ny * self.nl
    }

    /// Nearest-neighbour count of a bulk site.
    pub fn coordination(&self) -> usize {
        self.classes[0].neighbors.len()
    }

    /// Largest number of layers one nearest-neighbour step can cross.
    pub fn max_step_dl(&self) -> usize {
        self.max_step_dl
    }

    /// Empty layers that must stay above the highest atom so that every look-up around an atom
    /// stays inside the allocation.
    pub fn headroom(&self) -> usize {
        self.margin_shell[MAX_RANGE + 1][2] + 1
    }

    /// Adds `extra` empty layers on top (3-D lattices only).
    pub fn grow(&mut self, extra: usize) {
        if !self.kind.is_2d() {
            self.nl += extra;
        }
    }

    /// Lateral box lengths in Å (periodic).
    pub fn box_lengths(&self) -> [f64; 2] {
        self.geom.box_lengths(self.nx, self.ny)
    }

    /// Distance between atomic layers in Å (0 for 2-D lattices).
    pub fn layer_spacing(&self) -> f64 {
        self.geom.layer_spacing
    }

    /// Nearest-neighbour distance in Å (HCP: the in-layer one, a; see
    /// [`Lattice::nn_shell`]).
    pub fn nn_distance(&self) -> f64 {
        self.geom.nn
    }

    /// Smallest and largest nearest-neighbour distance in Å: equal except on HCP with a
    /// non-ideal c/a.
    pub fn nn_shell(&self) -> (f64, f64) {
        self.geom.nn_shell
    }

    /// Tables of a class.
    #[inline]
    pub fn class_tables(&self, class: u8) -> &ClassTables {
        &self.classes[class as usize]
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }

    #[inline]
    fn class_of(&self, y: usize, l: usize) -> u8 {
        ((y % self.geom.py) + self.geom.py * (l % self.geom.pl)) as u8
    }

    /// The site at grid coordinates `(x, y, l)` (must be inside the grid).
    #[inline]
    pub fn site(&self, x: usize, y: usize, l: usize) -> SiteRef {
        debug_assert!(x < self.nx && y < self.ny && l < self.nl);
        SiteRef {
            idx: (l * self.ny + y) * self.nx + x,
            x: x as u32,
            y: y as u32,
            l: l as u32,
            class: self.class_of(y, l),
            interior: self.within(x, y, l, &self.margin_read),
        }
    }

    #[inline]
    fn within(&self, x: usize, y: usize, l: usize, m: &[usize; 3]) -> bool {
        x >= m[0]
            && x + m[0] < self.nx
            && y >= m[1]
            && y + m[1] < self.ny
            && l >= m[2]
            && l + m[2] < self.nl
    }

    /// Index corrections that make `idx + delta + fix.dx(o.dx) + fix.dy(o.dy)` the periodic
    /// index of every offset within [`READ_RADIUS`] steps of a site near the x/y edges, so a
    /// rate model's reads stay branch-free there too. `None` near the bottom or top of the
    /// allocated layers or on lattices too narrow for one wrap (use [`Lattice::index_at`]).
    #[inline]
    pub fn wrap_fix(&self, s: &SiteRef) -> Option<WrapFix> {
        let m = self.margin_read;
        let (x, y, l) = (s.x as i64, s.y as i64, s.l as usize);
        if l < m[2] || l + m[2] >= self.nl || m[0] > FIX_W || m[1] > FIX_W {
            return None;
        }
        let (nx, ny) = (self.nx as i64, self.ny as i64);
        if nx <= 2 * m[0] as i64 || ny <= 2 * m[1] as i64 {
            return None;
        }
        let mut fix = WrapFix {
            x: [0; 2 * FIX_W + 1],
            y: [0; 2 * FIX_W + 1],
        };
        for d in -(FIX_W as i64)..=FIX_W as i64 {
            let k = (d + FIX_W as i64) as usize;
            fix.x[k] = if x + d < 0 {
                nx as isize
            } else if x + d >= nx {
                -nx as isize
            } else {
                0
            };
            fix.y[k] = nx as isize
                * if y + d < 0 {
                    ny as isize
                } else if y + d >= ny {
                    -ny as isize
                } else {
                    0
                };
        }
        Some(fix)
    }

    /// True if every site within `radius` steps of `origin` can be reached by `idx + delta`
    /// and is itself interior (see [`SiteRef::interior`]).
    #[inline]
    pub fn shell_is_interior(&self, origin: &SiteRef, radius: usize) -> bool {
        self.within(
            origin.x as usize,
            origin.y as usize,
            origin.l as usize,
            &self.margin_shell[radius],
        )
    }

    /// Calls `f` with every site at the given offsets from `origin` (offsets of a shell of at
    /// most `radius` steps, e.g. `shells[r]` (radius `r`) or `hop_shells[r][k]` (radius
    /// `r + 1`)); sites outside the
    /// allocated layers are skipped.
    #[inline]
    pub fn for_each_at(
        &self,
        origin: &SiteRef,
        offsets: &[Offset],
        radius: usize,
        mut f: impl FnMut(SiteRef),
    ) {
        let (x, y, l) = (origin.x as usize, origin.y as usize, origin.l as usize);
        if self.shell_is_interior(origin, radius) {
            for o in offsets {
                f(SiteRef {
                    idx: (origin.idx as isize + o.delta) as usize,
                    x: (x as i64 + o.dx as i64) as u32,
                    y: (y as i64 + o.dy as i64) as u32,
                    l: (l as i64 + o.dl as i64) as u32,
                    class: o.class,
                    interior: true,
                });
            }
        } else {
            for o in offsets {
                if let Some(s) = self.site_at_offset(origin, o) {
                    f(s);
                }
            }
        }
    }

    /// The site with linear index `idx`.
    #[inline]
    pub fn site_at(&self, idx: usize) -> SiteRef {
        let x = idx % self.nx;
        let r = idx / self.nx;
        self.site(x, r % self.ny, r / self.ny)
    }

    /// Linear index of the site at `offset` from `s`, or `None` below layer 0 or above the
    /// allocated layers. Wraps periodically in x and y.
    #[inline]
    pub fn index_at(&self, s: &SiteRef, o: &Offset) -> Option<usize> {
        if s.interior {
            return Some((s.idx as isize + o.delta) as usize);
        }
        self.index_at_slow(s, o)
    }

    #[inline(never)]
    fn index_at_slow(&self, s: &SiteRef, o: &Offset) -> Option<usize> {
        let l = s.l as i64 + o.dl as i64;
        if l < 0 || l >= self.nl as i64 {
            return None;
        }
        let x = wrap(s.x as i64 + o.dx as i64, self.nx as i64);
        let y = wrap(s.y as i64 + o.dy as i64, self.ny as i64);
        Some((l as usize * self.ny + y) * self.nx + x)
    }

    /// The site at `offset` from `s` (with its own coordinates and class).
    #[inline]
    pub fn site_at_offset(&self, s: &SiteRef, o: &Offset) -> Option<SiteRef> {
        let l = s.l as i64 + o.dl as i64;
        if l < 0 || l >= self.nl as i64 {
            return None;
        }
        let x = wrap(s.x as i64 + o.dx as i64, self.nx as i64);
        let y = wrap(s.y as i64 + o.dy as i64, self.ny as i64);
        Some(self.site(x, y, l as usize))
    }

    /// Nearest neighbours of `s` (existing sites only), as `(direction k, site)`.
    pub fn neighbors(&self, s: &SiteRef) -> impl Iterator<Item = (usize, SiteRef)> + '_ {
        let t = self.class_tables(s.class);
        let s = *s;
        t.neighbors
            .iter()
            .enumerate()
            .filter_map(move |(k, o)| self.site_at_offset(&s, o).map(|n| (k, n)))
    }

    /// Cartesian position (Å) of a site; layer 0 is at z = 0.
    pub fn position(&self, s: &SiteRef) -> [f64; 3] {
        self.geom.position(s.x as i64, s.y as i64, s.l as i64)
    }

    /// Cartesian position (Å) of grid point `(x, y, l)` without periodic wrap: any integers,
    /// inside the allocation or not (offsets of particle templates are derived from it).
    pub fn grid_position(&self, x: i64, y: i64, l: i64) -> [f64; 3] {
        self.geom.position(x, y, l)
    }

    /// Cartesian position (Å) of the site with index `idx`.
    pub fn position_of(&self, idx: usize) -> [f64; 3] {
        self.position(&self.site_at(idx))
    }

    /// The site of layer `l` whose lateral position is nearest to `(px, py)` (periodic).
    pub fn nearest_in_layer(&self, px: f64, py: f64, l: usize) -> SiteRef {
        let g = self.geom;
        let (x, y) = g.nearest_in_layer(px, py, l as i64, self.nx, self.ny);
        self.site(x, y, l)
    }
}

/// Calls `f(site, d, d²)` for every site within `r` (inclusive) of `p`, with `d` the vector
/// from `p` to the site under the lateral minimum image. Each site is visited once.
pub fn for_each_site_within(
    lat: &Lattice,
    p: [f64; 3],
    r: f64,
    mut f: impl FnMut(SiteRef, [f64; 3], f64),
) {
    let h = lat.layer_spacing();
    let (nx, ny) = lat.grid();
    let [lx, ly] = lat.box_lengths();
    let lo = ((p[2] - r) / h).ceil().max(0.0);
    let hi = ((p[2] + r) / h).floor();
    if hi.is_nan() || lo.is_nan() || hi < lo || lo >= lat.layers() as f64 {
        return;
    }
    let (lo, hi) = (lo as usize, (hi as usize).min(lat.layers() - 1));
    let (sx, sy) = (lx / nx as f64, ly / ny as f64);
    // One step of slack: rows and layers are shifted by up to half a step against each other.
    let kx = (r / sx).ceil() as i64 + 1;
    let ky = (r / sy).ceil() as i64 + 1;
    let range = |c: i64, k: i64, n: usize| -> (i64, i64) {
        if 2 * k + 1 >= n as i64 {
            (0, n as i64 - 1)
        } else {
            (c - k, c + k)
        }
    };
    let r2 = r * r;
    for l in lo..=hi {
        let s0 = lat.nearest_in_layer(p[0], p[1], l);
        let (ya, yb) = range(s0.y as i64, ky, ny);
        let (xa, xb) = range(s0.x as i64, kx, nx);
        for y in ya..=yb {
            let y = y.rem_euclid(ny as i64) as usize;
            for x in xa..=xb {
                let x = x.rem_euclid(nx as i64) as usize;
                let s = lat.site(x, y, l);
                let q = lat.position(&s);
                let mut d = crate::vec3::sub(q, p);
                d[0] -= lx * geometry::round_near_zero(d[0] / lx);
                d[1] -= ly * geometry::round_near_zero(d[1] / ly);
                let d2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                if d2 <= r2 {
                    f(s, d, d2);
                }
            }
        }
    }
}

/// `v` modulo `n` for `v` within a few box lengths of the box: compare-and-add instead of a
/// division, which would dominate the boundary path.
#[inline(always)]
fn wrap(mut v: i64, n: i64) -> usize {
    while v < 0 {
        v += n;
    }
    while v >= n {
        v -= n;
    }
    v as usize
}

#[cfg(test)]
mod tests;
