//! One run loop: the same scenario driven by `kmc run`, by the Rust API in one call, in slices,
//! in chunks of events, and resumed from a checkpoint, writes byte-identical `series.csv` and
//! `contacts.csv` and relaxes the same contacts. (C and Python are held to the same files in
//! tests/capi.rs and python/tests/test_drivers.py.)
//!
//! These are exact comparisons, not statistics: every driver must reproduce the CLI's bytes.

use kmc::sim::{OutputOptions, Simulation, StopReason};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn scenario() -> PathBuf {
    root().join("tests/data/drivers/particles.ron")
}

fn tmp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("drivers-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
}

/// `series.csv` and `contacts.csv` of `kmc run` on the driver scenario, run into a
/// directory of the calling test's own.
fn cli_files(test: &str) -> (String, String) {
    let out = tmp(&format!("cli-{test}"));
    let st = Command::new(env!("CARGO_BIN_EXE_kmc"))
        .arg("run")
        .arg(scenario())
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    (read(&out, "series.csv"), read(&out, "contacts.csv"))
}

fn csv(header: &str, rows: &[String]) -> String {
    let mut s = format!("{header}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

#[test]
fn cli_and_rust_api_write_the_same_files_and_relax_the_same_contacts() {
    let (series, contacts) = cli_files("api");
    // The scenario raises contacts at t = 0 and during the run, all of them relaxed.
    let n_contacts = contacts.lines().count() - 1;
    assert!(n_contacts >= 5, "only {n_contacts} contacts:\n{contacts}");
    assert!(contacts.lines().next().unwrap().contains("md_time_ps"));

    // The API in one call, with the built-in writers.
    let out = tmp("api");
    let mut sim = Simulation::from_file(scenario()).unwrap();
    sim.set_output(&out, OutputOptions::default()).unwrap();
    let summary = sim.run().unwrap();
    assert_eq!(summary.stop_reason, StopReason::Events);
    assert_eq!(read(&out, "series.csv"), series);
    assert_eq!(read(&out, "contacts.csv"), contacts);
    let relaxed = sim.relax_totals().unwrap().relaxations;
    assert_eq!(relaxed as usize, n_contacts);

    // In slices of 333 events, and in chunks of run_events before the final run(): the
    // clock stops elsewhere, the trajectory and the record do not change.
    let mut sliced = Simulation::from_file(scenario()).unwrap();
    while sliced.run_slice(333).unwrap().is_none() {}
    let mut chunked = Simulation::from_file(scenario()).unwrap();
    assert_eq!(chunked.run_events(1000).unwrap(), 1000);
    chunked.run_until(chunked.time() * 1.5).unwrap();
    for s in [&mut sliced, &mut chunked] {
        s.run().unwrap();
        assert_eq!(csv(s.series_header(), s.series_rows()), series);
        assert_eq!(
            csv(contacts.lines().next().unwrap(), s.contact_rows()),
            contacts
        );
    }
}

#[test]
fn a_run_resumed_from_a_mid_run_checkpoint_relaxes_the_same_contacts() {
    let (series, contacts) = cli_files("resume");
    let mut first = Simulation::from_file(scenario()).unwrap();
    first.run_events(1700).unwrap();
    let ck = first.checkpoint().unwrap();
    // A fresh simulation restored from it: contact k is seeded from the tracker's count in
    // the checkpoint, so the contacts after the restore are relaxed as in the one long run.
    let mut resumed = Simulation::from_file(scenario()).unwrap();
    resumed.restore_checkpoint(&ck).unwrap();
    resumed.run().unwrap();
    assert_eq!(csv(resumed.series_header(), resumed.series_rows()), series);
    let header = contacts.lines().next().unwrap();
    assert_eq!(csv(header, resumed.contact_rows()), contacts);
}

/// Without `series_every_*`, `series.csv` gets 100 rows evenly over the stop time. (A bug
/// spread them geometrically, t/100, 2t/100, 4t/100, ..., 7 rows in all.)
#[test]
fn default_series_schedule_is_evenly_spaced() {
    let mut sim = Simulation::from_ron(
        r#"(
        name: "grid", seed: 5, temperature_k: 300.0, species: ["Cu"],
        lattice: (kind: Fcc100, lattice_constant_a: 3.615, size: (8, 8), substrate_layers: 3),
        rate_model: BondCounting((species: { "Cu": (prefactor_hz: 1e13, barrier_ev: 0.48) },
                                  bonds_ev: [("Cu", "Cu", 0.25)])),
        deposition: [(species: "Cu", flux_ml_per_s: 1.0)],
        stop: (time_s: 0.2),
    )"#,
    )
    .unwrap();
    sim.run().unwrap();
    let times: Vec<f64> = sim
        .series_rows()
        .iter()
        .map(|r| r.split(',').next().unwrap().parse().unwrap())
        .collect();
    // t = 0, 99 scheduled rows up to t = 0.198, then the row at the stop time (and one just
    // before it, when the scheduled 0.2 summed up in floating point lands a hair below it).
    assert!((101..=102).contains(&times.len()), "{times:?}");
    assert!((times.last().unwrap() - 0.2).abs() < 1e-12);
    for (k, t) in times[..100].iter().enumerate() {
        assert!((t - k as f64 * 0.002).abs() < 1e-12, "row {k} at t = {t}");
    }
}
