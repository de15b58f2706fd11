//! Nanoparticle deposition end to end: landing never overlaps, every landing is a contact, the
//! tracker's partition stays exact, unplaceable particles are reported, particle runs resume
//! byte-identically and `kmc particle build` writes what it says.

use kmc::engine::{Engine, Source, Step};
use kmc::lattice::{Lattice, LatticeKind};
use kmc::particle::{
    Composition, ParticleDeposition, ParticleDepositionSpec, ResolvedComposition, Shape,
    SizeDistribution,
};
use kmc::rates::*;
use kmc::rng::rng_from_seed;
use kmc::sampler::{AnySampler, SamplerKind};
use kmc::scenario::LoadedScenario;
use kmc::simulation::Simulation;
use kmc::state::State;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

fn kmc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kmc"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kmc-particles-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Hops so slow (1.6 eV at 300 K: ~1e-14 /s) that every event is a deposition.
fn frozen_engine(
    kind: LatticeKind,
    size: usize,
    flux: f64,
    d_nm: f64,
) -> Engine<AnyRateModel, AnySampler> {
    let lat = Lattice::new(kind, 4.08, [size, size], 12).unwrap();
    let mut st = State::new(lat);
    st.fill_layers(2, 1).unwrap();
    let model = RateModelSpec::BondCounting(BondCountingSpec {
        species: BTreeMap::from([(
            "Au".into(),
            HopParams {
                prefactor_hz: 1e13,
                barrier_ev: 1.6,
            },
        )]),
        bonds_ev: vec![("Au".into(), "Au".into(), 0.2)],
        count: BondCount::InLayer,
        ehrlich_schwoebel_ev: 0.0,
        exchange_barrier_ev: None,
    })
    .build(&["Au".into()], st.lattice(), 300.0)
    .unwrap();
    let spec = ParticleDepositionSpec {
        flux_per_nm2_s: flux,
        size: SizeDistribution::Normal {
            mean_nm: d_nm,
            sd_nm: 0.15 * d_nm,
        },
        shape: Shape::TruncatedOctahedron,
        composition: Composition::Pure("Au".into()),
    };
    let src =
        ParticleDeposition::new(&spec, ResolvedComposition::Pure(1), st.lattice(), "p").unwrap();
    let mut e = Engine::new(
        st,
        model,
        SamplerKind::SumTree.build(0),
        vec![Source::Particles(src)],
        rng_from_seed(3),
    );
    e.enable_contacts(2, 10);
    e
}

#[test]
fn deposited_particles_never_overlap_and_every_landing_is_a_contact() {
    // 60 particles of ~1.2 nm pile up on a 6.5 nm box (several layers of particles), on two
    // surface orientations. After every deposition the atom count must be the substrate plus
    // every particle's atoms (an overlap would lose one), and the newcomer must have touched
    // something: a new body always raises a contact.
    for kind in [LatticeKind::Fcc100, LatticeKind::Fcc111] {
        let mut e = frozen_engine(kind, 16, 1e3, 1.2);
        let substrate = e.state().n_atoms();
        for k in 0..60 {
            assert_eq!(e.step_until(f64::INFINITY), Step::Executed);
            let c = e.counters();
            assert_eq!(c.particles_deposited, k + 1, "{kind:?}: every draw fits");
            let occupied = e.state().cells().iter().filter(|&&b| b >= 16).count() as u64;
            assert_eq!(
                occupied,
                substrate + c.particle_atoms_deposited,
                "{kind:?} overlap"
            );
            assert!(
                !e.take_contacts().is_empty(),
                "{kind:?}: particle {k} touched nothing"
            );
        }
        let mut st = e.state().clone();
        assert_eq!(st.rebuild_derived(), 0);
        let t = e.contacts_mut().unwrap();
        assert!(t.verify(&st));
        assert_eq!(t.particles().len(), 60);
        // The pile grew well above the substrate: the lattice was extended on demand.
        assert!(st.top_layer().unwrap() > 12, "{kind:?}");
    }
}

#[test]
fn particles_wider_than_the_box_are_counted_and_explained() {
    // Log-normal diameters with median 1.4 nm and σ = 0.6 on a 3.3 nm box: the tail of the
    // draws (a few per cent to a tenth) is wider than the box with its neighbour shell.
    let text = r#"(
        name: "wide",
        seed: 5,
        temperature_k: 300.0,
        species: ["Au"],
        lattice: (kind: Fcc100, lattice_constant_a: 4.08, size: (8, 8), substrate_layers: 2),
        rate_model: BondCounting((
            species: { "Au": (prefactor_hz: 1e13, barrier_ev: 1.6) },
            bonds_ev: [("Au", "Au", 0.2)],
            count: InLayer,
        )),
        particles: [
            (flux_per_nm2_s: 1.0, size: LogNormal(median_nm: 1.4, sigma: 0.6), composition: Pure("Au")),
        ],
        stop: (events: 300),
    )"#;
    let mut sim = Simulation::new(LoadedScenario::from_text(text.into(), None).unwrap()).unwrap();
    assert_eq!(sim.run_events(300), 300);
    let c = sim.counters();
    assert_eq!(c.particles_deposited + c.particles_unplaceable, 300);
    assert!(
        c.particles_unplaceable > 0 && c.particles_deposited > 200,
        "{c:?}"
    );
    let msgs = sim.engine().unplaceable_messages();
    assert!(!msgs.is_empty() && msgs.len() <= 10);
    assert!(
        msgs[0].contains("nm particle") && msgs[0].contains("box"),
        "{}",
        msgs[0]
    );
}

#[test]
fn particle_run_writes_its_files_and_resumes_byte_identically() {
    let scenario = "tests/scenarios/good/particle_film.ron";
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
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let stdout = run(&["--out", whole.to_str().unwrap()]);
    assert!(stdout.contains("particles:"), "{stdout}");
    run(&[
        "--out",
        split.to_str().unwrap(),
        "--events",
        "25000",
        "--checkpoint-every",
        "10000",
    ]);
    let ck = split.join("checkpoint.kmc");
    run(&[
        "--out",
        split.to_str().unwrap(),
        "--resume",
        ck.to_str().unwrap(),
    ]);
    for f in [
        "series.csv",
        "particles.csv",
        "necks.csv",
        "contacts.csv",
        "final.xyz",
        "gr_final.csv",
        "xrd_final.csv",
    ] {
        let a = std::fs::read(whole.join(f)).unwrap();
        let b = std::fs::read(split.join(f)).unwrap();
        assert!(
            a == b,
            "{f} differs between the uninterrupted and the resumed run"
        );
    }
    for f in [
        "neck_radius.png",
        "particles_coverage.png",
        "surface_fraction.png",
    ] {
        let bytes = std::fs::read(whole.join(f)).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
    }
    // The two initial particles touch each other and the substrate at t = 0.
    let contacts = std::fs::read_to_string(whole.join("contacts.csv")).unwrap();
    let first: Vec<&str> = contacts.lines().skip(1).take(2).collect();
    assert!(
        first.iter().any(|l| l.starts_with("0,merge,")),
        "{contacts}"
    );
    assert!(
        first.iter().any(|l| l.starts_with("0,substrate,")),
        "{contacts}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(whole.join("summary.json")).unwrap())
            .unwrap();
    let p = &summary["particles"];
    assert!(p["particles_deposited"].as_u64().unwrap() > 0);
    assert_eq!(p["particles_unplaceable"].as_u64(), Some(0));
    let series = std::fs::read_to_string(whole.join("series.csv")).unwrap();
    assert!(
        series
            .lines()
            .next()
            .unwrap()
            .contains(",neck_radius_mean_a,")
    );
    assert!(
        series
            .lines()
            .next()
            .unwrap()
            .ends_with(",percolating_x,percolating_y")
    );
}

#[test]
fn particle_build_writes_an_extended_xyz() {
    let dir = tmp("build");
    let out = dir.join("p.xyz");
    let res = kmc()
        .args([
            "particle",
            "build",
            "--shape",
            "truncated-octahedron",
            "--d-nm",
            "3",
            "--core",
            "Cu",
            "--shell",
            "Ag:0.5nm",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    let n: usize = lines.next().unwrap().parse().unwrap();
    assert!(lines.next().unwrap().contains("pbc=\"F F F\""));
    let atoms: Vec<&str> = lines.collect();
    assert_eq!(atoms.len(), n);
    let cu = atoms.iter().filter(|l| l.starts_with("Cu ")).count();
    let ag = atoms.iter().filter(|l| l.starts_with("Ag ")).count();
    assert_eq!(cu + ag, n);
    // Cu's Zhou 2004 lattice constant (3.615 Å): the regular truncated octahedron of 3 nm
    // equal-volume diameter holds 1289 sites (π d³/6 / Ω = 1196 within the plane
    // discreteness); a 0.5 nm Ag shell leaves 225 Cu atoms inside.
    assert_eq!((n, cu), (1289, 225));
    // Shell atoms lie less than 5 Å deep, core atoms at least 5 Å.
    for l in &atoms {
        let f: Vec<&str> = l.split_whitespace().collect();
        let depth: f64 = f[4].parse().unwrap();
        assert_eq!(f[0] == "Cu", depth >= 5.0 - 1e-6, "{l}");
    }
    // Unknown elements without --a are refused with a message.
    let res = kmc()
        .args(["particle", "build", "--d-nm", "2", "--core", "Xx", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&res.stderr).contains("no Zhou 2004 parameters for `Xx`"));
}
