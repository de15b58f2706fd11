//! Parallel KMC across processes (cargo feature `mpi`): one MPI rank per sector of the
//! synchronous sublattice algorithm of [`super`].
//!
//! The ranks run the threads' algorithm unchanged, so that `mpirun -np P` follows the same
//! trajectory as `threads: P`: rank `r` owns sector `r` (its box of core and ghost layer,
//! its rates and its stream), rank 0 draws the order of the colours and the window of each
//! cycle and broadcasts them, and after each window every rank sends its changed sites to the
//! ranks whose boxes overlap its own (nonblocking sends; each list's length found by a probe)
//! and writes what it receives into its box. Changes from the other sectors would fall outside the box: the
//! threads' rule, "every sector receives every list", reduces to this neighbour exchange.
//!
//! Rank 0 also keeps the global film for the run loop (samples, snapshots, observers, the
//! summary): the sectors' changes are gathered to it, tagged with their window, only when the
//! film is read, and written in the threads' order (window by window, sector by sector). The
//! other ranks hold only their box. Rank 0 cuts the film and sends each rank its box and the
//! scenario's rate model, which the rank builds for its box.
//!
//! A process starts MPI with [`Session::start`]; rank 0 then runs the scenario (a
//! [`Sublattice::with_ranks`] in its run loop) while the other ranks [`Session::serve`] its
//! commands until rank 0's session ends.

use super::{
    COLOURS, Change, Decomposition, Sector, SectorCounts, Sublattice, Workers, box_lattice,
    box_state, window_or_default,
};
use crate::deposit::AtomDeposition;
use crate::error::{Error, Result};
use crate::lattice::{Lattice, LatticeKind};
use crate::rates::{AnyRateModel, RateModel, RateModelSpec};
use crate::rng::{Stream, stream};
use crate::state::State;
use ::mpi::environment::{Threading, Universe};
use ::mpi::point_to_point::Status;
use ::mpi::request::{Request, Scope};
use ::mpi::topology::SimpleCommunicator;
use ::mpi::traits::*;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Commands rank 0 broadcasts to the others: `[command, argument, argument]`.
const QUIT: u64 = 0;
const CUT: u64 = 1;
const CYCLE: u64 = 2;
const COLLECT: u64 = 3;
const HOP_LOG: u64 = 4;
const TAKE_HOPS: u64 = 5;

const TAG_CUT: i32 = 10;
const TAG_CHANGES: i32 = 12;
const TAG_COLLECT: i32 = 13;
const TAG_ERROR: i32 = 14;
const TAG_HOPS: i32 = 15;

/// u32 words of one pending change: window, x, y, layer, species.
const PENDING_WORDS: usize = 5;

/// Words of a rank's statistics: error flag, total rate (bits), active atoms, hops,
/// exchanges, deposited, deposits lost.
const STATS: usize = 7;

/// Set while a [`Sublattice`] drives the ranks (they hold one sector each).
static RANKS_IN_USE: AtomicBool = AtomicBool::new(false);

fn world() -> SimpleCommunicator {
    SimpleCommunicator::world()
}

/// Waiting for a message: yielding for this long, then sleeping [`NAP`] between tests. MPI
/// libraries spin while they wait, and a rank spinning on a core another rank needs (more
/// ranks than cores, or a loaded machine) stalls that rank for a whole time slice: with
/// MPICH's own blocking waits 4 ranks on 2 busy cores took 21 s for what 2 ranks did in 0.2 s,
/// with these waits about 5 s. A rank with a core of its own rarely waits a millisecond for a
/// window's messages, so it never sleeps.
const SPIN: Duration = Duration::from_micros(1000);
/// See [`SPIN`].
const NAP: Duration = Duration::from_micros(50);

/// Waits for `req` (see [`SPIN`]).
fn patient<'a, B: ?Sized, S: Scope<'a>>(mut req: Request<'a, B, S>) -> Status {
    let start = Instant::now();
    loop {
        match req.test() {
            Ok(s) => return s,
            Err(r) => req = r,
        }
        pause(start);
    }
}

fn pause(start: Instant) {
    if start.elapsed() > SPIN {
        std::thread::sleep(NAP);
    } else {
        std::thread::yield_now();
    }
}

/// Receives a message of unknown length from `rank` with `tag` (see [`SPIN`]).
fn receive_vec<T: Equivalence>(rank: usize, tag: i32) -> Vec<T> {
    let w = world();
    let p = w.process_at_rank(rank as i32);
    let start = Instant::now();
    loop {
        if let Some(m) = p.immediate_matched_probe_with_tag(tag) {
            return m.matched_receive_vec().0;
        }
        pause(start);
    }
}

/// A rank's part of a gather to rank 0 (see [`SPIN`]).
fn gather(mine: &[u64]) {
    let w = world();
    let root = w.process_at_rank(0);
    ::mpi::request::scope(|scope| {
        patient(root.immediate_gather_into(scope, mine));
    });
}

/// Rank 0's part of a gather (see [`SPIN`]).
fn gather_root(mine: &[u64], all: &mut [u64]) {
    let w = world();
    let root = w.process_at_rank(0);
    ::mpi::request::scope(|scope| {
        patient(root.immediate_gather_into_root(scope, mine, all));
    });
}

/// Every rank's part of a broadcast from rank 0 (see [`SPIN`]).
fn broadcast(buf: &mut [u64]) {
    let w = world();
    let root = w.process_at_rank(0);
    ::mpi::request::scope(|scope| {
        patient(root.immediate_broadcast_into(scope, buf));
    });
}

/// Ranks of the MPI world; 1 when MPI is not running.
pub fn ranks() -> usize {
    if ::mpi::environment::is_initialized() && !::mpi::environment::is_finalized() {
        world().size() as usize
    } else {
        1
    }
}

/// This process's rank; 0 when MPI is not running.
pub fn rank() -> usize {
    if ::mpi::environment::is_initialized() && !::mpi::environment::is_finalized() {
        world().rank() as usize
    } else {
        0
    }
}

/// MPI for the life of a process: started once, finalized when dropped (rank 0 first tells
/// the other ranks to stop serving).
pub struct Session {
    _universe: Universe,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session {{ rank: {}, ranks: {} }}", rank(), ranks())
    }
}

impl Session {
    /// Starts MPI (only the calling thread makes MPI calls). Without `mpirun` this is a world
    /// of one rank.
    pub fn start() -> Result<Self> {
        let (universe, _) = ::mpi::initialize_with_threading(Threading::Funneled)
            .ok_or_else(|| Error::Simulation("MPI was started twice".into()))?;
        Ok(Session {
            _universe: universe,
        })
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        rank()
    }

    /// Ranks of the world.
    pub fn ranks(&self) -> usize {
        ranks()
    }

    /// On a rank other than 0: runs rank 0's sector commands until rank 0's session ends.
    /// An error here is a broken protocol, not a bad scenario (those are found on rank 0): the
    /// caller should abort the world ([`Session::abort`]), since rank 0 waits for this rank.
    pub fn serve(&self) -> Result<()> {
        let me = rank();
        if me == 0 {
            return Err(Error::Simulation(
                "rank 0 runs the scenario; only the other ranks serve".into(),
            ));
        }
        let mut local: Option<Local<AnyRateModel>> = None;
        loop {
            let mut cmd = [0u64; 3];
            broadcast(&mut cmd);
            match cmd[0] {
                QUIT => return Ok(()),
                CUT => {
                    local = None;
                    let bytes = receive_vec::<u8>(0, TAG_CUT);
                    let built = build_local(&bytes, me);
                    let stats = match &built {
                        Ok(l) => l.stats(),
                        Err(_) => error_stats(),
                    };
                    gather(&stats[..]);
                    match built {
                        Ok(l) => local = Some(l),
                        Err(e) => world()
                            .process_at_rank(0)
                            .send_with_tag(e.to_string().as_bytes(), TAG_ERROR),
                    }
                }
                CYCLE => {
                    let l = local.as_mut().ok_or_else(|| protocol(me, "a cycle"))?;
                    l.cycle(unpack_order(cmd[2]), f64::from_bits(cmd[1]));
                    gather(&l.stats()[..]);
                }
                COLLECT => {
                    let l = local.as_mut().ok_or_else(|| protocol(me, "a collect"))?;
                    world()
                        .process_at_rank(0)
                        .send_with_tag(&l.pending[..], TAG_COLLECT);
                    l.pending.clear();
                    l.window = 0;
                }
                HOP_LOG => {
                    let l = local.as_mut().ok_or_else(|| protocol(me, "a hop log"))?;
                    l.sector.log_hops = cmd[1] != 0;
                }
                TAKE_HOPS => {
                    let l = local.as_mut().ok_or_else(|| protocol(me, "a hop list"))?;
                    world()
                        .process_at_rank(0)
                        .send_with_tag(&flat_hops(&mut l.sector.hops)[..], TAG_HOPS);
                }
                c => return Err(protocol(me, &format!("command {c}"))),
            }
        }
    }

    /// Ends every rank of the world with `code` (after an error on a serving rank).
    pub fn abort(&self, code: i32) -> ! {
        world().abort(code)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if rank() == 0 && ranks() > 1 {
            broadcast(&mut [QUIT, 0, 0]);
        }
    }
}

fn protocol(rank: usize, what: &str) -> Error {
    Error::Simulation(format!(
        "MPI rank {rank}: {what} from rank 0 before it sent this rank a sector"
    ))
}

/// What a rank needs to build the run's rate model for its box: the scenario's fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRecipe {
    /// `rate_model` (a barrier table's `base_dir` resolved: every rank reads the same file).
    pub spec: RateModelSpec,
    /// `species`.
    pub species: Vec<String>,
    /// `temperature_k`.
    pub temperature_k: f64,
}

impl ModelRecipe {
    fn build(&self, lat: &Lattice) -> Result<AnyRateModel> {
        self.spec.build(&self.species, lat, self.temperature_k)
    }
}

/// Rank 0's message to the rank of one sector.
#[derive(Serialize, Deserialize)]
struct CutMsg {
    sector: usize,
    d: Decomposition,
    kind: LatticeKind,
    lattice_constant_a: f64,
    c_over_a: Option<f64>,
    size: [usize; 2],
    layers: usize,
    frozen_layers: usize,
    /// The box's species (x fastest, then y, then layer).
    species: Vec<u8>,
    recipe: ModelRecipe,
    sources: Vec<AtomDeposition>,
    seed: u64,
}

fn build_local(bytes: &[u8], me: usize) -> Result<Local<AnyRateModel>> {
    let m: CutMsg = postcard::from_bytes(bytes)
        .map_err(|e| Error::Simulation(format!("MPI rank {me}: unreadable sector: {e}")))?;
    if m.sector != me {
        return Err(Error::Simulation(format!(
            "MPI rank {me} was sent sector {}",
            m.sector
        )));
    }
    let lat = Lattice::with_c_over_a(m.kind, m.lattice_constant_a, m.c_over_a, m.size, m.layers)?;
    let (lnx, lny) = lat.grid();
    if m.species.len() != lnx * lny * lat.layers() {
        return Err(Error::Simulation(format!(
            "MPI rank {me}: the box has {} sites, the message {}",
            lnx * lny * lat.layers(),
            m.species.len()
        )));
    }
    let species = &m.species;
    let state = box_state(lat, m.frozen_layers, |x, y, l| {
        species[(l * lny + y) * lnx + x]
    });
    let recipe = m.recipe;
    let build = move |lat: &Lattice| recipe.build(lat);
    let sector = Sector::from_state(state, &m.d, me, &build, &m.sources, m.seed)?;
    Ok(Local::new(sector, &m.d, me))
}

/// The statistics of a rank whose sector could not be built.
fn error_stats() -> [u64; STATS] {
    let mut s = [0; STATS];
    s[0] = 1;
    s
}

fn pack_order(order: [usize; COLOURS]) -> u64 {
    order
        .iter()
        .enumerate()
        .map(|(i, &c)| (c as u64) << (8 * i))
        .sum()
}

fn unpack_order(word: u64) -> [usize; COLOURS] {
    std::array::from_fn(|i| ((word >> (8 * i)) & 0xFF) as usize % COLOURS)
}

fn flat_hops(hops: &mut Vec<(u64, usize, usize)>) -> Vec<u64> {
    let out = hops
        .iter()
        .flat_map(|&(w, f, t)| [w, f as u64, t as u64])
        .collect();
    hops.clear();
    out
}

/// True if the boxes of sectors `s` and `t` share a site (each axis a periodic interval).
fn boxes_overlap(d: &Decomposition, s: usize, t: usize) -> bool {
    let len = d.box_grid();
    let (os, ot) = (d.origin(s), d.origin(t));
    (0..2).all(|a| {
        let n = d.grid[a];
        if len[a] >= n {
            return true;
        }
        let start = |o: usize| (o + n - d.ghost[a]) % n;
        let (bs, bt) = (start(os[a]), start(ot[a]));
        (bt + n - bs) % n < len[a] || (bs + n - bt) % n < len[a]
    })
}

/// The species of the box of sector `s`, read from `global` (local layout: x fastest, then
/// y, then layer).
fn box_species(global: &State, d: &Decomposition, s: usize) -> Vec<u8> {
    let glat = global.lattice();
    let (nx, ny) = glat.grid();
    let [gx, gy] = d.ghost;
    let origin = d.origin(s);
    let local = d.box_grid();
    let mut out = Vec::with_capacity(local[0] * local[1] * glat.layers());
    for l in 0..glat.layers() {
        for yl in 0..local[1] {
            let y = (origin[1] + ny + yl - gy) % ny;
            for xl in 0..local[0] {
                let x = (origin[0] + nx + xl - gx) % nx;
                out.push(global.species(glat.site(x, y, l).idx));
            }
        }
    }
    out
}

/// One rank's sector and its share of the exchange.
#[derive(Debug)]
struct Local<M> {
    sector: Sector<M>,
    me: usize,
    /// Ranks whose boxes overlap this rank's, ascending, without this rank.
    neighbours: Vec<usize>,
    /// Changes since the last collect, `PENDING_WORDS` words each.
    pending: Vec<u32>,
    /// Windows since the last collect.
    window: u32,
}

impl<M: RateModel + Clone> Local<M> {
    fn new(sector: Sector<M>, d: &Decomposition, me: usize) -> Self {
        let neighbours = (0..d.n_sectors())
            .filter(|&t| t != me && boxes_overlap(d, me, t))
            .collect();
        Local {
            sector,
            me,
            neighbours,
            pending: Vec::new(),
            window: 0,
        }
    }

    fn stats(&self) -> [u64; STATS] {
        let c = &self.sector.counts;
        [
            0,
            self.sector.total_rate().to_bits(),
            self.sector.active_atoms() as u64,
            c.hops,
            c.exchanges,
            c.deposited,
            c.deposits_lost,
        ]
    }

    /// The threads' cycle for this rank's sector, with the exchange between windows.
    fn cycle(&mut self, order: [usize; COLOURS], tau: f64) {
        let mut received: Vec<Vec<Change>> = Vec::new();
        for &colour in &order {
            self.sector.receive(&received);
            self.sector.run_window(colour, tau);
            let mine = self.sector.changes();
            for c in &mine {
                self.pending
                    .extend([self.window, c.x, c.y, c.l, u32::from(c.species)]);
            }
            self.window += 1;
            received = self.exchange(mine);
        }
        self.sector.receive(&received);
    }

    /// Sends `mine` to every neighbour (nonblocking) and receives theirs (a probe gives each
    /// list's length, so one message per pair and window); returns the lists in sector order,
    /// this rank's included.
    fn exchange(&self, mine: Vec<Change>) -> Vec<Vec<Change>> {
        let w = world();
        let out: Vec<u32> = mine
            .iter()
            .flat_map(|c| [c.x, c.y, c.l, u32::from(c.species)])
            .collect();
        let mut bufs: Vec<Vec<u32>> = Vec::with_capacity(self.neighbours.len());
        ::mpi::request::scope(|scope| {
            let sends: Vec<_> = self
                .neighbours
                .iter()
                .map(|&r| {
                    w.process_at_rank(r as i32).immediate_send_with_tag(
                        scope,
                        &out[..],
                        TAG_CHANGES,
                    )
                })
                .collect();
            for &r in &self.neighbours {
                let v = receive_vec::<u32>(r, TAG_CHANGES);
                bufs.push(v);
            }
            for s in sends {
                patient(s);
            }
        });
        let decode = |b: &[u32]| {
            b.chunks_exact(4)
                .map(|c| Change {
                    x: c[0],
                    y: c[1],
                    l: c[2],
                    species: c[3] as u8,
                })
                .collect::<Vec<_>>()
        };
        let mut lists = Vec::with_capacity(self.neighbours.len() + 1);
        let mut own = Some(mine);
        for (&r, b) in self.neighbours.iter().zip(&bufs) {
            if r > self.me {
                if let Some(m) = own.take() {
                    lists.push(m);
                }
            }
            lists.push(decode(b));
        }
        lists.extend(own);
        lists
    }
}

/// Rank 0's side of an MPI run: its own sector and the others' last statistics.
#[derive(Debug)]
pub(super) struct Ranks<M> {
    local: Local<M>,
    /// Per sector, from the last cycle (or the cut).
    stats: Vec<[u64; STATS]>,
}

impl<M> Drop for Ranks<M> {
    fn drop(&mut self) {
        RANKS_IN_USE.store(false, Ordering::SeqCst);
    }
}

impl<M: RateModel + Clone> Ranks<M> {
    fn gather_stats(&mut self) -> Vec<[u64; STATS]> {
        let mine = self.local.stats();
        let mut all = vec![0u64; STATS * ranks()];
        gather_root(&mine[..], &mut all[..]);
        all.chunks_exact(STATS)
            .map(|c| std::array::from_fn(|i| c[i]))
            .collect()
    }

    pub(super) fn total_rate(&self) -> f64 {
        // In sector order, as the threads sum it: the same bits.
        self.stats.iter().map(|s| f64::from_bits(s[1])).sum()
    }

    pub(super) fn active_atoms(&self) -> usize {
        self.stats.iter().map(|s| s[2] as usize).sum()
    }

    pub(super) fn counts(&self) -> SectorCounts {
        let mut c = SectorCounts::default();
        for s in &self.stats {
            c.add(&SectorCounts {
                hops: s[3],
                exchanges: s[4],
                deposited: s[5],
                deposits_lost: s[6],
            });
        }
        c
    }

    pub(super) fn cycle(&mut self, order: [usize; COLOURS], tau: f64) {
        broadcast(&mut [CYCLE, tau.to_bits(), pack_order(order)]);
        self.local.cycle(order, tau);
        self.stats = self.gather_stats();
    }

    pub(super) fn pending(&self) -> usize {
        if self.local.window == 0 {
            0
        } else {
            (self.local.pending.len() / PENDING_WORDS).max(1) * ranks()
        }
    }

    /// Every rank's changes since the last collect, in the threads' order: window by window,
    /// sector by sector.
    pub(super) fn collect(&mut self) -> Vec<Change> {
        if self.local.window == 0 {
            return Vec::new();
        }
        broadcast(&mut [COLLECT, 0, 0]);
        let mut words = std::mem::take(&mut self.local.pending);
        for r in 1..ranks() {
            let v = receive_vec::<u32>(r, TAG_COLLECT);
            words.extend(v);
        }
        self.local.window = 0;
        // Ranks in order, each in window order: a stable sort by window gives the threads'
        // order.
        let mut all: Vec<(u32, Change)> = words
            .chunks_exact(PENDING_WORDS)
            .map(|c| {
                let ch = Change {
                    x: c[1],
                    y: c[2],
                    l: c[3],
                    species: c[4] as u8,
                };
                (c[0], ch)
            })
            .collect();
        all.sort_by_key(|e| e.0);
        all.into_iter().map(|e| e.1).collect()
    }

    pub(super) fn set_hop_log(&mut self, on: bool) {
        broadcast(&mut [HOP_LOG, u64::from(on), 0]);
        self.local.sector.log_hops = on;
    }

    pub(super) fn take_hops(&mut self) -> Vec<(u64, usize, usize)> {
        broadcast(&mut [TAKE_HOPS, 0, 0]);
        let mut all = std::mem::take(&mut self.local.sector.hops);
        for r in 1..ranks() {
            let v = receive_vec::<u64>(r, TAG_HOPS);
            all.extend(
                v.chunks_exact(3)
                    .map(|c| (c[0], c[1] as usize, c[2] as usize)),
            );
        }
        all
    }
}

impl Sublattice<AnyRateModel> {
    /// On rank 0 of an MPI world of `P` ≥ 2 ranks: cuts `global` into `P` sectors, one per
    /// rank, and sends each rank its box and `recipe` (the other ranks must be in
    /// [`Session::serve`]). The trajectory is the one of [`Sublattice::new`] with `P` sectors
    /// on any number of threads. Errors name the field `threads` (or `sublattice_window_s`).
    pub fn with_ranks(
        global: &State,
        model: &AnyRateModel,
        recipe: &ModelRecipe,
        sources: &[AtomDeposition],
        seed: u64,
        window_s: Option<f64>,
    ) -> Result<Self> {
        let n = ranks();
        if n < 2 || rank() != 0 {
            return Err(Error::field(
                "threads",
                format!(
                    "a run over MPI ranks is driven from rank 0 of 2 or more ranks (this is rank \
                     {} of {n})",
                    rank()
                ),
            ));
        }
        let d = Decomposition::new(global.lattice(), n)
            .map_err(|m| Error::field("threads", format!("{m} (under mpirun: use fewer ranks)")))?;
        let window_s = window_or_default(window_s, global, model, sources, &d)?;
        if RANKS_IN_USE.swap(true, Ordering::SeqCst) {
            return Err(Error::field(
                "threads",
                "the MPI ranks already run another simulation's sectors: one parallel run per \
                 MPI world",
            ));
        }
        // From here the ranks are this run's (released when `Ranks` drops).
        let glat = global.lattice();
        let lat = box_lattice(glat, &d);
        let lat = match lat {
            Ok(l) => l,
            Err(e) => {
                RANKS_IN_USE.store(false, Ordering::SeqCst);
                return Err(e);
            }
        };
        let w = world();
        broadcast(&mut [CUT, 0, 0]);
        let mut too_big = None;
        for r in 1..n {
            let msg = CutMsg {
                sector: r,
                d: d.clone(),
                kind: lat.kind(),
                lattice_constant_a: lat.lattice_constant(),
                c_over_a: lat.c_over_a(),
                size: lat.size(),
                layers: lat.layers(),
                frozen_layers: global.frozen_layers(),
                species: box_species(global, &d, r),
                recipe: recipe.clone(),
                sources: sources.to_vec(),
                seed,
            };
            let bytes = postcard::to_allocvec(&msg).unwrap_or_default();
            // MPI counts are C ints: a larger box is sent as an empty message, which the rank
            // reports as unreadable; the error below says why.
            if bytes.len() > i32::MAX as usize {
                too_big = Some(bytes.len());
                w.process_at_rank(r as i32)
                    .send_with_tag(&[0u8; 0][..], TAG_CUT);
            } else {
                w.process_at_rank(r as i32)
                    .send_with_tag(&bytes[..], TAG_CUT);
            }
        }
        let build = |lat: &Lattice| recipe.build(lat);
        let own = Sector::new(global, &d, 0, &build, sources, seed).map(|s| Local::new(s, &d, 0));
        let mut ranks_ = Ranks {
            local: match own {
                Ok(l) => l,
                Err(e) => {
                    // The others still report their builds: finish the exchange first.
                    let mut all = vec![0u64; STATS * n];
                    gather_root(&error_stats()[..], &mut all[..]);
                    drain_errors(&all);
                    RANKS_IN_USE.store(false, Ordering::SeqCst);
                    return Err(e);
                }
            },
            stats: Vec::new(),
        };
        let stats = ranks_.gather_stats();
        let mut first_error = None;
        for (r, s) in stats.iter().enumerate().skip(1) {
            if s[0] != 0 {
                let msg = receive_vec::<u8>(r, TAG_ERROR);
                first_error.get_or_insert((r, String::from_utf8_lossy(&msg).into_owned()));
            }
        }
        if let Some(size) = too_big {
            return Err(Error::field(
                "threads",
                format!(
                    "a sector's box takes {size} bytes, more than one MPI message carries \
                     (2^31 - 1): use more ranks"
                ),
            ));
        }
        if let Some((r, msg)) = first_error {
            return Err(Error::Simulation(format!(
                "MPI rank {r} could not build its sector: {msg}"
            )));
        }
        ranks_.stats = stats;
        Ok(Sublattice {
            d,
            workers: Workers::Ranks(Box::new(ranks_)),
            colours: stream(seed, Stream::SectorColours),
            window_s,
            pending: Vec::new(),
        })
    }
}

/// Receives the error messages of the ranks whose gathered statistics flag one.
fn drain_errors(all: &[u64]) {
    for (r, s) in all.chunks_exact(STATS).enumerate().skip(1) {
        if s[0] != 0 {
            let _ = receive_vec::<u8>(r, TAG_ERROR);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lattice::LatticeKind;

    /// The neighbour lists are exactly the sectors whose boxes share a site (counted site by
    /// site), on cuts where boxes wrap (1 or 2 sectors along an axis) and where they do not.
    #[test]
    fn neighbours_are_the_boxes_that_share_a_site() {
        for (size, n) in [([32, 32], 2), ([32, 32], 4), ([64, 32], 8), ([96, 96], 9)] {
            let lat = Lattice::new(LatticeKind::Square, 2.5, size, 1).unwrap();
            let d = Decomposition::new(&lat, n).unwrap();
            let (nx, ny) = lat.grid();
            let sites = |s: usize| {
                let [bx, by] = d.box_grid();
                let o = d.origin(s);
                let mut v = std::collections::HashSet::new();
                for y in 0..by {
                    for x in 0..bx {
                        v.insert((
                            (o[0] + nx + x - d.ghost[0]) % nx,
                            (o[1] + ny + y - d.ghost[1]) % ny,
                        ));
                    }
                }
                v
            };
            let mut non_neighbours = 0;
            for s in 0..n {
                for t in 0..n {
                    let shared = !sites(s).is_disjoint(&sites(t));
                    assert_eq!(boxes_overlap(&d, s, t), shared, "{size:?} {n}: {s} {t}");
                    non_neighbours += usize::from(!shared);
                }
            }
            if n == 9 {
                assert_eq!(non_neighbours, 0, "3 × 3 sectors all touch (periodic)");
            }
        }
        // 4 × 4 sectors of 16 × 16 sites: a sector's box misses the sectors two apart.
        let lat = Lattice::new(LatticeKind::Square, 2.5, [128, 128], 1).unwrap();
        let d = Decomposition::new(&lat, 16).unwrap();
        assert_eq!(d.sectors, [4, 4]);
        let nb = (0..16)
            .filter(|&t| t != 0 && boxes_overlap(&d, 0, t))
            .count();
        assert_eq!(nb, 8);
    }

    #[test]
    fn colour_orders_survive_the_broadcast_word() {
        for order in [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]] {
            assert_eq!(unpack_order(pack_order(order)), order);
        }
    }
}
