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
use crate::lattice::{Lattice, MAX_RANGE, SiteRef, for_each_site_within};
use crate::state::{Species, State};
use crate::vec3::{Vec3, norm, sub};

/// Default ghost radius in nearest-neighbour distances: the whole Wigner–Seitz cell of an FCC
/// site (its farthest point, the octahedral hole, lies at 1/√2 = 0.7071).
pub const DEFAULT_GHOST_RADIUS_NN: f64 = 0.71;

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
        let mut changed = Vec::new();
        // Its own sites may be covered by atoms of grains that were there first.
        for idx in 0..self.grains[g].state.lattice().n_sites() {
            if self.near_other_grain(g, self.grains[g].lab_position(idx)) && self.refresh(g, idx) {
                changed.push((g, idx));
            }
        }
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
            for idx in 0..self.grains[g].state.lattice().n_sites() {
                if self.near_other_grain(g, self.grains[g].lab_position(idx)) {
                    self.refresh(g, idx);
                }
            }
            self.cast(g, &atoms);
        }
        self.grains.iter().map(|g| g.state.n_ghosts()).sum()
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
            q[0] - lx * ((q[0] - p[0]) / lx).round(),
            q[1] - ly * ((q[1] - p[1]) / ly).round(),
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
        let mut out = Vec::new();
        for &c in sites {
            let p = self.grains[h].lab_position(c);
            for g in 0..self.grains.len() {
                if g == h || !self.within_reach(g, p) {
                    continue;
                }
                // Every site of g whose cell the position could fall in, so that a vacated
                // position releases its ghost as well.
                let mut cand = Vec::new();
                self.sites_near(g, p, self.cell_reach_a, &mut |s, _| cand.push(s.idx));
                for s in cand {
                    if self.refresh(g, s) {
                        out.push((g, s));
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
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
                if !st.cell(t).occupied() || st.is_ghost(t) {
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
        best.map_or(0, |b| b.3)
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

/// Compares a lattice with the film's: same kind and constant.
pub fn same_lattice(a: &Lattice, b: &Lattice) -> bool {
    a.kind() == b.kind() && a.lattice_constant() == b.lattice_constant()
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
