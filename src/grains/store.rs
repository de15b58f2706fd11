//! Several crystals side by side: each grain a [`State`] on its own lattice and a [`Frame`],
//! and the ghosts that show each grain its neighbours (see `docs/grains.md`).
//!
//! **The ghost rule.** Site `s` of grain `g` holds a ghost iff it holds no atom of `g` and some
//! atom of another grain has `s` as its nearest site of `g` (its Wigner–Seitz cell in `g`) and
//! lies within `ghost_radius` of it; the ghost takes the species of the nearest such atom (ties:
//! lowest grain, then lowest site). The rule depends on the atoms' positions only, never on the
//! order of updates, so the incremental [`Grains::apply_changes`] ends where a full
//! [`Grains::rebuild_ghosts`] does, and a resumed run rebuilds the same ghosts.
//!
//! The Wigner–Seitz cell of an FCC site reaches 0.7071 nearest-neighbour distances (the
//! octahedral hole), so the default radius, [`DEFAULT_GHOST_RADIUS_NN`] = 0.71, makes every
//! foreign atom inside a grain's reach a ghost of that grain: a vacant site is no destination
//! when another grain's atom sits in its cell, and an atom's coordination counts each foreign
//! atom whose cell is one of its neighbour sites. A smaller radius (at most 0.71, more than 0)
//! blocks only sites that a foreign atom nearly covers and drops the coordination of atoms
//! farther from the lattice.
//!
//! **Particle grains** sit in a box lattice larger than the particle: every atom of a particle
//! grain must stay [`MAX_RANGE`]` + 1` steps clear of the box's lateral edges and of its bottom
//! and top layers ([`Grains::check_clear`]), so the box's periodic wrap is never seen by a rate
//! model or a ghost. Grain 0, the film, is periodic laterally; lab points of other grains are
//! taken to the periodic image nearest the grain they are compared with.

use super::Frame;
use crate::error::{Error, Result};
use crate::lattice::{Lattice, MAX_RANGE, SiteRef, for_each_site_within, round_near_zero};
use crate::state::{Species, State};
use crate::vec3::{Vec3, add, norm, scale, sub};
use std::collections::BTreeSet;

/// Default ghost radius in nearest-neighbour distances: the whole Wigner–Seitz cell of an FCC
/// site (its farthest point, the octahedral hole, lies at 1/√2 = 0.7071).
pub const DEFAULT_GHOST_RADIUS_NN: f64 = 0.71;

/// Sites added on every side when a particle grain's box is enlarged ([`Grains::rebox`]): a
/// multiple of every stacking period (2 for FCC(100), 3 for FCC(111)), so the shift is a
/// lattice translation, and more than the clearance an atom needs.
pub const REBOX_MARGIN: usize = 12;

/// One crystal: its sites and where they are.
#[derive(Debug, Clone)]
pub struct Grain {
    /// Crystal frame: site positions of `state`'s lattice map to the lab through it.
    pub frame: Frame,
    /// Sites, atoms and ghosts.
    pub state: State,
}

impl Grain {
    /// Lab position of site `idx`.
    pub fn lab_position(&self, idx: usize) -> Vec3 {
        self.frame.to_lab(self.state.lattice().position_of(idx))
    }

    /// Centre of the lattice box in the lab, and the radius of the sphere that holds the box.
    fn bounds(&self) -> (Vec3, f64) {
        let lat = self.state.lattice();
        let [lx, ly] = lat.box_lengths();
        let lz = lat.layers() as f64 * lat.layer_spacing();
        let c = self.frame.to_lab([0.5 * lx, 0.5 * ly, 0.5 * lz]);
        (c, 0.5 * (lx * lx + ly * ly + lz * lz).sqrt())
    }
}

/// How far from an atom a transfer may take it, in nearest-neighbour distances: past the
/// nearest-neighbour shell of a misoriented lattice (whose sites lie at any distance), short
/// of the second shell of FCC (√2).
pub const TRANSFER_REACH_NN: f64 = 1.15;

/// How near an atom a transfer may take it, in nearest-neighbour distances: a transfer is a
/// hop. A shorter move only puts the atom from one lattice onto the other where it already
/// sits between them; it shares almost every bond, so it and its reverse would run at
/// nearly the attempt frequency and flip the atom back and forth (measured on
/// two_au_grains: 99.9 % of events, simulated time 2e5 times shorter), while the atom's
/// true place between the lattices is the contact stage's to find.
pub const TRANSFER_MIN_NN: f64 = 0.8;

/// How far from an atom its transfers read, in nearest-neighbour distances: the destination
/// ([`TRANSFER_REACH_NN`]), its neighbours (one more) and the atoms whose cells those
/// neighbours are (0.71 more), rounded up. A change this close to an atom of another grain
/// refreshes that atom's rate even when no ghost of it moves.
pub const TRANSFER_READ_NN: f64 = 3.0;

/// A site of another grain closer than this (in nearest-neighbour distances) to a site of
/// the atom's own grain stands for that site: where two lattices coincide (an aligned
/// grain, a coincidence site) a move there is a hop of the atom's own grain, and counting it
/// again as a transfer would double its rate.
pub const TRANSFER_DISTINCT_NN: f64 = 0.2;

/// A site of another grain an atom may move to ([`Grains::transfer_sites`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferSite {
    /// The grain.
    pub grain: usize,
    /// The site of that grain.
    pub site: usize,
    /// Occupied neighbours the atom would have there (ghosts count, its own ghost not).
    pub coordination: usize,
    /// Bit k set: the atom's occupied neighbour in direction k of its own site lies within
    /// [`TRANSFER_REACH_NN`] of the destination, so that bond need not break (a real
    /// neighbour by its site, a ghost by the site standing for its atom).
    pub shared: u32,
}

/// What [`Grains::regrain`] changed besides the atoms it was told to move.
#[derive(Debug, Clone, Default)]
pub struct RegrainOutcome {
    /// Re-boxed grains, each with the new index of every old site.
    pub reboxed: Vec<(usize, Vec<usize>)>,
    /// Sites of the grains not re-boxed whose ghost changed.
    pub ghosts: Vec<(usize, usize)>,
    /// The placements, in the final site numbers.
    pub placed: Vec<(usize, usize, Species)>,
}

/// The grains of a simulation: grain 0 the film on the global (laterally periodic) lattice,
/// then the particle grains.
#[derive(Debug, Clone)]
pub struct Grains {
    grains: Vec<Grain>,
    ghost_radius_a: f64,
    /// Reach of a Wigner–Seitz cell: no foreign atom farther than this from a site can have
    /// it as its nearest site.
    cell_reach_a: f64,
}

impl Grains {
    /// Grains with the film `film` as grain 0 (identity frame); `ghost_radius_nn` in
    /// nearest-neighbour distances, in (0, 0.71].
    pub fn new(film: State, ghost_radius_nn: f64) -> Result<Self> {
        if !(ghost_radius_nn > 0.0 && ghost_radius_nn <= DEFAULT_GHOST_RADIUS_NN) {
            return Err(Error::field(
                "grains.ghost_radius_nn",
                format!(
                    "{ghost_radius_nn} is outside (0, {DEFAULT_GHOST_RADIUS_NN}]: beyond the \
                     Wigner–Seitz cell a foreign atom has a nearer site"
                ),
            ));
        }
        let nn = film.lattice().nn_distance();
        Ok(Grains {
            grains: vec![Grain {
                frame: Frame::default(),
                state: film,
            }],
            ghost_radius_a: ghost_radius_nn * nn,
            cell_reach_a: DEFAULT_GHOST_RADIUS_NN * nn,
        })
    }

    /// The film alone, with the default ghost radius (what an atom-only run holds).
    pub fn single(film: State) -> Self {
        let nn = film.lattice().nn_distance();
        Grains {
            grains: vec![Grain {
                frame: Frame::default(),
                state: film,
            }],
            ghost_radius_a: DEFAULT_GHOST_RADIUS_NN * nn,
            cell_reach_a: DEFAULT_GHOST_RADIUS_NN * nn,
        }
    }

    /// Ghost radius, Å.
    pub fn ghost_radius_a(&self) -> f64 {
        self.ghost_radius_a
    }

    /// Number of grains (the film included).
    pub fn len(&self) -> usize {
        self.grains.len()
    }

    /// Always false: grain 0 exists.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Grain `g`.
    pub fn grain(&self, g: usize) -> &Grain {
        &self.grains[g]
    }

    /// The sites of grain `g`, to change its atoms; call [`Grains::apply_changes`] with the
    /// changed sites afterwards.
    pub fn state_mut(&mut self, g: usize) -> &mut State {
        &mut self.grains[g].state
    }

    /// Adds a particle grain (atoms already placed in `state`, whose lattice must be of the
    /// film's kind and constant) with frame `frame`, writes its ghosts and those it casts, and
    /// returns its number with the sites of every grain whose ghost changed.
    pub fn add(&mut self, state: State, frame: Frame) -> Result<(usize, Vec<(usize, usize)>)> {
        let film = self.grains[0].state.lattice();
        let lat = state.lattice();
        if !same_lattice(lat, film) {
            return Err(Error::Simulation(format!(
                "a grain of {:?} a = {} Å next to a film of {:?} a = {} Å",
                lat.kind(),
                lat.lattice_constant(),
                film.kind(),
                film.lattice_constant()
            )));
        }
        let g = self.grains.len();
        self.grains.push(Grain { frame, state });
        let atoms: Vec<usize> = occupied(&self.grains[g].state);
        if let Err(e) = self.check_clear(g, &atoms) {
            self.grains.pop();
            return Err(e);
        }
        // Its own sites may be covered by atoms of grains that were there first.
        let mut changed = self.receive(g);
        changed.extend(self.cast(g, &atoms));
        Ok((g, changed))
    }

    /// Checks that the atoms `sites` of a particle grain `g` stay clear of its box's edges.
    pub fn check_clear(&self, g: usize, sites: &[usize]) -> Result<()> {
        if g == 0 {
            return Ok(());
        }
        let lat = self.grains[g].state.lattice();
        for &idx in sites {
            let s = lat.site_at(idx);
            if self.grains[g].state.cell(idx).occupied()
                && !lat.shell_is_interior(&s, MAX_RANGE + 1)
            {
                return Err(Error::Simulation(format!(
                    "an atom of grain {g} at site ({}, {}, {}) is within {} steps of its box's edge",
                    s.x,
                    s.y,
                    s.l,
                    MAX_RANGE + 1
                )));
            }
        }
        Ok(())
    }

    /// After the sites `changed` of grain `h` changed occupancy or species (through
    /// [`Grains::state_mut`]), updates the ghosts so they follow the rule, and returns every
    /// `(grain, site)` whose ghost appeared, vanished or changed species — the sites around
    /// which rates must be refreshed, besides `changed` themselves.
    pub fn apply_changes(&mut self, h: usize, changed: &[usize]) -> Result<Vec<(usize, usize)>> {
        self.check_clear(h, changed)?;
        let mut out = Vec::new();
        for &c in changed {
            // A site an atom left may now be covered by another grain's atom.
            if !self.grains[h].state.cell(c).occupied() || self.grains[h].state.is_ghost(c) {
                let p = self.grains[h].lab_position(c);
                if self.near_other_grain(h, p) && self.refresh(h, c) {
                    out.push((h, c));
                }
            }
        }
        out.extend(self.cast(h, changed));
        Ok(out)
    }

    /// The real atoms of grains other than `h` within `r` Å of the sites `changed` of `h`,
    /// as sorted `(grain, site)`: the atoms whose transfers may read those sites (see
    /// [`TRANSFER_READ_NN`]); a change need not move any ghost of theirs.
    pub fn atoms_near(&self, h: usize, changed: &[usize], r: f64) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for &c in changed {
            let p = self.grains[h].lab_position(c);
            for g in 0..self.grains.len() {
                if g == h {
                    continue;
                }
                if !self.reaches(g, p, r) {
                    continue;
                }
                let st = &self.grains[g].state;
                self.sites_near(g, p, r, &mut |s, _| {
                    if st.cell(s.idx).occupied() && !st.is_ghost(s.idx) {
                        out.push((g, s.idx));
                    }
                });
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Compares every ghost with a rebuild from the rule (tests and debugging: the
    /// incremental updates must end where a rebuild does); the first differences if not.
    pub fn check_ghosts(&self) -> std::result::Result<(), String> {
        let mut c = self.clone();
        c.rebuild_ghosts();
        let (a, b): (BTreeSet<_>, BTreeSet<_>) = (
            self.ghost_list().into_iter().collect(),
            c.ghost_list().into_iter().collect(),
        );
        if a == b {
            return Ok(());
        }
        let extra: Vec<_> = a.difference(&b).take(5).collect();
        let missing: Vec<_> = b.difference(&a).take(5).collect();
        Err(format!(
            "ghosts (grain, site, species) not in a rebuild: {extra:?}; missing: {missing:?}"
        ))
    }

    /// Removes every ghost and writes them again from the rule (after a restore or a bulk
    /// change); returns the number of ghost sites.
    pub fn rebuild_ghosts(&mut self) -> usize {
        for grain in &mut self.grains {
            for idx in grain.state.ghost_sites() {
                let s = grain.state.lattice().site_at(idx);
                grain.state.remove_ghost(&s);
            }
        }
        for g in 1..self.grains.len() {
            let atoms = occupied(&self.grains[g].state);
            self.receive(g);
            self.cast(g, &atoms);
        }
        self.grains.iter().map(|g| g.state.n_ghosts()).sum()
    }

    /// Makes every site of particle grain `g` that an atom of another grain could cover
    /// follow the ghost rule (a site no foreign atom comes within a cell's reach of holds no
    /// ghost, so only those are visited); returns the sites whose ghost changed.
    fn receive(&mut self, g: usize) -> Vec<(usize, usize)> {
        let (c, rad) = self.grains[g].bounds();
        let reach = rad + self.cell_reach_a;
        let [lx, ly] = self.grains[0].state.lattice().box_lengths();
        let mut foreign: Vec<Vec3> = Vec::new();
        {
            // Film atoms in the columns under and around the box.
            let st = &self.grains[0].state;
            let lat = st.lattice();
            let ls = lat.layer_size();
            let h = lat.layer_spacing();
            let slack = lat.nn_distance();
            let (l0, l1) = (
                ((c[2] - reach) / h).floor().max(0.0) as usize,
                ((c[2] + reach) / h).ceil().max(0.0) as usize,
            );
            for (col, &top) in st.column_tops().iter().enumerate() {
                if top < 0 || (top as usize) < l0 {
                    continue;
                }
                let p = lat.position_of(col);
                let dx = p[0] - c[0] - lx * ((p[0] - c[0]) / lx).round();
                let dy = p[1] - c[1] - ly * ((p[1] - c[1]) / ly).round();
                if dx.hypot(dy) > reach + slack {
                    continue;
                }
                for l in l0..=l1.min(top as usize) {
                    let idx = l * ls + col;
                    if st.cell(idx).occupied() && !st.is_ghost(idx) {
                        foreign.push(lat.position_of(idx));
                    }
                }
            }
        }
        for h in 1..self.grains.len() {
            if h == g {
                continue;
            }
            let (ch, rh) = self.grains[h].bounds();
            let dx = ch[0] - c[0] - lx * ((ch[0] - c[0]) / lx).round();
            let dy = ch[1] - c[1] - ly * ((ch[1] - c[1]) / ly).round();
            if (dx * dx + dy * dy + (ch[2] - c[2]).powi(2)).sqrt() > reach + rh {
                continue;
            }
            for idx in occupied(&self.grains[h].state) {
                foreign.push(self.grains[h].lab_position(idx));
            }
        }
        let mut cand = Vec::new();
        for p in foreign {
            self.sites_near(g, p, self.cell_reach_a, &mut |s, _| cand.push(s.idx));
        }
        self.refresh_sites(g, cand)
    }

    /// The sites of grain `g` within `r` of lab point `p` or of any of its periodic images
    /// (the film repeats laterally, so a particle grain whose box is wider than the film's
    /// period meets one film atom more than once), with their distances.
    fn sites_near(&self, g: usize, p: Vec3, r: f64, f: &mut impl FnMut(SiteRef, f64)) {
        let grain = &self.grains[g];
        let lat = grain.state.lattice();
        if g == 0 {
            // The film's lattice wraps by itself.
            for_each_site_within(lat, p, r, |s, _, d2| f(s, d2.sqrt()));
            return;
        }
        let [lx, ly] = lat.box_lengths();
        let lz = (lat.layers() - 1) as f64 * lat.layer_spacing();
        for image in self.images(g, p, r) {
            let q = grain.frame.to_crystal(image);
            if q[0] < -r
                || q[1] < -r
                || q[2] < -r
                || q[0] > lx + r
                || q[1] > ly + r
                || q[2] > lz + r
            {
                continue;
            }
            // The box's own wrap is no physical image: keep true distances only.
            for_each_site_within(lat, q, r, |s, _, _| {
                let d = norm(sub(lat.position(&s), q));
                if d <= r {
                    f(s, d);
                }
            });
        }
    }

    /// The periodic images of lab point `p` (lateral shifts by the film's period) within `r`
    /// of particle grain `g`'s box.
    fn images(&self, g: usize, p: Vec3, r: f64) -> Vec<Vec3> {
        let [lx, ly] = self.grains[0].state.lattice().box_lengths();
        let (c, rad) = self.grains[g].bounds();
        let reach = rad + r;
        let span = |pc: f64, cc: f64, l: f64| {
            (
                ((cc - reach - pc) / l).ceil() as i64,
                ((cc + reach - pc) / l).floor() as i64,
            )
        };
        let (i0, i1) = span(p[0], c[0], lx);
        let (j0, j1) = span(p[1], c[1], ly);
        let mut v = Vec::new();
        for i in i0..=i1 {
            for j in j0..=j1 {
                let q = [p[0] + i as f64 * lx, p[1] + j as f64 * ly, p[2]];
                if norm(sub(q, c)) <= reach {
                    v.push(q);
                }
            }
        }
        v
    }

    /// `q` moved by whole film periods to its image nearest `p`.
    fn image_nearest(&self, q: Vec3, p: Vec3) -> Vec3 {
        let [lx, ly] = self.grains[0].state.lattice().box_lengths();
        [
            q[0] - lx * round_near_zero((q[0] - p[0]) / lx),
            q[1] - ly * round_near_zero((q[1] - p[1]) / ly),
            q[2],
        ]
    }

    /// True if some grain other than `g` could have an atom within a cell's reach of `p`.
    fn near_other_grain(&self, g: usize, p: Vec3) -> bool {
        (0..self.grains.len()).any(|h| h != g && self.within_reach(h, p))
    }

    fn within_reach(&self, h: usize, p: Vec3) -> bool {
        if h == 0 {
            let lat = self.grains[0].state.lattice();
            let top = lat.layers() as f64 * lat.layer_spacing();
            return p[2] > -self.cell_reach_a && p[2] < top + self.cell_reach_a;
        }
        !self.images(h, p, self.cell_reach_a).is_empty()
    }

    /// True if grain `h`'s lattice could hold a site within `r` of lab point `p` (the film:
    /// its allocated layers; a particle grain: its box, for some periodic image of `p`).
    fn reaches(&self, h: usize, p: Vec3, r: f64) -> bool {
        if h == 0 {
            let lat = self.grains[0].state.lattice();
            p[2] > -r && p[2] < lat.layers() as f64 * lat.layer_spacing() + r
        } else {
            !self.images(h, p, r).is_empty()
        }
    }

    /// The nearest site of grain `g` to the lab point `p` itself (the film: to any image; a
    /// particle grain: to `p` only) and its distance (ties: lowest index).
    fn nearest_site(&self, g: usize, p: Vec3) -> Option<(usize, f64)> {
        let mut best: Option<(usize, f64)> = None;
        let mut consider = |s: SiteRef, d: f64| {
            if best.is_none_or(|(i, bd)| d < bd || (d == bd && s.idx < i)) {
                best = Some((s.idx, d));
            }
        };
        let grain = &self.grains[g];
        let lat = grain.state.lattice();
        let r = self.cell_reach_a;
        if g == 0 {
            for_each_site_within(lat, p, r, |s, _, d2| consider(s, d2.sqrt()));
        } else {
            let q = grain.frame.to_crystal(p);
            for_each_site_within(lat, q, r, |s, _, _| {
                let d = norm(sub(lat.position(&s), q));
                if d <= r {
                    consider(s, d);
                }
            });
        }
        best
    }

    /// For each atom site `c` of grain `h` (occupied or just vacated), refreshes the site of
    /// every other grain that the atom's position falls in.
    fn cast(&mut self, h: usize, sites: &[usize]) -> Vec<(usize, usize)> {
        let cand = self.cast_sites(h, sites);
        self.refresh_pairs(cand)
    }

    /// Makes the `(grain, site)` pairs `cand` follow the ghost rule; returns those whose ghost
    /// changed, sorted.
    fn refresh_pairs(&mut self, mut cand: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
        cand.sort_unstable();
        cand.dedup();
        cand.into_iter()
            .filter(|&(g, s)| self.refresh(g, s))
            .collect()
    }

    /// The sites of other grains whose cell the positions of sites `sites` of grain `h` could
    /// fall in, sorted: every site whose ghost an atom there casts, or cast before it left.
    fn cast_sites(&self, h: usize, sites: &[usize]) -> Vec<(usize, usize)> {
        let mut cand = Vec::new();
        for &c in sites {
            let p = self.grains[h].lab_position(c);
            for g in 0..self.grains.len() {
                if g == h || !self.within_reach(g, p) {
                    continue;
                }
                self.sites_near(g, p, self.cell_reach_a, &mut |s, _| cand.push((g, s.idx)));
            }
        }
        cand.sort_unstable();
        cand.dedup();
        cand
    }

    /// Moves particle grain `g` rigidly to `frame` (its atoms keep their sites): the ghosts
    /// it cast where it was and casts where it is now, and those it receives, follow the rule.
    /// Returns every `(grain, site)` whose ghost appeared, vanished or changed species.
    pub fn move_grain(&mut self, g: usize, frame: Frame) -> Vec<(usize, usize)> {
        assert!(
            g > 0 && g < self.grains.len(),
            "grain {g} is no particle grain"
        );
        let atoms = occupied(&self.grains[g].state);
        let mut cand = self.cast_sites(g, &atoms);
        let shift = sub(frame.origin, self.grains[g].frame.origin);
        // A move along the surface at the same height (up to rounding): the film looks the same
        // from where it lands, but where it differs one step behind.
        if frame.rotation == self.grains[g].frame.rotation && shift[2].abs() < 1e-9 {
            // Sites of g that other particles' atoms cover, before and after.
            let near = self.particle_atoms_near(g, shift);
            let mut own = self.covered_sites(g, &near);
            self.grains[g].frame = frame;
            own.extend(self.covered_sites(g, &near));
            cand.extend(self.cast_sites(g, &atoms));
            let mut out = self.refresh_pairs(cand);
            out.extend(self.receive_shifted(g, shift, own));
            out.sort_unstable();
            out.dedup();
            return out;
        }
        let before: Vec<(usize, Species)> = {
            let st = &mut self.grains[g].state;
            let mut v: Vec<(usize, Species)> = st
                .ghost_sites()
                .into_iter()
                .map(|i| (i, st.species(i)))
                .collect();
            v.sort_unstable();
            for &(i, _) in &v {
                let s = st.lattice().site_at(i);
                st.remove_ghost(&s);
            }
            v
        };
        self.grains[g].frame = frame;
        cand.extend(self.cast_sites(g, &atoms));
        let mut out = self.refresh_pairs(cand);
        self.receive(g);
        let st = &self.grains[g].state;
        let mut after: Vec<(usize, Species)> = st
            .ghost_sites()
            .into_iter()
            .map(|i| (i, st.species(i)))
            .collect();
        after.sort_unstable();
        let before: BTreeSet<_> = before.into_iter().collect();
        let after: BTreeSet<_> = after.into_iter().collect();
        out.extend(before.symmetric_difference(&after).map(|&(i, _)| (g, i)));
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The lab positions of the atoms of particle grains other than `g` whose boxes come
    /// within a cell's reach of `g`'s box, where it is or `shift` away.
    fn particle_atoms_near(&self, g: usize, shift: Vec3) -> Vec<Vec3> {
        let [lx, ly] = self.grains[0].state.lattice().box_lengths();
        let (c0, r) = self.grains[g].bounds();
        let c1 = add(c0, shift);
        let mut out = Vec::new();
        for h in (1..self.grains.len()).filter(|&h| h != g) {
            let (ch, rh) = self.grains[h].bounds();
            let near = [c0, c1].iter().any(|c| {
                let dx = ch[0] - c[0] - lx * ((ch[0] - c[0]) / lx).round();
                let dy = ch[1] - c[1] - ly * ((ch[1] - c[1]) / ly).round();
                (dx * dx + dy * dy + (ch[2] - c[2]).powi(2)).sqrt()
                    <= r + rh + 2.0 * self.cell_reach_a
            });
            if near {
                out.extend(
                    occupied(&self.grains[h].state)
                        .into_iter()
                        .map(|i| self.grains[h].lab_position(i)),
                );
            }
        }
        out
    }

    /// The sites of grain `g` within a cell's reach of the lab points `points`.
    fn covered_sites(&self, g: usize, points: &[Vec3]) -> Vec<usize> {
        let mut out = Vec::new();
        for &p in points {
            self.sites_near(g, p, self.cell_reach_a, &mut |s, _| out.push(s.idx));
        }
        out
    }

    /// After particle grain `g` moved by `shift`, a vector of the film's lattice: a film atom
    /// at `p` now stands to `g` as the film atom at `p − shift` stood before, so `g`'s ghosts
    /// are what they were except near film sites whose atom differs from the one `shift`
    /// behind and at `others`, the sites other particles' atoms covered before or cover now;
    /// those sites are brought to the rule (the others equal it up to rounding, which decides
    /// only exact ties of distance). Returns the sites of `g` whose ghost changed.
    fn receive_shifted(
        &mut self,
        g: usize,
        shift: Vec3,
        others: Vec<usize>,
    ) -> Vec<(usize, usize)> {
        let (c, rad) = self.grains[g].bounds();
        let reach = rad + self.cell_reach_a;
        let mut cand = others;
        {
            let st = &self.grains[0].state;
            let lat = st.lattice();
            let [lx, ly] = lat.box_lengths();
            let ls = lat.layer_size();
            let h = lat.layer_spacing();
            let slack = lat.nn_distance();
            let l0 = ((c[2] - reach) / h).floor().max(0.0) as usize;
            // Above the highest atom every site is empty before and after.
            let top = st.column_tops().iter().copied().max().unwrap_or(-1).max(0) as usize;
            let l1 = (((c[2] + reach) / h).ceil().max(0.0) as usize).min(top);
            let atom = |i: usize| {
                let cell = st.cell(i);
                if cell.occupied() && !st.is_ghost(i) {
                    cell.species()
                } else {
                    0
                }
            };
            for col in 0..ls {
                let p = lat.position_of(col);
                let dx = p[0] - c[0] - lx * ((p[0] - c[0]) / lx).round();
                let dy = p[1] - c[1] - ly * ((p[1] - c[1]) / ly).round();
                if dx.hypot(dy) > reach + slack {
                    continue;
                }
                for l in l0..=l1 {
                    let t = lat.site_at(l * ls + col);
                    let pt = lat.position(&t);
                    // The site `shift` behind: an in-plane neighbour.
                    let behind = lat.neighbors(&t).find(|(_, n)| {
                        let mut d = sub(lat.position(n), pt);
                        d[0] -= lx * round_near_zero(d[0] / lx);
                        d[1] -= ly * round_near_zero(d[1] / ly);
                        norm(add(d, shift)) < 1e-6
                    });
                    let before = behind.map_or(u8::MAX, |(_, n)| atom(n.idx));
                    if before != atom(t.idx) {
                        self.sites_near(g, pt, self.cell_reach_a, &mut |s, _| cand.push(s.idx));
                    }
                }
            }
        }
        self.refresh_sites(g, cand)
    }

    /// Bonds of particle grain `g`'s atoms to other grains' atoms, as its rate model counts
    /// them (a ghost on a neighbour site of an atom is one bond): `(to substrate atoms, to
    /// everything else)`, the substrate being the film's bottom `substrate_layers` layers.
    pub fn body_bonds(&self, g: usize, substrate_layers: usize) -> (u32, u32) {
        let st = &self.grains[g].state;
        let lat = st.lattice();
        let film_layer = self.grains[0].state.lattice().layer_size();
        let (mut sub_b, mut other) = (0u32, 0u32);
        for idx in st.ghost_sites() {
            let s = lat.site_at(idx);
            let c = lat
                .neighbors(&s)
                .filter(|(_, n)| st.cell(n.idx).occupied() && !st.is_ghost(n.idx))
                .count() as u32;
            if c == 0 {
                continue;
            }
            match self.ghost_source(g, idx) {
                Some((0, t)) if t / film_layer < substrate_layers => sub_b += c,
                Some(_) => other += c,
                None => {}
            }
        }
        (sub_b, other)
    }

    /// Centre of particle grain `g`'s atoms in the lab (its frame's origin if it has none).
    pub fn centre(&self, g: usize) -> Vec3 {
        let atoms = occupied(&self.grains[g].state);
        if atoms.is_empty() {
            return self.grains[g].frame.origin;
        }
        let mut c = [0.0; 3];
        for &i in &atoms {
            c = add(c, self.grains[g].lab_position(i));
        }
        scale(c, 1.0 / atoms.len() as f64)
    }

    /// The in-plane nearest-neighbour vectors of the film's surface (the steps of a particle
    /// gliding on it), in a fixed order.
    pub fn surface_steps(&self) -> Vec<Vec3> {
        let lat = self.grains[0].state.lattice();
        let [lx, ly] = lat.box_lengths();
        let s = lat.site(2, 2, 2.min(lat.layers() - 1));
        let p = lat.position(&s);
        let mut v: Vec<Vec3> = lat
            .neighbors(&s)
            .filter(|(_, n)| n.l == s.l)
            .map(|(_, n)| {
                let mut d = sub(lat.position(&n), p);
                d[0] -= lx * round_near_zero(d[0] / lx);
                d[1] -= ly * round_near_zero(d[1] / ly);
                d[2] = 0.0;
                d
            })
            .collect();
        v.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        v.dedup();
        v
    }

    /// How far particle grain `g` must rise (positive) or sink to rest on what lies under it,
    /// if it sat at `frame`: the vertical shift after which its nearest pair with another
    /// grain's atom, among pairs closer laterally than `contact_a`, is `contact_a` apart.
    /// `None` if that shift is a rise of more than `max_lift_a` (the body would run into
    /// something) or nothing lies under it.
    pub fn resting_shift(
        &self,
        g: usize,
        frame: Frame,
        contact_a: f64,
        max_lift_a: f64,
    ) -> Option<f64> {
        let st = &self.grains[g].state;
        let lat = st.lattice();
        // Only atoms with a missing neighbour can meet anything.
        let surface: Vec<Vec3> = occupied(st)
            .into_iter()
            .filter(|&i| {
                let s = lat.site_at(i);
                lat.neighbors(&s)
                    .any(|(_, n)| !st.cell(n.idx).occupied() || st.is_ghost(n.idx))
            })
            .map(|i| frame.to_lab(lat.position_of(i)))
            .collect();
        let r = 2.0 * contact_a;
        let c2 = contact_a * contact_a;
        let others: Vec<usize> = {
            let mut c = [0.0; 3];
            for p in &surface {
                c = add(c, *p);
            }
            let c = scale(c, 1.0 / surface.len().max(1) as f64);
            let rad = surface.iter().map(|p| norm(sub(*p, c))).fold(0.0, f64::max);
            (0..self.grains.len())
                .filter(|&h| h != g && self.reaches(h, c, rad + r))
                .collect()
        };
        let mut best: Option<f64> = None;
        for &p in &surface {
            for &h in &others {
                let sh = &self.grains[h].state;
                self.sites_near(h, p, r, &mut |t, _| {
                    if !sh.cell(t.idx).occupied() || sh.is_ghost(t.idx) {
                        return;
                    }
                    let q = self.image_nearest(self.grains[h].lab_position(t.idx), p);
                    let rho2 = (q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2);
                    if rho2 < c2 {
                        let dz = q[2] + (c2 - rho2).sqrt() - p[2];
                        if best.is_none_or(|b| dz > b) {
                            best = Some(dz);
                        }
                    }
                });
            }
        }
        // An atom outside the spheres searched lies more than √(r² − c²) above or below the
        // surface atom it is under: it could set a shift no larger than c − √(r² − c²).
        let unseen = contact_a - (r * r - c2).sqrt();
        let shift = match best {
            Some(dz) if dz >= unseen => Some(dz),
            _ => {
                // The body would sink farther than the search reaches: lower it from where it
                // is over everything under it.
                let n = surface.len().max(1) as f64;
                let axis = [
                    surface.iter().map(|p| p[0]).sum::<f64>() / n,
                    surface.iter().map(|p| p[1]).sum::<f64>() / n,
                ];
                let offsets: Vec<Vec3> = surface
                    .iter()
                    .map(|p| [p[0] - axis[0], p[1] - axis[1], p[2]])
                    .collect();
                self.first_contact_skip(&offsets, axis, contact_a, true, Some(g))
                    .map(|b| b.0)
            }
        }?;
        (shift <= max_lift_a).then_some(shift)
    }

    /// Makes the sites `cand` of grain `g` follow the ghost rule; returns those whose ghost
    /// changed, sorted.
    fn refresh_sites(&mut self, g: usize, mut cand: Vec<usize>) -> Vec<(usize, usize)> {
        cand.sort_unstable();
        cand.dedup();
        cand.into_iter()
            .filter(|&s| self.refresh(g, s))
            .map(|s| (g, s))
            .collect()
    }

    /// Makes site `s` of grain `g` follow the ghost rule; true if its ghost changed.
    fn refresh(&mut self, g: usize, s: usize) -> bool {
        let cell = self.grains[g].state.cell(s);
        let is_ghost = self.grains[g].state.is_ghost(s);
        if cell.occupied() && !is_ghost {
            return false;
        }
        let want = self.ghost_species(g, s);
        let have = if is_ghost { cell.species() } else { 0 };
        if want == have {
            return false;
        }
        let site = self.grains[g].state.lattice().site_at(s);
        let st = &mut self.grains[g].state;
        if is_ghost {
            st.remove_ghost(&site);
        }
        if want != 0 {
            st.place_ghost(&site, want);
        }
        true
    }

    /// The species the rule puts on site `s` of grain `g` (0: no ghost).
    fn ghost_species(&self, g: usize, s: usize) -> Species {
        self.ghost_rule(g, s).map_or(0, |b| b.3)
    }

    /// The atom whose ghost site `s` of grain `g` holds by the rule: `(grain, site)`, or
    /// `None` if the rule puts no ghost there.
    pub fn ghost_source(&self, g: usize, s: usize) -> Option<(usize, usize)> {
        self.ghost_rule(g, s).map(|b| (b.1, b.2))
    }

    /// The nearest atom of another grain that has site `s` of grain `g` as its nearest site
    /// within the ghost radius: `(distance, grain, site, species)`.
    fn ghost_rule(&self, g: usize, s: usize) -> Option<(f64, usize, usize, Species)> {
        self.ghost_rule_without(g, s, None)
    }

    /// [`Grains::ghost_rule`] as if the atom `skip` `(grain, site)` were not there.
    fn ghost_rule_without(
        &self,
        g: usize,
        s: usize,
        skip: Option<(usize, usize)>,
    ) -> Option<(f64, usize, usize, Species)> {
        let p = self.grains[g].lab_position(s);
        let mut best: Option<(f64, usize, usize, Species)> = None;
        for h in 0..self.grains.len() {
            if h == g || !self.within_reach(h, p) {
                continue;
            }
            let mut atoms = Vec::new();
            self.sites_near(h, p, self.ghost_radius_a, &mut |t, d| {
                atoms.push((t.idx, d))
            });
            for (t, d) in atoms {
                let st = &self.grains[h].state;
                if !st.cell(t).occupied() || st.is_ghost(t) || skip == Some((h, t)) {
                    continue;
                }
                let q = self.image_nearest(self.grains[h].lab_position(t), p);
                if self.nearest_site(g, q).map(|(i, _)| i) != Some(s) {
                    continue;
                }
                let key = (d, h, t, st.species(t));
                if best.is_none_or(|b| (key.0, key.1, key.2) < (b.0, b.1, b.2)) {
                    best = Some(key);
                }
            }
        }
        best
    }

    /// Every ghost as `(grain, site, species)`, sorted (to compare before and after a bulk
    /// change).
    fn ghost_list(&self) -> Vec<(usize, usize, Species)> {
        let mut v = Vec::new();
        for (g, grain) in self.grains.iter().enumerate() {
            for idx in grain.state.ghost_sites() {
                v.push((g, idx, grain.state.species(idx)));
            }
        }
        v.sort_unstable();
        v
    }

    /// A bulk change, as a contact stage makes it: the atoms at `removed` `(grain, site)` are
    /// taken off, particle grains get the new `frames`, and atoms are put at `placed`
    /// `(grain, site, species)` (sites of the film beyond its layers must have been allocated;
    /// a site may hold a ghost, which yields). A particle grain whose new atoms come near its
    /// box's edge is re-boxed. Ghosts are rewritten by the rule.
    ///
    /// Returns the re-boxed grains with the new index of each old site (callers renumber
    /// what they keep per site; `placed` is given in old numbers) and the `(grain, site)` of
    /// every ghost that appeared, vanished or changed species in the grains not re-boxed.
    pub fn regrain(
        &mut self,
        frames: &[(usize, Frame)],
        removed: &[(usize, usize)],
        placed: &[(usize, usize, Species)],
    ) -> Result<RegrainOutcome> {
        let n = self.grains.len();
        let bad = |g: usize, idx: usize, what: &str| {
            Error::Simulation(format!("regrain: site {idx} of grain {g} {what}"))
        };
        for &(g, idx) in removed {
            if g >= n || idx >= self.grains[g].state.lattice().n_sites() {
                return Err(bad(g, idx, "does not exist"));
            }
            let st = &self.grains[g].state;
            if !st.cell(idx).occupied() || st.is_ghost(idx) {
                return Err(bad(g, idx, "holds no atom to remove"));
            }
        }
        for &(g, f) in frames {
            if g == 0 || g >= n {
                return Err(Error::Simulation(format!(
                    "regrain: grain {g} is no particle grain; only those turn"
                )));
            }
            if f.rotation.iter().chain(&f.origin).any(|c| !c.is_finite()) {
                return Err(Error::Simulation(format!(
                    "regrain: the new frame of grain {g} is not finite"
                )));
            }
        }
        let before = self.ghost_list();
        for &(g, idx) in removed {
            let s = self.grains[g].state.lattice().site_at(idx);
            self.grains[g].state.remove(&s);
        }
        for &(g, f) in frames {
            self.grains[g].frame = f;
        }
        // Re-box first where a new atom would come near the edge, then place.
        let mut placed: Vec<(usize, usize, Species)> = placed.to_vec();
        let mut reboxed: Vec<(usize, Vec<usize>)> = Vec::new();
        for g in 1..n {
            let lat = self.grains[g].state.lattice();
            let near_edge = placed.iter().any(|&(h, idx, _)| {
                h == g
                    && (idx >= lat.n_sites()
                        || !lat.shell_is_interior(&lat.site_at(idx), MAX_RANGE + 1))
            });
            if near_edge {
                let map = self.rebox(g)?;
                for p in placed.iter_mut().filter(|p| p.0 == g) {
                    p.1 = *map.get(p.1).ok_or_else(|| bad(g, p.1, "does not exist"))?;
                }
                reboxed.push((g, map));
            }
        }
        for &(g, idx, sp) in &placed {
            if g >= n || idx >= self.grains[g].state.lattice().n_sites() {
                return Err(bad(g, idx, "does not exist"));
            }
            let st = &mut self.grains[g].state;
            let s = st.lattice().site_at(idx);
            if st.is_ghost(idx) {
                st.remove_ghost(&s);
            }
            if st.cell(idx).occupied() {
                return Err(bad(g, idx, "is taken twice"));
            }
            st.place(&s, sp);
        }
        for g in 1..n {
            let atoms: Vec<usize> = placed.iter().filter(|p| p.0 == g).map(|p| p.1).collect();
            self.check_clear(g, &atoms)?;
        }
        self.rebuild_ghosts();
        let after = self.ghost_list();
        let skip = |g: usize| reboxed.iter().any(|r| r.0 == g);
        let before: BTreeSet<_> = before.into_iter().collect();
        let after: BTreeSet<_> = after.into_iter().collect();
        let mut ghosts: Vec<(usize, usize)> = before
            .symmetric_difference(&after)
            .map(|&(g, idx, _)| (g, idx))
            .collect();
        ghosts.sort_unstable();
        ghosts.dedup();
        ghosts.retain(|&(g, _)| !skip(g));
        Ok(RegrainOutcome {
            reboxed,
            ghosts,
            placed,
        })
    }

    /// After grain `g`'s lattice grew (sites from `first_new` on are new and empty), writes
    /// the ghosts the rule puts on them; returns the sites that got one.
    pub fn grown(&mut self, g: usize, first_new: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        if self.grains.len() == 1 {
            return out;
        }
        for idx in first_new..self.grains[g].state.lattice().n_sites() {
            if self.near_other_grain(g, self.grains[g].lab_position(idx)) && self.refresh(g, idx) {
                out.push((g, idx));
            }
        }
        out
    }

    /// Moves particle grain `g` into a box [`REBOX_MARGIN`] sites larger on every side, its
    /// atoms at the same lab positions (the frame's origin takes up the shift), for an atom
    /// that came near the box's edge; every ghost is rewritten. Returns the new index of
    /// each old site.
    pub fn rebox(&mut self, g: usize) -> Result<Vec<usize>> {
        self.rebox_by(g, REBOX_MARGIN)
    }

    /// As [`Grains::rebox`], with `m` sites added on every side (rounded up to a multiple of
    /// [`REBOX_MARGIN`], so the shift stays a lattice translation).
    pub fn rebox_by(&mut self, g: usize, m: usize) -> Result<Vec<usize>> {
        if g == 0 || g >= self.grains.len() {
            return Err(Error::Simulation(format!("grain {g} is no particle grain")));
        }
        let m = m.max(1).div_ceil(REBOX_MARGIN) * REBOX_MARGIN;
        let old = &self.grains[g];
        let lat = old.state.lattice();
        let [sx, sy] = lat.size();
        let new_lat = lat.resized([sx + 2 * m, sy + 2 * m], lat.layers() + 2 * m)?;
        // Centred: half the added rows on each side (grid rows, not cells, along y).
        let (nx, ny) = lat.grid();
        let (mx, my) = ((new_lat.grid().0 - nx) / 2, (new_lat.grid().1 - ny) / 2);
        let mut state = State::new(new_lat.clone());
        let shift = sub(
            new_lat.position(&new_lat.site(mx, my, m)),
            lat.position(&lat.site(0, 0, 0)),
        );
        let mut map = vec![usize::MAX; lat.n_sites()];
        for (idx, slot) in map.iter_mut().enumerate() {
            let s = lat.site_at(idx);
            let t = new_lat.site(s.x as usize + mx, s.y as usize + my, s.l as usize + m);
            // A shift by whole stacking periods keeps every site's class and moves every
            // position by the same vector; anything else would move atoms.
            let moved = sub(new_lat.position(&t), lat.position(&s));
            if t.class != s.class || norm(sub(moved, shift)) > 1e-9 {
                return Err(Error::Simulation(format!(
                    "re-boxing grain {g}: a shift by {m} sites is no lattice translation"
                )));
            }
            *slot = t.idx;
            if old.state.cell(idx).occupied() && !old.state.is_ghost(idx) {
                state.place(&t, old.state.species(idx));
            }
        }
        let r = crate::rotation::rotate(old.frame.rotation, shift);
        let frame = Frame {
            rotation: old.frame.rotation,
            origin: sub(old.frame.origin, r),
        };
        self.grains[g] = Grain { frame, state };
        self.rebuild_ghosts();
        Ok(map)
    }

    /// Lowers a body along −z (its atoms at lateral point `axis` plus `offsets`, Å) until one
    /// of its atoms comes within `contact_a` of a real atom of a grain (the film only if
    /// `with_film`): returns the z at which the body's reference point (offset 0) then sits
    /// , the grain touched and the lateral shift from the touched atom's image next to the
    /// axis to the atom itself (whole film periods), or `None` if no atom lies under the body.
    /// Lateral distances are taken on the film's period.
    pub fn first_contact(
        &self,
        offsets: &[Vec3],
        axis: [f64; 2],
        contact_a: f64,
        with_film: bool,
    ) -> Option<(f64, usize, [f64; 2])> {
        self.first_contact_skip(offsets, axis, contact_a, with_film, None)
    }

    /// [`Grains::first_contact`] with the atoms of grain `skip` (the body itself) left out.
    fn first_contact_skip(
        &self,
        offsets: &[Vec3],
        axis: [f64; 2],
        contact_a: f64,
        with_film: bool,
        skip: Option<usize>,
    ) -> Option<(f64, usize, [f64; 2])> {
        let [lx, ly] = self.grains[0].state.lattice().box_lengths();
        let near = |x: f64, y: f64| -> [f64; 2] {
            [
                x - lx * ((x - axis[0]) / lx).round(),
                y - ly * ((y - axis[1]) / ly).round(),
            ]
        };
        let spread = offsets.iter().map(|o| o[0].hypot(o[1])).fold(0.0, f64::max);
        let reach = spread + contact_a;
        // Atoms that could be touched, laterally at their image nearest the axis.
        let mut cand: Vec<(Vec3, usize, [f64; 2])> = Vec::new();
        if with_film {
            let st = &self.grains[0].state;
            let lat = st.lattice();
            let ls = lat.layer_size();
            // A column's sites stay within one neighbour distance of its bottom site laterally.
            let slack = lat.nn_distance();
            for (col, &top) in st.column_tops().iter().enumerate() {
                if top < 0 {
                    continue;
                }
                let p = lat.position_of(col);
                let q = near(p[0], p[1]);
                if (q[0] - axis[0]).hypot(q[1] - axis[1]) > reach + slack {
                    continue;
                }
                for l in 0..=top as usize {
                    let idx = l * ls + col;
                    if st.cell(idx).occupied() && !st.is_ghost(idx) {
                        let p = lat.position_of(idx);
                        let q = near(p[0], p[1]);
                        cand.push(([q[0], q[1], p[2]], 0, [p[0] - q[0], p[1] - q[1]]));
                    }
                }
            }
        }
        for h in 1..self.grains.len() {
            if skip == Some(h) {
                continue;
            }
            let (c, rad) = self.grains[h].bounds();
            let q = near(c[0], c[1]);
            if (q[0] - axis[0]).hypot(q[1] - axis[1]) > reach + rad {
                continue;
            }
            for idx in occupied(&self.grains[h].state) {
                let p = self.grains[h].lab_position(idx);
                let q = near(p[0], p[1]);
                cand.push(([q[0], q[1], p[2]], h, [p[0] - q[0], p[1] - q[1]]));
            }
        }
        // Lateral bins of one contact distance: a body atom meets only atoms of its 3 × 3 bins.
        let bin = |x: f64, y: f64| {
            (
                (x / contact_a).floor() as i64,
                (y / contact_a).floor() as i64,
            )
        };
        let mut bins: hashbrown::HashMap<(i64, i64), Vec<usize>> = hashbrown::HashMap::new();
        for (k, (p, _, _)) in cand.iter().enumerate() {
            bins.entry(bin(p[0], p[1])).or_default().push(k);
        }
        let c2 = contact_a * contact_a;
        let mut best: Option<(f64, usize, [f64; 2])> = None;
        for o in offsets {
            let (x, y) = (axis[0] + o[0], axis[1] + o[1]);
            let (bx, by) = bin(x, y);
            for i in bx - 1..=bx + 1 {
                for j in by - 1..=by + 1 {
                    let Some(list) = bins.get(&(i, j)) else {
                        continue;
                    };
                    for &k in list {
                        let (p, h, shift) = cand[k];
                        let r2 = (p[0] - x).powi(2) + (p[1] - y).powi(2);
                        if r2 < c2 {
                            let z = p[2] + (c2 - r2).sqrt() - o[2];
                            if best.is_none_or(|b| z > b.0) {
                                best = Some((z, h, shift));
                            }
                        }
                    }
                }
            }
        }
        best
    }

    /// The empty site of grain `g` (no atom, no ghost) nearest to lab point `p` itself (no
    /// periodic image of it) within `r` Å, if any.
    pub fn nearest_free_site(&self, g: usize, p: Vec3, r: f64) -> Option<usize> {
        let mut best: Option<(f64, usize)> = None;
        let grain = &self.grains[g];
        let st = &grain.state;
        let lat = st.lattice();
        let q = grain.frame.to_crystal(p);
        for_each_site_within(lat, q, r, |s, _, d2| {
            // A particle grain's box wraps, a physical image it is not: true distances only.
            let d = if g == 0 {
                d2.sqrt()
            } else {
                norm(sub(lat.position(&s), q))
            };
            if d <= r && !st.cell(s.idx).occupied() && best.is_none_or(|b| (d, s.idx) < b) {
                best = Some((d, s.idx));
            }
        });
        best.map(|b| b.1)
    }

    /// The sites of other grains that the atom at site `s` of grain `g` may move to (a
    /// *transfer*, grain-boundary migration), appended to `out` in (grain, site) order, with
    /// the coordination the atom would have there (occupied neighbours, ghosts included, its
    /// own ghost not). A site `t` of grain `h` qualifies when
    /// - it lies between [`TRANSFER_MIN_NN`] and [`TRANSFER_REACH_NN`] from the atom, is
    ///   mobile, and holds no atom and
    ///   no ghost but the atom's own, which no other atom claims once the atom has left;
    ///   nor does any atom of another grain claim the atom's own site;
    /// - the two lattices differ there: neither `t` nor the atom's site lies within
    ///   [`TRANSFER_DISTINCT_NN`] of a site of the other grain;
    /// - the atom is attached on both sides: its site has a real neighbour of `g`, `t` one of
    ///   `h` (so it joins a crystal, never the empty part of a box).
    ///
    /// Every condition reads the same for the move back, so each transfer's reverse is offered
    /// from where it ends (the base of detailed balance across a boundary).
    pub fn transfer_sites(&self, g: usize, s: usize, out: &mut Vec<TransferSite>) {
        let st_g = &self.grains[g].state;
        let lat_g = st_g.lattice();
        let real = |st: &State, i: usize| st.cell(i).occupied() && !st.is_ghost(i);
        if !lat_g
            .neighbors(&lat_g.site_at(s))
            .any(|(_, u)| real(st_g, u.idx))
        {
            return;
        }
        let p = self.grains[g].lab_position(s);
        let nn = lat_g.nn_distance();
        let bonds: Vec<(usize, Vec3)> = lat_g
            .neighbors(&lat_g.site_at(s))
            .filter(|(_, u)| st_g.cell(u.idx).occupied())
            .map(|(k, u)| (k, self.grains[g].lab_position(u.idx)))
            .collect();
        let reach = TRANSFER_REACH_NN * nn;
        let distinct = TRANSFER_DISTINCT_NN * nn;
        let shortest = TRANSFER_MIN_NN * nn;
        let mut origin_claimed = None;
        for h in 0..self.grains.len() {
            if h == g {
                continue;
            }
            if !self.reaches(h, p, reach) {
                continue;
            }
            let mut cand = Vec::new();
            self.sites_near(h, p, reach, &mut |t, d| {
                if d >= shortest {
                    cand.push(t)
                }
            });
            cand.sort_unstable_by_key(|t| t.idx);
            cand.dedup_by_key(|t| t.idx);
            let st = &self.grains[h].state;
            let lat = st.lattice();
            // Cheap tests first: most candidates are empty sites of a box, or atoms.
            cand.retain(|t| {
                st.is_mobile(t)
                    && (!st.cell(t.idx).occupied() || st.is_ghost(t.idx))
                    && lat.neighbors(t).any(|(_, u)| real(st, u.idx))
            });
            if cand.is_empty() {
                continue;
            }
            // The sites of h nearest the atom (one per periodic image of it that h's box
            // reaches): where its own ghosts are, if anywhere.
            let images = if h == 0 {
                vec![p]
            } else {
                self.images(h, p, self.cell_reach_a)
            };
            let nearest: Vec<(usize, f64)> = images
                .iter()
                .filter_map(|&q| self.nearest_site(h, q))
                .collect();
            if nearest.iter().any(|&(_, d)| d < distinct) {
                continue;
            }
            // The expensive reads wait until a candidate needs them.
            let find_own = || -> Vec<usize> {
                nearest
                    .iter()
                    .filter(|&&(i, d)| {
                        d <= self.ghost_radius_a
                            && st.is_ghost(i)
                            && self.ghost_source(h, i) == Some((g, s))
                    })
                    .map(|&(i, _)| i)
                    .collect()
            };
            let mut own: Option<Vec<usize>> = None;
            for t in cand {
                if st.is_ghost(t.idx)
                    && (!own.get_or_insert_with(find_own).contains(&t.idx)
                        || self.ghost_rule_without(h, t.idx, Some((g, s))).is_some())
                {
                    continue;
                }
                let q = self.image_nearest(self.grains[h].lab_position(t.idx), p);
                let images = if g == 0 {
                    vec![q]
                } else {
                    self.images(g, q, self.cell_reach_a)
                };
                if images
                    .iter()
                    .filter_map(|&i| self.nearest_site(g, i))
                    .any(|(_, d)| d < distinct)
                {
                    continue;
                }
                // An atom whose own cell another grain's atom reaches would leave a site that
                // atom claims, with no way back: no transfers (and none into such a site,
                // above).
                if *origin_claimed.get_or_insert_with(|| self.ghost_rule(g, s).is_some()) {
                    return;
                }
                let shared = bonds
                    .iter()
                    .filter(|(_, b)| norm(sub(*b, q)) <= reach)
                    .fold(0u32, |m, (k, _)| m | 1 << k);
                let mut n = 0;
                for (_, u) in lat.neighbors(&t) {
                    if st.cell(u.idx).occupied()
                        && !(st.is_ghost(u.idx)
                            && own.get_or_insert_with(find_own).contains(&u.idx))
                    {
                        n += 1;
                    }
                }
                out.push(TransferSite {
                    grain: h,
                    site: t.idx,
                    coordination: n,
                    shared,
                });
            }
        }
    }

    /// Every real atom of every grain as `(grain, site, lab position)`.
    pub fn atoms_with_sites(&self) -> Vec<(usize, usize, Vec3)> {
        let mut v = Vec::new();
        for (g, grain) in self.grains.iter().enumerate() {
            for idx in occupied(&grain.state) {
                v.push((g, idx, grain.lab_position(idx)));
            }
        }
        v
    }

    /// Lab positions of every real atom of every grain, with grain and species (for output
    /// and for the relaxer).
    pub fn atoms(&self) -> Vec<(usize, Species, Vec3)> {
        let mut v = Vec::new();
        for (g, grain) in self.grains.iter().enumerate() {
            for idx in occupied(&grain.state) {
                v.push((g, grain.state.species(idx), grain.lab_position(idx)));
            }
        }
        v
    }
}

/// The real atoms of `state` (ghosts excluded), in site order.
fn occupied(state: &State) -> Vec<usize> {
    (0..state.lattice().n_sites())
        .filter(|&i| state.cell(i).occupied() && !state.is_ghost(i))
        .collect()
}

/// Compares a lattice with the film's: same kind, constant and c/a.
pub fn same_lattice(a: &Lattice, b: &Lattice) -> bool {
    a.same_crystal(b)
}

#[cfg(test)]
#[path = "store_tests.rs"]
pub(crate) mod tests;
