//! Rate models defined outside the crate, carried by [`AnyRateModel::Custom`](super::AnyRateModel).

use super::RateModel;
use crate::catalog::Event;
use crate::lattice::SiteRef;
use crate::state::State;

/// A [`RateModel`] that can be cloned behind a box (a simulation is `Clone`, so its model must
/// be). Implemented for every `RateModel + Clone + 'static`: users implement [`RateModel`] and
/// derive `Clone`, nothing more.
pub trait CloneRateModel: RateModel {
    /// A boxed copy.
    fn clone_box(&self) -> Box<dyn CloneRateModel>;
}

impl<T: RateModel + Clone + 'static> CloneRateModel for T {
    fn clone_box(&self) -> Box<dyn CloneRateModel> {
        Box::new(self.clone())
    }
}

/// A user's rate model, boxed (one virtual call per rate; the built-in models stay enum
/// dispatched). Built with [`CustomRateModel::new`] and installed with
/// [`Simulation::set_rate_model`](crate::sim::Simulation::set_rate_model).
pub struct CustomRateModel(Box<dyn CloneRateModel>);

impl CustomRateModel {
    /// Boxes `model`.
    pub fn new(model: impl RateModel + Clone + 'static) -> Self {
        CustomRateModel(Box::new(model))
    }
}

impl Clone for CustomRateModel {
    fn clone(&self) -> Self {
        CustomRateModel(self.0.clone_box())
    }
}

impl std::fmt::Debug for CustomRateModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CustomRateModel")
            .field(&self.0.name())
            .finish()
    }
}

impl RateModel for CustomRateModel {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn interaction_range(&self) -> usize {
        self.0.interaction_range()
    }

    fn site_events(&mut self, state: &State, site: &SiteRef, out: &mut Vec<(Event, f64)>) {
        self.0.site_events(state, site, out)
    }

    fn site_rate(&mut self, state: &State, site: &SiteRef) -> f64 {
        self.0.site_rate(state, site)
    }

    fn prefetch(&mut self, state: &State, changed: &[SiteRef]) {
        self.0.prefetch(state, changed)
    }

    fn offers_transfers(&self) -> bool {
        self.0.offers_transfers()
    }

    fn transfer_rate(&mut self, state: &State, site: &SiteRef, n_to: usize, shared: u32) -> f64 {
        self.0.transfer_rate(state, site, n_to, shared)
    }
}
