//! The EAM energy/force kernel, generic over how the functions F, f and φ are evaluated
//! (LAMMPS splines for [`super::Eam`], closed forms for the analytic Zhou 2004 model).
//!
//! `compute` follows LAMMPS's `PairEAM::compute` on a half list: a density pass (each pair adds
//! to both atoms), an embedding pass (F(ρ_i) and F'(ρ_i)), and a force pass. Unlike LAMMPS, the
//! density pass also evaluates everything of a pair that does not depend on F' (1/r, df/dr, φ
//! and dφ/dr) and records it, 40 bytes per pair within the cutoff; the force pass then streams
//! through those records instead of filtering the list by distance again, taking square roots
//! and evaluating tables (about 25 % less time per step on the 32,000-atom Cu benchmark; forces,
//! energy and virial bit for bit as before, per-atom energies of the serial path summed in
//! another order). Above a size
//! threshold the atoms are cut into a fixed number of chunks that depends only on the number of
//! atoms; each chunk scatters into its own buffers, which are summed in chunk order, so the
//! result does not depend on the number of threads or on scheduling.

use std::sync::Mutex;

use rayon::prelude::*;

use crate::md::{Configuration, Evaluation, NeighborEntry, NeighborList};

/// How an EAM model evaluates its functions. `At` caches what the functions of one pair
/// distance share (for splines: interval index and fraction).
pub(crate) trait EamModel: Sync {
    type At: Copy;
    /// Squared cutoff: pairs count only when r² < this.
    fn cutoff_sq(&self) -> f64;
    fn locate(&self, r: f64) -> Self::At;
    /// Density contributed at distance r by an atom of species `s`.
    fn density(&self, s: usize, at: Self::At) -> f64;
    /// Its derivative with respect to r.
    fn density_deriv(&self, s: usize, at: Self::At) -> f64;
    /// Pair energy φ_ab(r) and dφ/dr, given r and 1/r.
    fn pair(&self, a: usize, b: usize, at: Self::At, r: f64, recip: f64) -> (f64, f64);
    /// Pair energy only.
    fn pair_energy(&self, a: usize, b: usize, at: Self::At, r: f64, recip: f64) -> f64;
    /// Embedding energy F_s(ρ) and dF/dρ.
    fn embed(&self, s: usize, rho: f64) -> (f64, f64);
    /// Number of species.
    fn n_species(&self) -> usize;
}

/// Runs `$body` with the const `$single` bound to whether the model has one species.
macro_rules! with_single {
    ($model:expr, $single:ident, $body:expr) => {
        if $model.n_species() == 1 {
            const $single: bool = true;
            $body
        } else {
            const $single: bool = false;
            $body
        }
    };
}

/// Chunks of the parallel path: fixed by the atom count (never by the thread count) so that
/// results are reproducible bit for bit on any machine.
const MAX_CHUNKS: usize = 8;
const ATOMS_PER_CHUNK: usize = 2048;
/// Atoms per block when summing the chunk buffers.
const REDUCE_BLOCK: usize = 4096;

#[derive(Default)]
struct ChunkBuffer {
    rho: Vec<f64>,
    forces: Vec<[f64; 3]>,
    per_atom: Vec<f64>,
    pairs: PairTerms,
    energy: f64,
    virial: [f64; 6],
}

#[derive(Default)]
pub(crate) struct Buffers {
    rho: Vec<f64>,
    fp: Vec<f64>,
    pairs: PairTerms,
    chunks: Vec<ChunkBuffer>,
}

/// Reusable work arrays (kept between calls to avoid allocating per MD step).
#[derive(Default)]
pub(crate) struct Scratch(Mutex<Buffers>);

impl Clone for Scratch {
    fn clone(&self) -> Self {
        Scratch::default()
    }
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scratch")
    }
}

#[inline(always)]
fn delta(xi: &[f64; 3], xj: &[f64; 3], image: [i8; 3], l: &[f64; 3]) -> [f64; 3] {
    [
        xj[0] + image[0] as f64 * l[0] - xi[0],
        xj[1] + image[1] as f64 * l[1] - xi[1],
        xj[2] + image[2] as f64 * l[2] - xi[2],
    ]
}

/// What the force pass needs of one pair inside the cutoff, recorded by the density pass so
/// that the force pass evaluates no table and takes no square root or division: it only
/// rebuilds the displacement and combines these with F'(ρ). 40 bytes per pair (the
/// displacement is recomputed rather than stored: the records stream through memory, the
/// positions stay in cache).
#[derive(Clone, Copy)]
struct PairTerm {
    e: NeighborEntry,
    recip: f64,
    /// df/dr of the density atom i produces (felt by j) and of the one j produces (felt by i).
    rhoip: f64,
    rhojp: f64,
    /// dφ/dr.
    phip: f64,
}

/// The pair terms of a run of atoms: `terms[starts[k] .. starts[k + 1]]` belong to the k-th.
#[derive(Default)]
struct PairTerms {
    terms: Vec<PairTerm>,
    starts: Vec<u32>,
}

/// Density pass over the pairs owned by atoms `range`: adds each pair's density to both atoms'
/// `rho`, sums the pair energy into `e_pair` (and its halves into `per_atom` if `PER_ATOM`), and
/// records the pair's [`PairTerm`].
/// `SINGLE`: one species only, so both atoms of a pair receive the same density and the species
/// array need not be read (half the table look-ups of the general case).
#[allow(clippy::too_many_arguments)]
fn density_pass<M: EamModel, const SINGLE: bool, const PER_ATOM: bool>(
    model: &M,
    conf: &Configuration<'_>,
    nl: &NeighborList,
    range: std::ops::Range<usize>,
    rho: &mut [f64],
    per_atom: &mut [f64],
    e_pair: &mut f64,
    out: &mut PairTerms,
) {
    let rc2 = model.cutoff_sq();
    let pos = conf.positions;
    let species = conf.species;
    let l = &conf.simbox.lengths;
    let PairTerms { terms, starts } = out;
    terms.clear();
    starts.clear();
    starts.reserve(range.len() + 1);
    starts.push(0);
    let mut energy = 0.0;
    for i in range {
        let xi = &pos[i];
        let si = if SINGLE { 0 } else { species[i] as usize };
        let mut acc = 0.0;
        let mut ei = 0.0;
        for e in nl.of(i) {
            let j = e.j as usize;
            let d = delta(xi, &pos[j], e.image, l);
            let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            if r2 < rc2 {
                let sj = if SINGLE { 0 } else { species[j] as usize };
                let r = r2.sqrt();
                let recip = 1.0 / r;
                let at = model.locate(r);
                if SINGLE {
                    let v = model.density(0, at);
                    acc += v;
                    rho[j] += v;
                } else {
                    acc += model.density(sj, at);
                    rho[j] += model.density(si, at);
                }
                // rhoip: density at j due to i; rhojp: density at i due to j (LAMMPS names).
                let rhoip = model.density_deriv(si, at);
                let rhojp = if SINGLE {
                    rhoip
                } else {
                    model.density_deriv(sj, at)
                };
                let (phi, phip) = model.pair(si, sj, at, r, recip);
                energy += phi;
                if PER_ATOM {
                    ei += 0.5 * phi;
                    per_atom[j] += 0.5 * phi;
                }
                terms.push(PairTerm {
                    e: *e,
                    recip,
                    rhoip,
                    rhojp,
                    phip,
                });
            }
        }
        rho[i] += acc;
        if PER_ATOM {
            per_atom[i] += ei;
        }
        starts.push(terms.len() as u32);
    }
    *e_pair += energy;
}

/// Embedding energies of atoms `offset ..`: fills `fp`, adds F to `per_atom` and returns ΣF.
fn embed_pass<M: EamModel>(
    model: &M,
    species: &[u8],
    offset: usize,
    rho: &[f64],
    fp: &mut [f64],
    mut per_atom: Option<&mut [f64]>,
) -> f64 {
    let mut energy = 0.0;
    for k in 0..rho.len() {
        let (f, d) = model.embed(species[offset + k] as usize, rho[k]);
        fp[k] = d;
        energy += f;
        if let Some(pa) = per_atom.as_deref_mut() {
            pa[k] += f;
        }
    }
    energy
}

/// Forces and virial of the pairs the density pass recorded for atoms `range`.
fn force_pass(
    conf: &Configuration<'_>,
    range: std::ops::Range<usize>,
    fp: &[f64],
    pairs: &PairTerms,
    forces: &mut [[f64; 3]],
    virial: &mut [f64; 6],
) {
    let pos = conf.positions;
    let l = &conf.simbox.lengths;
    let mut w = [0.0f64; 6];
    let PairTerms { terms, starts } = pairs;
    for (k, i) in range.enumerate() {
        let xi = &pos[i];
        let fpi = fp[i];
        let mut fi = [0.0f64; 3];
        for t in &terms[starts[k] as usize..starts[k + 1] as usize] {
            let j = t.e.j as usize;
            let psip = fpi * t.rhojp + fp[j] * t.rhoip + t.phip;
            // -dE/dr / r: positive when repulsive; d points from i to j.
            let fpair = -psip * t.recip;
            let d = delta(xi, &pos[j], t.e.image, l);
            let f = [fpair * d[0], fpair * d[1], fpair * d[2]];
            fi[0] -= f[0];
            fi[1] -= f[1];
            fi[2] -= f[2];
            let fj = &mut forces[j];
            fj[0] += f[0];
            fj[1] += f[1];
            fj[2] += f[2];
            w[0] += f[0] * d[0];
            w[1] += f[1] * d[1];
            w[2] += f[2] * d[2];
            w[3] += f[0] * d[1];
            w[4] += f[0] * d[2];
            w[5] += f[1] * d[2];
        }
        let fo = &mut forces[i];
        fo[0] += fi[0];
        fo[1] += fi[1];
        fo[2] += fi[2];
    }
    for k in 0..6 {
        virial[k] += w[k];
    }
}

/// Runs the density pass with the const flags bound from `single` and `per_atom`.
#[allow(clippy::too_many_arguments)]
fn density_dispatch<M: EamModel>(
    model: &M,
    conf: &Configuration<'_>,
    nl: &NeighborList,
    range: std::ops::Range<usize>,
    rho: &mut [f64],
    per_atom: &mut [f64],
    e_pair: &mut f64,
    out: &mut PairTerms,
) {
    let pa = !per_atom.is_empty();
    with_single!(model, SINGLE, {
        if pa {
            density_pass::<M, SINGLE, true>(model, conf, nl, range, rho, per_atom, e_pair, out)
        } else {
            density_pass::<M, SINGLE, false>(model, conf, nl, range, rho, per_atom, e_pair, out)
        }
    })
}

/// Energy, forces, virial (and per-atom energies) on a half list.
pub(crate) fn compute<M: EamModel>(
    model: &M,
    conf: &Configuration<'_>,
    nl: &NeighborList,
    per_atom: bool,
    out: &mut Evaluation,
    scratch: &Scratch,
    parallel_threshold: usize,
) {
    debug_assert!(nl.half, "EAM compute needs a half neighbour list");
    let n = conf.positions.len();
    assert_eq!(
        nl.n_atoms(),
        n,
        "neighbour list built for another number of atoms"
    );
    assert_eq!(conf.species.len(), n, "one species per atom");
    out.energy = 0.0;
    out.virial = [0.0; 6];
    out.forces.clear();
    out.forces.resize(n, [0.0; 3]);
    out.per_atom.clear();
    if per_atom {
        out.per_atom.resize(n, 0.0);
    }
    let mut fresh = Buffers::default();
    let mut guard = scratch.0.try_lock();
    let buf: &mut Buffers = match guard.as_deref_mut() {
        Ok(b) => b,
        Err(_) => &mut fresh,
    };
    let n_chunks = if n >= parallel_threshold.max(2) {
        n.div_ceil(ATOMS_PER_CHUNK).clamp(2, MAX_CHUNKS)
    } else {
        1
    };
    if n_chunks == 1 {
        compute_serial(model, conf, nl, out, buf);
    } else {
        compute_chunked(model, conf, nl, out, buf, n_chunks);
    }
}

fn compute_serial<M: EamModel>(
    model: &M,
    conf: &Configuration<'_>,
    nl: &NeighborList,
    out: &mut Evaluation,
    buf: &mut Buffers,
) {
    let n = conf.positions.len();
    let Buffers { rho, fp, pairs, .. } = buf;
    rho.clear();
    rho.resize(n, 0.0);
    fp.clear();
    fp.resize(n, 0.0);
    let mut e_pair = 0.0;
    density_dispatch(
        model,
        conf,
        nl,
        0..n,
        rho,
        &mut out.per_atom,
        &mut e_pair,
        pairs,
    );
    let per_atom = !out.per_atom.is_empty();
    let e_embed = embed_pass(
        model,
        conf.species,
        0,
        rho,
        fp,
        per_atom.then_some(&mut out.per_atom[..]),
    );
    force_pass(conf, 0..n, fp, pairs, &mut out.forces, &mut out.virial);
    out.energy = e_embed + e_pair;
}

fn compute_chunked<M: EamModel>(
    model: &M,
    conf: &Configuration<'_>,
    nl: &NeighborList,
    out: &mut Evaluation,
    buf: &mut Buffers,
    n_chunks: usize,
) {
    let n = conf.positions.len();
    let size = n.div_ceil(n_chunks);
    let per_atom = !out.per_atom.is_empty();
    let Buffers {
        rho, fp, chunks, ..
    } = buf;
    if chunks.len() < n_chunks {
        chunks.resize_with(n_chunks, ChunkBuffer::default);
    }
    let chunks = &mut chunks[..n_chunks];
    let range = |c: usize| (c * size).min(n)..((c + 1) * size).min(n);

    chunks.par_iter_mut().enumerate().for_each(|(c, ch)| {
        ch.rho.clear();
        ch.rho.resize(n, 0.0);
        ch.per_atom.clear();
        if per_atom {
            ch.per_atom.resize(n, 0.0);
        }
        ch.energy = 0.0;
        density_dispatch(
            model,
            conf,
            nl,
            range(c),
            &mut ch.rho,
            &mut ch.per_atom,
            &mut ch.energy,
            &mut ch.pairs,
        );
    });
    rho.clear();
    rho.resize(n, 0.0);
    rho.par_chunks_mut(REDUCE_BLOCK)
        .enumerate()
        .for_each(|(b, block)| {
            let off = b * REDUCE_BLOCK;
            for ch in chunks.iter() {
                for (v, x) in block.iter_mut().zip(&ch.rho[off..]) {
                    *v += x;
                }
            }
        });

    fp.clear();
    fp.resize(n, 0.0);
    let e_embed: Vec<f64> = if per_atom {
        fp.par_chunks_mut(size)
            .zip(rho.par_chunks(size))
            .zip(out.per_atom.par_chunks_mut(size))
            .enumerate()
            .map(|(c, ((fp, rho), pa))| {
                embed_pass(model, conf.species, c * size, rho, fp, Some(pa))
            })
            .collect()
    } else {
        fp.par_chunks_mut(size)
            .zip(rho.par_chunks(size))
            .enumerate()
            .map(|(c, (fp, rho))| embed_pass(model, conf.species, c * size, rho, fp, None))
            .collect()
    };

    let fp = &fp[..];
    chunks.par_iter_mut().enumerate().for_each(|(c, ch)| {
        ch.forces.clear();
        ch.forces.resize(n, [0.0; 3]);
        ch.virial = [0.0; 6];
        force_pass(
            conf,
            range(c),
            fp,
            &ch.pairs,
            &mut ch.forces,
            &mut ch.virial,
        );
    });
    let chunks = &*chunks;
    out.forces
        .par_chunks_mut(REDUCE_BLOCK)
        .enumerate()
        .for_each(|(b, block)| {
            let off = b * REDUCE_BLOCK;
            for ch in chunks {
                for (v, x) in block.iter_mut().zip(&ch.forces[off..]) {
                    v[0] += x[0];
                    v[1] += x[1];
                    v[2] += x[2];
                }
            }
        });
    if per_atom {
        out.per_atom
            .par_chunks_mut(REDUCE_BLOCK)
            .enumerate()
            .for_each(|(b, block)| {
                let off = b * REDUCE_BLOCK;
                for ch in chunks {
                    for (v, x) in block.iter_mut().zip(&ch.per_atom[off..]) {
                        *v += x;
                    }
                }
            });
    }
    let mut energy = 0.0;
    for e in &e_embed {
        energy += e;
    }
    for ch in chunks {
        energy += ch.energy;
        for k in 0..6 {
            out.virial[k] += ch.virial[k];
        }
    }
    out.energy = energy;
}

/// Per-site energies `e_i = F(ρ_i) + ½ Σ_j φ_ij` of the atoms in `which`, on a full list.
pub(crate) fn site_energies<M: EamModel>(
    model: &M,
    conf: &Configuration<'_>,
    nl: &NeighborList,
    which: &[u32],
    out: &mut [f64],
) {
    debug_assert!(!nl.half, "EAM site_energies needs a full neighbour list");
    let rc2 = model.cutoff_sq();
    let pos = conf.positions;
    let species = conf.species;
    let l = &conf.simbox.lengths;
    for (slot, &i) in out.iter_mut().zip(which) {
        let i = i as usize;
        let xi = &pos[i];
        let si = species[i] as usize;
        let mut rho = 0.0;
        let mut pair = 0.0;
        for e in nl.of(i) {
            let j = e.j as usize;
            let d = delta(xi, &pos[j], e.image, l);
            let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            if r2 < rc2 {
                let sj = species[j] as usize;
                let r = r2.sqrt();
                let at = model.locate(r);
                rho += model.density(sj, at);
                pair += model.pair_energy(si, sj, at, r, 1.0 / r);
            }
        }
        *slot = model.embed(si, rho).0 + 0.5 * pair;
    }
}
