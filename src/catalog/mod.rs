//! The event catalog: what can happen to the lattice.
//!
//! Site events (hops, exchanges) are enumerated per atom by the rate model; global events
//! (deposition of atoms, later of particles) belong to event sources in the engine. Executing an
//! event reports the sites whose occupancy or species changed, which is all the engine needs to
//! know to refresh rates within the model's interaction range.

use crate::lattice::SiteRef;
use crate::state::State;

/// A site event of one atom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The atom at `from` hops to the empty nearest neighbour `to` (neighbour number `dir` of
    /// `from`'s class).
    Hop {
        /// Origin site.
        from: usize,
        /// Destination site.
        to: usize,
        /// Neighbour direction index of `to` seen from `from`.
        dir: u8,
    },
    /// Exchange: the atom at `from` takes the place of the atom at `via`, which moves to the
    /// empty site `to` (the adatom–substrate exchange of fcc(100) and alike).
    Exchange {
        /// The atom that enters the surface.
        from: usize,
        /// The surface atom that is pushed out.
        via: usize,
        /// Where the pushed-out atom goes.
        to: usize,
    },
}

impl Event {
    /// Applies the event to `state`; returns the sites whose occupancy or species changed.
    ///
    /// The caller guarantees the event is valid in `state` (it was just enumerated).
    pub fn execute(&self, state: &mut State) -> ChangedSites {
        let lat = state.lattice();
        match *self {
            Event::Hop { from, to, dir } => {
                let f = lat.site_at(from);
                let t = lat.site_at(to);
                let sp = state.remove(&f);
                state.place(&t, sp);
                ChangedSites::Hop {
                    from: f,
                    to: t,
                    dir,
                }
            }
            Event::Exchange { from, via, to } => {
                let f = lat.site_at(from);
                let v = lat.site_at(via);
                let t = lat.site_at(to);
                let moving = state.species(from);
                let pushed = state.species(via);
                state.remove(&f);
                state.place(&t, pushed);
                state.set_species(via, moving);
                ChangedSites::Many(vec![f, v, t])
            }
        }
    }
}

/// Sites changed by an executed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangedSites {
    /// Nothing changed (e.g. a deposition that found no landing site).
    None,
    /// One site changed (a deposition).
    One(SiteRef),
    /// A nearest-neighbour hop.
    Hop {
        /// Origin.
        from: SiteRef,
        /// Destination.
        to: SiteRef,
        /// Neighbour direction of `to` seen from `from`.
        dir: u8,
    },
    /// Any set of sites.
    Many(Vec<SiteRef>),
}
