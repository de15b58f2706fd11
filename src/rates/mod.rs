//! Rate models: the rate of every event of an atom in its local environment.
//!
//! All models are Arrhenius, `r = ν exp(−E_a / k_B T)`; they differ in how `E_a` follows from
//! the environment. The engine never knows which model it runs: it asks for an atom's total rate
//! after something changed within the model's [`RateModel::interaction_range`], and for the
//! atom's events when the sampler picked it.

mod bond_counting;
mod coordination;
mod custom;
pub mod eam_neb;
mod table;

pub use bond_counting::{BondCount, BondCounting, BondCountingSpec, HopParams};
pub use coordination::{
    CoordinationMetropolis, CoordinationMetropolisSpec, CoordinationParams, SiteEnergy,
};
pub use custom::{CloneRateModel, CustomRateModel};
pub use eam_neb::{EamNeb, EamNebSpec, EamPotential};
pub use table::{
    BarrierTable, BarrierTableFile, BarrierTableSpec, IN_PLANE_KEYS, INTERLAYER_N, KEY_SITES,
    SpeciesBarriers, load_barrier_table, mirror_mask, parse_barrier_table, reverse_mask,
};

use crate::catalog::Event;
use crate::error::{Error, Result};
use crate::lattice::{Lattice, SiteRef};
use crate::state::State;
use serde::{Deserialize, Serialize};

/// A rate model.
///
/// Rates must be a pure function of the local configuration (the sites within
/// [`crate::lattice::READ_RADIUS`] steps): the evaluation methods take `&mut self` only so a
/// model can cache what it computed (an on-the-fly barrier, an exponential), never so that a
/// rate depends on history.
///
/// A cell may hold a *ghost* ([`State::is_ghost`]), an atom of another grain: it is an occupied
/// neighbour like any other, but an event must never move it (no exchange pushes a ghost).
pub trait RateModel: Send + Sync {
    /// Short name for output.
    fn name(&self) -> &'static str;

    /// Nearest-neighbour steps from a site whose occupancy or species changed within which the
    /// rates of this model can change (at most [`crate::lattice::MAX_RANGE`]).
    fn interaction_range(&self) -> usize;

    /// The events of the atom at `site` with their rates (rates > 0 only), appended to `out`.
    /// Reads at most [`crate::lattice::READ_RADIUS`] steps around `site`.
    fn site_events(&mut self, state: &State, site: &SiteRef, out: &mut Vec<(Event, f64)>);

    /// Total rate of the atom's events; must equal the sum of `site_events` computed in the
    /// same order (the engine relies on it to pick an event within the atom).
    fn site_rate(&mut self, state: &State, site: &SiteRef) -> f64 {
        let mut v = Vec::new();
        self.site_events(state, site, &mut v);
        v.iter().map(|e| e.1).sum()
    }

    /// True if the model offers *transfers*: the atom moves to a free site of another grain
    /// (grain-boundary migration, `docs/grains.md`), at [`RateModel::transfer_rate`]. Default:
    /// false, no transfers.
    fn offers_transfers(&self) -> bool {
        false
    }

    /// Rate of one transfer of the atom at `site` to a site of another grain where it would
    /// have `n_to` occupied neighbours; bit k of `shared` marks the atom's neighbour in
    /// direction k as a neighbour of the destination too (a bond that need not break). It
    /// may read what [`RateModel::site_events`] reads; it cannot read the destination's
    /// grain, so a law must be written in the atom's own environment, `n_to` and `shared`,
    /// with `r(a → b) / r(b → a) = exp(−(E_b − E_a) / kT)` for the model's energy (detailed
    /// balance across the boundary). Asked only if [`RateModel::offers_transfers`].
    /// Default: 0.
    fn transfer_rate(
        &mut self,
        _state: &State,
        _site: &SiteRef,
        _n_to: usize,
        _shared: u32,
    ) -> f64 {
        0.0
    }

    /// Called by the engine after the sites `changed` changed and before it asks for the
    /// rates of the atoms within [`RateModel::interaction_range`] of them, so a model that
    /// computes rates expensively can compute what it lacks in one parallel batch. Rates must
    /// not depend on whether this was called. Default: nothing.
    #[inline]
    fn prefetch(&mut self, _state: &State, _changed: &[SiteRef]) {}
}

/// Rate model styles of a scenario (`rate_model: BondCounting((...))`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RateModelSpec {
    /// `E_a = E_0 + Σ ε_bonds (+ E_ES for interlayer hops)`.
    BondCounting(BondCountingSpec),
    /// `E_a = Q + max(ΔE, 0)` with site energies `E(n)` by coordination (SPPARKS's diffusion app).
    CoordinationMetropolis(CoordinationMetropolisSpec),
    /// Barriers by species and local configuration from a RON table file (`rates/*.ron`).
    BarrierTable(BarrierTableSpec),
    /// Barriers computed on the fly with the EAM (relaxed end states, CI-NEB), cached by
    /// local environment.
    EamNeb(EamNebSpec),
}

/// A rate model built from a spec (enum dispatch: no virtual call in the hot loop).
#[derive(Debug, Clone)]
pub enum AnyRateModel {
    /// See [`BondCounting`].
    BondCounting(BondCounting),
    /// See [`CoordinationMetropolis`].
    CoordinationMetropolis(CoordinationMetropolis),
    /// See [`BarrierTable`].
    BarrierTable(BarrierTable),
    /// A model defined outside the crate (see [`CustomRateModel`]).
    Custom(CustomRateModel),
    /// See [`EamNeb`].
    EamNeb(Box<EamNeb>),
}

/// One style of a scenario's registry, as `kmc info` and the reference docs list it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StyleInfo {
    /// The style's name in a scenario (the enum variant).
    pub name: &'static str,
    /// One line on what the style does.
    pub summary: &'static str,
}

impl RateModelSpec {
    /// Every rate model style, in the order `kmc info` lists them. A new style adds its
    /// variant above and its line here (a test checks the two agree).
    pub const STYLES: &[StyleInfo] = &[
        StyleInfo {
            name: "BondCounting",
            summary: "E_a = E_0 + Σ ε(bonds) (+ Ehrlich–Schwoebel), optional exchange",
        },
        StyleInfo {
            name: "CoordinationMetropolis",
            summary: "E_a = Q + max(ΔE, 0), site energies E(n) (SPPARKS diffusion app)",
        },
        StyleInfo {
            name: "BarrierTable",
            summary: "barriers by species and local configuration, from a RON table (rates/)",
        },
        StyleInfo {
            name: "EamNeb",
            summary: "barriers from EAM saddle searches (CI-NEB), cached by local environment",
        },
    ];

    /// Builds the model for the scenario's species (index `i` is species `i + 1`), lattice and
    /// temperature.
    pub fn build(
        &self,
        species: &[String],
        lattice: &Lattice,
        temperature_k: f64,
    ) -> Result<AnyRateModel> {
        Ok(match self {
            RateModelSpec::BondCounting(s) => {
                AnyRateModel::BondCounting(BondCounting::new(s, species, lattice, temperature_k)?)
            }
            RateModelSpec::CoordinationMetropolis(s) => AnyRateModel::CoordinationMetropolis(
                CoordinationMetropolis::new(s, species, lattice, temperature_k)?,
            ),
            RateModelSpec::BarrierTable(s) => {
                AnyRateModel::BarrierTable(BarrierTable::new(s, species, lattice, temperature_k)?)
            }
            RateModelSpec::EamNeb(s) => {
                AnyRateModel::EamNeb(Box::new(EamNeb::new(s, species, lattice, temperature_k)?))
            }
        })
    }
}

impl AnyRateModel {
    /// Writes the model's barrier cache if it has one with new entries (EamNeb); returns the
    /// file and the number of entries written.
    pub fn save_cache(&self) -> Result<Option<(std::path::PathBuf, usize)>> {
        match self {
            AnyRateModel::EamNeb(m) if m.new_entries() > 0 => m.save(),
            _ => Ok(None),
        }
    }

    /// The EamNeb model's work counters (cache hits, saddle searches), if this is one.
    pub fn eam_neb_stats(&self) -> Option<eam_neb::EamNebStats> {
        match self {
            AnyRateModel::EamNeb(m) => Some(m.stats()),
            _ => None,
        }
    }
}

impl RateModel for AnyRateModel {
    fn name(&self) -> &'static str {
        match self {
            AnyRateModel::BondCounting(m) => m.name(),
            AnyRateModel::CoordinationMetropolis(m) => m.name(),
            AnyRateModel::BarrierTable(m) => m.name(),
            AnyRateModel::Custom(m) => m.name(),
            AnyRateModel::EamNeb(m) => m.name(),
        }
    }

    fn interaction_range(&self) -> usize {
        match self {
            AnyRateModel::BondCounting(m) => m.interaction_range(),
            AnyRateModel::CoordinationMetropolis(m) => m.interaction_range(),
            AnyRateModel::BarrierTable(m) => m.interaction_range(),
            AnyRateModel::Custom(m) => m.interaction_range(),
            AnyRateModel::EamNeb(m) => m.interaction_range(),
        }
    }

    #[inline]
    fn site_events(&mut self, state: &State, site: &SiteRef, out: &mut Vec<(Event, f64)>) {
        match self {
            AnyRateModel::BondCounting(m) => m.site_events(state, site, out),
            AnyRateModel::CoordinationMetropolis(m) => m.site_events(state, site, out),
            AnyRateModel::BarrierTable(m) => m.site_events(state, site, out),
            AnyRateModel::Custom(m) => m.site_events(state, site, out),
            AnyRateModel::EamNeb(m) => m.site_events(state, site, out),
        }
    }

    #[inline]
    fn site_rate(&mut self, state: &State, site: &SiteRef) -> f64 {
        match self {
            AnyRateModel::BondCounting(m) => m.site_rate(state, site),
            AnyRateModel::CoordinationMetropolis(m) => m.site_rate(state, site),
            AnyRateModel::BarrierTable(m) => m.site_rate(state, site),
            AnyRateModel::Custom(m) => m.site_rate(state, site),
            AnyRateModel::EamNeb(m) => m.site_rate(state, site),
        }
    }

    fn offers_transfers(&self) -> bool {
        match self {
            AnyRateModel::BondCounting(m) => m.offers_transfers(),
            AnyRateModel::CoordinationMetropolis(m) => m.offers_transfers(),
            AnyRateModel::BarrierTable(m) => m.offers_transfers(),
            AnyRateModel::Custom(m) => m.offers_transfers(),
            AnyRateModel::EamNeb(m) => m.offers_transfers(),
        }
    }

    fn transfer_rate(&mut self, state: &State, site: &SiteRef, n_to: usize, shared: u32) -> f64 {
        match self {
            AnyRateModel::BondCounting(m) => m.transfer_rate(state, site, n_to, shared),
            AnyRateModel::CoordinationMetropolis(m) => m.transfer_rate(state, site, n_to, shared),
            AnyRateModel::BarrierTable(m) => m.transfer_rate(state, site, n_to, shared),
            AnyRateModel::Custom(m) => m.transfer_rate(state, site, n_to, shared),
            AnyRateModel::EamNeb(m) => m.transfer_rate(state, site, n_to, shared),
        }
    }

    #[inline]
    fn prefetch(&mut self, state: &State, changed: &[SiteRef]) {
        match self {
            AnyRateModel::EamNeb(m) => m.prefetch(state, changed),
            AnyRateModel::Custom(m) => m.prefetch(state, changed),
            _ => {}
        }
    }
}

/// Checks that a per-species map names exactly the scenario's species; returns values in
/// species order.
pub(crate) fn per_species<'a, T>(
    map: &'a std::collections::BTreeMap<String, T>,
    species: &[String],
    field: &str,
) -> Result<Vec<&'a T>> {
    for name in map.keys() {
        if !species.contains(name) {
            return Err(Error::field(
                format!("{field}.{name}"),
                format!(
                    "unknown species `{name}` (the scenario's species are {})",
                    species.join(", ")
                ),
            ));
        }
    }
    species
        .iter()
        .map(|s| {
            map.get(s).ok_or_else(|| {
                Error::field(field.to_string(), format!("no entry for species `{s}`"))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
