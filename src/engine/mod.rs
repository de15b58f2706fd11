//! The KMC loop: select → execute → refresh affected rates → advance the clock.
//!
//! The sampler holds one leaf per event source (atom deposition, ...) followed by one leaf per
//! *active* atom — an atom with at least one event of nonzero rate. Atoms get a leaf (a slot)
//! when they become active and give it back when they stop being active, so the sampler's size
//! follows the surface, not the volume. No physics constants live here: rates come from the
//! [`RateModel`], landing sites from the sources. The engine keeps the [`contact`] tracker up
//! to date on every event, so contact tracking lives here.

pub mod contact;

use crate::catalog::{ChangedSites, Event};
use crate::deposit::AtomDeposition;
use crate::engine::contact::{ContactTracker, ParticleRecord, TrackerSnapshot};
use crate::grains::motion::BodyRates;
use crate::grains::{Frame, Grains, TransferSite};
use crate::lattice::SiteRef;
use crate::particle::ParticleDeposition;
use crate::particle::source::ParticlePlacement;
use crate::rates::RateModel;
use crate::rng::{KmcRng, uniform, waiting_time};
use crate::sampler::RateSampler;
use crate::state::State;
use serde::{Deserialize, Serialize};

const NO_SLOT: u32 = u32::MAX;
/// `site_of` of a slot that holds a particle's whole-body events (its grain in `grain_of`).
const BODY: u32 = u32::MAX - 1;

/// A global event source: events that do not belong to one atom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Source {
    /// Atoms arriving from the vapour.
    Atoms(AtomDeposition),
    /// Whole nanoparticles arriving and landing on the film.
    Particles(ParticleDeposition),
}

impl Source {
    /// Total rate of the source, 1/s.
    pub fn rate(&self) -> f64 {
        match self {
            Source::Atoms(d) => d.rate_per_s,
            Source::Particles(p) => p.rate_per_s,
        }
    }
}

/// Messages of unplaceable particles kept for the summary (the count is in [`Counters`]).
const MAX_UNPLACEABLE_MESSAGES: usize = 10;

/// Counts of executed events by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Executed hops.
    pub hops: u64,
    /// Executed exchanges.
    pub exchanges: u64,
    /// Executed transfers: atoms that moved to another grain's site (grain-boundary
    /// migration).
    pub transfers: u64,
    /// Atoms deposited.
    pub deposited: u64,
    /// Deposition events whose atom found no site (2-D lattice locally full).
    pub deposits_lost: u64,
    /// Particles deposited.
    pub particles_deposited: u64,
    /// Atoms brought by deposited particles.
    pub particle_atoms_deposited: u64,
    /// Particle arrivals that could not be placed (too wide for the box, no positive size).
    pub particles_unplaceable: u64,
    /// Whole-particle steps along the surface.
    pub particle_steps: u64,
    /// Whole-particle turns about the surface normal.
    pub particle_turns: u64,
    /// Whole-particle moves drawn but blocked by another body (null events: they take time,
    /// change nothing).
    pub particle_moves_blocked: u64,
}

impl Counters {
    /// All executed events (lost deposits and unplaceable particles included: they consumed
    /// an event and time).
    pub fn events(&self) -> u64 {
        self.hops
            + self.exchanges
            + self.transfers
            + self.deposited
            + self.deposits_lost
            + self.particles_deposited
            + self.particles_unplaceable
            + self.particle_steps
            + self.particle_turns
            + self.particle_moves_blocked
    }
}

/// What one call to [`Engine::step_until`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// An event was executed.
    Executed,
    /// The next event lies beyond the time limit: the clock now equals the limit.
    ReachedTime,
    /// The total rate is zero: nothing can ever happen.
    Idle,
}

/// The KMC engine over a rate model `M` and a sampler `S`.
#[derive(Debug, Clone)]
pub struct Engine<M, S> {
    /// Grain 0 is the film; particle grains follow (see `docs/grains.md`).
    grains: Grains,
    model: M,
    sampler: S,
    sources: Vec<Source>,
    /// Per grain, the slot of every site (`NO_SLOT` if it has none).
    slot_of: Vec<Vec<u32>>,
    /// Per slot, its site and grain (`NO_SLOT` sites are free slots).
    site_of: Vec<u32>,
    grain_of: Vec<u32>,
    free_slots: Vec<u32>,
    rng: KmcRng,
    time: f64,
    next_event_time: Option<f64>,
    counters: Counters,
    scratch: Vec<(Event, f64)>,
    range: usize,
    last_event: Option<Event>,
    contacts: Option<ContactTracker>,
    unplaceable: Vec<String>,
    /// The model offers transfers between grains ([`RateModel::offers_transfers`]).
    transfers: bool,
    transfer_scratch: Vec<(TransferSite, f64)>,
    /// Whole-particle motion, if the scenario asks for it.
    motion: Option<Motion>,
}

/// Whole-particle motion's rates and per-grain bookkeeping (see [`crate::grains::motion`]).
#[derive(Debug, Clone)]
struct Motion {
    rates: BodyRates,
    /// In-plane steps of the film's surface.
    steps: Vec<crate::vec3::Vec3>,
    substrate_layers: usize,
    /// Per grain, its body slot (`NO_SLOT`: none).
    slot: Vec<u32>,
    /// Per grain, its bonds (to the substrate, to other bodies).
    bonds: Vec<(u32, u32)>,
}

impl Motion {
    /// The total rate of particle grain `k`'s whole-body events with `bonds`.
    fn rate(&self, grains: &Grains, k: usize, bonds: (u32, u32)) -> f64 {
        let n = grains.grain(k).state.n_atoms() as usize;
        if k == 0 || n == 0 || !self.rates.mobile(bonds) {
            return 0.0;
        }
        self.steps.len() as f64 * self.rates.step_hz(n) + 2.0 * self.rates.turn_hz(n)
    }
}

/// A moved particle rests at one nearest-neighbour distance from the nearest atom under it.
const REST_CONTACT_NN: f64 = 1.0;
/// A step that would lift a particle by more than this (in nearest-neighbour distances) runs
/// it into something: half a neighbour distance is more than the corrugation of a close-packed
/// surface under a misoriented facet, less than a step's height.
const MAX_LIFT_NN: f64 = 0.5;

/// Everything needed to resume an engine exactly (see [`Engine::snapshot`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineSnapshot<S> {
    /// Species of every allocated site.
    pub species: Vec<u8>,
    /// Slot of every active site, in slot order (`u32::MAX` for a free slot): the sampler's leaf
    /// order, which the random stream's selections depend on.
    pub site_of_slot: Vec<u32>,
    /// Free slots, in the order they will be reused.
    pub free_slots: Vec<u32>,
    /// The random stream.
    pub rng: KmcRng,
    /// Simulated time, s.
    pub time: f64,
    /// Absolute time of the drawn but not yet executed event.
    pub next_event_time: Option<f64>,
    /// Event counts.
    pub counters: Counters,
    /// The sampler, verbatim: its internal sums depend on its history and shape, and the
    /// selections of a resumed run must be those of the uninterrupted one to the last bit.
    pub sampler: S,
    /// Particle identities and contact records, if contacts are tracked.
    pub contacts: Option<TrackerSnapshot>,
    /// Messages of unplaceable particles.
    pub unplaceable: Vec<String>,
    /// Grain of every slot, in slot order (empty when there are no particle grains).
    pub grain_of_slot: Vec<u32>,
    /// The particle grains (grain 1, 2, ...).
    pub grains: Vec<GrainSnapshot>,
}

/// A particle grain in a snapshot: its frame, box and atoms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrainSnapshot {
    /// Crystal frame.
    pub frame: Frame,
    /// Box size as [`crate::lattice::Lattice::new`] takes it.
    pub size: [usize; 2],
    /// Box layers.
    pub layers: usize,
    /// Species of every site (ghosts as empty).
    pub species: Vec<u8>,
}

impl<M: RateModel, S: RateSampler> Engine<M, S> {
    /// An engine over `state` whose rates are computed from scratch.
    pub fn new(state: State, model: M, sampler: S, sources: Vec<Source>, rng: KmcRng) -> Self {
        let range = model.interaction_range().min(crate::lattice::MAX_RANGE);
        let transfers = model.offers_transfers();
        let mut e = Engine {
            slot_of: vec![vec![NO_SLOT; state.lattice().n_sites()]],
            grains: Grains::single(state),
            model,
            sampler,
            sources,
            site_of: Vec::new(),
            grain_of: Vec::new(),
            free_slots: Vec::new(),
            rng,
            time: 0.0,
            next_event_time: None,
            counters: Counters::default(),
            scratch: Vec::new(),
            range,
            last_event: None,
            contacts: None,
            unplaceable: Vec::new(),
            transfers,
            transfer_scratch: Vec::new(),
            motion: None,
        };
        e.grains.state_mut(0).ensure_headroom();
        let n = e.film().lattice().n_sites();
        e.slot_of[0].resize(n, NO_SLOT);
        e.rebuild_rates();
        e
    }

    /// The film (grain 0).
    #[inline]
    fn film(&self) -> &State {
        &self.grains.grain(0).state
    }

    /// Recomputes every rate and reassigns slots in site order (after the state was replaced).
    pub fn rebuild_rates(&mut self) {
        self.site_of.clear();
        self.grain_of.clear();
        self.free_slots.clear();
        let g = self.sources.len();
        let mut leaves: Vec<f64> = self.sources.iter().map(Source::rate).collect();
        let on = self.transfers && self.grains.len() > 1;
        for k in 0..self.grains.len() {
            let state = &self.grains.grain(k).state;
            let across = Across {
                grains: &self.grains,
                g: k,
                on,
            };
            let slots = &mut self.slot_of[k];
            slots.clear();
            slots.resize(state.lattice().n_sites(), NO_SLOT);
            for (idx, slot) in slots.iter_mut().enumerate() {
                let s = state.lattice().site_at(idx);
                let r = site_rate(state, &mut self.model, &s, across);
                if r > 0.0 {
                    *slot = self.site_of.len() as u32;
                    self.site_of.push(idx as u32);
                    self.grain_of.push(k as u32);
                    leaves.push(r);
                }
            }
        }
        if self.motion.is_some() {
            for k in 1..self.grains.len() {
                self.count_bonds(k);
                let r = self.body_rate(k);
                let m = self.motion.as_mut().expect("checked");
                m.slot[k] = NO_SLOT;
                if r > 0.0 {
                    m.slot[k] = self.site_of.len() as u32;
                    self.site_of.push(BODY);
                    self.grain_of.push(k as u32);
                    leaves.push(r);
                }
            }
        }
        debug_assert_eq!(leaves.len(), g + self.site_of.len());
        self.sampler.assign(&leaves);
        self.next_event_time = None;
    }

    /// Lets particle grains move as bodies at `rates` (see [`crate::grains::motion`]); the
    /// bottom `substrate_layers` layers of the film are the substrate. Every rate is
    /// recomputed.
    pub fn enable_particle_motion(
        &mut self,
        spec: &crate::grains::motion::ParticleMotionSpec,
        kt_ev: f64,
        substrate_layers: usize,
    ) {
        let steps = self.grains.surface_steps();
        let a = steps.first().map_or(1.0, |v| crate::vec3::norm(*v));
        self.motion = Some(Motion {
            rates: spec.at(kt_ev, a, steps.len()),
            steps,
            substrate_layers,
            slot: vec![NO_SLOT; self.grains.len()],
            bonds: vec![(0, 0); self.grains.len()],
        });
        self.rebuild_rates();
    }

    /// True if particles move as bodies.
    pub fn particle_motion(&self) -> bool {
        self.motion.is_some()
    }

    /// Recounts the bonds of particle grain `k` to other grains.
    fn count_bonds(&mut self, k: usize) {
        let Some(m) = self.motion.as_mut() else {
            return;
        };
        if m.bonds.len() < self.grains.len() {
            m.bonds.resize(self.grains.len(), (0, 0));
            m.slot.resize(self.grains.len(), NO_SLOT);
        }
        m.bonds[k] = self.grains.body_bonds(k, m.substrate_layers);
    }

    /// The total rate of particle grain `k`'s whole-body events, from its counted bonds.
    fn body_rate(&self, k: usize) -> f64 {
        match &self.motion {
            Some(m) => m.rate(&self.grains, k, m.bonds[k]),
            None => 0.0,
        }
    }

    /// Recounts particle grain `k`'s bonds (if `recount`) and gives its body leaf its rate.
    fn update_body(&mut self, k: usize, recount: bool) {
        if self.motion.is_none() || k == 0 {
            return;
        }
        if recount {
            self.count_bonds(k);
        }
        let rate = self.body_rate(k);
        let g = self.sources.len();
        let m = self.motion.as_mut().expect("checked");
        let slot = m.slot[k];
        if rate > 0.0 {
            let slot = if slot == NO_SLOT {
                let new = take_slot(
                    &mut self.free_slots,
                    &mut self.site_of,
                    &mut self.grain_of,
                    &mut self.sampler,
                    g,
                    BODY,
                    k as u32,
                );
                m.slot[k] = new;
                new
            } else {
                slot
            };
            self.sampler.set(g + slot as usize, rate);
        } else if slot != NO_SLOT {
            self.sampler.set(g + slot as usize, 0.0);
            self.site_of[slot as usize] = NO_SLOT;
            m.slot[k] = NO_SLOT;
            self.free_slots.push(slot);
        }
        self.next_event_time = None;
    }

    /// After atoms of grain `g` changed at `sites` and the ghosts `ghosts` changed: the body
    /// leaves of `g` and of every grain whose ghosts changed follow. `g`'s bonds are recounted
    /// only if a changed site touches a ghost (its size changes the rate in any case).
    fn update_bodies(&mut self, g: usize, sites: &[usize], ghosts: &[(usize, usize)]) {
        if self.motion.is_none() {
            return;
        }
        if g > 0 {
            let st = &self.grains.grain(g).state;
            let lat = st.lattice();
            let touches = st.n_ghosts() > 0
                && sites.iter().any(|&i| {
                    let s = lat.site_at(i);
                    st.is_ghost(i) || lat.neighbors(&s).any(|(_, n)| st.is_ghost(n.idx))
                });
            self.update_body(g, touches);
        }
        let mut hs: Vec<usize> = ghosts.iter().map(|x| x.0).filter(|&h| h > 0).collect();
        hs.sort_unstable();
        hs.dedup();
        for h in hs {
            if h != g {
                self.update_body(h, true);
            }
        }
    }

    /// A whole-body event of particle grain `k`: one of its steps or turns, drawn by rate;
    /// made if the particle can rest where it leads, else counted as blocked.
    fn execute_body(&mut self, k: usize) {
        self.last_event = None;
        let m = self.motion.as_ref().expect("a body leaf needs motion");
        let n = self.grains.grain(k).state.n_atoms() as usize;
        let (step, turn) = (m.rates.step_hz(n), m.rates.turn_hz(n));
        let total = m.steps.len() as f64 * step + 2.0 * turn;
        let x = uniform(&mut self.rng) * total;
        let frame = self.grains.grain(k).frame;
        let nn = self.film().lattice().nn_distance();
        let (moved, turned) = if x < m.steps.len() as f64 * step {
            let i = ((x / step) as usize).min(m.steps.len() - 1);
            let v = m.steps[i];
            let mut f = frame;
            f.origin = crate::vec3::add(f.origin, v);
            (f, false)
        } else {
            let sign = if x - m.steps.len() as f64 * step < turn {
                1.0
            } else {
                -1.0
            };
            let q = crate::rotation::from_axis_angle_deg([0.0, 0.0, 1.0], sign * m.rates.step_deg)
                .expect("a unit axis");
            let c = self.grains.centre(k);
            (frame.moved(q, c, [0.0; 3]), true)
        };
        let Some(dz) = self
            .grains
            .resting_shift(k, moved, REST_CONTACT_NN * nn, MAX_LIFT_NN * nn)
        else {
            self.counters.particle_moves_blocked += 1;
            return;
        };
        let mut f = moved;
        f.origin[2] += dz;
        // Keep the centre over the film's cell: whole periods change nothing but the numbers.
        let c = f.to_lab(frame.to_crystal(self.grains.centre(k)));
        let [lx, ly] = self.film().lattice().box_lengths();
        f.origin[0] -= lx * (c[0] / lx).floor();
        f.origin[1] -= ly * (c[1] / ly).floor();
        if turned {
            self.counters.particle_turns += 1;
        } else {
            self.counters.particle_steps += 1;
        }
        let ghosts = self.grains.move_grain(k, f);
        // Every atom of the particle moved against every other grain: its own rates follow
        // its ghosts, and with transfers (which read positions) all of them are recomputed.
        if self.transfers {
            self.refresh_every_site(k);
            let r = crate::grains::TRANSFER_READ_NN * nn;
            let st = &self.grains.grain(k).state;
            let atoms: Vec<usize> = (0..st.lattice().n_sites())
                .filter(|&i| st.cell(i).occupied() && !st.is_ghost(i))
                .collect();
            let near = self.grains.atoms_near(k, &atoms, r);
            for run in near.chunk_by(|a, b| a.0 == b.0) {
                let (state, model, mut slots, across) = self.parts(run[0].0);
                for &(_, i) in run {
                    let s = state.lattice().site_at(i);
                    refresh_site(state, model, &mut slots, &s, across);
                }
            }
        }
        self.refresh_ghosts(&ghosts);
        self.update_body(k, true);
        self.update_bodies(k, &[], &ghosts);
        self.grain_contacts(k, &ghosts);
    }

    /// Replaces the state (e.g. atoms handed over by an MD code) and recomputes every rate;
    /// the clock and counters are kept, a drawn event is discarded.
    pub fn replace_state(&mut self, state: State) {
        *self.grains.state_mut(0) = state;
        self.grains.state_mut(0).ensure_headroom();
        if self.grains.len() > 1 {
            self.grains.rebuild_ghosts();
        }
        self.rebuild_rates();
        if let Some(t) = &mut self.contacts {
            t.rebuild(&self.grains.grain(0).state);
        }
    }

    /// The grains: the film (grain 0) and the particle grains.
    pub fn grains(&self) -> &Grains {
        &self.grains
    }

    /// Adds a particle grain: `state` holds its atoms on a box lattice of the film's kind and
    /// constant (clear of the box's edges, see [`Grains`]), `frame` places it in the lab.
    /// Ghosts are written both ways and every rate they touch is refreshed; returns the
    /// grain's number.
    pub fn add_grain(&mut self, state: State, frame: Frame) -> crate::Result<usize> {
        let (g, ghosts) = self.grains.add(state, frame)?;
        let st = &self.grains.grain(g).state;
        self.slot_of.push(vec![NO_SLOT; st.lattice().n_sites()]);
        let atoms: Vec<SiteRef> = (0..st.lattice().n_sites())
            .filter(|&i| st.cell(i).occupied() && !st.is_ghost(i))
            .map(|i| st.lattice().site_at(i))
            .collect();
        self.refresh_in(g, &ChangedSites::Many(atoms));
        self.refresh_ghosts(&ghosts);
        if self.motion.is_some() {
            self.count_bonds(g);
            self.update_body(g, false);
            self.update_bodies(g, &[], &ghosts);
        }
        self.grain_contacts(g, &ghosts);
        Ok(g)
    }

    /// Tracks connected components, particle identity and contacts from now on (see
    /// [`ContactTracker`]); the bottom `substrate_layers` layers are the substrate.
    pub fn enable_contacts(&mut self, substrate_layers: usize, min_atoms: u32) {
        self.contacts = Some(ContactTracker::new(
            self.film(),
            substrate_layers,
            min_atoms,
        ));
    }

    /// The contact tracker, if enabled.
    pub fn contacts(&self) -> Option<&ContactTracker> {
        self.contacts.as_ref()
    }

    /// The contact tracker, mutably (for queries that compress paths).
    pub fn contacts_mut(&mut self) -> Option<&mut ContactTracker> {
        self.contacts.as_mut()
    }

    /// True if contacts were raised and not yet taken.
    #[inline]
    pub fn has_pending_contacts(&self) -> bool {
        self.contacts
            .as_ref()
            .is_some_and(|t| !t.pending().is_empty())
    }

    /// Takes the contacts raised since the last call.
    pub fn take_contacts(&mut self) -> Vec<crate::engine::contact::Contact> {
        self.contacts
            .as_mut()
            .map(ContactTracker::take_contacts)
            .unwrap_or_default()
    }

    /// Why the first unplaceable particles could not be placed (at most ten messages).
    pub fn unplaceable_messages(&self) -> &[String] {
        &self.unplaceable
    }

    /// Puts a particle on the lattice (its sites must be empty), registers it with the
    /// contact tracker (if enabled) and refreshes the rates around it; returns its id.
    /// Layers are added as needed.
    pub fn insert_particle(&mut self, p: &ParticlePlacement) -> Option<u32> {
        let need = p.top_layer + 1 + self.film().lattice().headroom();
        self.ensure_layers(need);
        let lat = self.film().lattice().clone();
        let sites: Vec<SiteRef> = p.atoms.iter().map(|&(idx, _)| lat.site_at(idx)).collect();
        let film = self.grains.state_mut(0);
        for (s, &(_, sp)) in sites.iter().zip(&p.atoms) {
            // Landing guarantees free sites; an overlap here would silently lose an atom.
            debug_assert!(
                !film.cell(s.idx).occupied(),
                "particle overlaps the atom at site {}",
                s.idx
            );
            film.place(s, sp);
        }
        let id = self.contacts.as_mut().map(|t| {
            let id = t.register_particle(ParticleRecord {
                id: 0,
                diameter_nm: p.diameter_nm,
                shape: p.shape,
                atoms: p.atoms.len(),
                shell_species: p.shell_species,
                time_s: self.time,
                centre: p.centre,
            });
            t.on_place_group(&self.grains.grain(0).state, &sites, id, self.time);
            id
        });
        self.refresh_with_ghosts(0, &ChangedSites::Many(sites));
        id
    }

    /// Moves atoms `(from, to)` as one change (each `from` occupied, each `to` empty once all
    /// `from` sites are vacated, no site twice): species and particle identity travel with
    /// the atoms, rates around every touched site are refreshed and the contact tracker is
    /// rebuilt (raising no contact). This is how a relaxer hands its result back.
    pub fn move_atoms(&mut self, moves: &[(usize, usize)]) -> crate::Result<()> {
        let n = self.film().lattice().n_sites();
        let mut from_seen = hashbrown::HashSet::new();
        let mut to_seen = hashbrown::HashSet::new();
        for &(f, t) in moves {
            if f >= n || !self.film().cell(f).occupied() || self.film().is_ghost(f) {
                return Err(crate::Error::Simulation(format!(
                    "move_atoms: site {f} holds no atom"
                )));
            }
            if !from_seen.insert(f) {
                return Err(crate::Error::Simulation(format!(
                    "move_atoms: origin {f} appears twice"
                )));
            }
            if !to_seen.insert(t) {
                return Err(crate::Error::Simulation(format!(
                    "move_atoms: destination {t} appears twice"
                )));
            }
        }
        let max_l = moves
            .iter()
            .map(|&(_, t)| t / self.film().lattice().layer_size())
            .max()
            .unwrap_or(0);
        self.ensure_layers(max_l + 1);
        for &(_, t) in moves {
            if self.film().cell(t).occupied() && !from_seen.contains(&t) {
                return Err(crate::Error::Simulation(format!(
                    "move_atoms: destination {t} is occupied by an atom that does not move"
                )));
            }
        }
        let lat = self.film().lattice().clone();
        let mut species = Vec::with_capacity(moves.len());
        let mut changed = Vec::with_capacity(2 * moves.len());
        let film = self.grains.state_mut(0);
        for &(f, _) in moves {
            let s = lat.site_at(f);
            species.push(film.remove(&s));
            changed.push(s);
        }
        for (&(_, t), &sp) in moves.iter().zip(&species) {
            let s = lat.site_at(t);
            film.place(&s, sp);
            changed.push(s);
        }
        if let Some(tr) = &mut self.contacts {
            tr.rebuild_moved(&self.grains.grain(0).state, moves);
        }
        self.refresh_with_ghosts(0, &ChangedSites::Many(changed));
        Ok(())
    }

    /// Replaces the rate model (e.g. by one defined outside the crate) and recomputes every
    /// rate; the clock and counters are kept, a drawn event is discarded.
    pub fn set_model(&mut self, model: M) {
        self.range = model.interaction_range().min(crate::lattice::MAX_RANGE);
        self.transfers = model.offers_transfers();
        self.model = model;
        self.rebuild_rates();
    }

    /// Makes sure at least `layers` layers are allocated, so sites up there can be `apply`-ed.
    pub fn ensure_layers(&mut self, layers: usize) {
        let old = self.film().lattice().n_sites();
        self.grains.state_mut(0).ensure_layers(layers);
        self.film_grown(old);
    }

    /// After the film's lattice grew from `old` sites: slot entries for the new sites, and
    /// the ghosts particle grains cast on them (with their rates).
    fn film_grown(&mut self, old: usize) {
        let n = self.film().lattice().n_sites();
        if n == old {
            return;
        }
        self.slot_of[0].resize(n, NO_SLOT);
        if self.grains.len() > 1 {
            let ghosts = self.grains.grown(0, old);
            self.refresh_ghosts(&ghosts);
        }
    }

    /// Sets the species of the given sites (0 empties a site) and refreshes every rate within
    /// the interaction range of them: the way code outside the KMC loop (a relaxer, an MD code
    /// handing atoms back) changes the lattice. A drawn event is discarded.
    pub fn apply(&mut self, changes: &[(usize, crate::state::Species)]) {
        let mut changed = Vec::with_capacity(changes.len());
        let film = self.grains.state_mut(0);
        for &(idx, sp) in changes {
            let s = film.lattice().site_at(idx);
            // A ghost is another grain's atom: this film site is not the caller's to set.
            if film.is_ghost(idx) {
                continue;
            }
            let old = film.species(idx);
            match (old, sp) {
                (0, 0) => continue,
                (0, _) => film.place(&s, sp),
                (_, 0) => {
                    film.remove(&s);
                }
                (a, b) if a != b => film.set_species(idx, sp),
                _ => continue,
            }
            changed.push(s);
        }
        if let Some(t) = &mut self.contacts {
            t.rebuild(&self.grains.grain(0).state);
        }
        self.refresh_with_ghosts(0, &ChangedSites::Many(changed));
    }

    /// The film, to be written by a parallel run that keeps the rates itself: the engine's
    /// rates are stale until [`Engine::rebuild_rates`].
    pub(crate) fn film_mut_unrated(&mut self) -> &mut State {
        self.grains.state_mut(0)
    }

    /// Sets the clock and counts from a parallel run (a drawn event is discarded).
    pub(crate) fn set_clock(&mut self, time: f64, counters: Counters) {
        self.time = time;
        self.counters = counters;
        self.next_event_time = None;
    }

    /// The film's lattice state (grain 0; see [`Engine::grains`] for the others).
    pub fn state(&self) -> &State {
        self.film()
    }

    /// The rate model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// Event sources.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// Simulated time, s.
    pub fn time(&self) -> f64 {
        self.time
    }

    /// Executed-event counts.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Total rate of everything that can happen now, 1/s.
    pub fn total_rate(&self) -> f64 {
        self.sampler.total()
    }

    /// The last executed site event (`None` after a deposition).
    pub fn last_event(&self) -> Option<Event> {
        self.last_event
    }

    /// Total rate of the atom at site `idx` of grain `grain`, 1/s (0 if it has no event).
    pub fn rate_of(&self, grain: usize, idx: usize) -> f64 {
        match self.slot_of.get(grain).and_then(|v| v.get(idx)) {
            Some(&slot) if slot != NO_SLOT => self.sampler.rate(self.sources.len() + slot as usize),
            _ => 0.0,
        }
    }

    /// Number of atoms with at least one possible event.
    pub fn active_atoms(&self) -> usize {
        self.site_of.len() - self.free_slots.len()
    }

    /// Absolute time of the drawn but not yet executed event, if one is pending (after
    /// [`Engine::step_until`] stopped the clock short of it).
    pub fn pending_event_time(&self) -> Option<f64> {
        self.next_event_time
    }

    /// Advances the clock by `dt_s` without an event: the time a contact spent in MD, which is
    /// simulated time like any other. A drawn but pending event moves with the clock (waiting
    /// times are memoryless, so it stays a correct draw and the trajectory stays
    /// deterministic). Negative or non-finite `dt_s` is refused.
    pub fn advance_time(&mut self, dt_s: f64) -> crate::Result<()> {
        if !(dt_s.is_finite() && dt_s >= 0.0) {
            return Err(crate::Error::Simulation(format!(
                "advance_time: {dt_s} s is not a non-negative time"
            )));
        }
        self.time += dt_s;
        if let Some(t) = &mut self.next_event_time {
            *t += dt_s;
        }
        Ok(())
    }

    /// The sampler (for diagnostics and benchmarks).
    pub fn sampler(&self) -> &S {
        &self.sampler
    }

    /// Advances by one event unless the next event would happen after `t_max`; then the clock
    /// is set to `t_max` and the drawn event stays pending (so stopping to observe never changes
    /// the trajectory).
    pub fn step_until(&mut self, t_max: f64) -> Step {
        let total = self.sampler.total();
        if total <= 0.0 {
            return Step::Idle;
        }
        let t_next = match self.next_event_time {
            Some(t) => t,
            None => {
                let t = self.time + waiting_time(total, &mut self.rng);
                self.next_event_time = Some(t);
                t
            }
        };
        if t_next > t_max {
            self.time = self.time.max(t_max);
            return Step::ReachedTime;
        }
        self.next_event_time = None;
        self.time = t_next;
        let leaf = self
            .sampler
            .select(&mut self.rng)
            .expect("positive total rate");
        self.execute_leaf(leaf);
        Step::Executed
    }

    fn execute_leaf(&mut self, leaf: usize) {
        let g = self.sources.len();
        let changed = if leaf < g {
            match &self.sources[leaf] {
                Source::Atoms(_) if self.grains.len() > 1 => {
                    self.deposit_atom_among_grains(leaf);
                    return;
                }
                Source::Particles(p) if p.orientation.is_some() => {
                    self.deposit_grain(leaf);
                    return;
                }
                Source::Atoms(d) => {
                    let site = d.landing_site(&self.grains.grain(0).state, &mut self.rng);
                    let sp = d.species;
                    self.place_on_film(site, sp)
                }
                Source::Particles(p) => {
                    self.last_event = None;
                    match p.draw(&self.grains.grain(0).state, &mut self.rng) {
                        Ok(placement) => {
                            self.counters.particles_deposited += 1;
                            self.counters.particle_atoms_deposited += placement.atoms.len() as u64;
                            // Rates are refreshed inside.
                            self.insert_particle(&placement);
                            return;
                        }
                        Err(msg) => {
                            self.counters.particles_unplaceable += 1;
                            if self.unplaceable.len() < MAX_UNPLACEABLE_MESSAGES {
                                self.unplaceable
                                    .push(format!("t = {:e} s: {msg}", self.time));
                            }
                            ChangedSites::None
                        }
                    }
                }
            }
        } else {
            if self.site_of[leaf - g] == BODY {
                self.execute_body(self.grain_of[leaf - g] as usize);
                return;
            }
            let site = self.site_of[leaf - g] as usize;
            let grain = self.grain_of[leaf - g] as usize;
            let state = &self.grains.grain(grain).state;
            let s = state.lattice().site_at(site);
            let rate = self.sampler.rate(leaf);
            self.scratch.clear();
            self.model.site_events(state, &s, &mut self.scratch);
            self.transfer_scratch.clear();
            if self.transfers && self.grains.len() > 1 && state.n_ghosts() > 0 {
                let across = Across {
                    grains: &self.grains,
                    g: grain,
                    on: true,
                };
                let out = Some(&mut self.transfer_scratch);
                with_transfers(state, &mut self.model, &s, across, 0.0, out);
            }
            let target = uniform(&mut self.rng) * rate;
            let mut acc = 0.0;
            let mut pick = None;
            let rates = self.scratch.iter().map(|e| e.1);
            for (i, r) in rates
                .chain(self.transfer_scratch.iter().map(|t| t.1))
                .enumerate()
            {
                acc += r;
                if r > 0.0 {
                    pick = Some(i);
                    if target < acc {
                        break;
                    }
                }
            }
            let pick = pick.expect("an active atom has events");
            if pick >= self.scratch.len() {
                let t = self.transfer_scratch[pick - self.scratch.len()].0;
                self.execute_transfer(grain, s, t);
                return;
            }
            let ev = self.scratch[pick].0;
            self.last_event = Some(ev);
            match ev {
                Event::Hop { .. } => self.counters.hops += 1,
                Event::Exchange { .. } => self.counters.exchanges += 1,
            }
            let changed = ev.execute(self.grains.state_mut(grain));
            if grain == 0 {
                if let Some(t) = &mut self.contacts {
                    t.on_event(&self.grains.grain(0).state, &ev, self.time);
                }
            } else {
                self.refresh_with_ghosts(grain, &changed);
                return;
            }
            changed
        };
        self.refresh_with_ghosts(0, &changed);
    }

    /// A transfer: the atom at `s` of grain `g` moves to site `t.site` of grain `t.grain`.
    /// It leaves first, so its own ghost gives way, then lands; each step updates ghosts,
    /// rates and contacts as an event in that grain does.
    fn execute_transfer(&mut self, g: usize, s: SiteRef, t: TransferSite) {
        self.counters.transfers += 1;
        self.last_event = None;
        let sp = self.grains.state_mut(g).remove(&s);
        if g == 0 {
            if let Some(tr) = &mut self.contacts {
                tr.on_remove_atom(&self.grains.grain(0).state, &s);
            }
        }
        self.refresh_with_ghosts(g, &ChangedSites::Many(vec![s]));
        let h = t.grain;
        let st = self.grains.state_mut(h);
        let site = st.lattice().site_at(t.site);
        // `transfer_sites` admits a site whose only claimant is the atom itself, so no other
        // ghost takes its place when it leaves.
        debug_assert!(!st.cell(t.site).occupied(), "transfer onto a taken site");
        st.place(&site, sp);
        if h == 0 {
            if let Some(tr) = &mut self.contacts {
                tr.on_place_atom(&self.grains.grain(0).state, &site, self.time);
            }
        }
        self.refresh_with_ghosts(h, &ChangedSites::Many(vec![site]));
    }

    /// An atom from source `leaf` arriving while particle grains exist: it lands on the film
    /// as without them, unless a particle grain is met first on the way down (the vertical
    /// through the drop point), and then takes the free site of that grain nearest to where it
    /// touched.
    fn deposit_atom_among_grains(&mut self, leaf: usize) {
        let Source::Atoms(d) = &self.sources[leaf] else {
            unreachable!("called for an atom source")
        };
        self.last_event = None;
        let film = &self.grains.grain(0).state;
        let [px, py] = d.drop_point(film, &mut self.rng);
        let on_film = d.landing_from(film, px, py);
        let sp = d.species;
        let nn = film.lattice().nn_distance();
        let film_z = on_film.map(|s| film.lattice().position(&s)[2]);
        if let Some((z, h, shift)) = self.grains.first_contact(&[[0.0; 3]], [px, py], nn, false) {
            if film_z.is_none_or(|fz| z > fz) {
                // At the image of the drop point next to the atom it touched.
                let p = [px + shift[0], py + shift[1], z];
                if let Some(idx) = self.grains.nearest_free_site(h, p, nn) {
                    let s = self.grains.grain(h).state.lattice().site_at(idx);
                    self.grains.state_mut(h).place(&s, sp);
                    self.counters.deposited += 1;
                    self.refresh_with_ghosts(h, &ChangedSites::One(s));
                    return;
                }
            }
        }
        let changed = self.place_on_film(on_film, sp);
        self.refresh_with_ghosts(0, &changed);
    }

    /// An arriving atom of `sp` at film site `site`, or lost if it found none; the contact
    /// tracker sees it. Rates are not refreshed here.
    fn place_on_film(&mut self, site: Option<SiteRef>, sp: crate::state::Species) -> ChangedSites {
        match site {
            Some(s) => {
                self.last_event = None;
                self.grains.state_mut(0).place(&s, sp);
                self.counters.deposited += 1;
                if let Some(t) = &mut self.contacts {
                    t.on_place_atom(&self.grains.grain(0).state, &s, self.time);
                }
                ChangedSites::One(s)
            }
            None => {
                self.counters.deposits_lost += 1;
                ChangedSites::None
            }
        }
    }

    /// A particle from source `leaf` that is a grain of its own: drawn, turned, landed where
    /// it first touches an atom, and added as a grain.
    fn deposit_grain(&mut self, leaf: usize) {
        let Source::Particles(p) = &self.sources[leaf] else {
            unreachable!("called for a particle source")
        };
        self.last_event = None;
        let placed = p.draw_grain(&self.grains, &mut self.rng).and_then(|gp| {
            let n = gp.state.n_atoms();
            self.add_grain(gp.state, gp.frame)
                .map(|_| n)
                .map_err(|e| e.to_string())
        });
        match placed {
            Ok(n) => {
                self.counters.particles_deposited += 1;
                self.counters.particle_atoms_deposited += n;
            }
            Err(msg) => {
                self.counters.particles_unplaceable += 1;
                if self.unplaceable.len() < MAX_UNPLACEABLE_MESSAGES {
                    self.unplaceable
                        .push(format!("t = {:e} s: {msg}", self.time));
                }
            }
        }
        self.next_event_time = None;
    }

    /// Recomputes the rates of every film site within the interaction range of `changed`
    /// (film sites), and of every site whose ghost the change moved.
    pub fn refresh(&mut self, changed: &ChangedSites) {
        self.refresh_with_ghosts(0, changed);
    }

    /// After the sites `changed` of grain `g` changed: ghosts follow (re-boxing a particle
    /// grain whose atom came near its box's edge), then the rates around every changed site
    /// of every grain are recomputed. With the film alone this is [`Engine::refresh_in`].
    fn refresh_with_ghosts(&mut self, g: usize, changed: &ChangedSites) {
        if self.grains.len() == 1 {
            self.refresh_in(g, changed);
            return;
        }
        let mut sites = changed_sites(changed);
        let mut idx: Vec<usize> = sites.iter().map(|s| s.idx).collect();
        if g > 0 && self.grains.check_clear(g, &idx).is_err() {
            let map = self.rebox_grain(g);
            let lat = self.grains.grain(g).state.lattice();
            idx.iter_mut().for_each(|i| *i = map[*i]);
            sites = idx.iter().map(|&i| lat.site_at(i)).collect();
        }
        let ghosts = self
            .grains
            .apply_changes(g, &idx)
            .expect("atoms are clear of the box's edge (re-boxed above)");
        self.refresh_in(g, &ChangedSites::Many(sites));
        self.refresh_ghosts(&ghosts);
        if self.transfers {
            // Transfers read other grains by position: a change need not move a ghost near
            // every atom whose transfers it alters (the atom's own grain is covered by the
            // four-step refresh in `refresh_in`).
            let r = crate::grains::TRANSFER_READ_NN * self.film().lattice().nn_distance();
            let near = self.grains.atoms_near(g, &idx, r);
            for run in near.chunk_by(|a, b| a.0 == b.0) {
                let (state, model, mut slots, across) = self.parts(run[0].0);
                for &(_, i) in run {
                    let s = state.lattice().site_at(i);
                    refresh_site(state, model, &mut slots, &s, across);
                }
            }
        }
        self.update_bodies(g, &idx, &ghosts);
        self.grain_contacts(g, &ghosts);
    }

    /// After atoms of grain `g` changed: raises a contact for each grain h whose new ghost of
    /// a `g` atom bonds to an atom of h (an atom of g now a nearest neighbour of an atom of
    /// h), once per pair. The contact point is the mean midpoint of the pair's new bonds, so a
    /// facet landing flat is met at its middle. Ghosts in g itself are not read: a foreign
    /// atom showing in a site g's atom left was next to that atom already. The check of a
    /// pair that had its contact comes first, so a run pays for it only at new contacts.
    fn grain_contacts(&mut self, g: usize, ghosts: &[(usize, usize)]) {
        let Some(tracker) = self.contacts.as_mut() else {
            return;
        };
        let grains = &self.grains;
        let [lx, ly] = grains.grain(0).state.lattice().box_lengths();
        // Per grain h: the first bond's sites, the sum of midpoints (unwrapped around the
        // first one) and the bonds.
        type Bonds = (usize, [usize; 2], crate::vec3::Vec3, f64);
        let mut pairs: Vec<Bonds> = Vec::new();
        for &(h, s) in ghosts {
            if h == g || tracker.had_grain_contact(h as u32, g as u32) {
                continue;
            }
            let st = &grains.grain(h).state;
            if !st.is_ghost(s) {
                continue;
            }
            let lat = st.lattice();
            let site = lat.site_at(s);
            let Some(nb) = lat
                .neighbors(&site)
                .map(|(_, n)| n.idx)
                .find(|&i| st.cell(i).occupied() && !st.is_ghost(i))
            else {
                continue;
            };
            // The ghost's site stands for the atom (it lies within a cell of it).
            let (p, q) = (
                grains.grain(h).lab_position(nb),
                grains.grain(h).lab_position(s),
            );
            let mut d = crate::vec3::sub(q, p);
            d[0] -= lx * (d[0] / lx).round();
            d[1] -= ly * (d[1] / ly).round();
            let mut mid = crate::vec3::add(p, crate::vec3::scale(d, 0.5));
            match pairs.iter_mut().find(|e| e.0 == h) {
                Some(e) => {
                    let first = crate::vec3::scale(e.2, 1.0 / e.3);
                    mid[0] -= lx * ((mid[0] - first[0]) / lx).round();
                    mid[1] -= ly * ((mid[1] - first[1]) / ly).round();
                    e.2 = crate::vec3::add(e.2, mid);
                    e.3 += 1.0;
                }
                None => pairs.push((h, [nb, s], mid, 1.0)),
            }
        }
        for (h, sites, sum, n) in pairs {
            let m = crate::vec3::scale(sum, 1.0 / n);
            tracker.raise_grains(
                [h as u32, g as u32],
                sites,
                [
                    grains.grain(h).state.n_atoms(),
                    grains.grain(g).state.n_atoms(),
                ],
                [m[0].rem_euclid(lx), m[1].rem_euclid(ly), m[2]],
                self.time,
            );
        }
    }

    /// Hands a contact stage's result over grains back (see [`Grains::regrain`]): the atoms
    /// at `removed` `(grain, site)` leave, the particle grains get their new `frames`, and
    /// atoms land at `placed` `(grain, site, species)`; ghosts follow and every rate they or
    /// the atoms touch is recomputed. Raises no contact (this is the response to one); the
    /// film's contact tracker is rebuilt, carrying particle identity along `film_moves`
    /// (film site to film site). A drawn event is discarded.
    pub fn regrain(
        &mut self,
        frames: &[(usize, Frame)],
        removed: &[(usize, usize)],
        placed: &[(usize, usize, crate::state::Species)],
        film_moves: &[(usize, usize)],
    ) -> crate::Result<()> {
        let film_layers = placed
            .iter()
            .filter(|p| p.0 == 0)
            .map(|p| p.1 / self.film().lattice().layer_size() + 1)
            .max()
            .unwrap_or(0);
        if film_layers > 0 {
            self.ensure_layers(film_layers + self.film().lattice().headroom());
        }
        // The leaving atoms give up their leaves while their site numbers still hold.
        for &(g, idx) in removed {
            if g < self.grains.len() && idx < self.slot_of[g].len() {
                let (_, _, mut slots, _) = self.parts(g);
                slots.set(idx, 0.0);
            }
        }
        let out = self.grains.regrain(frames, removed, placed)?;
        for (g, map) in &out.reboxed {
            let n = self.grains.grain(*g).state.lattice().n_sites();
            let mut slots = vec![NO_SLOT; n];
            for (old, &slot) in self.slot_of[*g].iter().enumerate() {
                if slot != NO_SLOT {
                    slots[map[old]] = slot;
                    self.site_of[slot as usize] = map[old] as u32;
                }
            }
            self.slot_of[*g] = slots;
        }
        if let Some(t) = &mut self.contacts {
            t.rebuild_moved(&self.grains.grain(0).state, film_moves);
        }
        let mut by_grain: Vec<Vec<SiteRef>> = vec![Vec::new(); self.grains.len()];
        for &(g, idx) in removed {
            if out.reboxed.iter().all(|r| r.0 != g) {
                by_grain[g].push(self.grains.grain(g).state.lattice().site_at(idx));
            }
        }
        for &(g, idx, _) in &out.placed {
            by_grain[g].push(self.grains.grain(g).state.lattice().site_at(idx));
        }
        // Transfers read other grains' sites by position, which moved frames shift without
        // a ghost change near every reader: with transfers every rate is recomputed (a
        // contact stage is rare and costs far more than this).
        let all = self.transfers && self.grains.len() > 1;
        for (g, sites) in by_grain.into_iter().enumerate() {
            if all || out.reboxed.iter().any(|r| r.0 == g) {
                self.refresh_every_site(g);
            } else if !sites.is_empty() {
                self.refresh_in(g, &ChangedSites::Many(sites));
            }
        }
        self.refresh_ghosts(&out.ghosts);
        for k in 1..self.grains.len() {
            self.update_body(k, true);
        }
        self.last_event = None;
        self.next_event_time = None;
        Ok(())
    }

    /// Recomputes the rates around `(grain, site)` pairs whose ghost changed.
    fn refresh_ghosts(&mut self, ghosts: &[(usize, usize)]) {
        let mut v = ghosts.to_vec();
        v.sort_unstable();
        v.dedup();
        for run in v.chunk_by(|a, b| a.0 == b.0) {
            let h = run[0].0;
            let lat = self.grains.grain(h).state.lattice();
            let sites: Vec<SiteRef> = run.iter().map(|&(_, i)| lat.site_at(i)).collect();
            self.refresh_in(h, &ChangedSites::Many(sites));
        }
    }

    /// Grows particle grain `g`'s box by at least `m` sites on every side (so that atoms can
    /// be put where the box did not reach), carrying its slots over; every rate is
    /// recomputed.
    pub fn grow_grain_box(&mut self, g: usize, m: usize) -> crate::Result<()> {
        let map = self.grains.rebox_by(g, m)?;
        self.renumber_slots(g, &map);
        Ok(())
    }

    /// Moves particle grain `g` into a larger box (an atom came near its edge), carries the
    /// slots over to the new site numbers and recomputes every rate (re-boxing rewrites
    /// every ghost); returns the new index of each old site.
    fn rebox_grain(&mut self, g: usize) -> Vec<usize> {
        // Only a lattice of more sites than memory can hold fails here, and a grain's box
        // grows by a few sites only when one of its own atoms walks to the edge.
        let map = self
            .grains
            .rebox(g)
            .expect("a particle grain's box can grow");
        self.renumber_slots(g, &map);
        map
    }

    /// After grain `g` was re-boxed (`map`: new index of each old site): its slots follow,
    /// and every rate is recomputed (every ghost was rewritten).
    fn renumber_slots(&mut self, g: usize, map: &[usize]) {
        let n = self.grains.grain(g).state.lattice().n_sites();
        let mut slots = vec![NO_SLOT; n];
        for (old, &slot) in self.slot_of[g].iter().enumerate() {
            if slot != NO_SLOT {
                slots[map[old]] = slot;
                self.site_of[slot as usize] = map[old] as u32;
            }
        }
        self.slot_of[g] = slots;
        for k in 0..self.grains.len() {
            self.refresh_every_site(k);
        }
        for k in 1..self.grains.len() {
            self.update_body(k, true);
        }
    }

    /// Grain `g`'s sites, the model and the sampler leaves of `g`'s sites, borrowed apart.
    fn parts(&mut self, g: usize) -> (&State, &mut M, Slots<'_, S>, Across<'_>) {
        let Engine {
            grains,
            model,
            sampler,
            slot_of,
            site_of,
            grain_of,
            free_slots,
            sources,
            transfers,
            ..
        } = self;
        let slots = Slots {
            sampler,
            slot_of: &mut slot_of[g],
            site_of,
            grain_of,
            grain: g as u32,
            free_slots,
            g: sources.len(),
        };
        let across = Across {
            grains,
            g,
            on: *transfers && grains.len() > 1,
        };
        (&grains.grain(g).state, model, slots, across)
    }

    /// Recomputes the rate of every site of grain `k` (after a change anywhere in it).
    fn refresh_every_site(&mut self, k: usize) {
        let (state, model, mut slots, across) = self.parts(k);
        for idx in 0..state.lattice().n_sites() {
            let s = state.lattice().site_at(idx);
            if state.cell(idx).occupied() {
                refresh_site(state, model, &mut slots, &s, across);
            } else {
                slots.set(idx, 0.0);
            }
        }
    }

    /// Recomputes the rates of every site of grain `g` within the interaction range of
    /// `changed` (sites of `g`); the film grows layers as needed.
    fn refresh_in(&mut self, g: usize, changed: &ChangedSites) {
        if g == 0 {
            let old = self.film().lattice().n_sites();
            if self.grains.state_mut(0).ensure_headroom() {
                self.film_grown(old);
            }
        }
        let pair;
        let touched: &[SiteRef] = match changed {
            ChangedSites::None => &[],
            ChangedSites::One(s) => std::slice::from_ref(s),
            ChangedSites::Hop { from, to, .. } => {
                pair = [*from, *to];
                &pair
            }
            ChangedSites::Many(v) => v,
        };
        // A transfer's rate reads the other grain up to 2.9 d_nn from the atom (its
        // destination, 1.15 d_nn away, and that site's neighbours, whose ghosts lie within a
        // cell of them): four steps on FCC and BCC.
        let r = if self.transfers && self.grains.len() > 1 {
            crate::lattice::MAX_RANGE
        } else {
            self.range
        };
        let (state, model, mut slots, across) = self.parts(g);
        model.prefetch(state, touched);
        // Only an atom can hold a slot, and an empty site only held one if its atom just left:
        // release those first, then the walks below skip every empty site unread.
        let vacated: &[SiteRef] = match changed {
            ChangedSites::Hop { from, .. } => std::slice::from_ref(from),
            ChangedSites::Many(v) => v,
            _ => &[],
        };
        for s in vacated {
            if !state.cell(s.idx).occupied() {
                slots.set(s.idx, 0.0);
            }
        }
        let lat = state.lattice();
        match changed {
            ChangedSites::None => {}
            ChangedSites::One(s) => refresh_at(
                state,
                model,
                &mut slots,
                s,
                &lat.class_tables(s.class).shells[r],
                r,
                across,
            ),
            ChangedSites::Hop { from, dir, .. } if r < crate::lattice::MAX_RANGE => {
                let offs = &lat.class_tables(from.class).hop_shells[r][*dir as usize];
                refresh_at(state, model, &mut slots, from, offs, r + 1, across)
            }
            ChangedSites::Hop { from, to, .. } => {
                let mut all = Vec::new();
                for s in [from, to] {
                    lat.for_each_at(s, &lat.class_tables(s.class).shells[r], r, |x| all.push(x));
                }
                dedup_sites(&mut all);
                for s in &all {
                    refresh_site(state, model, &mut slots, s, across);
                }
            }
            ChangedSites::Many(v) => {
                let mut all = Vec::new();
                for s in v {
                    lat.for_each_at(s, &lat.class_tables(s.class).shells[r], r, |x| all.push(x));
                }
                dedup_sites(&mut all);
                for s in &all {
                    refresh_site(state, model, &mut slots, s, across);
                }
            }
        }
        self.next_event_time = None;
    }

    /// Captures the engine's dynamic state; with the scenario it rebuilds the engine exactly.
    pub fn snapshot(&self) -> EngineSnapshot<S>
    where
        S: Clone,
    {
        let many = self.grains.len() > 1;
        EngineSnapshot {
            species: self.film().species_map(),
            site_of_slot: self.site_of.clone(),
            free_slots: self.free_slots.clone(),
            rng: self.rng.clone(),
            time: self.time,
            next_event_time: self.next_event_time,
            counters: self.counters,
            sampler: self.sampler.clone(),
            contacts: self.contacts.as_ref().map(ContactTracker::snapshot),
            unplaceable: self.unplaceable.clone(),
            grain_of_slot: if many {
                self.grain_of.clone()
            } else {
                Vec::new()
            },
            grains: (1..self.grains.len())
                .map(|k| {
                    let g = self.grains.grain(k);
                    GrainSnapshot {
                        frame: g.frame,
                        size: g.state.lattice().size(),
                        layers: g.state.lattice().layers(),
                        species: g.state.species_map(),
                    }
                })
                .collect(),
        }
    }

    /// Restores a snapshot taken from an engine built from the same scenario. Every cached rate
    /// is checked against a recomputation from the restored species, so a snapshot that does
    /// not belong to this model is refused rather than silently continued.
    pub fn restore(&mut self, snap: &EngineSnapshot<S>) -> crate::Result<()>
    where
        S: Clone,
    {
        let bad = |m: String| {
            crate::Error::Simulation(format!("snapshot does not fit this scenario: {m}"))
        };
        // Built and checked aside: a refused snapshot leaves the engine as it was.
        let mut film = self.film().clone();
        film.load_species(&snap.species)?;
        film.ensure_headroom();
        let nn = film.lattice().nn_distance();
        let mut grains = Grains::new(film, self.grains.ghost_radius_a() / nn)?;
        for (k, gs) in snap.grains.iter().enumerate() {
            let film = &grains.grain(0).state;
            // Built before any site is allocated: the species map, already in memory, bounds it.
            let lat = film.lattice().resized(gs.size, gs.layers)?;
            if lat.n_sites() != gs.species.len() {
                return Err(bad(format!(
                    "grain {} holds {} sites for a box of {:?} × {} layers",
                    k + 1,
                    gs.species.len(),
                    gs.size,
                    gs.layers
                )));
            }
            let mut st = State::new(lat);
            st.load_species(&gs.species)?;
            grains.add(st, gs.frame)?;
        }
        let n_grains = grains.len();
        let g = self.sources.len();
        if snap.sampler.len() != g + snap.site_of_slot.len() {
            return Err(bad(format!(
                "sampler has {} leaves for {} slots",
                snap.sampler.len(),
                snap.site_of_slot.len()
            )));
        }
        let grain_of = if snap.grain_of_slot.is_empty() {
            vec![0; snap.site_of_slot.len()]
        } else if snap.grain_of_slot.len() == snap.site_of_slot.len() {
            snap.grain_of_slot.clone()
        } else {
            return Err(bad(format!(
                "{} slot grains for {} slots",
                snap.grain_of_slot.len(),
                snap.site_of_slot.len()
            )));
        };
        let mut slot_of: Vec<Vec<u32>> = (0..n_grains)
            .map(|k| vec![NO_SLOT; grains.grain(k).state.lattice().n_sites()])
            .collect();
        // A crafted snapshot (valid checksum, wrong content) must be refused here, not panic
        // later: a free slot with a rate would be selected and name no site.
        let mut body_slot = vec![NO_SLOT; n_grains];
        for (slot, (&site, &k)) in snap.site_of_slot.iter().zip(&grain_of).enumerate() {
            if site == NO_SLOT {
                if snap.sampler.rate(g + slot) != 0.0 {
                    return Err(bad(format!("free slot {slot} has a rate")));
                }
                continue;
            }
            if site == BODY {
                let k = k as usize;
                if self.motion.is_none() || k == 0 || k >= n_grains || body_slot[k] != NO_SLOT {
                    return Err(bad(format!("slot {slot} names an invalid body {k}")));
                }
                body_slot[k] = slot as u32;
                continue;
            }
            let (site, k) = (site as usize, k as usize);
            if k >= n_grains || site >= slot_of[k].len() || slot_of[k][site] != NO_SLOT {
                return Err(bad(format!(
                    "slot {slot} names an invalid site {site} of grain {k}"
                )));
            }
            slot_of[k][site] = slot as u32;
        }
        for &slot in &snap.free_slots {
            if snap.site_of_slot.get(slot as usize) != Some(&NO_SLOT) {
                return Err(bad(format!("free slot {slot} is not a free slot")));
            }
        }
        let sum: f64 = (0..snap.sampler.len()).map(|i| snap.sampler.rate(i)).sum();
        let total = snap.sampler.total();
        if !(sum.is_finite() && (total - sum).abs() <= 1e-6 * sum) {
            return Err(bad(format!(
                "the sampler's total {total} is not the sum of its rates {sum}"
            )));
        }
        for (k, src) in self.sources.iter().enumerate() {
            if snap.sampler.rate(k) != src.rate() {
                return Err(bad(format!(
                    "source {k} has rate {} but the scenario gives {}",
                    snap.sampler.rate(k),
                    src.rate()
                )));
            }
        }
        for (k, slots) in slot_of.iter().enumerate() {
            let state = &grains.grain(k).state;
            let across = Across {
                grains: &grains,
                g: k,
                on: self.transfers && grains.len() > 1,
            };
            for (idx, &slot) in slots.iter().enumerate() {
                let s = state.lattice().site_at(idx);
                let r = site_rate(state, &mut self.model, &s, across);
                let cached = if slot == NO_SLOT {
                    0.0
                } else {
                    snap.sampler.rate(g + slot as usize)
                };
                if r != cached {
                    return Err(bad(format!(
                        "rate of site {idx} of grain {k} is {cached} in the snapshot but {r} \
                         recomputed"
                    )));
                }
            }
        }
        let mut bonds = vec![(0, 0); n_grains];
        if let Some(m) = &self.motion {
            for k in 1..n_grains {
                bonds[k] = grains.body_bonds(k, m.substrate_layers);
                let r = m.rate(&grains, k, bonds[k]);
                let cached = match body_slot[k] {
                    NO_SLOT => 0.0,
                    slot => snap.sampler.rate(g + slot as usize),
                };
                if r != cached {
                    return Err(bad(format!(
                        "body rate of grain {k} is {cached} in the snapshot but {r} recomputed"
                    )));
                }
            }
        }
        if let Some(m) = &mut self.motion {
            m.slot = body_slot;
            m.bonds = bonds;
        }
        self.grains = grains;
        self.slot_of = slot_of;
        self.site_of = snap.site_of_slot.clone();
        self.grain_of = grain_of;
        self.free_slots = snap.free_slots.clone();
        self.sampler = snap.sampler.clone();
        self.rng = snap.rng.clone();
        self.time = snap.time;
        self.next_event_time = snap.next_event_time;
        self.counters = snap.counters;
        self.unplaceable = snap.unplaceable.clone();
        match (&mut self.contacts, &snap.contacts) {
            (Some(t), Some(c)) => t.restore(&self.grains.grain(0).state, c),
            (Some(t), None) => t.rebuild(&self.grains.grain(0).state),
            _ => {}
        }
        Ok(())
    }

    /// Checks every cached rate against a recomputation (tests and debugging); returns the
    /// largest relative difference and whether slot bookkeeping is consistent.
    pub fn verify(&mut self) -> (f64, bool) {
        let g = self.sources.len();
        let mut worst: f64 = 0.0;
        let mut ok = true;
        for k in 0..self.grains.len() {
            let state = &self.grains.grain(k).state;
            let across = Across {
                grains: &self.grains,
                g: k,
                on: self.transfers && self.grains.len() > 1,
            };
            for idx in 0..state.lattice().n_sites() {
                let s = state.lattice().site_at(idx);
                let r = site_rate(state, &mut self.model, &s, across);
                let slot = self.slot_of[k][idx];
                let cached = if slot == NO_SLOT {
                    0.0
                } else {
                    self.sampler.rate(g + slot as usize)
                };
                if slot != NO_SLOT
                    && (self.site_of[slot as usize] as usize != idx
                        || self.grain_of[slot as usize] as usize != k)
                {
                    ok = false;
                }
                if r != cached {
                    worst = worst.max((r - cached).abs() / r.abs().max(cached.abs()));
                }
            }
        }
        if let Some(m) = &self.motion {
            for k in 1..self.grains.len() {
                let bonds = self.grains.body_bonds(k, m.substrate_layers);
                ok &= bonds == m.bonds[k];
                let r = m.rate(&self.grains, k, bonds);
                let slot = m.slot[k];
                let cached = if slot == NO_SLOT {
                    0.0
                } else {
                    ok &= self.site_of[slot as usize] == BODY
                        && self.grain_of[slot as usize] as usize == k;
                    self.sampler.rate(g + slot as usize)
                };
                if r != cached {
                    worst = worst.max((r - cached).abs() / r.abs().max(cached.abs()));
                }
            }
        }
        (worst, ok)
    }
}

/// Rate of the site's atom: zero for empty sites, frozen atoms and fully coordinated atoms (the
/// cheap test that skips the bulk), else the model's.
#[inline]
fn site_rate<M: RateModel>(state: &State, model: &mut M, s: &SiteRef, across: Across<'_>) -> f64 {
    let c = state.cell(s.idx);
    if !c.occupied()
        || c.coordination() as usize == state.lattice().coordination()
        || !state.is_mobile(s)
        || state.is_ghost(s.idx)
    {
        return 0.0;
    }
    let r = model.site_rate(state, s);
    if across.on && state.n_ghosts() > 0 {
        with_transfers(state, model, s, across, r, None)
    } else {
        r
    }
}

/// True if a ghost lies within `r` steps of `s`.
fn ghost_within(state: &State, s: &SiteRef, r: usize) -> bool {
    let lat = state.lattice();
    let offs = &lat.class_tables(s.class).shells[r];
    if lat.shell_is_interior(s, r) {
        let cells = state.cells();
        offs.iter().any(|o| {
            let i = (s.idx as isize + o.delta) as usize;
            cells[i].occupied() && state.is_ghost(i)
        })
    } else {
        offs.iter().any(|o| {
            lat.site_at_offset(s, o)
                .is_some_and(|u| state.cell(u.idx).occupied() && state.is_ghost(u.idx))
        })
    }
}

/// What an atom's rate reads beyond its own grain `g`: the other grains, for transfers, when
/// the model offers them and there are other grains.
#[derive(Clone, Copy)]
struct Across<'a> {
    grains: &'a Grains,
    g: usize,
    on: bool,
}

/// `rate` plus the rates of the transfers of the atom at `s` of grain `across.g`, added one
/// by one in order (so that picking by a running sum meets the same total); the transfers
/// are appended to `out` if given. No atom transfers whose leaving would strand a neighbour
/// of its own grain (the support rule of hops).
fn with_transfers<M: RateModel>(
    state: &State,
    model: &mut M,
    s: &SiteRef,
    across: Across<'_>,
    mut rate: f64,
    mut out: Option<&mut Vec<(TransferSite, f64)>>,
) -> f64 {
    let lat = state.lattice();
    for (_, u) in lat.neighbors(s) {
        let c = state.cell(u.idx);
        if c.occupied() && c.coordination() == 1 && !state.is_ghost(u.idx) && state.is_mobile(&u) {
            return rate;
        }
    }
    // A transfer needs a real atom of the other grain next to its destination, so within
    // 2.15 d_nn of the atom, and that atom's nearest site of this grain (0.71 d_nn from it,
    // 2.86 from the atom: at most four steps) holds a ghost: it holds no atom of this grain,
    // since no move puts an atom into a cell another grain's atom holds. So an atom without
    // a ghost within four steps has no transfers, and most atoms are spared the search.
    if !ghost_within(state, s, crate::lattice::MAX_RANGE) {
        return rate;
    }
    let mut sites = Vec::new();
    across.grains.transfer_sites(across.g, s.idx, &mut sites);
    for t in sites {
        let r = model.transfer_rate(state, s, t.coordination, t.shared);
        if r > 0.0 {
            rate += r;
            if let Some(o) = out.as_deref_mut() {
                o.push((t, r));
            }
        }
    }
    rate
}

/// The sampler leaves of the active atoms and the site ↔ slot maps.
struct Slots<'a, S> {
    sampler: &'a mut S,
    /// The slots of one grain's sites.
    slot_of: &'a mut [u32],
    site_of: &'a mut Vec<u32>,
    grain_of: &'a mut Vec<u32>,
    /// The grain whose sites these are.
    grain: u32,
    free_slots: &'a mut Vec<u32>,
    g: usize,
}

impl<S: RateSampler> Slots<'_, S> {
    /// Gives site `idx` the rate `rate`: takes a slot for a newly active atom, frees the slot
    /// of an atom that stopped being active.
    #[inline(always)]
    fn set(&mut self, idx: usize, rate: f64) {
        let slot = self.slot_of[idx];
        if rate > 0.0 {
            let slot = if slot == NO_SLOT {
                let new = take_slot(
                    self.free_slots,
                    self.site_of,
                    self.grain_of,
                    self.sampler,
                    self.g,
                    idx as u32,
                    self.grain,
                );
                self.slot_of[idx] = new;
                new
            } else {
                slot
            };
            self.sampler.set(self.g + slot as usize, rate);
        } else if slot != NO_SLOT {
            self.sampler.set(self.g + slot as usize, 0.0);
            self.site_of[slot as usize] = NO_SLOT;
            self.slot_of[idx] = NO_SLOT;
            self.free_slots.push(slot);
        }
    }
}

/// A slot for `site` of `grain` (a site index, or `BODY`): a freed one, else a new one at
/// the end (the sampler grows by a leaf; `g` leaves of sources come first).
#[inline(always)]
fn take_slot<S: RateSampler>(
    free_slots: &mut Vec<u32>,
    site_of: &mut Vec<u32>,
    grain_of: &mut Vec<u32>,
    sampler: &mut S,
    g: usize,
    site: u32,
    grain: u32,
) -> u32 {
    let new = match free_slots.pop() {
        Some(f) => f,
        None => {
            site_of.push(0);
            grain_of.push(0);
            sampler.resize(g + site_of.len());
            site_of.len() as u32 - 1
        }
    };
    site_of[new as usize] = site;
    grain_of[new as usize] = grain;
    new
}

/// Refreshes the atom at `s` (empty sites need no work: see `refresh`).
#[inline(always)]
fn refresh_site<M: RateModel, S: RateSampler>(
    state: &State,
    model: &mut M,
    slots: &mut Slots<'_, S>,
    s: &SiteRef,
    across: Across<'_>,
) {
    let c = state.cell(s.idx);
    if !c.occupied() {
        return;
    }
    let rate = if c.coordination() as usize == state.lattice().coordination()
        || !state.is_mobile(s)
        || state.is_ghost(s.idx)
    {
        0.0
    } else {
        let r = model.site_rate(state, s);
        if across.on && state.n_ghosts() > 0 {
            with_transfers(state, model, s, across, r, None)
        } else {
            r
        }
    };
    slots.set(s.idx, rate);
}

/// Refreshes every atom at `offsets` from `origin` (a shell of at most `radius` steps). The
/// interior case reads each site's byte before building anything, so the many empty sites of
/// a shell cost one load each.
#[inline(always)]
fn refresh_at<M: RateModel, S: RateSampler>(
    state: &State,
    model: &mut M,
    slots: &mut Slots<'_, S>,
    origin: &SiteRef,
    offsets: &[crate::lattice::Offset],
    radius: usize,
    across: Across<'_>,
) {
    let lat = state.lattice();
    if lat.shell_is_interior(origin, radius) {
        let cells = state.cells();
        for o in offsets {
            let idx = (origin.idx as isize + o.delta) as usize;
            if cells[idx].is_empty() {
                continue;
            }
            let s = SiteRef {
                idx,
                x: (origin.x as i64 + o.dx as i64) as u32,
                y: (origin.y as i64 + o.dy as i64) as u32,
                l: (origin.l as i64 + o.dl as i64) as u32,
                class: o.class,
                interior: true,
            };
            refresh_site(state, model, slots, &s, across);
        }
    } else {
        for o in offsets {
            if let Some(s) = lat.site_at_offset(origin, o) {
                refresh_site(state, model, slots, &s, across);
            }
        }
    }
}

/// The sites a change touched, as a list.
fn changed_sites(changed: &ChangedSites) -> Vec<SiteRef> {
    match changed {
        ChangedSites::None => Vec::new(),
        ChangedSites::One(s) => vec![*s],
        ChangedSites::Hop { from, to, .. } => vec![*from, *to],
        ChangedSites::Many(v) => v.clone(),
    }
}

fn dedup_sites(v: &mut Vec<SiteRef>) {
    v.sort_unstable_by_key(|s| s.idx);
    v.dedup_by_key(|s| s.idx);
}

#[cfg(test)]
mod tests;

#[cfg(test)]
#[path = "grain_tests.rs"]
mod grain_tests;
