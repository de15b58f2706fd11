//! The embedded MD relaxer: mass conservation, no double occupancy, a perfect crystal left
//! unchanged, neck formation between two Au particles and its convergence, the mapping of a
//! rotated particle, and the hand-over to a KMC engine.

use kmc::lattice::{Lattice, LatticeKind};
use kmc::md::{Eam, Potential, zhou04};
use kmc::relax::bench::{ContactSample, apply_changes};
use kmc::relax::{
    Centre, MapOptions, RegionSpec, RelaxParams, RelaxSpec, Thermostat, cut_region,
    map_region_back, map_to_lattice, relax_contact, relax_region,
};
use kmc::rng::{rng_from_seed, uniform};
use kmc::state::State;

mod common;

fn eam(elements: &[&str]) -> Eam {
    let mut e = Eam::from_setfl(&zhou04::setfl(elements).unwrap()).unwrap();
    // Contact regions hold a few thousand atoms: use both cores.
    e.parallel_threshold = 1024;
    e
}

fn au_a() -> f64 {
    zhou04::element("Au").unwrap().lattice_constant()
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn species_counts(state: &State) -> [u64; 16] {
    let mut c = [0u64; 16];
    for &b in state.cells() {
        c[b.species() as usize] += 1;
    }
    c[0] = 0;
    c
}

/// A bulk crystal, relaxed at 600 K and quenched, comes back to the sites it started on: no
/// change, residual at the level of the quench tolerance. The box is small enough laterally
/// that the region wraps onto itself, so the periodic path is exercised too.
#[test]
fn perfect_crystal_region_comes_back_unchanged() {
    let pot = eam(&["Au"]);
    let lat = Lattice::new(LatticeKind::Fcc100, au_a(), [6, 6], 26).unwrap();
    let mut state = State::new(lat);
    state.fill_layers(24, 1).unwrap();
    let centre = state.lattice().site(6, 6, 12).idx;
    let spec = RegionSpec {
        centre: Centre::Site(centre),
        radius_a: 8.0,
        frozen_shell_a: pot.cutoff(),
    };
    let region = cut_region(&state, &spec).unwrap();
    assert!(region.simbox.periodic[0] && region.simbox.periodic[1]);
    let params = RelaxParams {
        temperature_k: 600.0,
        md_time_ps: 1.0,
        min_md_time_ps: 1.0,
        settle_window_ps: 0.5,
        seed: 3,
        ..Default::default()
    };
    let out = relax_contact(&state, &names(&["Au"]), &pot, &spec, &params).unwrap();
    assert_eq!(out.mobile_atoms, region.n_mobile);
    assert!(out.mobile_atoms > 100, "{}", out.mobile_atoms);
    assert!(out.changes.is_empty(), "{:?}", out.changes);
    assert_eq!(out.moved_atoms, 0);
    assert!(out.mapping.off_lattice.is_empty());
    // Quenched to 0.02 eV/Å: with a bulk force constant of a few eV/Å² the atoms sit within
    // ~0.01 Å of their sites; the frozen shell (one cutoff) leaves the outermost densities
    // slightly short, which the 0.05 Å bound on the largest residual allows for.
    assert!(out.quench_converged);
    eprintln!(
        "perfect crystal: {} mobile, {} frozen, residual mean {:.4} Å, max {:.4} Å",
        out.mobile_atoms, out.frozen_atoms, out.mapping.mean_residual_a, out.mapping.max_residual_a
    );
    assert!(
        out.mapping.mean_residual_a < 0.01 && out.mapping.max_residual_a < 0.05,
        "residual mean {} max {}",
        out.mapping.mean_residual_a,
        out.mapping.max_residual_a
    );
    assert!(
        (out.energy_mapped_ev - out.energy_initial_ev).abs() < 1e-6 * out.energy_initial_ev.abs()
    );
}

/// Sites distinct, none held by an atom that stayed on the lattice.
fn assert_valid_mapping(state: &State, released: &[usize], sites: &[usize]) {
    let mut sorted = sites.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), sites.len(), "a site was given to two atoms");
    let n = state.lattice().n_sites();
    for &s in sites {
        if s < n && state.cell(s).occupied() {
            assert!(
                released.contains(&s),
                "site {s} is held by an atom outside the region"
            );
        }
    }
}

/// Two successive relaxations of a random Au–Ag pair (species named in another order than the
/// potential's elements): the atom count and every species count stay exact, no site is
/// doubly occupied, and the coordination bookkeeping of the result is consistent.
#[test]
fn relaxations_conserve_every_species_and_never_double_occupy() {
    let pot = eam(&["Au", "Ag"]);
    let pair = ContactSample::two_particles(2.0, au_a()).unwrap();
    let mut state = pair.state.clone();
    let mut rng = rng_from_seed(5);
    let occupied: Vec<usize> = (0..state.lattice().n_sites())
        .filter(|&i| state.cell(i).occupied())
        .collect();
    for &i in &occupied {
        if uniform(&mut rng) < 0.5 {
            state.set_species(i, 2);
        }
    }
    let species = names(&["Ag", "Au"]);
    let counts = species_counts(&state);
    assert!(counts[1] > 100 && counts[2] > 100);
    let centres = [pair.contact, occupied[occupied.len() / 3]];
    for (k, &c) in centres.iter().enumerate() {
        let spec = RegionSpec {
            centre: Centre::Site(c),
            radius_a: 9.0,
            frozen_shell_a: pot.cutoff(),
        };
        let params = RelaxParams {
            temperature_k: 600.0,
            md_time_ps: 1.0,
            min_md_time_ps: 1.0,
            settle_window_ps: 0.5,
            seed: 10 + k as u64,
            ..Default::default()
        };
        let region = cut_region(&state, &spec).unwrap();
        let out = relax_contact(&state, &species, &pot, &spec, &params).unwrap();
        assert_valid_mapping(&state, &region.sites[..region.n_mobile], &out.mapping.sites);
        for (i, &s) in out.mapping.sites.iter().enumerate() {
            // Species travel with their atoms.
            assert_eq!(out.mapping.species[i], region.species[i]);
            let _ = s;
        }
        apply_changes(&mut state, out.mapping.layers_needed, &out.changes);
        assert_eq!(species_counts(&state), counts, "relaxation {k}");
        assert_eq!(state.rebuild_derived(), 0);
    }
}

/// A 3 nm particle built in Cartesian space and rotated by 15° about the surface normal has
/// no lattice registry; handed to `map_to_lattice` every atom still gets its own site, none is
/// lost, and the residual and off-lattice atoms are reported.
#[test]
fn rotated_particle_maps_onto_distinct_sites() {
    let a = au_a();
    let lat = Lattice::new(LatticeKind::Fcc100, a, [14, 14], 30).unwrap();
    // Centred on the periodic boundary along x, so the mapping must wrap.
    let centre = lat.position(&lat.site(0, 14, 12));
    let (r, angle) = (15.0f64, 15f64.to_radians());
    let (c, s) = (angle.cos(), angle.sin());
    let mut atoms = Vec::new();
    let m = (r / a).ceil() as i64 + 1;
    for i in -m..=m {
        for j in -m..=m {
            for k in -m..=m {
                for b in [
                    [0.0, 0.0, 0.0],
                    [0.5, 0.5, 0.0],
                    [0.5, 0.0, 0.5],
                    [0.0, 0.5, 0.5],
                ] {
                    let p = [
                        (i as f64 + b[0]) * a,
                        (j as f64 + b[1]) * a,
                        (k as f64 + b[2]) * a,
                    ];
                    if p[0] * p[0] + p[1] * p[1] + p[2] * p[2] <= r * r {
                        let q = [c * p[0] - s * p[1], s * p[0] + c * p[1], p[2]];
                        let sp = if atoms.len() % 3 == 0 { 2 } else { 1 };
                        atoms.push((sp, [centre[0] + q[0], centre[1] + q[1], centre[2] + q[2]]));
                    }
                }
            }
        }
    }
    assert!(atoms.len() > 800, "{}", atoms.len());
    let mapping = map_to_lattice(&lat, &|_| false, &atoms, &MapOptions::default()).unwrap();
    let empty = State::new(lat.clone());
    assert_valid_mapping(&empty, &[], &mapping.sites);
    assert_eq!(mapping.sites.len(), atoms.len());
    assert!(mapping.species.iter().zip(&atoms).all(|(a, b)| *a == b.0));
    // Lower bound: the mean distance of each atom to its nearest site, which no assignment
    // can beat; the optimal one stays close to it because the rotated crystal has the
    // lattice's density. The in-plane net is square with spacing nn, so no atom is farther
    // than nn/√2 from its nearest site.
    let nn = lat.nn_distance();
    let mut nearest_sum = 0.0;
    for (_, p) in &atoms {
        let mut best = f64::INFINITY;
        for l in 0..lat.layers() {
            let s = lat.nearest_in_layer(p[0], p[1], l);
            let q = lat.position(&s);
            let [lx, ly] = lat.box_lengths();
            let dx = (q[0] - p[0]) - lx * ((q[0] - p[0]) / lx).round();
            let dy = (q[1] - p[1]) - ly * ((q[1] - p[1]) / ly).round();
            let d = (dx * dx + dy * dy + (q[2] - p[2]).powi(2)).sqrt();
            best = best.min(d);
        }
        nearest_sum += best;
    }
    let nearest_mean = nearest_sum / atoms.len() as f64;
    let d = &mapping;
    eprintln!(
        "rotated particle: {} atoms, residual mean {:.3} Å (nearest-site mean {nearest_mean:.3} Å), max {:.3} Å, {} off-lattice, {} widenings",
        atoms.len(),
        d.mean_residual_a,
        d.max_residual_a,
        d.off_lattice.len(),
        d.widenings
    );
    assert!(
        d.mean_residual_a >= nearest_mean - 1e-9,
        "{} < {nearest_mean}",
        d.mean_residual_a
    );
    assert!(
        d.mean_residual_a < 1.3 * nearest_mean && d.mean_residual_a < 0.5 * nn,
        "mean residual {} vs nearest-site mean {nearest_mean}",
        d.mean_residual_a
    );
    assert!(
        d.max_residual_a < 1.5 * nn,
        "max residual {}",
        d.max_residual_a
    );
    // Off-lattice atoms are those beyond nn/4, reported with their distance.
    let beyond = atoms
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            let v = d.displacements_a[*i];
            (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt() > 0.25 * nn
        })
        .count();
    assert_eq!(d.off_lattice.len(), beyond);
    assert!(beyond > atoms.len() / 4, "{beyond} off-lattice atoms");
    assert!(
        d.off_lattice
            .iter()
            .all(|o| o.distance_a > 0.25 * nn && o.distance_a <= d.max_residual_a)
    );
}

#[test]
fn handing_back_the_wrong_atoms_or_missing_species_is_an_error() {
    let pair = ContactSample::two_particles(1.5, au_a()).unwrap();
    let state = &pair.state;
    let released: Vec<usize> = (0..state.lattice().n_sites())
        .filter(|&i| state.cell(i).occupied())
        .take(10)
        .collect();
    let mut atoms: Vec<(u8, [f64; 3])> = released
        .iter()
        .map(|&i| (1, state.lattice().position_of(i)))
        .collect();
    let (m, changes) = map_region_back(state, &released, &atoms, &MapOptions::default()).unwrap();
    assert!(changes.is_empty() && m.max_residual_a < 1e-9);
    atoms.pop();
    let e = map_region_back(state, &released, &atoms, &MapOptions::default()).unwrap_err();
    assert!(e.to_string().contains("neither lost nor created"), "{e}");
    let pot = eam(&["Au"]);
    let spec = RegionSpec {
        centre: Centre::Site(pair.contact),
        radius_a: 6.0,
        frozen_shell_a: pot.cutoff(),
    };
    let e = relax_contact(
        state,
        &names(&["Au", "Cu"]),
        &pot,
        &spec,
        &RelaxParams::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("`Cu` has no element"), "{e}");
    let thin = RegionSpec {
        frozen_shell_a: 2.0,
        ..spec
    };
    let e =
        relax_contact(state, &names(&["Au"]), &pot, &thin, &RelaxParams::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("thinner than the potential's cutoff"),
        "{e}"
    );
}

/// The outcome is what `Engine::ensure_layers` + `Engine::apply` take: afterwards the engine's
/// cached rates equal recomputed ones and the engine's state is the relaxed state. The region
/// holds an adatom placed on a site directly above a surface atom, two layers up (at the
/// second-neighbour distance, no support): MD drops it into a hollow of the layer below, so
/// the lattice must change.
#[test]
fn relaxed_adatom_is_applied_to_a_kmc_engine() {
    use kmc::engine::Engine;
    use kmc::rates::{BondCount, BondCountingSpec, HopParams, RateModelSpec};
    use kmc::sampler::SamplerKind;
    let pot = eam(&["Au"]);
    let species = names(&["Au"]);
    let lat = Lattice::new(LatticeKind::Fcc100, au_a(), [6, 6], 14).unwrap();
    let mut state = State::new(lat);
    state.fill_layers(6, 1).unwrap();
    state.set_frozen_layers(2);
    let top = state.lattice().site(3, 6, 5);
    let above = state.lattice().site(3, 6, 7);
    assert!(state.cell(top.idx).occupied());
    let p_top = state.lattice().position(&top);
    let p_above = state.lattice().position(&above);
    assert!((p_above[0] - p_top[0]).abs() < 1e-9 && (p_above[1] - p_top[1]).abs() < 1e-9);
    state.place(&above, 1);
    let model = RateModelSpec::BondCounting(BondCountingSpec {
        species: [(
            "Au".to_string(),
            HopParams {
                prefactor_hz: 1e13,
                barrier_ev: 0.4,
            },
        )]
        .into_iter()
        .collect(),
        bonds_ev: vec![("Au".into(), "Au".into(), 0.2)],
        count: BondCount::InLayer,
        ehrlich_schwoebel_ev: 0.0,
        exchange_barrier_ev: None,
        grain_transfers: false,
    })
    .build(&species, state.lattice(), 600.0)
    .unwrap();
    let mut engine = Engine::new(
        state.clone(),
        model,
        SamplerKind::SumTree.build(0),
        Vec::new(),
        rng_from_seed(1),
    );
    let spec = RegionSpec {
        centre: Centre::Site(above.idx),
        radius_a: 8.0,
        frozen_shell_a: pot.cutoff(),
    };
    let region = cut_region(engine.state(), &spec).unwrap();
    // The substrate's frozen layers stay fixed even inside the sphere.
    assert!(
        region.sites[..region.n_mobile]
            .iter()
            .all(|&s| s / state.lattice().layer_size() >= 2)
    );
    let params = RelaxParams {
        temperature_k: 600.0,
        md_time_ps: 2.0,
        seed: 4,
        ..Default::default()
    };
    let out = relax_contact(engine.state(), &species, &pot, &spec, &params).unwrap();
    let ls = state.lattice().layer_size();
    assert!(
        out.changes.contains(&(above.idx, 0))
            && out.changes.iter().any(|&(s, sp)| sp == 1 && s / ls == 6),
        "the adatom drops from layer 7 to layer 6: {:?}",
        out.changes
    );
    let mut expected = state.clone();
    apply_changes(&mut expected, out.mapping.layers_needed, &out.changes);
    engine.ensure_layers(out.mapping.layers_needed);
    engine.apply(&out.changes);
    let (worst, ok) = engine.verify();
    assert!(ok && worst == 0.0, "stale rates after apply: {worst}");
    assert_eq!(engine.state().n_atoms(), state.n_atoms());
    let n = expected
        .lattice()
        .n_sites()
        .min(engine.state().lattice().n_sites());
    assert_eq!(&engine.state().cells()[..n], &expected.cells()[..n]);
}

/// Relaxes the 3 nm pair around its contact with MD seed `seed` and returns the contact-plane
/// atoms after.
fn neck_after(
    pair: &ContactSample,
    pot: &Eam,
    region_radius_a: f64,
    md_time_ps: f64,
    seed: u64,
) -> usize {
    let spec = RegionSpec {
        centre: Centre::Site(pair.contact),
        radius_a: region_radius_a,
        frozen_shell_a: pot.cutoff(),
    };
    // The sphere-cut region of contacts too large to release whole, as it was measured: a
    // Langevin bath of 100 fs.
    let params = RelaxParams {
        temperature_k: 600.0,
        md_time_ps,
        early_stop: false,
        thermostat: Thermostat::Langevin { damping_fs: 100.0 },
        seed,
        ..Default::default()
    };
    let out = relax_contact(&pair.state, &names(&["Au"]), pot, &spec, &params).unwrap();
    let mut after = pair.state.clone();
    apply_changes(&mut after, out.mapping.layers_needed, &out.changes);
    assert_eq!(after.n_atoms(), pair.state.n_atoms());
    assert!(out.mapping.off_lattice.is_empty());
    pair.neck_atoms(&after)
}

/// Neck radius from contact-plane atoms, as `ContactSample::neck_radius_a` computes it.
fn neck_radius(n: usize) -> f64 {
    (n as f64 * au_a() * au_a() / 2.0 / std::f64::consts::PI).sqrt()
}

/// Seeds of the MD in the neck-convergence tests.
const NECK_SEEDS: [u64; 3] = [1, 2, 3];

/// The mean of `changes` (one per seed) is within ±`bound` with one-sided α = 0.05 at each end:
/// the 90 % confidence interval of the mean change lies inside [−bound, bound] (an equivalence
/// test, k from Student's t with n − 1 degrees of freedom). A mean change of `bound` or more
/// passes with probability at most 0.05.
fn assert_converged(what: &str, changes: &[f64], bound: f64) {
    let k = common::student_t_k(0.1, changes.len() - 1);
    let (m, se) = if changes.iter().all(|&c| c == changes[0]) {
        (changes[0], 0.0)
    } else {
        (common::mean(changes), common::std_error(changes))
    };
    eprintln!("{what}: changes {changes:?} Å, mean {m:.3} ± {se:.3} Å, k = {k:.2}");
    assert!(
        m.abs() + k * se < bound,
        "{what}: mean change {m:.3} ± {se:.3} Å over {changes:?}: the 90 % interval (k = \
         {k:.2}) is not inside ±{bound} Å"
    );
}

/// Two 3 nm Au particles cut from the lattice and touching at one site, relaxed at 600 K
/// (region radius = particle radius, 15 Å): a neck forms (one contact-plane atom before, at
/// least 8 after 10 ps for every seed), and doubling the MD time from 10 to 20 ps (the same
/// trajectory, continued) changes the neck radius by less than 0.5 Å, about two atoms of the
/// contact plane at a 6 Å neck: over three MD seeds the 90 % interval of the mean change lies
/// inside ±0.5 Å (one-sided α = 0.05 at each end). `kmc bench relax` measured 12–13 atoms at
/// 10 ps and 13 at 20 ps, while 5 ps was not yet converged (10–12 atoms); a neck still growing
/// by a few atoms per 10 ps fails.
#[test]
fn two_gold_particles_form_a_neck_converged_in_md_time() {
    let pot = eam(&["Au"]);
    let pair = ContactSample::two_particles(3.0, au_a()).unwrap();
    assert_eq!(pair.neck_atoms(&pair.state), 1);
    let changes: Vec<f64> = NECK_SEEDS
        .iter()
        .map(|&seed| {
            let n10 = neck_after(&pair, &pot, 15.0, 10.0, seed);
            let n20 = neck_after(&pair, &pot, 15.0, 20.0, seed);
            assert!(
                n10 >= 8,
                "seed {seed}: no neck after 10 ps: {n10} contact-plane atoms"
            );
            let (r10, r20) = (neck_radius(n10), neck_radius(n20));
            eprintln!(
                "seed {seed}: neck {n10} atoms ({r10:.2} Å) at 10 ps, {n20} ({r20:.2} Å) at 20 ps"
            );
            r20 - r10
        })
        .collect();
    assert_converged("neck radius, 20 ps - 10 ps", &changes, 0.5);
}

/// The same contact with the region shrunk from the particle radius (15 Å) to two thirds of
/// it: the frozen shell does not pin the neck; over six MD seeds at 10 ps the 90 % interval of
/// the mean change of the neck radius lies inside ±0.5 Å (three seeds were too few: single
/// seeds differ by up to two contact-plane atoms, 0.45 Å, either way). `kmc bench relax` measured mean
/// contact-plane counts over four seeds of 12.75 (10 Å), 12.75 (12.5 Å), 12.75 (15 Å) and 14.25
/// (17.5 Å) atoms; from 20 Å on the region reaches past the particle centres, the particles
/// start to turn against each other and the mapping reports off-lattice atoms.
#[test]
fn neck_radius_is_converged_in_region_radius() {
    let pot = eam(&["Au"]);
    let pair = ContactSample::two_particles(3.0, au_a()).unwrap();
    let changes: Vec<f64> = (1..=6)
        .map(|seed| {
            let small = neck_radius(neck_after(&pair, &pot, 10.0, 10.0, seed));
            let large = neck_radius(neck_after(&pair, &pot, 15.0, 10.0, seed));
            eprintln!(
                "seed {seed}: neck radius {small:.2} Å (10 Å region), {large:.2} Å (15 Å region)"
            );
            large - small
        })
        .collect();
    assert_converged("neck radius, 15 Å region - 10 Å region", &changes, 0.5);
}

/// Two 2 nm Au spheres (473 atoms) touching at one site, released whole under the default
/// Nosé–Hoover thermostat at 600 K for 4 ps: the neck grows and the centres approach, as in
/// free MD (`kmc bench relax --whole --d-nm 2 --radii 10 --times 6 --no-early-stop --seeds
/// 1,2,3` gives a neck of 3.1 → 7.9–8.7 Å and centres 20.4 → 13.9–14.9 Å at 6 ps). Per seed the
/// neck must grow by more than 1.5 Å and the centres approach by more than 1.5 Å, and over
/// three seeds the mean growth less twice its standard error must exceed 2 Å: a relaxer that
/// pins the bodies (a frozen shell at one radius, the old Langevin sphere) grows the neck by
/// about 1 Å in this time and leaves the centres where they were.
#[test]
fn whole_particles_snap_together_as_in_free_md() {
    let pot = eam(&["Au"]);
    let pair = ContactSample::two_particles(2.0, au_a()).unwrap();
    let region = pair.region(10.0, pot.cutoff(), true);
    let mut growth = Vec::new();
    for seed in [1, 2, 3] {
        let params = RelaxParams {
            temperature_k: 600.0,
            md_time_ps: 4.0,
            early_stop: false,
            seed,
            ..Default::default()
        };
        let out = relax_region(&pair.state, &names(&["Au"]), &pot, &region, &params).unwrap();
        assert_eq!(out.frozen_atoms, 0, "two free particles: nothing frozen");
        assert!(out.momentum_zeroed);
        assert!(out.bodies[0].whole && out.bodies[1].whole);
        assert_eq!(out.mobile_atoms, pair.state.n_atoms() as usize);
        assert!(out.moved_atoms > 0, "seed {seed}: no atom moved");
        let dn = out.neck_after_a - out.neck_before_a;
        let dc = out.centre_distance_before_a - out.centre_distance_after_a;
        eprintln!(
            "seed {seed}: neck {:.2} -> {:.2} A, centres {:.2} -> {:.2} A, rotations {:.1}, {:.1} deg",
            out.neck_before_a,
            out.neck_after_a,
            out.centre_distance_before_a,
            out.centre_distance_after_a,
            out.bodies[0].rotation_deg,
            out.bodies[1].rotation_deg
        );
        assert!(dn > 1.5, "seed {seed}: neck grew by {dn:.2} A");
        assert!(dc > 1.5, "seed {seed}: centres approached by {dc:.2} A");
        let mut after = pair.state.clone();
        apply_changes(&mut after, out.mapping.layers_needed, &out.changes);
        assert_eq!(species_counts(&after), species_counts(&pair.state));
        growth.push(dn);
    }
    let (m, se) = (common::mean(&growth), common::std_error(&growth));
    assert!(
        m - 2.0 * se > 2.0,
        "neck growth {growth:?}: mean {m:.2} +- {se:.2} A"
    );
}

/// The settle criterion stops a settled region early and lets an unsettled contact run to the
/// cap. A bulk crystal (no bodies: the energy rate alone decides) is settled once its atoms
/// have their thermal energy: it stops at the first test, after the minimum time, far below
/// the cap. The 2 nm pair of the test above is still snapping together (neck growing by about
/// 0.8 Å/ps, four times the threshold) over its first 4 ps: it runs to the 4 ps cap.
#[test]
fn settle_criterion_stops_settled_and_runs_unsettled_to_the_cap() {
    let pot = eam(&["Au"]);
    let lat = Lattice::new(LatticeKind::Fcc100, au_a(), [6, 6], 26).unwrap();
    let mut state = State::new(lat);
    state.fill_layers(24, 1).unwrap();
    let spec = RegionSpec {
        centre: Centre::Site(state.lattice().site(6, 6, 12).idx),
        radius_a: 8.0,
        frozen_shell_a: pot.cutoff(),
    };
    let params = RelaxParams {
        temperature_k: 600.0,
        md_time_ps: 10.0,
        min_md_time_ps: 1.0,
        settle_fit_windows: 4,
        seed: 4,
        ..Default::default()
    };
    let out = relax_contact(&state, &names(&["Au"]), &pot, &spec, &params).unwrap();
    assert!(out.settled, "a bulk crystal is settled");
    assert!(
        out.md_time_ps <= 2.0 + 1e-9,
        "stopped at {} ps, not at the first test (2 ps)",
        out.md_time_ps
    );
    assert_eq!(out.window_energies_ev.len(), 4);

    let pair = ContactSample::two_particles(2.0, au_a()).unwrap();
    let region = pair.region(10.0, pot.cutoff(), true);
    let params = RelaxParams {
        md_time_ps: 4.0,
        ..params
    };
    let out = relax_region(&pair.state, &names(&["Au"]), &pot, &region, &params).unwrap();
    assert!(!out.settled, "necks {:?}", out.window_necks_a);
    assert!((out.md_time_ps - 4.0).abs() < 1e-6, "{} ps", out.md_time_ps);
    assert_eq!(out.window_necks_a.len(), 8);
}

/// Bad settings are refused naming the field: a thermostat time constant ≤ 0, fewer than two
/// fit windows, a negative rate threshold, a Nosé–Hoover bath at 0 K, and region radii below
/// the potential's cutoff (scenario settings).
#[test]
fn bad_contact_settings_name_their_field() {
    let bad = |p: RelaxParams, field: &str| {
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains(field), "{field}: {e}");
    };
    let ok = RelaxParams::default();
    bad(
        RelaxParams {
            thermostat: Thermostat::NoseHoover { tau_fs: 0.0 },
            ..ok
        },
        "relax.thermostat.tau_fs",
    );
    bad(
        RelaxParams {
            thermostat: Thermostat::Langevin { damping_fs: -1.0 },
            ..ok
        },
        "relax.thermostat.damping_fs",
    );
    bad(
        RelaxParams {
            settle_fit_windows: 1,
            ..ok
        },
        "relax.settle_fit_windows",
    );
    bad(
        RelaxParams {
            settle_neck_rate_a_per_ps: -0.1,
            ..ok
        },
        "relax.settle_neck_rate_a_per_ps",
    );
    bad(
        RelaxParams {
            settle_energy_rate_ev_per_ps: f64::NAN,
            ..ok
        },
        "relax.settle_energy_rate_ev_per_ps",
    );
    bad(
        RelaxParams {
            temperature_k: 0.0,
            ..ok
        },
        "relax.temperature_k",
    );
    let au = names(&["Au"]);
    let cutoff = eam(&["Au"]).cutoff();
    for (spec, field) in [
        (
            RelaxSpec {
                region_radius_a: Some(0.5 * cutoff),
                ..RelaxSpec::default()
            },
            "relax.region_radius_a",
        ),
        (
            RelaxSpec {
                max_region_radius_a: Some(cutoff - 0.01),
                ..RelaxSpec::default()
            },
            "relax.max_region_radius_a",
        ),
    ] {
        let e = spec.validate(&au).unwrap_err().to_string();
        assert!(e.contains(field) && e.contains("cutoff"), "{field}: {e}");
    }
    let fine = RelaxSpec {
        region_radius_a: Some(cutoff),
        ..RelaxSpec::default()
    };
    fine.validate(&au).unwrap();
}
