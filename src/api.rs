//! Using kmc as a library: the [`Simulation`] as an MD code or a workflow drives it.
//!
//! A simulation is built from a scenario — a file, RON text, or a [`Scenario`] value made in
//! code — and then advanced by events ([`Simulation::run_events`]) or simulated time
//! ([`Simulation::run_until`]). Between runs the caller can read the atoms as species and
//! Cartesian positions ([`Simulation::atoms`]), replace them by atoms from an MD code
//! ([`Simulation::set_atoms`]: each atom is mapped onto a lattice site, and an atom too far from
//! any site is an error), read the observables, and checkpoint to bytes or a file. Custom
//! observers ([`Observer`]) are called on a schedule during runs, and a rate model written
//! outside the crate replaces the scenario's with [`Simulation::set_rate_model`].
//!
//! ```
//! use kmc::api::{Atoms, Every, SetAtomsOptions, Simulation};
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
//! assert_eq!(sim.run_events(50), 50);
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
//! sim.run_until(sim.time() + 0.01);
//! let after = sim.observables();
//! sim.restore_checkpoint(&ck)?;
//! sim.run_until(after.time_s);
//! assert_eq!(sim.observables(), after);
//! # Ok::<(), kmc::Error>(())
//! ```

use crate::engine::Step;
use crate::error::{Error, Result};
use crate::observe::checkpoint;
use crate::rates::{AnyRateModel, CustomRateModel, RateModel};
use crate::relax::{MapOptions, Mapping, map_to_lattice};
use crate::scenario::{LoadedScenario, Scenario};
use crate::state::{Species, State};
use std::path::{Path, PathBuf};

pub use crate::relax::Mapping as AtomMapping;
pub use crate::simulation::Simulation;

/// Atoms as an MD code sees them: species (1-based ids of the scenario's species list) and
/// Cartesian positions in Å, in the lattice frame (layer 0 at z = 0, the periodic box from
/// the origin, see [`Simulation::box_a`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Atoms {
    /// Species id of each atom (1 = the scenario's first species).
    pub species: Vec<Species>,
    /// Position of each atom, Å.
    pub positions_a: Vec<[f64; 3]>,
}

impl Atoms {
    /// Atoms from parallel species and position lists.
    pub fn new(species: Vec<Species>, positions_a: Vec<[f64; 3]>) -> Self {
        Atoms {
            species,
            positions_a,
        }
    }

    /// Number of atoms.
    pub fn len(&self) -> usize {
        self.species.len()
    }

    /// True when there are no atoms.
    pub fn is_empty(&self) -> bool {
        self.species.is_empty()
    }
}

/// What [`Simulation::set_atoms`] does with an atom farther than
/// [`MapOptions::off_lattice_nn`] nearest-neighbour distances from the site it maps to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OffLatticePolicy {
    /// Refuse the whole configuration (the state is unchanged) and say which atom it was.
    #[default]
    Reject,
    /// Map it anyway; it is listed in [`Mapping::off_lattice`].
    Accept,
}

/// Options of [`Simulation::set_atoms`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SetAtomsOptions {
    /// How atoms are assigned to sites (search radii, the off-lattice threshold).
    pub mapping: MapOptions,
    /// What an atom off the lattice does.
    pub off_lattice: OffLatticePolicy,
}

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

/// Code called during [`Simulation::run_events`] and [`Simulation::run_until`] on a schedule
/// ([`Every`]). Any `FnMut(&Simulation) + Send` closure is an observer.
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
    fn next_time(&self) -> Option<f64> {
        self.entries
            .iter()
            .filter(|e| matches!(e.every, Every::Seconds(_)))
            .map(|e| e.next_s)
            .min_by(f64::total_cmp)
    }
}

/// Calls the observers that `due` selects, with the simulation itself borrowed immutably.
fn notify(sim: &mut Simulation, mut due: impl FnMut(&mut Entry) -> bool) {
    let mut obs = std::mem::take(&mut sim.observers.entries);
    for e in obs.iter_mut() {
        if due(e) {
            e.observer.observe(sim);
        }
    }
    // Observers registered meanwhile cannot exist (they would need `&mut Simulation`).
    sim.observers.entries = obs;
}

fn after_event(sim: &mut Simulation) {
    let ev = sim.engine.counters().events();
    notify(sim, |e| matches!(e.every, Every::Events(n) if ev % n == 0));
}

fn at_time(sim: &mut Simulation) {
    let t = sim.engine.time();
    notify(sim, |e| match e.every {
        Every::Seconds(dt) if e.next_s <= t => {
            while e.next_s <= t {
                e.next_s += dt;
            }
            true
        }
        _ => false,
    });
}

pub(crate) fn run_events(sim: &mut Simulation, n: u64) -> u64 {
    let mut done = 0;
    if sim.observers.entries.is_empty() {
        while done < n && sim.engine.step_until(f64::INFINITY) == Step::Executed {
            done += 1;
        }
        return done;
    }
    while done < n {
        let lim = sim.observers.next_time().unwrap_or(f64::INFINITY);
        match sim.engine.step_until(lim) {
            Step::Executed => {
                done += 1;
                after_event(sim);
            }
            Step::ReachedTime => at_time(sim),
            Step::Idle => break,
        }
    }
    done
}

pub(crate) fn run_until(sim: &mut Simulation, time_s: f64) -> bool {
    loop {
        let due = sim.observers.next_time();
        let lim = due.map_or(time_s, |d| d.min(time_s));
        match sim.engine.step_until(lim) {
            Step::Executed => {
                if !sim.observers.entries.is_empty() {
                    after_event(sim);
                }
            }
            Step::ReachedTime => {
                if due.is_some_and(|d| d <= sim.engine.time()) {
                    at_time(sim);
                }
                if sim.engine.time() >= time_s {
                    return true;
                }
            }
            Step::Idle => return false,
        }
    }
}

const BUFFER: &str = "<buffer>";

impl Simulation {
    /// Builds from a scenario value (its errors name the field, e.g. `deposition[0].species`).
    /// Relative file names in it (barrier tables) resolve against the working directory.
    pub fn from_scenario(scenario: Scenario) -> Result<Self> {
        Self::new(LoadedScenario::from_value(scenario)?)
    }

    /// Builds from scenario RON text (errors carry line and column).
    pub fn from_ron(text: &str) -> Result<Self> {
        Self::new(LoadedScenario::from_text(text.to_string(), None)?)
    }

    /// Species names; species id `i` is `species_names()[i - 1]`.
    pub fn species_names(&self) -> &[String] {
        &self.loaded.scenario.species
    }

    /// Total rate of everything that can happen now, 1/s.
    pub fn total_rate(&self) -> f64 {
        self.engine.total_rate()
    }

    /// The periodic box in Å: lateral lengths and the height of the allocated layers (the
    /// lattice grows upward as the film grows). Sites lie in `[0, Lx) × [0, Ly)`, layer 0 at
    /// z = 0.
    pub fn box_a(&self) -> [f64; 3] {
        let lat = self.state().lattice();
        let [lx, ly] = lat.box_lengths();
        [lx, ly, lat.layers() as f64 * lat.layer_spacing()]
    }

    /// Every atom (substrate included) in site order, as species and site positions in Å.
    pub fn atoms(&self) -> Atoms {
        let st = self.state();
        let lat = st.lattice();
        let mut a = Atoms::default();
        for (idx, &c) in st.cells().iter().enumerate() {
            if c.occupied() {
                a.species.push(c.species());
                a.positions_a.push(lat.position_of(idx));
            }
        }
        a
    }

    /// Site index of every atom, in the order of [`Simulation::atoms`].
    pub fn atom_sites(&self) -> Vec<usize> {
        let cells = self.state().cells();
        (0..cells.len()).filter(|&i| cells[i].occupied()).collect()
    }

    /// Replaces every atom by `atoms` (an MD code handing its configuration over): each atom
    /// goes to a distinct site by the minimum-cost assignment of
    /// [`relax::map_to_lattice`](crate::relax::map_to_lattice) (summed squared displacement
    /// minimal). With [`OffLatticePolicy::Reject`] an atom farther than the off-lattice
    /// threshold from its site is an error naming it, and the state is left unchanged. Every
    /// rate is recomputed; the clock and counters are kept. 3-D lattices only.
    pub fn set_atoms(&mut self, atoms: &Atoms, opts: &SetAtomsOptions) -> Result<Mapping> {
        let n_species = self.species_names().len();
        if atoms.positions_a.len() != atoms.species.len() {
            return Err(Error::Simulation(format!(
                "{} species but {} positions",
                atoms.species.len(),
                atoms.positions_a.len()
            )));
        }
        if let Some(i) = atoms
            .species
            .iter()
            .position(|&s| s == 0 || s as usize > n_species)
        {
            return Err(Error::Simulation(format!(
                "atom {i} has species {}; valid ids are 1..={n_species} ({})",
                atoms.species[i],
                self.species_names().join(", ")
            )));
        }
        let lat = self.state().lattice().clone();
        if lat.kind().is_2d() {
            return Err(Error::Simulation(format!(
                "atoms with 3-D positions cannot be mapped onto the 2-D {:?} lattice; use \
                 set_species_map",
                lat.kind()
            )));
        }
        let list: Vec<(Species, [f64; 3])> = atoms
            .species
            .iter()
            .copied()
            .zip(atoms.positions_a.iter().copied())
            .collect();
        let mapping = map_to_lattice(&lat, &|_| false, &list, &opts.mapping)?;
        if opts.off_lattice == OffLatticePolicy::Reject {
            if let Some(o) = mapping.off_lattice.first() {
                let p = atoms.positions_a[o.atom];
                let q = lat.position_of(o.site);
                return Err(Error::Simulation(format!(
                    "atom {} at ({:.3}, {:.3}, {:.3}) Å is off the lattice: its site {} at \
                     ({:.3}, {:.3}, {:.3}) Å is {:.3} Å away, more than the {:.3} Å allowed \
                     (off_lattice_nn = {} nearest-neighbour distances); {} atom(s) off the \
                     lattice in all (relax the configuration first, or accept them with \
                     OffLatticePolicy::Accept)",
                    o.atom,
                    p[0],
                    p[1],
                    p[2],
                    o.site,
                    q[0],
                    q[1],
                    q[2],
                    o.distance_a,
                    opts.mapping.off_lattice_nn * lat.nn_distance(),
                    opts.mapping.off_lattice_nn,
                    mapping.off_lattice.len()
                )));
            }
        }
        let ls = lat.layer_size();
        let layers = lat.layers().max(mapping.layers_needed);
        let mut map = vec![0u8; layers * ls];
        for (&site, &sp) in mapping.sites.iter().zip(&mapping.species) {
            map[site] = sp;
        }
        self.set_species_map(&map)?;
        Ok(mapping)
    }

    /// Replaces the occupancy by `state`, which must be on this simulation's lattice (kind,
    /// lattice constant and lateral grid; it may have more layers). Every rate is recomputed;
    /// the clock and counters are kept.
    pub fn set_state(&mut self, state: State) -> Result<()> {
        let (a, b) = (state.lattice(), self.state().lattice());
        if a.kind() != b.kind()
            || a.lattice_constant() != b.lattice_constant()
            || a.grid() != b.grid()
        {
            return Err(Error::Simulation(format!(
                "state on a {:?} lattice, a = {} Å, grid {:?}; the simulation has {:?}, a = {} Å, \
                 grid {:?}",
                a.kind(),
                a.lattice_constant(),
                a.grid(),
                b.kind(),
                b.lattice_constant(),
                b.grid()
            )));
        }
        self.set_species_map(&state.species_map())
    }

    /// Replaces the rate model by one written outside the crate (any `RateModel + Clone`). The
    /// scenario's `rate_model` is then only a placeholder; checkpoints restore only into a
    /// simulation given the same model (every restored rate is checked against it).
    pub fn set_rate_model(&mut self, model: impl RateModel + Clone + 'static) -> Result<()> {
        let range = model.interaction_range();
        if range > crate::lattice::MAX_RANGE {
            return Err(Error::Simulation(format!(
                "rate model `{}` has interaction range {range}; the lattice supports at most {}",
                model.name(),
                crate::lattice::MAX_RANGE
            )));
        }
        self.engine
            .set_model(AnyRateModel::Custom(CustomRateModel::new(model)));
        Ok(())
    }

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

    /// The engine's resumable state as checkpoint bytes (the format of `checkpoint.kmc`
    /// files: header with the scenario fingerprint and a checksum, then the payload).
    pub fn checkpoint(&self) -> Result<Vec<u8>> {
        checkpoint::to_bytes(self.scenario().physics_fingerprint(), &self.snapshot()).map_err(
            |message| Error::Checkpoint {
                path: PathBuf::from(BUFFER),
                message,
            },
        )
    }

    /// Restores checkpoint bytes taken from a simulation of the same scenario; continuing
    /// from them is bit-identical to the uninterrupted run.
    pub fn restore_checkpoint(&mut self, bytes: &[u8]) -> Result<()> {
        self.restore_from(bytes, Path::new(BUFFER))
    }

    /// Writes a checkpoint file (atomically).
    pub fn save_checkpoint(&self, path: impl AsRef<Path>) -> Result<()> {
        checkpoint::write(
            path.as_ref(),
            self.scenario().physics_fingerprint(),
            &self.snapshot(),
        )
    }

    /// Restores a checkpoint file written by [`Simulation::save_checkpoint`].
    pub fn load_checkpoint(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        self.restore_from(&bytes, path)
    }

    fn restore_from(&mut self, bytes: &[u8], origin: &Path) -> Result<()> {
        let err = |message: String| Error::Checkpoint {
            path: origin.to_path_buf(),
            message,
        };
        let snap =
            checkpoint::from_bytes(bytes, self.scenario().physics_fingerprint()).map_err(err)?;
        self.restore(&snap).map_err(|e| err(e.to_string()))
    }
}

#[cfg(test)]
mod tests;
