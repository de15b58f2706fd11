//! Barrier table: hop barriers looked up by species and local configuration, read from a RON
//! file (`rates/*.ron`).
//!
//! # The key (fcc(100))
//!
//! An in-plane hop of an adatom from `b` to the empty in-layer neighbour `j` on a flat terrace is
//! described by the occupancy of the ten in-layer sites that are nearest or next-nearest
//! neighbours of `b` or of `j` (the neighbourhood of Mehl, Biham, Furman & Karimi,
//! Phys. Rev. B 60, 2106 (1999)). In the hop's own frame — `u` along `b → j`, `v` to its left
//! (ẑ × u), unit the in-layer spacing, `b` at (0, 0) and `j` at (1, 0) — bit `i` of the 10-bit
//! mask is the occupancy of [`KEY_SITES`]`[i]`. The four rotated offset lists are built once
//! from the lattice's Cartesian positions, so a configuration and its copies in the other three
//! in-plane directions read the same mask.
//!
//! # Which hops use which part of the table
//!
//! A *supported* site has all of its existing lower neighbours occupied (layer 0 counts as
//! supported by the floor); a *covered* atom has an occupied upper neighbour.
//!
//! - Covered atoms do not hop, and no atom hops into a site that would be covered (the table's
//!   barriers are for adatoms with nothing on top).
//! - A destination needs at least two occupied lower neighbours besides the mover (or the floor):
//!   no atom hops onto a single atom or into the void.
//! - **Terrace hops** — in-layer, origin and destination both supported — take
//!   `in_plane[mask]`. The layer below is taken as full and atoms outside the ten key sites are
//!   ignored, as in Mehl et al.'s description.
//! - **Interlayer hops** — every other allowed hop: up or down a layer, or in-layer onto or off a
//!   partially supported site (the first move of a descent over a step edge, the last of an
//!   ascent) — take `interlayer[(n_from, n_to)]`, with `n_from` the occupied nearest neighbours of
//!   the origin and `n_to` those of the destination, the mover excluded. Both are read from the
//!   packed state bytes. Exchange is not modelled.
//!
//! # Detailed balance
//!
//! The reverse of a terrace hop with mask `m` is a terrace hop whose mask is `m` seen from `j`
//! (`u → 1 − u`, `v → −v`); the shipped tables take both from one EAM path, so each pair obeys
//! detailed balance with the EAM energy change. The reverse of an interlayer hop `(n_from, n_to)`
//! is the interlayer hop `(n_to, n_from)`; tables generated as `E_step + max(0, ε (n_from −
//! n_to))` (the shipped ones are) obey detailed balance exactly with respect to the bond energy
//! `H = −ε · bonds`. Cycles that mix the two kinds are consistent to the extent that the EAM
//! energy changes follow the same bond counting (the shipped file states the fit residual). An
//! atom that sits on fewer than two supports (deposition can put it there) may leave and cannot
//! come back: such states are transient, and detailed balance holds among the others.
//!
//! # File format
//!
//! ```ron
//! // Source: ... (every table states where its numbers come from)
//! (
//!     source: "citation or calculation",
//!     lattice: Fcc100,
//!     species: {
//!         "Cu": (
//!             prefactor_hz: 1e13,
//!             in_plane: [(0b0000000000, 0.4829), (0b0000000001, 0.8112), /* all 1024 */],
//!             interlayer: [(0, 0, 0.08), (0, 1, 0.08), /* all 12 × 12 (n = 0..=11) */],
//!         ),
//!     },
//! )
//! ```
//!
//! Loading checks coverage (every mask and every `(n_from, n_to)` present once), that barriers
//! are finite and non-negative, and the lattice kind; building the model checks that every
//! species of the scenario has a table (a table may hold more species than a scenario uses).
//! Errors name the file, line, column and field.

use super::RateModel;
use crate::catalog::Event;
use crate::error::{Error, Location, Result};
use crate::io::ron::{Messages, line_col, locate, locate_error, parse_ron_with};
use crate::io::validate::{positive, positive_of};
use crate::lattice::{Lattice, LatticeKind, Offset, SiteRef};
use crate::state::State;
use crate::units::{arrhenius_kt, kt_ev};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// In-layer sites of the key in the hop's frame, `(u, v)` in units of the in-layer spacing:
/// `u` along the hop `b → j`, `v` to its left; bit `i` of a mask is the occupancy of entry `i`.
pub const KEY_SITES: [(i32, i32); 10] = [
    (-1, 0),
    (0, 1),
    (0, -1),
    (-1, 1),
    (-1, -1),
    (1, 1),
    (1, -1),
    (2, 0),
    (2, 1),
    (2, -1),
];

/// Number of in-plane keys (`2^10`).
pub const IN_PLANE_KEYS: usize = 1 << KEY_SITES.len();

/// `n_from` and `n_to` of interlayer keys run over `0..INTERLAYER_N` (a site has at most 12
/// neighbours, one of which is the mover's other site).
pub const INTERLAYER_N: usize = 12;

/// Mask of the same configuration seen from the destination hopping back (`u → 1 − u`,
/// `v → −v`): the key of the reverse hop.
pub fn reverse_mask(mask: usize) -> usize {
    permute_mask(mask, |(u, v)| (1 - u, -v))
}

/// Mask of the mirror image across the hop axis (`v → −v`).
pub fn mirror_mask(mask: usize) -> usize {
    permute_mask(mask, |(u, v)| (u, -v))
}

fn permute_mask(mask: usize, image: impl Fn((i32, i32)) -> (i32, i32)) -> usize {
    let mut out = 0;
    for (i, &site) in KEY_SITES.iter().enumerate() {
        if mask >> i & 1 == 1 {
            let p = KEY_SITES
                .iter()
                .position(|&s| s == image(site))
                .expect("the key is closed under the hop's symmetries");
            out |= 1 << p;
        }
    }
    out
}

fn describe_mask(mask: usize) -> String {
    let occ: Vec<String> = KEY_SITES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask >> i & 1 == 1)
        .map(|(_, (u, v))| format!("({u},{v})"))
        .collect();
    if occ.is_empty() {
        "no key site occupied".into()
    } else {
        format!("occupied (u,v): {}", occ.join(" "))
    }
}

/// Scenario spec: `rate_model: BarrierTable((file: "rates/fcc100_zhou04.ron"))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BarrierTableSpec {
    /// The table file. A relative path is resolved against `base_dir`.
    pub file: String,
    /// Directory relative paths are resolved against: the scenario loader sets it to the
    /// scenario file's directory; `None` means the working directory.
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
}

impl BarrierTableSpec {
    /// A spec for `file`, resolved against `base_dir` if relative.
    pub fn new(file: impl Into<String>, base_dir: Option<PathBuf>) -> Self {
        BarrierTableSpec {
            file: file.into(),
            base_dir,
        }
    }

    /// The table file's path.
    pub fn path(&self) -> PathBuf {
        let p = Path::new(&self.file);
        match &self.base_dir {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p.to_path_buf(),
        }
    }
}

/// Barriers of one species as read from a table file.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeciesBarriers {
    /// Attempt frequency ν in Hz.
    pub prefactor_hz: f64,
    /// Terrace-hop barrier by key mask, eV.
    pub in_plane_ev: Vec<f64>,
    /// Interlayer barrier by `[n_from][n_to]`, eV.
    pub interlayer_ev: [[f64; INTERLAYER_N]; INTERLAYER_N],
}

impl SpeciesBarriers {
    /// Barrier of an isolated adatom's terrace hop (mask 0), eV.
    pub fn monomer_barrier_ev(&self) -> f64 {
        self.in_plane_ev[0]
    }
}

/// A loaded, validated table file.
#[derive(Debug, Clone, PartialEq)]
pub struct BarrierTableFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The file's `source` field.
    pub source: String,
    /// Lattice kind the key belongs to.
    pub lattice: LatticeKind,
    /// Barriers by species name.
    pub species: BTreeMap<String, SpeciesBarriers>,
    lattice_line: Option<usize>,
    species_line: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    source: String,
    lattice: LatticeKind,
    species: BTreeMap<String, SpeciesTable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpeciesTable {
    prefactor_hz: f64,
    in_plane: Vec<(u64, f64)>,
    interlayer: Vec<(u64, u64, f64)>,
}

/// Reads and validates a table file (see the module docs for the format and the checks).
pub fn load_barrier_table(path: impl AsRef<Path>) -> Result<BarrierTableFile> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_barrier_table(&text, path)
}

/// Parses and validates table text; `path` is only used in messages.
pub fn parse_barrier_table(text: &str, path: &Path) -> Result<BarrierTableFile> {
    let raw: TableFile = parse_ron_with(text, Some(path), Messages::Ron)?;
    let species = check_table(&raw).map_err(|e| locate_error(e, text, Some(path)))?;
    let line_of = |field: &str| locate(text, field).map(|o| line_col(text, o).0);
    Ok(BarrierTableFile {
        path: path.to_path_buf(),
        source: raw.source,
        lattice: raw.lattice,
        species,
        lattice_line: line_of("lattice"),
        species_line: line_of("species"),
    })
}

/// Checks the parsed table; errors name the field, which the caller locates in the text.
fn check_table(raw: &TableFile) -> Result<BTreeMap<String, SpeciesBarriers>> {
    if raw.lattice != LatticeKind::Fcc100 {
        return Err(Error::field(
            "lattice",
            format!(
                "the BarrierTable key is defined for Fcc100 only; this table is for {:?}",
                raw.lattice
            ),
        ));
    }
    if raw.species.is_empty() {
        return Err(Error::field("species", "the table has no species"));
    }
    raw.species
        .iter()
        .map(|(name, rs)| Ok((name.clone(), check_species(name, rs)?)))
        .collect()
}

fn check_species(name: &str, rs: &SpeciesTable) -> Result<SpeciesBarriers> {
    let field = |f: &str| format!("species.{name}.{f}");
    positive_of(field("prefactor_hz"), rs.prefactor_hz, "Hz")?;
    let barrier_ok = |e: f64| e.is_finite() && e >= 0.0;
    let mut in_plane = vec![f64::NAN; IN_PLANE_KEYS];
    for (i, &(mask, e)) in rs.in_plane.iter().enumerate() {
        let f = format!("{}[{i}]", field("in_plane"));
        if mask as usize >= IN_PLANE_KEYS {
            return Err(Error::field(
                f,
                format!("mask {mask:#b} has more than {} bits", KEY_SITES.len()),
            ));
        }
        if !barrier_ok(e) {
            return Err(Error::field(
                f,
                format!("barrier of key {mask:#012b} must be a finite number of eV >= 0, got {e}"),
            ));
        }
        if !in_plane[mask as usize].is_nan() {
            return Err(Error::field(f, format!("key {mask:#012b} is given twice")));
        }
        in_plane[mask as usize] = e;
    }
    if let Some(missing) = in_plane.iter().position(|e| e.is_nan()) {
        return Err(Error::field(
            field("in_plane"),
            format!(
                "no entry for key {missing:#012b} ({}); the table must cover all {IN_PLANE_KEYS} \
                 configurations",
                describe_mask(missing)
            ),
        ));
    }
    let mut inter = [[f64::NAN; INTERLAYER_N]; INTERLAYER_N];
    for (i, &(nf, nt, e)) in rs.interlayer.iter().enumerate() {
        let f = format!("{}[{i}]", field("interlayer"));
        if nf as usize >= INTERLAYER_N || nt as usize >= INTERLAYER_N {
            return Err(Error::field(
                f,
                format!("neighbour counts must be below {INTERLAYER_N}, got ({nf}, {nt})"),
            ));
        }
        if !barrier_ok(e) {
            return Err(Error::field(
                f,
                format!("barrier of key ({nf}, {nt}) must be a finite number of eV >= 0, got {e}"),
            ));
        }
        let slot = &mut inter[nf as usize][nt as usize];
        if !slot.is_nan() {
            return Err(Error::field(f, format!("key ({nf}, {nt}) is given twice")));
        }
        *slot = e;
    }
    for (nf, row) in inter.iter().enumerate() {
        if let Some(nt) = row.iter().position(|e| e.is_nan()) {
            return Err(Error::field(
                field("interlayer"),
                format!(
                    "no entry for key ({nf}, {nt}); the table must cover every (n_from, n_to) \
                     with both in 0..{INTERLAYER_N}"
                ),
            ));
        }
    }
    Ok(SpeciesBarriers {
        prefactor_hz: rs.prefactor_hz,
        in_plane_ev: in_plane,
        interlayer_ev: inter,
    })
}

/// Geometry of one neighbour direction of a class, relative to the origin `b`.
#[derive(Debug, Clone)]
struct DirGeom {
    to: Offset,
    /// The ten key sites, for in-layer directions.
    key: Option<[Offset; 10]>,
    /// Lower neighbours of the destination, the origin excluded.
    to_lower: Vec<Offset>,
    /// Upper neighbours of the destination, the origin excluded.
    to_upper: Vec<Offset>,
}

#[derive(Debug, Clone)]
struct ClassGeom {
    dirs: Vec<DirGeom>,
    lower: Vec<Offset>,
    upper: Vec<Offset>,
}

/// The built model.
#[derive(Debug, Clone)]
pub struct BarrierTable {
    classes: Vec<ClassGeom>,
    /// `ν exp(−E / kT)` by species id (0 unused) and mask.
    in_plane: Vec<Vec<f64>>,
    /// `ν exp(−E / kT)` by species id, `n_from`, `n_to`.
    interlayer: Vec<[[f64; INTERLAYER_N]; INTERLAYER_N]>,
}

impl BarrierTable {
    /// Loads the spec's file and builds the model; `species[i]` is species `i + 1`.
    pub fn new(
        spec: &BarrierTableSpec,
        species: &[String],
        lattice: &Lattice,
        temperature_k: f64,
    ) -> Result<Self> {
        let table = load_barrier_table(spec.path())
            .map_err(|e| e.in_file_named_by("rate_model.BarrierTable.file"))?;
        Self::from_table(&table, species, lattice, temperature_k)
    }

    /// Builds the model from a loaded table.
    pub fn from_table(
        table: &BarrierTableFile,
        species: &[String],
        lattice: &Lattice,
        temperature_k: f64,
    ) -> Result<Self> {
        let here = |line: Option<usize>, field: String| {
            let l = Location::file(&table.path).field(field);
            match line {
                Some(n) => l.line(n),
                None => l,
            }
        };
        if lattice.kind() != table.lattice {
            return Err(Error::input(
                here(table.lattice_line, "lattice".into()),
                format!(
                    "the table is for {:?} but the scenario's lattice is {:?}",
                    table.lattice,
                    lattice.kind()
                ),
            ));
        }
        positive("temperature_k", temperature_k)?;
        let kt = kt_ev(temperature_k);
        let mut in_plane = vec![Vec::new()];
        let mut interlayer = vec![[[0.0; INTERLAYER_N]; INTERLAYER_N]];
        for name in species {
            let Some(sb) = table.species.get(name) else {
                return Err(Error::input(
                    here(table.species_line, format!("species.{name}")),
                    format!(
                        "unknown species `{name}`: the table has no barriers for it (it has {})",
                        table.species.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            };
            let nu = sb.prefactor_hz;
            in_plane.push(
                sb.in_plane_ev
                    .iter()
                    .map(|&e| arrhenius_kt(nu, e, kt))
                    .collect(),
            );
            let mut r = [[0.0; INTERLAYER_N]; INTERLAYER_N];
            for (nf, row) in sb.interlayer_ev.iter().enumerate() {
                for (nt, e) in row.iter().enumerate() {
                    r[nf][nt] = arrhenius_kt(nu, *e, kt);
                }
            }
            interlayer.push(r);
        }
        Ok(BarrierTable {
            classes: build_geometry(lattice)?,
            in_plane,
            interlayer,
        })
    }

    /// Origin-frame offsets of the ten key sites of each in-layer direction of each class, in
    /// [`KEY_SITES`] order (`None` for out-of-layer directions), for tests and diagnostics.
    pub fn key_offsets(&self, class: u8) -> Vec<Option<[Offset; 10]>> {
        self.classes[class as usize]
            .dirs
            .iter()
            .map(|d| d.key)
            .collect()
    }

    /// The key mask of the hop of the atom at `b` along neighbour direction `k`, or `None` for
    /// an out-of-layer direction.
    pub fn mask(&self, state: &State, b: &SiteRef, k: usize) -> Option<usize> {
        let lat = state.lattice();
        let key = self.classes[b.class as usize].dirs[k].key?;
        let mut mask = 0;
        for (i, o) in key.iter().enumerate() {
            if lat.index_at(b, o).is_some_and(|m| state.cell(m).occupied()) {
                mask |= 1 << i;
            }
        }
        Some(mask)
    }

    /// Visits every allowed hop of the atom at `b` as `(destination, direction, rate)`.
    #[inline(always)]
    fn visit<const INTERIOR: bool>(
        &self,
        state: &State,
        b: &SiteRef,
        mut f: impl FnMut(usize, usize, f64),
    ) {
        let lat = state.lattice();
        let cells = state.cells();
        let at = |o: &Offset| -> Option<usize> {
            if INTERIOR {
                Some((b.idx as isize + o.delta) as usize)
            } else {
                lat.index_at(b, o)
            }
        };
        let occ = |o: &Offset| at(o).is_some_and(|m| cells[m].occupied());
        let cb = cells[b.idx];
        if cb.is_empty() || !state.is_mobile(b) {
            return;
        }
        let g = &self.classes[b.class as usize];
        if g.upper.iter().any(occ) {
            return;
        }
        let s = cb.species() as usize;
        // No hop ends in a frozen layer: an atom there could never hop back.
        let frozen_sites = state.frozen_layers() * lat.layer_size();
        let b_full = g
            .lower
            .iter()
            .all(|o| at(o).is_none_or(|m| cells[m].occupied()));
        for (k, d) in g.dirs.iter().enumerate() {
            let Some(j) = at(&d.to) else {
                continue;
            };
            let cj = cells[j];
            if cj.occupied() || j < frozen_sites || d.to_upper.iter().any(occ) {
                continue;
            }
            let (mut below, mut support) = (0, 0);
            for o in &d.to_lower {
                if let Some(m) = at(o) {
                    below += 1;
                    support += cells[m].occupied() as usize;
                }
            }
            if below > 0 && support < 2 {
                continue;
            }
            let rate = match &d.key {
                Some(key) if b_full && support == below => {
                    let mut mask = 0;
                    for (i, o) in key.iter().enumerate() {
                        mask |= (occ(o) as usize) << i;
                    }
                    self.in_plane[s][mask]
                }
                _ => {
                    // The mover is a neighbour of j, so j's count includes it.
                    let nf = cb.coordination() as usize;
                    let nt = cj.coordination() as usize - 1;
                    self.interlayer[s][nf][nt]
                }
            };
            f(j, k, rate);
        }
    }
}

impl RateModel for BarrierTable {
    fn name(&self) -> &'static str {
        "BarrierTable"
    }

    fn interaction_range(&self) -> usize {
        // The farthest key sites, (2, ±1) in the hop frame, are 3 steps from the origin; the
        // destination's coordination byte depends on sites 1 step beyond the destination,
        // i.e. 2 steps from the origin; its upper and lower neighbours are 2 steps away.
        3
    }

    fn site_events(&mut self, state: &State, b: &SiteRef, out: &mut Vec<(Event, f64)>) {
        let mut push = |j: usize, k: usize, r: f64| {
            out.push((
                Event::Hop {
                    from: b.idx,
                    to: j,
                    dir: k as u8,
                },
                r,
            ))
        };
        if b.interior {
            self.visit::<true>(state, b, &mut push)
        } else {
            self.visit::<false>(state, b, &mut push)
        }
    }

    #[inline]
    fn site_rate(&mut self, state: &State, b: &SiteRef) -> f64 {
        let mut sum = 0.0;
        if b.interior {
            self.visit::<true>(state, b, |_, _, r| sum += r)
        } else {
            self.visit::<false>(state, b, |_, _, r| sum += r)
        }
        sum
    }
}

/// Builds the per-class hop geometry, with the key sites found from Cartesian positions.
fn build_geometry(lattice: &Lattice) -> Result<Vec<ClassGeom>> {
    let add = |a: &Offset, b: &Offset| Offset {
        dx: a.dx + b.dx,
        dy: a.dy + b.dy,
        dl: a.dl + b.dl,
        delta: a.delta + b.delta,
        class: b.class,
    };
    let mut out = Vec::with_capacity(lattice.n_classes());
    for c in 0..lattice.n_classes() as u8 {
        let t = lattice.class_tables(c);
        // Unwrapped positions: a reference point far from the origin of the grid so that offsets
        // stay non-negative; its coordinates have the class's parities (periods divide 12).
        let base = representative(lattice, c);
        let pos = |o: &Offset| -> [f64; 3] {
            lattice.position(&SiteRef {
                idx: 0,
                x: (base.0 + o.dx) as u32,
                y: (base.1 + o.dy) as u32,
                l: (base.2 + o.dl) as u32,
                class: o.class,
                interior: false,
            })
        };
        let zero = Offset {
            dx: 0,
            dy: 0,
            dl: 0,
            delta: 0,
            class: c,
        };
        let p0 = pos(&zero);
        let in_layer: Vec<&Offset> = t.shells[3].iter().filter(|o| o.dl == 0).collect();
        let mut dirs = Vec::with_capacity(t.neighbors.len());
        for (k, to) in t.neighbors.iter().enumerate() {
            let tt = lattice.class_tables(t.neighbor_class[k]);
            let rel = |o: &Offset| add(to, o);
            let not_origin = |o: &Offset| !(o.dx == 0 && o.dy == 0 && o.dl == 0);
            let to_lower = tt
                .neighbors
                .iter()
                .filter(|o| o.dl < 0)
                .map(rel)
                .filter(not_origin)
                .collect();
            let to_upper = tt
                .neighbors
                .iter()
                .filter(|o| o.dl > 0)
                .map(rel)
                .filter(not_origin)
                .collect();
            let key = if to.dl == 0 {
                let pj = pos(to);
                let eu = [pj[0] - p0[0], pj[1] - p0[1]];
                let d = (eu[0] * eu[0] + eu[1] * eu[1]).sqrt();
                let eu = [eu[0] / d, eu[1] / d];
                let ev = [-eu[1], eu[0]];
                let mut key = [zero; 10];
                for (i, &(u, v)) in KEY_SITES.iter().enumerate() {
                    let found = in_layer.iter().find(|o| {
                        let p = pos(o);
                        let r = [p[0] - p0[0], p[1] - p0[1]];
                        let pu = (r[0] * eu[0] + r[1] * eu[1]) / d;
                        let pv = (r[0] * ev[0] + r[1] * ev[1]) / d;
                        (pu - u as f64).abs() < 1e-6 && (pv - v as f64).abs() < 1e-6
                    });
                    key[i] = **found.ok_or_else(|| {
                        Error::Simulation(format!(
                            "{:?}: no in-layer site at ({u}, {v}) of the hop frame within 3 steps",
                            lattice.kind()
                        ))
                    })?;
                }
                Some(key)
            } else {
                None
            };
            dirs.push(DirGeom {
                to: *to,
                key,
                to_lower,
                to_upper,
            });
        }
        out.push(ClassGeom {
            dirs,
            lower: t.neighbors.iter().filter(|o| o.dl < 0).copied().collect(),
            upper: t.neighbors.iter().filter(|o| o.dl > 0).copied().collect(),
        });
    }
    Ok(out)
}

/// Grid coordinates of a point of class `c`, far enough from 0 that every key offset stays
/// non-negative.
fn representative(lattice: &Lattice, c: u8) -> (i32, i32, i32) {
    let (nx, ny) = lattice.grid();
    for l in 0..lattice.layers().min(6) {
        for y in 0..ny.min(6) {
            if lattice.site(nx / 2, y, l).class == c {
                // Class periods along y and layers are at most 3, so 24 keeps the parities.
                return (24, 24 + y as i32, 24 + l as i32);
            }
        }
    }
    // A lattice too thin to hold every class: fcc(100)'s classes are (y mod 2) + 2 (l mod 2).
    (24, 24 + (c % 2) as i32, 24 + (c / 2) as i32)
}
