//! The scenario file: a RON document describing one run.
//!
//! Every field carries its unit in its name. Parsing errors (syntax, unknown fields, wrong
//! types) come with ron's line and column; errors found while validating and building (a
//! negative flux, an unknown species, a substrate thicker than the box) are located in the text
//! by their field path, so every message names file, line, column and field.

pub mod md;

use crate::deposit::AtomDepositionSpec;
use crate::error::{Error, Result};
use crate::io::ron::{locate_error, parse_ron};
use crate::io::validate::{
    at_least, finite, fits_in_memory, in_range_of, non_negative_of, positive, positive_of,
};
use crate::lattice::LatticeKind;
use crate::particle::{Composition, ParticleDepositionSpec, Shape};
use crate::rates::RateModelSpec;
use crate::sampler::SamplerKind;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Memory per allocated lattice site, bytes, as size checks count it: the cell (1), the
/// engine's rate slot (4), a checkpoint's species map and the coordination rebuild's scratch
/// (1 each), rounded up.
pub const BYTES_PER_SITE: f64 = 8.0;

/// Empty layers counted above the film in size checks (more than any lattice's headroom).
const HEADROOM_LAYERS: f64 = 16.0;

/// Most bins of g(r) an output may ask for.
pub const MAX_GR_BINS: usize = 1_000_000;

/// Most points of an XRD pattern an output may ask for.
pub const MAX_XRD_POINTS: usize = 1_000_000;

/// One run, as written in a `.ron` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name; the default output directory is `out/<name>/`.
    pub name: String,
    /// Seed of the random stream.
    pub seed: u64,
    /// Temperature in K.
    pub temperature_k: f64,
    /// Species names; the first is species 1. At most 15.
    pub species: Vec<String>,
    /// The lattice and substrate.
    pub lattice: LatticeSpec,
    /// How rates are computed.
    pub rate_model: RateModelSpec,
    /// Atom sources (co-deposition: several).
    #[serde(default)]
    pub deposition: Vec<AtomDepositionSpec>,
    /// Particle sources.
    #[serde(default)]
    pub particles: Vec<ParticleDepositionSpec>,
    /// Atoms present at the start besides the substrate (particles are placed after the
    /// other entries, in their order).
    #[serde(default)]
    pub initial: Vec<InitialAtoms>,
    /// Contact tracking (on whenever the scenario has particles).
    #[serde(default)]
    pub contacts: ContactSpec,
    /// The embedded MD relaxer run on every contact of a run that tracks contacts
    /// (on by default with the Zhou 2004 EAM; `None` disables it).
    #[serde(default = "default_relax")]
    pub relax: Option<crate::relax::RelaxSpec>,
    /// Rate sampler.
    #[serde(default)]
    pub sampler: SamplerKind,
    /// When the run ends (the first condition met).
    pub stop: Stop,
    /// What is written, and how often.
    #[serde(default)]
    pub output: OutputSpec,
    /// Threads of a parallel run (synchronous sublattice, Shim & Amar 2005): the surface is cut
    /// into this many sectors, run side by side. 1 (the default) is the serial algorithm, event
    /// for event. Atom-only lattice runs only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// The window τ of a parallel run, s (default: 1 / the fastest single-event rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sublattice_window_s: Option<f64>,
    /// Particle grains glide and turn on the surface as bodies while they are bonded to no
    /// other body (see `kmc info` and the README's "Particles as grains").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub particle_motion: Option<crate::grains::motion::ParticleMotionSpec>,
}

/// Lattice, box and substrate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatticeSpec {
    /// Lattice kind and surface orientation.
    pub kind: LatticeKind,
    /// Lattice constant in Å (HCP: the in-layer constant a).
    pub lattice_constant_a: f64,
    /// c/a of an `Hcp0001` lattice (default: the ideal √(8/3) = 1.633; give the potential's
    /// own value, e.g. from `tests/data/zhou04/bulk_lammps.csv` for the Zhou 2004 metals).
    /// The other kinds refuse it.
    #[serde(default)]
    pub c_over_a: Option<f64>,
    /// Lateral size; the unit depends on the kind (see `kmc info`).
    pub size: (usize, usize),
    /// Filled atomic layers at the bottom.
    #[serde(default)]
    pub substrate_layers: usize,
    /// Species of the substrate (default: the first species).
    #[serde(default)]
    pub substrate_species: Option<String>,
    /// Bottom layers whose atoms never move.
    #[serde(default)]
    pub frozen_layers: usize,
    /// Layers allocated at the start (the box grows on demand; default: substrate + room for
    /// the expected film).
    #[serde(default)]
    pub height_layers: Option<usize>,
}

/// Atoms placed before the run starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum InitialAtoms {
    /// Each site of one layer (counted from the first layer above the substrate, 0-based) is
    /// occupied independently with probability `coverage`.
    RandomLayer {
        /// Species name.
        species: String,
        /// Layer above the substrate.
        layer_above_substrate: usize,
        /// Fraction of the layer's sites filled, in [0, 1].
        coverage: f64,
    },
    /// Single atoms at grid coordinates `(x, y, layer)`.
    Atoms {
        /// Species name.
        species: String,
        /// Grid coordinates.
        sites: Vec<(usize, usize, usize)>,
    },
    /// A particle centred on the lattice site nearest to `at_nm` laterally: at height
    /// `height_nm` (its centre's z above layer 0; it must not overlap anything), or, without a
    /// height, dropped there onto the film like a deposited particle.
    Particle {
        /// Shape (default sphere).
        #[serde(default)]
        shape: Shape,
        /// Equal-volume diameter, nm.
        diameter_nm: f64,
        /// Composition.
        composition: Composition,
        /// Lateral position of the centre, nm.
        at_nm: (f64, f64),
        /// Height of the centre above layer 0, nm; dropped if absent.
        #[serde(default)]
        height_nm: Option<f64>,
        /// Crystal orientation: given, the particle is a grain of its own (see
        /// `particles[].orientation`); absent, it is cut from the film's lattice.
        #[serde(default)]
        orientation: Option<crate::grains::OrientationSpec>,
    },
}

/// Contact tracking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactSpec {
    /// Track contacts even without particles (e.g. to watch islands merge).
    #[serde(default)]
    pub always: bool,
    /// A contact is raised when two components of at least this many atoms each merge, or a
    /// component this large first touches the substrate (default 10: a detached adatom that
    /// returns to a particle is no contact).
    #[serde(default = "default_min_atoms")]
    pub min_atoms: u32,
}

fn default_relax() -> Option<crate::relax::RelaxSpec> {
    Some(Default::default())
}

fn default_min_atoms() -> u32 {
    10
}

impl Default for ContactSpec {
    fn default() -> Self {
        ContactSpec {
            always: false,
            min_atoms: default_min_atoms(),
        }
    }
}

/// Stop conditions; the run ends at the first one met, or when nothing can happen any more.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stop {
    /// Simulated time in s.
    #[serde(default)]
    pub time_s: Option<f64>,
    /// Deposited coverage in monolayers.
    #[serde(default)]
    pub coverage_ml: Option<f64>,
    /// Executed events.
    #[serde(default)]
    pub events: Option<u64>,
    /// Stop at the first `series.csv` row in which a connected component of film atoms spans
    /// the periodic box along x or y (particle runs).
    #[serde(default)]
    pub percolated: bool,
}

impl Stop {
    /// Checks the values (a time or coverage that is negative or not finite can never be
    /// met); `field` names the stop in messages (`stop`, or a CLI flag's context).
    pub fn validate(&self, field: &str) -> Result<()> {
        for (v, f) in [(self.time_s, "time_s"), (self.coverage_ml, "coverage_ml")] {
            if let Some(v) = v {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(Error::field(
                        format!("{field}.{f}"),
                        format!("must be a non-negative number, got {v}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Snapshot file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SnapshotFormat {
    /// Extended XYZ (ASE, OVITO).
    Xyz,
    /// LAMMPS dump (`ITEM: ATOMS id type element x y z`).
    LammpsDump,
}

/// Output schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// A row of `series.csv` every this many seconds of simulated time.
    #[serde(default)]
    pub series_every_s: Option<f64>,
    /// A row of `series.csv` every this many events.
    #[serde(default)]
    pub series_every_events: Option<u64>,
    /// A snapshot every this many seconds of simulated time (the final state is always written).
    #[serde(default)]
    pub snapshot_every_s: Option<f64>,
    /// Snapshot formats.
    #[serde(default = "default_formats")]
    pub snapshot_formats: Vec<SnapshotFormat>,
    /// A checkpoint every this many events.
    #[serde(default)]
    pub checkpoint_every_events: Option<u64>,
    /// Structure files (g(r), XRD) and plots of particle runs.
    #[serde(default)]
    pub structure: StructureSpec,
}

/// Structure output of particle runs: with every snapshot, `gr_<name>.csv` (partial g(r) of
/// the film atoms) and `xrd_<name>.csv` (Debye pattern), and the PNG plots at the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StructureSpec {
    /// Largest distance of g(r), Å.
    #[serde(default = "default_gr_r_max")]
    pub gr_r_max_a: f64,
    /// Bin width of g(r), Å.
    #[serde(default = "default_gr_dr")]
    pub gr_dr_a: f64,
    /// X-ray wavelength, Å (default Cu Kα1).
    #[serde(default = "default_wavelength")]
    pub xrd_wavelength_a: f64,
    /// Range of 2θ, degrees.
    #[serde(default = "default_two_theta")]
    pub xrd_two_theta_deg: (f64, f64),
    /// Points of the pattern.
    #[serde(default = "default_xrd_points")]
    pub xrd_points: usize,
    /// The Debye sum is O(N²): above this many film atoms the pattern is skipped (noted in
    /// the summary).
    #[serde(default = "default_xrd_max_atoms")]
    pub xrd_max_atoms: usize,
    /// Range of q of the small-angle curve `saxs_<name>.csv`, Å⁻¹ (log-spaced points).
    #[serde(default = "default_saxs_q")]
    pub saxs_q_inv_a: (f64, f64),
    /// Points of the small-angle curve.
    #[serde(default = "default_saxs_points")]
    pub saxs_points: usize,
    /// The small-angle curve is the same O(N²) Debye sum: above this many film atoms it is
    /// skipped (noted in the summary).
    #[serde(default = "default_xrd_max_atoms")]
    pub saxs_max_atoms: usize,
    /// Write the PNG plots.
    #[serde(default = "default_true")]
    pub plots: bool,
}

fn default_gr_r_max() -> f64 {
    12.0
}
fn default_gr_dr() -> f64 {
    0.02
}
fn default_wavelength() -> f64 {
    1.5406
}
fn default_two_theta() -> (f64, f64) {
    (20.0, 100.0)
}
fn default_xrd_points() -> usize {
    801
}
fn default_xrd_max_atoms() -> usize {
    20_000
}
fn default_saxs_q() -> (f64, f64) {
    (0.01, 0.5)
}
fn default_saxs_points() -> usize {
    200
}
fn default_true() -> bool {
    true
}

impl Default for StructureSpec {
    fn default() -> Self {
        StructureSpec {
            gr_r_max_a: default_gr_r_max(),
            gr_dr_a: default_gr_dr(),
            xrd_wavelength_a: default_wavelength(),
            xrd_two_theta_deg: default_two_theta(),
            xrd_points: default_xrd_points(),
            xrd_max_atoms: default_xrd_max_atoms(),
            saxs_q_inv_a: default_saxs_q(),
            saxs_points: default_saxs_points(),
            saxs_max_atoms: default_xrd_max_atoms(),
            plots: true,
        }
    }
}

fn default_formats() -> Vec<SnapshotFormat> {
    vec![SnapshotFormat::Xyz, SnapshotFormat::LammpsDump]
}

impl Default for OutputSpec {
    fn default() -> Self {
        OutputSpec {
            series_every_s: None,
            series_every_events: None,
            snapshot_every_s: None,
            snapshot_formats: default_formats(),
            checkpoint_every_events: None,
            structure: StructureSpec::default(),
        }
    }
}

/// A scenario with the text and path it came from, for error locations.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    /// The parsed scenario.
    pub scenario: Scenario,
    /// The RON text.
    pub text: String,
    /// The file, if any.
    pub path: Option<PathBuf>,
}

impl LoadedScenario {
    /// Reads and parses a scenario file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_text(text, Some(path.to_path_buf()))
    }

    /// Parses scenario text; `path` is only used in messages and to resolve relative files.
    pub fn from_text(text: String, path: Option<PathBuf>) -> Result<Self> {
        let scenario: Scenario = parse_ron(&text, path.as_deref())?;
        let loaded = LoadedScenario {
            scenario,
            text,
            path,
        };
        loaded.scenario.validate().map_err(|e| loaded.locate(e))?;
        Ok(loaded)
    }

    /// A scenario built in memory (its errors carry field paths only).
    pub fn from_value(scenario: Scenario) -> Result<Self> {
        let text = ron::ser::to_string_pretty(&scenario, ron::ser::PrettyConfig::default())
            .map_err(|e| Error::field("scenario", e.to_string()))?;
        scenario.validate()?;
        Ok(LoadedScenario {
            scenario,
            text,
            path: None,
        })
    }

    /// Directory relative file names in the scenario are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .as_ref()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default()
    }

    /// Adds file, line and column to an input error that only names a field.
    pub fn locate(&self, err: Error) -> Error {
        locate_error(err, &self.text, self.path.as_deref())
    }
}

impl Scenario {
    /// Checks values that serde cannot (signs, ranges, names); errors name the field.
    pub fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty() || self.name.contains(['/', '\\']) {
            return Err(Error::field(
                "name",
                "must be a non-empty name without path separators",
            ));
        }
        positive_of("temperature_k", self.temperature_k, "kelvin")?;
        if self.species.is_empty() {
            return Err(Error::field("species", "at least one species is needed"));
        }
        if self.species.len() > crate::state::MAX_SPECIES {
            return Err(Error::field(
                "species",
                format!(
                    "at most {} species, got {}",
                    crate::state::MAX_SPECIES,
                    self.species.len()
                ),
            ));
        }
        for (i, s) in self.species.iter().enumerate() {
            if s.is_empty() || self.species[..i].contains(s) {
                return Err(Error::field(
                    format!("species[{i}]"),
                    format!("species names must be unique and non-empty (`{s}`)"),
                ));
            }
        }
        let l = &self.lattice;
        let (lo, hi) = crate::lattice::LATTICE_CONSTANT_RANGE_A;
        in_range_of(
            "lattice.lattice_constant_a",
            l.lattice_constant_a,
            lo,
            hi,
            "Å",
        )?;
        crate::lattice::check_c_over_a(l.kind, l.c_over_a)?;
        if let Some(s) = &l.substrate_species {
            self.species_id(s, "lattice.substrate_species")?;
        }
        if l.kind.is_2d() && l.substrate_layers > 0 {
            return Err(Error::field(
                "lattice.substrate_layers",
                "a 2-D lattice has a single layer and no substrate",
            ));
        }
        if let Some(h) = l.height_layers {
            if l.substrate_layers > h {
                return Err(Error::field(
                    "lattice.substrate_layers",
                    format!(
                        "{} substrate layers do not fit in a box of height_layers = {h}",
                        l.substrate_layers
                    ),
                ));
            }
        }
        if l.frozen_layers > l.substrate_layers {
            return Err(Error::field(
                "lattice.frozen_layers",
                "cannot freeze more layers than the substrate has",
            ));
        }
        self.validate_threads()?;
        if let Some(m) = &self.particle_motion {
            m.validate()?;
            if !self.uses_grains() {
                return Err(Error::field(
                    "particle_motion",
                    "moves particle grains, and this scenario has none: give its particles an \
                     orientation (particles[].orientation, or orientation of an initial \
                     Particle)",
                ));
            }
        }
        for (i, d) in self.deposition.iter().enumerate() {
            self.species_id(&d.species, &format!("deposition[{i}].species"))?;
            non_negative_of(
                format!("deposition[{i}].flux_ml_per_s"),
                d.flux_ml_per_s,
                "monolayers per second",
            )?;
        }
        for (i, p) in self.particles.iter().enumerate() {
            let f = format!("particles[{i}]");
            non_negative_of(
                format!("{f}.flux_per_nm2_s"),
                p.flux_per_nm2_s,
                "particles per nm² per second",
            )?;
            p.size.validate(&format!("{f}.size"))?;
            p.composition
                .resolve(&format!("{f}.composition"), |n, fl| self.species_id(n, fl))?;
        }
        if (!self.particles.is_empty() || self.has_initial_particles()) && l.kind.is_2d() {
            return Err(Error::field(
                "lattice.kind",
                format!("particles need a 3-D lattice, not {:?}", l.kind),
            ));
        }
        for (i, p) in self.particles.iter().enumerate() {
            p.shape
                .check_lattice(l.kind, &format!("particles[{i}].shape"))?;
        }
        for (i, a) in self.initial.iter().enumerate() {
            if let InitialAtoms::Particle { shape, .. } = a {
                shape.check_lattice(l.kind, &format!("initial[{i}].Particle.shape"))?;
            }
        }
        if !self.particles.is_empty() || self.has_initial_particles() {
            // The particle frame's own refusal, found before anything is built.
            crate::particle::LatticeFrame::check_placeable(l.kind)?;
        }
        for (i, a) in self.initial.iter().enumerate() {
            match a {
                InitialAtoms::RandomLayer {
                    species, coverage, ..
                } => {
                    self.species_id(species, &format!("initial[{i}].species"))?;
                    if !(0.0..=1.0).contains(coverage) {
                        return Err(Error::field(
                            format!("initial[{i}].coverage"),
                            format!("must lie in [0, 1], got {coverage}"),
                        ));
                    }
                }
                InitialAtoms::Atoms { species, .. } => {
                    self.species_id(species, &format!("initial[{i}].species"))?;
                }
                InitialAtoms::Particle {
                    diameter_nm,
                    composition,
                    at_nm,
                    height_nm,
                    orientation,
                    ..
                } => {
                    let f = format!("initial[{i}].Particle");
                    if let Some(o) = orientation {
                        o.validate(&format!("{f}.orientation"))?;
                    }
                    positive_of(format!("{f}.diameter_nm"), *diameter_nm, "nm")?;
                    finite(format!("{f}.at_nm[0]"), at_nm.0)?;
                    finite(format!("{f}.at_nm[1]"), at_nm.1)?;
                    if let Some(h) = height_nm {
                        non_negative_of(format!("{f}.height_nm"), *h, "nm")?;
                    }
                    composition
                        .resolve(&format!("{f}.composition"), |n, fl| self.species_id(n, fl))?;
                }
            }
        }
        let s = &self.stop;
        if s.time_s.is_none() && s.coverage_ml.is_none() && s.events.is_none() {
            return Err(Error::field(
                "stop",
                "give at least one of time_s, coverage_ml, events",
            ));
        }
        if s.percolated && !self.tracks_contacts() {
            return Err(Error::field(
                "stop.percolated",
                "needs a run that tracks contacts (particles, or contacts: (always: true))",
            ));
        }
        s.validate("stop")?;
        let o = &self.output;
        for (v, f) in [
            (o.series_every_s, "output.series_every_s"),
            (o.snapshot_every_s, "output.snapshot_every_s"),
        ] {
            if let Some(v) = v {
                positive_of(f, v, "seconds")?;
            }
        }
        let st = &o.structure;
        for (v, f) in [
            (st.gr_r_max_a, "output.structure.gr_r_max_a"),
            (st.gr_dr_a, "output.structure.gr_dr_a"),
            (st.xrd_wavelength_a, "output.structure.xrd_wavelength_a"),
        ] {
            positive(f, v)?;
        }
        let (t0, t1) = st.xrd_two_theta_deg;
        if !(t0.is_finite() && t1.is_finite() && 0.0 < t0 && t0 < t1 && t1 < 180.0) {
            return Err(Error::field(
                "output.structure.xrd_two_theta_deg",
                format!("must be (lo, hi) with 0 < lo < hi < 180 degrees, got ({t0}, {t1})"),
            ));
        }
        at_least("output.structure.xrd_points", st.xrd_points, 2)?;
        let (q0, q1) = st.saxs_q_inv_a;
        if !(q0.is_finite() && q1.is_finite() && 0.0 < q0 && q0 < q1) {
            return Err(Error::field(
                "output.structure.saxs_q_inv_a",
                format!("must be (lo, hi) with 0 < lo < hi (1/Å, log-spaced), got ({q0}, {q1})"),
            ));
        }
        at_least("output.structure.saxs_points", st.saxs_points, 2)?;
        for (v, f) in [
            (o.series_every_events, "output.series_every_events"),
            (o.checkpoint_every_events, "output.checkpoint_every_events"),
        ] {
            if let Some(v) = v {
                at_least(f, v, 1)?;
            }
        }
        if let (true, Some(r)) = (self.relaxes_contacts(), &self.relax) {
            r.validate(&self.species)?;
        }
        self.check_structure_sizes()?;
        self.check_memory()
    }

    /// Layers the engine allocates at the start: `height_layers`, or the substrate plus room
    /// for the expected film and the initial atoms (the box grows on demand afterwards).
    /// Saturating, so an absurd layer index is caught by [`Scenario::check_memory`] rather
    /// than overflowing.
    pub fn allocated_layers(&self) -> usize {
        let l = &self.lattice;
        let s = &self.stop;
        let expected_ml = s.coverage_ml.unwrap_or_else(|| {
            let flux: f64 = self.deposition.iter().map(|d| d.flux_ml_per_s).sum();
            s.time_s.map_or(2.0, |t| flux * t)
        });
        let initial_layers = self.initial.iter().filter_map(|a| match a {
            InitialAtoms::RandomLayer {
                layer_above_substrate,
                ..
            } => Some(layer_above_substrate.saturating_add(1)),
            InitialAtoms::Atoms { sites, .. } => sites
                .iter()
                .map(|x| x.2.saturating_add(1))
                .max()
                .map(|m| m.saturating_sub(l.substrate_layers)),
            InitialAtoms::Particle { .. } => None,
        });
        let film = ((2.0 * expected_ml.min(1e4)).ceil() as usize)
            .saturating_add(initial_layers.max().unwrap_or(0))
            .saturating_add(4);
        let layers = l
            .height_layers
            .unwrap_or(l.substrate_layers.saturating_add(film));
        layers.max(1)
    }

    /// Checks the lattice the scenario implies against the memory limit
    /// ([`crate::io::validate::memory_limit`]) before anything is allocated; the error names
    /// the field that makes it too large (the lateral size, a layer count, an initial atom's
    /// layer, a particle's height) and the memory it would need.
    fn check_memory(&self) -> Result<()> {
        let l = &self.lattice;
        let (nx, ny) = l.kind.grid([l.size.0, l.size.1])?;
        let per_layer = nx as f64 * ny as f64;
        let three_d = !l.kind.is_2d();
        // Empty layers kept above the film (the lattice's headroom is below this for every kind).
        let headroom = if three_d { HEADROOM_LAYERS } else { 0.0 };
        let need = |field: String, layers: f64, why: String| {
            let layers = if three_d { layers + headroom } else { 1.0 };
            let sites = layers * per_layer;
            fits_in_memory(
                field,
                sites * BYTES_PER_SITE,
                &format!(
                    "{why}: {layers:.0} layers of {nx} × {ny} sites ({sites:.3e} sites at {BYTES_PER_SITE} bytes each)"
                ),
            )
        };
        let size = format!("a {} × {} box", l.size.0, l.size.1);
        need("lattice.size".into(), 1.0, size.clone())?;
        if !three_d {
            return Ok(());
        }
        if let Some(h) = l.height_layers {
            need(
                "lattice.height_layers".into(),
                h as f64,
                format!("height_layers = {h}"),
            )?;
        }
        let sub = l.substrate_layers as f64;
        need(
            "lattice.substrate_layers".into(),
            sub,
            format!("{} substrate layers", l.substrate_layers),
        )?;
        let spacing = l.kind.layer_spacing(l.lattice_constant_a, l.c_over_a);
        for (i, a) in self.initial.iter().enumerate() {
            match a {
                InitialAtoms::RandomLayer {
                    layer_above_substrate: k,
                    ..
                } => need(
                    format!("initial[{i}].layer_above_substrate"),
                    sub + *k as f64 + 1.0,
                    format!("a layer {k} above the substrate"),
                )?,
                InitialAtoms::Atoms { sites, .. } => {
                    for (k, &(x, y, layer)) in sites.iter().enumerate() {
                        need(
                            format!("initial[{i}].sites[{k}]"),
                            layer as f64 + 1.0,
                            format!("an atom at ({x}, {y}, {layer})"),
                        )?;
                    }
                }
                // The particle's own size is bounded when it is built (MAX_PARTICLE_ATOMS).
                InitialAtoms::Particle {
                    height_nm: Some(h), ..
                } => need(
                    format!("initial[{i}].Particle.height_nm"),
                    (h * crate::units::NM_IN_ANGSTROM / spacing).ceil() + 1.0,
                    format!("a particle centred {h} nm above layer 0"),
                )?,
                InitialAtoms::Particle { .. } => {}
            }
        }
        let layers = self.allocated_layers();
        need("lattice.size".into(), layers as f64, size)
    }

    /// g(r) and XRD sizes: bounded, so a run that `kmc check` accepted never fails (or
    /// exhausts memory) at its end, when the structure files are written.
    fn check_structure_sizes(&self) -> Result<()> {
        let st = &self.output.structure;
        let bins = (st.gr_r_max_a / st.gr_dr_a).ceil();
        // Blame whichever of the two left its default in the direction that adds bins.
        let field = if st.gr_r_max_a > default_gr_r_max() {
            "output.structure.gr_r_max_a"
        } else {
            "output.structure.gr_dr_a"
        };
        if bins > MAX_GR_BINS as f64 {
            return Err(Error::field(
                field,
                format!(
                    "gr_r_max_a / gr_dr_a = {bins:.3e} bins of g(r), more than {MAX_GR_BINS}: \
                     use a larger gr_dr_a or a smaller gr_r_max_a"
                ),
            ));
        }
        let ns = self.species.len() as f64;
        // Ordered counts (ns² per bin) plus n(r) and g(r) per unordered pair, in f64.
        let per_bin = 8.0 * (ns * ns + ns * (ns + 1.0) + 1.0);
        fits_in_memory(field, bins * per_bin, &format!("g(r) with {bins:.0} bins"))?;
        if st.xrd_points > MAX_XRD_POINTS {
            return Err(Error::field(
                "output.structure.xrd_points",
                format!(
                    "{} points, more than {MAX_XRD_POINTS} (the pattern's cost grows with the points; \
                     a million points resolve 2θ far below any diffractometer's step)",
                    st.xrd_points
                ),
            ));
        }
        if st.saxs_points > MAX_XRD_POINTS {
            return Err(Error::field(
                "output.structure.saxs_points",
                format!(
                    "{} points, more than {MAX_XRD_POINTS} (the curve's cost grows with the points)",
                    st.saxs_points
                ),
            ));
        }
        Ok(())
    }

    /// Threads (sectors) of the run: 1 unless `threads` asks for more.
    pub fn threads(&self) -> usize {
        self.threads.unwrap_or(1)
    }

    /// What a parallel run cannot do yet is refused here, never run wrongly.
    fn validate_threads(&self) -> Result<()> {
        if self.threads == Some(0) {
            return Err(Error::field("threads", "must be at least 1"));
        }
        if let Some(w) = self.sublattice_window_s {
            positive_of("sublattice_window_s", w, "seconds")?;
        }
        let n = self.threads();
        if n < 2 {
            return Ok(());
        }
        let refuse = |why: &str| {
            Err(Error::field(
                "threads",
                format!(
                    "threads: {n} runs atom-only lattice scenarios in parallel (synchronous \
                     sublattice); {why}: use threads: 1"
                ),
            ))
        };
        if !self.particles.is_empty() || self.has_initial_particles() {
            return refuse(
                "this scenario has particles, whose grains, contacts and MD relaxer run \
                 serially only",
            );
        }
        if self.contacts.always {
            return refuse("contact tracking (contacts.always) runs serially only");
        }
        if matches!(self.rate_model, RateModelSpec::EamNeb(_)) {
            return refuse(
                "the EamNeb barrier cache is not shared between sectors (each would compute \
                 and lose its own barriers)",
            );
        }
        if let Some(i) = self.deposition.iter().position(|d| d.polar_deg != 0.0) {
            return Err(Error::field(
                format!("deposition[{i}].polar_deg"),
                format!(
                    "oblique deposition crosses sector edges: threads: {n} needs normal \
                     incidence (polar_deg: 0), or use threads: 1"
                ),
            ));
        }
        if self.output.checkpoint_every_events.is_some() {
            return Err(Error::field(
                "output.checkpoint_every_events",
                format!(
                    "checkpoints of a parallel run (threads: {n}) are not supported yet: a \
                     resumed run could not continue the sectors' streams exactly; use threads: 1 \
                     to checkpoint"
                ),
            ));
        }
        Ok(())
    }

    /// True if contacts go to the embedded MD relaxer (a 3-D lattice, contacts tracked and
    /// `relax` not `None`).
    pub fn relaxes_contacts(&self) -> bool {
        self.relax.is_some() && self.tracks_contacts() && !self.lattice.kind.is_2d()
    }

    /// True if `initial` places particles.
    pub fn has_initial_particles(&self) -> bool {
        self.initial
            .iter()
            .any(|a| matches!(a, InitialAtoms::Particle { .. }))
    }

    /// True if some particle is a grain of its own (an `orientation` is given).
    pub fn uses_grains(&self) -> bool {
        self.particles.iter().any(|p| p.orientation.is_some())
            || self.initial.iter().any(|a| {
                matches!(
                    a,
                    InitialAtoms::Particle {
                        orientation: Some(_),
                        ..
                    }
                )
            })
    }

    /// True if the run tracks contacts and particle observables.
    pub fn tracks_contacts(&self) -> bool {
        !self.particles.is_empty() || self.has_initial_particles() || self.contacts.always
    }

    /// Species id (1-based) of a name.
    pub fn species_id(&self, name: &str, field: &str) -> Result<u8> {
        self.species
            .iter()
            .position(|s| s == name)
            .map(|p| p as u8 + 1)
            .ok_or_else(|| {
                Error::field(
                    field,
                    format!(
                        "unknown species `{name}` (the scenario's species are {})",
                        self.species.join(", ")
                    ),
                )
            })
    }

    /// A stable fingerprint of everything that determines the trajectory (not the stop or
    /// output settings), stored in checkpoints so a checkpoint is only resumed with its own
    /// physics.
    pub fn physics_fingerprint(&self) -> u32 {
        let mut s = self.clone();
        s.stop = Stop::default();
        s.output = OutputSpec::default();
        s.name = String::new();
        let text = ron::to_string(&s).unwrap_or_default();
        crc32fast::hash(text.as_bytes())
    }
}

#[cfg(test)]
mod tests;
