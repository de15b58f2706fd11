//! setfl / funcfl reading and writing: round trips, a file in the layout distributed with
//! LAMMPS, and malformed files with their expected errors (tests/data/eam/bad_*.expected).

use std::path::{Path, PathBuf};

use kmc::md::eam::{Eam, Funcfl, Setfl};
use kmc::md::zhou04;
use kmc::{Error, md::Potential};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/eam")
        .join(name)
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kmc-eam-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn setfl_round_trip_is_exact() {
    let original = zhou04::setfl(&["Cu", "Ag", "Pt"]).unwrap();
    let path = temp("CuAgPt.setfl");
    original.write(&path).unwrap();
    let back = Setfl::read(&path).unwrap();
    assert_eq!(back, original);
    // Five values per line, as DYNAMO and LAMMPS files have.
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text.lines().nth(6).unwrap();
    assert_eq!(line.split_whitespace().count(), 5);
}

#[test]
fn funcfl_round_trip_is_exact() {
    let original = Funcfl::read(data("cu_synthetic.funcfl")).unwrap();
    let path = temp("cu.funcfl");
    original.write(&path).unwrap();
    assert_eq!(Funcfl::read(&path).unwrap(), original);
    assert_eq!(original.embedding.len(), 400);
    assert_eq!(original.charge.len(), 400);
    assert_eq!(original.density.len(), 400);
    assert_eq!(original.atomic_number, 29);
}

#[test]
fn reads_a_fortran_written_setfl() {
    // The layout of the authors' create.f (blank comments, i5 counts, E24.16 values, short
    // last lines) that LAMMPS's potential files have.
    let s = Setfl::read(data("fortran_style.setfl")).unwrap();
    assert_eq!(s.comments, [" ", " ", " "]);
    let names: Vec<&str> = s.elements.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["Cu", "Ag"]);
    assert_eq!(
        (s.nrho, s.drho, s.nr, s.dr, s.cutoff),
        (8, 5.0, 12, 0.5, 5.5)
    );
    assert_eq!(s.elements[1].atomic_number, 47);
    assert_eq!(s.elements[1].mass, 107.87);
    assert_eq!(s.elements[0].lattice, "fcc");
    assert_eq!(s.elements[1].embedding[1], -0.1788854381999832e1);
    assert_eq!(s.pair.len(), 3);
    assert_eq!(s.pair[2][11], -0.1724691949447109e-2);
    let eam = Eam::from_setfl(&s).unwrap();
    assert_eq!(eam.elements(), ["Cu", "Ag"]);
    // The spline passes through the table points: F_Ag(2 drho) and φ_CuAg(3 dr) = z2r / r.
    assert!((eam.embedding(1, 10.0).0 - s.elements[1].embedding[2]).abs() < 1e-15);
    assert!((eam.pair(1, 0, 1.5).0 - s.pair[1][3] / 1.5).abs() < 1e-15);
}

#[test]
fn malformed_files_give_the_expected_errors() {
    let mut checked = 0;
    for entry in std::fs::read_dir(data("")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.starts_with("bad_") || name.ends_with(".expected") {
            continue;
        }
        let expected_path = path.with_extension("expected");
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{name} needs {}", expected_path.display()));
        let mut lines = expected.lines();
        let line: usize = lines
            .next()
            .and_then(|l| l.strip_prefix("line "))
            .and_then(|l| l.parse().ok())
            .unwrap_or_else(|| panic!("{}: first line `line N`", expected_path.display()));
        let message = lines.next().unwrap().trim();
        let err = if name.ends_with(".setfl") {
            Setfl::read(&path).map(|_| ())
        } else {
            Funcfl::read(&path).map(|_| ())
        }
        .expect_err(&name);
        match &err {
            Error::Input {
                location,
                message: m,
            } => {
                assert_eq!(location.path.as_deref(), Some(path.as_path()), "{name}");
                assert_eq!(location.line, Some(line), "{name}: {err}");
                assert!(m.contains(message), "{name}: `{m}` lacks `{message}`");
            }
            other => panic!("{name}: expected an input error, got {other}"),
        }
        // The whole message names file and line, as the CLI prints it.
        assert!(
            err.to_string().contains(&format!("{name}:{line}:")),
            "{err}"
        );
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} bad files found");
}

#[test]
fn missing_file_is_an_io_error() {
    let err = Setfl::read(data("does_not_exist.setfl")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
}

#[test]
fn cli_writes_the_zhou04_setfl() {
    let path = temp("cli_CuAg.setfl");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_kmc"))
        .args(["potential", "zhou04", "Cu", "Ag", "--out"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        Setfl::read(&path).unwrap(),
        zhou04::setfl(&["Cu", "Ag"]).unwrap()
    );
    // An unknown element fails with a message and a non-zero exit code.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kmc"))
        .args(["potential", "zhou04", "Cu", "Xx", "--out"])
        .arg(temp("never.setfl"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no Zhou 2004 parameters for `Xx`"));
}
