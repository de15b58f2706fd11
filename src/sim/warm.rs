//! Warming a barrier cache: run the scenario itself, computing every environment it meets.
//!
//! Every barrier is a pure function of its key, so the trajectory does not depend on whether a
//! barrier was cached or computed on the way: a run of the scenario with the warm cache meets
//! exactly the keys this run met, and finds all of them cached. (A different seed or a longer
//! run may meet a few new keys; they are computed on the spot.)

use super::Simulation;
use crate::error::{Error, Result};
use crate::rates::AnyRateModel;
use crate::rates::eam_neb::{EamNebStats, Status};
use std::path::PathBuf;
use std::time::Instant;

/// Progress of [`warm_cache`].
#[derive(Debug, Clone, Copy)]
pub struct WarmProgress {
    /// Fraction of the run done (by the stop condition closest to being met).
    pub fraction: f64,
    /// Events executed.
    pub events: u64,
    /// Entries in the cache.
    pub entries: usize,
    /// The model's counters.
    pub stats: EamNebStats,
}

/// What [`warm_cache`] did.
#[derive(Debug, Clone)]
pub struct WarmSummary {
    /// The cache file written.
    pub path: PathBuf,
    /// Entries in the file for this scenario's species.
    pub entries: usize,
    /// Entries computed by this run.
    pub new_entries: usize,
    /// Events executed.
    pub events: u64,
    /// Wall-clock seconds.
    pub wall_seconds: f64,
    /// The model's counters.
    pub stats: EamNebStats,
    /// Entries by status.
    pub status_counts: [(Status, usize); 6],
    /// Messages of failed calculations.
    pub errors: Vec<String>,
}

/// Runs `sim` to its stop condition, computing every barrier the run needs, saving the cache
/// now and then (every `save_every_s` seconds of wall time) and at the end. Fails if the
/// simulation's rate model is not `EamNeb` or has no cache file.
pub fn warm_cache(
    sim: &mut Simulation,
    save_every_s: f64,
    progress: &mut dyn FnMut(&WarmProgress),
) -> Result<WarmSummary> {
    let path = match sim.engine().model() {
        AnyRateModel::EamNeb(m) => m.cache_path().map(|p| p.to_path_buf()).ok_or_else(|| {
            Error::field(
                "rate_model.EamNeb.cache",
                "no cache file named: there is nowhere to write the barriers",
            )
        })?,
        _ => {
            return Err(Error::field(
                "rate_model",
                "building a barrier cache needs the EamNeb rate model",
            ));
        }
    };
    let start = Instant::now();
    let mut last_save = Instant::now();
    let stats_of = |sim: &Simulation| match sim.engine().model() {
        AnyRateModel::EamNeb(m) => (m.stats(), m.len()),
        _ => unreachable!("checked above"),
    };
    let save = |sim: &Simulation| match sim.engine().model() {
        AnyRateModel::EamNeb(m) => m.save(),
        _ => unreachable!("checked above"),
    };
    // The run loop itself, to the scenario's stop, in slices of events so that progress is
    // reported and the cache saved between them; relaxations and samples happen as in
    // `kmc run`, so the keys met are the run's keys.
    loop {
        let (stats, entries) = stats_of(sim);
        progress(&WarmProgress {
            fraction: sim.stop().fraction(sim),
            events: sim.counters().events(),
            entries,
            stats,
        });
        if sim.run_slice(2000)?.is_some() {
            break;
        }
        if last_save.elapsed().as_secs_f64() >= save_every_s {
            save(sim)?;
            last_save = Instant::now();
        }
    }
    let (stats, entries) = stats_of(sim);
    progress(&WarmProgress {
        fraction: sim.stop().fraction(sim),
        events: sim.counters().events(),
        entries,
        stats,
    });
    save(sim)?;
    let AnyRateModel::EamNeb(m) = sim.engine().model() else {
        unreachable!("checked above")
    };
    Ok(WarmSummary {
        path,
        entries: m.len(),
        new_entries: m.new_entries(),
        events: sim.counters().events(),
        wall_seconds: start.elapsed().as_secs_f64(),
        stats: m.stats(),
        status_counts: m.status_counts(),
        errors: m.errors().to_vec(),
    })
}
