//! `kmc analyze` on files: frames written with the io writers (extended XYZ and LAMMPS dump)
//! read back to the same observables as the frames in memory, an ASE-style extended XYZ
//! (tests/data/analyze/README.md), the binary's CSV, and bad files named in the errors.

use kmc::io::{Column, Frame, dump, xyz};
use kmc::lattice::LatticeKind;
use kmc::observe::analyze::{AnalyzeOptions, Trajectory, TrajectoryFormat, analyze, analyze_file};
use kmc::particle::{BuildRequest, Composition, Shape, build_standalone};
use std::path::{Path, PathBuf};

use common::kmc;

mod common;

fn tmp(name: &str) -> PathBuf {
    common::scratch_dir("analyze", name)
}

fn sphere(element: &str, a: f64) -> Vec<[f64; 3]> {
    let req = BuildRequest {
        shape: Shape::Sphere,
        diameter_nm: 1.6,
        composition: Composition::Pure(element.into()),
        lattice: LatticeKind::Fcc100,
        lattice_constant_a: Some(a),
        c_over_a: None,
        seed: 1,
    };
    build_standalone(&req).unwrap().0.displacements
}

/// Three frames of an Au and an Ag sphere approaching along x in a periodic box, the Ag one
/// turning about x; positions wrapped into the box as LAMMPS writes them.
fn frames() -> Vec<Frame> {
    let (au, ag) = (sphere("Au", 4.0801), sphere("Ag", 4.0896));
    let l = [40.0, 30.0, 30.0];
    (0..3)
        .map(|k| {
            let gap = 19.0 - 1.0 * k as f64;
            let t = (10.0 * k as f64).to_radians();
            let mut positions: Vec<[f64; 3]> =
                au.iter().map(|p| [p[0] - 10.0, p[1], p[2]]).collect();
            positions.extend(ag.iter().map(|p| {
                let (y, z) = (
                    p[1] * t.cos() - p[2] * t.sin(),
                    p[1] * t.sin() + p[2] * t.cos(),
                );
                [p[0] - 10.0 + gap, y, z]
            }));
            for p in &mut positions {
                for a in 0..3 {
                    p[a] = p[a].rem_euclid(l[a]);
                }
            }
            Frame {
                step: Some(100 * k as u64),
                lengths: l,
                pbc: [true; 3],
                names: vec!["Au".into(), "Ag".into()],
                types: au.iter().map(|_| 0).chain(ag.iter().map(|_| 1)).collect(),
                positions,
                columns: vec![Column::int(
                    "mol",
                    au.iter().map(|_| 1).chain(ag.iter().map(|_| 2)).collect(),
                )],
                ..Frame::default()
            }
        })
        .collect()
}

fn write_all(path: &Path, frames: &[Frame], dump_format: bool) {
    let mut out = Vec::new();
    for f in frames {
        if dump_format {
            dump::write(&mut out, f).unwrap();
        } else {
            xyz::write(&mut out, f).unwrap();
        }
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn written_frames_read_back_to_the_same_observables() {
    let fr = frames();
    let mem = Trajectory {
        path: None,
        format: TrajectoryFormat::Xyz,
        frames: fr.clone(),
        lines: Vec::new(),
    };
    let expect = analyze(&mem, &AnalyzeOptions::default()).unwrap();
    assert_eq!(expect.labels_from, "column `mol`");
    // Centres 19, 18, 17 Å apart whatever the wrapping; the Ag core turned 0, 10, 20°.
    for (k, r) in expect.rows.iter().enumerate() {
        assert!(
            (r.centre_distance_a - (19.0 - k as f64)).abs() < 1e-9,
            "{r:?}"
        );
        assert!(
            (r.misorientation_deg - 10.0 * k as f64).abs() < 1e-6,
            "{r:?}"
        );
    }
    let dir = tmp("roundtrip");
    for (name, is_dump) in [("t.xyz", false), ("t.dump", true)] {
        let p = dir.join(name);
        write_all(&p, &fr, is_dump);
        let got = analyze_file(&p, &AnalyzeOptions::default()).unwrap();
        assert_eq!(got.species, ["Au", "Ag"]);
        assert_eq!(got.time_column, "step");
        assert_eq!(got.csv(), expect.csv(), "{name}");
    }
    let files = expect.write(&dir.join("out")).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["analyze.csv", "gr_2.csv", "xrd_2.csv"]);
    let gr = std::fs::read_to_string(dir.join("out/gr_2.csv")).unwrap();
    assert!(gr.starts_with("r_a,g_Au_Au,g_Au_Ag,g_Ag_Ag\n"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_ase_extended_xyz_is_read_and_split_by_connectivity() {
    let p = Path::new("tests/data/analyze/ase_pair.xyz");
    let an = analyze_file(p, &AnalyzeOptions::default()).unwrap();
    assert_eq!(an.particle_atoms, [13, 13]);
    assert!(an.labels_from.contains("connectivity"));
    assert!((an.nn_distance_a - 2.885).abs() < 1e-7);
    let d: Vec<f64> = an.rows.iter().map(|r| r.centre_distance_a).collect();
    assert!(
        (d[0] - 10.0).abs() < 1e-7 && (d[1] - 9.0).abs() < 1e-7,
        "{d:?}"
    );
    // Every atom of a 13-atom cluster but the centre has CN 5: 24 surface atoms.
    assert_eq!(an.rows[0].surface_atoms, 24);
    assert_eq!(an.rows[0].surface_fraction, [0.5, 0.5]);
    assert_eq!(an.rows[0].neck_radius_a, 0.0);
}

#[test]
fn the_binary_writes_one_row_per_frame() {
    let out = tmp("cli");
    let st = kmc()
        .args(["analyze", "tests/data/analyze/ase_pair.xyz", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let csv = std::fs::read_to_string(out.join("analyze.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "frame,step,neck_radius_a,rg_a,centre_distance_a,misorientation_deg,\
         grain_misorientation_deg,surface_atoms,\
         surface_fraction_Au,surface_fraction_Ag"
    );
    assert_eq!(lines.len(), 3);
    assert!(out.join("gr_1.csv").exists() && out.join("xrd_1.csv").exists());
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn bad_trajectories_are_errors_naming_file_line_and_field() {
    let dir = tmp("bad");
    let fr = frames();
    let run = |p: &Path, extra: &[&str]| {
        let st = kmc()
            .arg("analyze")
            .arg(p)
            .args(extra)
            .arg("--out")
            .arg(dir.join("out"))
            .output()
            .unwrap();
        assert!(!st.status.success(), "{} passed", p.display());
        let e = String::from_utf8_lossy(&st.stderr).into_owned();
        assert!(!e.contains("panicked"), "{e}");
        assert!(e.contains(&p.display().to_string()), "{e}");
        e
    };
    // A dump without element names: types only, no species.
    let p = dir.join("types.dump");
    write_all(&p, &fr, true);
    let text = std::fs::read_to_string(&p).unwrap();
    let text = text.replace("id type element x", "id type x");
    let text: String = text
        .lines()
        .map(|l| {
            let t: Vec<&str> = l.split(' ').collect();
            if t.len() > 4 && (t[2] == "Au" || t[2] == "Ag") {
                let mut t = t;
                t.remove(2);
                t.join(" ")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&p, text).unwrap();
    let e = run(&p, &[]);
    assert!(
        e.contains("types.dump:9: field `species`: atoms have no species"),
        "{e}"
    );
    // The second frame loses an atom.
    let mut short = fr.clone();
    short[1].positions.pop();
    short[1].types.pop();
    if let kmc::io::Values::Int(v) = &mut short[1].columns[0].values {
        v.pop();
    }
    let p = dir.join("short.xyz");
    write_all(&p, &short, false);
    let n = fr[0].len();
    let e = run(&p, &[]);
    assert!(
        e.contains(&format!(
            "short.xyz:{}: frame 1 has {} atoms, frame 0 has {n}",
            n + 3,
            n - 1
        )),
        "{e}"
    );
    // A label column that is not there.
    let p = dir.join("t.xyz");
    write_all(&p, &fr, false);
    let e = run(&p, &["--label-column", "grain"]);
    assert!(
        e.contains("t.xyz:2: field `grain`: no per-atom column `grain`"),
        "{e}"
    );
    assert!(e.contains("mol"), "{e}");
    // An xyz without species.
    let p = dir.join("nospecies.xyz");
    std::fs::write(&p, "1\nProperties=pos:R:3\n0 0 0\n").unwrap();
    let e = run(&p, &[]);
    assert!(
        e.contains("nospecies.xyz:2: Properties lacks species"),
        "{e}"
    );
    // Periodic without a cell.
    let p = dir.join("nocell.xyz");
    std::fs::write(&p, "2\npbc=\"T T T\"\nAu 0 0 0\nAu 2.9 0 0\n").unwrap();
    let e = run(&p, &[]);
    assert!(
        e.contains("nocell.xyz:2: field `Lattice`: frame 0 is periodic along x"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
