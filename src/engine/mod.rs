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
use crate::lattice::SiteRef;
use crate::particle::ParticleDeposition;
use crate::particle::source::ParticlePlacement;
use crate::rates::RateModel;
use crate::rng::{KmcRng, uniform, waiting_time};
use crate::sampler::RateSampler;
use crate::state::State;
use serde::{Deserialize, Serialize};

const NO_SLOT: u32 = u32::MAX;

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
}

impl Counters {
    /// All executed events (lost deposits and unplaceable particles included: they consumed
    /// an event and time).
    pub fn events(&self) -> u64 {
        self.hops
            + self.exchanges
            + self.deposited
            + self.deposits_lost
            + self.particles_deposited
            + self.particles_unplaceable
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
    state: State,
    model: M,
    sampler: S,
    sources: Vec<Source>,
    slot_of: Vec<u32>,
    site_of: Vec<u32>,
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
}

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
}

impl<M: RateModel, S: RateSampler> Engine<M, S> {
    /// An engine over `state` whose rates are computed from scratch.
    pub fn new(state: State, model: M, sampler: S, sources: Vec<Source>, rng: KmcRng) -> Self {
        let range = model.interaction_range().min(crate::lattice::MAX_RANGE);
        let mut e = Engine {
            slot_of: vec![NO_SLOT; state.lattice().n_sites()],
            state,
            model,
            sampler,
            sources,
            site_of: Vec::new(),
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
        };
        e.state.ensure_headroom();
        e.slot_of.resize(e.state.lattice().n_sites(), NO_SLOT);
        e.rebuild_rates();
        e
    }

    /// Recomputes every rate and reassigns slots in site order (after the state was replaced).
    pub fn rebuild_rates(&mut self) {
        self.slot_of.iter_mut().for_each(|s| *s = NO_SLOT);
        self.slot_of.resize(self.state.lattice().n_sites(), NO_SLOT);
        self.site_of.clear();
        self.free_slots.clear();
        let g = self.sources.len();
        let mut leaves: Vec<f64> = self.sources.iter().map(Source::rate).collect();
        for idx in 0..self.state.lattice().n_sites() {
            let s = self.state.lattice().site_at(idx);
            let r = site_rate(&self.state, &mut self.model, &s);
            if r > 0.0 {
                self.slot_of[idx] = self.site_of.len() as u32;
                self.site_of.push(idx as u32);
                leaves.push(r);
            }
        }
        debug_assert_eq!(leaves.len(), g + self.site_of.len());
        self.sampler.assign(&leaves);
        self.next_event_time = None;
    }

    /// Replaces the state (e.g. atoms handed over by an MD code) and recomputes every rate;
    /// the clock and counters are kept, a drawn event is discarded.
    pub fn replace_state(&mut self, state: State) {
        self.state = state;
        self.state.ensure_headroom();
        self.rebuild_rates();
        if let Some(t) = &mut self.contacts {
            t.rebuild(&self.state);
        }
    }

    /// Tracks connected components, particle identity and contacts from now on (see
    /// [`ContactTracker`]); the bottom `substrate_layers` layers are the substrate.
    pub fn enable_contacts(&mut self, substrate_layers: usize, min_atoms: u32) {
        self.contacts = Some(ContactTracker::new(
            &self.state,
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
        let need = p.top_layer + 1 + self.state.lattice().headroom();
        self.ensure_layers(need);
        let lat = self.state.lattice().clone();
        let sites: Vec<SiteRef> = p.atoms.iter().map(|&(idx, _)| lat.site_at(idx)).collect();
        for (s, &(_, sp)) in sites.iter().zip(&p.atoms) {
            // Landing guarantees free sites; an overlap here would silently lose an atom.
            debug_assert!(
                !self.state.cell(s.idx).occupied(),
                "particle overlaps the atom at site {}",
                s.idx
            );
            self.state.place(s, sp);
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
            t.on_place_group(&self.state, &sites, id, self.time);
            id
        });
        self.refresh(&ChangedSites::Many(sites));
        id
    }

    /// Moves atoms `(from, to)` as one change (each `from` occupied, each `to` empty once all
    /// `from` sites are vacated, no site twice): species and particle identity travel with
    /// the atoms, rates around every touched site are refreshed and the contact tracker is
    /// rebuilt (raising no contact). This is how a relaxer hands its result back.
    pub fn move_atoms(&mut self, moves: &[(usize, usize)]) -> crate::Result<()> {
        let n = self.state.lattice().n_sites();
        let mut from_seen = hashbrown::HashSet::new();
        let mut to_seen = hashbrown::HashSet::new();
        for &(f, t) in moves {
            if f >= n || !self.state.cell(f).occupied() {
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
            .map(|&(_, t)| t / self.state.lattice().layer_size())
            .max()
            .unwrap_or(0);
        self.ensure_layers(max_l + 1);
        for &(_, t) in moves {
            if self.state.cell(t).occupied() && !from_seen.contains(&t) {
                return Err(crate::Error::Simulation(format!(
                    "move_atoms: destination {t} is occupied by an atom that does not move"
                )));
            }
        }
        let lat = self.state.lattice().clone();
        let mut species = Vec::with_capacity(moves.len());
        let mut changed = Vec::with_capacity(2 * moves.len());
        for &(f, _) in moves {
            let s = lat.site_at(f);
            species.push(self.state.remove(&s));
            changed.push(s);
        }
        for (&(_, t), &sp) in moves.iter().zip(&species) {
            let s = lat.site_at(t);
            self.state.place(&s, sp);
            changed.push(s);
        }
        if let Some(tr) = &mut self.contacts {
            tr.rebuild_moved(&self.state, moves);
        }
        self.refresh(&ChangedSites::Many(changed));
        Ok(())
    }

    /// Replaces the rate model (e.g. by one defined outside the crate) and recomputes every
    /// rate; the clock and counters are kept, a drawn event is discarded.
    pub fn set_model(&mut self, model: M) {
        self.range = model.interaction_range().min(crate::lattice::MAX_RANGE);
        self.model = model;
        self.rebuild_rates();
    }

    /// Makes sure at least `layers` layers are allocated, so sites up there can be `apply`-ed.
    pub fn ensure_layers(&mut self, layers: usize) {
        self.state.ensure_layers(layers);
        self.slot_of.resize(self.state.lattice().n_sites(), NO_SLOT);
    }

    /// Sets the species of the given sites (0 empties a site) and refreshes every rate within
    /// the interaction range of them: the way code outside the KMC loop (a relaxer, an MD code
    /// handing atoms back) changes the lattice. A drawn event is discarded.
    pub fn apply(&mut self, changes: &[(usize, crate::state::Species)]) {
        let mut changed = Vec::with_capacity(changes.len());
        for &(idx, sp) in changes {
            let s = self.state.lattice().site_at(idx);
            let old = self.state.species(idx);
            match (old, sp) {
                (0, 0) => continue,
                (0, _) => self.state.place(&s, sp),
                (_, 0) => {
                    self.state.remove(&s);
                }
                (a, b) if a != b => self.state.set_species(idx, sp),
                _ => continue,
            }
            changed.push(s);
        }
        if let Some(t) = &mut self.contacts {
            t.rebuild(&self.state);
        }
        self.refresh(&ChangedSites::Many(changed));
    }

    /// The lattice state.
    pub fn state(&self) -> &State {
        &self.state
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
                Source::Atoms(d) => match d.landing_site(&self.state, &mut self.rng) {
                    Some(s) => {
                        self.last_event = None;
                        self.state.place(&s, d.species);
                        self.counters.deposited += 1;
                        if let Some(t) = &mut self.contacts {
                            t.on_place_atom(&self.state, &s, self.time);
                        }
                        ChangedSites::One(s)
                    }
                    None => {
                        self.counters.deposits_lost += 1;
                        ChangedSites::None
                    }
                },
                Source::Particles(p) => {
                    self.last_event = None;
                    match p.draw(&self.state, &mut self.rng) {
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
            let site = self.site_of[leaf - g] as usize;
            let s = self.state.lattice().site_at(site);
            let rate = self.sampler.rate(leaf);
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
            self.last_event = Some(ev);
            match ev {
                Event::Hop { .. } => self.counters.hops += 1,
                Event::Exchange { .. } => self.counters.exchanges += 1,
            }
            let changed = ev.execute(&mut self.state);
            if let Some(t) = &mut self.contacts {
                t.on_event(&self.state, &ev, self.time);
            }
            changed
        };
        self.refresh(&changed);
    }

    /// Recomputes the rates of every site within the interaction range of `changed`.
    pub fn refresh(&mut self, changed: &ChangedSites) {
        if self.state.ensure_headroom() {
            self.slot_of.resize(self.state.lattice().n_sites(), NO_SLOT);
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
        self.model.prefetch(&self.state, touched);
        let r = self.range;
        let Engine {
            state,
            model,
            sampler,
            slot_of,
            site_of,
            free_slots,
            sources,
            ..
        } = self;
        let mut slots = Slots {
            sampler,
            slot_of,
            site_of,
            free_slots,
            g: sources.len(),
        };
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
            ),
            ChangedSites::Hop { from, dir, .. } if r < crate::lattice::MAX_RANGE => {
                let offs = &lat.class_tables(from.class).hop_shells[r][*dir as usize];
                refresh_at(state, model, &mut slots, from, offs, r + 1)
            }
            ChangedSites::Hop { from, to, .. } => {
                let mut all = Vec::new();
                for s in [from, to] {
                    lat.for_each_at(s, &lat.class_tables(s.class).shells[r], r, |x| all.push(x));
                }
                dedup_sites(&mut all);
                for s in &all {
                    refresh_site(state, model, &mut slots, s);
                }
            }
            ChangedSites::Many(v) => {
                let mut all = Vec::new();
                for s in v {
                    lat.for_each_at(s, &lat.class_tables(s.class).shells[r], r, |x| all.push(x));
                }
                dedup_sites(&mut all);
                for s in &all {
                    refresh_site(state, model, &mut slots, s);
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
        EngineSnapshot {
            species: self.state.species_map(),
            site_of_slot: self.site_of.clone(),
            free_slots: self.free_slots.clone(),
            rng: self.rng.clone(),
            time: self.time,
            next_event_time: self.next_event_time,
            counters: self.counters,
            sampler: self.sampler.clone(),
            contacts: self.contacts.as_ref().map(ContactTracker::snapshot),
            unplaceable: self.unplaceable.clone(),
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
        // Checked on a copy: a refused snapshot leaves the engine as it was.
        let mut state = self.state.clone();
        state.load_species(&snap.species)?;
        state.ensure_headroom();
        let n = state.lattice().n_sites();
        let g = self.sources.len();
        if snap.sampler.len() != g + snap.site_of_slot.len() {
            return Err(bad(format!(
                "sampler has {} leaves for {} slots",
                snap.sampler.len(),
                snap.site_of_slot.len()
            )));
        }
        let mut slot_of = vec![NO_SLOT; n];
        // A crafted snapshot (valid checksum, wrong content) must be refused here, not panic
        // later: a free slot with a rate would be selected and name no site.
        for (slot, &site) in snap.site_of_slot.iter().enumerate() {
            if site == NO_SLOT {
                if snap.sampler.rate(g + slot) != 0.0 {
                    return Err(bad(format!("free slot {slot} has a rate")));
                }
                continue;
            }
            let site = site as usize;
            if site >= n || slot_of[site] != NO_SLOT {
                return Err(bad(format!("slot {slot} names an invalid site {site}")));
            }
            slot_of[site] = slot as u32;
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
        for idx in 0..n {
            let s = state.lattice().site_at(idx);
            let r = site_rate(&state, &mut self.model, &s);
            let cached = if slot_of[idx] == NO_SLOT {
                0.0
            } else {
                snap.sampler.rate(g + slot_of[idx] as usize)
            };
            if r != cached {
                return Err(bad(format!(
                    "rate of site {idx} is {cached} in the snapshot but {r} recomputed"
                )));
            }
        }
        self.state = state;
        self.slot_of = slot_of;
        self.site_of = snap.site_of_slot.clone();
        self.free_slots = snap.free_slots.clone();
        self.sampler = snap.sampler.clone();
        self.rng = snap.rng.clone();
        self.time = snap.time;
        self.next_event_time = snap.next_event_time;
        self.counters = snap.counters;
        self.unplaceable = snap.unplaceable.clone();
        match (&mut self.contacts, &snap.contacts) {
            (Some(t), Some(c)) => t.restore(&self.state, c),
            (Some(t), None) => t.rebuild(&self.state),
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
        for idx in 0..self.state.lattice().n_sites() {
            let s = self.state.lattice().site_at(idx);
            let r = site_rate(&self.state, &mut self.model, &s);
            let slot = self.slot_of[idx];
            let cached = if slot == NO_SLOT {
                0.0
            } else {
                self.sampler.rate(g + slot as usize)
            };
            if slot != NO_SLOT && self.site_of[slot as usize] as usize != idx {
                ok = false;
            }
            if r != cached {
                worst = worst.max((r - cached).abs() / r.abs().max(cached.abs()));
            }
        }
        (worst, ok)
    }
}

/// Rate of the site's atom: zero for empty sites, frozen atoms and fully coordinated atoms (the
/// cheap test that skips the bulk), else the model's.
#[inline]
fn site_rate<M: RateModel>(state: &State, model: &mut M, s: &SiteRef) -> f64 {
    let c = state.cell(s.idx);
    if !c.occupied()
        || c.coordination() as usize == state.lattice().coordination()
        || !state.is_mobile(s)
        || state.is_ghost(s.idx)
    {
        return 0.0;
    }
    model.site_rate(state, s)
}

/// The sampler leaves of the active atoms and the site ↔ slot maps.
struct Slots<'a, S> {
    sampler: &'a mut S,
    slot_of: &'a mut [u32],
    site_of: &'a mut Vec<u32>,
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
                let new = match self.free_slots.pop() {
                    Some(f) => f,
                    None => {
                        self.site_of.push(0);
                        self.sampler.resize(self.g + self.site_of.len());
                        self.site_of.len() as u32 - 1
                    }
                };
                self.site_of[new as usize] = idx as u32;
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

/// Refreshes the atom at `s` (empty sites need no work: see `refresh`).
#[inline(always)]
fn refresh_site<M: RateModel, S: RateSampler>(
    state: &State,
    model: &mut M,
    slots: &mut Slots<'_, S>,
    s: &SiteRef,
) {
    let c = state.cell(s.idx);
    if !c.occupied() {
        return;
    }
    let rate = if c.coordination() as usize == state.lattice().coordination() || !state.is_mobile(s)
    {
        0.0
    } else {
        model.site_rate(state, s)
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
            refresh_site(state, model, slots, &s);
        }
    } else {
        for o in offsets {
            if let Some(s) = lat.site_at_offset(origin, o) {
                refresh_site(state, model, slots, &s);
            }
        }
    }
}

fn dedup_sites(v: &mut Vec<SiteRef>) {
    v.sort_unstable_by_key(|s| s.idx);
    v.dedup_by_key(|s| s.idx);
}

#[cfg(test)]
mod tests;
