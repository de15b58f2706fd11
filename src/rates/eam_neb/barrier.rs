//! Barriers from the EAM: a periodic slab around the event, relaxed end states, CI-NEB.
//!
//! # The slab
//!
//! The event's environment (the key) is placed in a small slab of the same lattice, periodic
//! laterally (`size` in the lattice's size units) and open along the surface normal. Every
//! site outside the key is filled by one rule, the same for every key: occupied by the
//! substrate species if it lies in a layer *below the upper end* of the event, empty
//! otherwise. So the slab is the substrate (at least `layers_below` full layers under the
//! event's lower end, the bottom `fixed_layers` of them held fixed; for an up or down hop also
//! the layer of the lower end outside the key), with the key's atoms on and in it and nothing
//! else. Filling up to the upper end (not the lower one) matters: key atoms in the upper end's
//! layer would otherwise lose the support atoms that lie outside the key and slide off, making
//! most up and down hops near steps look unstable. Key atoms at or above the upper end's layer
//! that touch neither end (second neighbours) are held fixed at their sites for the same
//! reason. A key therefore fixes the slab completely, and the barrier is a pure function
//! of the key (the same key gives the same number to the last bit, whichever run or thread
//! computes it).
//!
//! # The calculation
//!
//! 1. Both end states (mover at `a`; mover at `b`, or for an exchange the two atoms swapped
//!    round) get a small deterministic random displacement (0.03 Å, seeded by the key) so that
//!    a state held at a symmetric saddle by symmetry alone can fall off it, then are relaxed
//!    with FIRE.
//! 2. An end state is *unstable* if some free atom ends farther than 0.4 nearest-neighbour
//!    distances from its lattice site (it relaxed away). A hop whose final state is unstable is
//!    dropped (no event). A hop whose initial state is unstable because the mover slides into
//!    the destination `b` itself (and the relaxed end states coincide) is *spontaneous*:
//!    barrier 0. Any other unstable initial state drops the event. Each case is recorded.
//! 3. CI-NEB between the relaxed ends; the forward barrier is saddle − initial, the reverse
//!    saddle − final, from the same band, so `E_fwd − E_rev = E_final − E_initial` exactly.
//!    A band that misses the force tolerance is rerun with three times the iterations; if it
//!    still misses, the highest image is kept and the entry marked `NotConverged`.
//!
//! The reverse event's key is computed on the slab after the event, and the pair is always
//! computed from the smaller of the two keys, so `K → (fwd, rev)` and `K' → (rev, fwd)` come
//! from one band: detailed balance holds exactly in the rates.

use super::key::{EnvKey, EventKind, KeyTables};
use crate::error::{Error, Result};
use crate::lattice::{Lattice, LatticeKind, SiteRef};
use crate::md::minimize::{FireOptions, ForceNorm, relax};
use crate::md::neb::{NebOptions, neb_atoms};
use crate::md::system::System;
use crate::md::{Eam, SimBox};
use crate::rng::{Stream, stream, uniform};
use crate::state::State;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Slab geometry.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlabSpec {
    /// Lateral size in the lattice's size units (fcc(100): conventional cells); `None`: the
    /// smallest size at least [`DEFAULT_SLAB_WIDTH_A`] lattice constants wide both ways
    /// (8 × 8 cells on fcc(100)).
    pub size: Option<(usize, usize)>,
    /// Full substrate layers below the lower end of the event.
    pub layers_below: usize,
    /// Bottom layers held fixed.
    pub fixed_layers: usize,
}

impl Default for SlabSpec {
    fn default() -> Self {
        // 8 × 8 cells, 10 layers (8 free): every (100) hop of the seven FCC Zhou04 metals within
        // 1.2 meV of the slab twice as wide and thick; exchanges converge more slowly (see
        // "Slab size" in the EamNeb module docs).
        SlabSpec {
            size: None,
            layers_below: 10,
            fixed_layers: 2,
        }
    }
}

/// Lattice constants the default slab spans laterally, both ways.
pub const DEFAULT_SLAB_WIDTH_A: f64 = 8.0;

impl SlabSpec {
    /// The lateral size for `kind` with lattice constant `a`, the default resolved.
    pub fn resolved_size(&self, kind: LatticeKind, a: f64) -> Result<(usize, usize)> {
        if let Some(s) = self.size {
            return Ok(s);
        }
        let probe = Lattice::new(kind, a, [12, 12], 2)?;
        let [lx, ly] = probe.box_lengths();
        let (ux, uy) = (lx / 12.0, ly / 12.0);
        let mut sx = (DEFAULT_SLAB_WIDTH_A * a / ux - 1e-9).ceil() as usize;
        let mut sy = (DEFAULT_SLAB_WIDTH_A * a / uy - 1e-9).ceil() as usize;
        loop {
            if Lattice::new(kind, a, [sx, sy], 2).is_ok() {
                return Ok((sx, sy));
            }
            sx += 1;
            sy += 1;
        }
    }
}

/// NEB and relaxation settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NebSpec {
    /// Intermediate images.
    pub images: usize,
    /// Force tolerance of the climbing band, eV/Å.
    pub force_tolerance_ev_a: f64,
    /// Spring constant, eV/Å².
    pub spring_ev_a2: f64,
    /// Iteration limit of one band relaxation.
    pub max_steps: usize,
    /// Force tolerance of the end-state relaxations, eV/Å: a bound on the 2-norm of the free
    /// atoms' forces (so on every atom's force too).
    pub relax_tolerance_ev_a: f64,
}

impl Default for NebSpec {
    fn default() -> Self {
        NebSpec {
            images: 5,
            force_tolerance_ev_a: 0.01,
            spring_ev_a2: 2.0,
            max_steps: 1000,
            relax_tolerance_ev_a: 1e-4,
        }
    }
}

/// Outcome of a barrier calculation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    /// Converged CI-NEB.
    Ok,
    /// The band missed the force tolerance; the barrier is its highest image.
    NotConverged,
    /// The initial state relaxes into the final one: barrier 0.
    Spontaneous,
    /// The initial state relaxes away to something else: no event.
    UnstableInitial,
    /// The final state relaxes away: no event.
    UnstableFinal,
    /// The calculation failed (non-finite energies): no event.
    Failed,
}

impl Status {
    /// Status of the reverse event.
    pub fn reversed(self) -> Status {
        match self {
            Status::Spontaneous | Status::UnstableInitial => Status::UnstableFinal,
            Status::UnstableFinal => Status::UnstableInitial,
            s => s,
        }
    }

    /// True if the event takes place (with a barrier).
    pub fn is_event(self) -> bool {
        matches!(
            self,
            Status::Ok | Status::NotConverged | Status::Spontaneous
        )
    }
}

/// A computed barrier with its metadata.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    /// Outcome.
    pub status: Status,
    /// Saddle − initial energy, eV (0 for `Spontaneous`, NaN if no event).
    pub forward_ev: f64,
    /// Saddle − final energy, eV (NaN if no event).
    pub reverse_ev: f64,
    /// Band iterations (0 if no band was run).
    pub neb_steps: u32,
}

impl Entry {
    /// The entry of the reverse event.
    pub fn reversed(&self) -> Entry {
        Entry {
            status: self.status.reversed(),
            forward_ev: if self.status == Status::Spontaneous {
                f64::NAN
            } else {
                self.reverse_ev
            },
            reverse_ev: self.forward_ev,
            neb_steps: self.neb_steps,
        }
    }

    /// The barrier of the event, if it takes place.
    pub fn barrier_ev(&self) -> Option<f64> {
        self.status.is_event().then_some(self.forward_ev)
    }
}

/// A slab set up for one key: the kmc state of the slab and the event's sites.
#[derive(Debug, Clone)]
pub struct SlabCase {
    /// The slab lattice and its occupancy in the initial state.
    pub state: State,
    /// Lowest layer of the slab's substrate (the fixed layers start here).
    pub bottom: usize,
    /// First layer not filled outside the key (the upper end's layer).
    pub fill_top: usize,
    /// The mover's site.
    pub origin: SiteRef,
    /// Event sites: `[b]` for a hop, `[v, t]` for an exchange.
    pub sites: Vec<SiteRef>,
    /// Hop or exchange.
    pub kind: EventKind,
    /// Key of the reverse event (read on the slab after the event).
    pub reverse_key: EnvKey,
}

/// Full result of one calculation, for validation and diagnostics.
#[derive(Debug, Clone)]
pub struct Calculation {
    /// The entry of the key the calculation started from.
    pub entry: Entry,
    /// Relaxed initial and final energies, eV.
    pub end_energies_ev: [f64; 2],
    /// Energy profile along the band (endpoints included), if a band was run.
    pub profile_ev: Vec<f64>,
    /// True if the band converged.
    pub converged: bool,
    /// FIRE steps of the two end-state relaxations.
    pub relax_steps: [usize; 2],
}

/// Computes barriers from keys: the slab lattice, its key tables and the potential.
#[derive(Debug, Clone)]
pub struct Calculator {
    potential: Arc<Eam>,
    /// Potential species of each kmc species id (index 0 unused).
    pot_species: Vec<u8>,
    /// kmc species id of the substrate (the fill outside the key).
    bulk: u8,
    slab: SlabSpec,
    neb: NebSpec,
    lattice: Lattice,
    keys: KeyTables,
    /// Lowest layer an event's origin may take in the slab.
    l_start: usize,
    exchange: bool,
}

/// Fraction of the nearest-neighbour distance an atom may relax away from its site.
pub const MAX_RELAX_FRACTION: f64 = 0.4;
const PERTURB_A: f64 = 0.03;

impl Calculator {
    /// A calculator for `kind` with lattice constant `a`; `pot_species[s]` is the potential's
    /// species index of kmc species `s` (index 0 unused), `bulk` the kmc species that fills
    /// the slab.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        kind: LatticeKind,
        a: f64,
        potential: Arc<Eam>,
        pot_species: Vec<u8>,
        bulk: u8,
        slab: SlabSpec,
        neb: NebSpec,
        exchange: bool,
    ) -> Result<Self> {
        if kind == LatticeKind::Hcp0001 {
            // Slabs are rebuilt here from the kind and a alone, which would drop the c/a, and
            // the event keys take one nearest-neighbour distance, which non-ideal HCP lacks.
            return Err(Error::field(
                "lattice.kind",
                "the EamNeb rate model does not support Hcp0001 (its slabs carry no c/a and its \
                 event keys assume a single nearest-neighbour distance); use BondCounting or \
                 CoordinationMetropolis",
            ));
        }
        if slab.fixed_layers == 0 || slab.fixed_layers >= slab.layers_below {
            return Err(Error::field(
                "rate_model.EamNeb.slab.fixed_layers",
                format!(
                    "must be at least 1 and below layers_below ({}), got {}",
                    slab.layers_below, slab.fixed_layers
                ),
            ));
        }
        // A first lattice just to learn how far events reach up.
        let size = slab.resolved_size(kind, a)?;
        let slab = SlabSpec {
            size: Some(size),
            ..slab
        };
        // Origins sit at layer `l_start` or up to three above it (to match their class); a
        // downward event's lower end is at most one step below the origin. Eight layers above
        // hold any environment (fcc reaches two layers up, fcc(110) three).
        let step = match Lattice::new(kind, a, [size.0, size.1], 2) {
            Ok(l) => l.max_step_dl(),
            Err(Error::Input { message, .. }) => {
                return Err(Error::field("rate_model.EamNeb.slab.size", message));
            }
            Err(e) => return Err(e),
        };
        let l_start = slab.layers_below + step;
        let layers = l_start + 3 + 8;
        let lattice = Lattice::new(kind, a, [size.0, size.1], layers)?;
        let keys = KeyTables::new(&lattice, exchange)?;
        for t in 0..keys.types().len() as u16 {
            let (reads, sites, _, _) = keys.reference_reads(t);
            if reads.iter().chain(sites).any(|o| o.dl > 8) {
                return Err(Error::Simulation(
                    "an event's environment reaches more than eight layers up".into(),
                ));
            }
        }
        Ok(Calculator {
            potential,
            pot_species,
            bulk,
            slab,
            neb,
            lattice,
            keys,
            l_start,
            exchange,
        })
    }

    /// The slab's key tables.
    pub fn keys(&self) -> &KeyTables {
        &self.keys
    }

    /// Slab settings (the size resolved).
    pub fn slab(&self) -> SlabSpec {
        self.slab
    }

    /// NEB settings.
    pub fn neb(&self) -> NebSpec {
        self.neb
    }

    /// Builds the slab of `key`: the state of the slab before the event, the event's sites
    /// and the key of the reverse event.
    pub fn slab_case(&self, key: &EnvKey) -> Result<SlabCase> {
        let types = self.keys.types();
        let ty = types
            .get(key.event_type as usize)
            .ok_or_else(|| Error::Simulation(format!("unknown event type {}", key.event_type)))?;
        if ty.kind == EventKind::Exchange && !self.exchange {
            return Err(Error::Simulation(
                "exchange key for a calculator without exchanges".into(),
            ));
        }
        let (reads, sites, class, index) = self.keys.reference_reads(key.event_type);
        let lat = &self.lattice;
        let (nx, ny) = lat.grid();
        let end_dl = match ty.kind {
            EventKind::Hop => sites[0].dl,
            EventKind::Exchange => sites[1].dl,
        };
        let ends_dl = end_dl.min(0);
        let origin = (self.l_start..self.l_start + 4)
            .flat_map(|l| (0..ny).map(move |d| (l, (ny / 2 + d) % ny)))
            .map(|(l, y)| lat.site(nx / 2, y, l))
            .find(|s| s.class == class)
            .ok_or_else(|| Error::Simulation("no slab site of the event's class".into()))?;
        // The substrate: `layers_below` full layers under the event's lower end.
        let l_low = (origin.l as i64 + ends_dl as i64) as usize;
        let bottom = l_low - self.slab.layers_below;
        // Filled up to the layer below the upper end: every key atom in the upper end's layer
        // then rests on full support outside the key, as it does on any terrace or island.
        let fill_top = (origin.l as i64 + end_dl.max(0) as i64) as usize;
        let mut st = State::new(lat.clone());
        for l in bottom..fill_top {
            for y in 0..ny {
                for x in 0..nx {
                    st.place(&lat.site(x, y, l), self.bulk);
                }
            }
        }
        let at = |o: &crate::lattice::Offset| -> Result<SiteRef> {
            lat.site_at_offset(&origin, o)
                .ok_or_else(|| Error::Simulation("key site outside the slab".into()))
        };
        let mut seen = Vec::new();
        for (i, o) in reads.iter().enumerate() {
            let s = at(o)?;
            if (s.l as usize) < bottom + self.slab.fixed_layers {
                return Err(Error::field(
                    "rate_model.EamNeb.slab.layers_below",
                    "too few substrate layers: the environment reaches into the fixed layers",
                ));
            }
            seen.push(s.idx);
            let sp = key.site(i);
            if st.cell(s.idx).occupied() {
                st.remove(&s);
            }
            if sp != 0 {
                st.place(&s, sp);
            }
        }
        let ev_sites = sites.iter().map(at).collect::<Result<Vec<_>>>()?;
        // The ends are not in the key; the fill may have covered them.
        for s in [&origin, &ev_sites[ev_sites.len() - 1]] {
            if st.cell(s.idx).occupied() {
                st.remove(s);
            }
        }
        seen.push(origin.idx);
        // The destination (an exchange's via site is part of the environment).
        seen.push(ev_sites[ev_sites.len() - 1].idx);
        seen.sort_unstable();
        if seen.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::field(
                "rate_model.EamNeb.slab.size",
                "the slab is too small: the event's environment overlaps its periodic image",
            ));
        }
        st.place(&origin, key.mover);
        let again = match ty.kind {
            EventKind::Hop => self.keys.hop_key(&st, &origin, index, key.mover, self.bulk),
            EventKind::Exchange => self
                .keys
                .exchange_key(&st, &origin, index, key.mover, self.bulk),
        };
        if again != *key {
            return Err(Error::Simulation(format!(
                "key does not survive the slab round trip ({key:?} became {again:?})"
            )));
        }
        let mut after = st.clone();
        let reverse_key = match ty.kind {
            EventKind::Hop => {
                let b = ev_sites[0];
                if after.cell(b.idx).occupied() {
                    return Err(Error::Simulation("hop destination occupied".into()));
                }
                after.remove(&origin);
                after.place(&b, key.mover);
                let rev = self.keys.reverse(EventKind::Hop, class, index);
                self.keys.hop_key(&after, &b, rev, key.mover, self.bulk)
            }
            EventKind::Exchange => {
                let (v, t) = (ev_sites[0], ev_sites[1]);
                let pushed = after.species(v.idx);
                if pushed == 0 || after.cell(t.idx).occupied() {
                    return Err(Error::Simulation(
                        "exchange needs an occupied via site and an empty destination".into(),
                    ));
                }
                after.remove(&origin);
                after.place(&t, pushed);
                after.set_species(v.idx, key.mover);
                let rev = self.keys.reverse(EventKind::Exchange, class, index);
                self.keys.exchange_key(&after, &t, rev, pushed, self.bulk)
            }
        };
        Ok(SlabCase {
            state: st,
            bottom,
            fill_top,
            origin,
            sites: ev_sites,
            kind: ty.kind,
            reverse_key,
        })
    }

    /// Key of the reverse event of `key`.
    pub fn reverse_key(&self, key: &EnvKey) -> Result<EnvKey> {
        Ok(self.slab_case(key)?.reverse_key)
    }

    /// Computes the pair `key → entry` and `reverse key → reversed entry`, always from the
    /// smaller of the two keys.
    pub fn compute_pair(&self, key: &EnvKey) -> Result<[(EnvKey, Entry); 2]> {
        let rev = self.reverse_key(key)?;
        let (first, second) = if rev < *key { (rev, *key) } else { (*key, rev) };
        let c = self.calculate(&first)?;
        Ok([(first, c.entry), (second, c.entry.reversed())])
    }

    /// Runs the full calculation for `key` (relaxations and band), from this key's side.
    pub fn calculate(&self, key: &EnvKey) -> Result<Calculation> {
        let case = self.slab_case(key)?;
        let lat = &self.lattice;
        let st = &case.state;
        let pot: &Eam = &self.potential;
        // Atoms in site order; the mover (and the pushed atom) are found by index.
        let mut sites = Vec::new();
        for idx in 0..lat.n_sites() {
            if st.cell(idx).occupied() {
                sites.push(lat.site_at(idx));
            }
        }
        let index_of = |s: &SiteRef| sites.iter().position(|x| x.idx == s.idx);
        let i_mover = index_of(&case.origin).expect("mover placed");
        let [lx, ly] = lat.box_lengths();
        let simbox = SimBox {
            lengths: [
                lx,
                ly,
                (lat.layers() as f64 + 4.0) * lat.layer_spacing() + 20.0,
            ],
            periodic: [true, true, false],
        };
        let shift = boundary_shift(lat);
        let place = |s: &SiteRef| {
            let p = lat.position(s);
            simbox.wrap([p[0] + shift[0], p[1] + shift[1], p[2]])
        };
        let site_pos: Vec<[f64; 3]> = sites.iter().map(place).collect();
        let species: Vec<u8> = sites
            .iter()
            .map(|s| self.pot_species[st.species(s.idx) as usize])
            .collect();
        let mut init = System::new(site_pos.clone(), species, simbox, pot)?;
        // Key atoms at or above the upper end's layer that touch neither end are held at
        // their sites: outside the key nothing supports them, and letting them relax away would
        // be an artefact of the cut, not a property of the event.
        let ends: Vec<[f64; 3]> = std::iter::once(&case.origin)
            .chain(&case.sites)
            .map(|s| lat.position(s))
            .collect();
        let touch = 1.01 * lat.nn_distance();
        for (i, s) in sites.iter().enumerate() {
            let p = lat.position(s);
            let frame = s.l as usize >= case.fill_top
                && ends.iter().all(|e| dist_pbc(&simbox, p, *e) > touch);
            init.fixed[i] = (s.l as usize) < case.bottom + self.slab.fixed_layers || frame;
        }
        let mut fin = init.clone();
        // Lattice site of every atom in the final state.
        let mut fin_sites = site_pos.clone();
        match case.kind {
            EventKind::Hop => {
                fin_sites[i_mover] = place(&case.sites[0]);
            }
            EventKind::Exchange => {
                let i_pushed = index_of(&case.sites[0]).expect("via occupied");
                fin_sites[i_mover] = place(&case.sites[0]);
                fin_sites[i_pushed] = place(&case.sites[1]);
            }
        }
        fin.positions.clone_from(&fin_sites);
        // Small deterministic kicks for the atoms near the event.
        let seed = (key.env as u64) ^ ((key.env >> 64) as u64).rotate_left(17);
        let mut rng = stream(
            seed,
            Stream::EamNebKey {
                event_type: key.event_type,
                mover: key.mover,
            },
        );
        let centre = site_pos[i_mover];
        let reach = self.keys.radius_a() + 2.0 * self.keys.nn_a();
        for i in 0..init.len() {
            if init.fixed[i] || dist_pbc(&simbox, site_pos[i], centre) > reach {
                continue;
            }
            for k in 0..3 {
                let d = PERTURB_A * (2.0 * uniform(&mut rng) - 1.0);
                init.positions[i][k] += d;
                fin.positions[i][k] += d;
            }
        }
        // The 2-norm, not the largest atom's force: the energy left in a soft long-wavelength
        // mode grows with the number of atoms at a fixed per-atom residual (on a 16 × 16 × 24
        // slab 1e-4 eV/Å per atom left the two end states of a symmetric hop 6 meV apart),
        // while |F|² / 2k bounds it whatever the slab's size.
        let fire = FireOptions {
            force_tolerance_ev_a: self.neb.relax_tolerance_ev_a,
            norm: ForceNorm::Global2,
            max_steps: 20_000,
            ..Default::default()
        };
        let ri = relax(&mut init, pot, &fire)?;
        let rf = relax(&mut fin, pot, &fire)?;
        let ends = [ri.energy_ev, rf.energy_ev];
        let no_event = |status| Calculation {
            entry: Entry {
                status,
                forward_ev: f64::NAN,
                reverse_ev: f64::NAN,
                neb_steps: 0,
            },
            end_energies_ev: ends,
            profile_ev: Vec::new(),
            converged: false,
            relax_steps: [ri.steps, rf.steps],
        };
        if !(ri.energy_ev.is_finite() && rf.energy_ev.is_finite()) {
            return Ok(no_event(Status::Failed));
        }
        let limit = MAX_RELAX_FRACTION * lat.nn_distance();
        let strays = |sys: &System, home: &[[f64; 3]]| -> Vec<usize> {
            (0..sys.len())
                .filter(|&i| !sys.fixed[i] && dist_pbc(&simbox, sys.positions[i], home[i]) > limit)
                .collect()
        };
        let stray_i = strays(&init, &site_pos);
        let stray_f = strays(&fin, &fin_sites);
        if !stray_i.is_empty() {
            // Spontaneous: only the mover left, and it went to the hop's destination (the final
            // state is that same minimum) or to a symmetric copy of it (an empty neighbour
            // whose hop has this very key: from a symmetric perch the kicks decide which way
            // it falls, and both hops must then be the same event).
            let same = stray_f.is_empty()
                && (0..init.len())
                    .all(|i| dist_pbc(&simbox, init.positions[i], fin.positions[i]) < 0.1);
            let copy = || {
                let p = init.positions[i_mover];
                let t = lat.class_tables(case.origin.class);
                t.neighbors.iter().enumerate().any(|(k, o)| {
                    lat.site_at_offset(&case.origin, o).is_some_and(|c| {
                        !st.cell(c.idx).occupied()
                            && dist_pbc(&simbox, place(&c), p) < limit
                            && self.keys.hop_key(st, &case.origin, k, key.mover, self.bulk) == *key
                    })
                })
            };
            let to_copy =
                stray_f.is_empty() && (ri.energy_ev - rf.energy_ev).abs() < 1e-3 && copy();
            let status = if case.kind == EventKind::Hop && stray_i == [i_mover] && (same || to_copy)
            {
                Status::Spontaneous
            } else {
                Status::UnstableInitial
            };
            if status == Status::Spontaneous {
                return Ok(Calculation {
                    entry: Entry {
                        status,
                        forward_ev: 0.0,
                        reverse_ev: ri.energy_ev.max(rf.energy_ev) - rf.energy_ev,
                        neb_steps: 0,
                    },
                    end_energies_ev: ends,
                    profile_ev: Vec::new(),
                    converged: false,
                    relax_steps: [ri.steps, rf.steps],
                });
            }
            return Ok(no_event(status));
        }
        if !stray_f.is_empty() {
            return Ok(no_event(Status::UnstableFinal));
        }
        // Relaxation may have wrapped an atom across a box edge in one end state only.
        let fin_positions: Vec<[f64; 3]> = (0..init.len())
            .map(|i| {
                let d = simbox.delta(init.positions[i], fin.positions[i]);
                let p = init.positions[i];
                [p[0] + d[0], p[1] + d[1], p[2] + d[2]]
            })
            .collect();
        let mut opts = NebOptions {
            images: self.neb.images,
            spring_ev_a2: self.neb.spring_ev_a2,
            force_tolerance_ev_a: self.neb.force_tolerance_ev_a,
            max_steps: self.neb.max_steps,
            climb_after_steps: self.neb.max_steps / 4,
            ..Default::default()
        };
        let mut r = neb_atoms(pot, &init, &fin_positions, &opts)?;
        let mut steps = r.steps;
        if !r.converged {
            opts.max_steps *= 3;
            opts.climb_after_steps = self.neb.max_steps / 4;
            r = neb_atoms(pot, &init, &fin_positions, &opts)?;
            steps += r.steps;
        }
        if !r.energies_ev.iter().all(|e| e.is_finite()) {
            return Ok(no_event(Status::Failed));
        }
        Ok(Calculation {
            entry: Entry {
                status: if r.converged {
                    Status::Ok
                } else {
                    Status::NotConverged
                },
                forward_ev: r.forward_barrier_ev(),
                reverse_ev: r.reverse_barrier_ev(),
                neb_steps: steps as u32,
            },
            end_energies_ev: ends,
            profile_ev: r.energies_ev.clone(),
            converged: r.converged,
            relax_steps: [ri.steps, rf.steps],
        })
    }

    /// The potential.
    pub fn potential(&self) -> &Eam {
        &self.potential
    }
}

fn dist_pbc(b: &SimBox, p: [f64; 3], q: [f64; 3]) -> f64 {
    crate::vec3::norm(b.delta(p, q))
}

/// Lateral shift that puts the periodic box edges halfway between atomic columns, so atoms do
/// not cross them while relaxing.
fn boundary_shift(lat: &Lattice) -> [f64; 2] {
    let [lx, ly] = lat.box_lengths();
    let (nx, ny) = lat.grid();
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for l in 0..lat.layers().min(6) {
        for y in 0..ny {
            for x in 0..nx {
                let p = lat.position(&lat.site(x, y, l));
                xs.push(p[0].rem_euclid(lx));
                ys.push(p[1].rem_euclid(ly));
            }
        }
    }
    let shift = |v: &mut Vec<f64>, len: f64| {
        v.sort_by(f64::total_cmp);
        v.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
        let mut gap = len - v[v.len() - 1] + v[0];
        for w in v.windows(2) {
            gap = gap.min(w[1] - w[0]);
        }
        0.5 * gap - v[0]
    };
    [shift(&mut xs, lx), shift(&mut ys, ly)]
}
