//! Parallel KMC on threads (and on MPI ranks, module `mpi`): the synchronous sublattice
//! algorithm (Shim & Amar, Phys. Rev. B 71, 125432 (2005)) for atom-only lattice runs.
//!
//! The periodic surface is cut into `px × py` sectors, one per worker, and each sector into
//! 2 × 2 blocks, the four sublattices ("colours"). A cycle visits the four colours in a random
//! order (one order for all sectors, from [`Stream::SectorColours`]); for each colour every
//! sector runs rejection-free KMC on the atoms and deposition columns of its block of that
//! colour for a window τ, with its own sum trees and its own stream ([`Stream::Sector`]). The
//! blocks of one colour are a block width apart, and a block is at least as wide as the ghost
//! layer, which holds every site an event, a rate or a refresh walk can reach
//! ([`Lattice::clearance`]: far more than twice the rate model's interaction range), so the
//! sectors' windows touch disjoint sites and their order does not matter. After a cycle the
//! clock advances by τ: every block has evolved for τ.
//!
//! Each sector owns its state: a periodic lattice of its core plus a ghost layer on every side.
//! Sites near the edge of that box see wrapped neighbours, but nothing within the ghost width
//! of the core reads them. An event may carry an atom out of the active block into a
//! neighbouring block or into the ghost layer (another sector's core): the site is written
//! where it lies, the atom has no rate in this sector until it is back in the core, and after
//! the window every sector receives every other sector's changed sites and writes them into
//! its own images of those sites (core or ghost), refreshing the rates around them. This is
//! the boundary rule of Shim and Amar: events are never rejected at a sector edge, their
//! effects are communicated after the window. Deposition works per block: each block is a
//! source of rate `flux × its columns`, dropping atoms at uniform points over its own area.
//!
//! τ defaults to the inverse of the fastest single-event rate (as Shim and Amar choose it),
//! found from every atom of the starting state and from an adatom landed by each deposition
//! source; a scenario can give it (`sublattice_window_s`).
//!
//! Because a sector's whole state is its own box and the exchange is a list of changed sites,
//! a sector maps onto an MPI rank unchanged: with the feature `mpi` the exchange becomes sends
//! of those lists between ranks (module `mpi`), and the trajectory stays the threads'.

use crate::catalog::{ChangedSites, Event};
use crate::deposit::AtomDeposition;
use crate::error::{Error, Result};
use crate::lattice::{Lattice, SiteRef};
use crate::rates::RateModel;
use crate::rng::{KmcRng, Stream, stream, uniform, waiting_time};
use crate::sampler::{RateSampler, SumTree};
use crate::state::State;
use rayon::prelude::*;

#[cfg(feature = "mpi")]
pub mod mpi;

/// Ranks of the MPI world this process belongs to: 1 without the feature `mpi` or `mpirun`.
pub fn ranks() -> usize {
    #[cfg(feature = "mpi")]
    {
        mpi::ranks()
    }
    #[cfg(not(feature = "mpi"))]
    {
        1
    }
}

const NO_SLOT: u32 = u32::MAX;
const COLOURS: usize = 4;

/// How the periodic surface is cut into sectors and blocks (grid steps of the lattice).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Decomposition {
    /// Sectors along x and y.
    pub sectors: [usize; 2],
    /// The lattice's in-layer grid.
    pub grid: [usize; 2],
    /// One block (a sublattice's share of a sector); a sector is 2 × 2 blocks.
    pub block: [usize; 2],
    /// Ghost width on each side of a sector.
    pub ghost: [usize; 2],
}

impl Decomposition {
    /// The most nearly square cut of `lat` into `n` sectors whose blocks are at least a ghost
    /// width wide; the message says why none fits.
    pub fn new(lat: &Lattice, n: usize) -> std::result::Result<Self, String> {
        if n < 2 {
            return Err(format!("a decomposition needs 2 or more sectors, got {n}"));
        }
        let (nx, ny) = lat.grid();
        let period = class_period(lat);
        let [cx, cy, _] = lat.clearance();
        let ghost = [cx.max(1), cy.max(1).div_ceil(period) * period];
        let mut best: Option<Decomposition> = None;
        for px in 1..=n {
            if n % px != 0 {
                continue;
            }
            let py = n / px;
            if nx % (2 * px) != 0 || ny % (2 * py) != 0 {
                continue;
            }
            let block = [nx / (2 * px), ny / (2 * py)];
            if block[1] % period != 0 || block[0] < ghost[0] || block[1] < ghost[1] {
                continue;
            }
            let d = Decomposition {
                sectors: [px, py],
                grid: [nx, ny],
                block,
                ghost,
            };
            let skew = |d: &Decomposition| d.block[0].abs_diff(d.block[1]);
            if best.as_ref().is_none_or(|b| skew(&d) < skew(b)) {
                best = Some(d);
            }
        }
        best.ok_or_else(|| {
            format!(
                "{n} sectors do not fit the {nx} × {ny} grid of this lattice: the grid must \
                 split into {n} sectors of 2 × 2 equal blocks, each at least {} × {} grid steps \
                 (the ghost width that holds everything an event reads or writes), with rows in \
                 multiples of {period}; use fewer threads or a larger box",
                ghost[0], ghost[1]
            )
        })
    }

    /// Number of sectors.
    pub fn n_sectors(&self) -> usize {
        self.sectors[0] * self.sectors[1]
    }

    /// Grid size of a sector's box: its core and a ghost layer on every side.
    pub fn box_grid(&self) -> [usize; 2] {
        [
            2 * self.block[0] + 2 * self.ghost[0],
            2 * self.block[1] + 2 * self.ghost[1],
        ]
    }

    /// Grid origin of sector `s`'s core.
    pub fn origin(&self, s: usize) -> [usize; 2] {
        [
            (s % self.sectors[0]) * 2 * self.block[0],
            (s / self.sectors[0]) * 2 * self.block[1],
        ]
    }
}

/// Rows after which site classes repeat along y (a sector's box must start on such a row).
fn class_period(lat: &Lattice) -> usize {
    let (_, ny) = lat.grid();
    let layers = lat.layers().min(12);
    (1..=ny)
        .find(|&p| {
            ny % p == 0
                && (0..layers).all(|l| {
                    (0..p).all(|y| lat.site(0, y, l).class == lat.site(0, (y + p) % ny, l).class)
                })
        })
        .unwrap_or(ny)
}

/// A changed site in global grid coordinates and its species afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Change {
    x: u32,
    y: u32,
    l: u32,
    species: u8,
}

/// Executed events of a parallel run, summed over sectors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SectorCounts {
    /// Hops.
    pub hops: u64,
    /// Exchanges.
    pub exchanges: u64,
    /// Atoms deposited.
    pub deposited: u64,
    /// Depositions that found no site.
    pub deposits_lost: u64,
}

impl SectorCounts {
    fn add(&mut self, o: &SectorCounts) {
        self.hops += o.hops;
        self.exchanges += o.exchanges;
        self.deposited += o.deposited;
        self.deposits_lost += o.deposits_lost;
    }
}

/// The rates of a sector's core atoms: one sum tree per colour.
#[derive(Debug, Clone)]
struct Rates {
    trees: [SumTree; COLOURS],
    site_of: [Vec<u32>; COLOURS],
    free: [Vec<u32>; COLOURS],
    /// Per local site: colour in the top two bits, slot below; `NO_SLOT` without a rate.
    slot_of: Vec<u32>,
}

impl Rates {
    fn set(&mut self, idx: usize, colour: usize, rate: f64) {
        let slot = self.slot_of[idx];
        if rate > 0.0 {
            let k = if slot == NO_SLOT {
                let k = match self.free[colour].pop() {
                    Some(k) => k,
                    None => {
                        self.site_of[colour].push(0);
                        let n = self.site_of[colour].len();
                        if n > self.trees[colour].len() {
                            self.trees[colour].resize((2 * n).max(64));
                        }
                        n as u32 - 1
                    }
                };
                self.site_of[colour][k as usize] = idx as u32;
                self.slot_of[idx] = ((colour as u32) << 30) | k;
                k
            } else {
                slot & 0x3FFF_FFFF
            };
            self.trees[colour].set(k as usize, rate);
        } else if slot != NO_SLOT {
            let (c, k) = ((slot >> 30) as usize, slot & 0x3FFF_FFFF);
            self.trees[c].set(k as usize, 0.0);
            self.site_of[c][k as usize] = NO_SLOT;
            self.free[c].push(k);
            self.slot_of[idx] = NO_SLOT;
        }
    }
}

/// One sector: its own box (core and ghosts), rates, sources and stream.
#[derive(Debug, Clone)]
struct Sector<M> {
    origin: [usize; 2],
    d: Decomposition,
    state: State,
    model: M,
    rates: Rates,
    range: usize,
    /// Per source, the deposition rate of one block.
    dep: Vec<f64>,
    sources: Vec<AtomDeposition>,
    rng: KmcRng,
    counts: SectorCounts,
    changed: Vec<usize>,
    scratch: Vec<(Event, f64)>,
    walk: Vec<SiteRef>,
    log_hops: bool,
    /// Logged hops with the number of the window they happened in.
    hops: Vec<(u64, usize, usize)>,
    windows: u64,
}

/// The lattice of a sector's box (its core and a ghost layer on every side): a periodic
/// lattice of the global one's crystal.
fn box_lattice(glat: &Lattice, d: &Decomposition) -> Result<Lattice> {
    let size = glat.size();
    let (nx, ny) = glat.grid();
    let local = d.box_grid();
    // The lattice's size unit may count several grid rows (FCC(100): two).
    glat.resized(
        [local[0] * size[0] / nx, local[1] * size[1] / ny],
        glat.layers(),
    )
}

/// A sector's box state on `lat` (see [`box_lattice`]) with `species_at(x, y, l)` (local grid
/// coordinates) placed in it. The threads (reading the global film) and an MPI rank (reading
/// the box it was sent) both build a sector's state here, so that they build the same one.
fn box_state(
    lat: Lattice,
    frozen_layers: usize,
    species_at: impl Fn(usize, usize, usize) -> u8,
) -> State {
    let mut state = State::new(lat);
    state.set_frozen_layers(frozen_layers);
    let lat = state.lattice().clone();
    let (lnx, lny) = lat.grid();
    for l in 0..lat.layers() {
        for yl in 0..lny {
            for xl in 0..lnx {
                let sp = species_at(xl, yl, l);
                if sp != 0 {
                    state.place(&lat.site(xl, yl, l), sp);
                }
            }
        }
    }
    state.ensure_headroom();
    state
}

impl<M: RateModel + Clone> Sector<M> {
    fn new(
        global: &State,
        d: &Decomposition,
        s: usize,
        build_model: &(dyn Fn(&Lattice) -> Result<M> + Sync),
        sources: &[AtomDeposition],
        seed: u64,
    ) -> Result<Self> {
        let glat = global.lattice();
        let (nx, ny) = glat.grid();
        let [gx, gy] = d.ghost;
        let origin = d.origin(s);
        let state = box_state(
            box_lattice(glat, d)?,
            global.frozen_layers(),
            |xl, yl, l| {
                let y = (origin[1] + ny + yl - gy) % ny;
                let x = (origin[0] + nx + xl - gx) % nx;
                global.species(glat.site(x, y, l).idx)
            },
        );
        Self::from_state(state, d, s, build_model, sources, seed)
    }

    /// A sector whose box `state` is already cut (see [`box_state`]).
    fn from_state(
        state: State,
        d: &Decomposition,
        s: usize,
        build_model: &(dyn Fn(&Lattice) -> Result<M> + Sync),
        sources: &[AtomDeposition],
        seed: u64,
    ) -> Result<Self> {
        let origin = d.origin(s);
        // Models index sites by the grid they were built for: each box needs its own.
        let model = build_model(state.lattice())?;
        let share = (d.block[0] * d.block[1]) as f64 / (d.grid[0] * d.grid[1]) as f64;
        let mut sector = Sector {
            origin,
            d: d.clone(),
            rates: Rates {
                trees: std::array::from_fn(|_| SumTree::new(0)),
                site_of: Default::default(),
                free: Default::default(),
                slot_of: vec![NO_SLOT; state.lattice().n_sites()],
            },
            state,
            range: 0,
            model,
            dep: sources.iter().map(|src| src.rate_per_s * share).collect(),
            sources: sources.to_vec(),
            rng: stream(seed, Stream::Sector(s as u64)),
            counts: SectorCounts::default(),
            changed: Vec::new(),
            scratch: Vec::new(),
            walk: Vec::new(),
            log_hops: false,
            hops: Vec::new(),
            windows: 0,
        };
        sector.range = sector
            .model
            .interaction_range()
            .min(crate::lattice::MAX_RANGE);
        for idx in 0..sector.state.lattice().n_sites() {
            if sector.state.cell(idx).occupied() {
                let site = sector.state.lattice().site_at(idx);
                sector.refresh_site(&site);
            }
        }
        Ok(sector)
    }

    /// Total rate of the sector's blocks and sources, 1/s.
    fn total_rate(&self) -> f64 {
        self.rates.trees.iter().map(SumTree::total).sum::<f64>()
            + COLOURS as f64 * self.dep.iter().sum::<f64>()
    }

    /// Core atoms with a nonzero rate.
    fn active_atoms(&self) -> usize {
        (0..COLOURS)
            .map(|c| self.rates.site_of[c].len() - self.rates.free[c].len())
            .sum()
    }

    /// The colour of a core site, `None` in the ghost layer.
    #[inline]
    fn colour(&self, x: u32, y: u32) -> Option<usize> {
        let [gx, gy] = self.d.ghost;
        let [bx, by] = self.d.block;
        let (x, y) = (x as usize, y as usize);
        if x < gx || y < gy || x >= gx + 2 * bx || y >= gy + 2 * by {
            return None;
        }
        Some((x - gx) / bx + 2 * ((y - gy) / by))
    }

    fn refresh_site(&mut self, s: &SiteRef) {
        let Some(colour) = self.colour(s.x, s.y) else {
            return;
        };
        let st = &self.state;
        let c = st.cell(s.idx);
        if c.is_empty() && self.rates.slot_of[s.idx] == NO_SLOT {
            return;
        }
        let rate = if c.occupied()
            && (c.coordination() as usize) < st.lattice().coordination()
            && st.is_mobile(s)
            && !st.is_ghost(s.idx)
        {
            self.model.site_rate(st, s)
        } else {
            0.0
        };
        self.rates.set(s.idx, colour, rate);
    }

    /// After `touched` changed: room above the film, and every rate within range. A hop
    /// (`touched` = origin, destination and `hop_dir` its direction) walks the precomputed
    /// union of the two shells once, as the serial engine does.
    fn refresh_around(&mut self, touched: &[SiteRef], hop_dir: Option<u8>) {
        if self.state.ensure_headroom() {
            self.rates
                .slot_of
                .resize(self.state.lattice().n_sites(), NO_SLOT);
        }
        self.model.prefetch(&self.state, touched);
        let r = self.range;
        let mut walk = std::mem::take(&mut self.walk);
        walk.clear();
        let lat = self.state.lattice();
        let (state, slots) = (&self.state, &self.rates.slot_of);
        let mut keep = |x: SiteRef| {
            if state.cell(x.idx).occupied() || slots[x.idx] != NO_SLOT {
                walk.push(x);
            }
        };
        match (touched, hop_dir) {
            ([from, _], Some(dir)) if r < crate::lattice::MAX_RANGE => {
                let offs = &lat.class_tables(from.class).hop_shells[r][dir as usize];
                lat.for_each_at(from, offs, r + 1, keep);
            }
            ([s], _) => lat.for_each_at(s, &lat.class_tables(s.class).shells[r], r, keep),
            _ => {
                for s in touched {
                    lat.for_each_at(s, &lat.class_tables(s.class).shells[r], r, &mut keep);
                }
                walk.sort_unstable_by_key(|s| s.idx);
                walk.dedup_by_key(|s| s.idx);
            }
        }
        for s in &walk {
            self.refresh_site(s);
        }
        self.walk = walk;
    }

    fn global_index(&self, s: &SiteRef) -> usize {
        let [nx, ny] = self.d.grid;
        let [x, y] = self.to_global(s.x, s.y);
        (s.l as usize * ny + y as usize) * nx + x as usize
    }

    fn to_global(&self, xl: u32, yl: u32) -> [u32; 2] {
        let [nx, ny] = self.d.grid;
        let [gx, gy] = self.d.ghost;
        [
            ((self.origin[0] + nx + xl as usize - gx) % nx) as u32,
            ((self.origin[1] + ny + yl as usize - gy) % ny) as u32,
        ]
    }

    /// KMC on the block of `colour` for `tau` seconds.
    fn run_window(&mut self, colour: usize, tau: f64) {
        self.windows += 1;
        self.changed.clear();
        let dep_total: f64 = self.dep.iter().sum();
        let mut t = 0.0;
        loop {
            let atoms = self.rates.trees[colour].total();
            let total = atoms + dep_total;
            if total <= 0.0 {
                break;
            }
            t += waiting_time(total, &mut self.rng);
            if t > tau {
                break;
            }
            let u = uniform(&mut self.rng) * total;
            if u < atoms {
                let Some(k) = self.rates.trees[colour].select_at(u / atoms) else {
                    break;
                };
                self.execute_atom(colour, k);
            } else {
                self.deposit(colour, u - atoms);
            }
        }
    }

    fn execute_atom(&mut self, colour: usize, k: usize) {
        let idx = self.rates.site_of[colour][k] as usize;
        let s = self.state.lattice().site_at(idx);
        let rate = self.rates.trees[colour].rate(k);
        self.scratch.clear();
        self.model.site_events(&self.state, &s, &mut self.scratch);
        let target = uniform(&mut self.rng) * rate;
        let mut acc = 0.0;
        let mut pick = None;
        for (i, (_, r)) in self.scratch.iter().enumerate() {
            acc += r;
            if *r > 0.0 {
                pick = Some(i);
                if target < acc {
                    break;
                }
            }
        }
        let ev = self.scratch[pick.expect("an active atom has events")].0;
        let changed = ev.execute(&mut self.state);
        match changed {
            ChangedSites::None => {}
            ChangedSites::One(s) => {
                self.changed.push(s.idx);
                self.refresh_around(&[s], None);
            }
            ChangedSites::Hop { from, to, dir } => {
                self.counts.hops += 1;
                if self.log_hops {
                    let h = (
                        self.windows,
                        self.global_index(&from),
                        self.global_index(&to),
                    );
                    self.hops.push(h);
                }
                self.changed.extend([from.idx, to.idx]);
                self.refresh_around(&[from, to], Some(dir));
            }
            ChangedSites::Many(v) => {
                self.counts.exchanges += 1;
                self.changed.extend(v.iter().map(|s| s.idx));
                self.refresh_around(&v, None);
            }
        }
    }

    fn deposit(&mut self, colour: usize, mut u: f64) {
        let mut which = self.dep.len() - 1;
        for (i, r) in self.dep.iter().enumerate() {
            if u < *r {
                which = i;
                break;
            }
            u -= r;
        }
        let [gx, gy] = self.d.ghost;
        let [bx, by] = self.d.block;
        let lat = self.state.lattice();
        let [lx, ly] = lat.box_lengths();
        let (nx, ny) = lat.grid();
        let x0 = gx + (colour % 2) * bx;
        let y0 = gy + (colour / 2) * by;
        // A uniform point over the block's share of the box (the grid is rectangular).
        let px = (x0 as f64 + uniform(&mut self.rng) * bx as f64) * lx / nx as f64;
        let py = (y0 as f64 + uniform(&mut self.rng) * by as f64) * ly / ny as f64;
        let src = &self.sources[which];
        match src.landing_from(&self.state, px, py) {
            Some(s) => {
                self.state.place(&s, src.species);
                self.counts.deposited += 1;
                self.changed.push(s.idx);
                self.refresh_around(&[s], None);
            }
            None => self.counts.deposits_lost += 1,
        }
    }

    /// This window's changed sites, in global coordinates with their species now.
    fn changes(&mut self) -> Vec<Change> {
        let mut c = std::mem::take(&mut self.changed);
        c.sort_unstable();
        c.dedup();
        let lat = self.state.lattice();
        let out = c
            .iter()
            .map(|&idx| {
                let s = lat.site_at(idx);
                let [x, y] = self.to_global(s.x, s.y);
                Change {
                    x,
                    y,
                    l: s.l,
                    species: self.state.species(idx),
                }
            })
            .collect();
        c.clear();
        self.changed = c;
        out
    }

    /// Writes every sector's changes into this sector's images of those sites.
    fn receive(&mut self, lists: &[Vec<Change>]) {
        let [nx, ny] = self.d.grid;
        let [gx, gy] = self.d.ghost;
        let (lnx, lny) = self.state.lattice().grid();
        let mut touched = Vec::new();
        for ch in lists.iter().flatten() {
            let bx = (ch.x as usize + 2 * nx + gx - self.origin[0]) % nx;
            let by = (ch.y as usize + 2 * ny + gy - self.origin[1]) % ny;
            for xl in (bx..lnx).step_by(nx) {
                for yl in (by..lny).step_by(ny) {
                    let l = ch.l as usize;
                    if l + self.state.lattice().headroom() >= self.state.lattice().layers() {
                        let need = l + 1 + self.state.lattice().headroom();
                        self.state.ensure_layers(need);
                        self.rates
                            .slot_of
                            .resize(self.state.lattice().n_sites(), NO_SLOT);
                    }
                    let s = self.state.lattice().site(xl, yl, l);
                    if set_species(&mut self.state, &s, ch.species) {
                        touched.push(s);
                    }
                }
            }
        }
        if !touched.is_empty() {
            self.refresh_around(&touched, None);
        }
    }
}

/// Sets the species of `s` (0 empties it); true if it changed.
fn set_species(state: &mut State, s: &SiteRef, species: u8) -> bool {
    let old = state.species(s.idx);
    match (old, species) {
        (a, b) if a == b => return false,
        (0, b) => state.place(s, b),
        (_, 0) => {
            state.remove(s);
        }
        (_, b) => state.set_species(s.idx, b),
    }
    true
}

/// Who runs the sectors: a thread pool holding all of them, or MPI ranks holding one each.
#[derive(Debug)]
enum Workers<M> {
    Threads {
        pool: rayon::ThreadPool,
        sectors: Vec<Sector<M>>,
    },
    /// Boxed: a whole sector lives inline, the threads' variant is a pool and a vector.
    #[cfg(feature = "mpi")]
    Ranks(Box<mpi::Ranks<M>>),
}

/// A parallel run of the synchronous sublattice algorithm over a periodic film.
#[derive(Debug)]
pub struct Sublattice<M> {
    d: Decomposition,
    workers: Workers<M>,
    colours: KmcRng,
    window_s: f64,
    pending: Vec<Change>,
}

/// The window τ: given (checked) or the default.
fn window_or_default<M: RateModel + Clone>(
    window_s: Option<f64>,
    global: &State,
    model: &M,
    sources: &[AtomDeposition],
    d: &Decomposition,
) -> Result<f64> {
    match window_s {
        Some(w) if w.is_finite() && w > 0.0 => Ok(w),
        Some(w) => Err(Error::field(
            "sublattice_window_s",
            format!("must be a positive number of seconds, got {w}"),
        )),
        None => Ok(default_window(global, model, sources, d)),
    }
}

impl<M: RateModel + Clone> Sublattice<M> {
    /// Cuts `global` into `sectors` sectors run on a pool of `threads` threads. `model` rates
    /// `global`; `build_model` builds the same model for a sector's box (models index sites by
    /// their lattice's grid). `window_s` is τ (default: the inverse of the fastest
    /// single-event rate); `seed` derives every sector's stream. Errors name the field
    /// `threads` (or `sublattice_window_s`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        global: &State,
        model: &M,
        build_model: &(dyn Fn(&Lattice) -> Result<M> + Sync),
        sources: &[AtomDeposition],
        seed: u64,
        sectors: usize,
        threads: usize,
        window_s: Option<f64>,
    ) -> Result<Self> {
        let d = Decomposition::new(global.lattice(), sectors)
            .map_err(|m| Error::field("threads", m))?;
        let window_s = window_or_default(window_s, global, model, sources, &d)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()
            .map_err(|e| Error::Simulation(format!("cannot start {threads} threads: {e}")))?;
        let sectors = pool.install(|| {
            (0..d.n_sectors())
                .into_par_iter()
                .map(|s| Sector::new(global, &d, s, build_model, sources, seed))
                .collect::<Result<Vec<_>>>()
        })?;
        Ok(Sublattice {
            d,
            workers: Workers::Threads { pool, sectors },
            colours: stream(seed, Stream::SectorColours),
            window_s,
            pending: Vec::new(),
        })
    }

    /// The window τ, s.
    pub fn window_s(&self) -> f64 {
        self.window_s
    }

    /// The cut.
    pub fn decomposition(&self) -> &Decomposition {
        &self.d
    }

    /// Total rate of everything that can happen now (every block, every source), 1/s.
    pub fn total_rate(&self) -> f64 {
        match &self.workers {
            Workers::Threads { sectors, .. } => sectors.iter().map(Sector::total_rate).sum(),
            #[cfg(feature = "mpi")]
            Workers::Ranks(r) => r.total_rate(),
        }
    }

    /// Atoms with at least one event of nonzero rate (in every block).
    pub fn active_atoms(&self) -> usize {
        match &self.workers {
            Workers::Threads { sectors, .. } => sectors.iter().map(Sector::active_atoms).sum(),
            #[cfg(feature = "mpi")]
            Workers::Ranks(r) => r.active_atoms(),
        }
    }

    /// Events executed so far.
    pub fn counts(&self) -> SectorCounts {
        match &self.workers {
            Workers::Threads { sectors, .. } => {
                let mut c = SectorCounts::default();
                for s in sectors {
                    c.add(&s.counts);
                }
                c
            }
            #[cfg(feature = "mpi")]
            Workers::Ranks(r) => r.counts(),
        }
    }

    /// Records every hop as (origin, destination) global site indices (for tests that follow
    /// atoms); [`Sublattice::take_hops`] hands them over.
    pub fn set_hop_log(&mut self, on: bool) {
        match &mut self.workers {
            Workers::Threads { sectors, .. } => {
                for s in sectors {
                    s.log_hops = on;
                }
            }
            #[cfg(feature = "mpi")]
            Workers::Ranks(r) => r.set_hop_log(on),
        }
    }

    /// The hops logged since the last call, window by window (within a window, sector by
    /// sector: their hops are independent).
    pub fn take_hops(&mut self) -> Vec<(usize, usize)> {
        let mut all: Vec<(u64, usize, usize)> = match &mut self.workers {
            Workers::Threads { sectors, .. } => sectors
                .iter_mut()
                .flat_map(|s| std::mem::take(&mut s.hops))
                .collect(),
            #[cfg(feature = "mpi")]
            Workers::Ranks(r) => r.take_hops(),
        };
        all.sort_by_key(|h| h.0);
        all.into_iter().map(|(_, f, t)| (f, t)).collect()
    }

    /// One cycle: the four colours in a random order, each for `tau` seconds (at most the
    /// window; shorter to end on a scheduled time), with the exchange after each. The caller's
    /// clock advances by `tau`.
    pub fn cycle(&mut self, tau: f64) {
        let mut order = [0, 1, 2, 3];
        for i in (1..COLOURS).rev() {
            let j = (uniform(&mut self.colours) * (i + 1) as f64) as usize;
            order.swap(i, j.min(i));
        }
        let (sectors, pool) = match &mut self.workers {
            Workers::Threads { sectors, pool } => (sectors, pool),
            #[cfg(feature = "mpi")]
            Workers::Ranks(r) => return r.cycle(order, tau),
        };
        let pending = &mut self.pending;
        let mut lists: Vec<Vec<Change>> = Vec::new();
        pool.install(|| {
            // Each sector takes in the last window's changes, then runs the next window: one
            // meeting point per window.
            for &colour in &order {
                let received = &lists;
                let next: Vec<Vec<Change>> = sectors
                    .par_iter_mut()
                    .map(|s| {
                        s.receive(received);
                        s.run_window(colour, tau);
                        s.changes()
                    })
                    .collect();
                for l in &lists {
                    pending.extend_from_slice(l);
                }
                lists = next;
            }
            sectors.par_iter_mut().for_each(|s| s.receive(&lists));
        });
        for l in &lists {
            pending.extend_from_slice(l);
        }
    }

    /// Changes not yet written to the caller's state (under MPI, an estimate that is nonzero
    /// whenever there are any: the other ranks hold theirs).
    pub fn pending(&self) -> usize {
        match &self.workers {
            Workers::Threads { .. } => self.pending.len(),
            #[cfg(feature = "mpi")]
            Workers::Ranks(r) => r.pending(),
        }
    }

    /// Writes the changes since the last call into `global` (the state the sectors were cut
    /// from, kept by the caller for observers and output).
    pub fn sync(&mut self, global: &mut State) {
        #[cfg(feature = "mpi")]
        if let Workers::Ranks(r) = &mut self.workers {
            self.pending = r.collect();
        }
        for ch in self.pending.drain(..) {
            let l = ch.l as usize;
            let lat = global.lattice();
            if l + lat.headroom() >= lat.layers() {
                let need = l + 1 + lat.headroom();
                global.ensure_layers(need);
            }
            let s = global
                .lattice()
                .site(ch.x as usize, ch.y as usize, ch.l as usize);
            set_species(global, &s, ch.species);
        }
        global.ensure_headroom();
    }
}

/// τ = 1 / the fastest single-event rate: of every atom now, and of an atom landed by each
/// source on the film as it is (an adatom, the usual fastest mover).
fn default_window<M: RateModel + Clone>(
    global: &State,
    model: &M,
    sources: &[AtomDeposition],
    d: &Decomposition,
) -> f64 {
    let mut model = model.clone();
    let mut fastest: f64 = 0.0;
    let mut ev = Vec::new();
    let mut max_of = |st: &State, s: &SiteRef, model: &mut M| {
        let c = st.cell(s.idx);
        if c.occupied()
            && (c.coordination() as usize) < st.lattice().coordination()
            && st.is_mobile(s)
        {
            ev.clear();
            model.site_events(st, s, &mut ev);
            ev.iter().map(|e| e.1).fold(0.0, f64::max)
        } else {
            0.0
        }
    };
    let lat = global.lattice();
    for idx in 0..lat.n_sites() {
        if global.cell(idx).occupied() {
            let s = lat.site_at(idx);
            fastest = fastest.max(max_of(global, &s, &mut model));
        }
    }
    let [lx, ly] = lat.box_lengths();
    for src in sources {
        for (fx, fy) in [(0.25, 0.25), (0.75, 0.6)] {
            let mut probe = global.clone();
            probe.ensure_headroom();
            if let Some(s) = src.landing_from(&probe, fx * lx, fy * ly) {
                probe.place(&s, src.species);
                probe.ensure_headroom();
                let s = probe.lattice().site_at(s.idx);
                fastest = fastest.max(max_of(&probe, &s, &mut model));
            }
        }
    }
    if fastest > 0.0 {
        return 1.0 / fastest;
    }
    // Nothing moves: windows only pace deposition; one arrival per block per window.
    let dep: f64 = sources.iter().map(|s| s.rate_per_s).sum::<f64>() / (4 * d.n_sectors()) as f64;
    if dep > 0.0 { 1.0 / dep } else { 1.0 }
}
