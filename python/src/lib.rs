//! Python bindings of kmc (`import kmc`): the simulation with numpy arrays for atoms, ASE
//! conversion, kmc's EAM energies, and the rate samplers for benchmarking.

use kmc::md::neighbor::NeighborList;
use kmc::md::{Configuration, Eam, Evaluation, Potential, SimBox};
use kmc::rng::{KmcRng, Stream, stream};
use kmc::sampler::{AnySampler, RateSampler, SamplerKind};
use kmc::sim::{Atoms, Every, OffLatticePolicy, SetAtomsOptions, Simulation as Sim};
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

create_exception!(
    _kmc,
    KmcError,
    PyException,
    "An error kmc reported (bad scenario, atom off the lattice, damaged checkpoint, ...)."
);

fn err(e: kmc::Error) -> PyErr {
    KmcError::new_err(e.to_string())
}

/// Converts any array-like to a contiguous numpy array of `dtype`.
fn as_array<'py>(obj: &Bound<'py, PyAny>, dtype: &str) -> PyResult<Bound<'py, PyAny>> {
    let np = obj.py().import("numpy")?;
    np.call_method1("ascontiguousarray", (obj, dtype))
}

/// A Python callable called on a schedule; an exception it raises is kept and raised when
/// the run returns.
struct PyObserver {
    callback: Py<PyAny>,
    error: Arc<Mutex<Option<PyErr>>>,
}

impl kmc::sim::Observer for PyObserver {
    fn observe(&mut self, sim: &Sim) {
        Python::attach(|py| {
            let res = observables_dict(py, sim).and_then(|d| self.callback.call1(py, (d,)));
            if let Err(e) = res {
                let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
                slot.get_or_insert(e);
            }
        });
    }
}

fn observables_dict<'py>(py: Python<'py>, sim: &Sim) -> PyResult<Bound<'py, PyDict>> {
    let o = sim.observables();
    let c = sim.counters();
    let d = PyDict::new(py);
    d.set_item("time_s", o.time_s)?;
    d.set_item("events", o.events)?;
    d.set_item("coverage_ml", o.coverage_ml)?;
    d.set_item("mean_height_ml", o.mean_height_ml)?;
    d.set_item("roughness_ml", o.roughness_ml)?;
    d.set_item("islands", o.islands)?;
    d.set_item("islands_ge2", o.islands_ge2)?;
    d.set_item("mean_island_size", o.mean_island_size)?;
    d.set_item("film_atoms_by_species", o.film_atoms_by_species)?;
    d.set_item("hops", c.hops)?;
    d.set_item("exchanges", c.exchanges)?;
    d.set_item("transfers", c.transfers)?;
    d.set_item("particle_steps", c.particle_steps)?;
    d.set_item("particle_turns", c.particle_turns)?;
    d.set_item("particle_moves_blocked", c.particle_moves_blocked)?;
    d.set_item("deposited", c.deposited)?;
    d.set_item("total_rate_hz", sim.total_rate())?;
    d.set_item("atoms", sim.state().n_atoms())?;
    Ok(d)
}

/// A lattice KMC simulation built from a scenario (file or RON text).
///
/// Atoms are species ids (1-based indices into `species_names`) and Cartesian positions in
/// Å in the lattice frame: layer 0 at z = 0, periodic in x and y over `box_a[:2]`.
#[pyclass(name = "Simulation", module = "kmc")]
struct PySimulation {
    sim: Mutex<Sim>,
    observer_error: Arc<Mutex<Option<PyErr>>>,
}

impl PySimulation {
    fn wrap(sim: Sim) -> Self {
        PySimulation {
            sim: Mutex::new(sim),
            observer_error: Arc::new(Mutex::new(None)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Sim> {
        self.sim.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn raise_observer_error(&self) -> PyResult<()> {
        match self
            .observer_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[pymethods]
impl PySimulation {
    /// Builds from a scenario file.
    #[staticmethod]
    fn from_file(path: PathBuf) -> PyResult<Self> {
        Sim::from_file(path).map(Self::wrap).map_err(err)
    }

    /// Builds from scenario RON text.
    #[staticmethod]
    fn from_ron(text: &str) -> PyResult<Self> {
        Sim::from_ron(text).map(Self::wrap).map_err(err)
    }

    /// Executes up to `n` events; returns how many ran. Does not consult the scenario's
    /// `stop` (see `run`); contacts are relaxed and the series sampled as in `run`.
    fn run_events(&self, n: u64) -> PyResult<u64> {
        // Runs hold the GIL: observers call back into Python, and a second Python thread
        // waiting for this simulation's lock with the GIL held would otherwise deadlock.
        let done = self.lock().run_events(n);
        self.raise_observer_error()?;
        done.map_err(err)
    }

    /// Runs until the clock reaches `time_s`; returns False if nothing could happen any more
    /// before. Does not consult the scenario's `stop`; otherwise as `run_events`.
    fn run_until(&self, time_s: f64) -> PyResult<bool> {
        if time_s.is_nan() {
            return Err(PyValueError::new_err("time_s is NaN"));
        }
        let reached = self.lock().run_until(time_s);
        self.raise_observer_error()?;
        reached.map_err(err)
    }

    /// Runs to the scenario's `stop`, as `kmc run` does (contacts relaxed, series sampled,
    /// then the final row and, after `set_output`, the output files); returns the summary
    /// (the content of `summary.json`) as a dict.
    fn run<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let summary = self.lock().run();
        self.raise_observer_error()?;
        let json = serde_json::to_string(&summary.map_err(err)?)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        py.import("json")?.call_method1("loads", (json,))
    }

    /// Writes the output files into `dir` (created if missing), as `kmc run --out dir` does;
    /// `checkpoint_every` events between checkpoints (default: the scenario's).
    #[pyo3(signature = (dir, checkpoint_every=None))]
    fn set_output(&self, dir: PathBuf, checkpoint_every: Option<u64>) -> PyResult<()> {
        let opts = kmc::sim::OutputOptions {
            checkpoint_every,
            ..Default::default()
        };
        self.lock().set_output(dir, opts).map_err(err)
    }

    /// The rows of `series.csv` recorded so far, header first.
    #[getter]
    fn series(&self) -> Vec<String> {
        let s = self.lock();
        std::iter::once(s.series_header().to_string())
            .chain(s.series_rows().iter().cloned())
            .collect()
    }

    /// The rows of `contacts.csv` recorded so far (one per contact, with the relaxer's
    /// fields where contacts are relaxed).
    #[getter]
    fn contacts(&self) -> Vec<String> {
        self.lock().contact_rows().to_vec()
    }

    /// Simulated time, s.
    #[getter]
    fn time(&self) -> f64 {
        self.lock().time()
    }

    /// Species names; id `i` is `species_names[i - 1]`.
    #[getter]
    fn species_names(&self) -> Vec<String> {
        self.lock().species_names().to_vec()
    }

    /// Box lengths in Å: lateral (periodic) and the height of the allocated layers.
    #[getter]
    fn box_a<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_vec(py, self.lock().box_a().to_vec())
    }

    /// Total rate of everything that can happen now, 1/s.
    #[getter]
    fn total_rate(&self) -> f64 {
        self.lock().total_rate()
    }

    /// Number of atoms (substrate included).
    fn __len__(&self) -> usize {
        self.lock().state().n_atoms() as usize
    }

    /// Species id of every atom, shape (N,), uint8, in site order.
    fn species<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u8>> {
        PyArray1::from_vec(py, self.lock().atoms().species)
    }

    /// Positions of every atom (site positions), shape (N, 3), Å, in site order.
    fn positions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let a = self.lock().atoms();
        let n = a.len();
        let flat: Vec<f64> = a.positions_a.into_iter().flatten().collect();
        PyArray1::from_vec(py, flat).reshape([n, 3])
    }

    /// Lattice site index of every atom, in the order of `species()` and `positions()`.
    fn sites<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        let s = self
            .lock()
            .atom_sites()
            .into_iter()
            .map(|x| x as u64)
            .collect();
        PyArray1::from_vec(py, s)
    }

    /// Replaces every atom by the given ones (species ids, positions in Å): each is mapped onto
    /// a distinct lattice site (minimum summed squared displacement). An atom farther than a
    /// quarter nearest-neighbour distance from its site raises `KmcError` (state unchanged)
    /// unless `accept_off_lattice`; so does a configuration without the frozen substrate
    /// (pass every atom, as `species()` and `positions()` give them). Returns a dict: the
    /// residuals, `off_lattice` (atom indices) and `sites` (the site each atom went to).
    #[pyo3(signature = (species, positions, accept_off_lattice = false))]
    fn set_atoms<'py>(
        &self,
        py: Python<'py>,
        species: &Bound<'py, PyAny>,
        positions: &Bound<'py, PyAny>,
        accept_off_lattice: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let s = as_array(species, "uint8")?;
        let s: PyReadonlyArray1<'_, u8> = s.extract()?;
        let p = as_array(positions, "float64")?;
        let p: PyReadonlyArray2<'_, f64> = p.extract()?;
        let (s, p) = (s.as_array(), p.as_array());
        if p.ncols() != 3 || p.nrows() != s.len() {
            return Err(PyValueError::new_err(format!(
                "positions must have shape ({}, 3), got {:?}",
                s.len(),
                p.shape()
            )));
        }
        let atoms = Atoms::new(
            s.iter().copied().collect(),
            p.rows().into_iter().map(|r| [r[0], r[1], r[2]]).collect(),
        );
        let opts = SetAtomsOptions {
            off_lattice: if accept_off_lattice {
                OffLatticePolicy::Accept
            } else {
                OffLatticePolicy::Reject
            },
            ..Default::default()
        };
        let m = self.lock().set_atoms(&atoms, &opts).map_err(err)?;
        let d = PyDict::new(py);
        d.set_item("mean_residual_a", m.mean_residual_a)?;
        d.set_item("max_residual_a", m.max_residual_a)?;
        d.set_item(
            "off_lattice",
            m.off_lattice.iter().map(|o| o.atom).collect::<Vec<_>>(),
        )?;
        d.set_item("sites", m.sites)?;
        Ok(d)
    }

    /// Observables now (time, events, coverage, heights, islands, counters) as a dict.
    fn observables<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        observables_dict(py, &self.lock())
    }

    /// Checkpoint as bytes (restore with `restore_checkpoint`).
    fn checkpoint<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let b = self.lock().checkpoint().map_err(err)?;
        Ok(PyBytes::new(py, &b))
    }

    /// Restores checkpoint bytes of the same scenario (bit-identical continuation).
    fn restore_checkpoint(&self, data: &[u8]) -> PyResult<()> {
        self.lock().restore_checkpoint(data).map_err(err)
    }

    /// Writes a checkpoint file.
    fn save_checkpoint(&self, path: PathBuf) -> PyResult<()> {
        self.lock().save_checkpoint(path).map_err(err)
    }

    /// Restores a checkpoint file.
    fn load_checkpoint(&self, path: PathBuf) -> PyResult<()> {
        self.lock().load_checkpoint(path).map_err(err)
    }

    /// Calls `callback(observables_dict)` every `every_events` events or every `every_s`
    /// simulated seconds (exactly one of them) during runs; returns an id for
    /// `remove_observer`. An exception in the callback is raised when the run returns.
    #[pyo3(signature = (callback, every_events = None, every_s = None))]
    fn add_observer(
        &self,
        callback: Py<PyAny>,
        every_events: Option<u64>,
        every_s: Option<f64>,
    ) -> PyResult<u64> {
        let every = match (every_events, every_s) {
            (Some(n), None) => Every::Events(n),
            (None, Some(t)) => Every::Seconds(t),
            _ => {
                return Err(PyValueError::new_err(
                    "give exactly one of every_events, every_s",
                ));
            }
        };
        let obs = PyObserver {
            callback,
            error: self.observer_error.clone(),
        };
        let id = self.lock().add_observer(every, obs).map_err(err)?;
        Ok(id.0)
    }

    /// Unregisters an observer; returns False if it was not registered.
    fn remove_observer(&self, id: u64) -> bool {
        self.lock().remove_observer(kmc::sim::ObserverId(id))
    }

    /// An independent copy (without observers).
    fn copy(&self) -> Self {
        Self::wrap(self.lock().clone())
    }

    /// The atoms as an `ase.Atoms` (needs ASE): symbols from the species names, the periodic
    /// lateral box, open along z.
    fn to_ase<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (names, species, pos, b) = {
            let sim = self.lock();
            let a = sim.atoms();
            (
                sim.species_names().to_vec(),
                a.species,
                a.positions_a,
                sim.box_a(),
            )
        };
        let symbols: Vec<&str> = species
            .iter()
            .map(|&s| names[s as usize - 1].as_str())
            .collect();
        let n = pos.len();
        let pos = PyArray1::from_vec(py, pos.into_iter().flatten().collect()).reshape([n, 3])?;
        let ase = py.import("ase")?;
        let kw = PyDict::new(py);
        kw.set_item("symbols", symbols)?;
        kw.set_item("positions", pos)?;
        kw.set_item("cell", [b[0], b[1], b[2]])?;
        kw.set_item("pbc", [true, true, false])?;
        ase.getattr("Atoms")?.call((), Some(&kw))
    }

    fn __repr__(&self) -> String {
        let sim = self.lock();
        format!(
            "kmc.Simulation({:?}, atoms={}, time_s={:e}, events={})",
            sim.scenario().name,
            sim.state().n_atoms(),
            sim.time(),
            sim.counters().events()
        )
    }
}

/// A rate sampler (select a leaf with probability rate / total), as the KMC engine uses it.
#[pyclass(name = "Sampler", module = "kmc")]
struct PySampler {
    inner: Mutex<(AnySampler, KmcRng)>,
}

fn sampler_kind(name: &str) -> PyResult<SamplerKind> {
    SamplerKind::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "unknown sampler `{name}` (known: {})",
                SamplerKind::ALL.map(|k| k.name()).join(", ")
            ))
        })
}

fn check_rate(rate: f64) -> PyResult<()> {
    if rate.is_finite() && rate >= 0.0 {
        Ok(())
    } else {
        Err(PyValueError::new_err(format!(
            "rates must be finite and non-negative, got {rate}"
        )))
    }
}

#[pymethods]
impl PySampler {
    /// A sampler of `kind` (see `sampler_kinds()`) over `rates`, drawing from a PCG stream
    /// seeded with `seed`.
    #[new]
    #[pyo3(signature = (kind, rates, seed = 1))]
    fn new(kind: &str, rates: &Bound<'_, PyAny>, seed: u64) -> PyResult<Self> {
        let r = as_array(rates, "float64")?;
        let r: PyReadonlyArray1<'_, f64> = r.extract()?;
        let r = r.as_array().to_vec();
        for &x in &r {
            check_rate(x)?;
        }
        let mut s = sampler_kind(kind)?.build(0);
        s.assign(&r);
        Ok(PySampler {
            inner: Mutex::new((s, stream(seed, Stream::Engine))),
        })
    }

    fn __len__(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).0.len()
    }

    /// Sets the rate of leaf `i`.
    fn set(&self, i: usize, rate: f64) -> PyResult<()> {
        check_rate(rate)?;
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if i >= g.0.len() {
            return Err(PyValueError::new_err(format!(
                "leaf {i} out of range (len {})",
                g.0.len()
            )));
        }
        g.0.set(i, rate);
        Ok(())
    }

    /// Sum of the rates.
    fn total(&self) -> f64 {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .total()
    }

    /// A leaf chosen with probability rate / total (None when the total is zero).
    fn select(&self) -> Option<usize> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (s, rng) = &mut *g;
        s.select(rng)
    }

    /// `n` selections as an array (one call, no Python overhead per draw).
    fn select_many<'py>(&self, py: Python<'py>, n: usize) -> Bound<'py, PyArray1<i64>> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (s, rng) = &mut *g;
        let v = (0..n)
            .map(|_| s.select(rng).map_or(-1, |i| i as i64))
            .collect();
        PyArray1::from_vec(py, v)
    }
}

/// Sets the number of threads of kmc's pool (as `RAYON_NUM_THREADS`); only before kmc does
/// any work in this process, otherwise `KmcError`.
#[pyfunction]
fn set_threads(n: usize) -> PyResult<()> {
    kmc::sim::set_threads(n).map_err(err)
}

/// Threads of kmc's pool (starting it if it is not running yet).
#[pyfunction]
fn threads() -> usize {
    kmc::sim::threads()
}

/// Names of the sampler kinds.
#[pyfunction]
fn sampler_kinds() -> Vec<&'static str> {
    SamplerKind::ALL.map(|k| k.name()).to_vec()
}

/// Times one select + one update of a random leaf (the KMC inner loop) for a sampler of
/// `leaves` leaves with log-uniform rates on [1, spread]; returns a dict with `ns_per_event`.
#[pyfunction]
#[pyo3(signature = (kind, leaves, spread = 1e3, seed = 1, measure_time_s = 0.3))]
fn bench_sampler<'py>(
    py: Python<'py>,
    kind: &str,
    leaves: usize,
    spread: f64,
    seed: u64,
    measure_time_s: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let k = sampler_kind(kind)?;
    let spread_ok = spread.is_finite() && spread >= 1.0;
    if leaves == 0 || !spread_ok || !(measure_time_s > 0.0 && measure_time_s < 600.0) {
        return Err(PyValueError::new_err(
            "need leaves >= 1, spread >= 1 and 0 < measure_time_s < 600",
        ));
    }
    // Sizes are checked before anything is allocated: a panic would surface as a
    // PanicException (a BaseException) and an allocation failure would abort the interpreter.
    kmc::sampler::bench::check_leaves(leaves).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let t = Duration::from_secs_f64(measure_time_s);
    let row = py.detach(|| kmc::sampler::bench::bench_sampler(k, leaves, spread, seed, t));
    let d = PyDict::new(py);
    d.set_item("kind", k.name())?;
    d.set_item("leaves", row.leaves)?;
    d.set_item("spread", row.spread)?;
    d.set_item("iterations", row.iterations)?;
    d.set_item("ns_per_event", row.ns_per_event)?;
    Ok(d)
}

/// Writes a Zhou–Johnson–Wadley (2004) EAM setfl file (LAMMPS `pair_style eam/alloy`) for
/// the given elements, any of its sixteen metals (Cu Ag Au Ni Pd Pt Al Pb Fe Mo Ta W Mg Co Ti Zr).
#[pyfunction]
fn write_zhou04_setfl(elements: Vec<String>, path: PathBuf) -> PyResult<()> {
    let names: Vec<&str> = elements.iter().map(String::as_str).collect();
    kmc::md::zhou04::write_setfl(&names, path).map_err(err)
}

/// Evaluates kmc's EAM (setfl file) on a configuration the caller hands over, after refusing
/// what would come back as inf or NaN without a word (a zero box, coincident atoms).
fn eam_evaluate(
    py: Python<'_>,
    setfl_path: &std::path::Path,
    positions: &Bound<'_, PyAny>,
    types: &Bound<'_, PyAny>,
    box_a: [f64; 3],
    periodic: (bool, bool, bool),
) -> PyResult<Evaluation> {
    let eam = Eam::read_setfl(setfl_path).map_err(err)?;
    let p = as_array(positions, "float64")?;
    let p: PyReadonlyArray2<'_, f64> = p.extract()?;
    let t = as_array(types, "int64")?;
    let t: PyReadonlyArray1<'_, i64> = t.extract()?;
    let (p, t) = (p.as_array(), t.as_array());
    if p.ncols() != 3 || p.nrows() != t.len() {
        return Err(PyValueError::new_err(format!(
            "positions must have shape ({}, 3) (one row per type), got {:?}",
            t.len(),
            p.shape()
        )));
    }
    let n_el = eam.elements().len() as i64;
    let species = t
        .iter()
        .map(|&x| {
            if (1..=n_el).contains(&x) {
                Ok((x - 1) as u8)
            } else {
                Err(PyValueError::new_err(format!(
                    "type {x} out of range 1..={n_el}"
                )))
            }
        })
        .collect::<PyResult<Vec<u8>>>()?;
    let simbox = SimBox {
        lengths: box_a,
        periodic: [periodic.0, periodic.1, periodic.2],
    };
    simbox.validate().map_err(err)?;
    let raw: Vec<[f64; 3]> = p.rows().into_iter().map(|r| [r[0], r[1], r[2]]).collect();
    kmc::md::check_positions(&raw).map_err(err)?;
    // Wrapped into the box along periodic axes: the same physics, and the neighbour list only
    // takes positions within a hundred box lengths.
    let pos: Vec<[f64; 3]> = raw.iter().map(|&x| simbox.wrap(x)).collect();
    py.detach(|| {
        let nl = NeighborList::build(&pos, &simbox, eam.cutoff(), 0.0, true);
        kmc::md::check_coincident(&pos, &simbox, &nl)?;
        let conf = Configuration {
            positions: &pos,
            species: &species,
            simbox: &simbox,
        };
        let mut out = Evaluation::default();
        eam.compute(&conf, &nl, true, &mut out);
        if !out.energy.is_finite() {
            return Err(kmc::Error::Simulation(format!(
                "the EAM energy is {} (atoms closer than the setfl's tables reach?)",
                out.energy
            )));
        }
        Ok(out)
    })
    .map_err(err)
}

/// Energies of a configuration with kmc's EAM from a setfl file: returns
/// `(total_ev, per_atom_ev)`. `types` are 1-based indices into the file's elements (as
/// `pair_coeff * * file El1 El2 ...` in file order); `box_a` the box lengths from the origin;
/// `periodic` per axis, required: `(True, True, True)` for bulk, `(True, True, False)` for a
/// slab (an open axis has no images, and its box length is only a size hint). A zero or
/// negative periodic length, a non-finite position or two atoms closer than 0.001 Å raise
/// `KmcError`. See `eam_compute` for forces and the virial.
#[pyfunction]
#[pyo3(signature = (setfl_path, positions, types, box_a, *, periodic))]
fn eam_energies<'py>(
    py: Python<'py>,
    setfl_path: PathBuf,
    positions: &Bound<'py, PyAny>,
    types: &Bound<'py, PyAny>,
    box_a: [f64; 3],
    periodic: (bool, bool, bool),
) -> PyResult<(f64, Bound<'py, PyArray1<f64>>)> {
    let eval = eam_evaluate(py, &setfl_path, positions, types, box_a, periodic)?;
    Ok((eval.energy, PyArray1::from_vec(py, eval.per_atom)))
}

/// Energy, per-atom energies, forces and virial of a configuration with kmc's EAM from a setfl
/// file (arguments and refusals as `eam_energies`). Returns a dict: `energy_ev` (float),
/// `per_atom_ev` (N,), `forces_ev_per_a` (N, 3), `virial_ev` (6,) in the order xx, yy, zz, xy,
/// xz, yz: `W_ab = Σ_pairs r_ab f_ab`, LAMMPS's virial (`compute pressure NULL virial` times
/// `V / nktv2p`), so the potential part of the stress is `-W / V` and, for a homogeneous
/// strain ε of box and atoms, `dE/dε_ab = -W_ab`.
#[pyfunction]
#[pyo3(signature = (setfl_path, positions, types, box_a, *, periodic))]
fn eam_compute<'py>(
    py: Python<'py>,
    setfl_path: PathBuf,
    positions: &Bound<'py, PyAny>,
    types: &Bound<'py, PyAny>,
    box_a: [f64; 3],
    periodic: (bool, bool, bool),
) -> PyResult<Bound<'py, PyDict>> {
    let eval = eam_evaluate(py, &setfl_path, positions, types, box_a, periodic)?;
    let n = eval.forces.len();
    let d = PyDict::new(py);
    d.set_item("energy_ev", eval.energy)?;
    d.set_item("per_atom_ev", PyArray1::from_vec(py, eval.per_atom))?;
    let f: Vec<f64> = eval.forces.into_iter().flatten().collect();
    d.set_item(
        "forces_ev_per_a",
        PyArray1::from_vec(py, f).reshape([n, 3])?,
    )?;
    d.set_item("virial_ev", PyArray1::from_vec(py, eval.virial.to_vec()))?;
    Ok(d)
}

/// One EamNeb barrier, as a run computes it (and `kmc rates barrier` prints it): an adatom
/// of `adatom` (default: `species`) on a flat `surface` ("fcc100", "fcc111", "fcc110") terrace
/// of `species`, hopping to the next in-layer site (`event="hop"`) or exchanging with a
/// surface atom (`"exchange"`). `slab` is the lateral size in the lattice's size units (default:
/// at least eight lattice constants both ways), `setfl` a LAMMPS eam/alloy file (default:
/// Zhou04). Returns a dict: `status`, `forward_ev`, `reverse_ev` (NaN when the status is no
/// event), `end_energies_ev`, `lattice_constant_a`, `slab`, `neb_steps`.
#[pyfunction]
#[pyo3(signature = (species, event = "hop", surface = "fcc100", *, adatom = None, slab = None,
                    layers_below = 5, fixed_layers = 2, setfl = None, lattice_constant_a = None))]
#[allow(clippy::too_many_arguments)]
fn eam_neb_barrier<'py>(
    py: Python<'py>,
    species: String,
    event: &str,
    surface: &str,
    adatom: Option<String>,
    slab: Option<(usize, usize)>,
    layers_below: usize,
    fixed_layers: usize,
    setfl: Option<PathBuf>,
    lattice_constant_a: Option<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    use kmc::lattice::LatticeKind;
    use kmc::rates::eam_neb::{
        BarrierRequest, EamPotential, EventKind, NebSpec, SlabSpec, adatom_barrier,
    };
    let event = match event {
        "hop" => EventKind::Hop,
        "exchange" => EventKind::Exchange,
        other => {
            return Err(PyValueError::new_err(format!(
                "event must be \"hop\" or \"exchange\", got {other:?}"
            )));
        }
    };
    let surface = match surface.to_ascii_lowercase().as_str() {
        "fcc100" => LatticeKind::Fcc100,
        "fcc111" => LatticeKind::Fcc111,
        "fcc110" => LatticeKind::Fcc110,
        _ => {
            return Err(PyValueError::new_err(format!(
                "surface must be \"fcc100\", \"fcc111\" or \"fcc110\", got {surface:?}"
            )));
        }
    };
    if let Some((a, b)) = slab {
        if a == 0 || b == 0 || a > 64 || b > 64 {
            return Err(PyValueError::new_err(format!(
                "slab {:?}: each side must be 1 to 64",
                (a, b)
            )));
        }
    }
    let adatom = adatom.unwrap_or_else(|| species.clone());
    let mut elements = vec![species.clone()];
    if adatom != species {
        elements.push(adatom.clone());
    }
    let req = BarrierRequest {
        potential: match setfl {
            Some(p) => EamPotential::Setfl(p.to_string_lossy().into_owned()),
            None => EamPotential::Zhou04(elements),
        },
        substrate: species,
        adatom,
        surface,
        event,
        lattice_constant_a,
        slab: SlabSpec {
            size: slab,
            layers_below,
            fixed_layers,
        },
        neb: NebSpec::default(),
        base_dir: None,
    };
    let r = py.detach(|| adatom_barrier(&req)).map_err(err)?;
    let d = PyDict::new(py);
    d.set_item("status", format!("{:?}", r.entry.status))?;
    d.set_item("forward_ev", r.entry.forward_ev)?;
    d.set_item("reverse_ev", r.entry.reverse_ev)?;
    d.set_item("end_energies_ev", r.end_energies_ev.to_vec())?;
    d.set_item("lattice_constant_a", r.lattice_constant_a)?;
    d.set_item("slab", r.slab.size)?;
    d.set_item("neb_steps", r.entry.neb_steps)?;
    Ok(d)
}

/// Coalescence observables of a two-particle trajectory (extended XYZ or LAMMPS dump), as
/// `kmc analyze` computes them: returns a dict of numpy arrays, one entry per frame —
/// `frame`, `time_ps` or `step`, `neck_radius_a`, `rg_a`, `centre_distance_a`,
/// `misorientation_deg` (change since frame 0), `grain_misorientation_deg` (absolute, cubic
/// symmetry), `surface_atoms`, `surface_fraction_<Sp>` — and the settings used
/// (`nn_distance_a`, `plane_spacing_a`, `labels_from`) and `initial_misorientation_deg`, the
/// absolute misorientation of two FCC cores in frame 0 (None otherwise). With
/// `first_particle_atoms` N, the first N atoms are particle A. With `out`, also writes the CSV
/// files.
#[pyfunction]
#[pyo3(signature = (path, format = None, label_column = None, nn_distance_a = None,
                    plane_spacing_a = None, core_fraction = 0.7, out = None,
                    first_particle_atoms = None))]
#[allow(clippy::too_many_arguments)]
fn analyze<'py>(
    py: Python<'py>,
    path: PathBuf,
    format: Option<&str>,
    label_column: Option<String>,
    nn_distance_a: Option<f64>,
    plane_spacing_a: Option<f64>,
    core_fraction: f64,
    out: Option<PathBuf>,
    first_particle_atoms: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    use kmc::observe::analyze::{AnalyzeOptions, TrajectoryFormat, analyze_file};
    let opts = AnalyzeOptions {
        format: format
            .map(TrajectoryFormat::parse)
            .transpose()
            .map_err(err)?,
        label_column,
        nn_distance_a,
        plane_spacing_a,
        core_fraction,
        first_particle_atoms,
        ..AnalyzeOptions::default()
    };
    let an = py
        .detach(|| {
            let an = analyze_file(&path, &opts)?;
            if let Some(dir) = &out {
                an.write(dir)?;
            }
            Ok(an)
        })
        .map_err(err)?;
    let d = PyDict::new(py);
    let col = |f: &dyn Fn(&kmc::observe::analyze::FrameRow) -> f64| -> Vec<f64> {
        an.rows.iter().map(f).collect()
    };
    let frames: Vec<i64> = an.rows.iter().map(|r| r.frame as i64).collect();
    d.set_item("frame", PyArray1::from_vec(py, frames))?;
    d.set_item(an.time_column, PyArray1::from_vec(py, col(&|r| r.time)))?;
    d.set_item(
        "neck_radius_a",
        PyArray1::from_vec(py, col(&|r| r.neck_radius_a)),
    )?;
    d.set_item("rg_a", PyArray1::from_vec(py, col(&|r| r.rg_a)))?;
    d.set_item(
        "centre_distance_a",
        PyArray1::from_vec(py, col(&|r| r.centre_distance_a)),
    )?;
    d.set_item(
        "misorientation_deg",
        PyArray1::from_vec(py, col(&|r| r.misorientation_deg)),
    )?;
    d.set_item(
        "grain_misorientation_deg",
        PyArray1::from_vec(py, col(&|r| r.grain_misorientation_deg)),
    )?;
    let surf: Vec<i64> = an.rows.iter().map(|r| r.surface_atoms as i64).collect();
    d.set_item("surface_atoms", PyArray1::from_vec(py, surf))?;
    for (k, s) in an.species.iter().enumerate() {
        d.set_item(
            format!("surface_fraction_{s}"),
            PyArray1::from_vec(py, col(&|r| r.surface_fraction[k])),
        )?;
    }
    d.set_item("nn_distance_a", an.nn_distance_a)?;
    d.set_item("plane_spacing_a", an.plane_spacing_a)?;
    d.set_item("labels_from", &an.labels_from)?;
    d.set_item("initial_misorientation_deg", an.initial_misorientation_deg)?;
    Ok(d)
}

#[pymodule]
fn _kmc(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySimulation>()?;
    m.add_class::<PySampler>()?;
    m.add_function(wrap_pyfunction!(sampler_kinds, m)?)?;
    m.add_function(wrap_pyfunction!(bench_sampler, m)?)?;
    m.add_function(wrap_pyfunction!(write_zhou04_setfl, m)?)?;
    m.add_function(wrap_pyfunction!(eam_energies, m)?)?;
    m.add_function(wrap_pyfunction!(eam_compute, m)?)?;
    m.add_function(wrap_pyfunction!(eam_neb_barrier, m)?)?;
    m.add_function(wrap_pyfunction!(set_threads, m)?)?;
    m.add_function(wrap_pyfunction!(threads, m)?)?;
    m.add_function(wrap_pyfunction!(analyze, m)?)?;
    m.add("KmcError", m.py().get_type::<KmcError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
