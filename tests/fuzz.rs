//! Fuzzing on stable Rust (issue 16, item 4): proptest mutates the shipped files (the seed
//! corpus) and every reader must answer `Ok` or `Err` — never panic, abort or hang.
//!
//! Targets: the scenario parser and the simulation built from it (plus 20 events where that is
//! cheap), barrier tables, setfl and funcfl files, checkpoint restore (mutations are resealed
//! with a valid length and CRC, so the decoder and the restore checks see them), and the
//! extended-XYZ and LAMMPS-dump readers of `kmc analyze` with the analysis itself.
//!
//! Mutations: byte flips, insertions and deletions, truncation, and replacement of a number by
//! an extreme one (1e300, -1, 0, NaN, 2^32, 2^64, ...). Each case runs on its own thread and
//! must finish within `HANG_S`; a failure prints the mutated input (proptest shrinks it).
//! CI runs `KMC_FUZZ_CASES` cases per target (default 256, about 20 s in all); a longer run:
//! `KMC_FUZZ_CASES=2000 cargo test --release --test fuzz -- --nocapture`.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const HANG_S: u64 = 60;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cases() -> u32 {
    std::env::var("KMC_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// One edit of the input.
#[derive(Debug, Clone)]
enum Edit {
    Flip { at: f64, byte: u8 },
    Insert { at: f64, text: String },
    Delete { at: f64, len: usize },
    Truncate { at: f64 },
    Number { nth: usize, value: &'static str },
}

const EXTREMES: &[&str] = &[
    "1e300",
    "-1e300",
    "1e-300",
    "-1",
    "0",
    "NaN",
    "inf",
    "4294967296",
    "18446744073709551616",
    "9223372036854775807",
    "-0.0",
    "1e9",
];

const TOKENS: &[&str] = &[
    "(", ")", "[", "]", ",", "\"", ":", "\n", "Some(", "None", "-", "e",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0.0..1.0f64, any::<u8>()).prop_map(|(at, byte)| Edit::Flip { at, byte }),
        (0.0..1.0f64, prop::sample::select(TOKENS))
            .prop_map(|(at, t)| Edit::Insert { at, text: t.into() }),
        (0.0..1.0f64, 1usize..16).prop_map(|(at, len)| Edit::Delete { at, len }),
        (0.0..1.0f64).prop_map(|at| Edit::Truncate { at }),
        (0usize..400, prop::sample::select(EXTREMES))
            .prop_map(|(nth, value)| Edit::Number { nth, value }),
        (0usize..400, prop::sample::select(EXTREMES))
            .prop_map(|(nth, value)| Edit::Number { nth, value }),
    ]
}

/// Byte ranges of the numbers in `b` (digits with sign, point and exponent).
fn numbers(b: &[u8]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let s = if i > 0 && b[i - 1] == b'-' { i - 1 } else { i };
            let mut e = i;
            while e < b.len() && (b[e].is_ascii_digit() || b"._eE+-".contains(&b[e])) {
                e += 1;
            }
            v.push((s, e));
            i = e;
        } else {
            i += 1;
        }
    }
    v
}

fn apply(mut b: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let at = |f: f64, n: usize| ((f * n as f64) as usize).min(n);
        match e {
            Edit::Flip { at: f, byte } => {
                if !b.is_empty() {
                    let i = at(*f, b.len() - 1);
                    b[i] = *byte;
                }
            }
            Edit::Insert { at: f, text } => {
                let i = at(*f, b.len());
                b.splice(i..i, text.bytes());
            }
            Edit::Delete { at: f, len } => {
                let i = at(*f, b.len());
                let j = (i + len).min(b.len());
                b.drain(i..j);
            }
            Edit::Truncate { at: f } => {
                let i = at(*f, b.len());
                b.truncate(i.max(b.len() / 2));
            }
            Edit::Number { nth, value } => {
                let n = numbers(&b);
                if !n.is_empty() {
                    let (s, e) = n[nth % n.len()];
                    b.splice(s..e, value.bytes());
                }
            }
        }
    }
    b
}

/// Runs `f` on a thread: a panic or a run longer than [`HANG_S`] fails the case.
fn guarded(
    what: &str,
    input: &[u8],
    f: impl FnOnce() + Send + 'static,
) -> Result<(), TestCaseError> {
    let (tx, rx) = mpsc::channel();
    let t0 = Instant::now();
    let handle = std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(r.is_ok());
    });
    let show = || String::from_utf8_lossy(&input[..input.len().min(4000)]).into_owned();
    match rx.recv_timeout(Duration::from_secs(HANG_S)) {
        Ok(true) => {
            let _ = handle.join();
            Ok(())
        }
        Ok(false) => Err(TestCaseError::fail(format!(
            "{what} panicked on:\n{}",
            show()
        ))),
        Err(_) => Err(TestCaseError::fail(format!(
            "{what} ran more than {HANG_S} s ({:?}) on:\n{}",
            t0.elapsed(),
            show()
        ))),
    }
}

/// Runs the target over `cases()` mutations of each seed file.
fn fuzz(what: &str, seeds: &[PathBuf], target: fn(PathBuf, Vec<u8>)) {
    assert!(!seeds.is_empty(), "{what}: empty seed corpus");
    let corpus: Vec<(PathBuf, Vec<u8>)> = seeds
        .iter()
        .map(|p| (p.clone(), std::fs::read(p).unwrap()))
        .collect();
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (0..corpus.len(), prop::collection::vec(edit(), 1..6));
    let t0 = Instant::now();
    let result = runner.run(&strategy, |(k, edits)| {
        let (path, bytes) = &corpus[k];
        let input = apply(bytes.clone(), &edits);
        let (p, i) = (path.clone(), input.clone());
        guarded(what, &input, move || target(p, i))
    });
    eprintln!(
        "{what}: {} cases in {:.1} s",
        cases(),
        t0.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{what}: {e}");
    }
}

fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

#[test]
fn scenario_parser_and_build() {
    kmc::io::validate::set_memory_limit(Some(512 << 20));
    let seeds: Vec<PathBuf> = files("scenarios", "ron")
        .into_iter()
        .filter(|p| !std::fs::read_to_string(p).unwrap().contains("MdScenario("))
        .collect();
    fuzz("scenario", &seeds, |path, bytes| {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let Ok(loaded) = kmc::scenario::LoadedScenario::from_text(text.clone(), Some(path)) else {
            return;
        };
        // Building is exercised for every scenario; events only where they are cheap (no
        // on-the-fly NEB, no MD relaxer).
        let cheap = !text.contains("EamNeb") && !loaded.scenario.relaxes_contacts();
        if let Ok(mut sim) = kmc::sim::Simulation::new(loaded) {
            if cheap {
                let _ = sim.run_events(20);
            }
        }
    });
}

#[test]
fn md_scenario_parser() {
    let seeds: Vec<PathBuf> = files("scenarios", "ron")
        .into_iter()
        .filter(|p| std::fs::read_to_string(p).unwrap().contains("MdScenario("))
        .collect();
    fuzz("md scenario", &seeds, |_, bytes| {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let _ = kmc::scenario::md::parse_md_scenario(&text, None);
    });
}

#[test]
fn barrier_tables() {
    let mut seeds = files("rates", "ron");
    seeds.extend(files("tests/data/rates", "ron"));
    fuzz("barrier table", &seeds, |path, bytes| {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let _ = kmc::rates::parse_barrier_table(&text, &path);
    });
}

#[test]
fn eam_files() {
    kmc::io::validate::set_memory_limit(Some(512 << 20));
    let mut seeds = files("tests/data/eam", "setfl");
    seeds.extend(files("tests/data/eam", "funcfl"));
    fuzz("eam file", &seeds, |path, bytes| {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if path.extension().is_some_and(|e| e == "setfl") {
            if let Ok(s) = kmc::md::eam::Setfl::parse(&text, Some(&path)) {
                let _ = kmc::md::Eam::from_setfl(&s);
            }
        } else if let Ok(f) = kmc::md::eam::Funcfl::parse(&text, Some(&path)) {
            let _ = kmc::md::Eam::from_funcfl(&[("X", &f)]);
        }
    });
}

#[test]
fn trajectories_and_analysis() {
    let mut seeds = files("tests/data/analyze", "xyz");
    // A LAMMPS dump of the same frames (two, so the analysis compares frames).
    let frames = kmc::io::xyz::read(&seeds[0]).unwrap();
    let dump = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-pair.lammpstrj");
    let mut text = Vec::new();
    for f in frames.iter().chain(frames.iter()).take(2) {
        kmc::io::dump::write(&mut text, f).unwrap();
    }
    std::fs::write(&dump, text).unwrap();
    seeds.push(dump);
    fuzz("trajectory", &seeds, |path, bytes| {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        use kmc::observe::analyze::{AnalyzeOptions, Trajectory, analyze};
        if let Ok(t) = Trajectory::parse(&text, Some(&path), None) {
            let _ = analyze(&t, &AnalyzeOptions::default());
        }
    });
}

/// Checkpoint bytes of the quickstart after some events, mutated in the payload and resealed.
#[test]
fn checkpoint_restore() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-checkpoint");
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = root().join("scenarios/quickstart.ron");
    let mut sim =
        kmc::sim::Simulation::new(kmc::scenario::LoadedScenario::from_file(&scenario).unwrap())
            .unwrap();
    sim.run_events(3000).unwrap();
    let seed = dir.join("quickstart.kmc");
    std::fs::write(&seed, sim.checkpoint().unwrap()).unwrap();
    fuzz("checkpoint", &[seed], |_, bytes| {
        const HEADER: usize = 28;
        let mut b = bytes;
        if b.len() >= HEADER {
            // Reseal: the payload's true length and CRC, so the decoder sees the mutation.
            let body_len = (b.len() - HEADER) as u64;
            let crc = crc32fast::hash(&b[HEADER..]);
            b[16..24].copy_from_slice(&body_len.to_le_bytes());
            b[24..28].copy_from_slice(&crc.to_le_bytes());
        }
        let scenario = root().join("scenarios/quickstart.ron");
        let mut sim =
            kmc::sim::Simulation::new(kmc::scenario::LoadedScenario::from_file(&scenario).unwrap())
                .unwrap();
        if sim.restore_checkpoint(&b).is_ok() {
            let _ = sim.run_events(200);
        }
    });
}

/// The harness fails for the right reason: a panicking target and a mutation that reaches it.
#[test]
fn the_harness_catches_a_panic_that_a_mutation_reaches() {
    let seed = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-self-check.txt");
    std::fs::write(&seed, "value: 1.5\n").unwrap();
    let caught = std::panic::catch_unwind(|| {
        fuzz("self-check", &[seed], |_, bytes| {
            // A reader with a bug: it trusts that the number is finite and small.
            let t = String::from_utf8_lossy(&bytes).into_owned();
            if let Some(v) = t
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<f64>().ok())
            {
                assert!(v.abs() < 1e100, "overflow");
            }
        })
    });
    let e = caught.expect_err("the fuzzer missed an extreme number");
    let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("self-check panicked on"), "{msg}");
}
