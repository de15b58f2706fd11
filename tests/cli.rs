//! The `kmc` binary end to end: shipped scenarios validate, bad scenarios give the expected
//! message and a non-zero exit, and a checkpointed run resumes byte-identically.

use std::path::{Path, PathBuf};

use common::kmc;

mod common;

fn tmp(name: &str) -> PathBuf {
    common::scratch_dir("cli", name)
}

#[test]
fn bad_scenarios_give_their_expected_messages() {
    let dir = Path::new("tests/scenarios/bad");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "ron") {
            continue;
        }
        let expected = std::fs::read_to_string(path.with_extension("expected")).unwrap();
        // A fixed memory limit, so the size refusals (issue 16) read the same on every machine.
        let out = kmc()
            .arg("check")
            .args(["--max-memory", "1G"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{} passed the check", path.display());
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end(), expected.trim_end(), "{}", path.display());
        assert!(!stderr.contains("panicked"));
        n += 1;
    }
    assert!(n >= 9, "only {n} bad scenarios found");
}

#[test]
fn shipped_and_good_scenarios_validate() {
    let mut files: Vec<PathBuf> = std::fs::read_dir("tests/scenarios/good")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for f in [
        "quickstart",
        "cu100_growth",
        "bench_fcc100",
        "w110_growth",
        "co0001_growth",
        "md_hea_coalescence",
    ] {
        files.push(PathBuf::from(format!("scenarios/{f}.ron")));
    }
    for f in &files {
        let out = kmc().arg("check").arg(f).output().unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains(": ok"));
    }
}

#[test]
fn resumed_run_is_byte_identical_to_an_uninterrupted_one() {
    let scenario = "tests/scenarios/good/small_growth.ron";
    let whole = tmp("whole");
    let split = tmp("split");
    let run = |args: &[&str]| {
        let out = kmc()
            .arg("run")
            .arg(scenario)
            .args(args)
            .arg("--quiet")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["--out", whole.to_str().unwrap()]);
    // Stop at event 7000 with a checkpoint, then resume to the scenario's end.
    run(&[
        "--out",
        split.to_str().unwrap(),
        "--events",
        "7000",
        "--checkpoint-every",
        "3000",
    ]);
    let ck = split.join("checkpoint.kmc");
    assert!(ck.exists());
    run(&[
        "--out",
        split.to_str().unwrap(),
        "--resume",
        ck.to_str().unwrap(),
    ]);
    for f in ["series.csv", "final.xyz", "final.dump", "snapshot_0001.xyz"] {
        let a = std::fs::read(whole.join(f)).unwrap();
        let b = std::fs::read(split.join(f)).unwrap();
        assert!(
            a == b,
            "{f} differs between the uninterrupted and the resumed run"
        );
    }
    let series = std::fs::read_to_string(whole.join("series.csv")).unwrap();
    assert!(series.starts_with(
        "time_s,events,coverage_ml,mean_height_ml,roughness_ml,islands,islands_ge2,mean_island_size"
    ));
    assert!(series.lines().count() > 20);
    // Damaged checkpoints are refused with a message, never a panic.
    let bytes = std::fs::read(&ck).unwrap();
    std::fs::write(&ck, &bytes[..bytes.len() / 2]).unwrap();
    let out = kmc()
        .arg("run")
        .arg(scenario)
        .args([
            "--out",
            split.to_str().unwrap(),
            "--resume",
            ck.to_str().unwrap(),
            "--quiet",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("truncated") && err.contains("checkpoint.kmc"),
        "{err}"
    );
    // A checkpoint of another scenario is refused too.
    let other = kmc()
        .arg("run")
        .arg("tests/scenarios/good/square_nucleation.ron")
        .args([
            "--out",
            split.to_str().unwrap(),
            "--resume",
            whole.join("nothing.kmc").to_str().unwrap(),
            "--quiet",
        ])
        .output()
        .unwrap();
    assert_eq!(other.status.code(), Some(1));
    std::fs::remove_dir_all(&whole).unwrap();
    std::fs::remove_dir_all(&split).unwrap();
}

/// `kmc md … | head` (issue 16): a reader that goes away must not make kmc panic; the run
/// finishes and writes its files. The read end is closed before kmc writes anything, so every
/// write meets a broken pipe (with `println!` this panicked with exit code 101).
#[test]
fn a_closed_stdout_pipe_is_no_panic() {
    let dir = tmp("closed-pipe");
    for args in [
        vec![
            "md".to_string(),
            "scenarios/md_lj_quick.ron".into(),
            "--out".into(),
            dir.join("md").display().to_string(),
        ],
        vec!["info".into()],
    ] {
        let mut child = kmc()
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {stderr}", out.status);
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert!(dir.join("md/thermo.csv").is_file());
    assert!(dir.join("md/final.xyz").is_file());
}

/// Batch jobs (no terminal) get a progress line every `--log-every` seconds on stdout with
/// time, events, rate, coverage and ETA (issue 16, item 6); `--quiet` silences them.
#[test]
fn batch_runs_log_progress_lines() {
    let dir = tmp("log-every");
    let run = |quiet: bool| {
        let mut c = kmc();
        c.args(["run", "scenarios/quickstart.ron", "--out"])
            .arg(dir.join(if quiet { "q" } else { "l" }))
            .args(["--log-every", "0.000001"]);
        if quiet {
            c.arg("--quiet");
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = run(false);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("progress:"))
        .collect();
    // The library reports progress every 200 ms of wall time and once at the end, so a fast
    // machine may see only the last report: at least one line, whatever the speed.
    assert!(!lines.is_empty(), "{text}");
    for l in &lines {
        for field in ["% done", "t = ", "events/s", "coverage", "ETA"] {
            assert!(l.contains(field), "{l}");
        }
    }
    assert!(!run(true).contains("progress:"));
    let bad = kmc()
        .args(["run", "scenarios/quickstart.ron", "--log-every", "0"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--log-every"));
}

/// summary.json says what ran and how (issue 16): kmc version, command line, scenario path and
/// CRC-32, start time, threads, CPU time, and every snapshot file; snapshot files of another
/// run left in the directory are named in a note instead of mixed in silently.
#[test]
fn summary_records_the_run_and_its_snapshots() {
    let dir = tmp("summary");
    let text = std::fs::read_to_string("scenarios/quickstart.ron")
        .unwrap()
        .replace(
            "output: (series_every_s: 0.01)",
            "output: (series_every_s: 0.01, snapshot_every_s: 0.02)",
        );
    let sc = dir.join("snap.ron");
    std::fs::write(&sc, &text).unwrap();
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("snapshot_0999.xyz"), "stale").unwrap();
    let o = kmc()
        .arg("run")
        .arg(&sc)
        .arg("--out")
        .arg(&out)
        .args(["--until-time", "0.1", "--quiet"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["kmc_version"], env!("CARGO_PKG_VERSION"));
    let cmd: Vec<String> = serde_json::from_value(s["command_line"].clone()).unwrap();
    assert!(cmd.iter().any(|a| a == "--until-time") && cmd.iter().any(|a| a.ends_with("snap.ron")));
    assert!(s["scenario_path"].as_str().unwrap().ends_with("snap.ron"));
    assert_eq!(
        s["scenario_crc32"],
        format!("{:08x}", crc32fast::hash(text.as_bytes()))
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = s["started_unix_s"].as_f64().unwrap();
    assert!(
        started <= now && now - started < 600.0,
        "{started} vs {now}"
    );
    assert!(s["threads"].as_u64().unwrap() >= 1);
    assert!(s["cpu_time_s"].as_f64().unwrap() > 0.0);
    let files: Vec<String> = serde_json::from_value(s["files"].clone()).unwrap();
    // t = 0.02, 0.04, ..., 0.1: five snapshots (the last at the stop time).
    let snaps: Vec<&String> = files
        .iter()
        .filter(|f| f.starts_with("snapshot_"))
        .collect();
    assert!(snaps.len() >= 4, "{files:?}");
    for f in &snaps {
        assert!(out.join(f).is_file(), "{f}");
    }
    assert!(!files.iter().any(|f| f == "snapshot_0999.xyz"));
    // A growth run plots its roughness and islands (issue 16: growth runs wrote no plots).
    // Issue 14: and its scaled island size distribution and density profile, from the
    // tables written with every snapshot.
    for plot in [
        "roughness.png",
        "islands.png",
        "size_distribution.png",
        "density_profile.png",
    ] {
        assert!(files.iter().any(|f| f == plot), "{plot} not in {files:?}");
        let bytes = std::fs::read(out.join(plot)).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000,
            "{plot}"
        );
    }
    for f in &snaps {
        if let Some(n) = f.strip_suffix(".xyz") {
            for t in ["sizes", "profile"] {
                assert!(
                    files.contains(&format!("{t}_{n}.csv")),
                    "{t}_{n}.csv: {files:?}"
                );
            }
        }
    }
    assert!(s["percolation"].get("x").is_some(), "{}", s["percolation"]);
    let notes = s["notes"].to_string();
    assert!(notes.contains("snapshot_0999.xyz"), "{notes}");
}

/// An MD scenario given to `kmc check` is checked as one; given to `kmc run` (or a KMC scenario
/// to `kmc md`) the error names the right command instead of a type mismatch (issue 16).
#[test]
fn md_and_kmc_scenarios_are_told_apart() {
    let ok = kmc()
        .args(["check", "scenarios/md_au_pair_30deg.ron"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        text.contains("ok — MD scenario, 1774 atoms of Au"),
        "{text}"
    );
    for (args, hint) in [
        (["run", "scenarios/md_lj_quick.ron"], "run it with `kmc md"),
        (["md", "scenarios/quickstart.ron"], "run it with `kmc run"),
    ] {
        let o = kmc().args(args).output().unwrap();
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {e}");
        assert!(e.contains(hint), "{args:?}: {e}");
    }
    // A broken MD scenario still reports its field through `kmc check`.
    let dir = tmp("md-check");
    let bad = dir.join("bad.ron");
    let text = std::fs::read_to_string("scenarios/md_lj_quick.ron")
        .unwrap()
        .replace("timestep_fs: 5.0", "timestep_fs: -5.0");
    std::fs::write(&bad, text).unwrap();
    let o = kmc().arg("check").arg(&bad).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("timestep_fs"));
}

/// `kmc rates barrier` prints the EamNeb barrier of one event, the number a run would use:
/// the Cu(100) adatom hop agrees with the LAMMPS drag-method value of rates/fcc100_zhou04.ron
/// (0.4829 eV; the library test `rates::eam_neb::single` checks it against the model to the
/// bit), forward equals reverse for this symmetric hop, and exchange differs from hop.
#[test]
fn rates_barrier_prints_forward_and_reverse() {
    let barrier = |args: &[&str]| {
        let out = kmc()
            .args(["rates", "barrier"])
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{args:?}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let read = |label: &str| -> f64 {
            let line = text
                .lines()
                .find(|l| l.starts_with(label))
                .unwrap_or_else(|| panic!("no `{label}` in:\n{text}"));
            line[label.len()..]
                .trim()
                .trim_end_matches(" eV")
                .parse()
                .unwrap()
        };
        (read("forward barrier:"), read("reverse barrier:"), text)
    };
    let (f, r, text) = barrier(&["--species", "Cu"]);
    assert!(
        text.contains("Cu adatom hop on Cu Fcc100: Zhou04(Cu)"),
        "{text}"
    );
    assert!((f - 0.4829).abs() < 0.003, "{text}");
    assert!((f - r).abs() < 1e-3, "{text}");
    let (x, _, text) = barrier(&["--species", "Cu", "--event", "exchange", "--slab", "5x5"]);
    assert!(
        x > f + 0.1,
        "Zhou04 Cu(100): exchange above the hop\n{text}"
    );
    let out = kmc()
        .args(["rates", "barrier", "--species", "Cu", "--adatom", "Zz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Zz") && !err.contains("panicked"), "{err}");
}

/// A missing file names the OS reason once, not twice (the error and its source).
#[test]
fn a_missing_file_gives_the_os_error_once() {
    let out = kmc().args(["run", "/nonexistent/x.ron"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/x.ron"), "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}
