//! The one run loop: step → contacts → relaxer → record → observers → checkpoints.
//!
//! Every driver comes through here: [`Simulation::run`] (the scenario's stop, then the final
//! row, the output files and the summary: what `kmc run` does), and
//! [`Simulation::run_events`] / [`Simulation::run_until`] (an explicit stop; the scenario's
//! `stop` is not consulted). Between two events the loop relaxes every contact the last event
//! raised, so a particle scenario relaxes the same contacts whoever drives it.
//!
//! Stopping the clock at a scheduled moment (a sample, a snapshot, an observer, the time
//! limit) never changes the trajectory: the drawn event stays pending (see
//! [`Engine::step_until`](crate::engine::Engine::step_until)).

use super::{Simulation, Stop, StopReason};
use crate::engine::{Counters, Step};
use crate::error::{Error, Result};
use crate::observe::Observables;
use crate::observe::film::PercolationOnset;
use crate::sim::record::sample;
use crate::sim::relaxer::RelaxTotals;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Progress reported to the caller of [`Simulation::run_with_progress`].
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Simulated time, s.
    pub time_s: f64,
    /// Executed events.
    pub events: u64,
    /// Deposited monolayers.
    pub deposited_ml: f64,
    /// Fraction of the run done, by the stop condition closest to being met.
    pub fraction: f64,
}

/// Summary of a particle run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParticleSummary {
    /// Particles deposited (initial ones not included).
    pub particles_deposited: u64,
    /// Arrivals that could not be placed.
    pub particles_unplaceable: u64,
    /// Why (the first ten).
    pub unplaceable_messages: Vec<String>,
    /// Contacts raised.
    pub contacts: u64,
    /// Particles with atoms at the end.
    pub particles: usize,
    /// Connected components of film atoms at the end.
    pub components: usize,
    /// Components holding particle atoms.
    pub aggregates: usize,
    /// Necks at the end.
    pub necks: usize,
    /// Mean neck radius at the end, Å.
    pub neck_radius_mean_a: Option<f64>,
    /// Covered fraction at the end.
    pub covered_fraction: f64,
    /// A component spans the box along x, y.
    pub percolating: [bool; 2],
    /// The contact relaxer's work (runs that relax contacts).
    #[serde(default)]
    pub relax: Option<RelaxSummary>,
    /// Anything skipped or worth knowing (e.g. an XRD pattern skipped for size).
    pub notes: Vec<String>,
}

/// What the contact relaxer did over a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RelaxSummary {
    /// Totals since the start of the simulation.
    pub totals: RelaxTotals,
    /// Mean mapping residual over all mapped atoms, Å.
    pub mean_residual_a: f64,
    /// Wall-clock seconds spent relaxing in this process.
    pub wall_s_this_run: f64,
    /// That time as a fraction of this process's run time.
    pub wall_share: f64,
}

/// What a finished run reports (also written to `summary.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// Why the run stopped.
    pub stop_reason: StopReason,
    /// Wall-clock seconds of this call's run (excluding set-up).
    pub wall_time_s: f64,
    /// Events executed by this call.
    pub events_this_run: u64,
    /// Events per wall-clock second in this call.
    pub events_per_s: f64,
    /// Event counts since the start of the simulation.
    pub counters: Counters,
    /// Sites of the lattice (allocated).
    pub sites: usize,
    /// Peak resident memory of the process, bytes (Linux; 0 elsewhere).
    pub peak_memory_bytes: u64,
    /// Final observables.
    pub final_observables: Observables,
    /// Particle-run summary (runs with particles).
    #[serde(default)]
    pub particles: Option<ParticleSummary>,
    /// The first `series.csv` samples at which the film spanned the periodic box along x and
    /// along y (time, events, deposited ML); `null` where it has not.
    #[serde(default)]
    pub percolation: PercolationOnset,
    /// Files written (with an output directory).
    pub files: Vec<String>,
    /// Anything skipped or worth knowing (output schedules skipped over an idle clock, the
    /// snapshot cap reached, an XRD pattern skipped for size).
    #[serde(default)]
    pub notes: Vec<String>,
    /// The kmc version that ran.
    #[serde(default)]
    pub kmc_version: String,
    /// The command line, when the driver recorded one ([`Simulation::set_command_line`]).
    #[serde(default)]
    pub command_line: Option<Vec<String>>,
    /// The scenario file, when the scenario came from one.
    #[serde(default)]
    pub scenario_path: Option<String>,
    /// CRC-32 of the scenario text (hex), to tell which version of a file ran.
    #[serde(default)]
    pub scenario_crc32: String,
    /// Start of this run, seconds since the Unix epoch (UTC).
    #[serde(default)]
    pub started_unix_s: f64,
    /// Threads of the pool that parallel work (EAM forces, barrier batches) runs on; for a
    /// parallel KMC run (`threads` > 1), its threads (one sector each).
    #[serde(default)]
    pub threads: usize,
    /// MPI ranks of the run, one sector each (1 without `mpirun`); `peak_memory_bytes` and
    /// `cpu_time_s` are rank 0's.
    #[serde(default = "one")]
    pub mpi_ranks: usize,
    /// CPU seconds of the process so far, user plus system (Linux; 0 elsewhere).
    #[serde(default)]
    pub cpu_time_s: f64,
}

fn one() -> usize {
    1
}

impl Simulation {
    /// Runs to the simulation's stop condition (the scenario's `stop`, or the one given to
    /// [`Simulation::with_stop`]), then adds the final `series.csv` row, writes the output
    /// directory if one is set ([`Simulation::set_output`]) and returns the summary. This is
    /// what `kmc run` does.
    pub fn run(&mut self) -> Result<Summary> {
        self.run_with_progress(&mut |_| {})
    }

    /// [`Simulation::run`], calling `progress` now and then (about five times a second).
    pub fn run_with_progress(&mut self, progress: &mut dyn FnMut(Progress)) -> Result<Summary> {
        let start = Instant::now();
        let started_unix_s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let events0 = self.counters().events();
        let relax_wall0 = self.record.relax_totals.wall_s;
        let stop = self.stop.clone();
        if stop.percolated && !self.record.enabled {
            return Err(Error::Simulation(
                "stop.percolated is detected at series.csv samples, and recording is off".into(),
            ));
        }
        let reason = self.run_loop(&stop, progress)?;
        // The checkpoint holds the run as it stands, before the end-of-run row: a resumed run
        // must continue exactly as the uninterrupted one would have.
        self.write_final_checkpoint()?;
        if self.record.enabled {
            // The final row, unless a scheduled row was just taken at this very state.
            let last = sample(self);
            if self.record.series.rows.last() != Some(&last.series) {
                self.record.push(last);
            }
        }
        let mut files = self.write_final_files()?;
        let particles = self.particle_summary(start, relax_wall0);
        progress(self.progress(&stop));
        let wall = start.elapsed().as_secs_f64();
        let events_run = self.counters().events() - events0;
        let summary = Summary {
            scenario: self.scenario().name.clone(),
            seed: self.scenario().seed,
            stop_reason: reason,
            wall_time_s: wall,
            events_this_run: events_run,
            events_per_s: if wall > 0.0 {
                events_run as f64 / wall
            } else {
                0.0
            },
            counters: self.counters(),
            sites: self.state().lattice().n_sites(),
            peak_memory_bytes: peak_memory_bytes(),
            final_observables: self.observables(),
            particles,
            percolation: self.record.percolation,
            files: files.clone(),
            notes: self.record.notes.clone(),
            kmc_version: env!("CARGO_PKG_VERSION").into(),
            command_line: self.command_line(),
            scenario_path: self.loaded.path.as_ref().map(|p| p.display().to_string()),
            scenario_crc32: format!("{:08x}", crc32fast::hash(self.loaded.text.as_bytes())),
            started_unix_s,
            threads: match self.scenario().threads() {
                1 => rayon::current_num_threads(),
                n => n,
            },
            mpi_ranks: crate::parallel::ranks(),
            cpu_time_s: cpu_time_s(),
        };
        files.extend(self.write_summary(&summary)?);
        Ok(Summary { files, ..summary })
    }

    /// Executes up to `n` events (fewer if nothing can happen any more); returns how many
    /// ran. Ignores the scenario's `stop`. Contacts are relaxed, samples recorded and
    /// observers called as in [`Simulation::run`]; no final row or files are written.
    pub fn run_events(&mut self, n: u64) -> Result<u64> {
        let before = self.counters().events();
        let stop = Stop::after_events(self, n);
        self.run_loop(&stop, &mut |_| {})?;
        Ok(self.counters().events() - before)
    }

    /// Runs until the clock reaches `time_s`; returns false if nothing could happen any more
    /// before. Ignores the scenario's `stop`; otherwise as [`Simulation::run_events`].
    pub fn run_until(&mut self, time_s: f64) -> Result<bool> {
        if time_s.is_nan() {
            return Err(Error::Simulation("run_until: time_s is NaN".into()));
        }
        let reason = self.run_loop(&Stop::at_time(time_s), &mut |_| {})?;
        Ok(reason == StopReason::Time)
    }

    /// Runs toward the simulation's stop condition for at most `max_events` events; returns
    /// why the run ended if it did (the stop was met, or nothing can happen any more), `None`
    /// if the slice ended first. Slices leave the trajectory and the record exactly as one
    /// [`Simulation::run`] would; no final row or files are written.
    pub fn run_slice(&mut self, max_events: u64) -> Result<Option<StopReason>> {
        let mut stop = self.stop.clone();
        let own = stop.events;
        let cap = self.counters().events().saturating_add(max_events);
        stop.events = Some(own.map_or(cap, |n| n.min(cap)));
        let r = self.run_loop(&stop, &mut |_| {})?;
        let slice_ended =
            r == StopReason::Events && own.is_none_or(|n| self.counters().events() < n);
        Ok((!slice_ended).then_some(r))
    }

    /// The loop itself: steps until `stop` is met or nothing can happen.
    fn run_loop(&mut self, stop: &Stop, progress: &mut dyn FnMut(Progress)) -> Result<StopReason> {
        if self.record.enabled && self.record.series.rows.is_empty() {
            let first = sample(self);
            self.record.push(first);
        }
        // Contacts of the initial configuration (particles placed touching) or of a state
        // handed in between runs.
        self.handle_contacts()?;
        if self.scenario().threads() > 1 {
            return self.run_loop_parallel(stop, progress);
        }
        let mut last_report = Instant::now();
        let stop_t = stop.time_limit();
        loop {
            if let Some(r) = stop.reached(self) {
                return Ok(r);
            }
            // Rates beyond f64 (absurd prefactors or bond energies) would select garbage and
            // stall the clock: refuse them rather than run on.
            let total = self.engine.total_rate();
            if !total.is_finite() {
                return Err(Error::Simulation(format!(
                    "the total rate is {total} /s at t = {} s: a rate model gives rates beyond \
                     floating point (check prefactors, barriers and bond energies)",
                    self.time()
                )));
            }
            self.check_growth()?;
            let t_lim = stop_t
                .min(self.record.next_time())
                .min(self.observers.next_time());
            match self.engine.step_until(t_lim) {
                Step::Executed => {
                    if self.engine.has_pending_contacts() {
                        self.handle_contacts()?;
                    }
                    let ev = self.counters().events();
                    if self.record.due_after_event(ev) {
                        let s = sample(self);
                        self.record.push(s);
                    }
                    self.checkpoint_after_event(ev)?;
                    self.notify_after_event(ev);
                    if ev & 0xFFF == 0 && last_report.elapsed().as_millis() >= 200 {
                        last_report = Instant::now();
                        progress(self.progress(stop));
                    }
                }
                Step::ReachedTime => {
                    let t = self.time();
                    if self.record.take_due_sample(t) {
                        let s = sample(self);
                        self.record.push(s);
                    }
                    if let Some(name) = self.record.take_due_snapshot(t) {
                        self.write_scheduled_snapshot(&name)?;
                    }
                    if let Some(te) = self.engine.pending_event_time() {
                        self.record.skip_idle(te);
                    }
                    self.notify_at_time(t);
                }
                Step::Idle => return Ok(StopReason::Idle),
            }
        }
    }

    /// Refuses, before it happens, a growth of the lattice (new empty layers as the film rises)
    /// that would need more memory than the limit: the scenario's size was checked when it
    /// was loaded, but a film grown far enough up would otherwise end in an allocation abort.
    /// One event raises the top layer by at most one, so the check runs when the top is one
    /// layer short of the point where the lattice grows (by a quarter, as `State` grows it),
    /// once per layer count. A landing particle grows the lattice by its own height at once;
    /// its height was checked against the limit when the scenario was loaded.
    pub(super) fn check_growth(&mut self) -> Result<()> {
        let st = self.engine.state();
        let lat = st.lattice();
        let layers = lat.layers();
        if lat.kind().is_2d() || self.growth_checked == layers {
            return Ok(());
        }
        let top = st.top_layer().unwrap_or(0);
        if top + 2 + lat.headroom() <= layers {
            return Ok(());
        }
        let next = layers + (layers / 4).max(4);
        let (nx, ny) = lat.grid();
        let bytes = next as f64 * lat.layer_size() as f64 * crate::scenario::BYTES_PER_SITE;
        let fits = crate::io::validate::fits_in_memory(
            "lattice.size",
            bytes,
            &format!(
                "at t = {} s the film reaches layer {top}; growing the lattice from {layers} to \
                 {next} layers of {nx} × {ny} sites",
                self.time()
            ),
        );
        if let Err(Error::Input { location, message }) = fits {
            return Err(self.loaded.locate(Error::Input {
                location,
                message: format!(
                    "{message}; the run stops here (resume from its last checkpoint with a \
                     larger --max-memory, or use a smaller box)"
                ),
            }));
        }
        fits?;
        self.growth_checked = layers;
        Ok(())
    }

    /// Relaxes each pending contact (if the scenario relaxes contacts) and records it.
    fn handle_contacts(&mut self) -> Result<()> {
        let Some(tracker) = self.engine.contacts() else {
            return Ok(());
        };
        // Contacts are numbered from the start of the simulation by the tracker (its count
        // is in the checkpoint), which seeds each relaxation reproducibly.
        let first = tracker.total_contacts() - tracker.pending().len() as u64;
        let contacts = self.engine.take_contacts();
        for (i, c) in contacts.iter().enumerate() {
            let index = first + i as u64;
            let record = match self.relaxer.as_mut() {
                Some(r) => Some(r.relax(&mut self.engine, c, index)?),
                None => None,
            };
            // The MD of the contact is simulated time: the KMC clock goes on from its end.
            if let Some(r) = &record {
                self.engine.advance_time(r.md_time_ps * crate::units::PS)?;
            }
            self.record.push_contact(index, c, record.as_ref());
        }
        Ok(())
    }

    pub(super) fn progress(&self, stop: &Stop) -> Progress {
        Progress {
            time_s: self.time(),
            events: self.counters().events(),
            deposited_ml: self.deposited_ml(),
            fraction: stop.fraction(self),
        }
    }

    fn particle_summary(&mut self, start: Instant, relax_wall0: f64) -> Option<ParticleSummary> {
        let c = self.coalescence()?;
        let counters = self.counters();
        let relax = self.relax_totals().map(|t| {
            let w = t.wall_s - relax_wall0;
            let total = start.elapsed().as_secs_f64();
            RelaxSummary {
                mean_residual_a: t.mean_residual_a(),
                totals: t.clone(),
                wall_s_this_run: w,
                wall_share: if total > 0.0 { w / total } else { 0.0 },
            }
        });
        Some(ParticleSummary {
            particles_deposited: counters.particles_deposited,
            particles_unplaceable: counters.particles_unplaceable,
            unplaceable_messages: self.engine.unplaceable_messages().to_vec(),
            contacts: c.contacts,
            particles: c.particles,
            components: c.components,
            aggregates: c.aggregates,
            necks: c.necks.len(),
            neck_radius_mean_a: c
                .neck_radius_mean_a
                .is_finite()
                .then_some(c.neck_radius_mean_a),
            covered_fraction: c.covered_fraction,
            percolating: c.percolating,
            relax,
            notes: self.record.notes.clone(),
        })
    }
}

/// CPU seconds (user + system) of the process from `/proc/self/stat` (fields 14 and 15, in
/// clock ticks of USER_HZ = 100, which the kernel fixes for that interface); 0 elsewhere.
pub fn cpu_time_s() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // The command name (field 2) may hold spaces: count from the last ')'.
            let rest = &s[s.rfind(')')? + 1..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
            Some(ticks as f64 / 100.0)
        })
        .unwrap_or(0.0)
}

/// Peak resident set size of this process (VmHWM), bytes; 0 where unavailable.
pub fn peak_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(|kb| kb * 1024)
            })
        })
        .unwrap_or(0)
}
