//! Embedded-atom method potentials, evaluated exactly as LAMMPS's `pair_style eam` and
//! `pair_style eam/alloy` do.
//!
//! `E = Σ_i F_i(ρ_i) + ½ Σ_{i≠j} φ_ij(r_ij)` with `ρ_i = Σ_j f_j(r_ij)`, a pair counting only when
//! `r < r_cut` (strictly). The tabulated F, f and r·φ are interpolated with LAMMPS's cubic
//! scheme ([`Spline`]); an embedding density beyond the table continues F linearly, as LAMMPS
//! does. Energies therefore agree with LAMMPS to rounding, and forces are the exact gradient of
//! the interpolated energy.
//!
//! Files: [`Setfl`] (multi-element, `eam/alloy`) and [`Funcfl`] (single element, `eam`), read and
//! written in the layout LAMMPS reads.

mod funcfl;
pub(crate) mod kernel;
mod setfl;
mod spline;
mod text;

use std::path::Path;

pub use funcfl::{Funcfl, HARTREE_BOHR_EV_A};
pub use setfl::{Setfl, SetflElement};
pub use spline::{Knot, Spline};

use super::{Configuration, Evaluation, NeighborList, Potential};
use crate::{Error, Result};
use kernel::{EamModel, Scratch};

/// Default atom count above which [`Eam::compute`](Potential::compute) runs in parallel.
pub const DEFAULT_PARALLEL_THRESHOLD: usize = 4096;

/// A tabulated EAM potential, splined as LAMMPS splines it.
///
/// [`Potential::compute`] takes a half list and runs serially below
/// [`Eam::parallel_threshold`] atoms; above it, the atoms are cut into a fixed number of chunks
/// (set by the atom count alone) evaluated with rayon, so results are bitwise identical for any
/// number of threads (they differ from the single-chunk serial sums only by rounding, ~1e-16
/// relative). Species bytes must be below `elements().len()`, and the list must be built for
/// the same atoms; otherwise `compute` panics (these are programming errors, not input errors).
#[derive(Debug, Clone)]
pub struct Eam {
    elements: Vec<String>,
    masses: Vec<f64>,
    cutoff: f64,
    cutoff_sq: f64,
    nr: usize,
    dr: f64,
    rdr: f64,
    nrho: usize,
    drho: f64,
    rdrho: f64,
    /// Beyond this density F continues linearly (LAMMPS's `rhomax`).
    rhomax: f64,
    /// F(ρ) per element.
    frho: Vec<Spline>,
    /// f(r) per element (the density an atom of that element produces).
    rhor: Vec<Spline>,
    /// r·φ(r) per unordered element pair.
    z2r: Vec<Spline>,
    /// `pair_of[a * n + b]`: index into `z2r`.
    pair_of: Vec<usize>,
    /// Atom count from which `compute` uses the chunked, rayon-parallel path
    /// (`usize::MAX`: always serial). Results are identical for any number of threads.
    pub parallel_threshold: usize,
    scratch: Scratch,
}

impl Eam {
    /// The potential of a setfl table (as `pair_style eam/alloy` with every element mapped).
    pub fn from_setfl(setfl: &Setfl) -> Result<Self> {
        setfl.validate()?;
        let n_el = setfl.elements.len();
        if n_el > u8::MAX as usize + 1 {
            return Err(Error::field(
                "setfl.elements",
                "at most 256 elements (species are bytes)",
            ));
        }
        let frho = setfl
            .elements
            .iter()
            .map(|e| Spline::new(&e.embedding, setfl.drho))
            .collect();
        let rhor = setfl
            .elements
            .iter()
            .map(|e| Spline::new(&e.density, setfl.dr))
            .collect();
        let z2r = setfl
            .pair
            .iter()
            .map(|p| Spline::new(p, setfl.dr))
            .collect();
        Ok(Self::assemble(
            setfl.elements.iter().map(|e| e.name.clone()).collect(),
            setfl.elements.iter().map(|e| e.mass).collect(),
            setfl.cutoff,
            (setfl.nr, setfl.dr),
            (setfl.nrho, setfl.drho),
            (setfl.nrho - 1) as f64 * setfl.drho,
            frho,
            rhor,
            z2r,
        ))
    }

    /// The potential of one or more funcfl tables, each naming one element (as
    /// `pair_style eam` with one file per atom type).
    ///
    /// Like LAMMPS, the tables are first resampled onto one common grid (the largest spacings
    /// and ranges of all files, with four-point Lagrange interpolation, which leaves a single
    /// file's values unchanged but drops its last grid point), and the cross pair
    /// interactions are `φ_ab = 27.2 · 0.529 · Z_a Z_b / r`.
    pub fn from_funcfl(files: &[(&str, &Funcfl)]) -> Result<Self> {
        if files.is_empty() {
            return Err(Error::field("funcfl", "expected at least one file"));
        }
        if files.len() > u8::MAX as usize + 1 {
            return Err(Error::field("funcfl", "at most 256 elements"));
        }
        for (_, f) in files {
            f.validate()?;
        }
        let (mut dr, mut drho, mut rmax, mut rhomax, mut cutoff) =
            (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for (_, f) in files {
            dr = dr.max(f.dr);
            drho = drho.max(f.drho);
            rmax = rmax.max((f.density.len() - 1) as f64 * f.dr);
            rhomax = rhomax.max((f.embedding.len() - 1) as f64 * f.drho);
            cutoff = cutoff.max(f.cutoff);
        }
        // LAMMPS: `nr = static_cast<int>(rmax / dr + 0.5)`, one point fewer than the file.
        let nr = (rmax / dr + 0.5) as usize;
        let nrho = (rhomax / drho + 0.5) as usize;
        if nr < 5 || nrho < 5 {
            return Err(Error::field(
                "funcfl",
                "grids too short after resampling (need at least 6 points)",
            ));
        }
        let frho = files
            .iter()
            .map(|(_, f)| Spline::new(&resample(&f.embedding, f.drho, nrho, drho), drho))
            .collect();
        let rhor = files
            .iter()
            .map(|(_, f)| Spline::new(&resample(&f.density, f.dr, nr, dr), dr))
            .collect();
        let z: Vec<Vec<f64>> = files
            .iter()
            .map(|(_, f)| resample(&f.charge, f.dr, nr, dr))
            .collect();
        let mut z2r = Vec::new();
        for i in 0..files.len() {
            for j in 0..=i {
                let v: Vec<f64> = z[i]
                    .iter()
                    .zip(&z[j])
                    .map(|(zi, zj)| HARTREE_BOHR_EV_A * zi * zj)
                    .collect();
                z2r.push(Spline::new(&v, dr));
            }
        }
        Ok(Self::assemble(
            files.iter().map(|(n, _)| n.to_string()).collect(),
            files.iter().map(|(_, f)| f.mass).collect(),
            cutoff,
            (nr, dr),
            (nrho, drho),
            rhomax,
            frho,
            rhor,
            z2r,
        ))
    }

    /// Reads a setfl file (`pair_style eam/alloy`).
    pub fn read_setfl(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Self::from_setfl(&Setfl::read(path)?).map_err(|e| e.in_file(path))
    }

    /// Reads a funcfl file (`pair_style eam`) for one element named `element`.
    pub fn read_funcfl(path: impl AsRef<Path>, element: &str) -> Result<Self> {
        let path = path.as_ref();
        Self::from_funcfl(&[(element, &Funcfl::read(path)?)]).map_err(|e| e.in_file(path))
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        elements: Vec<String>,
        masses: Vec<f64>,
        cutoff: f64,
        (nr, dr): (usize, f64),
        (nrho, drho): (usize, f64),
        rhomax: f64,
        frho: Vec<Spline>,
        rhor: Vec<Spline>,
        z2r: Vec<Spline>,
    ) -> Self {
        let n = elements.len();
        let mut pair_of = vec![0; n * n];
        for a in 0..n {
            for b in 0..n {
                pair_of[a * n + b] = Setfl::pair_index(a, b);
            }
        }
        Eam {
            elements,
            masses,
            cutoff,
            cutoff_sq: cutoff * cutoff,
            nr,
            dr,
            rdr: 1.0 / dr,
            nrho,
            drho,
            rdrho: 1.0 / drho,
            rhomax,
            frho,
            rhor,
            z2r,
            pair_of,
            parallel_threshold: DEFAULT_PARALLEL_THRESHOLD,
            scratch: Scratch::default(),
        }
    }

    /// Index of element `name`, if present.
    pub fn species_of(&self, name: &str) -> Option<u8> {
        self.elements
            .iter()
            .position(|e| e == name)
            .map(|k| k as u8)
    }

    /// Interpolated embedding energy F_s(ρ) and F'(ρ), continued linearly beyond the table.
    pub fn embedding(&self, s: usize, rho: f64) -> (f64, f64) {
        EamModel::embed(self, s, rho)
    }

    /// Interpolated density f_s(r) and f'(r) an atom of species `s` produces at distance `r`
    /// (no cutoff applied).
    pub fn density(&self, s: usize, r: f64) -> (f64, f64) {
        let at = self.locate(r);
        (EamModel::density(self, s, at), self.density_deriv(s, at))
    }

    /// Interpolated pair energy φ_ab(r) and φ'(r) (no cutoff applied).
    pub fn pair(&self, a: usize, b: usize, r: f64) -> (f64, f64) {
        EamModel::pair(self, a, b, self.locate(r), r, 1.0 / r)
    }

    /// The r grid `(Nr, dr)` of the splines.
    pub fn r_grid(&self) -> (usize, f64) {
        (self.nr, self.dr)
    }

    /// The ρ grid `(Nrho, drho)` of the splines, and the density beyond which F is linear.
    pub fn rho_grid(&self) -> (usize, f64, f64) {
        (self.nrho, self.drho, self.rhomax)
    }
}

/// LAMMPS's `file2array` resampling of a funcfl table onto `n` points of spacing `delta`: a
/// four-point Lagrange interpolation in the file's grid (`values` at spacing `file_delta`).
fn resample(values: &[f64], file_delta: f64, n: usize, delta: f64) -> Vec<f64> {
    let sixth = 1.0 / 6.0;
    // LAMMPS indexes from 1; `f(k)` is its `file->frho[k]`.
    let f = |k: usize| values[k - 1];
    let nf = values.len();
    (1..=n)
        .map(|m| {
            let r = (m - 1) as f64 * delta;
            let mut p = r / file_delta + 1.0;
            let k = (p as usize).min(nf - 2).max(2);
            p -= k as f64;
            p = p.min(2.0);
            let cof1 = -sixth * p * (p - 1.0) * (p - 2.0);
            let cof2 = 0.5 * (p * p - 1.0) * (p - 2.0);
            let cof3 = -0.5 * p * (p + 1.0) * (p - 2.0);
            let cof4 = sixth * p * (p * p - 1.0);
            cof1 * f(k - 1) + cof2 * f(k) + cof3 * f(k + 1) + cof4 * f(k + 2)
        })
        .collect()
}

impl EamModel for Eam {
    type At = (usize, f64);

    #[inline(always)]
    fn cutoff_sq(&self) -> f64 {
        self.cutoff_sq
    }

    #[inline(always)]
    fn locate(&self, r: f64) -> (usize, f64) {
        // Bit for bit LAMMPS: p = r·rdr + 1, m = (int) p capped at nr - 1, p -= m, p ≤ 1.
        let mut p = r * self.rdr + 1.0;
        let m = (p as usize).min(self.nr - 1);
        p -= m as f64;
        (m, p.min(1.0))
    }

    #[inline(always)]
    fn density(&self, s: usize, (m, p): (usize, f64)) -> f64 {
        self.rhor[s].value(m, p)
    }

    #[inline(always)]
    fn density_deriv(&self, s: usize, (m, p): (usize, f64)) -> f64 {
        self.rhor[s].derivative(m, p)
    }

    #[inline(always)]
    fn pair(&self, a: usize, b: usize, (m, p): (usize, f64), _r: f64, recip: f64) -> (f64, f64) {
        let (z2, z2p) = self.z2r[self.pair_of[a * self.elements.len() + b]].both(m, p);
        let phi = z2 * recip;
        (phi, z2p * recip - phi * recip)
    }

    #[inline(always)]
    fn pair_energy(&self, a: usize, b: usize, (m, p): (usize, f64), _r: f64, recip: f64) -> f64 {
        self.z2r[self.pair_of[a * self.elements.len() + b]].value(m, p) * recip
    }

    #[inline(always)]
    fn embed(&self, s: usize, rho: f64) -> (f64, f64) {
        let mut p = rho * self.rdrho + 1.0;
        let m = (p as i64).clamp(1, self.nrho as i64 - 1) as usize;
        p -= m as f64;
        p = p.min(1.0);
        let (mut f, fp) = self.frho[s].both(m, p);
        if rho > self.rhomax {
            f += fp * (rho - self.rhomax);
        }
        (f, fp)
    }

    #[inline(always)]
    fn n_species(&self) -> usize {
        self.elements.len()
    }
}

impl Potential for Eam {
    fn cutoff(&self) -> f64 {
        self.cutoff
    }

    fn elements(&self) -> &[String] {
        &self.elements
    }

    fn masses(&self) -> &[f64] {
        &self.masses
    }

    fn compute(
        &self,
        conf: &Configuration<'_>,
        neighbors: &NeighborList,
        per_atom: bool,
        out: &mut Evaluation,
    ) {
        kernel::compute(
            self,
            conf,
            neighbors,
            per_atom,
            out,
            &self.scratch,
            self.parallel_threshold,
        );
    }

    fn site_energies(
        &self,
        conf: &Configuration<'_>,
        neighbors: &NeighborList,
        which: &[u32],
        out: &mut [f64],
    ) {
        kernel::site_energies(self, conf, neighbors, which, out);
    }
}
