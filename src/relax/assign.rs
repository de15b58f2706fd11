//! Sparse rectangular minimum-cost assignment: every row (atom) gets its own column (site),
//! minimising the summed cost over the allowed (row, column) pairs.
//!
//! The method is the shortest-augmenting-path algorithm of Jonker & Volgenant in the
//! rectangular form of Crouse (IEEE Trans. Aerosp. Electron. Syst. 52, 1679, 2016; the scheme
//! behind SciPy's `linear_sum_assignment`), with the dense column scan replaced by Dijkstra over
//! the sparse candidate lists and a binary heap. Duals `u` (rows) and `v ≤ 0` (columns) keep
//! every reduced cost `c_ij − u_i − v_j` non-negative, so each augmentation is a shortest path
//! and the final assignment is optimal among those using only the listed pairs.
//!
//! A greedy warm start (each row, closest first, takes its cheapest column if still free, with
//! `u_i` = that cost) is dual feasible and leaves only the conflicting rows for augmentation —
//! for atoms near their sites that is a handful out of thousands.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::hash::Hash;

const NONE: u32 = u32::MAX;

/// Sites (or any keys) numbered as columns in the order first met, so that a site many atoms
/// reach is one column.
#[derive(Debug)]
pub(crate) struct Columns<K> {
    of: hashbrown::HashMap<K, u32>,
    /// The key of each column.
    pub keys: Vec<K>,
}

impl<K: Copy + Eq + Hash> Columns<K> {
    pub(crate) fn new() -> Self {
        Columns {
            of: hashbrown::HashMap::new(),
            keys: Vec::new(),
        }
    }

    /// The column of `key`, numbered now if it is new.
    pub(crate) fn id(&mut self, key: K) -> u32 {
        let keys = &mut self.keys;
        *self.of.entry(key).or_insert_with(|| {
            keys.push(key);
            keys.len() as u32 - 1
        })
    }

    /// Number of columns.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }
}

/// Rows that could not all be given a column: a set of rows whose listed columns are fewer
/// than the rows (Hall's condition fails); widening their candidate lists may cure it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unassignable {
    /// The rows reached by the failed search (the starting row first).
    pub rows: Vec<u32>,
}

/// A row that [`solve_widening`] could not serve within the largest radius.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unserved {
    /// The row.
    pub row: usize,
    /// Rows that competed with it for the columns near it.
    pub competing: usize,
}

/// [`solve`], widening candidate lists until every row is served: the rows of a failed
/// search double their radius (`radius[i]`, at most `r_max`) and `refill(i, r, row)` lists row
/// `i`'s candidates within `r` again, returning the number of columns then known. Starts from
/// `edges` over `n_cols` columns; returns the columns and how many times it widened.
pub(crate) fn solve_widening(
    edges: &mut [Vec<(u32, f64)>],
    mut n_cols: usize,
    radius: &mut [f64],
    r_max: f64,
    mut refill: impl FnMut(usize, f64, &mut Vec<(u32, f64)>) -> usize,
) -> Result<(Vec<u32>, usize), Unserved> {
    let mut widenings = 0;
    loop {
        match solve(edges, n_cols) {
            Ok(c) => return Ok((c, widenings)),
            Err(e) => {
                widenings += 1;
                for &row in &e.rows {
                    let i = row as usize;
                    radius[i] *= 2.0;
                    if radius[i] > r_max * (1.0 + 1e-12) {
                        return Err(Unserved {
                            row: i,
                            competing: e.rows.len(),
                        });
                    }
                    radius[i] = radius[i].min(r_max);
                    n_cols = n_cols.max(refill(i, radius[i], &mut edges[i]));
                }
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
struct Entry(f64, u32);

impl Eq for Entry {}

impl Ord for Entry {
    // Reversed, so the max-heap pops the smallest distance (ties: lowest column, so the
    // result never depends on insertion order).
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(other.1.cmp(&self.1))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Solves the assignment of `edges.len()` rows to distinct columns `0..n_cols`, where
/// `edges[i]` lists the allowed `(column, cost)` pairs of row `i` (costs finite). Returns the
/// column of each row.
pub(crate) fn solve(edges: &[Vec<(u32, f64)>], n_cols: usize) -> Result<Vec<u32>, Unassignable> {
    let n = edges.len();
    let mut u = vec![0.0f64; n];
    let mut v = vec![0.0f64; n_cols];
    let mut col4row = vec![NONE; n];
    let mut row4col = vec![NONE; n_cols];

    // Warm start.
    let mut order: Vec<(f64, u32, u32)> = Vec::with_capacity(n);
    for (i, e) in edges.iter().enumerate() {
        if let Some(&(j, c)) = e
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
        {
            order.push((c, i as u32, j));
        }
    }
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for &(c, i, j) in &order {
        if row4col[j as usize] == NONE {
            row4col[j as usize] = i;
            col4row[i as usize] = j;
            u[i as usize] = c;
        }
    }

    let mut dist = vec![f64::INFINITY; n_cols];
    let mut path = vec![NONE; n_cols];
    let mut scanned = vec![false; n_cols];
    let mut touched: Vec<u32> = Vec::new();
    let mut sc: Vec<u32> = Vec::new();
    let mut sr: Vec<u32> = Vec::new();
    let mut heap: BinaryHeap<Entry> = BinaryHeap::new();

    for cur in 0..n {
        if col4row[cur] != NONE {
            continue;
        }
        let mut i = cur;
        let mut min_val = 0.0f64;
        let sink = loop {
            sr.push(i as u32);
            for &(j, c) in &edges[i] {
                let ju = j as usize;
                if scanned[ju] {
                    continue;
                }
                let r = min_val + c - u[i] - v[ju];
                if r < dist[ju] {
                    if dist[ju] == f64::INFINITY {
                        touched.push(j);
                    }
                    dist[ju] = r;
                    path[ju] = i as u32;
                    heap.push(Entry(r, j));
                }
            }
            let next = loop {
                match heap.pop() {
                    None => break None,
                    Some(Entry(d, j)) => {
                        // Skip stale entries (a shorter distance was found later).
                        if scanned[j as usize] || d > dist[j as usize] {
                            continue;
                        }
                        break Some(j);
                    }
                }
            };
            let Some(j) = next else {
                return Err(Unassignable { rows: sr });
            };
            let ju = j as usize;
            min_val = dist[ju];
            scanned[ju] = true;
            sc.push(j);
            if row4col[ju] == NONE {
                break ju;
            }
            i = row4col[ju] as usize;
        };
        // Dual update (Crouse 2016, Algorithm 1), then flip the path.
        u[cur] += min_val;
        for &r in &sr[1..] {
            let r = r as usize;
            u[r] += min_val - dist[col4row[r] as usize];
        }
        for &j in &sc {
            v[j as usize] -= min_val - dist[j as usize];
        }
        let mut j = sink;
        loop {
            let i = path[j] as usize;
            row4col[j] = i as u32;
            let prev = col4row[i];
            col4row[i] = j as u32;
            if i == cur {
                break;
            }
            j = prev as usize;
        }
        for &j in &touched {
            dist[j as usize] = f64::INFINITY;
        }
        for &j in &sc {
            scanned[j as usize] = false;
        }
        touched.clear();
        sc.clear();
        sr.clear();
        heap.clear();
    }
    Ok(col4row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stream, stream, uniform};

    /// Exhaustive minimum over injective assignments (small problems only).
    fn brute(edges: &[Vec<(u32, f64)>], n_cols: usize) -> Option<f64> {
        fn go(i: usize, edges: &[Vec<(u32, f64)>], used: &mut [bool], acc: f64) -> Option<f64> {
            if i == edges.len() {
                return Some(acc);
            }
            let mut best: Option<f64> = None;
            for &(j, c) in &edges[i] {
                if !used[j as usize] {
                    used[j as usize] = true;
                    if let Some(v) = go(i + 1, edges, used, acc + c) {
                        best = Some(best.map_or(v, |b: f64| b.min(v)));
                    }
                    used[j as usize] = false;
                }
            }
            best
        }
        go(0, edges, &mut vec![false; n_cols], 0.0)
    }

    #[test]
    fn matches_exhaustive_search_on_random_sparse_problems() {
        let mut rng = stream(11, Stream::Md);
        let (mut feasible, mut infeasible) = (0, 0);
        for _ in 0..400 {
            let n = 1 + (uniform(&mut rng) * 7.0) as usize;
            let m = n + (uniform(&mut rng) * 4.0) as usize;
            let mut edges = vec![Vec::new(); n];
            for e in edges.iter_mut() {
                for j in 0..m {
                    if uniform(&mut rng) < 0.45 {
                        // Integer costs make ties common, which exercises the tie handling.
                        e.push((j as u32, (uniform(&mut rng) * 6.0).floor()));
                    }
                }
            }
            match (solve(&edges, m), brute(&edges, m)) {
                (Ok(cols), Some(best)) => {
                    feasible += 1;
                    let mut seen = vec![false; m];
                    let mut total = 0.0;
                    for (i, &j) in cols.iter().enumerate() {
                        assert!(!seen[j as usize], "column {j} used twice");
                        seen[j as usize] = true;
                        let c = edges[i].iter().find(|e| e.0 == j).expect("listed pair").1;
                        total += c;
                    }
                    assert!((total - best).abs() < 1e-9, "{total} vs optimum {best}");
                }
                (Err(e), None) => {
                    infeasible += 1;
                    assert!(!e.rows.is_empty());
                }
                (got, want) => panic!("solver {got:?} but exhaustive search {want:?}"),
            }
        }
        assert!(
            feasible > 100 && infeasible > 20,
            "{feasible} / {infeasible}"
        );
    }

    #[test]
    fn conflict_on_one_column_goes_to_the_cheaper_total() {
        // Both rows prefer column 0; row 1 gives it up more cheaply (2 → 3 vs 1 → 5).
        let edges = vec![vec![(0, 1.0), (1, 5.0)], vec![(0, 2.0), (2, 3.0)]];
        assert_eq!(solve(&edges, 3).unwrap(), vec![0, 2]);
    }
}
