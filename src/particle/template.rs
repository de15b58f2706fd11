//! Placing a particle on the lattice: grid offsets of its atoms and of its *halo* (the empty
//! nearest neighbours of its atoms) for each kind of centre site, and the landing of a falling
//! particle.
//!
//! Grid offsets `(dx, dy, dl)` of one lattice vector differ between centre sites of different
//! classes (stacking shifts), so they are derived per class, lazily, from the particle's lattice
//! vectors; a class is identified by `(y mod 2, l mod 6)`, which covers every kind's class
//! period.
//!
//! **Landing.** The particle's centre starts just high enough that no atom or halo site lies at
//! or below the film top of its column (from [`State::column_tops`], looking at the particle's
//! own footprint widened by three columns), and then walks down one nearest-neighbour step at a
//! time, taking the lower neighbour that keeps it closest to the vertical line through the
//! drop point. It stops at the first position where a halo site is occupied (an atom of the
//! particle has an occupied nearest neighbour) or where its lowest atom reaches layer 0. Each
//! step moves every atom by one nearest-neighbour vector, so an atom could only enter an
//! occupied site from a position where that site was already in the halo: the first contact is
//! always free of overlap. The cost is the halo size times the few layers walked; the lattice
//! is never scanned.

use super::{LatticeFrame, Particle};
use crate::lattice::Lattice;
use crate::state::State;
use hashbrown::HashMap;

/// Grid offsets of one particle for centres of one class.
#[derive(Debug, Clone)]
pub struct ClassTemplate {
    /// Offset of each atom (same order as the particle's atoms).
    pub atoms: Vec<[i32; 3]>,
    /// Offsets of the halo: empty nearest neighbours of the atoms.
    pub halo: Vec<[i32; 3]>,
    /// Offsets of the centre's nearest neighbours in lower layers (the steps of the fall).
    pub down: Vec<[i32; 3]>,
    /// Lowest `dl` of an atom.
    pub min_atom_dl: i32,
    /// Highest `dl` of an atom.
    pub max_atom_dl: i32,
    /// Spans `max − min` of `dx` and `dy` over atoms and halo.
    pub span: [i32; 2],
}

/// A particle prepared for placement on one lattice.
#[derive(Debug, Clone)]
pub struct Template<'p> {
    particle: &'p Particle,
    atom_index: HashMap<[i32; 3], u32>,
    halo_keys: HashMap<[i32; 3], ()>,
    reach: f64,
    nn: f64,
    classes: HashMap<(usize, usize), ClassTemplate>,
    down_keys: Vec<[f64; 3]>,
}

/// A placed particle's sites.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Centre site `(x, y, l)`.
    pub centre: [usize; 3],
    /// Site `(x, y, l)` of each atom, in the particle's order.
    pub sites: Vec<[usize; 3]>,
    /// True if the particle touches atoms (false: it rests on the bare floor, layer 0).
    pub touches: bool,
}

impl Placement {
    /// Highest layer of an atom.
    pub fn top_layer(&self) -> usize {
        self.sites.iter().map(|s| s[2]).max().unwrap_or(0)
    }
}

/// Why a particle could not be placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceError {
    /// The particle (with its halo) is wider than the periodic box.
    TooWide {
        /// Span of the particle and halo in grid columns `(x, y)`.
        span: [i32; 2],
        /// The grid.
        grid: [usize; 2],
    },
    /// At an explicitly given position the particle overlaps an atom at this site.
    Overlap([usize; 3]),
    /// The centre would put atoms below layer 0.
    BelowFloor,
}

impl std::fmt::Display for PlaceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlaceError::TooWide { span, grid } => write!(
                f,
                "the particle spans {} × {} grid columns with its nearest-neighbour shell, more than the periodic {} × {} box allows",
                span[0] + 1,
                span[1] + 1,
                grid[0],
                grid[1]
            ),
            PlaceError::Overlap(s) => write!(
                f,
                "the particle overlaps an atom already present at site ({}, {}, {})",
                s[0], s[1], s[2]
            ),
            PlaceError::BelowFloor => write!(f, "the particle would reach below layer 0"),
        }
    }
}

fn wrap(v: i64, n: usize) -> usize {
    v.rem_euclid(n as i64) as usize
}

impl<'p> Template<'p> {
    /// Prepares `particle` (built for `frame`'s lattice kind) for placement on `lat`.
    pub fn new(particle: &'p Particle, frame: &LatticeFrame, lat: &Lattice) -> Self {
        let atom_index: HashMap<[i32; 3], u32> = particle
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, i as u32))
            .collect();
        let nn_keys: Vec<[i32; 3]> = frame.nn.iter().map(|&v| frame.key(v)).collect();
        let mut halo_keys = HashMap::new();
        for k in &particle.keys {
            for n in &nn_keys {
                let h = [k[0] + n[0], k[1] + n[1], k[2] + n[2]];
                if !atom_index.contains_key(&h) {
                    halo_keys.insert(h, ());
                }
            }
        }
        let nn = lat.nn_distance();
        Template {
            particle,
            atom_index,
            halo_keys,
            reach: particle.radius_a() + nn,
            nn,
            classes: HashMap::new(),
            down_keys: frame.nn.iter().copied().filter(|v| v[2] < -1e-9).collect(),
        }
    }

    /// The particle.
    pub fn particle(&self) -> &Particle {
        self.particle
    }

    fn class_key(y: usize, l: usize) -> (usize, usize) {
        (y % 2, l % 6)
    }

    /// Offsets for centres of the class of `(y, l)`.
    pub fn class(
        &mut self,
        lat: &Lattice,
        frame: &LatticeFrame,
        y: usize,
        l: usize,
    ) -> &ClassTemplate {
        let key = Self::class_key(y, l);
        if !self.classes.contains_key(&key) {
            let t = self.derive(lat, frame, key);
            self.classes.insert(key, t);
        }
        &self.classes[&key]
    }

    fn derive(
        &self,
        lat: &Lattice,
        frame: &LatticeFrame,
        (y0, l0): (usize, usize),
    ) -> ClassTemplate {
        let (y0, l0) = (y0 as i64, l0 as i64);
        let o = lat.grid_position(0, y0, l0);
        let step = |p: [f64; 3]| {
            let d = super::sub(p, o);
            super::norm(d).max(1e-9)
        };
        let sx = step(lat.grid_position(1, y0, l0));
        let sy = (lat.grid_position(0, y0 + 1, l0)[1] - o[1]).abs().max(1e-9);
        let sl = lat.layer_spacing().max(1e-9);
        let r = self.reach + 2.0 * self.nn;
        let (mx, my, ml) = (
            (r / sx).ceil() as i64 + 2,
            (r / sy).ceil() as i64 + 2,
            (r / sl).ceil() as i64 + 2,
        );
        let n = self.particle.len();
        let mut atoms = vec![[i32::MIN; 3]; n];
        let mut halo = Vec::new();
        let mut down = Vec::new();
        let r2 = (self.reach + 1e-6) * (self.reach + 1e-6);
        for dl in -ml..=ml {
            for dy in -my..=my {
                for dx in -mx..=mx {
                    let d = super::sub(lat.grid_position(dx, y0 + dy, l0 + dl), o);
                    if super::dot(d, d) > r2 {
                        continue;
                    }
                    let off = [dx as i32, dy as i32, dl as i32];
                    let key = frame.key(d);
                    if let Some(&i) = self.atom_index.get(&key) {
                        atoms[i as usize] = off;
                    } else if self.halo_keys.contains_key(&key) {
                        halo.push(off);
                    }
                    if self
                        .down_keys
                        .iter()
                        .any(|v| super::norm(super::sub(*v, d)) < 1e-6 * self.nn)
                    {
                        down.push(off);
                    }
                }
            }
        }
        // Every lattice vector within `reach` is some grid offset: a miss is a geometry bug.
        assert!(
            atoms.iter().all(|a| a[0] != i32::MIN),
            "particle atom without a grid offset"
        );
        let mut lo = [i32::MAX; 2];
        let mut hi = [i32::MIN; 2];
        for a in atoms.iter().chain(&halo) {
            for k in 0..2 {
                lo[k] = lo[k].min(a[k]);
                hi[k] = hi[k].max(a[k]);
            }
        }
        ClassTemplate {
            min_atom_dl: atoms.iter().map(|a| a[2]).min().unwrap_or(0),
            max_atom_dl: atoms.iter().map(|a| a[2]).max().unwrap_or(0),
            span: [hi[0] - lo[0], hi[1] - lo[1]],
            atoms,
            halo,
            down,
        }
    }

    /// Checks that the particle fits in the periodic box (for the class of `(y, l)`).
    pub fn check_fits(&mut self, lat: &Lattice, frame: &LatticeFrame) -> Result<(), PlaceError> {
        let (nx, ny) = lat.grid();
        for (y, l) in [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2)] {
            let t = self.class(lat, frame, y, l);
            if t.span[0] as usize >= nx || t.span[1] as usize >= ny {
                return Err(PlaceError::TooWide {
                    span: t.span,
                    grid: [nx, ny],
                });
            }
        }
        Ok(())
    }

    /// The particle centred on site `(x, y, l)`, or why not: an atom below layer 0, an overlap.
    /// (Layers above the allocation count as empty; the caller grows the lattice.)
    pub fn place_at(
        &mut self,
        state: &State,
        frame: &LatticeFrame,
        centre: [usize; 3],
    ) -> Result<Placement, PlaceError> {
        self.check_fits(state.lattice(), frame)?;
        let lat = state.lattice();
        let t = self.class(lat, frame, centre[1], centre[2]);
        if (centre[2] as i64) + (t.min_atom_dl as i64) < 0 {
            return Err(PlaceError::BelowFloor);
        }
        let sites = apply(lat, centre, &t.atoms);
        if let Some(s) = sites.iter().find(|s| occupied(state, **s)) {
            return Err(PlaceError::Overlap(*s));
        }
        let touches = t
            .halo
            .iter()
            .any(|h| offset_site(lat, centre, *h).is_some_and(|s| occupied(state, s)));
        Ok(Placement {
            centre,
            sites,
            touches,
        })
    }

    /// Drops the particle at the lateral point `(px, py)` (Å) and returns where it comes to
    /// rest (see the module notes).
    pub fn land(
        &mut self,
        state: &State,
        frame: &LatticeFrame,
        px: f64,
        py: f64,
    ) -> Result<Placement, PlaceError> {
        self.check_fits(state.lattice(), frame)?;
        let lat = state.lattice();
        let (nx, ny) = lat.grid();
        let tops = state.column_tops();
        // A first guess of the centre column, from a layer at the film top.
        let guess_l = state.top_layer().unwrap_or(0);
        let (gx, gy) = nearest_in_layer(lat, px, py, guess_l);
        let t = self.class(lat, frame, gy, guess_l).clone();
        let mut col_min: HashMap<(i32, i32), i32> = HashMap::new();
        for o in t.atoms.iter().chain(&t.halo) {
            let e = col_min.entry((o[0], o[1])).or_insert(o[2]);
            *e = (*e).min(o[2]);
        }
        // Highest layer at which something in the widened footprint could be touched.
        let widen = 3;
        let mut start = (-t.min_atom_dl).max(0) as i64;
        for (&(dx, dy), &dl) in &col_min {
            for ex in -widen..=widen {
                for ey in -widen..=widen {
                    let x = wrap(gx as i64 + (dx + ex) as i64, nx);
                    let y = wrap(gy as i64 + (dy + ey) as i64, ny);
                    let top = tops[y * nx + x] as i64;
                    if top >= 0 {
                        start = start.max(top - dl as i64 + 1);
                    }
                }
            }
        }
        let mut l = start as usize;
        let (mut x, mut y) = nearest_in_layer(lat, px, py, l);
        // The bound assumes a bounded drift of the path; if the start touches anyway, climb.
        loop {
            let t = self.class(lat, frame, y, l);
            let clear = !t
                .halo
                .iter()
                .chain(&t.atoms)
                .any(|h| offset_site(lat, [x, y, l], *h).is_some_and(|s| occupied(state, s)));
            if clear {
                break;
            }
            l += 1;
            (x, y) = nearest_in_layer(lat, px, py, l);
        }
        let [lx, ly] = lat.box_lengths();
        loop {
            let t = self.class(lat, frame, y, l);
            let touches = t
                .halo
                .iter()
                .any(|h| offset_site(lat, [x, y, l], *h).is_some_and(|s| occupied(state, s)));
            if touches || l as i64 + t.min_atom_dl as i64 == 0 {
                let sites = apply(lat, [x, y, l], &t.atoms);
                if let Some(s) = sites.iter().find(|s| occupied(state, **s)) {
                    // Excluded by the nearest-neighbour-step argument; kept as a guard.
                    return Err(PlaceError::Overlap(*s));
                }
                return Ok(Placement {
                    centre: [x, y, l],
                    sites,
                    touches,
                });
            }
            let down = t.down.clone();
            let mut best: Option<(f64, [usize; 3])> = None;
            for d in down {
                let nl = l as i64 + d[2] as i64;
                if nl < 0 {
                    continue;
                }
                let (cx, cy) = (x as i64 + d[0] as i64, y as i64 + d[1] as i64);
                let (cxw, cyw) = (wrap(cx, nx), wrap(cy, ny));
                let min_dl = self.class(lat, frame, cyw, nl as usize).min_atom_dl;
                if nl + (min_dl as i64) < 0 {
                    continue;
                }
                let p = lat.grid_position(cx, cy, nl);
                let mut ddx = p[0] - px;
                let mut ddy = p[1] - py;
                ddx -= lx * (ddx / lx).round();
                ddy -= ly * (ddy / ly).round();
                let dist = ddx * ddx + ddy * ddy;
                if best.is_none_or(|b| dist < b.0 - 1e-12) {
                    best = Some((dist, [cxw, cyw, nl as usize]));
                }
            }
            match best {
                Some((_, c)) => {
                    (x, y, l) = (c[0], c[1], c[2]);
                }
                None => {
                    // Nowhere lower to go: it rests on the floor here.
                    let t = self.class(lat, frame, y, l);
                    let sites = apply(lat, [x, y, l], &t.atoms);
                    return Ok(Placement {
                        centre: [x, y, l],
                        sites,
                        touches: false,
                    });
                }
            }
        }
    }
}

fn offset_site(lat: &Lattice, c: [usize; 3], o: [i32; 3]) -> Option<[usize; 3]> {
    let l = c[2] as i64 + o[2] as i64;
    if l < 0 {
        return None;
    }
    let (nx, ny) = lat.grid();
    Some([
        wrap(c[0] as i64 + o[0] as i64, nx),
        wrap(c[1] as i64 + o[1] as i64, ny),
        l as usize,
    ])
}

fn apply(lat: &Lattice, c: [usize; 3], offsets: &[[i32; 3]]) -> Vec<[usize; 3]> {
    offsets
        .iter()
        .map(|o| offset_site(lat, c, *o).expect("checked against the floor"))
        .collect()
}

/// Linear index of grid site `s` (valid once the lattice has `s[2] + 1` layers).
pub fn index_of(lat: &Lattice, s: [usize; 3]) -> usize {
    let (nx, ny) = lat.grid();
    (s[2] * ny + s[1]) * nx + s[0]
}

fn occupied(state: &State, s: [usize; 3]) -> bool {
    let lat = state.lattice();
    s[2] < lat.layers() && state.cell(index_of(lat, s)).occupied()
}

/// The grid site of layer `l` laterally nearest to `(px, py)` (periodic), for any layer (also
/// above the allocation).
pub fn nearest_in_layer(lat: &Lattice, px: f64, py: f64, l: usize) -> (usize, usize) {
    let (nx, ny) = lat.grid();
    let [lx, ly] = lat.box_lengths();
    let l = l as i64;
    let o = lat.grid_position(0, 0, l);
    let sy = (lat.grid_position(0, 1, l)[1] - o[1]).abs();
    let sx = (lat.grid_position(1, 0, l)[0] - o[0]).abs();
    let y0 = ((py - o[1]) / sy).round() as i64;
    let mut best = (0usize, 0usize);
    let mut best_d2 = f64::INFINITY;
    for y in y0 - 1..=y0 + 1 {
        let row = lat.grid_position(0, y, l);
        let x0 = ((px - row[0]) / sx).round() as i64;
        for x in x0 - 1..=x0 + 1 {
            let p = lat.grid_position(x, y, l);
            let mut dx = p[0] - px;
            let mut dy = p[1] - py;
            dx -= lx * (dx / lx).round();
            dy -= ly * (dy / ly).round();
            let d2 = dx * dx + dy * dy;
            if d2 < best_d2 - 1e-12 {
                best_d2 = d2;
                best = (wrap(x, nx), wrap(y, ny));
            }
        }
    }
    best
}
