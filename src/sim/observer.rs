//! Observers that callers register: code the run loop calls on a schedule ([`Every`]).

use super::Simulation;
use crate::error::{Error, Result};

/// When an observer is called.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Every {
    /// After every event whose count (since the start of the simulation) is a multiple of this.
    Events(u64),
    /// Whenever the clock passes a multiple of this many simulated seconds after the moment of
    /// registration. Stopping the clock there never changes the trajectory: the drawn event
    /// stays pending.
    Seconds(f64),
}

/// Code called during runs ([`Simulation::run`], [`Simulation::run_events`],
/// [`Simulation::run_until`]) on a schedule ([`Every`]), after the contacts of the event were
/// relaxed and the record was sampled. Any `FnMut(&Simulation) + Send` closure is an observer.
///
/// Observers are not part of checkpoints, and a clone of a simulation starts without them
/// (an observer usually owns a file or a channel that must not be written twice).
pub trait Observer: Send {
    /// Sees the simulation at a scheduled moment.
    fn observe(&mut self, sim: &Simulation);
}

impl<F: FnMut(&Simulation) + Send> Observer for F {
    fn observe(&mut self, sim: &Simulation) {
        self(sim)
    }
}

/// Names a registered observer (see [`Simulation::remove_observer`]); the number counts
/// registrations on this simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObserverId(pub u64);

struct Entry {
    id: u64,
    every: Every,
    /// Next due time of an [`Every::Seconds`] observer.
    next_s: f64,
    observer: Box<dyn Observer>,
}

/// The observers of a simulation.
#[derive(Default)]
pub(crate) struct Observers {
    entries: Vec<Entry>,
    next_id: u64,
}

impl Clone for Observers {
    /// Observers stay with the simulation they were registered with (see [`Observer`]).
    fn clone(&self) -> Self {
        Observers {
            entries: Vec::new(),
            next_id: self.next_id,
        }
    }
}

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Observers({})", self.entries.len())
    }
}

impl Observers {
    /// The earliest due time of a time-scheduled observer (infinite without one).
    pub fn next_time(&self) -> f64 {
        self.entries
            .iter()
            .filter(|e| matches!(e.every, Every::Seconds(_)))
            .map(|e| e.next_s)
            .fold(f64::INFINITY, f64::min)
    }
}

impl Simulation {
    /// Registers an observer called on the schedule `every` during runs.
    pub fn add_observer(
        &mut self,
        every: Every,
        observer: impl Observer + 'static,
    ) -> Result<ObserverId> {
        let next_s = match every {
            Every::Events(0) => {
                return Err(Error::Simulation(
                    "an observer's event interval must be at least 1".into(),
                ));
            }
            Every::Events(_) => f64::INFINITY,
            Every::Seconds(dt) if !(dt.is_finite() && dt > 0.0) => {
                return Err(Error::Simulation(format!(
                    "an observer's time interval must be a positive number of seconds, got {dt}"
                )));
            }
            Every::Seconds(dt) => self.time() + dt,
        };
        let id = self.observers.next_id;
        self.observers.next_id += 1;
        self.observers.entries.push(Entry {
            id,
            every,
            next_s,
            observer: Box::new(observer),
        });
        Ok(ObserverId(id))
    }

    /// Unregisters an observer; returns false if it was not registered.
    pub fn remove_observer(&mut self, id: ObserverId) -> bool {
        let before = self.observers.entries.len();
        self.observers.entries.retain(|e| e.id != id.0);
        self.observers.entries.len() != before
    }

    /// Calls the observers due after event number `events`.
    pub(super) fn notify_after_event(&mut self, events: u64) {
        if self.observers.entries.is_empty() {
            return;
        }
        self.notify(|e| matches!(e.every, Every::Events(n) if events % n == 0));
    }

    /// True if observers are registered.
    pub(super) fn has_observers(&self) -> bool {
        !self.observers.entries.is_empty()
    }

    /// Calls the event-scheduled observers whose multiple of events lies in `(before, after]`
    /// (a parallel cycle executes many events at once).
    pub(super) fn notify_events_crossed(&mut self, before: u64, after: u64) {
        self.notify(|e| matches!(e.every, Every::Events(n) if after / n > before / n));
    }

    /// Calls the time-scheduled observers due at `t` and advances their schedules.
    pub(super) fn notify_at_time(&mut self, t: f64) {
        self.notify(|e| match e.every {
            Every::Seconds(dt) if e.next_s <= t => {
                while e.next_s <= t {
                    e.next_s += dt;
                }
                true
            }
            _ => false,
        });
    }

    /// Calls the observers that `due` selects, with the simulation itself borrowed immutably.
    fn notify(&mut self, mut due: impl FnMut(&mut Entry) -> bool) {
        let mut obs = std::mem::take(&mut self.observers.entries);
        for e in obs.iter_mut() {
            if due(e) {
                e.observer.observe(self);
            }
        }
        // Observers registered meanwhile cannot exist (they would need `&mut Simulation`).
        self.observers.entries = obs;
    }
}
