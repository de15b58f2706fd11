//! When a run ends: the [`Stop`] conditions tested by the loop before every step.

use super::Simulation;
use crate::scenario::Stop;
use serde::{Deserialize, Serialize};

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopReason {
    /// The simulated-time limit.
    Time,
    /// The deposited-coverage limit.
    Coverage,
    /// The event-count limit.
    Events,
    /// Nothing can happen any more (total rate zero).
    Idle,
    /// A film component spans the box (`stop.percolated`).
    Percolated,
}

impl Stop {
    /// A stop after `n` more events than `sim` has executed.
    pub(crate) fn after_events(sim: &Simulation, n: u64) -> Self {
        Stop {
            events: Some(sim.counters().events().saturating_add(n)),
            ..Default::default()
        }
    }

    /// A stop when the clock reaches `time_s`.
    pub(crate) fn at_time(time_s: f64) -> Self {
        Stop {
            time_s: Some(time_s),
            ..Default::default()
        }
    }

    /// The first condition met now, tested in a fixed order (events, coverage, time,
    /// percolation) so the reason is reproducible when several hold at once.
    pub(crate) fn reached(&self, sim: &Simulation) -> Option<StopReason> {
        if self.events.is_some_and(|n| sim.counters().events() >= n) {
            return Some(StopReason::Events);
        }
        if self.coverage_ml.is_some_and(|c| sim.deposited_ml() >= c) {
            return Some(StopReason::Coverage);
        }
        if self.time_s.is_some_and(|t| sim.time() >= t) {
            return Some(StopReason::Time);
        }
        if self.percolated && sim.record.percolated {
            return Some(StopReason::Percolated);
        }
        None
    }

    /// The time limit (infinite without one).
    pub(crate) fn time_limit(&self) -> f64 {
        self.time_s.unwrap_or(f64::INFINITY)
    }

    /// Fraction of a run from the start of `sim` to this stop that is done, by the
    /// condition closest to being met.
    pub fn fraction(&self, sim: &Simulation) -> f64 {
        let mut f: f64 = 0.0;
        if let Some(t) = self.time_s.filter(|&t| t > 0.0) {
            f = f.max(sim.time() / t);
        }
        if let Some(n) = self.events {
            f = f.max(sim.counters().events() as f64 / n.max(1) as f64);
        }
        if let Some(c) = self.coverage_ml.filter(|&c| c > 0.0) {
            f = f.max(sim.deposited_ml() / c);
        }
        f.min(1.0)
    }
}
