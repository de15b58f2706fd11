//! The MPI path (feature `mpi`): `mpirun -np P kmc run` writes the same series.csv, snapshots
//! and final state as `kmc run --threads P` (each rank runs one sector of the threads'
//! algorithm), for P = 2, 4 and 16, and what an MPI run cannot do is refused naming the field,
//! with every rank ending. The library's `Sublattice::with_ranks` is checked against
//! `Sublattice::new` the same way, hop log included (this test binary run under mpirun).
//!
//! Needs `mpirun` (MPICH or Open MPI; `.ci/run` installs MPICH): without it each test fails
//! saying so. The ranks may outnumber the cores (MPICH spins while it waits, so four ranks on
//! two busy cores are slow: the runs are kept short).
#![cfg(feature = "mpi")]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{kmc, scratch_dir};

/// Growth with mobile adatoms (weak bonds), snapshots on a schedule.
const SCENARIO: &str = r#"(
    name: "mpi", seed: 7, temperature_k: 300.0, species: ["A"],
    lattice: (kind: Square, lattice_constant_a: 2.5, size: (64, 64)),
    rate_model: BondCounting((
        species: { "A": (prefactor_hz: 1e13, barrier_ev: 0.45) },
        bonds_ev: [("A", "A", 0.3)], count: InLayer)),
    deposition: [(species: "A", flux_ml_per_s: 40.0)],
    stop: (time_s: 0.01),
    output: (series_every_s: 0.00002, snapshot_every_s: 0.0001),
    EXTRA
)"#;

/// `mpirun -np <np> kmc`, oversubscribed if need be.
fn mpirun(np: usize) -> Command {
    mpirun_of(np, Path::new(env!("CARGO_BIN_EXE_kmc")))
}

/// `mpirun -np <np> <program>`, oversubscribed if need be.
fn mpirun_of(np: usize, program: &Path) -> Command {
    let version = Command::new("mpirun").arg("--version").output();
    let Ok(version) = version else {
        panic!(
            "mpirun not found: install an MPI (Debian: apt-get install mpich libmpich-dev \
             libclang-dev; .ci/run does)"
        );
    };
    let mut c = Command::new("mpirun");
    // Open MPI refuses more ranks than cores, and root, unless told; MPICH needs neither.
    if String::from_utf8_lossy(&version.stdout).contains("Open MPI") {
        c.args(["--oversubscribe", "--allow-run-as-root"]);
    }
    c.args(["-np", &np.to_string()]).arg(program);
    c
}

/// Runs `c` to its end, failing the test after two minutes (a rank left waiting would hang).
fn finish(mut c: Command) -> Output {
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("{c:?} did not end within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn write_scenario(dir: &Path, extra: &str) -> std::path::PathBuf {
    let p = dir.join("mpi.ron");
    std::fs::write(&p, SCENARIO.replace("EXTRA", extra)).unwrap();
    p
}

/// `--threads P` and `mpirun -np P` until `until_s`: every output file but the summary is the
/// same, byte for byte, and the summaries count the same events.
fn same_as_threads(np: usize, until_s: &str) {
    let dir = scratch_dir("mpi", &format!("same{np}"));
    let sc = write_scenario(&dir, "");
    let run_args = |out: &str| {
        vec![
            "run".to_string(),
            sc.display().to_string(),
            "--quiet".into(),
            "--until-time".into(),
            until_s.into(),
            "--out".into(),
            dir.join(out).display().to_string(),
        ]
    };
    let mut threads = kmc();
    threads
        .args(run_args("threads"))
        .args(["--threads", &np.to_string()]);
    let t = finish(threads);
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    let mut ranks = mpirun(np);
    ranks.args(run_args("ranks"));
    let r = finish(ranks);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let mut files: Vec<String> = std::fs::read_dir(dir.join("threads"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f != "summary.json")
        .collect();
    files.sort();
    assert!(files.iter().any(|f| f == "series.csv"), "{files:?}");
    assert!(
        files.iter().filter(|f| f.starts_with("snapshot_")).count() >= 4,
        "{files:?}"
    );
    for f in &files {
        let a = std::fs::read(dir.join("threads").join(f)).unwrap();
        let b = std::fs::read(dir.join("ranks").join(f))
            .unwrap_or_else(|e| panic!("{f} missing from the MPI run: {e}"));
        assert!(
            a == b,
            "{f} differs between --threads {np} and mpirun -np {np}"
        );
    }
    let summary = |d: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join(d).join("summary.json")).unwrap()).unwrap()
    };
    let (st, sr) = (summary("threads"), summary("ranks"));
    assert_eq!(st["counters"], sr["counters"]);
    assert_eq!(st["final_observables"], sr["final_observables"]);
    assert_eq!(sr["mpi_ranks"], np);
    assert_eq!(st["mpi_ranks"], 1);
    // A trajectory with something in it: atoms landed and moved.
    let hops = sr["counters"]["hops"].as_u64().unwrap();
    let deposited = sr["counters"]["deposited"].as_u64().unwrap();
    assert!(hops > 1000 && deposited > 20, "{}", sr["counters"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_ranks_follow_the_trajectory_of_two_threads() {
    same_as_threads(2, "0.0012");
}

#[test]
fn four_ranks_follow_the_trajectory_of_four_threads() {
    same_as_threads(4, "0.0004");
}

/// 4 × 4 sectors: each rank exchanges with its 8 neighbours only (the other 7 boxes share no
/// site with its own), and the trajectory is still the threads'.
#[test]
fn sixteen_ranks_exchanging_with_neighbours_only_follow_sixteen_threads() {
    same_as_threads(16, "0.00025");
}

/// An MPI run that cannot be done ends every rank with an error naming the field.
#[test]
fn refused_mpi_runs_name_the_field_and_end_every_rank() {
    let dir = scratch_dir("mpi", "refused");
    let run = |extra: &str, flags: &[&str]| {
        let sc = dir.join("mpi.ron");
        let text = match extra {
            "bad flux" => SCENARIO.replace("EXTRA", "").replace("40.0", "-40.0"),
            _ => SCENARIO.replace("EXTRA", extra),
        };
        std::fs::write(&sc, text).unwrap();
        let mut c = mpirun(2);
        c.args(["run", &sc.display().to_string(), "--quiet", "--out"])
            .arg(dir.join("out"))
            .args(flags);
        let o = finish(c);
        assert!(!o.status.success(), "accepted: {extra} {flags:?}");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let e = run("threads: 4,", &[]);
    assert!(
        e.contains("field `threads`") && e.contains("2 MPI ranks"),
        "{e}"
    );
    let e = run("", &["--checkpoint-every", "100"]);
    assert!(e.contains("threads") && e.contains("2 MPI ranks"), "{e}");
    let e = run("", &["--resume", "nowhere.kmc"]);
    assert!(e.contains("threads") && e.contains("not supported"), "{e}");
    // An error before any sector is cut (rank 0 only reads the scenario).
    let e = run("bad flux", &[]);
    assert!(e.contains("mpi.ron") && e.contains("flux_ml_per_s"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// The library API under mpirun: this test binary runs itself on 2 ranks.

const T: f64 = 300.0;

/// FCC(100) with a 4-layer substrate, mobile atoms (weak bonds) and deposition: hops and
/// exchanges cross the sector edges often.
fn fcc_film() -> (
    kmc::state::State,
    kmc::rates::RateModelSpec,
    Vec<kmc::deposit::AtomDeposition>,
) {
    use kmc::deposit::{AtomDeposition, AtomDepositionSpec, Landing};
    use kmc::lattice::{Lattice, LatticeKind};
    use kmc::rates::*;
    let lat = Lattice::new(LatticeKind::Fcc100, 3.615, [32, 32], 12).unwrap();
    let mut st = kmc::state::State::new(lat);
    st.fill_layers(4, 1).unwrap();
    st.set_frozen_layers(2);
    let spec = RateModelSpec::BondCounting(BondCountingSpec {
        species: std::collections::BTreeMap::from([(
            "A".into(),
            HopParams {
                prefactor_hz: 1e13,
                barrier_ev: 0.45,
            },
        )]),
        bonds_ev: vec![("A".into(), "A".into(), 0.3)],
        count: BondCount::InLayer,
        ehrlich_schwoebel_ev: 0.0,
        exchange_barrier_ev: Some(0.6),
        grain_transfers: false,
    });
    let dep = AtomDepositionSpec {
        species: "A".into(),
        flux_ml_per_s: 5.0,
        polar_deg: 0.0,
        azimuth_deg: 0.0,
        landing: Landing::Supported,
        funnelling: false,
    };
    let ls = st.lattice().layer_size();
    let sources = vec![AtomDeposition::new(&dep, 1, ls, "deposition[0]").unwrap()];
    (st, spec, sources)
}

/// Started by [`sublattice_over_ranks_is_the_threads_run`] under mpirun: rank 0 runs the same
/// cycles with `Sublattice::with_ranks` and with `Sublattice::new` (2 sectors, 1 thread) and
/// compares them; rank 1 serves.
#[test]
#[ignore = "runs under mpirun, started by sublattice_over_ranks_is_the_threads_run"]
fn inner_sublattice_over_ranks() {
    use kmc::parallel::Sublattice;
    use kmc::parallel::mpi::{ModelRecipe, Session};
    let session = Session::start().unwrap();
    if session.rank() > 0 {
        session.serve().unwrap();
        return;
    }
    assert_eq!(session.ranks(), 2);
    let (st, spec, sources) = fcc_film();
    let names = vec!["A".to_string()];
    let model = spec.build(&names, st.lattice(), T).unwrap();
    let build = |lat: &kmc::lattice::Lattice| spec.build(&names, lat, T);
    let recipe = ModelRecipe {
        spec: spec.clone(),
        species: names.clone(),
        temperature_k: T,
    };
    let mut ranks = Sublattice::with_ranks(&st, &model, &recipe, &sources, 11, None).unwrap();
    let mut threads = Sublattice::new(&st, &model, &build, &sources, 11, 2, 1, None).unwrap();
    assert_eq!(ranks.window_s(), threads.window_s());
    assert_eq!(ranks.decomposition(), threads.decomposition());
    ranks.set_hop_log(true);
    threads.set_hop_log(true);
    let (mut gr, mut gt) = (st.clone(), st.clone());
    for round in 0..4 {
        for _ in 0..200 {
            ranks.cycle(ranks.window_s());
            threads.cycle(threads.window_s());
        }
        assert_eq!(ranks.counts(), threads.counts(), "round {round}");
        assert_eq!(ranks.total_rate().to_bits(), threads.total_rate().to_bits());
        assert_eq!(ranks.active_atoms(), threads.active_atoms());
        assert_eq!(ranks.take_hops(), threads.take_hops(), "round {round}");
        assert!(ranks.pending() > 0);
        ranks.sync(&mut gr);
        threads.sync(&mut gt);
        assert_eq!(ranks.pending(), 0);
        assert!(gr.species_map() == gt.species_map(), "round {round}");
    }
    let c = ranks.counts();
    assert!(c.hops > 1000 && c.exchanges > 0 && c.deposited > 0, "{c:?}");
    assert_ne!(gr.species_map(), st.species_map());
    // A second run over the same ranks is refused while this one holds them.
    let e = Sublattice::with_ranks(&st, &model, &recipe, &sources, 12, None).unwrap_err();
    assert!(e.to_string().contains("threads"), "{e}");
}

/// `Sublattice::with_ranks` on 2 ranks follows `Sublattice::new` with 2 sectors: counts,
/// rates, hop log and film, after every 200 cycles.
#[test]
fn sublattice_over_ranks_is_the_threads_run() {
    let me = std::env::current_exe().unwrap();
    let mut c = mpirun_of(2, &me);
    c.args([
        "inner_sublattice_over_ranks",
        "--exact",
        "--ignored",
        "--test-threads=1",
    ]);
    let o = finish(c);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && out.contains("1 passed"),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
