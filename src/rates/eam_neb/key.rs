//! The local-environment key of an event, canonical under the lattice symmetries that map the
//! event onto itself.
//!
//! # What the key holds
//!
//! For a hop from `a` to the empty neighbour `b` (or an exchange of the atom at `a` with the
//! atom at `v`, which moves to `t`): the event's *type* (its orbit under the lattice symmetry),
//! the mover's species, and the species (0 = empty) of every lattice site within the
//! **second-neighbour distance** of either end (`a` or `b`; for an exchange `a` or `t`), the
//! ends themselves excepted. For fcc that radius is the lattice constant, and the set has 26
//! sites for a hop: in the hop's own layer it is exactly the ten-site neighbourhood of Mehl,
//! Biham, Furman & Karimi (Phys. Rev. B 60, 2106, 1999) that decides fcc(100) terrace barriers
//! (nearest and next-nearest in-layer neighbours of both ends), and above and below it adds the
//! sites the mover touches on its way: the hollows' support atoms and the atoms right
//! above/below both ends. First neighbours set the bonds that break and form, second
//! neighbours the lateral interactions at the saddle; the next shell (third neighbours, at
//! √1.5 a) would more than double the number of sites, hence the number of distinct keys and
//! saddle searches, for corrections of a few tens of meV. Sites below layer 0 read as the
//! substrate species.
//!
//! # Canonical form
//!
//! The species are packed four bits per site into a `u128`, in the order of a *reference*
//! event of the type. The lattice symmetries considered are the isometries that keep the
//! surface normal (rotations about it, mirrors in planes that contain it) combined with lattice
//! translations: they map layers onto layers, so "below" stays below. They are found
//! numerically: candidate rotations and mirrors come from the angles between the lateral
//! projections of the nearest-neighbour vectors, and a candidate counts if it maps every lattice
//! point within a few neighbour distances of the reference event onto a lattice point
//! (positions from [`Lattice::position`]) and the reference event onto the event at hand. The
//! operations that do form a coset of the event's stabiliser (identity and, e.g. on fcc(100),
//! the mirror through the hop axis); the key is the smallest packed value over that coset, so
//! all symmetric copies of an environment share one key.

use crate::error::{Error, Result};
use crate::lattice::{Lattice, MAX_RANGE, Offset, SiteRef};
use crate::state::State;
use crate::vec3::{dist, sub};
use std::collections::HashMap;

/// Most sites an environment may hold (four bits each in a `u128`).
pub const MAX_ENV_SITES: usize = 32;

/// Key of an event in its environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnvKey {
    /// Event type: index into [`KeyTables::types`].
    pub event_type: u16,
    /// Species of the moving atom (the one at the origin).
    pub mover: u8,
    /// Species of the environment sites, four bits each, site `i` in bits `4i..4i+4`, in the
    /// type's canonical order (see [`EventType::env`]).
    pub env: u128,
}

impl EnvKey {
    /// Species of environment site `i`.
    pub fn site(&self, i: usize) -> u8 {
        ((self.env >> (4 * i)) & 0xF) as u8
    }
}

/// Hop or exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Nearest-neighbour hop `a → b`.
    Hop,
    /// Exchange: the atom at `a` replaces the atom at `v`, which moves to `t`.
    Exchange,
}

/// One orbit of events under the lattice symmetry, with its reference geometry.
#[derive(Debug, Clone, PartialEq)]
pub struct EventType {
    /// Hop or exchange.
    pub kind: EventKind,
    /// Class of the reference event's origin.
    pub ref_class: u8,
    /// Index of the reference event in its class (neighbour direction, or exchange number).
    pub ref_event: usize,
    /// The event's points relative to the origin, Å: `[0, b]` or `[0, v, t]`.
    pub points: Vec<[f64; 3]>,
    /// Environment sites relative to the origin of the reference event, Å, in key order.
    pub env: Vec<[f64; 3]>,
    /// Grid offsets of the environment sites from the reference origin, in key order.
    pub env_offsets: Vec<(i32, i32, i32)>,
}

/// How one concrete event (class, index) reads its key.
#[derive(Debug, Clone)]
pub(crate) struct EventReads {
    pub event_type: u16,
    /// Sites to read, relative to the origin, in the key order of the first symmetry operation.
    pub reads: Vec<Offset>,
    /// For every further operation of the coset: `perm[i]` is the index into `reads` whose
    /// species goes to key position `i`.
    pub perms: Vec<Vec<u8>>,
    /// The event's sites relative to the origin: `[b]` for a hop, `[v, t]` for an exchange.
    pub sites: Vec<Offset>,
    /// Index of the reverse event in the class of its origin (`b` for a hop, `t` for an
    /// exchange).
    pub reverse: usize,
}

/// Key tables of a lattice: event types and, per class, how each event reads its key.
#[derive(Debug, Clone)]
pub struct KeyTables {
    types: Vec<EventType>,
    pub(crate) hops: Vec<Vec<EventReads>>,
    pub(crate) exchanges: Vec<Vec<EventReads>>,
    /// Largest |dx|, |dy|, |dl| of any read: farther from the grid edges no wrap is needed.
    margin: [usize; 3],
    radius_a: f64,
    nn_a: f64,
}

type Grid = (i64, i64, i64);

/// Grid points with their positions, binned by rounded position.
type Bins = HashMap<(i64, i64, i64), Vec<(Grid, [f64; 3])>>;

/// Lattice points of a block around a base point, looked up by position.
struct Block {
    bins: Bins,
    points: Vec<(Grid, [f64; 3])>,
}

const BIN: f64 = 0.01;
const BASE: i64 = 30;
/// Half-widths of the block in x, y and layers (layers can be thin: fcc(110) has four per a).
const HALF: [i64; 3] = [10, 10, 16];

impl Block {
    fn new(lattice: &Lattice) -> Self {
        let mut bins: HashMap<_, Vec<_>> = HashMap::new();
        let mut points = Vec::new();
        for l in BASE - HALF[2]..=BASE + HALF[2] {
            for y in BASE - HALF[1]..=BASE + HALF[1] {
                for x in BASE - HALF[0]..=BASE + HALF[0] {
                    let p = pos(lattice, (x, y, l));
                    bins.entry(bin(p)).or_default().push(((x, y, l), p));
                    points.push(((x, y, l), p));
                }
            }
        }
        Block { bins, points }
    }

    /// The grid point at Cartesian `p` (within 1e-6 Å), if any.
    fn find(&self, p: [f64; 3]) -> Option<Grid> {
        let c = bin(p);
        for dz in -1..=1 {
            for dy in -1..=1 {
                for dx in -1..=1 {
                    if let Some(v) = self.bins.get(&(c.0 + dx, c.1 + dy, c.2 + dz)) {
                        for (g, q) in v {
                            if dist(*q, p) < 1e-6 {
                                return Some(*g);
                            }
                        }
                    }
                }
            }
        }
        None
    }
}

fn bin(p: [f64; 3]) -> (i64, i64, i64) {
    (
        (p[0] / BIN).round() as i64,
        (p[1] / BIN).round() as i64,
        (p[2] / BIN).round() as i64,
    )
}

fn pos(lattice: &Lattice, g: Grid) -> [f64; 3] {
    lattice.position(&SiteRef {
        idx: 0,
        x: g.0 as u32,
        y: g.1 as u32,
        l: g.2 as u32,
        class: 0,
        interior: false,
    })
}

/// A z-preserving orthogonal map: rotation by `phi` after an optional mirror `y → −y`.
#[derive(Debug, Clone, Copy)]
struct Op {
    c: f64,
    s: f64,
    mirror: bool,
}

impl Op {
    fn apply(&self, v: [f64; 3]) -> [f64; 3] {
        let y = if self.mirror { -v[1] } else { v[1] };
        [self.c * v[0] - self.s * y, self.s * v[0] + self.c * y, v[2]]
    }
}

/// Grid coordinates of a representative origin of class `c`, near the block's centre.
fn representative(lattice: &Lattice, c: u8) -> Result<Grid> {
    let (_, ny) = lattice.grid();
    for l in 0..lattice.layers().min(6) {
        for y in 0..ny.min(6) {
            if lattice.site(0, y, l).class == c {
                // Class periods along y and layers are at most 3, so BASE (a multiple of 6) keeps the
                // parities.
                return Ok((BASE, BASE + y as i64, BASE + l as i64));
            }
        }
    }
    Err(Error::Simulation(format!(
        "{:?} lattice of {} layers is too thin to hold every site class",
        lattice.kind(),
        lattice.layers()
    )))
}

/// Candidate operations: rotations and mirrors that map one lateral neighbour direction onto
/// another; identity first.
fn candidate_ops(lattice: &Lattice) -> Vec<Op> {
    let mut angles: Vec<f64> = Vec::new();
    let t0 = lattice.class_tables(0);
    let rep = (BASE, BASE, BASE);
    let p0 = pos(lattice, rep);
    for o in &t0.neighbors {
        let p = pos(
            lattice,
            (
                rep.0 + o.dx as i64,
                rep.1 + o.dy as i64,
                rep.2 + o.dl as i64,
            ),
        );
        let d = sub(p, p0);
        if d[0].hypot(d[1]) > 1e-6 {
            angles.push(d[1].atan2(d[0]));
        }
    }
    let tau = std::f64::consts::TAU;
    let norm = |x: f64| {
        let r = x.rem_euclid(tau);
        if tau - r < 1e-9 { 0.0 } else { r }
    };
    let mut rot = Vec::new();
    let mut mir = Vec::new();
    for &ti in &angles {
        for &tj in &angles {
            rot.push(norm(tj - ti));
            mir.push(norm(tj + ti));
        }
    }
    let dedup = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    };
    dedup(&mut rot);
    dedup(&mut mir);
    if rot.is_empty() {
        rot.push(0.0);
    }
    rot.iter()
        .map(|&p| (p, false))
        .chain(mir.iter().map(|&p| (p, true)))
        .map(|(p, mirror)| Op {
            c: p.cos(),
            s: p.sin(),
            mirror,
        })
        .collect()
}

/// One concrete event: origin grid point and event points.
struct Concrete {
    class: u8,
    index: usize,
    origin: Grid,
    /// Event sites (b, or v and t) as grid offsets from the origin.
    sites: Vec<(i32, i32, i32)>,
}

impl Concrete {
    fn points(&self, lattice: &Lattice) -> Vec<[f64; 3]> {
        let o = self.origin;
        std::iter::once(pos(lattice, o))
            .chain(self.sites.iter().map(|s| {
                pos(
                    lattice,
                    (o.0 + s.0 as i64, o.1 + s.1 as i64, o.2 + s.2 as i64),
                )
            }))
            .collect()
    }

    /// Points whose neighbourhoods make the environment: the ends of the event.
    fn ends(&self, lattice: &Lattice) -> Vec<[f64; 3]> {
        let p = self.points(lattice);
        match p.len() {
            2 => p,
            _ => vec![p[0], p[2]],
        }
    }
}

impl KeyTables {
    /// Derives the event types and the key reads of every event of `lattice` (hops, and
    /// exchanges if `exchange`).
    pub fn new(lattice: &Lattice, exchange: bool) -> Result<Self> {
        if lattice.kind().is_2d() {
            return Err(Error::field(
                "lattice.kind",
                format!(
                    "{:?}: the EAM/NEB rate model needs a 3-D lattice",
                    lattice.kind()
                ),
            ));
        }
        let block = Block::new(lattice);
        let ops = candidate_ops(lattice);
        let nn = lattice.nn_distance();
        // Second-neighbour distance: the next distinct distance after the nearest neighbours.
        let p0 = pos(lattice, (BASE, BASE, BASE));
        let mut ds: Vec<f64> = block
            .points
            .iter()
            .map(|(_, p)| dist(*p, p0))
            .filter(|d| *d > nn + 1e-6)
            .collect();
        ds.sort_by(f64::total_cmp);
        let radius = ds[0];
        let check = 2.0 * radius + 2.0 * nn;

        let mut concrete = Vec::new();
        for c in 0..lattice.n_classes() as u8 {
            let origin = representative(lattice, c)?;
            let t = lattice.class_tables(c);
            for (k, o) in t.neighbors.iter().enumerate() {
                concrete.push((
                    EventKind::Hop,
                    Concrete {
                        class: c,
                        index: k,
                        origin,
                        sites: vec![(o.dx, o.dy, o.dl)],
                    },
                ));
            }
            if exchange {
                for (x, (v, to)) in t.exchanges.iter().enumerate() {
                    concrete.push((
                        EventKind::Exchange,
                        Concrete {
                            class: c,
                            index: x,
                            origin,
                            sites: vec![(v.dx, v.dy, v.dl), (to.dx, to.dy, to.dl)],
                        },
                    ));
                }
            }
        }

        let mut types: Vec<(EventType, usize)> = Vec::new();
        let mut nears: Vec<Vec<[f64; 3]>> = Vec::new();
        let nc = lattice.n_classes();
        let mut hops: Vec<Vec<Option<EventReads>>> = (0..nc)
            .map(|c| vec![None; lattice.class_tables(c as u8).neighbors.len()])
            .collect();
        let mut exchanges: Vec<Vec<Option<EventReads>>> = (0..nc)
            .map(|c| {
                if exchange {
                    vec![None; lattice.class_tables(c as u8).exchanges.len()]
                } else {
                    Vec::new()
                }
            })
            .collect();
        for (ci, (kind, ev)) in concrete.iter().enumerate() {
            let mut found = None;
            for (tid, (ty, ref_i)) in types.iter().enumerate() {
                if ty.kind != *kind {
                    continue;
                }
                let r = &concrete[*ref_i].1;
                let maps = mapping_ops(lattice, &block, &ops, r, &nears[tid], ev);
                if !maps.is_empty() {
                    found = Some((tid, maps));
                    break;
                }
            }
            let (tid, maps) = match found {
                Some(f) => f,
                None => {
                    let near = near_points(lattice, &block, ev, check);
                    let maps = mapping_ops(lattice, &block, &ops, ev, &near, ev);
                    nears.push(near);
                    if maps.is_empty() {
                        return Err(Error::Simulation(format!(
                            "{:?}: no symmetry operation maps an event onto itself (not even the identity)",
                            lattice.kind()
                        )));
                    }
                    let ends = ev.ends(lattice);
                    let pts = ev.points(lattice);
                    let o = pos(lattice, ev.origin);
                    let mut env: Vec<(Grid, [f64; 3])> = block
                        .points
                        .iter()
                        .filter(|(_, p)| {
                            ends.iter().any(|e| dist(*p, *e) < radius + 1e-6)
                                && ends.iter().all(|e| dist(*p, *e) > 1e-6)
                        })
                        .map(|(g, p)| (*g, sub(*p, o)))
                        .collect();
                    // Canonical order: by height, then y, then x (rounded against noise).
                    let r6 = |x: f64| (x * 1e6).round() as i64;
                    env.sort_by_key(|(_, p)| (r6(p[2]), r6(p[1]), r6(p[0])));
                    if env.len() > MAX_ENV_SITES {
                        return Err(Error::Simulation(format!(
                            "{:?}: an event's environment has {} sites, more than the {MAX_ENV_SITES} a key holds",
                            lattice.kind(),
                            env.len()
                        )));
                    }
                    types.push((
                        EventType {
                            kind: *kind,
                            ref_class: ev.class,
                            ref_event: ev.index,
                            points: pts.iter().map(|p| sub(*p, o)).collect(),
                            env_offsets: env
                                .iter()
                                .map(|(g, _)| {
                                    (
                                        (g.0 - ev.origin.0) as i32,
                                        (g.1 - ev.origin.1) as i32,
                                        (g.2 - ev.origin.2) as i32,
                                    )
                                })
                                .collect(),
                            env: env.iter().map(|(_, p)| *p).collect(),
                        },
                        ci,
                    ));
                    (types.len() - 1, maps)
                }
            };
            let reads = event_reads(lattice, &block, &types[tid].0, ev, &maps, tid as u16)?;
            match kind {
                EventKind::Hop => hops[ev.class as usize][ev.index] = Some(reads),
                EventKind::Exchange => exchanges[ev.class as usize][ev.index] = Some(reads),
            }
        }
        let unwrap_all = |v: Vec<Vec<Option<EventReads>>>| -> Vec<Vec<EventReads>> {
            v.into_iter()
                .map(|c| {
                    c.into_iter()
                        .map(|e| e.expect("every event typed"))
                        .collect()
                })
                .collect()
        };
        let mut hops = unwrap_all(hops);
        let mut exchanges = unwrap_all(exchanges);
        // Reverse events.
        for c in 0..nc {
            for k in 0..hops[c].len() {
                let b = hops[c][k].sites[0];
                let cb = b.class as usize;
                let rev = lattice
                    .class_tables(b.class)
                    .neighbors
                    .iter()
                    .position(|o| o.dx == -b.dx && o.dy == -b.dy && o.dl == -b.dl);
                hops[c][k].reverse = rev.ok_or_else(|| {
                    Error::Simulation("neighbour relation is not symmetric".into())
                })?;
                debug_assert!(hops[cb].len() > hops[c][k].reverse);
            }
            for x in 0..exchanges[c].len() {
                let (v, t) = (exchanges[c][x].sites[0], exchanges[c][x].sites[1]);
                let rev = lattice
                    .class_tables(t.class)
                    .exchanges
                    .iter()
                    .position(|(v2, t2)| {
                        (v2.dx, v2.dy, v2.dl) == (v.dx - t.dx, v.dy - t.dy, v.dl - t.dl)
                            && (t2.dx, t2.dy, t2.dl) == (-t.dx, -t.dy, -t.dl)
                    });
                exchanges[c][x].reverse = rev.ok_or_else(|| {
                    Error::Simulation("an exchange has no reverse exchange".into())
                })?;
            }
        }
        let mut margin = [0usize; 3];
        for e in hops.iter().chain(&exchanges).flatten() {
            for o in e.reads.iter().chain(&e.sites) {
                margin[0] = margin[0].max(o.dx.unsigned_abs() as usize);
                margin[1] = margin[1].max(o.dy.unsigned_abs() as usize);
                margin[2] = margin[2].max(o.dl.unsigned_abs() as usize);
            }
        }
        Ok(KeyTables {
            types: types.into_iter().map(|(t, _)| t).collect(),
            hops,
            exchanges,
            margin,
            radius_a: radius,
            nn_a: nn,
        })
    }

    /// The same tables for another lattice of the same kind and lattice constant (other
    /// lateral size or layer count): only the linear-index shifts differ.
    pub fn for_lattice(&self, lattice: &Lattice) -> Result<KeyTables> {
        let resolve = |class: u8, o: &Offset| -> Result<Offset> {
            lattice.class_tables(class).shells[MAX_RANGE]
                .iter()
                .find(|s| (s.dx, s.dy, s.dl) == (o.dx, o.dy, o.dl))
                .copied()
                .ok_or_else(|| Error::Simulation("key offset beyond the lattice's shells".into()))
        };
        let redo = |v: &Vec<Vec<EventReads>>| -> Result<Vec<Vec<EventReads>>> {
            v.iter()
                .enumerate()
                .map(|(c, evs)| {
                    evs.iter()
                        .map(|e| {
                            Ok(EventReads {
                                reads: e
                                    .reads
                                    .iter()
                                    .map(|o| resolve(c as u8, o))
                                    .collect::<Result<_>>()?,
                                sites: e
                                    .sites
                                    .iter()
                                    .map(|o| resolve(c as u8, o))
                                    .collect::<Result<_>>()?,
                                ..e.clone()
                            })
                        })
                        .collect()
                })
                .collect()
        };
        if lattice.n_classes() != self.hops.len() {
            return Err(Error::Simulation(
                "key tables of another lattice kind".into(),
            ));
        }
        Ok(KeyTables {
            hops: redo(&self.hops)?,
            exchanges: redo(&self.exchanges)?,
            ..self.clone()
        })
    }

    /// The event types (orbits), in id order.
    pub fn types(&self) -> &[EventType] {
        &self.types
    }

    /// Radius of the environment around each end of an event, Å (the second-neighbour
    /// distance).
    pub fn radius_a(&self) -> f64 {
        self.radius_a
    }

    /// Nearest-neighbour distance, Å.
    pub fn nn_a(&self) -> f64 {
        self.nn_a
    }

    /// Number of steps (nearest-neighbour hops) the farthest read lies from an event's origin.
    pub(crate) fn read_steps(&self, lattice: &Lattice) -> usize {
        let mut steps = 0;
        let per_class = self
            .hops
            .iter()
            .enumerate()
            .chain(self.exchanges.iter().enumerate());
        for (c, evs) in per_class {
            let shells = &lattice.class_tables(c as u8).shells;
            for e in evs {
                for o in e.reads.iter().chain(&e.sites) {
                    let r = (0..shells.len())
                        .find(|&r| {
                            shells[r]
                                .iter()
                                .any(|s| (s.dx, s.dy, s.dl) == (o.dx, o.dy, o.dl))
                        })
                        .unwrap_or(MAX_RANGE + 1);
                    steps = steps.max(r);
                }
            }
        }
        steps
    }

    /// Key of the hop of the atom at `a` (species `mover`) along neighbour direction `k`;
    /// sites below layer 0 read as `floor`.
    #[inline]
    pub fn hop_key(&self, state: &State, a: &SiteRef, k: usize, mover: u8, floor: u8) -> EnvKey {
        self.key(state, a, &self.hops[a.class as usize][k], mover, floor)
    }

    /// Key of exchange number `x` (in [`crate::lattice::ClassTables::exchanges`] order) of
    /// the atom at `a`.
    #[inline]
    pub fn exchange_key(
        &self,
        state: &State,
        a: &SiteRef,
        x: usize,
        mover: u8,
        floor: u8,
    ) -> EnvKey {
        self.key(state, a, &self.exchanges[a.class as usize][x], mover, floor)
    }

    #[inline]
    fn key(&self, state: &State, a: &SiteRef, e: &EventReads, mover: u8, floor: u8) -> EnvKey {
        let mut vals = [0u8; MAX_ENV_SITES];
        let n = e.reads.len();
        let lat = state.lattice();
        let (nx, ny) = lat.grid();
        let m = self.margin;
        let (x, y, l) = (a.x as usize, a.y as usize, a.l as usize);
        let cells = state.cells();
        if x >= m[0]
            && x + m[0] < nx
            && y >= m[1]
            && y + m[1] < ny
            && l >= m[2]
            && l + m[2] < lat.layers()
        {
            for (v, o) in vals.iter_mut().zip(&e.reads) {
                *v = cells[(a.idx as isize + o.delta) as usize].species();
            }
        } else {
            for (v, o) in vals.iter_mut().zip(&e.reads) {
                *v = match wrapped_index(lat, a, o) {
                    Ok(i) => cells[i].species(),
                    Err(below) => {
                        if below {
                            floor
                        } else {
                            0
                        }
                    }
                };
            }
        }
        let mut best = pack(&vals[..n]);
        for p in &e.perms {
            let mut w = [0u64; 2];
            for (wi, chunk) in w.iter_mut().zip(p.chunks(16)) {
                let mut v = 0u64;
                for (j, &i) in chunk.iter().enumerate() {
                    v |= (vals[i as usize & 31] as u64) << (4 * j);
                }
                *wi = v;
            }
            best = best.min(((w[1] as u128) << 64) | w[0] as u128);
        }
        EnvKey {
            event_type: e.event_type,
            mover,
            env: best,
        }
    }

    /// Offsets, from the origin of the reference event of type `t`, of its environment sites
    /// in key order, and its event sites.
    pub(crate) fn reference_reads(&self, t: u16) -> (&[Offset], &[Offset], u8, usize) {
        let ty = &self.types[t as usize];
        let e = match ty.kind {
            EventKind::Hop => &self.hops[ty.ref_class as usize][ty.ref_event],
            EventKind::Exchange => &self.exchanges[ty.ref_class as usize][ty.ref_event],
        };
        (&e.reads, &e.sites, ty.ref_class, ty.ref_event)
    }

    /// The reverse event's index (in the class of the event's end site).
    pub(crate) fn reverse(&self, kind: EventKind, class: u8, index: usize) -> usize {
        match kind {
            EventKind::Hop => self.hops[class as usize][index].reverse,
            EventKind::Exchange => self.exchanges[class as usize][index].reverse,
        }
    }
}

/// Index of the site at `o` from `a` with periodic wrap in x and y; `Err(true)` below layer 0,
/// `Err(false)` above the allocated layers.
#[inline]
pub(crate) fn wrapped_index(
    lat: &Lattice,
    a: &SiteRef,
    o: &Offset,
) -> std::result::Result<usize, bool> {
    let (nx, ny) = lat.grid();
    let l = a.l as i64 + o.dl as i64;
    if l < 0 {
        return Err(true);
    }
    if l >= lat.layers() as i64 {
        return Err(false);
    }
    let wrap = |v: i64, n: usize| {
        let n = n as i64;
        let mut v = v;
        while v < 0 {
            v += n;
        }
        while v >= n {
            v -= n;
        }
        v as usize
    };
    let x = wrap(a.x as i64 + o.dx as i64, nx);
    let y = wrap(a.y as i64 + o.dy as i64, ny);
    Ok((l as usize * ny + y) * nx + x)
}

/// Four bits per value, value `i` in bits `4i..4i+4` (at most 32 values).
#[inline]
fn pack(vals: &[u8]) -> u128 {
    let mut w = [0u64; 2];
    for (wi, chunk) in w.iter_mut().zip(vals.chunks(16)) {
        let mut v = 0u64;
        for (j, &s) in chunk.iter().enumerate() {
            v |= (s as u64) << (4 * j);
        }
        *wi = v;
    }
    ((w[1] as u128) << 64) | w[0] as u128
}

/// Lattice points within `check` of an event's points (where candidate operations are tested).
fn near_points(lattice: &Lattice, block: &Block, r: &Concrete, check: f64) -> Vec<[f64; 3]> {
    let rp = r.points(lattice);
    block
        .points
        .iter()
        .map(|(_, p)| *p)
        .filter(|p| rp.iter().any(|q| dist(*p, *q) < check))
        .collect()
}

/// Operations that map the reference event `r` onto event `t` (origin onto origin, each event
/// point onto the corresponding one) and the lattice points `near` around `r` onto lattice
/// points.
fn mapping_ops(
    lattice: &Lattice,
    block: &Block,
    ops: &[Op],
    r: &Concrete,
    near: &[[f64; 3]],
    t: &Concrete,
) -> Vec<Op> {
    if r.sites.len() != t.sites.len() {
        return Vec::new();
    }
    let rp = r.points(lattice);
    let tp = t.points(lattice);
    let (ro, to) = (rp[0], tp[0]);
    let map = |op: &Op, p: [f64; 3]| {
        let v = op.apply(sub(p, ro));
        [v[0] + to[0], v[1] + to[1], v[2] + to[2]]
    };
    ops.iter()
        .filter(|op| {
            rp.iter()
                .zip(&tp)
                .all(|(a, b)| dist(map(op, *a), *b) < 1e-6)
                && near.iter().all(|p| block.find(map(op, *p)).is_some())
        })
        .copied()
        .collect()
}

/// How event `t` reads the key of type `ty` (reference event `r`) under the operations `maps`.
fn event_reads(
    lattice: &Lattice,
    block: &Block,
    ty: &EventType,
    t: &Concrete,
    maps: &[Op],
    tid: u16,
) -> Result<EventReads> {
    let to = pos(lattice, t.origin);
    let shells = &lattice.class_tables(t.class).shells[MAX_RANGE];
    let offset_of = |g: Grid| -> Result<Offset> {
        let d = (
            (g.0 - t.origin.0) as i32,
            (g.1 - t.origin.1) as i32,
            (g.2 - t.origin.2) as i32,
        );
        shells
            .iter()
            .find(|o| (o.dx, o.dy, o.dl) == d)
            .copied()
            .ok_or_else(|| {
                Error::Simulation(format!(
                    "{:?}: an environment site lies beyond {MAX_RANGE} neighbour steps",
                    lattice.kind()
                ))
            })
    };
    let image = |op: &Op, rel: [f64; 3]| -> Result<Grid> {
        let v = op.apply(rel);
        block
            .find([v[0] + to[0], v[1] + to[1], v[2] + to[2]])
            .ok_or_else(|| Error::Simulation("symmetry image is not a lattice point".into()))
    };
    let mut grids: Vec<Vec<Grid>> = Vec::new();
    for op in maps {
        grids.push(
            ty.env
                .iter()
                .map(|p| image(op, *p))
                .collect::<Result<Vec<_>>>()?,
        );
    }
    let reads = grids[0]
        .iter()
        .map(|g| offset_of(*g))
        .collect::<Result<Vec<_>>>()?;
    let mut perms = Vec::new();
    for gs in &grids[1..] {
        let perm = gs
            .iter()
            .map(|g| {
                grids[0]
                    .iter()
                    .position(|h| h == g)
                    .map(|p| p as u8)
                    .ok_or_else(|| {
                        Error::Simulation(
                            "a symmetry operation does not permute the environment".into(),
                        )
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        perms.push(perm);
    }
    let sites = t
        .sites
        .iter()
        .map(|s| {
            offset_of((
                t.origin.0 + s.0 as i64,
                t.origin.1 + s.1 as i64,
                t.origin.2 + s.2 as i64,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(EventReads {
        event_type: tid,
        reads,
        perms,
        sites,
        reverse: usize::MAX,
    })
}
