//! Observables of the lattice state, and the files they are written to.
//!
//! Everything here reads a [`State`]; nothing is recorded during the KMC loop itself, so
//! observing costs nothing between samples.

pub mod analyze;
pub mod checkpoint;
pub mod film;
pub mod particles;
pub mod plot;
pub mod segregation;
pub mod structure;
pub mod write;

use crate::state::State;
use hashbrown::HashMap;
use petgraph::unionfind::UnionFind;
use serde::{Deserialize, Serialize};

/// Film observables at one instant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observables {
    /// Simulated time, s.
    pub time_s: f64,
    /// Executed events.
    pub events: u64,
    /// Atoms above the substrate per layer site (monolayers).
    pub coverage_ml: f64,
    /// Mean column height above the substrate, in layers.
    pub mean_height_ml: f64,
    /// RMS deviation of the column heights (interface width), in layers.
    pub roughness_ml: f64,
    /// Connected clusters of film atoms (nearest-neighbour connectivity), monomers included.
    pub islands: usize,
    /// Clusters of two or more film atoms: the island density of nucleation theory, which
    /// counts monomers as the mobile population, not as islands.
    pub islands_ge2: usize,
    /// Film atoms per cluster.
    pub mean_island_size: f64,
    /// Film atoms of each species (index = species − 1).
    pub film_atoms_by_species: Vec<u64>,
}

/// The columns of `series.csv`, in order.
pub const SERIES_HEADER: &str = "time_s,events,coverage_ml,mean_height_ml,roughness_ml,islands,islands_ge2,mean_island_size,hops,deposited,active_atoms,total_rate_hz";

impl Observables {
    /// Measures `state`, whose bottom `substrate_layers` layers are the substrate.
    pub fn measure(
        state: &State,
        substrate_layers: usize,
        time_s: f64,
        events: u64,
        n_species: usize,
    ) -> Self {
        let lat = state.lattice();
        let ls = lat.layer_size();
        let film: u64 = state.layer_atoms().iter().skip(substrate_layers).sum();
        let coverage_ml = film as f64 / ls as f64;
        let (mean, rough) = if lat.kind().is_2d() {
            (coverage_ml, 0.0)
        } else {
            let base = substrate_layers as f64;
            let heights = state
                .column_tops()
                .iter()
                .map(|&t| (t as f64 + 1.0 - base).max(0.0));
            let n = ls as f64;
            let (s, s2) = heights.fold((0.0, 0.0), |(a, b), h| (a + h, b + h * h));
            let m = s / n;
            (m, (s2 / n - m * m).max(0.0).sqrt())
        };
        let Clusters {
            islands,
            islands_ge2,
            film_atoms_by_species: by_species,
        } = clusters(state, substrate_layers, n_species);
        Observables {
            time_s,
            events,
            coverage_ml,
            mean_height_ml: mean,
            roughness_ml: rough,
            islands,
            islands_ge2,
            mean_island_size: if islands > 0 {
                film as f64 / islands as f64
            } else {
                0.0
            },
            film_atoms_by_species: by_species,
        }
    }
}

/// Clusters of film atoms (nearest-neighbour connectivity) and film atoms per species.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Clusters {
    /// All clusters, monomers included.
    pub islands: usize,
    /// Clusters of two or more atoms.
    pub islands_ge2: usize,
    /// Film atoms of each species (index = species − 1).
    pub film_atoms_by_species: Vec<u64>,
}

/// The clusters of the film atoms of `state` above its bottom `substrate_layers` layers.
pub fn clusters(state: &State, substrate_layers: usize, n_species: usize) -> Clusters {
    let lat = state.lattice();
    let ls = lat.layer_size();
    let top = match state.top_layer() {
        Some(t) if t >= substrate_layers => t,
        _ => {
            return Clusters {
                film_atoms_by_species: vec![0; n_species],
                ..Clusters::default()
            };
        }
    };
    let mut id: HashMap<usize, usize> = HashMap::new();
    let mut sites = Vec::new();
    let mut by_species = vec![0u64; n_species];
    for idx in substrate_layers * ls..(top + 1) * ls {
        let sp = state.species(idx);
        if sp != 0 {
            id.insert(idx, sites.len());
            sites.push(idx);
            if let Some(c) = by_species.get_mut(sp as usize - 1) {
                *c += 1;
            }
        }
    }
    let mut uf = UnionFind::<usize>::new(sites.len());
    for (k, &idx) in sites.iter().enumerate() {
        let s = lat.site_at(idx);
        for (_, n) in lat.neighbors(&s) {
            if n.idx > idx {
                if let Some(&m) = id.get(&n.idx) {
                    uf.union(k, m);
                }
            }
        }
    }
    let mut roots: Vec<usize> = (0..sites.len()).map(|k| uf.find(k)).collect();
    roots.sort_unstable();
    // Sorted roots: each run of equal roots is one cluster, its length the cluster's size.
    let islands_ge2 = roots
        .chunk_by(|a, b| a == b)
        .filter(|c| c.len() >= 2)
        .count();
    roots.dedup();
    Clusters {
        islands: roots.len(),
        islands_ge2,
        film_atoms_by_species: by_species,
    }
}

#[cfg(test)]
mod tests;
