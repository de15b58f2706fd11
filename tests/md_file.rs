//! `kmc md` from a file (issue 13, item 6): LAMMPS data files read and written, structures read
//! from extended XYZ and data files reproduce built ones, two particles at their own lattice
//! constants, minimisation to a force-norm tolerance, momentum zeroing in a run, and bad input
//! with file, line and field.

use std::path::{Path, PathBuf};

use kmc::io::frame::{Format, Frame as IoFrame};
use kmc::io::lammps_data;
use kmc::md::Potential;
use kmc::md::minimize::{self, FireOptions, ForceNorm};
use kmc::md::system::System;
use kmc::rng::rng_from_seed;
use kmc::scenario::md::{MdScenario, load_md_scenario, parse_md_scenario};
use kmc::sim::md::{build_structure_at, run_md_scenario};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn data_dir() -> PathBuf {
    root().join("tests/data/lammps_data")
}

/// The scenario at `scenarios/<name>` and its built structure.
fn built(name: &str) -> (MdScenario, Box<dyn Potential>, System) {
    let path = root().join("scenarios").join(name);
    let sc = load_md_scenario(&path).unwrap();
    let pot = sc.potential.build(path.parent().unwrap()).unwrap();
    let mut rng = rng_from_seed(sc.seed);
    let s = build_structure_at(
        &sc.structure,
        pot.as_ref(),
        path.parent().unwrap(),
        &mut rng,
    )
    .unwrap();
    (sc, pot, s)
}

/// An io frame of a system (shortest round-trip numbers, so files reproduce it exactly).
fn frame_of(s: &System) -> IoFrame {
    IoFrame {
        lengths: s.simbox.lengths,
        pbc: s.simbox.periodic,
        names: s.elements.clone(),
        types: s.species.iter().map(|&t| u32::from(t)).collect(),
        positions: s.positions.clone(),
        velocities: Some(s.velocities.clone()),
        format: Format::default(),
        ..IoFrame::default()
    }
}

/// `text` with the scenario's structure replaced by `structure`.
fn with_structure(text: &str, structure: &str) -> String {
    let start = text.find("structure:").unwrap();
    let end = start + text[start..].find("\n    ),\n").unwrap() + "\n    ),\n".len();
    format!(
        "{}structure: {structure},\n{}",
        &text[..start],
        &text[end..]
    )
}

// ---------------------------------------------------------------- data files

#[test]
fn malformed_data_files_give_the_expected_errors() {
    let mut checked = 0;
    let mut entries: Vec<_> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("bad_") && name.ends_with(".data")) {
            continue;
        }
        let expected = std::fs::read_to_string(path.with_extension("expected"))
            .unwrap_or_else(|_| panic!("{name} needs its .expected file"));
        let mut lines = expected.lines();
        let line = lines.next().unwrap().strip_prefix("line ").unwrap();
        let message = lines.next().unwrap();
        let e = lammps_data::read(&path).unwrap_err();
        let kmc::error::Error::Input { location, .. } = &e else {
            panic!("{name}: expected an input error, got {e}");
        };
        let text = e.to_string();
        assert_eq!(
            location.path.as_deref(),
            Some(path.as_path()),
            "{name}: {text}"
        );
        assert!(location.field.is_some(), "{name}: no field in {text}");
        if line != "-" {
            assert_eq!(location.line, Some(line.parse().unwrap()), "{name}: {text}");
        } else {
            assert!(location.line.is_some(), "{name}: no line in {text}");
        }
        assert!(text.contains(message), "{name}: {text:?} lacks {message:?}");
        checked += 1;
    }
    assert_eq!(checked, 11, "every bad_*.data is checked");
}

#[test]
fn the_good_data_file_reads_in_id_order_independent_form() {
    let mut d = lammps_data::read(&data_dir().join("good_two_types.data")).unwrap();
    d.name_types(&[]).unwrap();
    let f = &d.frame;
    assert_eq!(f.names, ["Au", "Ag"]);
    assert_eq!(f.types, [0, 1, 0]);
    assert_eq!(f.positions[1], [12.08, 10.0, 10.0]);
    // Velocities are matched by id and converted from Å/ps to Å/fs.
    let v = f.velocities.as_ref().unwrap();
    assert_eq!(v[0], [-1e-3, 0.0, 0.0]);
    assert_eq!(v[1], [0.0, 0.0, 5e-4]);
    assert_eq!(v[2], [1e-3, 0.0, 0.0]);
    // Written and read back: the same frame.
    let mut text = Vec::new();
    lammps_data::write(&mut text, f, &[196.96654, 107.8682]).unwrap();
    let mut back = lammps_data::parse(std::str::from_utf8(&text).unwrap(), None).unwrap();
    back.name_types(&[]).unwrap();
    assert_eq!(&back.frame, f);
    // A type list of the wrong length names the field.
    let e = d.name_types(&["Au".into()]).unwrap_err().to_string();
    assert!(
        e.contains("field `types`") && e.contains("2 atom types"),
        "{e}"
    );
}

// ---------------------------------------------------------------- structures

#[test]
fn two_particles_at_their_own_lattice_constants() {
    // Issue 13's validation pairs: 3 nm spheres cut at r ≤ 1.5 nm around an atom, Au 887 atoms
    // at a = 4.0801 Å, Ag 791 at 4.0896 Å (Zhou04 zero-pressure values, the defaults).
    let nn = |s: &System, range: std::ops::Range<usize>| {
        let i = range.start;
        range
            .filter(|&j| j != i)
            .map(|j| {
                let d = s.simbox.delta(s.positions[i], s.positions[j]);
                (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let (_, _, au) = built("md_au_pair_30deg.ron");
    assert_eq!(au.len(), 2 * 887);
    let (_, pot, agau) = built("md_agau_pair.ron");
    assert_eq!(agau.len(), 791 + 887);
    let ag = pot.elements().iter().position(|e| e == "Ag").unwrap() as u8;
    assert!(agau.species[..791].iter().all(|&s| s == ag));
    assert!(agau.species[791..].iter().all(|&s| s != ag));
    let sqrt2 = 2f64.sqrt();
    assert!((nn(&agau, 0..791) - 4.089643 / sqrt2).abs() < 1e-5);
    assert!((nn(&agau, 791..agau.len()) - 4.080056 / sqrt2).abs() < 1e-5);
    // The gap between the outermost atoms along x is 2.5 Å.
    let max1 = agau.positions[..791]
        .iter()
        .map(|x| x[0])
        .fold(f64::MIN, f64::max);
    let min2 = agau.positions[791..]
        .iter()
        .map(|x| x[0])
        .fold(f64::MAX, f64::min);
    assert!((min2 - max1 - 2.5).abs() < 1e-9);
    // The 30° turn: the second particle's nearest neighbour of its first atom is no longer
    // along a cube axis in the y–z plane, while the first particle's is.
    let (_, _, au0) = {
        let path = root().join("scenarios/md_au_pair_30deg.ron");
        let text = std::fs::read_to_string(&path).unwrap();
        let sc = parse_md_scenario(
            &text.replace("rotation_deg: 30.0", "rotation_deg: 0.0"),
            None,
        )
        .unwrap();
        let pot = sc.potential.build(&root()).unwrap();
        let s = build_structure_at(&sc.structure, pot.as_ref(), &root(), &mut rng_from_seed(1))
            .unwrap();
        (sc, pot, s)
    };
    let spread = |s: &System, r: std::ops::Range<usize>| {
        let ys: Vec<f64> = s.positions[r].iter().map(|x| x[1]).collect();
        ys.iter().cloned().fold(f64::MIN, f64::max) - ys.iter().cloned().fold(f64::MAX, f64::min)
    };
    assert!((spread(&au0, 887..1774) - spread(&au0, 0..887)).abs() < 1e-9);
    assert!((spread(&au, 887..1774) - spread(&au, 0..887)).abs() > 0.1);
}

#[test]
fn structures_read_from_files_reproduce_built_ones() {
    let (sc, pot, s) = built("md_lj_quick.ron");
    let dir = scratch("from_file");
    let frame = frame_of(&s);
    kmc::io::xyz::write_file(&dir.join("pair.xyz"), &frame).unwrap();
    lammps_data::write_file(&dir.join("pair.data"), &frame, pot.masses()).unwrap();
    let text = std::fs::read_to_string(root().join("scenarios/md_lj_quick.ron")).unwrap();
    for (structure, keep) in [
        ("FromFile(path: \"pair.xyz\", format: Xyz)", false),
        (
            "FromFile(path: \"pair.data\", format: LammpsData, types: [\"Ar\"], \
             pbc: Some((false, false, false)), keep_velocities: true)",
            true,
        ),
    ] {
        let sc2 = parse_md_scenario(&with_structure(&text, structure), None).unwrap();
        assert_eq!(sc2.potential, sc.potential);
        let r =
            build_structure_at(&sc2.structure, pot.as_ref(), &dir, &mut rng_from_seed(1)).unwrap();
        assert_eq!(r.positions, s.positions, "{structure}");
        assert_eq!(r.species, s.species);
        assert_eq!(r.simbox, s.simbox);
        if keep {
            assert_eq!(r.velocities, s.velocities);
        }
    }
}

// ---------------------------------------------------------------- minimisation

#[test]
fn minimisation_stops_on_the_force_two_norm() {
    let (_, pot, s0) = built("md_lj_quick.ron");
    let run = |ftol: f64| {
        let mut s = s0.clone();
        let r = minimize::relax(
            &mut s,
            pot.as_ref(),
            &FireOptions {
                force_tolerance_ev_a: ftol,
                norm: ForceNorm::Global2,
                max_steps: 5000,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(r.converged, "ftol {ftol}: {r:?}");
        assert!(r.force_two_norm_ev_a <= ftol, "{r:?}");
        // The 2-norm bounds every atom's force, so max |F| is below it too.
        assert!(r.max_force_ev_a <= r.force_two_norm_ev_a);
        r
    };
    let loose = run(1e-2);
    let tight = run(1e-5);
    assert!(
        loose.steps < tight.steps,
        "loose {} steps, tight {} steps",
        loose.steps,
        tight.steps
    );
    assert!(tight.energy_ev <= loose.energy_ev + 1e-9);
}

// ---------------------------------------------------------------- runs and bad input

/// A small Au cluster written as a LAMMPS data file, with the scenario text that runs it.
fn au_cluster_files(dir: &Path) -> String {
    let pot = kmc::md::Eam::from_setfl(&kmc::md::zhou04::setfl(&["Au"]).unwrap()).unwrap();
    let x = kmc::md::build::fcc_sphere(4.080056, 12.0);
    let (x, b) = kmc::md::build::in_open_box(x, 8.0);
    let n = x.len();
    let s = System::new(x, vec![0; n], b, &pot).unwrap();
    let mut f = frame_of(&s);
    f.velocities = None;
    lammps_data::write_file(&dir.join("au.data"), &f, pot.masses()).unwrap();
    "MdScenario(\n    seed: 3,\n    potential: Zhou04(elements: [\"Au\"]),\n    \
     structure: FromFile(path: \"au.data\", format: LammpsData),\n    temperature_k: 300.0,\n    \
     timestep_fs: 2.0,\n    steps: 60,\n    thermo_every: 10,\n    \
     ensemble: NoseHoover(tau_fs: 100.0),\n    \
     minimize: Some((ftol_ev_a: 1e-3, max_steps: 2000)),\n    \
     zero_momentum_every_steps: 20,\n)\n"
        .to_string()
}

#[test]
fn a_tiny_nvt_run_from_a_data_file_keeps_zero_momentum() {
    let dir = scratch("nvt_from_data");
    let text = au_cluster_files(&dir);
    let sc_path = dir.join("au.ron");
    std::fs::write(&sc_path, &text).unwrap();
    let out = dir.join("out");
    let summary = run_md_scenario(&sc_path, &out, &mut |_| {}).unwrap();
    assert_eq!(summary.atoms, 55);
    let m = summary.minimization.unwrap();
    assert!(m.converged && m.force_two_norm_ev_a <= 1e-3, "{m:?}");
    // Momentum and rotation removed at the start: T is exactly the target.
    assert!((summary.initial.temperature_k - 300.0).abs() < 1e-9);
    let thermo = std::fs::read_to_string(out.join("thermo.csv")).unwrap();
    assert_eq!(thermo.lines().count(), 1 + 1 + 6);
    // The last step (60) is a zeroing step: P and L of the final frame vanish to the printed
    // precision (velocities with 11 significant digits).
    let last = kmc::md::traj::read_xyz(out.join("final.xyz"))
        .unwrap()
        .pop()
        .unwrap();
    let pot = kmc::md::Eam::from_setfl(&kmc::md::zhou04::setfl(&["Au"]).unwrap()).unwrap();
    let mut s = System::new(
        last.positions.clone(),
        vec![0; last.positions.len()],
        kmc::md::SimBox::open(last.lengths),
        &pot,
    )
    .unwrap();
    s.velocities = last.velocities.clone();
    let scale: f64 = s
        .velocities
        .iter()
        .map(|v| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt())
        .sum::<f64>()
        * s.masses[0];
    assert!(
        s.momentum().iter().all(|p| p.abs() < 1e-9 * scale),
        "{:?}",
        s.momentum()
    );
    assert!(
        s.angular_momentum()
            .iter()
            .all(|l| l.abs() < 1e-9 * scale * 20.0),
        "{:?}",
        s.angular_momentum()
    );
}

#[test]
fn bad_structure_input_names_file_line_and_field() {
    let dir = scratch("bad_structure");
    let good = au_cluster_files(&dir);
    let line_of = |src: &str, pat: &str| src.lines().position(|l| l.contains(pat)).unwrap() + 1;
    let run = |text: &str| {
        let p = dir.join("bad.ron");
        std::fs::write(&p, text).unwrap();
        run_md_scenario(&p, dir.join("out"), &mut |_| {})
            .unwrap_err()
            .to_string()
    };
    // A missing file: the scenario's file, line and field.
    let bad = good.replace("au.data", "missing.data");
    let e = run(&bad);
    let l = line_of(&bad, "missing.data");
    assert!(
        e.starts_with(&format!("{}:{l}:", dir.join("bad.ron").display())),
        "{e}"
    );
    assert!(
        e.contains("field `structure.path`") && e.contains("missing.data"),
        "{e}"
    );

    // A data file with wrong counts: the data file's line and section.
    let data = std::fs::read_to_string(dir.join("au.data")).unwrap();
    std::fs::write(dir.join("au.data"), data.replace("55 atoms", "56 atoms")).unwrap();
    let e = run(&good);
    assert!(e.contains("au.data:") && e.contains("field `Atoms`"), "{e}");
    assert!(e.contains("the file ends after 55 of 56 lines"), "{e}");
    std::fs::write(dir.join("au.data"), &data).unwrap();

    // A type name the potential does not know, from the scenario's `types`.
    let bad = good.replace("format: LammpsData", "format: LammpsData, types: [\"Cu\"]");
    let e = run(&bad);
    assert!(
        e.contains(&format!("bad.ron:{}:", line_of(&bad, "types")))
            && e.contains("structure.types[0]")
            && e.contains("`Cu`"),
        "{e}"
    );
    // ... or from the Masses comment: the data file's line.
    std::fs::write(dir.join("au.data"), data.replace("# Au", "# Cu")).unwrap();
    let e = run(&good);
    let l = line_of(&data, "# Au");
    assert!(
        e.contains(&format!("au.data:{l}: field `Masses`")) && e.contains("`Cu`"),
        "{e}"
    );
    // A mass that does not match the element named for the type.
    std::fs::write(dir.join("au.data"), data.replace("196.96654", "107.8682")).unwrap();
    let e = run(&good);
    assert!(
        e.contains(&format!("au.data:{l}:")) && e.contains("mass 107.8682"),
        "{e}"
    );
    std::fs::write(dir.join("au.data"), &data).unwrap();

    // An extended-XYZ species the potential lacks: the line of its first atom.
    let xyz = "2\nLattice=\"30 0 0 0 30 0 0 0 30\" Properties=species:S:1:pos:R:3 \
               pbc=\"F F F\"\nAu 10 10 10\nCu 12.9 10 10\n";
    std::fs::write(dir.join("au.xyz"), xyz).unwrap();
    let bad = good.replace(
        "path: \"au.data\", format: LammpsData",
        "path: \"au.xyz\", format: Xyz",
    );
    let e = run(&bad);
    assert!(
        e.contains("au.xyz:4: field `species`") && e.contains("`Cu`"),
        "{e}"
    );
    // The command line reports it and exits with an error, without a panic.
    let p = dir.join("bad.ron");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kmc"))
        .args(["md", p.to_str().unwrap(), "--quiet", "--out"])
        .arg(dir.join("cli_out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("au.xyz:4:"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    // A rotation angle that is not finite, a non-positive lattice constant, two tolerances.
    let two = std::fs::read_to_string(root().join("scenarios/md_agau_pair.ron")).unwrap();
    let path = Path::new("pair.ron");
    for (from, to, field) in [
        (
            "axis: X,",
            "axis: X,\n        rotation_deg: NaN,",
            "structure.rotation_deg",
        ),
        (
            "axis: X,",
            "axis: X,\n        rotation_deg: inf,",
            "structure.rotation_deg",
        ),
        (
            "composition: [(\"Ag\", 1.0)])",
            "composition: [(\"Ag\", 1.0)], lattice_constant_a: -4.0)",
            "structure.first.lattice_constant_a",
        ),
        (
            "ftol_ev_a: 1e-4,",
            "ftol_ev_a: 1e-4, force_tolerance_ev_a: 1e-3,",
            "minimize.ftol_ev_a",
        ),
        ("ftol_ev_a: 1e-4,", "ftol_ev_a: 0.0,", "minimize.ftol_ev_a"),
    ] {
        let bad = two.replace(from, to);
        assert_ne!(bad, two);
        let e = parse_md_scenario(&bad, Some(path)).unwrap_err().to_string();
        let pat = field.rsplit('.').next().unwrap();
        let want = bad
            .lines()
            .position(|x| x.contains(&format!("{pat}:")) && !x.trim_start().starts_with("//"))
            .unwrap()
            + 1;
        assert!(
            e.starts_with(&format!("pair.ron:{want}:")) && e.contains(&format!("field `{field}`")),
            "{from} -> {to}: {e}"
        );
    }
    // Momentum zeroing of a periodic crystal is refused.
    let bad = with_structure(
        &two,
        "FccCrystal(lattice_constant_a: 4.08, cells: (3, 3, 3), composition: [(\"Au\", 1.0)])",
    );
    let e = parse_md_scenario(&bad, Some(path)).unwrap_err().to_string();
    assert!(
        e.contains("zero_momentum_every_steps") && e.contains("periodic"),
        "{e}"
    );
}
