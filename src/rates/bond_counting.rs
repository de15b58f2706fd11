//! Bond counting: `E_a = E_0(s) + Σ_counted ε(s, s_k) (+ E_ES for interlayer hops)`.
//!
//! The classic solid-on-solid style model of film growth, with species-pair bond energies so
//! segregation and core–shell stability can be studied. On 3-D lattices hops need support: the
//! destination must keep at least one occupied neighbour besides the mover, and no neighbour of
//! the mover may be left without any neighbour (no floating atoms).

use super::{RateModel, per_species};
use crate::catalog::Event;
use crate::error::{Error, Result};
use crate::io::validate::{finite, non_negative_of, positive};
use crate::lattice::{Lattice, Offset, SiteRef};
use crate::state::State;
use crate::units::{arrhenius_beta, arrhenius_kt, boltzmann, boltzmann_beta, kt_ev};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which bonds of the hopping atom enter the barrier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BondCount {
    /// Every occupied nearest neighbour of the hopping atom.
    All,
    /// Only bonds that break: neighbours of the origin that are not also neighbours of the
    /// destination (the destination's shared neighbours keep their bond through the saddle).
    Broken,
    /// Only neighbours in the same atomic layer (the lateral bonds of solid-on-solid models;
    /// the substrate below is folded into `E_0`). Default.
    #[default]
    InLayer,
}

/// Attempt frequency and bare barrier of one species.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HopParams {
    /// Attempt frequency ν in Hz.
    pub prefactor_hz: f64,
    /// Barrier of a hop with no counted bonds, eV (on fcc(100) with `InLayer`: the terrace
    /// diffusion barrier of an isolated adatom).
    pub barrier_ev: f64,
}

/// Scenario spec of the bond-counting model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BondCountingSpec {
    /// Per species, by name.
    pub species: BTreeMap<String, HopParams>,
    /// Bond energies per unordered species pair, eV (positive = attractive), e.g.
    /// `[("Cu", "Cu", 0.26), ("Cu", "Ag", 0.22), ("Ag", "Ag", 0.20)]`.
    pub bonds_ev: Vec<(String, String, f64)>,
    /// Which bonds count.
    #[serde(default)]
    pub count: BondCount,
    /// Extra barrier of interlayer hops (down a step edge and, for detailed balance, back up).
    #[serde(default)]
    pub ehrlich_schwoebel_ev: f64,
    /// Offers transfers to free sites of a neighbouring grain (grain-boundary migration,
    /// `docs/grains.md`) with the barrier `E_0 + Σ ε` over the bonds `count` counts, ghosts
    /// included (`Broken`: those of neighbours farther than `TRANSFER_REACH_NN` from the
    /// destination). Default false: today they make a run over grains about ten times slower
    /// (the search for destinations runs for every atom near a boundary at every refresh).
    #[serde(default)]
    pub grain_transfers: bool,
    /// Enables adatom–substrate exchange with this bare barrier (eV); the barrier is
    /// `E_x + max(ΔE, 0)` with ΔE the bond-energy change, so detailed balance holds.
    #[serde(default)]
    pub exchange_barrier_ev: Option<f64>,
}

/// The built model.
#[derive(Debug, Clone)]
pub struct BondCounting {
    /// `ε(s, s')` by species index (0 = empty gives 0).
    eps: Vec<[f64; 16]>,
    /// `ν_s exp(−E_0(s) / kT)`.
    base: Vec<f64>,
    /// `ν_s exp(−E_x / kT)` if exchange is on.
    exchange_base: Option<Vec<f64>>,
    es_factor: f64,
    count: BondCount,
    inv_kt: f64,
    three_d: bool,
    transfers: bool,
}

impl BondCounting {
    /// Builds the model; `species[i]` is species `i + 1`.
    pub fn new(
        spec: &BondCountingSpec,
        species: &[String],
        lattice: &Lattice,
        temperature_k: f64,
    ) -> Result<Self> {
        let field = "rate_model.BondCounting";
        let params = per_species(&spec.species, species, &format!("{field}.species"))?;
        let kt = kt_ev(temperature_k);
        let mut base = vec![0.0];
        for (p, name) in params.iter().zip(species) {
            positive(
                format!("{field}.species.{name}.prefactor_hz"),
                p.prefactor_hz,
            )?;
            // A negative barrier makes the rate exceed the attempt frequency: at -30 eV the clock
            // stalls at t = 0, at -1e300 the rate is infinite and selection breaks.
            non_negative_of(
                format!("{field}.species.{name}.barrier_ev"),
                p.barrier_ev,
                "eV",
            )?;
            base.push(arrhenius_kt(p.prefactor_hz, p.barrier_ev, kt));
        }
        let ns = species.len();
        let mut eps = vec![[0.0; 16]; ns + 1];
        let mut seen = vec![[false; 16]; ns + 1];
        let id = |name: &str, i: usize| -> Result<usize> {
            species
                .iter()
                .position(|s| s == name)
                .map(|p| p + 1)
                .ok_or_else(|| {
                    Error::field(
                        format!("{field}.bonds_ev[{i}]"),
                        format!("unknown species `{name}` (known: {})", species.join(", ")),
                    )
                })
        };
        for (i, (a, b, e)) in spec.bonds_ev.iter().enumerate() {
            let (ia, ib) = (id(a, i)?, id(b, i)?);
            finite(format!("{field}.bonds_ev[{i}]"), *e)?;
            if seen[ia][ib] {
                return Err(Error::field(
                    format!("{field}.bonds_ev[{i}]"),
                    format!("pair ({a}, {b}) given twice"),
                ));
            }
            eps[ia][ib] = *e;
            eps[ib][ia] = *e;
            seen[ia][ib] = true;
            seen[ib][ia] = true;
        }
        for a in 1..=ns {
            for b in a..=ns {
                if !seen[a][b] {
                    return Err(Error::field(
                        format!("{field}.bonds_ev"),
                        format!(
                            "no bond energy for the pair ({}, {})",
                            species[a - 1],
                            species[b - 1]
                        ),
                    ));
                }
            }
        }
        finite(
            format!("{field}.ehrlich_schwoebel_ev"),
            spec.ehrlich_schwoebel_ev,
        )?;
        let exchange_base = match spec.exchange_barrier_ev {
            Some(ex) => {
                non_negative_of(format!("{field}.exchange_barrier_ev"), ex, "eV")?;
                Some(
                    std::iter::once(0.0)
                        .chain(params.iter().map(|p| arrhenius_kt(p.prefactor_hz, ex, kt)))
                        .collect(),
                )
            }
            None => None,
        };
        Ok(BondCounting {
            eps,
            base,
            exchange_base,
            es_factor: boltzmann(spec.ehrlich_schwoebel_ev, kt),
            count: spec.count,
            inv_kt: 1.0 / kt,
            three_d: !lattice.kind().is_2d(),
            transfers: spec.grain_transfers,
        })
    }

    /// Sum of `ε(s, ·)` over the occupied sites at `offsets` from `b`.
    #[inline]
    fn bond_sum(&self, state: &State, b: &SiteRef, s: usize, offsets: &[Offset]) -> f64 {
        let lat = state.lattice();
        let mut e = 0.0;
        for o in offsets {
            if let Some(m) = lat.index_at(b, o) {
                e += self.eps[s][state.species(m) as usize];
            }
        }
        e
    }

    /// Counted bond energy of the atom at `b` of species `s` (independent of the direction
    /// except for `Broken`).
    #[inline]
    fn counted_bonds(&self, state: &State, b: &SiteRef, s: usize) -> f64 {
        let lat = state.lattice();
        let t = lat.class_tables(b.class);
        let mut e = 0.0;
        for o in &t.neighbors {
            if self.count == BondCount::InLayer && o.dl != 0 {
                continue;
            }
            if let Some(m) = lat.index_at(b, o) {
                e += self.eps[s][state.species(m) as usize];
            }
        }
        e
    }

    /// True if the hop along `k` is allowed by the support rules.
    #[inline]
    fn supported(&self, state: &State, b: &SiteRef, k: usize, j: usize) -> bool {
        if !self.three_d {
            return true;
        }
        if state.coordination(j) < 2 {
            return false;
        }
        let lat = state.lattice();
        let h = &lat.class_tables(b.class).hops[k];
        h.only_from.iter().all(|o| match lat.index_at(b, o) {
            Some(m) => {
                let c = state.cell(m);
                !(c.occupied() && c.coordination() == 1)
            }
            None => true,
        })
    }

    /// Bond energy of the sites in `sites` (with species overridden by `species`), counting
    /// each bond once: the part of the configuration's energy an exchange can change.
    fn local_energy(&self, state: &State, sites: &[SiteRef; 3], species: &[u8; 3]) -> f64 {
        let lat = state.lattice();
        let sp = |idx: usize| -> usize {
            sites
                .iter()
                .position(|s| s.idx == idx)
                .map_or(state.species(idx) as usize, |p| species[p] as usize)
        };
        let mut e = 0.0;
        for (p, s) in sites.iter().enumerate() {
            let a = species[p] as usize;
            if a == 0 {
                continue;
            }
            for o in &lat.class_tables(s.class).neighbors {
                if self.count == BondCount::InLayer && o.dl != 0 {
                    continue;
                }
                if let Some(m) = lat.index_at(s, o) {
                    let w = if sites.iter().any(|q| q.idx == m) {
                        0.5
                    } else {
                        1.0
                    };
                    e -= w * self.eps[a][sp(m)];
                }
            }
        }
        e
    }

    fn exchanges(&self, state: &State, b: &SiteRef, f: &mut impl FnMut(Event, f64)) {
        let Some(xb) = &self.exchange_base else {
            return;
        };
        let lat = state.lattice();
        let sb = state.species(b.idx);
        for (v, t) in &lat.class_tables(b.class).exchanges {
            let (Some(s), Some(t)) = (lat.site_at_offset(b, v), lat.site_at_offset(b, t)) else {
                continue;
            };
            // A ghost is another grain's atom: it cannot be pushed along this lattice.
            if !state.cell(s.idx).occupied()
                || !state.is_mobile(&s)
                || state.is_ghost(s.idx)
                || state.cell(t.idx).occupied()
            {
                continue;
            }
            // The pushed-out atom needs support at its destination besides itself.
            if self.three_d && state.coordination(t.idx) < 2 {
                continue;
            }
            let sites = [*b, s, t];
            let ss = state.species(s.idx);
            let before = self.local_energy(state, &sites, &[sb, ss, 0]);
            let after = self.local_energy(state, &sites, &[0, sb, ss]);
            let de = after - before;
            let r = xb[sb as usize]
                * if de > 0.0 {
                    boltzmann_beta(de, self.inv_kt)
                } else {
                    1.0
                };
            f(
                Event::Exchange {
                    from: b.idx,
                    via: s.idx,
                    to: t.idx,
                },
                r,
            );
        }
    }
}

impl RateModel for BondCounting {
    fn name(&self) -> &'static str {
        "BondCounting"
    }

    fn interaction_range(&self) -> usize {
        // Support reads coordinations one step from the mover; exchanges read bonds around a
        // site two steps away: 3 covers both.
        if self.exchange_base.is_some() { 3 } else { 2 }
    }

    fn site_events(&mut self, state: &State, b: &SiteRef, out: &mut Vec<(Event, f64)>) {
        self.visit(state, b, |e, r| out.push((e, r)));
    }

    fn site_rate(&mut self, state: &State, b: &SiteRef) -> f64 {
        let mut sum = 0.0;
        self.visit(state, b, |_, r| sum += r);
        sum
    }

    fn offers_transfers(&self) -> bool {
        self.transfers
    }

    fn transfer_rate(&mut self, state: &State, b: &SiteRef, _n_to: usize, shared: u32) -> f64 {
        // As for a hop: the barrier reads the origin's bonds (with `Broken` those the
        // destination does not share), so forward and backward rates differ by the Boltzmann
        // factor of the bond-energy change.
        let s = state.species(b.idx) as usize;
        let e = if self.count == BondCount::Broken {
            let lat = state.lattice();
            let mut e = 0.0;
            for (k, o) in lat.class_tables(b.class).neighbors.iter().enumerate() {
                if shared & (1 << k) == 0 {
                    if let Some(m) = lat.index_at(b, o) {
                        e += self.eps[s][state.species(m) as usize];
                    }
                }
            }
            e
        } else {
            self.counted_bonds(state, b, s)
        };
        arrhenius_beta(self.base[s], e, self.inv_kt)
    }
}

impl BondCounting {
    /// Calls `f` with every event of the atom at `b` and its rate; `site_events` and
    /// `site_rate` both go through here, so their sums agree to the last bit.
    #[inline]
    fn visit(&self, state: &State, b: &SiteRef, mut f: impl FnMut(Event, f64)) {
        if !state.is_mobile(b) {
            return;
        }
        let lat = state.lattice();
        let s = state.species(b.idx) as usize;
        let t = lat.class_tables(b.class);
        let common = if self.count == BondCount::Broken {
            0.0
        } else {
            self.counted_bonds(state, b, s)
        };
        let common_rate = arrhenius_beta(self.base[s], common, self.inv_kt);
        for (k, o) in t.neighbors.iter().enumerate() {
            let Some(j) = lat.index_at(b, o) else {
                continue;
            };
            if state.cell(j).occupied() || !self.supported(state, b, k, j) {
                continue;
            }
            let mut r = if self.count == BondCount::Broken {
                let e = self.bond_sum(state, b, s, &t.hops[k].only_from);
                arrhenius_beta(self.base[s], e, self.inv_kt)
            } else {
                common_rate
            };
            if o.dl != 0 {
                r *= self.es_factor;
            }
            f(
                Event::Hop {
                    from: b.idx,
                    to: j,
                    dir: k as u8,
                },
                r,
            );
        }
        if self.exchange_base.is_some() {
            self.exchanges(state, b, &mut f);
        }
    }
}
