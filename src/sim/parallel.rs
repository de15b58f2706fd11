//! The run loop of a parallel scenario (`threads` > 1): cycles of the synchronous sublattice
//! algorithm ([`crate::parallel`]) in place of single events, with the same stop conditions,
//! record, snapshots and observers as the serial loop.
//!
//! The sectors keep their own states and rates; the engine's film is brought up to date (the
//! sectors' changed sites written into it) only when something reads it: a sample, a
//! snapshot, an observer, the end of the run. At the end of every run call the engine's rates
//! are rebuilt, so the engine is whole again between calls. Stops by event count or coverage
//! are checked after each cycle (a cycle executes many events at once).

use super::record::sample;
use super::{Simulation, Stop, StopReason};
use crate::engine::Counters;
use crate::error::{Error, Result};
use crate::parallel::Sublattice;
use crate::rates::AnyRateModel;
use crate::sim::run::Progress;
use std::time::Instant;

/// Changes held by the sectors before they are written into the engine's film anyway (memory).
const MAX_PENDING: usize = 1 << 22;

/// A parallel run in progress: the sectors and the counts the engine had when they were cut.
#[derive(Debug)]
pub(super) struct ParallelRun {
    sub: Sublattice<AnyRateModel>,
    base: Counters,
}

impl ParallelRun {
    /// Total rate of the sectors, 1/s (the engine's rates are stale during a parallel run).
    pub(super) fn total_rate(&self) -> f64 {
        self.sub.total_rate()
    }

    /// Active atoms of the sectors.
    pub(super) fn active_atoms(&self) -> usize {
        self.sub.active_atoms()
    }
}

impl Simulation {
    /// Refuses what a parallel run cannot do (a checkpoint), naming the field.
    pub(super) fn refuse_if_parallel(&self, what: &str) -> Result<()> {
        let n = self.scenario().threads();
        if n > 1 {
            let how = match crate::parallel::ranks() {
                1 => format!("threads: {n}"),
                r => format!("{r} MPI ranks"),
            };
            return Err(self.loaded.locate(Error::field(
                "threads",
                format!(
                    "{what} of a parallel run ({how}) is not supported yet: a resumed run \
                     could not continue the sectors' random streams exactly; use threads: 1"
                ),
            )));
        }
        Ok(())
    }

    /// Cuts the engine's film into sectors (once per run, or again after the film was changed
    /// from outside).
    pub(super) fn ensure_parallel(&mut self) -> Result<()> {
        if self.parallel.is_some() {
            return Ok(());
        }
        let sc = &self.loaded.scenario;
        let sources: Vec<_> = self
            .engine
            .sources()
            .iter()
            .filter_map(|s| match s {
                crate::engine::Source::Atoms(d) => Some(d.clone()),
                crate::engine::Source::Particles(_) => None,
            })
            .collect();
        if matches!(self.engine.model(), AnyRateModel::Custom(_)) {
            return Err(Error::field(
                "threads",
                "a rate model set through the API (set_rate_model) runs serially only: each \
                 sector builds its own model from the scenario's rate_model; use threads: 1",
            ));
        }
        let mut spec = sc.rate_model.clone();
        if let crate::rates::RateModelSpec::BarrierTable(t) = &mut spec {
            t.base_dir.get_or_insert_with(|| self.loaded.base_dir());
        }
        let base = self.engine.counters();
        // A film changed from outside gets fresh streams, not a replay of the first ones.
        let seed = sc.seed ^ base.events().rotate_left(32);
        let n = sc.threads();
        #[cfg(feature = "mpi")]
        if crate::parallel::mpi::ranks() > 1 {
            let sub = self.cut_over_ranks(spec, &sources, seed, n)?;
            self.parallel = Some(ParallelRun { sub, base });
            return Ok(());
        }
        let (species, temperature_k) = (sc.species.clone(), sc.temperature_k);
        let build = move |lat: &crate::lattice::Lattice| spec.build(&species, lat, temperature_k);
        let sub = Sublattice::new(
            self.engine.state(),
            self.engine.model(),
            &build,
            &sources,
            seed,
            n,
            n,
            sc.sublattice_window_s,
        )
        .map_err(|e| self.loaded.locate(e))?;
        self.parallel = Some(ParallelRun { sub, base });
        Ok(())
    }

    /// The sectors over the MPI ranks, one each (rank 0 runs this; the others serve).
    #[cfg(feature = "mpi")]
    fn cut_over_ranks(
        &self,
        spec: crate::rates::RateModelSpec,
        sources: &[crate::deposit::AtomDeposition],
        seed: u64,
        n: usize,
    ) -> Result<Sublattice<AnyRateModel>> {
        let ranks = crate::parallel::mpi::ranks();
        let sc = &self.loaded.scenario;
        if n != ranks {
            return Err(self.loaded.locate(Error::field(
                "threads",
                format!(
                    "under mpirun every rank runs one sector: threads: {n} does not match the \
                     {ranks} MPI ranks (give threads: 1 or {ranks}, or run without mpirun)"
                ),
            )));
        }
        let recipe = crate::parallel::mpi::ModelRecipe {
            spec,
            species: sc.species.clone(),
            temperature_k: sc.temperature_k,
        };
        Sublattice::with_ranks(
            self.engine.state(),
            self.engine.model(),
            &recipe,
            sources,
            seed,
            sc.sublattice_window_s,
        )
        .map_err(|e| self.loaded.locate(e))
    }

    /// Writes the sectors' changes into the engine's film (its rates stay stale).
    fn sync_parallel(&mut self) {
        if let Some(p) = &mut self.parallel {
            if p.sub.pending() > 0 {
                p.sub.sync(self.engine.film_mut_unrated());
            }
        }
    }

    /// The parallel loop: cycles until `stop` is met or nothing can happen; the engine is
    /// whole again when it returns.
    pub(super) fn run_loop_parallel(
        &mut self,
        stop: &Stop,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<StopReason> {
        self.ensure_parallel()?;
        let r = self.parallel_cycles(stop, progress);
        self.sync_parallel();
        self.engine.rebuild_rates();
        if let Some(p) = &self.parallel {
            let c = self.counters_from(p);
            let t = self.engine.time();
            self.engine.set_clock(t, c);
        }
        r
    }

    fn counters_from(&self, p: &ParallelRun) -> Counters {
        let c = p.sub.counts();
        let mut out = p.base;
        out.hops += c.hops;
        out.exchanges += c.exchanges;
        out.deposited += c.deposited;
        out.deposits_lost += c.deposits_lost;
        out
    }

    fn parallel_cycles(
        &mut self,
        stop: &Stop,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<StopReason> {
        let mut last_report = Instant::now();
        let stop_t = stop.time_limit();
        loop {
            if let Some(r) = stop.reached(self) {
                return Ok(r);
            }
            let p = self.parallel.as_mut().expect("built above");
            let total = p.sub.total_rate();
            if !total.is_finite() {
                return Err(Error::Simulation(format!(
                    "the total rate is {total} /s at t = {} s: a rate model gives rates beyond \
                     floating point (check prefactors, barriers and bond energies)",
                    self.time()
                )));
            }
            if total <= 0.0 {
                return Ok(StopReason::Idle);
            }
            self.check_growth()?;
            let t = self.time();
            let t_lim = stop_t
                .min(self.record.next_time())
                .min(self.observers.next_time());
            let events_before = self.counters().events();
            let p = self.parallel.as_mut().expect("built above");
            let tau = p.sub.window_s().min(t_lim - t);
            let t_new = if tau > 0.0 {
                p.sub.cycle(tau);
                // The limit itself, not t + τ, when the cycle was cut to end on it.
                if tau < p.sub.window_s() {
                    t_lim
                } else {
                    t + tau
                }
            } else {
                t
            };
            let c = self.counters_from(self.parallel.as_ref().expect("built above"));
            self.engine.set_clock(t_new, c);
            if self
                .parallel
                .as_ref()
                .is_some_and(|p| p.sub.pending() > MAX_PENDING)
            {
                self.sync_parallel();
            }
            let ev = c.events();
            let every = self.record.series_every_events();
            let due_ev = every.is_some_and(|n| ev / n > events_before / n);
            if self.record.enabled && (due_ev || self.record.take_due_sample(t_new)) {
                self.sync_parallel();
                let s = sample(self);
                self.record.push(s);
            }
            if let Some(name) = self.record.take_due_snapshot(t_new) {
                self.sync_parallel();
                self.write_scheduled_snapshot(&name)?;
            }
            if self.has_observers() {
                self.sync_parallel();
                self.notify_at_time(t_new);
                self.notify_events_crossed(events_before, ev);
            }
            if last_report.elapsed().as_millis() >= 200 {
                last_report = Instant::now();
                progress(self.progress(stop));
            }
        }
    }
}
