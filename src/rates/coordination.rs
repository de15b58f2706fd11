//! Coordination–Metropolis model: site energies by coordination, `E_a = Q + max(ΔE, 0)`.
//!
//! The energy of a configuration is `Σ_occupied E_s(n)` with `n` the number of occupied nearest
//! neighbours. A hop `b → j` changes the coordination of the mover and of the sites that are
//! neighbours of exactly one of `b` and `j`; common neighbours keep theirs. So
//! `ΔE = E(n_j − 1) − E(n_b) + Σ_{only b} [E(n−1) − E(n)] + Σ_{only j} [E(n+1) − E(n)]`, read
//! from 16 packed bytes and two 256-entry tables indexed by the byte itself. This is the model of
//! SPPARKS's `diffusion nonlinear hop` app, so speed can be compared on identical physics.

use super::{RateModel, finite, per_species, positive};
use crate::catalog::Event;
use crate::error::{Error, Result};
use crate::lattice::{Lattice, SiteRef};
use crate::state::State;
use crate::units::kt_ev;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Site energy as a function of coordination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SiteEnergy {
    /// `E(n) = coefficient_ev · √n` (e.g. −1.0218 for the benchmark's Cu).
    Sqrt {
        /// Coefficient in eV.
        coefficient_ev: f64,
    },
    /// `E(n) = coefficient_ev · n` (pair bonds, each counted from both ends).
    Linear {
        /// Energy per neighbour in eV.
        coefficient_ev: f64,
    },
    /// `E(n)` tabulated for n = 0 ..= z (z = the lattice coordination).
    Table(Vec<f64>),
}

/// Per-species parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoordinationParams {
    /// Attempt frequency ν in Hz.
    pub prefactor_hz: f64,
    /// Barrier `Q` of a hop that does not raise the energy, eV.
    pub barrier_ev: f64,
    /// Site energy `E(n)`.
    pub site_energy: SiteEnergy,
}

/// Scenario spec of the coordination–Metropolis model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoordinationMetropolisSpec {
    /// Parameters of each species, by name.
    pub species: BTreeMap<String, CoordinationParams>,
}

/// The built model.
#[derive(Debug, Clone)]
pub struct CoordinationMetropolis {
    /// `E_s(n)` for species s (1-based index) and n = 0..=15 (values past z are never read).
    energy: Vec<[f64; 16]>,
    /// `E(n−1) − E(n)` for an occupied byte, 0 for an empty one.
    d_minus: Box<[f64; 256]>,
    /// `E(n+1) − E(n)` for an occupied byte, 0 for an empty one.
    d_plus: Box<[f64; 256]>,
    /// `ν_s exp(−Q_s / kT)`.
    base: Vec<f64>,
    boltzmann: Boltzmann,
    /// Per class and direction: index deltas of the destination and of the sites whose
    /// coordination the hop changes, for the wrap-free interior path.
    deltas: Vec<Vec<HopDeltas>>,
}

/// `min(1, exp(−ΔE/kT))` with a small direct-mapped memo of the exponentials: a run meets
/// the same few thousand ΔE values over and over (they are sums of a few table entries), and a
/// memo hit is several times cheaper than `exp`. The value is `exp` either way.
#[derive(Debug, Clone)]
struct Boltzmann {
    inv_kt: f64,
    keys: Box<[u64; MEMO]>,
    values: Box<[f64; MEMO]>,
}

const MEMO: usize = 2048;

impl Boltzmann {
    fn new(inv_kt: f64) -> Self {
        // NaN bits: never the key of a finite ΔE.
        Boltzmann { inv_kt, keys: Box::new([u64::MAX; MEMO]), values: Box::new([0.0; MEMO]) }
    }

    #[inline(always)]
    fn rate(&mut self, base: f64, de: f64) -> f64 {
        if de <= 0.0 {
            return base;
        }
        let bits = de.to_bits();
        let slot = (bits.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 53) as usize % MEMO;
        if self.keys[slot] != bits {
            self.keys[slot] = bits;
            self.values[slot] = (-de * self.inv_kt).exp();
        }
        base * self.values[slot]
    }
}

/// Linear-index deltas of one hop direction (interior sites only).
#[derive(Debug, Clone, Copy)]
struct HopDeltas {
    to: isize,
    n_from: usize,
    n_to: usize,
    /// `only_from` deltas then `only_to` deltas.
    sites: [isize; 24],
}

fn hop_deltas(lattice: &Lattice) -> Vec<Vec<HopDeltas>> {
    (0..lattice.n_classes())
        .map(|c| {
            let t = lattice.class_tables(c as u8);
            t.hops
                .iter()
                .zip(&t.neighbors)
                .map(|(h, to)| {
                    let mut sites = [0isize; 24];
                    for (slot, o) in sites.iter_mut().zip(h.only_from.iter().chain(&h.only_to)) {
                        *slot = o.delta;
                    }
                    HopDeltas {
                        to: to.delta,
                        n_from: h.only_from.len(),
                        n_to: h.only_to.len(),
                        sites,
                    }
                })
                .collect()
        })
        .collect()
}

impl CoordinationMetropolis {
    /// Builds the model; `species[i]` is species `i + 1`.
    pub fn new(
        spec: &CoordinationMetropolisSpec,
        species: &[String],
        lattice: &Lattice,
        temperature_k: f64,
    ) -> Result<Self> {
        let field = "rate_model.CoordinationMetropolis.species";
        let params = per_species(&spec.species, species, field)?;
        let z = lattice.coordination();
        let kt = kt_ev(temperature_k);
        let mut energy = vec![[0.0; 16]];
        let mut base = vec![0.0];
        for (p, name) in params.iter().zip(species) {
            let f = format!("{field}.{name}");
            positive(p.prefactor_hz, &format!("{f}.prefactor_hz"))?;
            finite(p.barrier_ev, &format!("{f}.barrier_ev"))?;
            let mut e = [0.0; 16];
            match &p.site_energy {
                SiteEnergy::Sqrt { coefficient_ev } => {
                    finite(*coefficient_ev, &format!("{f}.site_energy.coefficient_ev"))?;
                    for (n, v) in e.iter_mut().enumerate() {
                        *v = coefficient_ev * (n.min(z) as f64).sqrt();
                    }
                }
                SiteEnergy::Linear { coefficient_ev } => {
                    finite(*coefficient_ev, &format!("{f}.site_energy.coefficient_ev"))?;
                    for (n, v) in e.iter_mut().enumerate() {
                        *v = coefficient_ev * n.min(z) as f64;
                    }
                }
                SiteEnergy::Table(t) => {
                    if t.len() != z + 1 {
                        return Err(Error::field(
                            format!("{f}.site_energy"),
                            format!(
                                "table needs {} values (n = 0..={z} on {:?}), got {}",
                                z + 1,
                                lattice.kind(),
                                t.len()
                            ),
                        ));
                    }
                    for (n, v) in e.iter_mut().enumerate() {
                        *v = finite(t[n.min(z)], &format!("{f}.site_energy[{}]", n.min(z)))?;
                    }
                }
            }
            energy.push(e);
            base.push(p.prefactor_hz * (-p.barrier_ev / kt).exp());
        }
        let mut d_minus = Box::new([0.0; 256]);
        let mut d_plus = Box::new([0.0; 256]);
        for b in 16..256usize {
            let (s, n) = (b >> 4, b & 15);
            if s < energy.len() {
                let e = &energy[s];
                d_minus[b] = if n > 0 { e[n - 1] - e[n] } else { 0.0 };
                d_plus[b] = if n < 15 { e[n + 1] - e[n] } else { 0.0 };
            }
        }
        Ok(CoordinationMetropolis {
            deltas: hop_deltas(lattice),
            energy,
            d_minus,
            d_plus,
            base,
            boltzmann: Boltzmann::new(1.0 / kt),
        })
    }

    /// Energy change of the hop along direction `k`, or `None` if the destination is occupied
    /// or does not exist.
    #[inline(always)]
    fn hop_delta_e<const INTERIOR: bool>(
        &self,
        state: &State,
        b: &SiteRef,
        k: usize,
    ) -> Option<(usize, f64)> {
        let lat = state.lattice();
        let cells = state.cells();
        let t = lat.class_tables(b.class);
        let at = |o: &crate::lattice::Offset| -> usize {
            if INTERIOR {
                (b.idx as isize + o.delta) as usize
            } else {
                lat.index_at(b, o).unwrap_or(usize::MAX)
            }
        };
        let read = |o: &crate::lattice::Offset| -> usize {
            let m = at(o);
            if INTERIOR || m != usize::MAX {
                cells[m] as usize
            } else {
                0
            }
        };
        let j = at(&t.neighbors[k]);
        if !INTERIOR && j == usize::MAX {
            return None;
        }
        let cj = cells[j];
        if cj >= 16 {
            return None;
        }
        let cb = cells[b.idx];
        let e = &self.energy[(cb >> 4) as usize];
        let h = &t.hops[k];
        let mut de = e[(cj & 15) as usize - 1] - e[(cb & 15) as usize];
        for o in &h.only_from {
            de += self.d_minus[read(o)];
        }
        for o in &h.only_to {
            de += self.d_plus[read(o)];
        }
        Some((j, de))
    }


    /// Total rate of an atom whose reads all resolve without wrap (the hot path).
    #[inline(always)]
    fn total_interior(&mut self, state: &State, b: &SiteRef) -> f64 {
        let cells = state.cells();
        debug_assert!(b.interior);
        // SAFETY: `b.interior` guarantees that every site within `READ_RADIUS` (3) steps of
        // `b` lies inside the allocation at `b.idx + delta`; the deltas read here are at most
        // two steps (a neighbour of a neighbour).
        let at = |d: isize| unsafe { *cells.get_unchecked((b.idx as isize + d) as usize) };
        let cb = cells[b.idx];
        let e = &self.energy[(cb >> 4) as usize];
        let e_b = e[(cb & 15) as usize];
        let base = self.base[(cb >> 4) as usize];
        let mut sum = 0.0;
        for h in &self.deltas[b.class as usize] {
            let cj = at(h.to);
            if cj >= 16 {
                continue;
            }
            let mut de = e[(cj & 15) as usize - 1] - e_b;
            for &d in &h.sites[..h.n_from] {
                de += self.d_minus[at(d) as usize];
            }
            for &d in &h.sites[h.n_from..h.n_from + h.n_to] {
                de += self.d_plus[at(d) as usize];
            }
            sum += self.boltzmann.rate(base, de);
        }
        sum
    }

    fn total_wrapped(&mut self, state: &State, b: &SiteRef) -> f64 {
        let base = self.base[state.species(b.idx) as usize];
        let z = state.lattice().class_tables(b.class).neighbors.len();
        let mut sum = 0.0;
        for k in 0..z {
            if let Some((_, de)) = self.hop_delta_e::<false>(state, b, k) {
                sum += self.boltzmann.rate(base, de);
            }
        }
        sum
    }

    /// Energy change of a hop (for tests and diagnostics).
    pub fn delta_e(&self, state: &State, b: &SiteRef, k: usize) -> Option<f64> {
        self.hop_delta_e::<false>(state, b, k).map(|x| x.1)
    }
}

impl RateModel for CoordinationMetropolis {
    fn name(&self) -> &'static str {
        "CoordinationMetropolis"
    }

    fn interaction_range(&self) -> usize {
        // A hop's ΔE reads coordinations of sites one step from the mover or its destination;
        // a coordination changes when a site one step away changes: 1 + 1 + 1 = 3.
        3
    }

    fn site_events(&mut self, state: &State, b: &SiteRef, out: &mut Vec<(Event, f64)>) {
        let base = self.base[state.species(b.idx) as usize];
        let z = state.lattice().class_tables(b.class).neighbors.len();
        for k in 0..z {
            let hop = if b.interior {
                self.hop_delta_e::<true>(state, b, k)
            } else {
                self.hop_delta_e::<false>(state, b, k)
            };
            if let Some((j, de)) = hop {
                out.push((
                    Event::Hop {
                        from: b.idx,
                        to: j,
                        dir: k as u8,
                    },
                    self.boltzmann.rate(base, de),
                ));
            }
        }
    }

    #[inline]
    fn site_rate(&mut self, state: &State, b: &SiteRef) -> f64 {
        if b.interior {
            self.total_interior(state, b)
        } else {
            self.total_wrapped(state, b)
        }
    }
}
