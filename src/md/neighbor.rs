//! Neighbour lists.
//!
//! A list stores, for each atom `i`, entries `(j, image)` such that the displacement to the
//! neighbour is `x[j] + image · L - x[i]`. Images make boxes smaller than two cutoffs work: the
//! same `j` may appear with several images.

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
}

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
        }
    }

    /// Which atom of a pair stores it in a half list: the pair `(i, j, image)` is the same pair
    /// as `(j, i, -image)`, and exactly one of the two satisfies this rule.
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
}
