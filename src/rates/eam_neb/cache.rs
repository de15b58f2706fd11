//! The barrier cache file: a RON rate table.
//!
//! ```ron
//! // kmc EamNeb barrier cache. ...
//! (
//!     format: 3,
//!     settings: (lattice: Fcc100, lattice_constant_a: 3.615, potential: "Zhou04(Cu)",
//!                substrate: "Cu", slab: (...), neb: (...), key_radius_a: 3.615),
//!     species: ["Cu"],
//!     types: [(kind: Hop, points_a: [...], env_a: [...]), ...],
//!     entries: [
//!         (t: 0, mover: "Cu", env: "11110000000000000000000000", status: Ok,
//!          forward_ev: Some(0.4857), reverse_ev: Some(0.4857), neb_steps: 112),
//!     ],
//! )
//! ```
//!
//! `env` has one hex digit per environment site in the type's key order (`types[t].env_a`
//! lists the sites' positions relative to the mover, Å): 0 = empty, `i` = `species[i − 1]`.
//! Barriers are written with Rust's shortest round-trip formatting, so a reloaded cache gives
//! bit-identical rates. A file computed with other settings (lattice, potential, slab, NEB
//! settings, key layout) is refused: its barriers would not be those of this model.

use super::barrier::{Entry, NebSpec, SlabSpec, Status};
use super::key::{EnvKey, EventKind, EventType};
use crate::error::{Error, Location, Result};
use crate::io::ron::{Messages, locate_error, parse_ron_with};
use crate::lattice::LatticeKind;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Format version of the file. 3: end states relaxed to a 2-norm tolerance, and a header line
/// naming the slab every entry was computed on. Format 2 (per-atom tolerance, 5 × 5 × 5 default
/// slab) is refused with a message saying how to rebuild.
pub const FORMAT: u32 = 3;

/// Everything a barrier depends on besides its key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// Lattice kind.
    pub lattice: LatticeKind,
    /// Lattice constant, Å.
    pub lattice_constant_a: f64,
    /// The potential (name and elements, or a checksum of the setfl file).
    pub potential: String,
    /// Species filling the slab outside the key.
    pub substrate: String,
    /// Slab geometry.
    pub slab: SlabSpec,
    /// NEB settings.
    pub neb: NebSpec,
    /// Radius of the environment around each end of an event, Å.
    pub key_radius_a: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum TypeKind {
    Hop,
    Exchange,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TypeDoc {
    kind: TypeKind,
    points_a: Vec<(f64, f64, f64)>,
    env_a: Vec<(f64, f64, f64)>,
}

impl TypeDoc {
    fn of(t: &EventType) -> Self {
        let r = |p: &[f64; 3]| {
            let q = |x: f64| (x * 1e6).round() / 1e6 + 0.0;
            (q(p[0]), q(p[1]), q(p[2]))
        };
        TypeDoc {
            kind: match t.kind {
                EventKind::Hop => TypeKind::Hop,
                EventKind::Exchange => TypeKind::Exchange,
            },
            points_a: t.points.iter().map(r).collect(),
            env_a: t.env.iter().map(r).collect(),
        }
    }
}

/// One entry as stored (species by name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEntry {
    /// Event type.
    pub t: u16,
    /// Mover's species.
    pub mover: String,
    /// One hex digit per environment site (index into `species`, plus one; 0 empty).
    pub env: String,
    /// Outcome.
    pub status: Status,
    /// Forward barrier, eV.
    pub forward_ev: Option<f64>,
    /// Reverse barrier, eV.
    pub reverse_ev: Option<f64>,
    /// Band iterations.
    pub neb_steps: u32,
    /// Species names the digits of `env` refer to (set when reading or writing).
    #[serde(skip)]
    names: Vec<String>,
}

impl RawEntry {
    /// The stored form of a key of a type with `env_len` sites and its entry (`species[i]`
    /// is species `i + 1`).
    pub fn new(key: &EnvKey, env_len: usize, e: &Entry, species: &[String]) -> Self {
        let env: String = (0..env_len)
            .map(|i| char::from_digit(key.site(i) as u32, 16).expect("four bits"))
            .collect();
        let f = |x: f64| x.is_finite().then_some(x);
        RawEntry {
            t: key.event_type,
            mover: species[key.mover as usize - 1].clone(),
            env,
            status: e.status,
            forward_ev: f(e.forward_ev),
            reverse_ev: f(e.reverse_ev),
            neb_steps: e.neb_steps,
            names: species.to_vec(),
        }
    }

    /// The key and entry for a scenario with `species`, or `None` if the entry involves a
    /// species the scenario does not have.
    pub fn resolve(&self, species: &[String]) -> Option<(EnvKey, Entry)> {
        let id = |name: &str| species.iter().position(|s| s == name).map(|p| p as u8 + 1);
        let mover = id(&self.mover)?;
        let mut env = 0u128;
        for (i, c) in self.env.chars().enumerate() {
            let d = c.to_digit(16)? as usize;
            let s = if d == 0 {
                0
            } else {
                id(self.names.get(d - 1)?)?
            };
            env |= (s as u128) << (4 * i);
        }
        Some((
            EnvKey {
                event_type: self.t,
                mover,
                env,
            },
            Entry {
                status: self.status,
                forward_ev: self.forward_ev.unwrap_or(f64::NAN),
                reverse_ev: self.reverse_ev.unwrap_or(f64::NAN),
                neb_steps: self.neb_steps,
            },
        ))
    }

    /// The entry with its digits rewritten for the species list `to`.
    fn renamed(&self, to: &[String]) -> RawEntry {
        let env = self
            .env
            .chars()
            .map(|c| {
                let d = c.to_digit(16).unwrap_or(0) as usize;
                if d == 0 {
                    '0'
                } else {
                    let p = to
                        .iter()
                        .position(|s| Some(s) == self.names.get(d - 1))
                        .expect("every name is in the union");
                    char::from_digit(p as u32 + 1, 16).expect("at most 15 species")
                }
            })
            .collect();
        RawEntry {
            env,
            names: to.to_vec(),
            ..self.clone()
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CacheFile {
    format: u32,
    settings: CacheSettings,
    species: Vec<String>,
    types: Vec<TypeDoc>,
    entries: Vec<RawEntry>,
}

/// Writes a cache file (atomically); returns the number of entries.
pub(crate) fn write(
    path: &Path,
    settings: &CacheSettings,
    types: &[EventType],
    entries: Vec<RawEntry>,
) -> Result<usize> {
    // One species list for all entries (those of this scenario first, then foreign ones).
    let mut species: Vec<String> = Vec::new();
    for e in &entries {
        for n in std::iter::once(&e.mover).chain(&e.names) {
            if !species.contains(n) {
                species.push(n.clone());
            }
        }
    }
    if species.len() > 15 {
        return Err(Error::Simulation(format!(
            "{}: a cache holds at most 15 species",
            path.display()
        )));
    }
    let mut entries: Vec<RawEntry> = entries.iter().map(|e| e.renamed(&species)).collect();
    entries.sort_by(|a, b| (a.t, &a.mover, &a.env).cmp(&(b.t, &b.mover, &b.env)));
    let mut text = String::new();
    text.push_str(
        "// kmc EamNeb barrier cache: barriers from relaxed end states and climbing-image NEB\n\
         // with the EAM named in `settings`, keyed by the local environment of each event.\n\
         // env: one hex digit per environment site, in the order of `types[t].env_a`\n\
         // (positions relative to the moving atom, Å); 0 = empty, i = species[i - 1].\n\
         // Written by kmc; rebuild with `kmc rates build SCENARIO`.\n",
    );
    text.push_str(&slab_line(settings));
    text.push_str("(\n");
    text.push_str(&format!("    format: {FORMAT},\n"));
    text.push_str(&format!("    settings: {},\n", ser(settings)?));
    text.push_str(&format!("    species: {},\n", ser(&species)?));
    text.push_str("    types: [\n");
    for t in types {
        text.push_str(&format!("        {},\n", ser(&TypeDoc::of(t))?));
    }
    text.push_str("    ],\n    entries: [\n");
    for e in &entries {
        text.push_str(&format!("        {},\n", ser(e)?));
    }
    text.push_str("    ],\n)\n");
    crate::io::write_atomic(path, |w| w.write_all(text.as_bytes()))?;
    Ok(entries.len())
}

/// The header line that says which slab made every entry (`settings.slab`, `settings.neb`).
fn slab_line(s: &CacheSettings) -> String {
    let size = s
        .slab
        .size
        .map_or("the default size".to_string(), |(x, y)| {
            format!("{x} × {y} cells")
        });
    format!(
        "// Every entry was computed on one slab: {size}, {} substrate layers below the event \
         (the bottom {} fixed), end states relaxed to {} eV/Å (2-norm), CI-NEB to {} eV/Å.\n",
        s.slab.layers_below,
        s.slab.fixed_layers,
        s.neb.relax_tolerance_ev_a,
        s.neb.force_tolerance_ev_a
    )
}

/// One line of RON.
fn ser<T: Serialize>(v: &T) -> Result<String> {
    ron::to_string(v).map_err(|e| Error::Simulation(format!("cannot write RON: {e}")))
}

/// Reads a cache file and checks it belongs to `settings` and `types`.
pub(crate) fn read(
    path: &Path,
    settings: &CacheSettings,
    types: &[EventType],
) -> Result<Vec<RawEntry>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let file: CacheFile = parse_ron_with(&text, Some(path), Messages::Ron)?;
    check(file, path, settings, types).map_err(|e| locate_error(e, &text, Some(path)))
}

/// Checks a parsed cache file; errors name the field, which the caller locates in the text.
fn check(
    file: CacheFile,
    path: &Path,
    settings: &CacheSettings,
    types: &[EventType],
) -> Result<Vec<RawEntry>> {
    let here = |field: &str| Location::file(path).field(field);
    if file.format < FORMAT {
        return Err(Error::input(
            here("format"),
            format!(
                "format {}, written by an older kmc whose barriers came from a thinner default \
                 slab with end states relaxed per atom; this kmc reads format {FORMAT}: delete \
                 the file and rebuild it with `kmc rates build SCENARIO` (or let a run compute \
                 the barriers it needs)",
                file.format
            ),
        ));
    }
    if file.format != FORMAT {
        return Err(Error::input(
            here("format"),
            format!("format {}, this kmc reads format {FORMAT}", file.format),
        ));
    }
    if file.settings != *settings {
        return Err(Error::input(
            here("settings"),
            format!(
                "the cache was computed with other settings: {}; its barriers do not belong to \
                 this model (delete the file and rebuild it with `kmc rates build SCENARIO`, or \
                 point `cache` to another one)",
                describe_difference(&file.settings, settings)
            ),
        ));
    }
    let docs: Vec<TypeDoc> = types.iter().map(TypeDoc::of).collect();
    if file.types != docs {
        return Err(Error::input(
            here("types"),
            "the event types (key layout) differ from this version of kmc: rebuild the cache",
        ));
    }
    if file.species.len() > 15 {
        return Err(Error::input(here("species"), "at most 15 species"));
    }
    let mut out = Vec::with_capacity(file.entries.len());
    for (i, mut e) in file.entries.into_iter().enumerate() {
        let bad = |m: String| Error::input(here(&format!("entries[{i}]")), m);
        let Some(t) = types.get(e.t as usize) else {
            return Err(bad(format!("unknown event type {}", e.t)));
        };
        if e.env.chars().count() != t.env.len() {
            return Err(bad(format!(
                "env has {} digits, type {} has {} sites",
                e.env.chars().count(),
                e.t,
                t.env.len()
            )));
        }
        for c in e.env.chars() {
            match c.to_digit(16) {
                Some(d) if (d as usize) <= file.species.len() => {}
                _ => return Err(bad(format!("env digit `{c}` names no species"))),
            }
        }
        if !file.species.contains(&e.mover) {
            return Err(bad(format!("unknown mover species `{}`", e.mover)));
        }
        let needs = e.status.is_event() && e.status != Status::Spontaneous;
        if needs && !(e.forward_ev.is_some_and(f64::is_finite) && e.reverse_ev.is_some()) {
            return Err(bad("an event entry needs finite barriers".into()));
        }
        // A barrier is the highest image minus an end state, which is itself an image: it is
        // never negative, and a negative one would make the rate exceed the prefactor.
        for (name, v) in [("forward_ev", e.forward_ev), ("reverse_ev", e.reverse_ev)] {
            if let Some(v) = v.filter(|v| *v < 0.0) {
                return Err(bad(format!("{name} must be a barrier >= 0 eV, got {v}")));
            }
        }
        e.names = file.species.clone();
        out.push(e);
    }
    Ok(out)
}

fn describe_difference(file: &CacheSettings, want: &CacheSettings) -> String {
    let mut d = Vec::new();
    if file.lattice != want.lattice {
        d.push(format!(
            "lattice {:?} (not {:?})",
            file.lattice, want.lattice
        ));
    }
    if file.lattice_constant_a != want.lattice_constant_a {
        d.push(format!(
            "lattice_constant_a {} (not {})",
            file.lattice_constant_a, want.lattice_constant_a
        ));
    }
    if file.potential != want.potential {
        d.push(format!(
            "potential {} (not {})",
            file.potential, want.potential
        ));
    }
    if file.substrate != want.substrate {
        d.push(format!(
            "substrate {} (not {})",
            file.substrate, want.substrate
        ));
    }
    if file.slab != want.slab {
        d.push(format!("slab {:?} (not {:?})", file.slab, want.slab));
    }
    if file.neb != want.neb {
        d.push(format!("neb {:?} (not {:?})", file.neb, want.neb));
    }
    if file.key_radius_a != want.key_radius_a {
        d.push(format!(
            "key_radius_a {} (not {})",
            file.key_radius_a, want.key_radius_a
        ));
    }
    d.join(", ")
}
