//! A simulation built from a scenario, and the runner that drives it with output.
//!
//! [`Simulation`] is the library's front door: build it from a scenario (file, text or value),
//! advance it by events or simulated time, read its state and observables, checkpoint it.
//! [`Runner`] adds the output directory: the time series, snapshots, checkpoints and summary
//! that `kmc run` writes.

use crate::deposit::AtomDeposition;
use crate::engine::contact::{Contact, ContactKind};
use crate::engine::{Counters, Engine, EngineSnapshot, Source, Step};
use crate::error::{Error, Result};
use crate::lattice::Lattice;
use crate::observe::particles::{
    Coalescence, CoalescenceContext, NECK_CSV_HEADER, particle_csv_header, series_columns,
};
use crate::observe::structure::{AtomSet, FormFactor, debye_pattern, pair_distribution};
use crate::observe::write::write_atomic;
use crate::observe::write::{Series, write_json, write_lammps_dump, write_xyz};
use crate::observe::{Observables, SERIES_HEADER, checkpoint};
use crate::particle::relaxer::{
    ContactRelaxer, RELAX_CSV_COLUMNS, RELAX_SERIES_COLUMNS, RelaxRecord, RelaxTotals,
};
use crate::particle::source::ParticlePlacement;
use crate::particle::template::{Template, nearest_in_layer};
use crate::particle::{LatticeFrame, Particle, ParticleDeposition};
use crate::rates::{AnyRateModel, RateModelSpec};
use crate::rng::{rng_from_seed, rng_stream, uniform};
use crate::sampler::AnySampler;
use crate::scenario::{InitialAtoms, LoadedScenario, Scenario, SnapshotFormat};
use crate::state::State;
use crate::units::NM_IN_ANGSTROM;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

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

/// A lattice KMC simulation.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub(crate) loaded: LoadedScenario,
    pub(crate) engine: Engine<AnyRateModel, AnySampler>,
    coalescence: Option<CoalescenceContext>,
    /// Observers registered through the library API (see [`crate::api`]).
    pub(crate) observers: crate::api::Observers,
}

impl Simulation {
    /// Builds from a scenario file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::new(LoadedScenario::from_file(path)?)
    }

    /// Builds from a parsed scenario.
    pub fn new(loaded: LoadedScenario) -> Result<Self> {
        let engine =
            build_engine(&loaded.scenario, &loaded.base_dir()).map_err(|e| loaded.locate(e))?;
        let coalescence = if loaded.scenario.tracks_contacts() {
            Some(CoalescenceContext::new(engine.state().lattice())?)
        } else {
            None
        };
        Ok(Simulation {
            loaded,
            engine,
            coalescence,
            observers: Default::default(),
        })
    }

    /// The engine, mutably: for code that acts on contacts (a relaxer calls
    /// [`Engine::move_atoms`]) or hands atoms in and out between events.
    pub fn engine_mut(&mut self) -> &mut Engine<AnyRateModel, AnySampler> {
        &mut self.engine
    }

    /// Coalescence observables now (particle runs; `None` without contact tracking).
    pub fn coalescence(&mut self) -> Option<Coalescence> {
        let ctx = self.coalescence.as_ref()?;
        let n = self.loaded.scenario.species.len();
        let state = self.engine.state().clone();
        let tracker = self.engine.contacts_mut()?;
        Some(Coalescence::measure(&state, tracker, ctx, n))
    }

    /// The columns of `series.csv` for this scenario.
    pub fn series_header(&self) -> String {
        if self.coalescence.is_some() {
            format!(
                "{SERIES_HEADER},particles_deposited,particles_unplaceable,{}",
                series_columns(&self.loaded.scenario.species)
            )
        } else {
            SERIES_HEADER.to_string()
        }
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.loaded.scenario
    }

    /// The scenario with its source text.
    pub fn loaded(&self) -> &LoadedScenario {
        &self.loaded
    }

    /// The engine (state, rates, clock).
    pub fn engine(&self) -> &Engine<AnyRateModel, AnySampler> {
        &self.engine
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

    /// Executes up to `n` events (fewer if nothing can happen); returns how many ran.
    /// Registered observers are called on their schedule (see [`crate::api`]).
    pub fn run_events(&mut self, n: u64) -> u64 {
        crate::api::run_events(self, n)
    }

    /// Runs until the clock reaches `time_s` (or nothing can happen); returns true if the time
    /// was reached. Registered observers are called on their schedule.
    pub fn run_until(&mut self, time_s: f64) -> bool {
        crate::api::run_until(self, time_s)
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
        Ok(())
    }

    /// The engine's resumable state.
    pub fn snapshot(&self) -> EngineSnapshot<AnySampler> {
        self.engine.snapshot()
    }

    /// Restores a snapshot taken from a simulation of the same scenario.
    pub fn restore(&mut self, snap: &EngineSnapshot<AnySampler>) -> Result<()> {
        self.engine.restore(snap)
    }
}

/// Builds the engine a scenario describes.
pub fn build_engine(s: &Scenario, base_dir: &Path) -> Result<Engine<AnyRateModel, AnySampler>> {
    let l = &s.lattice;
    let expected_ml = s.stop.coverage_ml.unwrap_or_else(|| {
        let flux: f64 = s.deposition.iter().map(|d| d.flux_ml_per_s).sum();
        s.stop.time_s.map_or(2.0, |t| flux * t)
    });
    let initial_layers = s.initial.iter().filter_map(|a| match a {
        InitialAtoms::RandomLayer {
            layer_above_substrate,
            ..
        } => Some(layer_above_substrate + 1),
        InitialAtoms::Atoms { sites, .. } => sites
            .iter()
            .map(|x| x.2 + 1)
            .max()
            .map(|m| m.saturating_sub(l.substrate_layers)),
        InitialAtoms::Particle { .. } => None,
    });
    let film = (2.0 * expected_ml.min(1e4)).ceil() as usize + initial_layers.max().unwrap_or(0) + 4;
    let layers = l.height_layers.unwrap_or(l.substrate_layers + film);
    let lattice = Lattice::new(
        l.kind,
        l.lattice_constant_a,
        [l.size.0, l.size.1],
        layers.max(1),
    )?;
    let mut state = State::new(lattice);
    let substrate_species = match &l.substrate_species {
        Some(name) => s.species_id(name, "lattice.substrate_species")?,
        None => 1,
    };
    state.fill_layers(l.substrate_layers, substrate_species)?;
    state.set_frozen_layers(l.frozen_layers);
    // Initial atoms draw from their own stream so adding them never shifts the run's stream.
    let mut init_rng = rng_stream(s.seed, 1);
    for (i, a) in s.initial.iter().enumerate() {
        match a {
            InitialAtoms::RandomLayer {
                species,
                layer_above_substrate,
                coverage,
            } => {
                let sp = s.species_id(species, &format!("initial[{i}].species"))?;
                let layer = l.substrate_layers + layer_above_substrate;
                state.ensure_layers(layer + 1);
                let (nx, ny) = state.lattice().grid();
                for y in 0..ny {
                    for x in 0..nx {
                        let site = state.lattice().site(x, y, layer);
                        if uniform(&mut init_rng) < *coverage && !state.cell(site.idx).occupied() {
                            state.place(&site, sp);
                        }
                    }
                }
            }
            InitialAtoms::Atoms { species, sites } => {
                let sp = s.species_id(species, &format!("initial[{i}].species"))?;
                for (k, &(x, y, layer)) in sites.iter().enumerate() {
                    state.ensure_layers(layer + 1);
                    let (nx, ny) = state.lattice().grid();
                    if x >= nx || y >= ny {
                        return Err(Error::field(
                            format!("initial[{i}].sites[{k}]"),
                            format!("({x}, {y}, {layer}) lies outside the {nx} × {ny} grid"),
                        ));
                    }
                    let site = state.lattice().site(x, y, layer);
                    if state.cell(site.idx).occupied() {
                        return Err(Error::field(
                            format!("initial[{i}].sites[{k}]"),
                            format!("({x}, {y}, {layer}) is already occupied"),
                        ));
                    }
                    state.place(&site, sp);
                }
            }
            // Placed through the engine below, so the contact tracker knows them.
            InitialAtoms::Particle { .. } => {}
        }
    }
    let mut rate_model = s.rate_model.clone();
    match &mut rate_model {
        // Table and cache files are found relative to the scenario file.
        RateModelSpec::BarrierTable(t) => {
            t.base_dir.get_or_insert_with(|| base_dir.to_path_buf());
        }
        RateModelSpec::EamNeb(e) => {
            e.base_dir.get_or_insert_with(|| base_dir.to_path_buf());
            if e.substrate_species.is_none() {
                e.substrate_species = l.substrate_species.clone();
            }
        }
        _ => {}
    }
    let model = rate_model.build(&s.species, state.lattice(), s.temperature_k)?;
    let ls = state.lattice().layer_size();
    let mut sources = Vec::new();
    for (i, d) in s.deposition.iter().enumerate() {
        let sp = s.species_id(&d.species, &format!("deposition[{i}].species"))?;
        sources.push(Source::Atoms(AtomDeposition::new(
            d,
            sp,
            ls,
            &format!("deposition[{i}]"),
        )?));
    }
    for (i, p) in s.particles.iter().enumerate() {
        let f = format!("particles[{i}]");
        let comp = p
            .composition
            .resolve(&format!("{f}.composition"), |n, fl| s.species_id(n, fl))?;
        sources.push(Source::Particles(ParticleDeposition::new(
            p,
            comp,
            state.lattice(),
            &f,
        )?));
    }
    let mut engine = Engine::new(
        state,
        model,
        s.sampler.build(0),
        sources,
        rng_from_seed(s.seed),
    );
    if s.tracks_contacts() {
        engine.enable_contacts(l.substrate_layers, s.contacts.min_atoms);
    }
    for (i, a) in s.initial.iter().enumerate() {
        if let InitialAtoms::Particle {
            shape,
            diameter_nm,
            composition,
            at_nm,
            height_nm,
        } = a
        {
            let f = format!("initial[{i}].Particle");
            let comp =
                composition.resolve(&format!("{f}.composition"), |n, fl| s.species_id(n, fl))?;
            let lat = engine.state().lattice().clone();
            let frame = LatticeFrame::new(&lat)?;
            let p = Particle::build_in(&frame, *shape, *diameter_nm, &comp, &mut init_rng)
                .map_err(|e| Error::field(format!("{f}.diameter_nm"), e.to_string()))?;
            if p.is_empty() {
                return Err(Error::field(
                    format!("{f}.diameter_nm"),
                    format!("a {diameter_nm} nm particle holds no lattice site"),
                ));
            }
            let [lx, ly] = lat.box_lengths();
            let px = (at_nm.0 * NM_IN_ANGSTROM).rem_euclid(lx);
            let py = (at_nm.1 * NM_IN_ANGSTROM).rem_euclid(ly);
            let mut t = Template::new(&p, &frame, &lat);
            let placed = match height_nm {
                Some(h) => {
                    let layer = (h * NM_IN_ANGSTROM / lat.layer_spacing()).round() as usize;
                    let (x, y) = nearest_in_layer(&lat, px, py, layer);
                    t.place_at(engine.state(), &frame, [x, y, layer])
                }
                None => t.land(engine.state(), &frame, px, py),
            }
            .map_err(|e| Error::field(f.clone(), e.to_string()))?;
            engine.insert_particle(&ParticlePlacement::new(
                &p,
                &placed,
                &lat,
                comp.shell_species(),
            ));
        }
    }
    Ok(engine)
}

/// Progress reported to the caller of [`Runner::run`].
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

/// Scheduling state of a run, saved in checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RunState {
    series: Series,
    next_series_s: Option<f64>,
    next_series_events: Option<u64>,
    next_snapshot_s: Option<f64>,
    snapshots: u32,
    /// `particles.csv`, `necks.csv`, `contacts.csv` of particle runs.
    particle_rows: Series,
    neck_rows: Series,
    contact_rows: Series,
    /// `relax_timing.csv`: wall-clock times of the relaxations (not reproducible, so kept
    /// out of `contacts.csv` and `series.csv`).
    relax_rows: Series,
    relax_totals: RelaxTotals,
    /// A sample has seen the film percolate.
    percolated: bool,
    notes: Vec<String>,
}

/// The columns of `relax_timing.csv`.
pub const RELAX_TIMING_CSV_HEADER: &str =
    "contact,time_s,mobile_atoms,frozen_atoms,md_steps,md_time_ps,wall_s,md_wall_s";

/// The columns of `contacts.csv`.
pub const CONTACT_CSV_HEADER: &str =
    "time_s,kind,site,other_site,atoms_a,atoms_b,particle_a,particle_b,x_a,y_a,z_a";

fn contact_row(c: &Contact, relax: Option<&RelaxRecord>) -> String {
    let p = |x: Option<u32>| x.map_or(String::new(), |v| v.to_string());
    let mut row = format!(
        "{},{},{},{},{},{},{},{},{},{},{}",
        c.time_s,
        match c.kind {
            ContactKind::Merge => "merge",
            ContactKind::Substrate => "substrate",
        },
        c.site,
        c.other_site,
        c.atoms[0],
        c.atoms[1],
        p(c.particles[0]),
        p(c.particles[1]),
        c.point_a[0],
        c.point_a[1],
        c.point_a[2]
    );
    if let Some(r) = relax {
        row.push(',');
        row.push_str(&r.csv_fields());
    }
    row
}

/// What the runner calls for every contact, right after the event that raised it and before
/// the next one: the place where the embedded MD relaxer is wired in. It may change the
/// lattice through `sim.engine_mut().move_atoms(..)`.
pub type ContactHandler = Box<dyn FnMut(&mut Simulation, &Contact) -> Result<()>>;

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

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CheckpointPayload {
    engine: EngineSnapshot<AnySampler>,
    run: RunState,
}

/// Options of a run beyond the scenario (the CLI's flags).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides `stop.events`.
    pub events: Option<u64>,
    /// Overrides `stop.time_s`.
    pub until_time_s: Option<f64>,
    /// Overrides `output.checkpoint_every_events`.
    pub checkpoint_every: Option<u64>,
    /// Resume from this checkpoint.
    pub resume: Option<PathBuf>,
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
    /// Wall-clock seconds of this process's run (excluding set-up).
    pub wall_time_s: f64,
    /// Events executed by this process.
    pub events_this_run: u64,
    /// Events per wall-clock second in this process.
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
    /// Files written.
    pub files: Vec<String>,
}

/// Drives a simulation and writes its output directory.
pub struct Runner {
    sim: Simulation,
    out: PathBuf,
    opts: RunOptions,
    run: RunState,
    on_contact: Option<ContactHandler>,
    relaxer: Option<ContactRelaxer>,
}

impl Runner {
    /// Prepares a run writing to `out` (created if missing); resumes if asked to.
    pub fn new(sim: Simulation, out: PathBuf, opts: RunOptions) -> Result<Self> {
        std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
        let o = &sim.scenario().output;
        let stop_t = opts.until_time_s.or(sim.scenario().stop.time_s);
        // Without an explicit schedule, 100 rows over the run.
        let (series_s, series_ev) = match (o.series_every_s, o.series_every_events) {
            (None, None) => match (stop_t, opts.events.or(sim.scenario().stop.events)) {
                (Some(t), _) if t > 0.0 => (Some(t / 100.0), None),
                (_, Some(n)) => (None, Some((n / 100).max(1))),
                _ => (None, Some(10_000)),
            },
            x => x,
        };
        let relaxer = match (sim.scenario().relaxes_contacts(), &sim.scenario().relax) {
            (true, Some(spec)) => Some(
                ContactRelaxer::new(
                    spec,
                    &sim.scenario().species,
                    sim.scenario().temperature_k,
                    sim.scenario().seed,
                    &sim.loaded().base_dir(),
                )
                .map_err(|e| sim.loaded().locate(e))?,
            ),
            _ => None,
        };
        let mut series_header = sim.series_header();
        let mut contact_header = CONTACT_CSV_HEADER.to_string();
        if relaxer.is_some() {
            series_header = format!("{series_header},{RELAX_SERIES_COLUMNS}");
            contact_header = format!("{contact_header},{RELAX_CSV_COLUMNS}");
        }
        let species = &sim.scenario().species;
        let mut run = RunState {
            series: Series::new(&series_header),
            next_series_s: series_s,
            next_series_events: series_ev,
            next_snapshot_s: o.snapshot_every_s,
            snapshots: 0,
            particle_rows: Series::new(&particle_csv_header(species)),
            neck_rows: Series::new(NECK_CSV_HEADER),
            contact_rows: Series::new(&contact_header),
            relax_rows: Series::new(RELAX_TIMING_CSV_HEADER),
            relax_totals: RelaxTotals::default(),
            percolated: false,
            notes: Vec::new(),
        };
        let mut sim = sim;
        if let Some(ck) = &opts.resume {
            let fp = sim.scenario().physics_fingerprint();
            let payload: CheckpointPayload = checkpoint::read(ck, fp)?;
            sim.restore(&payload.engine)
                .map_err(|e| Error::Checkpoint {
                    path: ck.clone(),
                    message: e.to_string(),
                })?;
            run = payload.run;
        } else {
            let totals = relaxer.as_ref().map(|_| &run.relax_totals);
            let rows = sample(&mut sim, totals);
            rows.push_into(&mut run);
        }
        Ok(Runner {
            sim,
            out,
            opts,
            run,
            on_contact: None,
            relaxer,
        })
    }

    /// Calls `handler` for every contact (see [`ContactHandler`]).
    pub fn set_contact_handler(&mut self, handler: ContactHandler) {
        self.on_contact = Some(handler);
    }

    /// Relaxes each pending contact (if the scenario relaxes contacts), records it in
    /// `contacts.csv` and hands it to the handler.
    fn handle_contacts(&mut self) -> Result<()> {
        let contacts = self.sim.engine.take_contacts();
        for c in &contacts {
            // Contacts are numbered from the start of the simulation (the rows survive a
            // checkpoint), which seeds each relaxation reproducibly.
            let index = self.run.contact_rows.rows.len() as u64;
            let record = match self.relaxer.as_mut() {
                Some(r) => {
                    let rec = r.relax(&mut self.sim.engine, c, index)?;
                    self.run.relax_totals.add(&rec);
                    self.run.relax_rows.rows.push(format!(
                        "{index},{},{},{},{},{},{},{}",
                        c.time_s,
                        rec.mobile_atoms,
                        rec.frozen_atoms,
                        rec.md_steps,
                        rec.md_time_ps,
                        rec.wall_s,
                        rec.md_wall_s
                    ));
                    Some(rec)
                }
                None => None,
            };
            self.run
                .contact_rows
                .rows
                .push(contact_row(c, record.as_ref()));
            if let Some(h) = self.on_contact.as_mut() {
                h(&mut self.sim, c)?;
            }
        }
        Ok(())
    }

    /// The simulation.
    pub fn simulation(&self) -> &Simulation {
        &self.sim
    }

    /// Runs to the end, calling `progress` now and then; writes the output files.
    pub fn run(&mut self, progress: &mut dyn FnMut(Progress)) -> Result<Summary> {
        let start = Instant::now();
        let events0 = self.sim.counters().events();
        let sc = self.sim.scenario().clone();
        let stop_t = self
            .opts
            .until_time_s
            .or(sc.stop.time_s)
            .unwrap_or(f64::INFINITY);
        let stop_ev = self.opts.events.or(sc.stop.events).unwrap_or(u64::MAX);
        let stop_cov = sc.stop.coverage_ml.unwrap_or(f64::INFINITY);
        let ck_every = self
            .opts
            .checkpoint_every
            .or(sc.output.checkpoint_every_events);
        let series_path = self.out.join("series.csv");
        let mut last_report = Instant::now();
        let relax_wall0 = self.run.relax_totals.wall_s;
        // Contacts of the initial configuration (particles placed touching).
        self.handle_contacts()?;
        let reason = loop {
            let c = self.sim.counters();
            if c.events() >= stop_ev {
                break StopReason::Events;
            }
            if self.sim.deposited_ml() >= stop_cov {
                break StopReason::Coverage;
            }
            if self.sim.time() >= stop_t {
                break StopReason::Time;
            }
            if sc.stop.percolated && self.run.percolated {
                break StopReason::Percolated;
            }
            let mut t_lim = stop_t;
            for t in [self.run.next_series_s, self.run.next_snapshot_s]
                .into_iter()
                .flatten()
            {
                t_lim = t_lim.min(t);
            }
            match self.sim.engine.step_until(t_lim) {
                Step::Executed => {
                    if self.sim.engine.has_pending_contacts() {
                        self.handle_contacts()?;
                    }
                    let ev = self.sim.counters().events();
                    if let Some(n) = self.run.next_series_events {
                        if ev % n == 0 {
                            self.sample().push_into(&mut self.run);
                        }
                    }
                    if let Some(n) = ck_every {
                        if ev % n == 0 {
                            self.run.series.write(&series_path)?;
                            self.write_particle_files()?;
                            self.write_checkpoint()?;
                        }
                    }
                    if ev & 0xFFF == 0 && last_report.elapsed().as_millis() >= 200 {
                        last_report = Instant::now();
                        progress(self.progress(stop_t, stop_ev, stop_cov));
                    }
                }
                Step::ReachedTime => {
                    let t = self.sim.time();
                    if let Some(ts) = self.run.next_series_s {
                        if t >= ts {
                            self.sample().push_into(&mut self.run);
                            self.run.next_series_s =
                                Some(next_multiple(ts, sc.output.series_every_s.unwrap_or(ts), t));
                        }
                    }
                    if let Some(ts) = self.run.next_snapshot_s {
                        if t >= ts {
                            self.run.snapshots += 1;
                            let name = format!("snapshot_{:04}", self.run.snapshots);
                            self.write_snapshots(&name)?;
                            let every = sc.output.snapshot_every_s.unwrap_or(ts);
                            self.run.next_snapshot_s = Some(next_multiple(ts, every, t));
                        }
                    }
                }
                Step::Idle => break StopReason::Idle,
            }
        };
        // The checkpoint holds the run as it stands, before the end-of-run row: a resumed run
        // must continue exactly as the uninterrupted one would have.
        let mut files = vec!["series.csv".to_string()];
        if ck_every.is_some() {
            self.write_checkpoint()?;
            files.push("checkpoint.kmc".into());
        }
        // The final row, unless a scheduled row was just taken at this very state.
        let last = self.sample();
        if self.run.series.rows.last() != Some(&last.series) {
            last.push_into(&mut self.run);
        }
        self.run.series.write(&series_path)?;
        files.extend(self.write_snapshots("final")?);
        let particles = if self.sim.coalescence.is_some() {
            files.extend(self.write_particle_files()?);
            if sc.output.structure.plots {
                files.extend(crate::observe::plot::write_plots(
                    &self.out,
                    &self.run.series,
                    &sc.species,
                )?);
            }
            let c = self.sim.coalescence().unwrap_or_default();
            let counters = self.sim.counters();
            Some(ParticleSummary {
                particles_deposited: counters.particles_deposited,
                particles_unplaceable: counters.particles_unplaceable,
                unplaceable_messages: self.sim.engine.unplaceable_messages().to_vec(),
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
                relax: self.relaxer.as_ref().map(|_| {
                    let t = self.run.relax_totals.clone();
                    let w = t.wall_s - relax_wall0;
                    let total = start.elapsed().as_secs_f64();
                    RelaxSummary {
                        mean_residual_a: t.mean_residual_a(),
                        totals: t,
                        wall_s_this_run: w,
                        wall_share: if total > 0.0 { w / total } else { 0.0 },
                    }
                }),
                notes: self.run.notes.clone(),
            })
        } else {
            None
        };
        progress(self.progress(stop_t, stop_ev, stop_cov));
        let wall = start.elapsed().as_secs_f64();
        let events_run = self.sim.counters().events() - events0;
        files.push("summary.json".into());
        let summary = Summary {
            scenario: sc.name.clone(),
            seed: sc.seed,
            stop_reason: reason,
            wall_time_s: wall,
            events_this_run: events_run,
            events_per_s: if wall > 0.0 {
                events_run as f64 / wall
            } else {
                0.0
            },
            counters: self.sim.counters(),
            sites: self.sim.state().lattice().n_sites(),
            peak_memory_bytes: peak_memory_bytes(),
            final_observables: self.sim.observables(),
            particles,
            files,
        };
        write_json(&self.out.join("summary.json"), &summary)?;
        Ok(summary)
    }

    fn sample(&mut self) -> Sample {
        let totals = self.relaxer.as_ref().map(|_| &self.run.relax_totals);
        sample(&mut self.sim, totals)
    }

    fn progress(&self, stop_t: f64, stop_ev: u64, stop_cov: f64) -> Progress {
        let t = self.sim.time();
        let ev = self.sim.counters().events();
        let cov = self.sim.deposited_ml();
        let mut f: f64 = 0.0;
        if stop_t.is_finite() && stop_t > 0.0 {
            f = f.max(t / stop_t);
        }
        if stop_ev < u64::MAX {
            f = f.max(ev as f64 / stop_ev.max(1) as f64);
        }
        if stop_cov.is_finite() && stop_cov > 0.0 {
            f = f.max(cov / stop_cov);
        }
        Progress {
            time_s: t,
            events: ev,
            deposited_ml: cov,
            fraction: f.min(1.0),
        }
    }

    /// Writes `particles.csv`, `necks.csv` and `contacts.csv` (particle runs).
    fn write_particle_files(&self) -> Result<Vec<String>> {
        if self.sim.coalescence.is_none() {
            return Ok(Vec::new());
        }
        let mut files = Vec::new();
        for (name, s) in [
            ("particles.csv", &self.run.particle_rows),
            ("necks.csv", &self.run.neck_rows),
            ("contacts.csv", &self.run.contact_rows),
        ] {
            s.write(&self.out.join(name))?;
            files.push(name.to_string());
        }
        if self.relaxer.is_some() {
            self.run
                .relax_rows
                .write(&self.out.join("relax_timing.csv"))?;
            files.push("relax_timing.csv".into());
        }
        Ok(files)
    }

    /// Writes `gr_<name>.csv` and, below the size limit, `xrd_<name>.csv` of the film atoms.
    fn write_structure(&mut self, name: &str) -> Result<Vec<String>> {
        let sc = self.sim.scenario().clone();
        let spec = &sc.output.structure;
        let st = self.sim.state();
        let lat = st.lattice();
        let base = sc.lattice.substrate_layers * lat.layer_size();
        let mut atoms = AtomSet {
            periodic_xy: Some(lat.box_lengths()),
            ..Default::default()
        };
        for (idx, &c) in st.cells().iter().enumerate().skip(base) {
            if c.occupied() {
                atoms.positions.push(lat.position_of(idx));
                atoms.species.push(c.species() as usize - 1);
            }
        }
        let n_species = sc.species.len();
        let omega = self
            .sim
            .coalescence
            .as_ref()
            .map_or(1.0, |c| c.frame.atomic_volume);
        let mut files = Vec::new();
        let gr = pair_distribution(&atoms, n_species, spec.gr_r_max_a, spec.gr_dr_a, omega);
        let file = format!("gr_{name}.csv");
        write_atomic(&self.out.join(&file), |w| {
            let mut h = String::from("r_a");
            for &(a, b) in &gr.pairs {
                let (x, y) = (&sc.species[a], &sc.species[b]);
                h.push_str(&format!(",g_{x}-{y},n_{x}-{y},cn_{x}-{y}"));
            }
            writeln!(
                w,
                "# partial g(r) of {} film atoms; n = neighbours per bin per reference atom, cn = running coordination",
                atoms.positions.len()
            )?;
            writeln!(w, "{h}")?;
            let mut cn = vec![0.0; gr.pairs.len()];
            for k in 0..gr.r.len() {
                write!(w, "{}", gr.r[k])?;
                for p in 0..gr.pairs.len() {
                    cn[p] += gr.n[p][k];
                    write!(w, ",{},{},{}", gr.g[p][k], gr.n[p][k], cn[p])?;
                }
                writeln!(w)?;
            }
            Ok(())
        })?;
        files.push(file);
        if atoms.positions.len() > spec.xrd_max_atoms {
            self.run.notes.push(format!(
                "xrd_{name}.csv skipped: {} film atoms exceed output.structure.xrd_max_atoms = {}",
                atoms.positions.len(),
                spec.xrd_max_atoms
            ));
            return Ok(files);
        }
        let ffs: Vec<FormFactor> = sc.species.iter().map(|s| FormFactor::of(s)).collect();
        let pat = debye_pattern(
            &atoms,
            &ffs,
            spec.xrd_wavelength_a,
            spec.xrd_two_theta_deg,
            spec.xrd_points,
        );
        let file = format!("xrd_{name}.csv");
        write_atomic(&self.out.join(&file), |w| {
            let ff: Vec<String> = sc
                .species
                .iter()
                .zip(&ffs)
                .map(|(s, f)| {
                    format!(
                        "{s}: {}",
                        if f.is_tabulated() {
                            "Waasmaier-Kirfel 1995"
                        } else {
                            "constant f = 1 (not tabulated)"
                        }
                    )
                })
                .collect();
            writeln!(
                w,
                "# Debye pattern of {} film atoms, wavelength {} A, form factors {}; intensity per atom (electrons^2)",
                atoms.positions.len(),
                pat.wavelength_a,
                ff.join(", ")
            )?;
            writeln!(w, "two_theta_deg,q_inv_a,intensity")?;
            for k in 0..pat.q.len() {
                writeln!(
                    w,
                    "{},{},{}",
                    pat.two_theta_deg[k], pat.q[k], pat.intensity[k]
                )?;
            }
            Ok(())
        })?;
        files.push(file);
        Ok(files)
    }

    fn write_snapshots(&mut self, name: &str) -> Result<Vec<String>> {
        let sc = self.sim.scenario();
        let st = self.sim.state();
        let mut files = Vec::new();
        for f in &sc.output.snapshot_formats {
            let file = match f {
                SnapshotFormat::Xyz => {
                    let file = format!("{name}.xyz");
                    write_xyz(
                        &self.out.join(&file),
                        st,
                        &sc.species,
                        self.sim.time(),
                        self.sim.counters().events(),
                    )?;
                    file
                }
                SnapshotFormat::LammpsDump => {
                    let file = format!("{name}.dump");
                    write_lammps_dump(
                        &self.out.join(&file),
                        st,
                        &sc.species,
                        self.sim.counters().events(),
                    )?;
                    file
                }
            };
            files.push(file);
        }
        if self.sim.coalescence.is_some() {
            files.extend(self.write_structure(name)?);
        }
        Ok(files)
    }

    fn write_checkpoint(&self) -> Result<()> {
        let payload = CheckpointPayload {
            engine: self.sim.snapshot(),
            run: self.run.clone(),
        };
        checkpoint::write(
            &self.out.join("checkpoint.kmc"),
            self.sim.scenario().physics_fingerprint(),
            &payload,
        )
    }
}

fn next_multiple(current: f64, every: f64, now: f64) -> f64 {
    let mut t = current;
    while t <= now {
        t += every;
    }
    t
}

/// One sample: a `series.csv` row and, for particle runs, its `particles.csv` and
/// `necks.csv` rows.
struct Sample {
    series: String,
    /// A film component spans the box along x or y.
    percolating: bool,
    particles: Vec<String>,
    necks: Vec<String>,
}

impl Sample {
    fn push_into(self, run: &mut RunState) {
        run.series.rows.push(self.series);
        run.particle_rows.rows.extend(self.particles);
        run.neck_rows.rows.extend(self.necks);
        run.percolated |= self.percolating;
    }
}

fn sample(sim: &mut Simulation, relax: Option<&RelaxTotals>) -> Sample {
    let mut row = series_row(sim);
    let (mut particles, mut necks) = (Vec::new(), Vec::new());
    let mut percolating = false;
    if let Some(c) = sim.coalescence() {
        let t = sim.time();
        let k = sim.counters();
        row.push_str(&format!(
            ",{},{},{}",
            k.particles_deposited,
            k.particles_unplaceable,
            c.series_fields()
        ));
        particles = c.particle_rows(t);
        necks = c.neck_rows(t);
        percolating = c.percolating[0] || c.percolating[1];
    }
    if let Some(r) = relax {
        row.push(',');
        row.push_str(&r.series_fields());
    }
    Sample {
        series: row,
        percolating,
        particles,
        necks,
    }
}

fn series_row(sim: &Simulation) -> String {
    let o = sim.observables();
    let c = sim.counters();
    format!(
        "{},{},{},{},{},{},{},{},{},{},{}",
        o.time_s,
        o.events,
        o.coverage_ml,
        o.mean_height_ml,
        o.roughness_ml,
        o.islands,
        o.mean_island_size,
        c.hops,
        c.deposited,
        sim.engine().active_atoms(),
        sim.engine().total_rate()
    )
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
