//! EamNeb: barriers computed on the fly with the EAM engine (relaxed end states, climbing-image
//! NEB), cached under a local-environment key.
//!
//! For every event an atom could make — a hop to an empty nearest neighbour and, if enabled,
//! the exchange with an atom below it — the model reads the event's key (type, mover's species,
//! species of the sites within the second-neighbour distance of either end, canonical under the
//! lattice symmetries: see [`key`]) and looks it up. An unknown key is computed: the key's
//! atoms are placed in a small periodic slab of substrate, both end states are relaxed, and a
//! CI-NEB gives the saddle (see [`barrier`]). The rate is `ν exp(−E_fwd / k_B T)`.
//!
//! # Which events exist
//!
//! Rules that keep atoms from hopping into nonsense, as the other models have them: the mover
//! must be mobile (not in a frozen layer) and, if `immobile_coordination` is set, have fewer
//! occupied neighbours than that; the destination must be empty, outside the frozen layers,
//! and touch at least two atoms besides the mover; no neighbour of the mover may be left
//! without any neighbour (no floating atoms). An exchange needs a mobile atom below the mover
//! and an empty destination touching at least three atoms. Everything else is decided by the
//! EAM: events whose end states relax away are dropped or mapped (see [`barrier`]) and counted
//! in [`EamNebStats`].
//!
//! # Interaction range
//!
//! A key reads sites up to three nearest-neighbour steps from the mover (four with exchanges:
//! the exchange's destination is two steps away), and the support rules read coordinations of
//! sites one step away from the mover or its destination; so rates change only within that
//! many steps of a changed site.
//!
//! # Cache and batches
//!
//! Barriers live in a `hashbrown` map from key to entry (forward barrier, reverse barrier,
//! status), saved as a RON table ([`cache`]) that a later run loads to start warm. Before the
//! engine recomputes rates after an event it calls [`RateModel::prefetch`]; while keys are
//! still being discovered, the model then collects the unknown keys of every atom it will be
//! asked about and computes them in parallel with rayon. Once the cache stays warm (64
//! consecutive prefetches without a new key) the walk is skipped; a key that turns up unknown
//! later is computed on the spot and switches the walk back on. Every barrier is a pure
//! function of its key, so rates — and the trajectory — do not depend on which path computed
//! them, on the thread count, or on whether the cache was warm.
//!
//! Above the cache sit two memos keyed by an atom's *site signature*, the species of every
//! site its rate reads (up to 80, four bits each, with its class): the atom's total rate, and
//! the picked atom's event list (relative to the atom). A warm run answers nearly every request
//! from them without forming a key; both hold pure functions of the signature, so they change
//! no rate.
//!
//! # Fast pairs
//!
//! EAM landscapes have events far faster than terrace diffusion (an adatom rattling along a
//! step edge, hops between nearly degenerate sites), and a KMC run can spend nearly all its
//! events on them. `min_barrier_ev` raises, for every forward/reverse pair whose *higher*
//! barrier is below it, both barriers by the same amount so that the higher one equals it.
//! The rate ratio of the pair, hence detailed balance and the equilibrium among the states
//! the pair connects, is unchanged; only how fast they equilibrate slows, and it stays faster
//! than every event above the threshold. Off by default; the shipped growth scenario uses
//! 0.35 eV (below the 0.48 eV terrace hop).
//!
//! # Slab size
//!
//! Default: 8 × 8 conventional cells laterally (the smallest size at least eight lattice
//! constants wide), 10 substrate layers below the event's lower end (the bottom 2 fixed), the
//! empty space above open; end states relaxed until the 2-norm of the free atoms' forces is
//! below 1e-4 eV/Å. Against the slab twice as wide and twice as thick (16 × 16, 20 layers,
//! 4 fixed), adatom hop and exchange on (100), Zhou04
//! (`cargo test --release --lib default_slab_for_seven_metals -- --ignored --nocapture`):
//!
//! | metal | hop (eV) | hop 2× | Δ (meV) | exchange (eV) | exchange 2× | Δ (meV) |
//! |---|---|---|---|---|---|---|
//! | Cu | 0.4826 | 0.4825 | +0.1 | 0.6890 | 0.6818 | +7.1 |
//! | Ag | 0.5039 | 0.5041 | −0.2 | 0.6019 | 0.5986 | +3.3 |
//! | Au | 0.7869 | 0.7881 | −1.2 | 0.3225 | 0.3212 | +1.3 |
//! | Ni | 0.6369 | 0.6380 | −1.1 | 1.0566 | 1.0429 | +13.8 |
//! | Pd | 0.7019 | 0.7020 | −0.1 | 0.7769 | 0.7713 | +5.6 |
//! | Pt | 0.9259 | 0.9260 | −0.1 | 0.5073 | 0.5009 | +6.4 |
//! | Al | 0.3913 | 0.3913 | −0.0 | 0.2812 | 0.2750 | +6.2 |
//!
//! Every hop is within 1.2 meV; the exchanges are not yet within 2 meV except Au's. The
//! exchange saddle strains the substrate far out, and width and thickness act together
//! (`cargo run --release --example eam_neb_convergence`, which varies one at a time): Pt's
//! exchange moves −3.9 meV from 8 × 8 to 16 × 16 cells at 10 layers and −1.3 meV from 10 to
//! 20 layers at 8 × 8, but −6.4 meV with both; Ni's −13.8 meV with both. On slabs that large
//! a per-atom force tolerance leaves meV of energy in soft long-wavelength modes (hence the
//! 2-norm for the end states; the band's 0.01 eV/Å per atom still moves the 16 × 16 × 20
//! barriers by up to 3 meV). The previous default, 5 × 5 cells and 5 layers, put the Au(100)
//! hop 7 meV low and the Au and Pt exchanges 21 and 35 meV high. One saddle search on the
//! default slab takes about 0.5–2 s on one core.

pub mod barrier;
pub mod cache;
pub mod key;
pub mod single;

pub use barrier::{Calculation, Calculator, Entry, NebSpec, SlabCase, SlabSpec, Status};
pub use key::{EnvKey, EventKind, EventType, KeyTables};
pub use single::{BarrierReport, BarrierRequest, adatom_barrier};

use super::RateModel;
use crate::catalog::Event;
use crate::error::{Error, Result};
use crate::io::validate::{finite, positive};
use crate::lattice::{Lattice, SiteRef};
use crate::md::Eam;
use crate::state::State;
use crate::units::{arrhenius_kt, kt_ev};
use hashbrown::HashMap;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// The interatomic potential of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EamPotential {
    /// The Zhou–Johnson–Wadley 2004 EAM for these elements, tabulated as `eam/alloy` reads it.
    Zhou04(Vec<String>),
    /// A LAMMPS `eam/alloy` setfl file (relative to the scenario file).
    Setfl(String),
}

fn default_prefactor() -> f64 {
    1e13
}

/// Scenario spec: `rate_model: EamNeb((potential: Zhou04(["Cu"]), cache: "rates/cu.ron"))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EamNebSpec {
    /// The potential.
    pub potential: EamPotential,
    /// Barrier cache file (RON), read at start if it exists and written by `kmc rates build`
    /// and at the end of `kmc run`. Relative to the scenario file.
    #[serde(default)]
    pub cache: Option<String>,
    /// Attempt frequency ν, Hz.
    #[serde(default = "default_prefactor")]
    pub prefactor_hz: f64,
    /// Also consider adatom–substrate exchange.
    #[serde(default)]
    pub exchange: bool,
    /// Atoms with at least this many occupied neighbours do not move (none if absent).
    #[serde(default)]
    pub immobile_coordination: Option<u8>,
    /// Raises both barriers of every forward/reverse pair whose *higher* barrier is below
    /// this, by the same amount, until the higher one equals it (see "Fast pairs" in the
    /// module docs). Off if absent.
    #[serde(default)]
    pub min_barrier_ev: Option<f64>,
    /// Slab around each event.
    #[serde(default)]
    pub slab: SlabSpec,
    /// NEB and relaxation settings.
    #[serde(default)]
    pub neb: NebSpec,
    /// Directory relative paths are resolved against (the scenario's, set by the loader).
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
    /// The substrate species (fills the slab outside the key); the scenario's substrate
    /// species, set by the loader; the first species if unset.
    #[serde(skip)]
    pub substrate_species: Option<String>,
}

impl EamNebSpec {
    /// A spec with default settings.
    pub fn new(potential: EamPotential) -> Self {
        EamNebSpec {
            potential,
            cache: None,
            prefactor_hz: default_prefactor(),
            exchange: false,
            immobile_coordination: None,
            min_barrier_ev: None,
            slab: SlabSpec::default(),
            neb: NebSpec::default(),
            base_dir: None,
            substrate_species: None,
        }
    }

    fn resolve(&self, file: &str) -> PathBuf {
        let p = Path::new(file);
        match &self.base_dir {
            Some(d) if p.is_relative() => d.join(p),
            _ => p.to_path_buf(),
        }
    }

    /// The cache file's path, if any.
    pub fn cache_path(&self) -> Option<PathBuf> {
        self.cache.as_deref().map(|c| self.resolve(c))
    }

    /// Loads the potential; returns it with a description for the cache's settings.
    pub fn load_potential(&self) -> Result<(Eam, String)> {
        match &self.potential {
            EamPotential::Zhou04(els) => {
                let names: Vec<&str> = els.iter().map(String::as_str).collect();
                let setfl = crate::md::zhou04::setfl(&names).map_err(|e| match e {
                    Error::Input { message, .. } => {
                        Error::field("rate_model.EamNeb.potential", message)
                    }
                    other => other,
                })?;
                Ok((
                    Eam::from_setfl(&setfl)?,
                    format!("Zhou04({})", els.join(" ")),
                ))
            }
            EamPotential::Setfl(f) => {
                let path = self.resolve(f);
                let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
                let eam = Eam::read_setfl(&path)
                    .map_err(|e| e.in_file_named_by("rate_model.EamNeb.potential.Setfl"))?;
                Ok((eam, format!("Setfl(crc32 {:08x})", crc32fast::hash(&bytes))))
            }
        }
    }
}

/// Counters of the model's work.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EamNebStats {
    /// Rate requests (an atom's total rate or its events).
    pub requests: u64,
    /// Requests answered by a signature memo (rate or event list) without reading keys.
    pub memo_hits: u64,
    /// Keys computed on the spot (not found when a rate was asked for).
    pub inline_misses: u64,
    /// Keys computed in prefetch batches.
    pub prefetched: u64,
    /// Prefetch batches run (in parallel).
    pub batches: u64,
    /// Barrier pairs computed (each is one saddle search for two keys).
    pub pairs_computed: u64,
    /// Wall-clock seconds spent computing barriers.
    pub compute_seconds: f64,
    /// Pairs that could not be computed (an internal error; the events are dropped).
    pub failures: u64,
}

impl EamNebStats {
    /// Cache hit rate: the fraction of rate requests that needed no new barrier,
    /// `1 − (keys computed) / requests`.
    pub fn hit_rate(&self) -> f64 {
        if self.requests == 0 {
            return 1.0;
        }
        (1.0 - (self.inline_misses + self.prefetched) as f64 / self.requests as f64).max(0.0)
    }
}

/// A computed pair: the key's entry and its reverse key's.
type PairResult = Result<[(EnvKey, Entry); 2]>;

/// Words of a site signature: four bits per site, up to 80 sites.
const SIG_WORDS: usize = 5;

/// Sites a signature reads (a class with fewer reads pads with the atom's own site).
const SIG_SITES: usize = 16 * SIG_WORDS;

/// The species of every site an atom's rate depends on, packed (class in the last word).
///
/// Equality and hash are written out: the derived ones compare the words with a `memcmp` call
/// and hash them as a byte string, which took a fifth of a warm run's memo look-ups.
#[derive(Debug, Clone, Copy)]
struct Signature([u64; SIG_WORDS + 1]);

impl PartialEq for Signature {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.0
            .iter()
            .zip(&other.0)
            .fold(0, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl Eq for Signature {}

impl std::hash::Hash for Signature {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // One multiply-rotate fold of the words, then one word to the map's hasher (which
        // mixes it): distinct signatures may share the folded word, and the map compares keys.
        let h = self.0.iter().fold(0u64, |h, &w| {
            (h ^ w).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29)
        });
        state.write_u64(h);
    }
}

/// Largest memo before it is cleared (entries are pure functions of their signature, so
/// clearing only costs recomputation).
const MEMO_CAP: usize = 1 << 22;

/// An event of an atom relative to it: a hop along neighbour direction `k`, or exchange
/// number `x` of its class table.
#[derive(Debug, Clone, Copy, PartialEq)]
enum EventCode {
    Hop(u8),
    Exchange(u8),
}

#[derive(Debug, Clone, Copy)]
struct Value {
    rate: f64,
    entry: Entry,
}

/// Prefetch walks without a new key after which the walk is switched off.
const QUIET_PREFETCHES: u32 = 64;

/// The built model.
#[derive(Debug, Clone)]
pub struct EamNeb {
    calc: Arc<Calculator>,
    keys: KeyTables,
    map: HashMap<EnvKey, Value>,
    /// Cache entries for species this scenario does not have (kept for saving).
    foreign: Vec<cache::RawEntry>,
    species: Vec<String>,
    settings: cache::CacheSettings,
    kt: f64,
    nu: f64,
    floor: u8,
    immobile: u8,
    min_barrier: f64,
    exchange: bool,
    /// Coordination number of the lattice.
    z: usize,
    range: usize,
    cache_path: Option<PathBuf>,
    loaded_entries: usize,
    stats: EamNebStats,
    errors: Vec<String>,
    prefetch_on: bool,
    quiet: u32,
    /// Per class: every site an atom's rate reads (keys of all its events, support rules),
    /// padded to [`SIG_SITES`] with the atom's own site; empty if more than fit.
    sig_reads: Vec<Vec<crate::lattice::Offset>>,
    /// Per class: `sig_reads` as positions in the window `idx − sig_span.0 .. idx + sig_span.1`
    /// around the atom (the fast, unwrapped gather).
    sig_pos: Vec<[u32; SIG_SITES]>,
    /// Reach of `sig_reads` in x, y, layers.
    sig_margin: [usize; 3],
    /// Largest backward and forward index shift of `sig_reads` (+1).
    sig_span: (usize, usize),
    /// Site signature → total rate of the atom.
    memo: HashMap<Signature, f64>,
    /// Site signature → the atom's events with their rates, as the engine asks for the picked
    /// atom's events once per step.
    events_memo: HashMap<Signature, Vec<(EventCode, f64)>>,
}

impl EamNeb {
    /// Builds the model; `species[i]` is species `i + 1`. Loads the cache file if it exists.
    pub fn new(
        spec: &EamNebSpec,
        species: &[String],
        lattice: &Lattice,
        temperature_k: f64,
    ) -> Result<Self> {
        let field = "rate_model.EamNeb";
        positive(format!("{field}.prefactor_hz"), spec.prefactor_hz)?;
        positive("temperature_k", temperature_k)?;
        let (eam, description) = spec.load_potential()?;
        let mut pot_species = vec![0u8];
        for name in species {
            let Some(s) = eam.species_of(name) else {
                return Err(Error::field(
                    format!("{field}.potential"),
                    format!(
                        "the potential has no element `{name}` (it has {})",
                        crate::md::Potential::elements(&eam).join(", ")
                    ),
                ));
            };
            pot_species.push(s);
        }
        let substrate = spec
            .substrate_species
            .clone()
            .unwrap_or_else(|| species[0].clone());
        let floor = species
            .iter()
            .position(|s| *s == substrate)
            .map(|p| p as u8 + 1)
            .ok_or_else(|| {
                Error::field(
                    "lattice.substrate_species",
                    format!("unknown `{substrate}`"),
                )
            })?;
        let n = &spec.neb;
        if n.images == 0 || n.max_steps == 0 {
            return Err(Error::field(
                format!("{field}.neb"),
                "images and max_steps must be at least 1",
            ));
        }
        for (name, v) in [
            ("force_tolerance_ev_a", n.force_tolerance_ev_a),
            ("spring_ev_a2", n.spring_ev_a2),
            ("relax_tolerance_ev_a", n.relax_tolerance_ev_a),
        ] {
            positive(format!("{field}.neb.{name}"), v)?;
        }
        let calc = Calculator::new(
            lattice.kind(),
            lattice.lattice_constant(),
            Arc::new(eam),
            pot_species,
            floor,
            spec.slab,
            spec.neb,
            spec.exchange,
        )?;
        let keys = calc.keys().for_lattice(lattice)?;
        // Reads reach `read_steps` from the mover; support rules read coordinations of sites
        // one step from the destination, which change when a site two steps away changes.
        let range = keys.read_steps(lattice).max(3);
        let settings = cache::CacheSettings {
            lattice: lattice.kind(),
            lattice_constant_a: lattice.lattice_constant(),
            potential: description,
            substrate: substrate.clone(),
            slab: calc.slab(),
            neb: spec.neb,
            key_radius_a: keys.radius_a(),
        };
        let mut model = EamNeb {
            calc: Arc::new(calc),
            keys,
            map: HashMap::new(),
            foreign: Vec::new(),
            species: species.to_vec(),
            settings,
            kt: kt_ev(temperature_k),
            nu: spec.prefactor_hz,
            floor,
            immobile: spec.immobile_coordination.unwrap_or(u8::MAX),
            min_barrier: match spec.min_barrier_ev {
                Some(e) => finite(format!("{field}.min_barrier_ev"), e)?,
                None => f64::NEG_INFINITY,
            },
            exchange: spec.exchange,
            z: lattice.coordination(),
            range,
            cache_path: spec.cache_path(),
            loaded_entries: 0,
            stats: EamNebStats::default(),
            errors: Vec::new(),
            prefetch_on: true,
            quiet: 0,
            sig_reads: Vec::new(),
            sig_pos: Vec::new(),
            sig_margin: [0; 3],
            sig_span: (0, 0),
            memo: HashMap::new(),
            events_memo: HashMap::new(),
        };
        model.build_signatures(lattice);
        if let Some(p) = model.cache_path.clone() {
            if p.exists() {
                model
                    .load(&p)
                    .map_err(|e| e.in_file_named_by("rate_model.EamNeb.cache"))?;
            }
        }
        Ok(model)
    }

    /// The barrier calculator (slab, potential, NEB settings).
    pub fn calculator(&self) -> &Calculator {
        &self.calc
    }

    /// The key tables of the simulation lattice.
    pub fn keys(&self) -> &KeyTables {
        &self.keys
    }

    /// Work counters.
    pub fn stats(&self) -> EamNebStats {
        self.stats
    }

    /// Messages of failed calculations (at most the first 16).
    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    /// Entries in the cache.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Entries computed since the cache was loaded.
    pub fn new_entries(&self) -> usize {
        self.map.len() - self.loaded_entries
    }

    /// The cache file, if the spec names one.
    pub fn cache_path(&self) -> Option<&Path> {
        self.cache_path.as_deref()
    }

    /// Every cached key, sorted.
    pub fn debug_keys(&self) -> Vec<EnvKey> {
        let mut v: Vec<_> = self.map.keys().copied().collect();
        v.sort();
        v
    }

    /// The cached entry of `key`.
    pub fn entry(&self, key: &EnvKey) -> Option<Entry> {
        self.map.get(key).map(|v| v.entry)
    }

    /// Number of entries by status, in [`Status`] order.
    pub fn status_counts(&self) -> [(Status, usize); 6] {
        let all = [
            Status::Ok,
            Status::NotConverged,
            Status::Spontaneous,
            Status::UnstableInitial,
            Status::UnstableFinal,
            Status::Failed,
        ];
        all.map(|s| (s, self.map.values().filter(|v| v.entry.status == s).count()))
    }

    /// Key of the hop of the atom at `a` along neighbour direction `k`.
    pub fn hop_key(&self, state: &State, a: &SiteRef, k: usize) -> EnvKey {
        self.keys
            .hop_key(state, a, k, state.species(a.idx), self.floor)
    }

    /// Key of exchange number `x` of the atom at `a`.
    pub fn exchange_key(&self, state: &State, a: &SiteRef, x: usize) -> EnvKey {
        self.keys
            .exchange_key(state, a, x, state.species(a.idx), self.floor)
    }

    /// The barrier the rate uses: the forward barrier, raised with its reverse if both are
    /// below `min_barrier_ev`.
    pub fn effective_barrier_ev(&self, e: &Entry) -> Option<f64> {
        match e.status {
            Status::Ok | Status::NotConverged => {
                let raise = (self.min_barrier - e.forward_ev.max(e.reverse_ev)).max(0.0);
                Some(e.forward_ev + raise)
            }
            Status::Spontaneous => Some(0.0),
            _ => None,
        }
    }

    fn rate_of(&self, e: &Entry) -> f64 {
        match e.status {
            Status::Ok | Status::NotConverged => {
                let raise = (self.min_barrier - e.forward_ev.max(e.reverse_ev)).max(0.0);
                arrhenius_kt(self.nu, e.forward_ev + raise, self.kt)
            }
            Status::Spontaneous => self.nu,
            _ => 0.0,
        }
    }

    fn insert(&mut self, key: EnvKey, entry: Entry) {
        let rate = self.rate_of(&entry);
        self.map.insert(key, Value { rate, entry });
    }

    /// Computes every key of `keys` that is not cached yet, in parallel; returns how many
    /// saddle searches ran.
    pub fn compute(&mut self, keys: &[EnvKey]) -> usize {
        let mut todo: Vec<EnvKey> = keys
            .iter()
            .filter(|k| !self.map.contains_key(*k))
            .copied()
            .collect();
        todo.sort_unstable();
        todo.dedup();
        if todo.is_empty() {
            return 0;
        }
        let t0 = Instant::now();
        let calc = &self.calc;
        // One search per pair: start from the smaller key of each (key, reverse) pair.
        let mut firsts: Vec<std::result::Result<EnvKey, (EnvKey, String)>> = todo
            .par_iter()
            .map(|k| match calc.reverse_key(k) {
                Ok(r) => Ok(if r < *k { r } else { *k }),
                Err(e) => Err((*k, e.to_string())),
            })
            .collect();
        firsts.sort_unstable_by_key(|r| match r {
            Ok(k) | Err((k, _)) => *k,
        });
        firsts.dedup_by_key(|r| match r {
            Ok(k) | Err((k, _)) => *k,
        });
        let results: Vec<(EnvKey, PairResult)> = firsts
            .par_iter()
            .map(|r| match r {
                Ok(k) => (*k, calc.compute_pair(k)),
                Err((k, m)) => (*k, Err(Error::Simulation(m.clone()))),
            })
            .collect();
        let n = results.len();
        for (k, r) in results {
            match r {
                Ok([(k1, e1), (k2, e2)]) => {
                    if k2 != k1 {
                        self.insert(k1, e1);
                        self.insert(k2, e2);
                    } else {
                        // A hop onto its own mirror image: both directions are one event, and
                        // by symmetry the end energies are equal (up to the relaxation's
                        // tolerance), so the barriers are made equal.
                        let mean = 0.5 * (e1.forward_ev + e1.reverse_ev);
                        let e = if e1.status.is_event() && e1.status != Status::Spontaneous {
                            Entry {
                                forward_ev: mean,
                                reverse_ev: mean,
                                ..e1
                            }
                        } else {
                            e1
                        };
                        self.insert(k1, e);
                    }
                }
                Err(e) => {
                    self.stats.failures += 1;
                    if self.errors.len() < 16 {
                        self.errors.push(format!("{k:?}: {e}"));
                    }
                    self.insert(
                        k,
                        Entry {
                            status: Status::Failed,
                            forward_ev: f64::NAN,
                            reverse_ev: f64::NAN,
                            neb_steps: 0,
                        },
                    );
                }
            }
        }
        // Keys whose pair partner failed to come back (cannot happen unless the reverse of the
        // reverse differs): mark them failed rather than recompute forever.
        for k in &todo {
            if !self.map.contains_key(k) {
                self.stats.failures += 1;
                self.insert(
                    *k,
                    Entry {
                        status: Status::Failed,
                        forward_ev: f64::NAN,
                        reverse_ev: f64::NAN,
                        neb_steps: 0,
                    },
                );
            }
        }
        self.stats.pairs_computed += n as u64;
        self.stats.compute_seconds += t0.elapsed().as_secs_f64();
        n
    }

    /// Visits the candidate events of the atom at `a` with their keys.
    #[inline(always)]
    fn for_each_event(&self, state: &State, a: &SiteRef, mut f: impl FnMut(Event, EnvKey)) {
        let lat = state.lattice();
        let cells = state.cells();
        let ca = cells[a.idx];
        if ca.is_empty() || !state.is_mobile(a) || ca.coordination() >= self.immobile {
            return;
        }
        let s = ca.species();
        let t = lat.class_tables(a.class);
        let frozen_sites = state.frozen_layers() * lat.layer_size();
        let floating = |o: &crate::lattice::Offset| {
            lat.index_at(a, o)
                .is_some_and(|m| cells[m].occupied() && cells[m].coordination() == 1)
        };
        for (k, o) in t.neighbors.iter().enumerate() {
            let Some(j) = lat.index_at(a, o) else {
                continue;
            };
            let cj = cells[j];
            // The destination touches the mover and at least two more atoms.
            if cj.occupied() || j < frozen_sites || cj.coordination() < 3 {
                continue;
            }
            if t.hops[k].only_from.iter().any(floating) {
                continue;
            }
            let key = self.keys.hop_key(state, a, k, s, self.floor);
            f(
                Event::Hop {
                    from: a.idx,
                    to: j,
                    dir: k as u8,
                },
                key,
            );
        }
        if self.exchange {
            if t.neighbors.iter().any(floating) {
                return;
            }
            for (x, (v, to)) in t.exchanges.iter().enumerate() {
                let (Some(vi), Some(ti)) = (lat.index_at(a, v), lat.index_at(a, to)) else {
                    continue;
                };
                let (cv, ct) = (cells[vi], cells[ti]);
                if cv.is_empty()
                    || vi < frozen_sites
                    || state.is_ghost(vi)
                    || ct.occupied()
                    || ti < frozen_sites
                    || ct.coordination() < 3
                {
                    continue;
                }
                let key = self.keys.exchange_key(state, a, x, s, self.floor);
                f(
                    Event::Exchange {
                        from: a.idx,
                        via: vi,
                        to: ti,
                    },
                    key,
                );
            }
        }
    }

    /// The sites each class's rate depends on: the key sites of all its events and the
    /// neighbours and second neighbours the support rules read.
    fn build_signatures(&mut self, lattice: &Lattice) {
        let mut all = Vec::new();
        let mut margin = [0usize; 3];
        for c in 0..lattice.n_classes() {
            let mut v: Vec<crate::lattice::Offset> =
                lattice.class_tables(c as u8).shells[2].clone();
            for e in self.keys.hops[c].iter().chain(&self.keys.exchanges[c]) {
                v.extend(e.reads.iter().chain(&e.sites).copied());
            }
            v.sort_unstable_by_key(|o| o.delta);
            v.dedup_by_key(|o| o.delta);
            if v.len() > SIG_SITES {
                return;
            }
            // Padding reads the atom's own site: a function of the environment like any other
            // read, so equal environments still give equal signatures.
            let own = crate::lattice::Offset {
                dx: 0,
                dy: 0,
                dl: 0,
                delta: 0,
                class: c as u8,
            };
            v.resize(SIG_SITES, own);
            for o in &v {
                margin[0] = margin[0].max(o.dx.unsigned_abs() as usize);
                margin[1] = margin[1].max(o.dy.unsigned_abs() as usize);
                margin[2] = margin[2].max(o.dl.unsigned_abs() as usize);
            }
            all.push(v);
        }
        let lo = all.iter().flatten().map(|o| o.delta).min().unwrap_or(0);
        let hi = all.iter().flatten().map(|o| o.delta).max().unwrap_or(0);
        self.sig_span = ((-lo).max(0) as usize, hi.max(0) as usize + 1);
        let at = self.sig_span.0 as isize;
        let Ok(pos) = all
            .iter()
            .map(|v| {
                let p: Vec<u32> = v
                    .iter()
                    .map(|o| u32::try_from(at + o.delta))
                    .collect::<std::result::Result<_, _>>()?;
                Ok::<_, std::num::TryFromIntError>(
                    <[u32; SIG_SITES]>::try_from(p).expect("padded to SIG_SITES"),
                )
            })
            .collect::<std::result::Result<Vec<_>, _>>()
        else {
            // A window wider than 2^32 sites: no signatures, direct rates.
            return;
        };
        self.sig_pos = pos;
        self.sig_reads = all;
        self.sig_margin = margin;
    }

    /// The signature of the atom at `a`, if it has one: away from the bottom and the top, and
    /// more than one step above the frozen layers (whose rules depend on absolute position).
    #[inline]
    fn signature(&self, state: &State, a: &SiteRef) -> Option<Signature> {
        let reads = self.sig_reads.get(a.class as usize)?;
        let lat = state.lattice();
        let (nx, ny) = lat.grid();
        let m = self.sig_margin;
        let (x, y, l) = (a.x as usize, a.y as usize, a.l as usize);
        if !(l >= m[2] && l + m[2] < lat.layers() && l >= state.frozen_layers() + lat.max_step_dl())
        {
            return None;
        }
        let cells = state.cells();
        let mut sig = [0u64; SIG_WORDS + 1];
        if x >= m[0] && x + m[0] < nx && y >= m[1] && y + m[1] < ny {
            let base = &cells[a.idx - self.sig_span.0..a.idx + self.sig_span.1];
            let pos = &self.sig_pos[a.class as usize];
            // Full chunks of sixteen: the inner loop unrolls with constant shifts.
            for (w, chunk) in sig.iter_mut().zip(pos.chunks_exact(16)) {
                let mut v = 0u64;
                for (j, &p) in chunk.iter().enumerate() {
                    v |= (base[p as usize].species() as u64) << (4 * j);
                }
                *w = v;
            }
        } else if m[0] <= nx && m[1] <= ny {
            // Near a periodic edge: one wrap at most per axis (the reads reach less than a
            // period), and the layer check above keeps every read inside the lattice.
            let wrap = |v: i64, n: i64| {
                if v < 0 {
                    v + n
                } else if v >= n {
                    v - n
                } else {
                    v
                }
            };
            let (nx, ny) = (nx as i64, ny as i64);
            for (i, o) in reads.iter().enumerate() {
                let xx = wrap(x as i64 + o.dx as i64, nx);
                let yy = wrap(y as i64 + o.dy as i64, ny);
                let ll = l as i64 + o.dl as i64;
                let j = ((ll * ny + yy) * nx + xx) as usize;
                // 16 four-bit species per word, as in the fast branch above.
                sig[i / 16] |= (cells[j].species() as u64) << (4 * (i % 16));
            }
        } else {
            for (i, o) in reads.iter().enumerate() {
                let j = key::wrapped_index(lat, a, o).ok()?;
                sig[i / 16] |= (cells[j].species() as u64) << (4 * (i % 16));
            }
        }
        sig[SIG_WORDS] = a.class as u64;
        Some(Signature(sig))
    }

    fn site_rate_direct(&mut self, state: &State, site: &SiteRef) -> f64 {
        let mut keys = [EnvKey {
            event_type: 0,
            mover: 0,
            env: 0,
        }; 24];
        let mut n = 0;
        let mut extra = Vec::new();
        self.for_each_event(state, site, |_, k| {
            if n < keys.len() {
                keys[n] = k;
                n += 1;
            } else {
                extra.push(k);
            }
        });
        let mut sum = 0.0;
        for k in keys[..n].iter().chain(&extra) {
            let r = self.rate(*k);
            if r > 0.0 {
                sum += r;
            }
        }
        sum
    }

    /// The events of the atom at `site` from their keys (no memo).
    fn site_events_direct(&mut self, state: &State, site: &SiteRef, out: &mut Vec<(Event, f64)>) {
        let mut found: [(Event, EnvKey); 24] = [(
            Event::Hop {
                from: 0,
                to: 0,
                dir: 0,
            },
            EnvKey {
                event_type: 0,
                mover: 0,
                env: 0,
            },
        ); 24];
        let mut n = 0;
        let mut extra = Vec::new();
        self.for_each_event(state, site, |e, k| {
            if n < found.len() {
                found[n] = (e, k);
                n += 1;
            } else {
                extra.push((e, k));
            }
        });
        for (e, k) in found[..n].iter().chain(&extra) {
            let r = self.rate(*k);
            if r > 0.0 {
                out.push((*e, r));
            }
        }
    }

    /// The events of `list` (see [`EventCode`]) for the atom at `a`, appended to `out`; false
    /// if a site they name does not resolve (then the caller computes them afresh).
    fn replay(
        &self,
        state: &State,
        a: &SiteRef,
        list: &[(EventCode, f64)],
        out: &mut Vec<(Event, f64)>,
    ) -> bool {
        let lat = state.lattice();
        let t = lat.class_tables(a.class);
        for &(code, r) in list {
            let e = match code {
                EventCode::Hop(k) => match lat.index_at(a, &t.neighbors[k as usize]) {
                    Some(to) => Event::Hop {
                        from: a.idx,
                        to,
                        dir: k,
                    },
                    None => return false,
                },
                EventCode::Exchange(x) => {
                    let (v, to) = &t.exchanges[x as usize];
                    match (lat.index_at(a, v), lat.index_at(a, to)) {
                        (Some(via), Some(to)) => Event::Exchange {
                            from: a.idx,
                            via,
                            to,
                        },
                        _ => return false,
                    }
                }
            };
            out.push((e, r));
        }
        true
    }

    /// `events` of the atom at `a` in the form the event memo keeps (relative to the atom).
    fn encode(
        &self,
        state: &State,
        a: &SiteRef,
        events: &[(Event, f64)],
    ) -> Option<Vec<(EventCode, f64)>> {
        let lat = state.lattice();
        let t = lat.class_tables(a.class);
        events
            .iter()
            .map(|&(e, r)| {
                let code = match e {
                    Event::Hop { dir, .. } => EventCode::Hop(dir),
                    Event::Exchange { via, to, .. } => {
                        let x = t.exchanges.iter().position(|(v, o)| {
                            lat.index_at(a, v) == Some(via) && lat.index_at(a, o) == Some(to)
                        })?;
                        EventCode::Exchange(x as u8)
                    }
                };
                Some((code, r))
            })
            .collect()
    }

    #[cold]
    #[inline(never)]
    fn miss(&mut self, key: EnvKey) -> f64 {
        self.stats.inline_misses += 1;
        self.compute(&[key]);
        self.prefetch_on = true;
        self.quiet = 0;
        self.map.get(&key).map_or(0.0, |v| v.rate)
    }

    #[inline(always)]
    fn rate(&mut self, key: EnvKey) -> f64 {
        match self.map.get(&key) {
            Some(v) => v.rate,
            None => self.miss(key),
        }
    }

    /// Saves the cache to its file (if the spec names one); returns the path and the number
    /// of entries written.
    pub fn save(&self) -> Result<Option<(PathBuf, usize)>> {
        let Some(p) = &self.cache_path else {
            return Ok(None);
        };
        let n = self.save_to(p)?;
        Ok(Some((p.clone(), n)))
    }

    /// Saves the cache to `path`; returns the number of entries written.
    pub fn save_to(&self, path: &Path) -> Result<usize> {
        let mut raw: Vec<cache::RawEntry> = self
            .map
            .iter()
            .map(|(k, v)| {
                let n = self.keys.types()[k.event_type as usize].env.len();
                cache::RawEntry::new(k, n, &v.entry, &self.species)
            })
            .collect();
        raw.extend(self.foreign.iter().cloned());
        cache::write(path, &self.settings, self.keys.types(), raw)
    }

    /// Loads entries from a cache file written with the same settings.
    pub fn load(&mut self, path: &Path) -> Result<usize> {
        let file = cache::read(path, &self.settings, self.keys.types())?;
        let mut n = 0;
        for raw in file {
            match raw.resolve(&self.species) {
                Some((k, e)) => {
                    self.insert(k, e);
                    n += 1;
                }
                None => self.foreign.push(raw),
            }
        }
        self.loaded_entries = self.map.len();
        Ok(n)
    }
}

impl RateModel for EamNeb {
    fn name(&self) -> &'static str {
        "EamNeb"
    }

    fn interaction_range(&self) -> usize {
        self.range
    }

    fn site_events(&mut self, state: &State, site: &SiteRef, out: &mut Vec<(Event, f64)>) {
        self.stats.requests += 1;
        let sig = self.signature(state, site);
        if let Some(list) = sig.as_ref().and_then(|g| self.events_memo.get(g)) {
            let start = out.len();
            if self.replay(state, site, list, out) {
                self.stats.memo_hits += 1;
                return;
            }
            out.truncate(start);
        }
        let start = out.len();
        self.site_events_direct(state, site, out);
        if let (Some(sig), Some(list)) = (sig, self.encode(state, site, &out[start..])) {
            if self.events_memo.len() >= MEMO_CAP / 16 {
                self.events_memo.clear();
            }
            self.events_memo.insert(sig, list);
        }
    }

    fn site_rate(&mut self, state: &State, site: &SiteRef) -> f64 {
        self.stats.requests += 1;
        // Most atoms the engine asks about after an event are buried (no empty neighbour, so
        // no hop) or too well bound to move: answer those before building a signature.
        let ca = state.cell(site.idx);
        if ca.is_empty()
            || ca.coordination() >= self.immobile
            || (!self.exchange && ca.coordination() as usize >= self.z)
        {
            return 0.0;
        }
        let Some(sig) = self.signature(state, site) else {
            return self.site_rate_direct(state, site);
        };
        if let Some(&r) = self.memo.get(&sig) {
            self.stats.memo_hits += 1;
            return r;
        }
        let r = self.site_rate_direct(state, site);
        if self.memo.len() >= MEMO_CAP {
            self.memo.clear();
        }
        self.memo.insert(sig, r);
        r
    }

    fn prefetch(&mut self, state: &State, changed: &[SiteRef]) {
        if !self.prefetch_on || changed.is_empty() {
            return;
        }
        let lat = state.lattice();
        let r = self.range;
        let mut sites = Vec::new();
        for s in changed {
            lat.for_each_at(s, &lat.class_tables(s.class).shells[r], r, |x| {
                if state.cell(x.idx).occupied() {
                    sites.push(x)
                }
            });
        }
        sites.sort_unstable_by_key(|s| s.idx);
        sites.dedup_by_key(|s| s.idx);
        let mut missing = Vec::new();
        let z = lat.coordination() as u8;
        for s in &sites {
            if state.coordination(s.idx) == z {
                continue;
            }
            self.for_each_event(state, s, |_, k| {
                if !self.map.contains_key(&k) {
                    missing.push(k);
                }
            });
        }
        if missing.is_empty() {
            self.quiet += 1;
            if self.quiet >= QUIET_PREFETCHES {
                self.prefetch_on = false;
            }
            return;
        }
        self.quiet = 0;
        missing.sort_unstable();
        missing.dedup();
        self.stats.prefetched += missing.len() as u64;
        self.stats.batches += 1;
        self.compute(&missing);
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod validation;
