//! Connected components of the film's atoms, kept incrementally, particle identity, and
//! contact events.
//!
//! **Graph.** Nodes are the atoms above the substrate (layers `≥ substrate_layers`), edges their
//! nearest-neighbour bonds. The substrate is not part of the graph: two particles resting on it
//! are joined only if they touch each other. A component *touching the substrate* (an atom with
//! an occupied nearest neighbour in the substrate layers) is called anchored.
//!
//! **Union–find with splits.** Each film atom holds a node of a union–find forest (one `u32`
//! per site above the substrate). Placing an atom unions it with its occupied neighbours; a hop
//! carries the atom's node to its new site and unions there. Removals cannot be undone in a
//! union–find, so after an atom leaves a site the tracker checks whether its old component may
//! have split: the occupied nearest neighbours of the vacated site are grouped by their
//! mutual nearest-neighbour bonds (a 12-bit mask flood over a per-class adjacency table). One
//! group — the usual case for a surface hop — proves nothing split. Otherwise breadth-first
//! searches from the groups run in lockstep inside the old component; a search that runs out of
//! sites before meeting another has found a detached piece, whose atoms get fresh nodes. The
//! cost is O(1) per event in the usual case and O(size of the smaller piece) per real split;
//! abandoned nodes are compacted by a full rebuild once they outnumber the live ones, so the
//! amortised cost stays O(1). The partition is exact after every event.
//!
//! **Contacts.** A [`Contact`] is raised when two components of at least `min_atoms` atoms each
//! merge (`Merge`), or when a component of at least `min_atoms` atoms first touches the
//! substrate (`Substrate`, e.g. a particle landing on it) — once per pair of *bodies*: the
//! bodies of a contact are the particles of the two atoms of the new bond, or "the film" for
//! an atom that came from no particle or from the substrate. So particle p meeting particle q,
//! particle p meeting the film, are each one contact however often diffusion opens and closes
//! the bond afterwards; fragments of one particle rejoining it are none. Without particles
//! (both atoms of the film) every qualifying merge is a contact. Changes made outside the KMC loop
//! ([`ContactTracker::rebuild`], used by `Engine::apply` and `Engine::move_atoms`) never raise
//! contacts: they are the response to one. The anchored flag is set when a component first
//! touches the substrate and kept afterwards (it is recomputed exactly on rebuilds).
//!
//! **Identity.** Each node carries the id of the particle its atom came from (or none); a hop
//! carries it along with the node. Atoms inside the substrate layers keep theirs in a small map.

use crate::catalog::Event;
use crate::lattice::{Lattice, SiteRef};
use crate::particle::Shape;
use crate::state::{Species, State};
use crate::vec3::sub;
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// "No node" / "no particle".
pub const NONE: u32 = u32::MAX;

/// What kind of contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContactKind {
    /// Two film components joined.
    Merge,
    /// A film component first touched the substrate.
    Substrate,
    /// An atom of one grain bonded to an atom of another (a particle grain landing, two
    /// particle grains meeting): `site` and `other_site` are sites of the first grain, the
    /// second holding the other grain's atom as a ghost.
    Grains,
}

/// A new contact, for the runner to hand to the relaxer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Simulated time, s.
    pub time_s: f64,
    /// Merge or substrate contact.
    pub kind: ContactKind,
    /// Site of the atom that made the bond (its component is `atoms[0]` atoms large).
    pub site: usize,
    /// Site of the atom it bonded to (in the other component, or a substrate atom).
    pub other_site: usize,
    /// Atoms of the two components just before they joined (substrate atoms for `Substrate`).
    pub atoms: [u64; 2],
    /// Particle of the atom at `site` and of the atom at `other_site`, if any.
    pub particles: [Option<u32>; 2],
    /// Midpoint of the bond, Å (wrapped into the box).
    pub point_a: [f64; 3],
    /// For a contact between grains, the two grains (the first holds `site`).
    pub grains: Option<[u32; 2]>,
}

/// A particle that arrived (or was placed at the start).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParticleRecord {
    /// Id (0, 1, ... in order of arrival).
    pub id: u32,
    /// Equal-volume diameter, nm.
    pub diameter_nm: f64,
    /// Shape.
    pub shape: Shape,
    /// Atoms when it arrived.
    pub atoms: usize,
    /// Shell species of a core–shell particle.
    pub shell_species: Option<Species>,
    /// Arrival time, s.
    pub time_s: f64,
    /// Centre site `(x, y, l)` on arrival.
    pub centre: [usize; 3],
}

/// What the tracker needs to be rebuilt exactly (stored in checkpoints).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackerSnapshot {
    /// `(site, particle)` of every atom that came from a particle, by site.
    pub identities: Vec<(u64, u32)>,
    /// Particle records.
    pub particles: Vec<ParticleRecord>,
    /// Contacts raised so far.
    pub total_contacts: u64,
    /// Contacts raised and not yet taken.
    pub pending: Vec<Contact>,
    /// Body pairs that have had their contact (sorted).
    pub seen: Vec<(u32, u32)>,
    /// Grain pairs that have had their contact (sorted).
    pub seen_grains: Vec<(u32, u32)>,
}

/// Incremental connected components of film atoms, with particle identity and contacts.
#[derive(Debug, Clone)]
pub struct ContactTracker {
    base_layers: usize,
    base_off: usize,
    min_atoms: u32,
    label: Vec<u32>,
    parent: Vec<u32>,
    size: Vec<u32>,
    anchored: Vec<bool>,
    node_particle: Vec<u32>,
    base_particle: HashMap<usize, u32>,
    live: usize,
    components: usize,
    particles: Vec<ParticleRecord>,
    pending: Vec<Contact>,
    total_contacts: u64,
    /// `ring[class][i]`: bit j set if neighbours i and j of a site of this class are neighbours.
    ring: Vec<Vec<u16>>,
    splits: u64,
    rebuilds: u64,
    /// Body pairs `(p, q)`, p ≤ q, `NONE` for the film, that have had their contact.
    seen: hashbrown::HashSet<(u32, u32)>,
    /// Grain pairs `(g, h)`, g < h, that have had their contact.
    seen_grains: hashbrown::HashSet<(u32, u32)>,
}

/// True if film site `m` holds a film atom: a ghost (another grain's atom showing in the
/// film, see [`crate::grains`]) is no node of the film's graph; it has no node to find, and
/// the contact it stands for is raised between the grains.
#[inline(always)]
fn real(state: &State, m: usize) -> bool {
    state.cell(m).occupied() && !state.is_ghost(m)
}

impl ContactTracker {
    /// A tracker for `state` whose bottom `substrate_layers` layers are the substrate;
    /// contacts need components of at least `min_atoms` atoms on both sides.
    pub fn new(state: &State, substrate_layers: usize, min_atoms: u32) -> Self {
        let lat = state.lattice();
        let ring = (0..lat.n_classes())
            .map(|c| ring_adjacency(lat, c as u8))
            .collect();
        let mut t = ContactTracker {
            base_layers: substrate_layers,
            base_off: substrate_layers * lat.layer_size(),
            min_atoms: min_atoms.max(1),
            label: Vec::new(),
            parent: Vec::new(),
            size: Vec::new(),
            anchored: Vec::new(),
            node_particle: Vec::new(),
            base_particle: HashMap::new(),
            live: 0,
            components: 0,
            particles: Vec::new(),
            pending: Vec::new(),
            total_contacts: 0,
            ring,
            splits: 0,
            rebuilds: 0,
            seen: hashbrown::HashSet::new(),
            seen_grains: hashbrown::HashSet::new(),
        };
        t.rebuild_with(state, std::iter::empty());
        t
    }

    /// Minimum component size for a contact.
    pub fn min_atoms(&self) -> u32 {
        self.min_atoms
    }

    /// Substrate layers (not part of the graph).
    pub fn substrate_layers(&self) -> usize {
        self.base_layers
    }

    /// Number of connected components of film atoms.
    pub fn components(&self) -> usize {
        self.components
    }

    /// Film atoms tracked.
    pub fn film_atoms(&self) -> usize {
        self.live
    }

    /// Splits found and full rebuilds done (diagnostics of the amortised cost).
    pub fn work(&self) -> (u64, u64) {
        (self.splits, self.rebuilds)
    }

    /// The particles that arrived so far.
    pub fn particles(&self) -> &[ParticleRecord] {
        &self.particles
    }

    /// Contacts raised since the last [`ContactTracker::take_contacts`].
    pub fn pending(&self) -> &[Contact] {
        &self.pending
    }

    /// Takes the pending contacts.
    pub fn take_contacts(&mut self) -> Vec<Contact> {
        std::mem::take(&mut self.pending)
    }

    /// Contacts raised since the start.
    pub fn total_contacts(&self) -> u64 {
        self.total_contacts
    }

    #[inline]
    fn node_at(&self, idx: usize) -> u32 {
        if idx < self.base_off {
            return NONE;
        }
        self.label.get(idx - self.base_off).copied().unwrap_or(NONE)
    }

    #[inline]
    fn set_label(&mut self, idx: usize, node: u32) {
        let k = idx - self.base_off;
        if k >= self.label.len() {
            self.label.resize(k + 1, NONE);
        }
        self.label[k] = node;
    }

    #[inline]
    fn find(&mut self, mut n: u32) -> u32 {
        while self.parent[n as usize] != n {
            let p = self.parent[n as usize];
            let gp = self.parent[p as usize];
            self.parent[n as usize] = gp;
            n = gp;
        }
        n
    }

    /// Component id (root) of the atom at film site `idx`, or `None` (empty or substrate).
    pub fn component_of(&mut self, idx: usize) -> Option<u32> {
        let n = self.node_at(idx);
        (n != NONE).then(|| self.find(n))
    }

    /// Atoms in the component of film site `idx`.
    pub fn component_size(&mut self, idx: usize) -> Option<u32> {
        self.component_of(idx).map(|r| self.size[r as usize])
    }

    /// True if the component of film site `idx` touches the substrate.
    pub fn is_anchored(&mut self, idx: usize) -> Option<bool> {
        self.component_of(idx).map(|r| self.anchored[r as usize])
    }

    /// Particle the atom at `idx` came from.
    pub fn particle_of(&self, idx: usize) -> Option<u32> {
        let n = self.node_at(idx);
        let p = if n != NONE {
            self.node_particle[n as usize]
        } else {
            self.base_particle.get(&idx).copied().unwrap_or(NONE)
        };
        (p != NONE).then_some(p)
    }

    fn new_node(&mut self, particle: u32) -> u32 {
        let n = self.parent.len() as u32;
        self.parent.push(n);
        self.size.push(1);
        self.anchored.push(false);
        self.node_particle.push(particle);
        self.live += 1;
        self.components += 1;
        n
    }

    fn is_base(&self, idx: usize) -> bool {
        idx < self.base_off
    }

    /// Registers a particle; returns its id.
    pub fn register_particle(&mut self, mut record: ParticleRecord) -> u32 {
        record.id = self.particles.len() as u32;
        self.particles.push(record);
        self.particles.len() as u32 - 1
    }

    /// A single atom was placed at `s` (atom deposition).
    pub fn on_place_atom(&mut self, state: &State, s: &SiteRef, time_s: f64) {
        self.on_place_group(state, std::slice::from_ref(s), NONE, time_s);
    }

    /// The film atom at `s` left the film (a transfer to another grain; `state` already
    /// changed): its component may split. Raises no contact.
    pub fn on_remove_atom(&mut self, state: &State, s: &SiteRef) {
        if self.is_base(s.idx) {
            self.base_particle.remove(&s.idx);
        } else {
            self.detach(s.idx);
            self.check_split(state, s);
        }
        self.maybe_compact(state);
    }

    /// The atoms of a group (a particle `particle`, or `NONE`) were placed at `sites`: they join
    /// each other silently, then their bonds to the atoms already there raise contacts.
    pub fn on_place_group(&mut self, state: &State, sites: &[SiteRef], particle: u32, time_s: f64) {
        let first_new = self.parent.len() as u32;
        let mut film = Vec::with_capacity(sites.len());
        for s in sites {
            if self.is_base(s.idx) {
                if particle != NONE {
                    self.base_particle.insert(s.idx, particle);
                }
            } else {
                let n = self.new_node(particle);
                self.set_label(s.idx, n);
                film.push(*s);
            }
        }
        let lat = state.lattice();
        for s in &film {
            let a = self.node_at(s.idx);
            for o in &lat.class_tables(s.class).neighbors {
                if let Some(m) = lat.index_at(s, o) {
                    let b = self.node_at(m);
                    if b != NONE && b >= first_new {
                        self.union(state, a, b, s.idx, m, time_s, false);
                    }
                }
            }
        }
        for s in &film {
            self.link(state, s, time_s, true);
        }
    }

    /// Unions the atom at film site `s` with its occupied film neighbours and anchors its
    /// component if it touches the substrate.
    fn link(&mut self, state: &State, s: &SiteRef, time_s: f64, contacts: bool) {
        let lat = state.lattice();
        let a = self.node_at(s.idx);
        let mut base_touch = None;
        for o in &lat.class_tables(s.class).neighbors {
            let Some(m) = lat.index_at(s, o) else {
                continue;
            };
            if !real(state, m) {
                continue;
            }
            if self.is_base(m) {
                base_touch = Some(m);
            } else {
                let b = self.node_at(m);
                if b != NONE {
                    self.union(state, a, b, s.idx, m, time_s, contacts);
                }
            }
        }
        if let Some(m) = base_touch {
            let r = self.find(a);
            if !self.anchored[r as usize] {
                self.anchored[r as usize] = true;
                if contacts && self.size[r as usize] >= self.min_atoms {
                    let base_atoms: u64 = state.layer_atoms()[..self.base_layers].iter().sum();
                    self.raise(
                        state,
                        ContactKind::Substrate,
                        s.idx,
                        m,
                        [self.size[r as usize] as u64, base_atoms],
                        time_s,
                    );
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn union(
        &mut self,
        state: &State,
        a: u32,
        b: u32,
        site_a: usize,
        site_b: usize,
        time_s: f64,
        contacts: bool,
    ) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let (sa, sb) = (self.size[ra as usize], self.size[rb as usize]);
        if contacts && sa >= self.min_atoms && sb >= self.min_atoms {
            self.raise(
                state,
                ContactKind::Merge,
                site_a,
                site_b,
                [sa as u64, sb as u64],
                time_s,
            );
        }
        let (big, small) = if sa >= sb { (ra, rb) } else { (rb, ra) };
        self.parent[small as usize] = big;
        self.size[big as usize] = sa + sb;
        self.anchored[big as usize] |= self.anchored[small as usize];
        self.components -= 1;
    }

    fn raise(
        &mut self,
        state: &State,
        kind: ContactKind,
        site: usize,
        other: usize,
        atoms: [u64; 2],
        time_s: f64,
    ) {
        let bodies = [self.particle_of(site), self.particle_of(other)];
        let key = match (kind, bodies) {
            (ContactKind::Substrate, [a, _]) => (a.unwrap_or(NONE), NONE),
            (ContactKind::Merge | ContactKind::Grains, [a, b]) => {
                let (a, b) = (a.unwrap_or(NONE), b.unwrap_or(NONE));
                (a.min(b), a.max(b))
            }
        };
        if key.0 == key.1 && key.0 != NONE {
            return;
        }
        if key != (NONE, NONE) && !self.seen.insert(key) {
            return;
        }
        let lat = state.lattice();
        let p = lat.position_of(site);
        let q = lat.position_of(other);
        let [lx, ly] = lat.box_lengths();
        let mut d = sub(q, p);
        d[0] -= lx * (d[0] / lx).round();
        d[1] -= ly * (d[1] / ly).round();
        let point_a = [
            (p[0] + 0.5 * d[0]).rem_euclid(lx),
            (p[1] + 0.5 * d[1]).rem_euclid(ly),
            p[2] + 0.5 * d[2],
        ];
        self.total_contacts += 1;
        self.pending.push(Contact {
            time_s,
            kind,
            site,
            other_site: other,
            atoms,
            particles: bodies,
            point_a,
            grains: None,
        });
    }

    /// Raises the contact of grains `grains[0]` and `grains[1]` unless that pair had one:
    /// `sites` are the bonded atom and the ghost of the other grain's atom, both sites of
    /// the first grain, `point_a` the bond's midpoint in the lab and `atoms` the grains' atom
    /// counts. True if raised.
    pub fn raise_grains(
        &mut self,
        grains: [u32; 2],
        sites: [usize; 2],
        atoms: [u64; 2],
        point_a: [f64; 3],
        time_s: f64,
    ) -> bool {
        let key = (grains[0].min(grains[1]), grains[0].max(grains[1]));
        if key.0 == key.1 || !self.seen_grains.insert(key) {
            return false;
        }
        self.total_contacts += 1;
        self.pending.push(Contact {
            time_s,
            kind: ContactKind::Grains,
            site: sites[0],
            other_site: sites[1],
            atoms,
            particles: [None, None],
            point_a,
            grains: Some(grains),
        });
        true
    }

    /// True if grains `a` and `b` have had their contact.
    #[inline]
    pub fn had_grain_contact(&self, a: u32, b: u32) -> bool {
        self.seen_grains.contains(&(a.min(b), a.max(b)))
    }

    /// Updates after an executed site event (`state` already changed).
    pub fn on_event(&mut self, state: &State, ev: &Event, time_s: f64) {
        let lat = state.lattice();
        match *ev {
            Event::Hop { from, to, .. } => {
                let (f, t) = (lat.site_at(from), lat.site_at(to));
                self.on_hop(state, &f, &t, time_s);
            }
            Event::Exchange { from, via, to } => {
                let (f, v, t) = (lat.site_at(from), lat.site_at(via), lat.site_at(to));
                self.on_exchange(state, &f, &v, &t, time_s);
            }
        }
    }

    /// The atom at `from` hopped to `to`.
    pub fn on_hop(&mut self, state: &State, from: &SiteRef, to: &SiteRef, time_s: f64) {
        match (self.is_base(from.idx), self.is_base(to.idx)) {
            (false, false) => {
                let n = self.node_at(from.idx);
                self.set_label(from.idx, NONE);
                self.set_label(to.idx, n);
                self.check_split(state, from);
                self.link(state, to, time_s, true);
            }
            (false, true) => {
                let p = self.detach(from.idx);
                if p != NONE {
                    self.base_particle.insert(to.idx, p);
                }
                self.check_split(state, from);
            }
            (true, false) => {
                let p = self.base_particle.remove(&from.idx).unwrap_or(NONE);
                let n = self.new_node(p);
                self.set_label(to.idx, n);
                self.link(state, to, time_s, true);
            }
            (true, true) => {
                if let Some(p) = self.base_particle.remove(&from.idx) {
                    self.base_particle.insert(to.idx, p);
                }
            }
        }
        self.maybe_compact(state);
    }

    /// Exchange: the atom at `from` took `via`'s place and `via`'s atom went to `to`.
    pub fn on_exchange(
        &mut self,
        state: &State,
        from: &SiteRef,
        via: &SiteRef,
        to: &SiteRef,
        time_s: f64,
    ) {
        let pa = self.particle_of(from.idx).unwrap_or(NONE);
        let pb = self.particle_of(via.idx).unwrap_or(NONE);
        // The new atom first, so that every occupied film site is labelled when the removal
        // below searches the old component.
        if self.is_base(to.idx) {
            if pb != NONE {
                self.base_particle.insert(to.idx, pb);
            }
        } else {
            let n = self.new_node(pb);
            self.set_label(to.idx, n);
            self.link(state, to, time_s, true);
        }
        self.set_identity(via.idx, pa);
        if self.is_base(from.idx) {
            self.base_particle.remove(&from.idx);
        } else {
            self.detach(from.idx);
            self.check_split(state, from);
        }
        self.maybe_compact(state);
    }

    fn set_identity(&mut self, idx: usize, p: u32) {
        let n = self.node_at(idx);
        if n != NONE {
            self.node_particle[n as usize] = p;
        } else if p != NONE {
            self.base_particle.insert(idx, p);
        } else {
            self.base_particle.remove(&idx);
        }
    }

    /// Removes the node of the film atom that left `idx`; returns its particle.
    fn detach(&mut self, idx: usize) -> u32 {
        let n = self.node_at(idx);
        if n == NONE {
            return NONE;
        }
        self.set_label(idx, NONE);
        let r = self.find(n);
        self.size[r as usize] -= 1;
        if self.size[r as usize] == 0 {
            self.components -= 1;
        }
        self.live -= 1;
        self.node_particle[n as usize]
    }

    /// After the film site `from` was vacated: finds and separates detached pieces.
    fn check_split(&mut self, state: &State, from: &SiteRef) {
        let lat = state.lattice();
        let nbrs = &lat.class_tables(from.class).neighbors;
        let mut mask: u16 = 0;
        let mut sites = [usize::MAX; 16];
        for (i, o) in nbrs.iter().enumerate() {
            if let Some(m) = lat.index_at(from, o) {
                if !self.is_base(m) && real(state, m) {
                    mask |= 1 << i;
                    sites[i] = m;
                }
            }
        }
        if mask.count_ones() <= 1 {
            return;
        }
        let adj = &self.ring[from.class as usize];
        let mut groups: Vec<usize> = Vec::new();
        let mut rest = mask;
        while rest != 0 {
            let seed = rest & rest.wrapping_neg();
            let mut g = seed;
            let mut frontier = seed;
            while frontier != 0 {
                let mut next = 0u16;
                let mut f = frontier;
                while f != 0 {
                    let i = f.trailing_zeros() as usize;
                    next |= adj[i];
                    f &= f - 1;
                }
                next &= mask & !g;
                g |= next;
                frontier = next;
            }
            rest &= !g;
            groups.push(sites[seed.trailing_zeros() as usize]);
        }
        if groups.len() > 1 {
            self.separate(state, &groups);
        }
    }

    /// Lockstep breadth-first searches from `reps` (sites of one component): pieces that run
    /// out before meeting another search are split off with fresh nodes.
    fn separate(&mut self, state: &State, reps: &[usize]) {
        let lat = state.lattice();
        let root = self.find(self.node_at(reps[0]));
        let g = reps.len();
        let mut owner: HashMap<usize, usize> = HashMap::new();
        let mut gparent: Vec<usize> = (0..g).collect();
        let mut queues: Vec<VecDeque<usize>> = vec![VecDeque::new(); g];
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); g];
        let mut done = vec![false; g];
        for (k, &r) in reps.iter().enumerate() {
            owner.insert(r, k);
            queues[k].push_back(r);
            members[k].push(r);
        }
        fn groot(p: &mut [usize], mut k: usize) -> usize {
            while p[k] != k {
                p[k] = p[p[k]];
                k = p[k];
            }
            k
        }
        loop {
            let active: Vec<usize> = (0..g).filter(|&k| gparent[k] == k && !done[k]).collect();
            if active.len() <= 1 {
                break;
            }
            for &k in &active {
                if gparent[k] != k || done[k] {
                    continue;
                }
                let Some(site) = queues[k].pop_front() else {
                    // A complete piece: split it off unless it is the last one searching.
                    let still = (0..g).filter(|&j| gparent[j] == j && !done[j]).count();
                    done[k] = true;
                    if still > 1 {
                        let piece = std::mem::take(&mut members[k]);
                        self.split_off(state, root, &piece);
                    }
                    continue;
                };
                let s = lat.site_at(site);
                for o in &lat.class_tables(s.class).neighbors {
                    let Some(m) = lat.index_at(&s, o) else {
                        continue;
                    };
                    let n = self.node_at(m);
                    if n == NONE || self.find(n) != root {
                        continue;
                    }
                    match owner.get(&m) {
                        None => {
                            owner.insert(m, k);
                            queues[k].push_back(m);
                            members[k].push(m);
                        }
                        Some(&h) => {
                            let hr = groot(&mut gparent, h);
                            if hr != k && !done[hr] {
                                gparent[hr] = k;
                                let q = std::mem::take(&mut queues[hr]);
                                queues[k].extend(q);
                                let mm = std::mem::take(&mut members[hr]);
                                members[k].extend(mm);
                            }
                        }
                    }
                }
            }
        }
    }

    fn split_off(&mut self, state: &State, old_root: u32, piece: &[usize]) {
        self.splits += 1;
        let lat = state.lattice();
        let mut head = NONE;
        let mut anchored = false;
        let reach = self.base_layers + lat.max_step_dl();
        for &site in piece {
            let old = self.node_at(site);
            let p = self.node_particle[old as usize];
            let n = self.parent.len() as u32;
            self.parent.push(if head == NONE { n } else { head });
            self.size.push(0);
            self.anchored.push(false);
            self.node_particle.push(p);
            if head == NONE {
                head = n;
            }
            self.set_label(site, n);
            let s = lat.site_at(site);
            if !anchored && (s.l as usize) < reach {
                anchored = lat.class_tables(s.class).neighbors.iter().any(|o| {
                    lat.index_at(&s, o)
                        .is_some_and(|m| m < self.base_off && real(state, m))
                });
            }
        }
        self.size[head as usize] = piece.len() as u32;
        self.anchored[head as usize] = anchored;
        self.size[old_root as usize] -= piece.len() as u32;
        self.components += 1;
    }

    fn maybe_compact(&mut self, state: &State) {
        if self.parent.len() > 2 * self.live + 65_536 {
            self.rebuild(state);
        }
    }

    /// Recomputes the components from the occupancy, keeping the identity of atoms whose site
    /// is still occupied (after changes made outside the KMC loop). Raises no contacts.
    pub fn rebuild(&mut self, state: &State) {
        let ids = self.identities();
        self.rebuild_with(state, ids.into_iter().map(|(s, p)| (s as usize, p)));
    }

    /// Identities `(site, particle)` of every particle atom, by site.
    pub fn identities(&self) -> Vec<(u64, u32)> {
        let mut out: Vec<(u64, u32)> = self
            .label
            .iter()
            .enumerate()
            .filter(|(_, n)| **n != NONE)
            .filter_map(|(k, &n)| {
                let p = self.node_particle[n as usize];
                (p != NONE).then_some(((k + self.base_off) as u64, p))
            })
            .collect();
        out.extend(self.base_particle.iter().map(|(&s, &p)| (s as u64, p)));
        out.sort_unstable();
        out
    }

    /// Replaces identities: `moves` carries the particle of the atom at `from` to `to` (after
    /// `Engine::move_atoms` moved those atoms), then rebuilds.
    pub fn rebuild_moved(&mut self, state: &State, moves: &[(usize, usize)]) {
        let mut ids: HashMap<usize, u32> = self
            .identities()
            .into_iter()
            .map(|(s, p)| (s as usize, p))
            .collect();
        let carried: Vec<(usize, Option<u32>)> =
            moves.iter().map(|&(f, t)| (t, ids.remove(&f))).collect();
        for (t, p) in carried {
            match p {
                Some(p) => {
                    ids.insert(t, p);
                }
                None => {
                    ids.remove(&t);
                }
            }
        }
        let mut v: Vec<(usize, u32)> = ids.into_iter().collect();
        v.sort_unstable();
        self.rebuild_with(state, v.into_iter());
    }

    fn rebuild_with(&mut self, state: &State, ids: impl Iterator<Item = (usize, u32)>) {
        self.rebuilds += 1;
        let lat = state.lattice();
        let n = lat.n_sites();
        self.base_off = self.base_layers.min(lat.layers()) * lat.layer_size();
        self.label.clear();
        self.label.resize(n.saturating_sub(self.base_off), NONE);
        self.parent.clear();
        self.size.clear();
        self.anchored.clear();
        self.node_particle.clear();
        self.base_particle.clear();
        self.live = 0;
        self.components = 0;
        let top = state.top_layer().map_or(0, |t| (t + 1) * lat.layer_size());
        let mut stack = Vec::new();
        for idx in self.base_off..top.max(self.base_off) {
            if !real(state, idx) || self.node_at(idx) != NONE {
                continue;
            }
            let root = self.new_node(NONE);
            self.set_label(idx, root);
            let mut size = 1u32;
            let mut anchored = false;
            stack.push(idx);
            while let Some(site) = stack.pop() {
                let s = lat.site_at(site);
                for o in &lat.class_tables(s.class).neighbors {
                    let Some(m) = lat.index_at(&s, o) else {
                        continue;
                    };
                    if !real(state, m) {
                        continue;
                    }
                    if m < self.base_off {
                        anchored = true;
                    } else if self.node_at(m) == NONE {
                        let k = self.parent.len() as u32;
                        self.parent.push(root);
                        self.size.push(0);
                        self.anchored.push(false);
                        self.node_particle.push(NONE);
                        self.live += 1;
                        self.set_label(m, k);
                        size += 1;
                        stack.push(m);
                    }
                }
            }
            self.size[root as usize] = size;
            self.anchored[root as usize] = anchored;
        }
        for (site, p) in ids {
            if site < n && real(state, site) {
                self.set_identity(site, p);
            }
        }
    }

    /// The tracker's resumable content.
    pub fn snapshot(&self) -> TrackerSnapshot {
        TrackerSnapshot {
            identities: self.identities(),
            particles: self.particles.clone(),
            total_contacts: self.total_contacts,
            pending: self.pending.clone(),
            seen: {
                let mut v: Vec<(u32, u32)> = self.seen.iter().copied().collect();
                v.sort_unstable();
                v
            },
            seen_grains: {
                let mut v: Vec<(u32, u32)> = self.seen_grains.iter().copied().collect();
                v.sort_unstable();
                v
            },
        }
    }

    /// Restores identities, records and counters (the state must be the snapshot's).
    pub fn restore(&mut self, state: &State, snap: &TrackerSnapshot) {
        self.rebuild_with(state, snap.identities.iter().map(|&(s, p)| (s as usize, p)));
        self.particles = snap.particles.clone();
        self.total_contacts = snap.total_contacts;
        self.pending = snap.pending.clone();
        self.seen = snap.seen.iter().copied().collect();
        self.seen_grains = snap.seen_grains.iter().copied().collect();
    }

    /// Sites of every film atom with their component root and particle (`NONE` if none), in
    /// site order; one pass over the tracked sites (for observers).
    pub fn film_atoms_list(&mut self) -> Vec<(usize, u32, u32)> {
        let mut out = Vec::with_capacity(self.live);
        for k in 0..self.label.len() {
            let n = self.label[k];
            if n != NONE {
                let r = self.find(n);
                out.push((k + self.base_off, r, self.node_particle[n as usize]));
            }
        }
        out
    }

    /// Particle atoms inside the substrate layers, `(site, particle)`.
    pub fn substrate_particle_atoms(&self) -> Vec<(usize, u32)> {
        let mut v: Vec<(usize, u32)> = self.base_particle.iter().map(|(&s, &p)| (s, p)).collect();
        v.sort_unstable();
        v
    }

    /// Checks the partition against a from-scratch recomputation (tests and debugging):
    /// true if both group the film atoms identically and the sizes and count agree.
    pub fn verify(&mut self, state: &State) -> bool {
        let mut fresh = self.clone();
        fresh.rebuild(state);
        let mine = self.film_atoms_list();
        let theirs = fresh.film_atoms_list();
        if mine.len() != theirs.len() || self.components != fresh.components {
            return false;
        }
        let mut map: HashMap<u32, u32> = HashMap::new();
        let mut back: HashMap<u32, u32> = HashMap::new();
        for (a, b) in mine.iter().zip(&theirs) {
            if a.0 != b.0 || a.2 != b.2 {
                return false;
            }
            if *map.entry(a.1).or_insert(b.1) != b.1 || *back.entry(b.1).or_insert(a.1) != a.1 {
                return false;
            }
        }
        let mut counts: HashMap<u32, u32> = HashMap::new();
        for a in &mine {
            *counts.entry(a.1).or_insert(0) += 1;
        }
        counts.iter().all(|(&r, &c)| self.size[r as usize] == c)
    }
}

/// Adjacency among the nearest neighbours of a site of class `c`, as 16-bit masks.
fn ring_adjacency(lat: &Lattice, c: u8) -> Vec<u16> {
    let t = lat.class_tables(c);
    let n = t.neighbors.len();
    assert!(n <= 16, "more than 16 nearest neighbours");
    let mut adj = vec![0u16; n];
    for (i, oi) in t.neighbors.iter().enumerate() {
        let ti = lat.class_tables(oi.class);
        for (j, oj) in t.neighbors.iter().enumerate() {
            let d = (oj.dx - oi.dx, oj.dy - oi.dy, oj.dl - oi.dl);
            if i != j && ti.neighbors.iter().any(|o| (o.dx, o.dy, o.dl) == d) {
                adj[i] |= 1 << j;
            }
        }
    }
    adj
}

#[cfg(test)]
mod tests;
