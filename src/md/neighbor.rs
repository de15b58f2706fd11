//! Neighbour lists.
//!
//! A list stores, for each atom `i`, entries `(j, image)` such that the displacement to the
//! neighbour is `x[j] + image · L - x[i]`. Images make boxes smaller than two cutoffs work: the
//! same `j` may appear with several images (and an atom may see its own images).
//!
//! Lists are built with a cell (bin) grid in O(N) ([`NeighborList::build`]) and, with a skin,
//! serve as Verlet lists: they stay valid until some atom has moved more than `skin / 2` since the
//! build, which [`NeighborList::needs_rebuild`] tests cheaply.
//!
//! Positions along periodic axes may lie outside `[0, L)` (within a hundred box lengths); the
//! images then account for the wrap. An integrator that wraps an atom back into the box moves it
//! by a box length, which `needs_rebuild` reports, so the list never goes stale silently.

use rayon::prelude::*;

use super::SimBox;

/// One neighbour of an atom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborEntry {
    /// Index of the neighbouring atom.
    pub j: u32,
    /// Periodic image of `j` (in box lengths per axis).
    pub image: [i8; 3],
}

/// Neighbours of every atom in compressed-row form.
#[derive(Debug, Clone, Default)]
pub struct NeighborList {
    /// True if each pair is stored once (on one of its two atoms), false if stored on both.
    pub half: bool,
    /// Interaction cutoff the list serves, Å.
    pub cutoff: f64,
    /// Extra distance (Å) included so the list stays valid while atoms move less than `skin / 2`.
    pub skin: f64,
    /// `entries[start[i] .. start[i + 1]]` are the neighbours of atom `i`.
    pub start: Vec<u32>,
    /// All neighbour entries.
    pub entries: Vec<NeighborEntry>,
    /// Positions at the last build, for [`NeighborList::needs_rebuild`].
    pub reference: Vec<[f64; 3]>,
}

/// Periodic axes: positions are accepted within this many box lengths of the box.
const MAX_WRAP: f64 = 100.0;
/// Lists for at least this many atoms are built in parallel (rayon).
const PARALLEL_BUILD_ATOMS: usize = 8192;
/// Chunks of a parallel build (fixed, so the work split does not depend on the machine).
const BUILD_CHUNKS: usize = 8;

impl NeighborList {
    /// The neighbours of atom `i`.
    #[inline]
    pub fn of(&self, i: usize) -> &[NeighborEntry] {
        &self.entries[self.start[i] as usize..self.start[i + 1] as usize]
    }

    /// Number of atoms the list was built for.
    pub fn n_atoms(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    /// Displacement from atom `i` to neighbour entry `e`.
    #[inline]
    pub fn displacement(
        positions: &[[f64; 3]],
        simbox: &SimBox,
        i: usize,
        e: NeighborEntry,
    ) -> [f64; 3] {
        let xi = positions[i];
        let xj = positions[e.j as usize];
        let l = simbox.lengths;
        [
            xj[0] + e.image[0] as f64 * l[0] - xi[0],
            xj[1] + e.image[1] as f64 * l[1] - xi[1],
            xj[2] + e.image[2] as f64 * l[2] - xi[2],
        ]
    }

    /// Builds a list of all pairs (and periodic images) closer than `cutoff + skin` with a cell
    /// grid: O(N) for any box, including boxes smaller than two cutoffs, open and mixed axes.
    ///
    /// A full list holds exactly the entries of [`NeighborList::brute_force`]. A half list holds
    /// each of those pairs once, stored on the atom from whose cell the other lies at a
    /// lexicographically positive cell offset (the lower index within one cell), as LAMMPS's
    /// half stencils do: that halves the cells searched. It is therefore not always the atom
    /// [`NeighborList::owns_pair`] names; [`NeighborList::canonical`] maps an entry to that form.
    pub fn build(
        positions: &[[f64; 3]],
        simbox: &SimBox,
        cutoff: f64,
        skin: f64,
        half: bool,
    ) -> Self {
        let mut list = NeighborList {
            half,
            cutoff,
            skin,
            ..Default::default()
        };
        list.rebuild(positions, simbox);
        list
    }

    /// Rebuilds the list in place for new positions (same cutoff, skin and kind), reusing its
    /// storage.
    pub fn rebuild(&mut self, positions: &[[f64; 3]], simbox: &SimBox) {
        let grid = CellGrid::new(positions, simbox, self.cutoff + self.skin);
        grid.fill(positions, self);
        self.reference.clear();
        self.reference.extend_from_slice(positions);
    }

    /// True if the list may have gone stale: some atom moved more than `skin / 2` since the build
    /// (measured on raw coordinates, so a wrap into the box counts as a move), or the number of
    /// atoms changed. A change of box lengths is not detected: rebuild after changing the box.
    pub fn needs_rebuild(&self, positions: &[[f64; 3]]) -> bool {
        if positions.len() != self.reference.len() || self.start.len() != positions.len() + 1 {
            return true;
        }
        let limit = 0.25 * self.skin * self.skin;
        // Runs every MD step: one pass, exit at the first atom that moved too far (a NaN
        // position counts as moved, so the caller notices).
        positions.iter().zip(&self.reference).any(|(x, x0)| {
            let d = crate::vec3::sub(*x, *x0);
            let d2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            d2 > limit || d2.is_nan()
        })
    }

    /// Reference O(N² · images) construction: every pair (and every periodic image) within
    /// `cutoff + skin`. Correct for any box; used by tests and tiny systems.
    pub fn brute_force(
        positions: &[[f64; 3]],
        simbox: &SimBox,
        cutoff: f64,
        skin: f64,
        half: bool,
    ) -> Self {
        let rc = cutoff + skin;
        let rc2 = rc * rc;
        let n = positions.len();
        // Images needed per axis so that every periodic copy within rc is visited.
        let mut reach = [0i32; 3];
        for k in 0..3 {
            if simbox.periodic[k] {
                reach[k] = (rc / simbox.lengths[k]).ceil() as i32 + 1;
            }
        }
        let mut start = Vec::with_capacity(n + 1);
        let mut entries = Vec::new();
        start.push(0u32);
        for i in 0..n {
            for j in 0..n {
                for a in -reach[0]..=reach[0] {
                    for b in -reach[1]..=reach[1] {
                        for c in -reach[2]..=reach[2] {
                            if i == j && a == 0 && b == 0 && c == 0 {
                                continue;
                            }
                            let e = NeighborEntry {
                                j: j as u32,
                                image: [a as i8, b as i8, c as i8],
                            };
                            if half && !Self::owns_pair(i, e) {
                                continue;
                            }
                            let d = Self::displacement(positions, simbox, i, e);
                            if d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < rc2 {
                                entries.push(e);
                            }
                        }
                    }
                }
            }
            start.push(entries.len() as u32);
        }
        NeighborList {
            half,
            cutoff,
            skin,
            start,
            entries,
            reference: positions.to_vec(),
        }
    }

    /// A canonical owner for each pair (used by [`NeighborList::brute_force`] half lists): the
    /// pair `(i, j, image)` is the same pair as `(j, i, -image)`, and exactly one of the two
    /// satisfies this rule.
    #[inline]
    pub fn owns_pair(i: usize, e: NeighborEntry) -> bool {
        let j = e.j as usize;
        if i != j {
            return i < j;
        }
        // Self-images: keep the lexicographically positive image.
        let im = e.image;
        (im[0], im[1], im[2]) > (0, 0, 0)
    }

    /// The pair of entry `e` of atom `i` written from its canonical owner
    /// ([`NeighborList::owns_pair`]): `(owner, neighbour, image)`.
    #[inline]
    pub fn canonical(i: usize, e: NeighborEntry) -> (u32, u32, [i8; 3]) {
        if Self::owns_pair(i, e) {
            (i as u32, e.j, e.image)
        } else {
            (e.j, i as u32, [-e.image[0], -e.image[1], -e.image[2]])
        }
    }
}

/// One chunk's entries in cell order, with `(atom, begin, end)` of each atom's run.
type Staged = (Vec<NeighborEntry>, Vec<(u32, u32, u32)>);

/// A neighbouring cell of a stencil: its range in the sorted arrays, the Cartesian shift of its
/// periodic image and the image.
type StencilCell = (u32, u32, [f64; 3], [i32; 3]);

/// A grid of cells over the box (periodic axes) or over the atoms' extent (open axes), with the
/// atoms sorted by cell.
struct CellGrid {
    /// Cells per axis.
    n: [usize; 3],
    /// Cell coordinates of each atom.
    cell_of: Vec<[u32; 3]>,
    /// `first[c] .. first[c + 1]` index the atoms of cell `c` in the sorted arrays.
    first: Vec<u32>,
    /// Atom indices sorted by cell (ascending within a cell).
    sorted_atom: Vec<u32>,
    /// Wrapped positions in the same order, so a cell's candidates are contiguous in memory.
    sorted_x: Vec<[f64; 3]>,
    /// True if every wrap count is zero (all atoms inside the box along periodic axes).
    all_wrapped: bool,
    /// Wrap counts in the same order, along periodic axes: `x = x_wrapped + wrap · L`.
    sorted_wrap: Vec<[i32; 3]>,
    /// Cell offsets that can hold a neighbour within the list cutoff.
    stencil: Vec<[i32; 3]>,
    /// Per axis, for unwrapped cell coordinate `u + reach`: the cell it wraps to (`u32::MAX`
    /// outside an open axis), its image, and the image's shift in Å.
    axis_cell: [Vec<u32>; 3],
    axis_image: [Vec<i32>; 3],
    axis_shift: [Vec<f64>; 3],
    reach: [i32; 3],
    rc2: f64,
}

impl CellGrid {
    fn new(positions: &[[f64; 3]], simbox: &SimBox, rc: f64) -> Self {
        let n_atoms = positions.len();
        let rc = rc.max(0.0);
        let mut lo = [0.0f64; 3];
        let mut extent = [0.0f64; 3];
        for k in 0..3 {
            if simbox.periodic[k] {
                extent[k] = simbox.lengths[k];
            } else {
                let (mut a, mut b) = (f64::INFINITY, f64::NEG_INFINITY);
                for x in positions {
                    a = a.min(x[k]);
                    b = b.max(x[k]);
                }
                if n_atoms == 0 || !a.is_finite() || !b.is_finite() {
                    a = 0.0;
                    b = 0.0;
                }
                lo[k] = a;
                extent[k] = b - a;
            }
        }
        // Cells of about rc/2 (a stencil of ~5³ small cells checks fewer candidates than 3³
        // cells of rc), enlarged when a sparse open system would need too many cells.
        let max_cells = (4 * n_atoms + 64) as f64;
        let mut target = if rc > 0.0 { 0.5 * rc } else { 1.0 };
        let (n, size) = loop {
            let mut n = [1usize; 3];
            let mut size = [0.0f64; 3];
            for k in 0..3 {
                let cells = (extent[k] / target).floor();
                n[k] = if cells.is_finite() && cells >= 1.0 {
                    cells.min(1e6) as usize
                } else {
                    1
                };
                size[k] = if simbox.periodic[k] {
                    extent[k] / n[k] as f64
                } else {
                    // Open axes: n cells of `target` cover [lo, lo + n·target) ⊇ the extent
                    // once n = floor(extent / target) + 1.
                    n[k] = (n[k] + 1).min(1_000_000);
                    target
                };
            }
            if (n[0] * n[1] * n[2]) as f64 <= max_cells {
                break (n, size);
            }
            target *= 1.5;
        };
        let mut cell_of = Vec::with_capacity(n_atoms);
        let mut wrap = Vec::with_capacity(n_atoms);
        let mut wrapped = Vec::with_capacity(n_atoms);
        for x in positions {
            let mut c = [0u32; 3];
            let mut w = [0i32; 3];
            let mut xw = [0.0f64; 3];
            for k in 0..3 {
                let u = if simbox.periodic[k] {
                    let l = simbox.lengths[k];
                    let wk = (x[k] / l).floor().clamp(-MAX_WRAP, MAX_WRAP);
                    w[k] = if wk.is_finite() { wk as i32 } else { 0 };
                    xw[k] = x[k] - w[k] as f64 * l;
                    xw[k]
                } else {
                    xw[k] = x[k];
                    x[k] - lo[k]
                };
                let ck = (u / size[k]).floor();
                c[k] = if ck.is_finite() && ck > 0.0 {
                    (ck as usize).min(n[k] - 1) as u32
                } else {
                    0
                };
            }
            cell_of.push(c);
            wrap.push(w);
            wrapped.push(xw);
        }
        // Counting sort by cell; iterating atoms in order keeps each cell's atoms ascending.
        let n_cells = n[0] * n[1] * n[2];
        let mut first = vec![0u32; n_cells + 1];
        for c in &cell_of {
            first[Self::index(n, *c) + 1] += 1;
        }
        for c in 0..n_cells {
            first[c + 1] += first[c];
        }
        let mut fill = first.clone();
        let mut sorted_atom = vec![0u32; n_atoms];
        let mut sorted_x = vec![[0.0f64; 3]; n_atoms];
        let mut sorted_wrap = vec![[0i32; 3]; n_atoms];
        for (i, c) in cell_of.iter().enumerate() {
            let slot = &mut fill[Self::index(n, *c)];
            sorted_atom[*slot as usize] = i as u32;
            sorted_x[*slot as usize] = wrapped[i];
            sorted_wrap[*slot as usize] = wrap[i];
            *slot += 1;
        }
        // A neighbour within rc lies at most floor(rc / size) + 1 cells away along each axis;
        // keep the offsets whose nearest points are closer than rc (with a margin for rounding
        // in the cell assignment).
        let mut reach = [0i32; 3];
        for k in 0..3 {
            let r = (rc / size[k]).floor() + 1.0;
            reach[k] = if r.is_finite() { r.min(1e6) as i32 } else { 1 };
            if !simbox.periodic[k] {
                reach[k] = reach[k].min(n[k] as i32 - 1);
            }
        }
        let mut stencil = Vec::new();
        let margin = 1.0 - 1e-9;
        for dx in -reach[0]..=reach[0] {
            for dy in -reach[1]..=reach[1] {
                for dz in -reach[2]..=reach[2] {
                    let mut d2 = 0.0;
                    for (k, d) in [dx, dy, dz].into_iter().enumerate() {
                        let gap = (d.abs() - 1).max(0) as f64 * size[k] * margin;
                        d2 += gap * gap;
                    }
                    if d2 < rc * rc {
                        stencil.push([dx, dy, dz]);
                    }
                }
            }
        }
        let mut axis_cell: [Vec<u32>; 3] = Default::default();
        let mut axis_image: [Vec<i32>; 3] = Default::default();
        let mut axis_shift: [Vec<f64>; 3] = Default::default();
        for k in 0..3 {
            let nk = n[k] as i32;
            for u in -reach[k]..nk + reach[k] {
                if simbox.periodic[k] {
                    let img = u.div_euclid(nk);
                    axis_cell[k].push(u.rem_euclid(nk) as u32);
                    axis_image[k].push(img);
                    axis_shift[k].push(img as f64 * simbox.lengths[k]);
                } else {
                    let inside = (0..nk).contains(&u);
                    axis_cell[k].push(if inside { u as u32 } else { u32::MAX });
                    axis_image[k].push(0);
                    axis_shift[k].push(0.0);
                }
            }
        }
        CellGrid {
            n,
            cell_of,
            first,
            sorted_atom,
            sorted_x,
            all_wrapped: sorted_wrap.iter().all(|w| *w == [0; 3]),
            sorted_wrap,
            stencil,
            axis_cell,
            axis_image,
            axis_shift,
            reach,
            rc2: rc * rc,
        }
    }

    #[inline]
    fn index(n: [usize; 3], c: [u32; 3]) -> usize {
        (c[0] as usize * n[1] + c[1] as usize) * n[2] + c[2] as usize
    }

    fn fill(&self, positions: &[[f64; 3]], list: &mut NeighborList) {
        let n_chunks = if positions.len() >= PARALLEL_BUILD_ATOMS {
            BUILD_CHUNKS
        } else {
            1
        };
        self.fill_chunked(positions.len(), list, n_chunks);
    }

    /// Atoms are visited cell by cell, so each cell's stencil is set up once and the
    /// candidates of a cell are contiguous; the entries are then put in atom order. With
    /// several chunks the cells are split into runs of about equal atom counts, built in
    /// parallel; each atom's entries do not depend on the chunking.
    fn fill_chunked(&self, n_atoms: usize, list: &mut NeighborList, n_chunks: usize) {
        let half = list.half;
        let n_cells = self.first.len() - 1;
        let mut cell_bounds = vec![0usize; n_chunks + 1];
        for (k, bound) in cell_bounds.iter_mut().enumerate().skip(1) {
            let target = (n_atoms * k / n_chunks) as u32;
            *bound = self.first.partition_point(|&f| f < target).min(n_cells);
        }
        cell_bounds[n_chunks] = n_cells;
        // A rebuild expects about as many entries as the last build held.
        let expected = list.entries.len() / n_chunks + list.entries.len() / (16 * n_chunks);
        let build = |k: usize| {
            let mut staged: Vec<NeighborEntry> = Vec::with_capacity(expected);
            let mut spans: Vec<(u32, u32, u32)> = Vec::new();
            let mut cells = Vec::with_capacity(self.stencil.len());
            for c in cell_bounds[k]..cell_bounds[k + 1] {
                let (ca, cb) = (self.first[c] as usize, self.first[c + 1] as usize);
                if ca == cb {
                    continue;
                }
                self.stencil_cells(
                    self.cell_of[self.sorted_atom[ca] as usize],
                    half,
                    &mut cells,
                );
                for slot in ca..cb {
                    let begin = staged.len() as u32;
                    self.neighbors_of(slot, &cells, half, &mut staged);
                    spans.push((self.sorted_atom[slot], begin, staged.len() as u32));
                }
            }
            (staged, spans)
        };
        let parts: Vec<Staged> = if n_chunks == 1 {
            vec![build(0)]
        } else {
            (0..n_chunks).into_par_iter().map(build).collect()
        };
        let mut count = vec![0u32; n_atoms];
        for (_, spans) in &parts {
            for &(i, a, b) in spans {
                count[i as usize] = b - a;
            }
        }
        list.start.clear();
        list.start.reserve(n_atoms + 1);
        list.start.push(0);
        let mut total = 0u32;
        for c in &count {
            total += c;
            list.start.push(total);
        }
        list.entries.clear();
        list.entries.resize(
            total as usize,
            NeighborEntry {
                j: 0,
                image: [0; 3],
            },
        );
        for (staged, spans) in &parts {
            for &(i, a, b) in spans {
                let at = list.start[i as usize] as usize;
                list.entries[at..at + (b - a) as usize]
                    .copy_from_slice(&staged[a as usize..b as usize]);
            }
        }
    }

    /// The stencil of the cell at `ci`: for each neighbouring cell its range in the sorted
    /// arrays, the Cartesian shift of its image and the image itself. A half list visits only
    /// the offsets that are lexicographically ≥ 0 (see [`NeighborList::build`]).
    fn stencil_cells(&self, ci: [u32; 3], half: bool, cells: &mut Vec<StencilCell>) {
        cells.clear();
        for s in &self.stencil {
            if half && (s[0], s[1], s[2]) < (0, 0, 0) {
                continue;
            }
            let mut c = [0u32; 3];
            let mut shift = [0.0f64; 3];
            let mut img = [0i32; 3];
            let mut inside = true;
            for k in 0..3 {
                let u = (ci[k] as i32 + s[k] + self.reach[k]) as usize;
                c[k] = self.axis_cell[k][u];
                inside &= c[k] != u32::MAX;
                shift[k] = self.axis_shift[k][u];
                img[k] = self.axis_image[k][u];
            }
            if inside {
                let cell = Self::index(self.n, c);
                let own = *s == [0, 0, 0];
                // The own cell comes first so `neighbors_of` can recognise it.
                if self.first[cell] != self.first[cell + 1] || own {
                    cells.push((self.first[cell], self.first[cell + 1], shift, img));
                    if own {
                        let last = cells.len() - 1;
                        cells.swap(0, last);
                    }
                }
            }
        }
    }

    /// Appends the neighbours of the atom at sorted position `slot` (atom `i`) found in
    /// `cells` (own cell first).
    #[inline]
    fn neighbors_of(
        &self,
        slot: usize,
        cells: &[StencilCell],
        half: bool,
        out: &mut Vec<NeighborEntry>,
    ) {
        let rc2 = self.rc2;
        let wi = self.sorted_wrap[slot];
        let xi = self.sorted_x[slot];
        // Branch-free compaction: every candidate is written, and the length advances only
        // for those within the cutoff. About a quarter of the candidates are kept, in no
        // predictable pattern, so a branch per candidate would mispredict often.
        let max_new: usize = cells.iter().map(|c| (c.1 - c.0) as usize).sum();
        let base = out.len();
        out.resize(
            base + max_new,
            NeighborEntry {
                j: 0,
                image: [0; 3],
            },
        );
        let buf = &mut out[base..];
        let mut len = 0;
        for (n_cell, &(a, b, shift, img)) in cells.iter().enumerate() {
            let (mut a, b) = (a as usize, b as usize);
            if n_cell == 0 && half {
                // Own cell in a half list: the pair goes to the lower index (cells are sorted
                // ascending), so only the atoms after this one.
                a = slot + 1;
            }
            // Relative to the shifted cell, so the loop body is three subtractions.
            let rel = crate::vec3::sub(xi, shift);
            let xs = &self.sorted_x[a..b];
            let js = &self.sorted_atom[a..b];
            // The own slot (distance 0 to itself) is reachable in full lists only.
            let own = if n_cell == 0 {
                self.sorted_atom[slot]
            } else {
                u32::MAX
            };
            if self.all_wrapped {
                // Every atom inside the box: the image is the cell's.
                let image = [img[0] as i8, img[1] as i8, img[2] as i8];
                for (xj, &j) in xs.iter().zip(js) {
                    let d0 = xj[0] - rel[0];
                    let d1 = xj[1] - rel[1];
                    let d2 = xj[2] - rel[2];
                    buf[len] = NeighborEntry { j, image };
                    len += ((d0 * d0 + d1 * d1 + d2 * d2 < rc2) & (j != own)) as usize;
                }
            } else {
                let base_image = [img[0] + wi[0], img[1] + wi[1], img[2] + wi[2]];
                let ws = &self.sorted_wrap[a..b];
                for ((xj, &j), wj) in xs.iter().zip(js).zip(ws) {
                    let d0 = xj[0] - rel[0];
                    let d1 = xj[1] - rel[1];
                    let d2 = xj[2] - rel[2];
                    buf[len] = NeighborEntry {
                        j,
                        image: [
                            (base_image[0] - wj[0]) as i8,
                            (base_image[1] - wj[1]) as i8,
                            (base_image[2] - wj[2]) as i8,
                        ],
                    };
                    len += ((d0 * d0 + d1 * d1 + d2 * d2 < rc2) & (j != own)) as usize;
                }
            }
        }
        out.truncate(base + len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(list: &NeighborList) -> Vec<(usize, u32, [i8; 3])> {
        let mut v = Vec::new();
        for i in 0..list.n_atoms() {
            for e in list.of(i) {
                v.push((i, e.j, e.image));
            }
        }
        v.sort();
        v
    }

    #[test]
    fn tiny_periodic_box_sees_own_images() {
        // One atom in a 2 Å cube with a 3 Å cutoff: its images at 2 Å (6) and 2√2 Å (12).
        let x = vec![[0.5, 0.5, 0.5]];
        let b = SimBox::periodic([2.0; 3]);
        let full = NeighborList::build(&x, &b, 3.0, 0.0, false);
        assert_eq!(full.of(0).len(), 18);
        let half = NeighborList::build(&x, &b, 3.0, 0.0, true);
        assert_eq!(half.of(0).len(), 9);
        assert_eq!(
            sorted(&full),
            sorted(&NeighborList::brute_force(&x, &b, 3.0, 0.0, false))
        );
    }

    #[test]
    fn parallel_build_equals_serial_build() {
        // 1372 atoms of a perturbed FCC crystal, periodic in x and y, some outside the box.
        let mut x = Vec::new();
        for i in 0..7 {
            for j in 0..7 {
                for k in 0..7 {
                    for o in [
                        [0.0, 0.0, 0.0],
                        [0.5, 0.5, 0.0],
                        [0.5, 0.0, 0.5],
                        [0.0, 0.5, 0.5],
                    ] {
                        let t = (x.len() as f64 * 0.618).fract() - 0.5;
                        x.push([
                            (i as f64 + o[0]) * 3.6 + 0.2 * t,
                            (j as f64 + o[1]) * 3.6 - 0.3 * t,
                            (k as f64 + o[2]) * 3.6 + 0.1 * t,
                        ]);
                    }
                }
            }
        }
        let b = SimBox {
            lengths: [25.2, 25.2, 25.2],
            periodic: [true, true, false],
        };
        for half in [true, false] {
            let grid = CellGrid::new(&x, &b, 6.5);
            let mut serial = NeighborList {
                half,
                ..Default::default()
            };
            let mut parallel = serial.clone();
            grid.fill_chunked(x.len(), &mut serial, 1);
            grid.fill_chunked(x.len(), &mut parallel, 8);
            assert_eq!(serial.start, parallel.start);
            assert_eq!(serial.entries, parallel.entries);
            assert!(serial.entries.len() > 30 * x.len());
        }
    }

    #[test]
    fn needs_rebuild_after_half_skin() {
        let x = vec![[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]];
        let b = SimBox::open([10.0; 3]);
        let list = NeighborList::build(&x, &b, 3.0, 1.0, true);
        let mut y = x.clone();
        y[1][0] += 0.49;
        assert!(!list.needs_rebuild(&y));
        y[1][0] += 0.02;
        assert!(list.needs_rebuild(&y));
        assert!(list.needs_rebuild(&x[..1]));
    }
}
