//! The analytic EAM of X. W. Zhou, R. A. Johnson and H. N. G. Wadley, Phys. Rev. B 69, 144113
//! (2004), for its sixteen metals (FCC Cu, Ag, Au, Ni, Pd, Pt, Al, Pb; BCC Fe, Mo, Ta, W; HCP
//! Mg, Co, Ti, Zr) and any mixture of them; parameters in `data/zhou04.ron` (the paper's table).
//!
//! Cross pairs follow the paper's mixing rule
//! `φ_ab(r) = ½ [f_b(r)/f_a(r) φ_aa(r) + f_a(r)/f_b(r) φ_bb(r)]`.
//!
//! [`Zhou04`] evaluates the closed forms (and is itself a [`Potential`]); [`setfl`] tabulates them
//! with the conventions of the authors' tabulation tool as maintained in LAMMPS
//! (`tools/eam_database`, `create_eam.py`, the double-precision successor of `create.f`; built
//! with `gfortran -fdefault-real-8`, `create.f` gives the same tables to 1.2e-13 relative for the
//! sixteen metals, except F(0), below):
//! - `Nr = Nrho = 2000`;
//! - `r_cut = √10/2 · a_max = √5 · r_e,max`, `a_max` the largest `a0 = √2 · r_e` of the chosen
//!   elements (the fifth-neighbour distance of an FCC metal); the tool applies this rule to BCC
//!   and HCP metals too, and so does kmc; `dr = r_cut / (Nr − 1)`;
//! - f and r·φ at r < 0.5 Å are taken at r = 0.5 Å (including the factor r);
//! - `ρ_max = max(largest tabulated f, 2 · largest ρ_e, 100)`, `drho = ρ_max / (Nrho − 1)`;
//! - F(0) = 0 (as `create_eam.py`; `create.f` evaluates the polynomial there, ≤ 1e-6 eV);
//! - element lines `Z mass a0 fcc` with `a0 = √2 · r_e`, for every element, as the tool writes
//!   them (LAMMPS reads and ignores these two fields; [`Zhou04Element::ground_state`] holds the
//!   real structures).

use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;

use super::eam::kernel::{self, EamModel, Scratch};
use super::eam::{DEFAULT_PARALLEL_THRESHOLD, Setfl, SetflElement};
use super::{Configuration, Evaluation, NeighborList, Potential};
use crate::{Error, Result};

/// Crystal structure of an element at room temperature with its measured lattice constants, Å
/// (Kittel, Introduction to Solid State Physics, 8th ed., ch. 1, crystal structures of the
/// elements).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub enum GroundState {
    /// Face-centred cubic, cubic lattice constant `a`.
    Fcc {
        /// Cubic lattice constant, Å.
        a: f64,
    },
    /// Body-centred cubic, cubic lattice constant `a`.
    Bcc {
        /// Cubic lattice constant, Å.
        a: f64,
    },
    /// Hexagonal close-packed (ABAB stacking), basal constant `a` and height `c`.
    Hcp {
        /// In-plane lattice constant, Å.
        a: f64,
        /// Lattice constant along the six-fold axis, Å.
        c: f64,
    },
}

impl GroundState {
    /// Lower-case structure name: `fcc`, `bcc` or `hcp`.
    pub fn name(&self) -> &'static str {
        match self {
            GroundState::Fcc { .. } => "fcc",
            GroundState::Bcc { .. } => "bcc",
            GroundState::Hcp { .. } => "hcp",
        }
    }
}

/// Parameters of one element (names follow the paper; see `data/zhou04.ron` for the formulas).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Zhou04Element {
    /// Element symbol.
    pub name: String,
    /// Atomic number.
    pub atomic_number: u32,
    /// Atomic mass, amu.
    pub mass_amu: f64,
    /// Measured structure and lattice constants of the metal (not of the potential).
    pub ground_state: GroundState,
    /// Equilibrium nearest-neighbour distance r_e of the metal's own structure, Å.
    pub re: f64,
    /// Density prefactor f_e.
    pub fe: f64,
    /// Equilibrium density ρ_e.
    pub rho_e: f64,
    /// Density scale ρ_s of the high-density embedding branch.
    pub rho_s: f64,
    /// Repulsive exponent α.
    pub alpha: f64,
    /// Attractive (and density) exponent β.
    pub beta: f64,
    /// Repulsive prefactor A, eV.
    pub a: f64,
    /// Attractive prefactor B, eV.
    pub b: f64,
    /// Cut-off shift κ of the repulsive term.
    pub kappa: f64,
    /// Cut-off shift λ of the attractive term and of f.
    pub lambda: f64,
    /// F_n0 … F_n3: embedding polynomial below ρ_n, eV.
    #[serde(rename = "fn")]
    pub f_n: [f64; 4],
    /// F_0 … F_3: embedding polynomial between ρ_n and ρ_o, eV.
    #[serde(rename = "fm")]
    pub f_m: [f64; 4],
    /// Exponent η of the high-density branch.
    pub eta: f64,
    /// Prefactor F_e of the high-density branch, eV.
    pub f_e_high: f64,
    /// ρ_n / ρ_e.
    pub rho_low: f64,
    /// ρ_o / ρ_e.
    pub rho_high: f64,
}

impl Zhou04Element {
    /// FCC lattice constant with nearest-neighbour distance r_e, `a0 = √2 · r_e`, Å: the
    /// zero-pressure lattice constant of an FCC metal, and for every metal the `a0` by which the
    /// tabulation sets its cutoff. A BCC or HCP metal's lattice is in [`Self::ground_state`].
    pub fn lattice_constant(&self) -> f64 {
        2f64.sqrt() * self.re
    }

    /// `x / (1 + (r/re - s)^20)` factor and its log-derivative helper.
    #[inline]
    fn damped_exp(&self, pre: f64, k: f64, shift: f64, r: f64) -> (f64, f64) {
        let x = r / self.re;
        let e = pre * (-k * (x - 1.0)).exp();
        let t = x - shift;
        let t19 = t.powi(19);
        let den = 1.0 + t19 * t;
        let v = e / den;
        // d/dr [e / den] = v · (−k/re − 20 t^19 / (re · den))
        let dv = v * (-k / self.re - 20.0 * t19 / (self.re * den));
        (v, dv)
    }

    /// Electron density f(r) and f'(r).
    pub fn density(&self, r: f64) -> (f64, f64) {
        self.damped_exp(self.fe, self.beta, self.lambda, r)
    }

    /// Pair energy φ(r) and φ'(r) of two atoms of this element.
    pub fn pair(&self, r: f64) -> (f64, f64) {
        let (rep, drep) = self.damped_exp(self.a, self.alpha, self.kappa, r);
        let (att, datt) = self.damped_exp(self.b, self.beta, self.lambda, r);
        (rep - att, drep - datt)
    }

    /// Embedding energy F(ρ) and F'(ρ).
    pub fn embedding(&self, rho: f64) -> (f64, f64) {
        let rho_n = self.rho_low * self.rho_e;
        let rho_o = self.rho_high * self.rho_e;
        let poly = |c: &[f64; 4], scale: f64| {
            let t = rho / scale - 1.0;
            let v = c[0] + t * (c[1] + t * (c[2] + t * c[3]));
            let d = (c[1] + t * (2.0 * c[2] + t * 3.0 * c[3])) / scale;
            (v, d)
        };
        if rho < rho_n {
            poly(&self.f_n, rho_n)
        } else if rho < rho_o {
            poly(&self.f_m, self.rho_e)
        } else {
            let x = rho / self.rho_s;
            let xe = x.powf(self.eta);
            let lnx = x.ln();
            let v = self.f_e_high * (1.0 - self.eta * lnx) * xe;
            let d = -self.f_e_high * self.eta * self.eta * lnx * xe / rho;
            (v, d)
        }
    }
}

/// The sixteen elements of the parameter table, in the paper's order, parsed once.
pub fn table() -> &'static [Zhou04Element] {
    static TABLE: OnceLock<Vec<Zhou04Element>> = OnceLock::new();
    TABLE.get_or_init(|| {
        ron::from_str(include_str!("../../data/zhou04.ron"))
            .expect("data/zhou04.ron is part of the crate and parses (unit-tested)")
    })
}

/// The parameters of element `name`.
pub fn element(name: &str) -> Result<&'static Zhou04Element> {
    table().iter().find(|e| e.name == name).ok_or_else(|| {
        let known: Vec<&str> = table().iter().map(|e| e.name.as_str()).collect();
        Error::field(
            "zhou04.element",
            format!(
                "no Zhou 2004 parameters for `{name}`; known: {}",
                known.join(", ")
            ),
        )
    })
}

/// Grid sizes of a tabulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tabulation {
    /// Points of the r grid.
    pub nr: usize,
    /// Points of the ρ grid.
    pub nrho: usize,
}

impl Default for Tabulation {
    fn default() -> Self {
        Tabulation {
            nr: 2000,
            nrho: 2000,
        }
    }
}

/// Below this distance (Å) the tabulation holds f and r·φ constant, as the authors' tool does.
pub const R_START: f64 = 0.5;

/// The analytic Zhou 2004 EAM for a list of elements (species = position in the list).
#[derive(Debug, Clone)]
pub struct Zhou04 {
    params: Vec<Zhou04Element>,
    names: Vec<String>,
    masses: Vec<f64>,
    cutoff: f64,
    /// Atom count from which `compute` runs in parallel (see [`super::eam::Eam`]).
    pub parallel_threshold: usize,
    scratch: Scratch,
}

impl Zhou04 {
    /// The model for `elements` (e.g. `["Cu", "Ag"]`), with the cutoff of the tabulation:
    /// `√10/2 · a0` of the element with the largest lattice constant.
    pub fn new(elements: &[&str]) -> Result<Self> {
        if elements.is_empty() {
            return Err(Error::field(
                "zhou04.elements",
                "expected at least one element",
            ));
        }
        let mut params = Vec::with_capacity(elements.len());
        for (k, name) in elements.iter().enumerate() {
            if elements[..k].contains(name) {
                return Err(Error::field(
                    "zhou04.elements",
                    format!("`{name}` is listed twice"),
                ));
            }
            params.push(element(name)?.clone());
        }
        let a_max = params
            .iter()
            .map(|p| p.lattice_constant())
            .fold(0.0, f64::max);
        Ok(Zhou04 {
            names: params.iter().map(|p| p.name.clone()).collect(),
            masses: params.iter().map(|p| p.mass_amu).collect(),
            cutoff: 10f64.sqrt() / 2.0 * a_max,
            params,
            parallel_threshold: DEFAULT_PARALLEL_THRESHOLD,
            scratch: Scratch::default(),
        })
    }

    /// Parameters of species `s`.
    pub fn params(&self, s: usize) -> &Zhou04Element {
        &self.params[s]
    }

    /// Density f_s(r) and its derivative.
    pub fn density(&self, s: usize, r: f64) -> (f64, f64) {
        self.params[s].density(r)
    }

    /// Pair energy φ_ab(r) and its derivative, with the mixing rule for a ≠ b.
    pub fn pair(&self, a: usize, b: usize, r: f64) -> (f64, f64) {
        if a == b {
            return self.params[a].pair(r);
        }
        let (pa, pb) = (&self.params[a], &self.params[b]);
        let (fa, dfa) = pa.density(r);
        let (fb, dfb) = pb.density(r);
        let (phia, dphia) = pa.pair(r);
        let (phib, dphib) = pb.pair(r);
        let ra = fb / fa;
        let rb = fa / fb;
        let dra = (dfb * fa - fb * dfa) / (fa * fa);
        let drb = (dfa * fb - fa * dfb) / (fb * fb);
        (
            0.5 * (ra * phia + rb * phib),
            0.5 * (dra * phia + ra * dphia + drb * phib + rb * dphib),
        )
    }

    /// Embedding energy F_s(ρ) and its derivative.
    pub fn embedding(&self, s: usize, rho: f64) -> (f64, f64) {
        self.params[s].embedding(rho)
    }

    /// The setfl tables with the tool's conventions (module docs) on the grid `tab`.
    pub fn tabulate(&self, tab: Tabulation) -> Result<Setfl> {
        if tab.nr < 5 || tab.nrho < 5 {
            return Err(Error::field(
                "zhou04.tabulation",
                "expected at least 5 points per grid",
            ));
        }
        let rc = self.cutoff;
        let dr = rc / (tab.nr - 1) as f64;
        let r: Vec<f64> = (0..tab.nr)
            .map(|k| {
                let x = if k + 1 == tab.nr { rc } else { k as f64 * dr };
                x.max(R_START)
            })
            .collect();
        let n = self.params.len();
        let density: Vec<Vec<f64>> = (0..n)
            .map(|s| r.iter().map(|&x| self.density(s, x).0).collect())
            .collect();
        let mut pair = Vec::with_capacity(n * (n + 1) / 2);
        for a in 0..n {
            for b in 0..=a {
                pair.push(r.iter().map(|&x| x * self.pair(a, b, x).0).collect());
            }
        }
        let f_max = density
            .iter()
            .flatten()
            .fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        let rho_e_max = self.params.iter().map(|p| p.rho_e).fold(0.0, f64::max);
        let rho_max = f_max.max(2.0 * rho_e_max).max(100.0);
        let drho = rho_max / (tab.nrho - 1) as f64;
        let elements = self
            .params
            .iter()
            .zip(density)
            .map(|(p, density)| SetflElement {
                name: p.name.clone(),
                atomic_number: p.atomic_number,
                mass: p.mass_amu,
                lattice_constant: p.lattice_constant(),
                lattice: "fcc".to_string(),
                embedding: (0..tab.nrho)
                    .map(|k| {
                        if k == 0 {
                            0.0
                        } else {
                            let x = if k + 1 == tab.nrho {
                                rho_max
                            } else {
                                k as f64 * drho
                            };
                            p.embedding(x).0
                        }
                    })
                    .collect(),
                density,
            })
            .collect();
        Ok(Setfl {
            comments: [
                "Zhou, Johnson, Wadley, Phys. Rev. B 69, 144113 (2004): analytic EAM".to_string(),
                format!(
                    "tabulated by kmc: Nr = {}, Nrho = {}, r_cut = sqrt(10)/2 a0_max, rho_max = max(f_max, 2 rho_e_max, 100)",
                    tab.nr, tab.nrho
                ),
                format!("elements: {}", self.names.join(" ")),
            ],
            elements,
            nrho: tab.nrho,
            drho,
            nr: tab.nr,
            dr,
            cutoff: rc,
            pair,
        })
    }
}

/// The setfl of `elements` with the standard tabulation (2000 × 2000 points).
pub fn setfl(elements: &[&str]) -> Result<Setfl> {
    Zhou04::new(elements)?.tabulate(Tabulation::default())
}

/// Writes the standard setfl of `elements` to `path` (readable by `pair_style eam/alloy`).
pub fn write_setfl(elements: &[&str], path: impl AsRef<Path>) -> Result<()> {
    setfl(elements)?.write(path)
}

impl EamModel for Zhou04 {
    type At = f64;

    #[inline]
    fn cutoff_sq(&self) -> f64 {
        self.cutoff * self.cutoff
    }

    #[inline]
    fn locate(&self, r: f64) -> f64 {
        r
    }

    #[inline]
    fn density(&self, s: usize, r: f64) -> f64 {
        self.params[s].density(r).0
    }

    #[inline]
    fn density_deriv(&self, s: usize, r: f64) -> f64 {
        self.params[s].density(r).1
    }

    #[inline]
    fn pair(&self, a: usize, b: usize, r: f64, _dist: f64, _recip: f64) -> (f64, f64) {
        Zhou04::pair(self, a, b, r)
    }

    #[inline]
    fn pair_energy(&self, a: usize, b: usize, r: f64, _dist: f64, _recip: f64) -> f64 {
        Zhou04::pair(self, a, b, r).0
    }

    #[inline]
    fn embed(&self, s: usize, rho: f64) -> (f64, f64) {
        self.params[s].embedding(rho)
    }

    #[inline]
    fn n_species(&self) -> usize {
        self.params.len()
    }
}

impl Potential for Zhou04 {
    fn cutoff(&self) -> f64 {
        self.cutoff
    }

    fn elements(&self) -> &[String] {
        &self.names
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_parses_with_sixteen_metals() {
        let names: Vec<&str> = table().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Cu", "Ag", "Au", "Ni", "Pd", "Pt", "Al", "Pb", "Fe", "Mo", "Ta", "W", "Mg", "Co",
                "Ti", "Zr"
            ]
        );
        let structures: String = table()
            .iter()
            .map(|e| &e.ground_state.name()[..1])
            .collect();
        assert_eq!(structures, "ffffffffbbbbhhhh");
        let err = element("Cr").unwrap_err().to_string();
        assert!(err.contains("`Cr`") && err.contains("Ti, Zr"), "{err}");
    }

    #[test]
    fn measured_nearest_neighbour_distance_is_close_to_re() {
        // r_e is the nearest-neighbour distance of each metal's own structure: the measured
        // lattice constants (Kittel, room temperature, two or three digits) give it to 1.5 %.
        for e in table() {
            let nn = match e.ground_state {
                GroundState::Fcc { a } => a / 2f64.sqrt(),
                GroundState::Bcc { a } => a * 3f64.sqrt() / 2.0,
                // Mean of the six in-plane and six out-of-plane neighbours.
                GroundState::Hcp { a, c } => 0.5 * (a + (a * a / 3.0 + c * c / 4.0).sqrt()),
            };
            assert!(
                (nn / e.re - 1.0).abs() < 0.015,
                "{}: nearest neighbours at {nn} Å, r_e = {}",
                e.name,
                e.re
            );
        }
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let z = Zhou04::new(&["Cu", "Pt"]).unwrap();
        let h = 1e-6;
        for r in [1.8, 2.5, 3.3, 4.9] {
            for (a, b) in [(0, 0), (0, 1), (1, 1)] {
                let fd = (z.pair(a, b, r + h).0 - z.pair(a, b, r - h).0) / (2.0 * h);
                assert!((fd - z.pair(a, b, r).1).abs() < 1e-7, "phi' {a}{b} at {r}");
            }
            let fd = (z.density(1, r + h).0 - z.density(1, r - h).0) / (2.0 * h);
            assert!((fd - z.density(1, r).1).abs() < 1e-7);
        }
        for s in 0..2 {
            let rho_e = z.params(s).rho_e;
            for rho in [0.1 * rho_e, 0.6 * rho_e, 1.05 * rho_e, 1.6 * rho_e] {
                let fd = (z.embedding(s, rho + h).0 - z.embedding(s, rho - h).0) / (2.0 * h);
                assert!((fd - z.embedding(s, rho).1).abs() < 1e-7);
            }
        }
    }

    #[test]
    fn cross_pair_follows_the_mixing_rule() {
        let z = Zhou04::new(&["Ag", "Ni"]).unwrap();
        for r in [2.2, 2.9, 4.1] {
            let (fa, fb) = (z.density(0, r).0, z.density(1, r).0);
            let expected = 0.5 * (fb / fa * z.pair(0, 0, r).0 + fa / fb * z.pair(1, 1, r).0);
            assert!((z.pair(0, 1, r).0 - expected).abs() < 1e-15);
            assert_eq!(z.pair(0, 1, r), z.pair(1, 0, r));
        }
    }

    #[test]
    fn tabulation_conventions() {
        let s = setfl(&["Cu", "Ag"]).unwrap();
        // r_cut = √10/2 · a0(Ag), a0 = √2 r_e; 2000 × 2000 points; ρ_max = 100 here.
        let a_ag = 2f64.sqrt() * 2.891814;
        assert!((s.cutoff - 10f64.sqrt() / 2.0 * a_ag).abs() < 1e-12);
        assert_eq!((s.nr, s.nrho), (2000, 2000));
        assert!((s.dr - s.cutoff / 1999.0).abs() < 1e-15);
        assert!((s.drho - 100.0 / 1999.0).abs() < 1e-15);
        assert_eq!(s.elements[0].embedding[0], 0.0);
        // Below 0.5 Å the tables hold the 0.5 Å values (r·φ included).
        assert_eq!(
            s.elements[1].density[0],
            element("Ag").unwrap().density(R_START).0
        );
        assert_eq!(
            s.pair[0][0],
            R_START * element("Cu").unwrap().pair(R_START).0
        );
        assert!(Zhou04::new(&["Cu", "Cu"]).is_err());
        assert!(Zhou04::new(&[]).is_err());
    }
}
