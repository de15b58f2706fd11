//! Occupancy of the lattice: one byte per site.
//!
//! The byte packs the species (high nibble, 0 = empty, 1..=15) and the number of occupied
//! nearest neighbours (low nibble, 0..=12), which every rate model needs and which is kept
//! exact incrementally: placing or removing an atom touches its neighbours' bytes only.
//! Per-layer atom counts and a column height map are kept alongside so that coverage, the top of
//! the film and landing sites are found without scanning the lattice.
//!
//! **Ghosts.** Where a lattice meets a crystal of another orientation (a grain; see
//! [`crate::grains`]), the other crystal's atoms are written into this lattice as *ghosts*: a
//! ghost cell holds the foreign atom's species and counts in its neighbours' coordination, so
//! rate models, which read cells only, see the real coordination at a contact and find the
//! site taken; but a ghost is not an atom of this lattice — it has no events, is not counted
//! in the atom and layer counts or the height map, and is left out of [`State::species_map`].
//! Without grains the ghost set is empty and nothing else changes.

use crate::error::{Error, Result};
use crate::lattice::{Lattice, SiteRef};

/// Species index stored in a site (1-based; 0 means empty).
pub type Species = u8;

/// Largest number of species a scenario can have (the species field is four bits).
pub const MAX_SPECIES: usize = 15;

/// The packed byte of a site: species and coordination, read through its methods so that the
/// packing is known to this file only. One byte in memory (`repr(transparent)`), so a slice of
/// cells costs what a slice of bytes does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[repr(transparent)]
pub struct Cell(u8);

impl Cell {
    /// An empty site with no occupied neighbour.
    pub const EMPTY: Cell = Cell(0);

    /// Number of distinct cells: the length of a lookup table indexed by [`Cell::table_index`].
    pub const TABLE_SIZE: usize = 256;

    /// The cell holding `species` (0 = empty, at most [`MAX_SPECIES`]) with `coordination`
    /// occupied neighbours (at most 15).
    #[inline]
    pub const fn new(species: Species, coordination: u8) -> Cell {
        debug_assert!(species as usize <= MAX_SPECIES && coordination < 16);
        Cell((species << 4) | coordination)
    }

    /// A dense index below [`Cell::TABLE_SIZE`], distinct for distinct cells, so that a hot
    /// loop can look up a per-(species, coordination) quantity with one load.
    #[inline]
    pub fn table_index(self) -> usize {
        self.0 as usize
    }

    /// Species (0 = empty).
    #[inline]
    pub fn species(self) -> Species {
        self.0 >> 4
    }
    /// True if an atom sits here.
    #[inline]
    pub fn occupied(self) -> bool {
        self.0 >= 16
    }
    /// True if no atom sits here.
    #[inline]
    pub fn is_empty(self) -> bool {
        self.0 < 16
    }
    /// Occupied nearest neighbours.
    #[inline]
    pub fn coordination(self) -> u8 {
        self.0 & 15
    }
    /// The cell with `species` (0 = empty) and this cell's coordination.
    #[inline]
    fn with_species(self, species: Species) -> Cell {
        Cell((species << 4) | (self.0 & 15))
    }
    /// The cell with this cell's species and coordination `n`.
    #[inline]
    fn with_coordination(self, n: u8) -> Cell {
        Cell((self.0 & 0xF0) | n)
    }
}

/// Lattice occupancy with incremental coordination counts.
#[derive(Debug, Clone)]
pub struct State {
    lattice: Lattice,
    cells: Vec<Cell>,
    layer_atoms: Vec<u64>,
    /// Highest occupied layer of each in-layer column `(x, y)`, or -1.
    column_top: Vec<i32>,
    n_atoms: u64,
    top: i64,
    frozen_layers: usize,
    ghosts: hashbrown::HashSet<usize>,
}

impl State {
    /// An empty lattice.
    pub fn new(lattice: Lattice) -> Self {
        let n = lattice.n_sites();
        let layers = lattice.layers();
        let cols = lattice.layer_size();
        State {
            lattice,
            cells: vec![Cell::EMPTY; n],
            layer_atoms: vec![0; layers],
            column_top: vec![-1; cols],
            n_atoms: 0,
            top: -1,
            frozen_layers: 0,
            ghosts: hashbrown::HashSet::new(),
        }
    }

    /// The lattice.
    #[inline]
    pub fn lattice(&self) -> &Lattice {
        &self.lattice
    }

    /// Every site's cell, indexed by site index.
    #[inline]
    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    /// The cell of site `idx`.
    #[inline]
    pub fn cell(&self, idx: usize) -> Cell {
        self.cells[idx]
    }

    /// Species at `idx` (0 = empty).
    #[inline]
    pub fn species(&self, idx: usize) -> Species {
        self.cells[idx].species()
    }

    /// Occupied nearest neighbours of `idx`.
    #[inline]
    pub fn coordination(&self, idx: usize) -> u8 {
        self.cells[idx].coordination()
    }

    /// Atoms in layers below this one never move (a frozen substrate).
    #[inline]
    pub fn frozen_layers(&self) -> usize {
        self.frozen_layers
    }

    /// Freezes the atoms of layers `[0, layers)`.
    pub fn set_frozen_layers(&mut self, layers: usize) {
        self.frozen_layers = layers;
    }

    /// True if the atom at `s` may move.
    #[inline]
    pub fn is_mobile(&self, s: &SiteRef) -> bool {
        s.l as usize >= self.frozen_layers
    }

    /// Number of atoms.
    pub fn n_atoms(&self) -> u64 {
        self.n_atoms
    }

    /// Atoms in each layer.
    pub fn layer_atoms(&self) -> &[u64] {
        &self.layer_atoms
    }

    /// Highest occupied layer, or `None` for an empty lattice.
    pub fn top_layer(&self) -> Option<usize> {
        (self.top >= 0).then_some(self.top as usize)
    }

    /// Highest occupied layer of each in-layer column `(x, y)` (index `y * nx + x`), -1 if empty.
    pub fn column_tops(&self) -> &[i32] {
        &self.column_top
    }

    /// True if site `idx` holds a ghost (an atom of another grain; see the module docs).
    #[inline]
    pub fn is_ghost(&self, idx: usize) -> bool {
        !self.ghosts.is_empty() && self.ghosts.contains(&idx)
    }

    /// Number of ghost sites.
    pub fn n_ghosts(&self) -> usize {
        self.ghosts.len()
    }

    /// The ghost sites, in ascending order.
    pub fn ghost_sites(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self.ghosts.iter().copied().collect();
        v.sort_unstable();
        v
    }

    /// Writes a ghost of `species` on the empty site `s`: it counts in the neighbours'
    /// coordination and takes the site, but is no atom of this lattice.
    pub fn place_ghost(&mut self, s: &SiteRef, species: Species) {
        debug_assert!(species >= 1 && species as usize <= MAX_SPECIES);
        debug_assert!(!self.cell(s.idx).occupied(), "site {} occupied", s.idx);
        self.cells[s.idx] = self.cells[s.idx].with_species(species);
        self.bump_neighbors(s, true);
        self.ghosts.insert(s.idx);
    }

    /// Removes the ghost at `s` and returns its species.
    pub fn remove_ghost(&mut self, s: &SiteRef) -> Species {
        debug_assert!(self.is_ghost(s.idx), "site {} holds no ghost", s.idx);
        let sp = self.species(s.idx);
        self.cells[s.idx] = self.cells[s.idx].with_species(0);
        self.bump_neighbors(s, false);
        self.ghosts.remove(&s.idx);
        sp
    }

    /// Places an atom of `species` on the empty site `s`.
    pub fn place(&mut self, s: &SiteRef, species: Species) {
        debug_assert!(species >= 1 && species as usize <= MAX_SPECIES);
        debug_assert!(
            !self.cell(s.idx).occupied(),
            "site {} already occupied",
            s.idx
        );
        self.cells[s.idx] = self.cells[s.idx].with_species(species);
        self.bump_neighbors(s, true);
        let l = s.l as usize;
        self.layer_atoms[l] += 1;
        self.n_atoms += 1;
        self.top = self.top.max(l as i64);
        let col = s.idx % self.lattice.layer_size();
        self.column_top[col] = self.column_top[col].max(l as i32);
    }

    /// Removes the atom at `s` and returns its species.
    pub fn remove(&mut self, s: &SiteRef) -> Species {
        let sp = self.species(s.idx);
        debug_assert!(sp != 0, "site {} is empty", s.idx);
        self.cells[s.idx] = self.cells[s.idx].with_species(0);
        self.bump_neighbors(s, false);
        let l = s.l as usize;
        self.layer_atoms[l] -= 1;
        self.n_atoms -= 1;
        if self.top == l as i64 {
            while self.top >= 0 && self.layer_atoms[self.top as usize] == 0 {
                self.top -= 1;
            }
        }
        let ls = self.lattice.layer_size();
        let col = s.idx % ls;
        if self.column_top[col] == l as i32 {
            let mut t = l as i64 - 1;
            while t >= 0 && self.cells[t as usize * ls + col].is_empty() {
                t -= 1;
            }
            self.column_top[col] = t as i32;
        }
        sp
    }

    /// Changes the species of the occupied site `idx` (coordination is unaffected).
    pub fn set_species(&mut self, idx: usize, species: Species) {
        debug_assert!(self.cell(idx).occupied() && species >= 1);
        self.cells[idx] = self.cells[idx].with_species(species);
    }

    #[inline]
    fn bump_neighbors(&mut self, s: &SiteRef, up: bool) {
        let t = self.lattice.class_tables(s.class);
        for o in &t.neighbors {
            if let Some(n) = self.lattice.index_at(s, o) {
                if up {
                    self.cells[n].0 += 1;
                } else {
                    self.cells[n].0 -= 1;
                }
            }
        }
    }

    /// Adds empty layers on top so at least the lattice's headroom stays free above the highest
    /// atom. Returns true if the lattice grew (site indices are unchanged; `n_sites` grows).
    pub fn ensure_headroom(&mut self) -> bool {
        if self.lattice.kind().is_2d() {
            return false;
        }
        let need = (self.top + 1).max(0) as usize + self.lattice.headroom();
        if need <= self.lattice.layers() {
            return false;
        }
        // Grow by a quarter at least, so growth is amortised O(1) per layer.
        let extra = (need - self.lattice.layers())
            .max(self.lattice.layers() / 4)
            .max(4);
        self.ensure_layers(self.lattice.layers() + extra);
        true
    }

    /// Makes sure at least `layers` layers are allocated (3-D lattices; new layers are empty).
    pub fn ensure_layers(&mut self, layers: usize) {
        if self.lattice.kind().is_2d() || layers <= self.lattice.layers() {
            return;
        }
        let old = self.lattice.n_sites();
        self.lattice.grow(layers - self.lattice.layers());
        self.cells.resize(self.lattice.n_sites(), Cell::EMPTY);
        self.layer_atoms.resize(self.lattice.layers(), 0);
        // Headroom keeps atoms out of the top layers, but a ghost (another grain's atom) can
        // sit in the last allocated layer: the new sites above count it.
        if !self.ghosts.is_empty() {
            let below = self.lattice.max_step_dl() * self.lattice.layer_size();
            for idx in old.saturating_sub(below)..old {
                if self.cells[idx].occupied() {
                    let s = self.lattice.site_at(idx);
                    let t = self.lattice.class_tables(s.class);
                    for o in &t.neighbors {
                        if let Some(n) = self.lattice.index_at(&s, o) {
                            if n >= old {
                                self.cells[n].0 += 1;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Fills layers `[0, layers)` with `species` (the substrate).
    pub fn fill_layers(&mut self, layers: usize, species: Species) -> Result<()> {
        if layers > self.lattice.layers() {
            return Err(Error::field(
                "lattice.substrate_layers",
                format!(
                    "{layers} substrate layers do not fit in a box of {} layers",
                    self.lattice.layers()
                ),
            ));
        }
        let (nx, ny) = self.lattice.grid();
        for l in 0..layers {
            for y in 0..ny {
                for x in 0..nx {
                    let s = self.lattice.site(x, y, l);
                    if !self.cell(s.idx).occupied() {
                        self.place(&s, species);
                    }
                }
            }
        }
        Ok(())
    }

    /// Recomputes every coordination count, the layer counts and the height map from the
    /// species alone (after loading a checkpoint or an external configuration); returns the
    /// number of sites whose stored coordination was wrong.
    pub fn rebuild_derived(&mut self) -> usize {
        let n = self.lattice.n_sites();
        let mut wrong = 0;
        let mut counts = vec![0u8; n];
        for idx in 0..n {
            if self.cells[idx].occupied() {
                let s = self.lattice.site_at(idx);
                for o in &self.lattice.class_tables(s.class).neighbors {
                    if let Some(m) = self.lattice.index_at(&s, o) {
                        counts[m] += 1;
                    }
                }
            }
        }
        self.layer_atoms.iter_mut().for_each(|c| *c = 0);
        self.column_top.iter_mut().for_each(|c| *c = -1);
        self.n_atoms = 0;
        self.top = -1;
        let ls = self.lattice.layer_size();
        for idx in 0..n {
            if self.cells[idx].coordination() != counts[idx] {
                wrong += 1;
            }
            self.cells[idx] = self.cells[idx].with_coordination(counts[idx]);
            if self.cells[idx].occupied() && !self.is_ghost(idx) {
                let l = idx / ls;
                self.layer_atoms[l] += 1;
                self.n_atoms += 1;
                self.top = self.top.max(l as i64);
                self.column_top[idx % ls] = self.column_top[idx % ls].max(l as i32);
            }
        }
        wrong
    }

    /// Species of every site (0 = empty or ghost): the state's essential content, e.g. for
    /// checkpoints (ghosts are derived from the other grains).
    pub fn species_map(&self) -> Vec<u8> {
        let mut v: Vec<u8> = self.cells.iter().map(|c| c.species()).collect();
        for &g in &self.ghosts {
            v[g] = 0;
        }
        v
    }

    /// Replaces the occupancy by a species map (one byte per allocated site, grown lattice
    /// allowed: `species.len()` must be a whole number of layers) and rebuilds derived data.
    pub fn load_species(&mut self, species: &[u8]) -> Result<()> {
        let ls = self.lattice.layer_size();
        if species.len() % ls != 0 || species.len() < ls {
            return Err(Error::Simulation(format!(
                "species map of {} sites is not a whole number of layers of {ls} sites",
                species.len()
            )));
        }
        if let Some(bad) = species.iter().find(|&&s| s as usize > MAX_SPECIES) {
            return Err(Error::Simulation(format!(
                "species map holds species {bad} > {MAX_SPECIES}"
            )));
        }
        let layers = species.len() / ls;
        if layers > self.lattice.layers() {
            self.lattice.grow(layers - self.lattice.layers());
        }
        self.ghosts.clear();
        self.cells = species
            .iter()
            .map(|&s| Cell::EMPTY.with_species(s))
            .collect();
        self.cells.resize(self.lattice.n_sites(), Cell::EMPTY);
        self.layer_atoms = vec![0; self.lattice.layers()];
        self.rebuild_derived();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lattice::LatticeKind;
    use crate::rng::{Stream, stream, uniform};

    #[test]
    fn incremental_coordination_matches_a_rebuild_after_random_moves() {
        for kind in LatticeKind::ALL {
            let lat = Lattice::new(kind, 3.0, [10, 10], 12).unwrap();
            let mut st = State::new(lat);
            let mut rng = stream(7, Stream::Engine);
            let n = st.lattice().n_sites();
            for _ in 0..20_000 {
                let idx = (uniform(&mut rng) * n as f64) as usize;
                let s = st.lattice().site_at(idx);
                if st.cell(idx).occupied() {
                    st.remove(&s);
                } else {
                    st.place(&s, 1 + (uniform(&mut rng) * 3.0) as u8);
                }
            }
            let tops = st.column_tops().to_vec();
            let layer = st.layer_atoms().to_vec();
            let (atoms, top) = (st.n_atoms(), st.top_layer());
            assert_eq!(st.rebuild_derived(), 0, "{kind:?}");
            assert_eq!(st.column_tops(), &tops[..]);
            assert_eq!(st.layer_atoms(), &layer[..]);
            assert_eq!((st.n_atoms(), st.top_layer()), (atoms, top));
        }
    }

    #[test]
    fn substrate_and_headroom() {
        let lat = Lattice::new(LatticeKind::Fcc100, 3.615, [8, 8], 10).unwrap();
        let mut st = State::new(lat);
        st.fill_layers(4, 1).unwrap();
        assert_eq!(st.n_atoms(), 4 * 128);
        assert_eq!(st.top_layer(), Some(3));
        // A bulk site of layer 2 has all 12 neighbours; the bottom layer has 8 (4 in-layer + 4 above).
        let bulk = st.lattice().site(3, 3, 2);
        assert_eq!(st.coordination(bulk.idx), 12);
        assert_eq!(st.coordination(st.lattice().site(3, 3, 0).idx), 8);
        // The first empty layer sees the 4 atoms below each hollow.
        assert_eq!(st.coordination(st.lattice().site(3, 3, 4).idx), 4);
        let grew = st.ensure_headroom();
        assert!(grew && st.lattice().layers() >= 4 + st.lattice().headroom());
        assert_eq!(st.rebuild_derived(), 0);
        assert!(st.fill_layers(1000, 1).is_err());
    }

    #[test]
    fn species_map_round_trip() {
        let lat = Lattice::new(LatticeKind::Fcc111, 3.615, [8, 8], 10).unwrap();
        let mut st = State::new(lat.clone());
        st.fill_layers(2, 2).unwrap();
        let s = st.lattice().site(1, 1, 2);
        st.place(&s, 3);
        let map = st.species_map();
        let mut other = State::new(lat);
        other.load_species(&map).unwrap();
        assert_eq!(other.cells(), st.cells());
        assert!(other.load_species(&map[..map.len() - 1]).is_err());
    }
}
