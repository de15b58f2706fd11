//! Coordination–Metropolis model: site energies by coordination, `E_a = Q + max(ΔE, 0)`.
//!
//! The energy of a configuration is `Σ_occupied E_s(n)` with `n` the number of occupied nearest
//! neighbours. A hop `b → j` changes the coordination of the mover and of the sites that are
//! neighbours of exactly one of `b` and `j`; common neighbours keep theirs. So
//! `ΔE = E(n_j − 1) − E(n_b) + Σ_{only b} [E(n−1) − E(n)] + Σ_{only j} [E(n+1) − E(n)]`, read
//! from 16 packed bytes and two 256-entry tables indexed by the byte itself. This is the model of
//! SPPARKS's `diffusion nonlinear hop` app, so speed can be compared on identical physics.

use super::{RateModel, per_species};
use crate::catalog::Event;
use crate::error::{Error, Result};
use crate::io::validate::{finite, non_negative_of, positive};
use crate::lattice::{Lattice, Offset, SiteRef};
use crate::state::{Cell, Species, State};
use crate::units::{arrhenius_kt, boltzmann_beta, kt_ev};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Site energy as a function of coordination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SiteEnergy {
    /// `E(n) = coefficient_ev · √n` (e.g. −1.0218 for the benchmark's Cu).
    Sqrt {
        /// Coefficient in eV.
        coefficient_ev: f64,
    },
    /// `E(n) = coefficient_ev · n` (pair bonds, each counted from both ends).
    Linear {
        /// Energy per neighbour in eV.
        coefficient_ev: f64,
    },
    /// `E(n)` tabulated for n = 0 ..= z (z = the lattice coordination).
    Table(Vec<f64>),
}

/// Per-species parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoordinationParams {
    /// Attempt frequency ν in Hz.
    pub prefactor_hz: f64,
    /// Barrier `Q` of a hop that does not raise the energy, eV.
    pub barrier_ev: f64,
    /// Site energy `E(n)`.
    pub site_energy: SiteEnergy,
}

/// Scenario spec of the coordination–Metropolis model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoordinationMetropolisSpec {
    /// Parameters of each species, by name.
    pub species: BTreeMap<String, CoordinationParams>,
}

/// The built model.
#[derive(Debug, Clone)]
pub struct CoordinationMetropolis {
    /// `E_s(n)` for species s (1-based index) and n = 0..=15 (values past z are never read).
    energy: Vec<[f64; 16]>,
    /// `E(n−1) − E(n)` for an occupied byte, 0 for an empty one.
    d_minus: Box<[f64; Cell::TABLE_SIZE]>,
    /// `E(n+1) − E(n)` for an occupied byte, 0 for an empty one.
    d_plus: Box<[f64; Cell::TABLE_SIZE]>,
    /// `ν_s exp(−Q_s / kT)`.
    base: Vec<f64>,
    boltzmann: Boltzmann,
    /// Per class: what a rate evaluation reads.
    reads: Vec<ClassReads>,
}

/// `min(1, exp(−ΔE/kT))` with a small direct-mapped memo of the exponentials: a run meets
/// the same few thousand ΔE values over and over (they are sums of a few table entries), and a
/// memo hit is several times cheaper than `exp`. The value is `exp` either way.
#[derive(Debug, Clone)]
struct Boltzmann {
    inv_kt: f64,
    keys: Box<[u64; MEMO]>,
    values: Box<[f64; MEMO]>,
}

const MEMO: usize = 2048;

impl Boltzmann {
    fn new(inv_kt: f64) -> Self {
        // NaN bits: never the key of a finite ΔE.
        Boltzmann {
            inv_kt,
            keys: Box::new([u64::MAX; MEMO]),
            values: Box::new([0.0; MEMO]),
        }
    }

    #[inline(always)]
    fn rate(&mut self, base: f64, de: f64) -> f64 {
        if de <= 0.0 {
            return base;
        }
        let bits = de.to_bits();
        let slot = (bits.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 53) as usize % MEMO;
        if self.keys[slot] != bits {
            self.keys[slot] = bits;
            self.values[slot] = boltzmann_beta(de, self.inv_kt);
        }
        base * self.values[slot]
    }
}

/// What the hot loop needs of one hop direction.
#[derive(Debug, Clone, Copy)]
struct HopDeltas {
    /// Positions, in the origin's neighbour list, of the neighbours it shares with the
    /// destination (their coordination does not change).
    common: [u8; 8],
    n_common: u8,
    n_to: u8,
    /// Neighbours of the destination that are not neighbours of the origin (they gain one).
    only_to: [Read; 12],
}

/// A lattice offset as the hot loop reads it: 8 bytes, so a direction's table fits in a few
/// cache lines.
#[derive(Debug, Clone, Copy, Default)]
struct Read {
    delta: i32,
    dx: i8,
    dy: i8,
}

impl From<&Offset> for Read {
    fn from(o: &Offset) -> Self {
        Read {
            delta: o.delta as i32,
            dx: o.dx as i8,
            dy: o.dy as i8,
        }
    }
}

/// Per class: the neighbour offsets and, per direction, the hop's tables.
#[derive(Debug, Clone)]
struct ClassReads {
    neighbors: Vec<Read>,
    hops: Vec<HopDeltas>,
}

fn class_reads(lattice: &Lattice) -> Vec<ClassReads> {
    (0..lattice.n_classes())
        .map(|c| {
            let t = lattice.class_tables(c as u8);
            let hops = t
                .hops
                .iter()
                .map(|h| {
                    let mut common = [0u8; 8];
                    for (slot, o) in common.iter_mut().zip(&h.common) {
                        *slot = t
                            .neighbors
                            .iter()
                            .position(|n| n == o)
                            .expect("common neighbour") as u8;
                    }
                    let mut only_to = [Read::default(); 12];
                    for (slot, o) in only_to.iter_mut().zip(&h.only_to) {
                        *slot = o.into();
                    }
                    HopDeltas {
                        common,
                        n_common: h.common.len() as u8,
                        n_to: h.only_to.len() as u8,
                        only_to,
                    }
                })
                .collect();
            ClassReads {
                neighbors: t.neighbors.iter().map(Read::from).collect(),
                hops,
            }
        })
        .collect()
}

impl CoordinationMetropolis {
    /// Builds the model; `species[i]` is species `i + 1`.
    pub fn new(
        spec: &CoordinationMetropolisSpec,
        species: &[String],
        lattice: &Lattice,
        temperature_k: f64,
    ) -> Result<Self> {
        let field = "rate_model.CoordinationMetropolis.species";
        let params = per_species(&spec.species, species, field)?;
        let z = lattice.coordination();
        let kt = kt_ev(temperature_k);
        let mut energy = vec![[0.0; 16]];
        let mut base = vec![0.0];
        for (p, name) in params.iter().zip(species) {
            let f = format!("{field}.{name}");
            positive(format!("{f}.prefactor_hz"), p.prefactor_hz)?;
            non_negative_of(format!("{f}.barrier_ev"), p.barrier_ev, "eV")?;
            let mut e = [0.0; 16];
            match &p.site_energy {
                SiteEnergy::Sqrt { coefficient_ev } => {
                    finite(format!("{f}.site_energy.coefficient_ev"), *coefficient_ev)?;
                    for (n, v) in e.iter_mut().enumerate() {
                        *v = coefficient_ev * (n.min(z) as f64).sqrt();
                    }
                }
                SiteEnergy::Linear { coefficient_ev } => {
                    finite(format!("{f}.site_energy.coefficient_ev"), *coefficient_ev)?;
                    for (n, v) in e.iter_mut().enumerate() {
                        *v = coefficient_ev * n.min(z) as f64;
                    }
                }
                SiteEnergy::Table(t) => {
                    if t.len() != z + 1 {
                        return Err(Error::field(
                            format!("{f}.site_energy"),
                            format!(
                                "table needs {} values (n = 0..={z} on {:?}), got {}",
                                z + 1,
                                lattice.kind(),
                                t.len()
                            ),
                        ));
                    }
                    for (n, v) in e.iter_mut().enumerate() {
                        *v = finite(format!("{f}.site_energy[{}]", n.min(z)), t[n.min(z)])?;
                    }
                }
            }
            energy.push(e);
            base.push(arrhenius_kt(p.prefactor_hz, p.barrier_ev, kt));
        }
        let mut d_minus = Box::new([0.0; Cell::TABLE_SIZE]);
        let mut d_plus = Box::new([0.0; Cell::TABLE_SIZE]);
        for (s, e) in energy.iter().enumerate().skip(1) {
            for n in 0..16usize {
                let b = Cell::new(s as Species, n as u8).table_index();
                d_minus[b] = if n > 0 { e[n - 1] - e[n] } else { 0.0 };
                d_plus[b] = if n < 15 { e[n + 1] - e[n] } else { 0.0 };
            }
        }
        Ok(CoordinationMetropolis {
            reads: class_reads(lattice),
            energy,
            d_minus,
            d_plus,
            base,
            boltzmann: Boltzmann::new(1.0 / kt),
        })
    }

    /// Calls `f(k, j, ΔE)` for every hop of the atom at `b` to an empty neighbour `j` (direction
    /// `k`). `at_nb(k)` gives the index of neighbour `k` (`usize::MAX` outside the lattice),
    /// `at_to(k, t)` the index of site `t` of hop `k`'s `only_to` list (likewise). ΔE =
    /// E(n_j − 1) − E(n_b) + [S⁻ − Σ_common d⁻] + Σ_only_to d⁺ with S⁻ = Σ d⁻ over all
    /// neighbours of `b`: the neighbours are read once per atom, and each hop reads only the
    /// sites next to its destination.
    #[inline(always)]
    fn visit<const CHECKED: bool>(
        &self,
        cells: &[Cell],
        b: &SiteRef,
        at_nb: impl Fn(usize) -> usize,
        at_to: impl Fn(usize, usize) -> usize,
        mut f: impl FnMut(usize, usize, f64),
    ) {
        let get = |i: usize| -> Cell {
            if CHECKED {
                if i == usize::MAX {
                    Cell::EMPTY
                } else {
                    cells[i]
                }
            } else {
                // SAFETY: unchecked readers are only built for sites whose reads all land in
                // the allocation (interior or wrap-fixed; see `visit_site`).
                unsafe { *cells.get_unchecked(i) }
            }
        };
        let cr = &self.reads[b.class as usize];
        let cb = cells[b.idx];
        let e = &self.energy[cb.species() as usize];
        let e_b = e[cb.coordination() as usize];
        let z = cr.neighbors.len();
        let mut nb = [Cell::EMPTY; 12];
        let mut dm = [0.0f64; 12];
        let mut s_minus = 0.0;
        for k in 0..z {
            let c = get(at_nb(k));
            nb[k] = c;
            dm[k] = self.d_minus[c.table_index()];
            s_minus += dm[k];
        }
        for k in 0..z {
            let c = nb[k];
            if c.occupied() {
                continue;
            }
            let j = at_nb(k);
            if CHECKED && j == usize::MAX {
                continue;
            }
            let h = &cr.hops[k];
            let mut from = s_minus;
            for &ci in &h.common[..h.n_common as usize] {
                from -= dm[ci as usize];
            }
            let mut de = e[c.coordination() as usize - 1] - e_b + from;
            for t in 0..h.n_to as usize {
                de += self.d_plus[get(at_to(k, t)).table_index()];
            }
            f(k, j, de);
        }
    }

    /// Evaluates the hops of `b` through the fastest reader that is valid for it.
    #[inline(always)]
    fn visit_site(&self, state: &State, b: &SiteRef, f: impl FnMut(usize, usize, f64)) {
        let cells = state.cells();
        let lat = state.lattice();
        let cr = &self.reads[b.class as usize];
        let base = b.idx as isize;
        if b.interior {
            let at = |o: &Read| (base + o.delta as isize) as usize;
            self.visit::<false>(
                cells,
                b,
                |k| at(&cr.neighbors[k]),
                |k, t| at(&cr.hops[k].only_to[t]),
                f,
            );
        } else if let Some(fix) = lat.wrap_fix(b) {
            let at =
                |o: &Read| (base + o.delta as isize + fix.of(o.dx as i32, o.dy as i32)) as usize;
            self.visit::<false>(
                cells,
                b,
                |k| at(&cr.neighbors[k]),
                |k, t| at(&cr.hops[k].only_to[t]),
                f,
            );
        } else {
            let t = lat.class_tables(b.class);
            let at = |o: &Offset| lat.index_at(b, o).unwrap_or(usize::MAX);
            self.visit::<true>(
                cells,
                b,
                |k| at(&t.neighbors[k]),
                |k, o| at(&t.hops[k].only_to[o]),
                f,
            );
        }
    }

    /// Energy change of the hop of `b` along neighbour direction `k`, or `None` if the
    /// destination is occupied or does not exist (tests and diagnostics).
    pub fn delta_e(&self, state: &State, b: &SiteRef, k: usize) -> Option<f64> {
        let mut out = None;
        self.visit_site(state, b, |kk, _, de| {
            if kk == k {
                out = Some(de);
            }
        });
        out
    }
}

impl RateModel for CoordinationMetropolis {
    fn name(&self) -> &'static str {
        "CoordinationMetropolis"
    }

    fn interaction_range(&self) -> usize {
        // A hop's ΔE reads coordinations of sites one step from the mover or its destination;
        // a coordination changes when a site one step away changes: 1 + 1 + 1 = 3.
        3
    }

    fn site_events(&mut self, state: &State, b: &SiteRef, out: &mut Vec<(Event, f64)>) {
        let base = self.base[state.species(b.idx) as usize];
        let mut hops = [(0usize, 0usize, 0.0f64); 12];
        let mut n = 0;
        self.visit_site(state, b, |k, j, de| {
            hops[n] = (k, j, de);
            n += 1;
        });
        for &(k, j, de) in &hops[..n] {
            out.push((
                Event::Hop {
                    from: b.idx,
                    to: j,
                    dir: k as u8,
                },
                self.boltzmann.rate(base, de),
            ));
        }
    }

    #[inline]
    fn site_rate(&mut self, state: &State, b: &SiteRef) -> f64 {
        let base = self.base[state.species(b.idx) as usize];
        let mut hops = [0.0f64; 12];
        let mut n = 0;
        self.visit_site(state, b, |_, _, de| {
            hops[n] = de;
            n += 1;
        });
        let mut sum = 0.0;
        for &de in &hops[..n] {
            sum += self.boltzmann.rate(base, de);
        }
        sum
    }
}
