//! The simulation layer: a scenario built into an engine, and the one run loop that every
//! driver — `kmc run`, the Rust API, C, Python, `kmc bench run`, `kmc rates build` — uses.
//!
//! | module | idea |
//! |---|---|
//! | [`build`] | scenario → engine (lattice, substrate, initial atoms, rate model, sources) |
//! | `stop` | [`Stop`] conditions and why a run ended ([`StopReason`]) |
//! | `run` | the loop: step → contacts → relaxer → record → observers → checkpoints |
//! | `record` | the deterministic record of a run: `series.csv` and the particle tables |
//! | `output` | the built-in writers of an output directory ([`OutputOptions`]) |
//! | `observer` | observers that callers register ([`Observer`], [`Every`]) |
//! | `atoms` | atoms in and out by position ([`Simulation::atoms`], [`Simulation::set_atoms`]) |
//! | `checkpoint` | one checkpoint format for the CLI and the API |
//! | [`relaxer`] | the contact hook: contacts handed to the embedded MD relaxer |
//! | [`warm`] | warming an EamNeb barrier cache by running the scenario |
//! | [`md`] | the driver of stand-alone MD scenarios (`kmc md`) |
//!
//! ```
//! use kmc::sim::{Atoms, Every, SetAtomsOptions, Simulation};
//! use std::sync::{Arc, Mutex};
//!
//! let mut scenario = kmc::scenario::LoadedScenario::from_text(
//!     r#"(
//!         name: "doc", seed: 1, temperature_k: 300.0, species: ["Cu"],
//!         lattice: (kind: Fcc100, lattice_constant_a: 3.615, size: (8, 8),
//!                   substrate_layers: 3, frozen_layers: 1),
//!         rate_model: BondCounting((
//!             species: { "Cu": (prefactor_hz: 1e13, barrier_ev: 0.48) },
//!             bonds_ev: [("Cu", "Cu", 0.25)])),
//!         deposition: [(species: "Cu", flux_ml_per_s: 1.0)],
//!         stop: (coverage_ml: 0.2),
//!     )"#
//!     .to_string(),
//!     None,
//! )?
//! .scenario;
//! scenario.temperature_k = 350.0; // a scenario is a plain value
//! let mut sim = Simulation::from_scenario(scenario)?;
//!
//! // An observer: every 10 events, record the coverage.
//! let coverage = Arc::new(Mutex::new(Vec::new()));
//! let c = coverage.clone();
//! sim.add_observer(Every::Events(10), move |s: &Simulation| {
//!     c.lock().unwrap().push(s.observables().coverage_ml)
//! })?;
//! assert_eq!(sim.run_events(50)?, 50);
//! assert_eq!(coverage.lock().unwrap().len(), 5);
//!
//! // Atoms out and back in (as an MD code would hand them over).
//! let atoms: Atoms = sim.atoms();
//! let before = sim.observables();
//! sim.set_atoms(&atoms, &SetAtomsOptions::default())?;
//! assert_eq!(sim.observables().film_atoms_by_species, before.film_atoms_by_species);
//!
//! // A checkpoint restores the run exactly.
//! let ck = sim.checkpoint()?;
//! sim.run_until(sim.time() + 0.01)?;
//! let after = sim.observables();
//! sim.restore_checkpoint(&ck)?;
//! sim.run_until(after.time_s)?;
//! assert_eq!(sim.observables(), after);
//!
//! // The scenario's own stop condition (0.2 ML), as `kmc run` would end it.
//! let summary = sim.run()?;
//! assert_eq!(summary.stop_reason, kmc::sim::StopReason::Coverage);
//! # Ok::<(), kmc::Error>(())
//! ```

mod atoms;
pub mod build;
mod checkpoint;
pub mod md;
mod observer;
mod output;
mod parallel;
mod record;
pub mod relaxer;
mod run;
mod stop;
pub mod warm;

pub use crate::relax::Mapping as AtomMapping;
pub use crate::scenario::Stop;
pub use atoms::{Atoms, OffLatticePolicy, SetAtomsOptions};
pub use build::build_engine;
pub use observer::{Every, Observer, ObserverId};
pub use output::{MAX_SNAPSHOT_BYTES, OutputOptions};
pub use record::{CONTACT_CSV_HEADER, RELAX_TIMING_CSV_HEADER};
pub use relaxer::{GRAIN_CONTACT_CSV_COLUMNS, RELAX_CSV_COLUMNS};
pub use run::{ParticleSummary, Progress, RelaxSummary, Summary, peak_memory_bytes};
pub use stop::StopReason;

use crate::engine::{Counters, Engine, EngineSnapshot};
use crate::error::{Error, Result};
use crate::observe::particles::{Coalescence, CoalescenceContext, series_columns};
use crate::observe::{Observables, SERIES_HEADER};
use crate::rates::AnyRateModel;
use crate::sampler::AnySampler;
use crate::scenario::{LoadedScenario, Scenario};
use crate::state::State;
use observer::Observers;
use output::OutputDir;
use record::Recorder;
use relaxer::ContactRelaxer;
use std::path::Path;

/// A lattice KMC simulation: the engine, the contact relaxer, the record of the run and
/// whatever writes it out.
#[derive(Debug)]
pub struct Simulation {
    pub(crate) loaded: LoadedScenario,
    pub(crate) engine: Engine<AnyRateModel, AnySampler>,
    coalescence: Option<CoalescenceContext>,
    relaxer: Option<ContactRelaxer>,
    stop: Stop,
    record: Recorder,
    output: Option<OutputDir>,
    observers: Observers,
    /// Layer count whose next growth is known to fit the memory limit (see `check_growth`).
    growth_checked: usize,
    /// The sectors of a parallel run (`threads` > 1), cut from the engine's film at the first
    /// run and dropped whenever the film is changed from outside.
    parallel: Option<parallel::ParallelRun>,
}

impl Clone for Simulation {
    /// A clone continues the same physics but writes nothing: observers and the output
    /// directory stay with the original (they own files or channels that must not be written
    /// twice).
    fn clone(&self) -> Self {
        Simulation {
            loaded: self.loaded.clone(),
            engine: self.engine.clone(),
            coalescence: self.coalescence.clone(),
            relaxer: self.relaxer.clone(),
            stop: self.stop.clone(),
            record: self.record.clone(),
            output: None,
            observers: self.observers.clone(),
            growth_checked: self.growth_checked,
            // The sectors hold a thread pool: a clone cuts its own at its first run.
            parallel: None,
        }
    }
}

impl Simulation {
    /// Builds from a scenario file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::new(LoadedScenario::from_file(path)?)
    }

    /// Builds from a parsed scenario; [`Simulation::run`] ends at the scenario's `stop`.
    pub fn new(loaded: LoadedScenario) -> Result<Self> {
        let stop = loaded.scenario.stop.clone();
        Self::with_stop(loaded, stop)
    }

    /// Builds from a parsed scenario with another stop condition (the CLI's `--events` and
    /// `--until-time`); the default `series.csv` schedule (100 rows) is spread over it.
    pub fn with_stop(loaded: LoadedScenario, stop: Stop) -> Result<Self> {
        stop.validate("stop")?;
        let sc = &loaded.scenario;
        let engine = build_engine(sc, &loaded.base_dir()).map_err(|e| loaded.locate(e))?;
        let coalescence = if sc.tracks_contacts() {
            Some(CoalescenceContext::new(engine.state().lattice())?)
        } else {
            None
        };
        let relaxer = match (sc.relaxes_contacts(), &sc.relax) {
            (true, Some(spec)) => Some(
                ContactRelaxer::new(
                    spec,
                    &sc.species,
                    sc.temperature_k,
                    sc.seed,
                    &loaded.base_dir(),
                )
                .map_err(|e| loaded.locate(e))?,
            ),
            _ => None,
        };
        let mut series_header = SERIES_HEADER.to_string();
        if coalescence.is_some() {
            series_header = format!(
                "{series_header},particles_deposited,particles_unplaceable,{}",
                series_columns(&sc.species)
            );
        }
        let record = Recorder::new(sc, &stop, &series_header, relaxer.is_some());
        let mut sim = Simulation {
            engine,
            coalescence,
            relaxer,
            stop,
            record,
            output: None,
            observers: Default::default(),
            growth_checked: 0,
            parallel: None,
            loaded,
        };
        if sim.scenario().threads() > 1 {
            // The cut is checked (and its errors located) when the scenario is loaded.
            sim.ensure_parallel()?;
        }
        Ok(sim)
    }

    /// Builds from a scenario value (its errors name the field, e.g. `deposition[0].species`).
    /// Relative file names in it (barrier tables) resolve against the working directory.
    pub fn from_scenario(scenario: Scenario) -> Result<Self> {
        Self::new(LoadedScenario::from_value(scenario)?)
    }

    /// Builds from scenario RON text (errors carry line and column).
    pub fn from_ron(text: &str) -> Result<Self> {
        Self::new(LoadedScenario::from_text(text.to_string(), None)?)
    }

    /// The stop condition [`Simulation::run`] ends at.
    pub fn stop(&self) -> &Stop {
        &self.stop
    }

    /// The engine, mutably: for code that acts on the lattice between runs.
    pub fn engine_mut(&mut self) -> &mut Engine<AnyRateModel, AnySampler> {
        self.parallel = None;
        &mut self.engine
    }

    /// The engine (state, rates, clock).
    pub fn engine(&self) -> &Engine<AnyRateModel, AnySampler> {
        &self.engine
    }

    /// Coalescence observables now (particle runs; `None` without contact tracking).
    pub fn coalescence(&mut self) -> Option<Coalescence> {
        let ctx = self.coalescence.as_ref()?;
        let n = self.loaded.scenario.species.len();
        let state = self.engine.state().clone();
        let tracker = self.engine.contacts_mut()?;
        Some(Coalescence::measure(&state, tracker, ctx, n))
    }

    /// The columns of `series.csv` for this simulation.
    pub fn series_header(&self) -> &str {
        &self.record.series.header
    }

    /// The rows of `series.csv` recorded so far (without the header).
    pub fn series_rows(&self) -> &[String] {
        &self.record.series.rows
    }

    /// The rows of `contacts.csv` recorded so far: one per contact, with the relaxer's fields
    /// where contacts are relaxed.
    pub fn contact_rows(&self) -> &[String] {
        &self.record.contact_rows.rows
    }

    /// The contact relaxer's totals, if the scenario relaxes contacts.
    pub fn relax_totals(&self) -> Option<&relaxer::RelaxTotals> {
        self.relaxer.as_ref().map(|_| &self.record.relax_totals)
    }

    /// Switches the sampling of `series.csv` (and the particle tables) off or on. Benchmarks
    /// switch it off to time the engine alone; a run that stops on percolation needs it.
    pub fn set_recording(&mut self, on: bool) {
        self.record.enabled = on;
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.loaded.scenario
    }

    /// The scenario with its source text.
    pub fn loaded(&self) -> &LoadedScenario {
        &self.loaded
    }

    /// Species names; species id `i` is `species_names()[i - 1]`.
    pub fn species_names(&self) -> &[String] {
        &self.loaded.scenario.species
    }

    /// The lattice state.
    pub fn state(&self) -> &State {
        self.engine.state()
    }

    /// Simulated time, s.
    pub fn time(&self) -> f64 {
        self.engine.time()
    }

    /// Event counts.
    pub fn counters(&self) -> Counters {
        self.engine.counters()
    }

    /// Total rate of everything that can happen now, 1/s.
    pub fn total_rate(&self) -> f64 {
        match &self.parallel {
            Some(p) => p.total_rate(),
            None => self.engine.total_rate(),
        }
    }

    /// Atoms with at least one possible event.
    pub fn active_atoms(&self) -> usize {
        match &self.parallel {
            Some(p) => p.active_atoms(),
            None => self.engine.active_atoms(),
        }
    }

    /// Deposited monolayers (atoms from atom sources and from particles).
    pub fn deposited_ml(&self) -> f64 {
        let c = self.engine.counters();
        (c.deposited + c.particle_atoms_deposited) as f64
            / self.state().lattice().layer_size() as f64
    }

    /// Measures the observables now.
    pub fn observables(&self) -> Observables {
        let s = self.scenario();
        Observables::measure(
            self.state(),
            s.lattice.substrate_layers,
            self.time(),
            self.counters().events(),
            s.species.len(),
        )
    }

    /// Replaces the occupancy by a species map (one byte per site, 0 = empty; a whole number
    /// of layers) and recomputes every rate. The clock and counters are kept.
    pub fn set_species_map(&mut self, species: &[u8]) -> Result<()> {
        let n = self.scenario().species.len();
        if let Some(bad) = species.iter().find(|&&s| s as usize > n) {
            return Err(Error::Simulation(format!(
                "species map holds species {bad}, the scenario has {n}"
            )));
        }
        let mut st = self.engine.state().clone();
        st.load_species(species)?;
        self.engine.replace_state(st);
        self.parallel = None;
        Ok(())
    }

    /// What is legal but probably not meant, as located messages (file, line, column,
    /// field): a stop condition nothing in the run can advance, a run in which nothing can
    /// happen. The library never prints; `kmc check` and `kmc run` print these.
    pub fn warnings(&self) -> Vec<String> {
        let s = self.scenario();
        let atom_flux: f64 = s.deposition.iter().map(|d| d.flux_ml_per_s).sum();
        let particle_flux: f64 = s.particles.iter().map(|p| p.flux_per_nm2_s).sum();
        let deposits = atom_flux > 0.0 || particle_flux > 0.0;
        let mut w = Vec::new();
        let mut warn = |field: &str, msg: String| {
            w.push(self.loaded.locate(Error::field(field, msg)).to_string());
        };
        if let Some(c) = self.stop.coverage_ml {
            if !deposits && c > self.deposited_ml() {
                warn(
                    "stop.coverage_ml",
                    format!(
                        "{c} ML cannot be reached: no deposition source has a positive flux \
                         (the run ends on another stop condition, or when no event is left)"
                    ),
                );
            }
        }
        if self.stop.percolated && !deposits && !s.has_initial_particles() {
            warn(
                "stop.percolated",
                "cannot be reached: nothing is deposited and there are no particles".into(),
            );
        }
        let grain_field = s
            .particles
            .iter()
            .position(|p| p.orientation.is_some())
            .map(|i| format!("particles[{i}].orientation"))
            .or_else(|| {
                s.initial
                    .iter()
                    .position(|a| {
                        matches!(
                            a,
                            crate::scenario::InitialAtoms::Particle {
                                orientation: Some(_),
                                ..
                            }
                        )
                    })
                    .map(|i| format!("initial[{i}].Particle.orientation"))
            });
        if let Some(f) = grain_field {
            warn(
                &f,
                "particles with an orientation are grains of their own: contacts between grains \
                 are relaxed by MD over the grains and grains merge when they come into \
                 register, but particles.csv and necks do not include them yet (grains.csv, \
                 contacts.csv and the snapshots do), and atoms hop from one grain to another \
                 in KMC only with the rate model's grain_transfers"
                    .into(),
            );
        }
        if self.total_rate() <= 0.0 {
            warn(
                "stop",
                "nothing can happen: the total rate is 0 /s, so the run stops at once (Idle)"
                    .into(),
            );
        }
        w
    }

    /// The engine's resumable state (without the run's record; see
    /// [`Simulation::checkpoint`] for the whole).
    pub fn snapshot(&self) -> EngineSnapshot<AnySampler> {
        self.engine.snapshot()
    }
}

/// Sets the number of threads of kmc's pool (rayon's global pool: EamNeb batches, the MD
/// relaxer, neighbour lists). Only before kmc first uses the pool; afterwards it is an error
/// naming the current count. `RAYON_NUM_THREADS` does the same from the environment. An MPI
/// code runs one rank per core with 1 thread, or fewer ranks with more threads.
pub fn set_threads(n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::field("threads", "must be at least 1"));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .map_err(|_| {
            Error::Simulation(format!(
                "kmc's thread pool is already running with {} thread(s): set the count before \
                 kmc does any work (or with RAYON_NUM_THREADS)",
                rayon::current_num_threads()
            ))
        })
}

/// Threads of kmc's pool (starting it if it is not running yet).
pub fn threads() -> usize {
    rayon::current_num_threads()
}

#[cfg(test)]
mod tests;
