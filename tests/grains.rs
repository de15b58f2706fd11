//! Grains' orientations (issue 13, item 1): random orientations are uniform on SO(3), cubic
//! misorientations of random pairs follow Mackenzie's distribution, and an MD structure built
//! with a given orientation has the crystal orientation that analysis measures.
//!
//! Seeds are fixed, so every statistical test is deterministic; thresholds are p > 0.001, which
//! a correct sampler passes with probability 0.999 for an arbitrary seed, and each test shows
//! that a biased sampler fails it.

use kmc::grains::OrientationSpec;
use kmc::observe::analyze::fcc_orientation;
use kmc::rng::{Stream, stream};
use kmc::rotation::{self, Quaternion, angle_deg, cubic_misorientation_deg};
use rand::RngExt;

mod common;
use common::ks_test;

/// Haar measure: the rotation angle θ has density (1 − cos θ)/π on [0, π], so its CDF is
/// (θ − sin θ)/π (e.g. Miles, Biometrika 52, 636 (1965)).
fn haar_angle_cdf(deg: f64) -> f64 {
    let t = deg.to_radians();
    (t - t.sin()) / std::f64::consts::PI
}

fn random_orientations(n: usize, seed: u64) -> Vec<Quaternion> {
    let mut rng = stream(seed, Stream::Orientation(0));
    (0..n)
        .map(|_| OrientationSpec::Random.resolve("o", &mut rng).unwrap())
        .collect()
}

/// Uniform Bunge angles — the classic mistake: uniform in (φ1, Φ, φ2) is not uniform on SO(3).
fn uniform_euler_angles(n: usize, seed: u64) -> Vec<Quaternion> {
    let mut rng = stream(seed, Stream::Orientation(0));
    (0..n)
        .map(|_| {
            let (a, b, c): (f64, f64, f64) = (rng.random(), rng.random(), rng.random());
            rotation::from_euler_bunge_deg(360.0 * a, 180.0 * b, 360.0 * c)
        })
        .collect()
}

#[test]
fn random_orientations_have_the_haar_angle_distribution() {
    let mut angles: Vec<f64> = random_orientations(20_000, 11)
        .into_iter()
        .map(angle_deg)
        .collect();
    let (d, p) = ks_test(&mut angles, haar_angle_cdf);
    assert!(p > 1e-3, "KS D = {d}, p = {p}");
    // Directions too: the image of the z axis is uniform on the sphere (z-component uniform).
    let mut z: Vec<f64> = random_orientations(20_000, 12)
        .into_iter()
        .map(|q| rotation::rotate(q, [0.0, 0.0, 1.0])[2])
        .collect();
    let (d, p) = ks_test(&mut z, |x| 0.5 * (x + 1.0));
    assert!(p > 1e-3, "KS D = {d}, p = {p}");
    // The same test rejects uniform Euler angles.
    let mut biased: Vec<f64> = uniform_euler_angles(20_000, 11)
        .into_iter()
        .map(angle_deg)
        .collect();
    let (_, p) = ks_test(&mut biased, haar_angle_cdf);
    assert!(p < 1e-6, "uniform Euler angles passed as Haar: p = {p}");
}

/// Mackenzie (Biometrika 45, 229 (1958)) for cubic crystals: below 45° no two of the 24
/// symmetry-equivalent misorientations can both be that small, so the density of the
/// disorientation angle is 24 times the Haar density there and P(θ ≤ 45°) = 24 (π/4 − sin π/4)/π
/// = 0.5981; no disorientation exceeds 62.80°.
#[test]
fn random_pairs_follow_mackenzie() {
    let n = 20_000;
    let a = random_orientations(n, 21);
    let b = random_orientations(n, 22);
    let mis: Vec<f64> = a
        .iter()
        .zip(&b)
        .map(|(&x, &y)| cubic_misorientation_deg(x, y))
        .collect();
    let max = mis.iter().cloned().fold(0.0, f64::max);
    assert!(
        max <= 62.81,
        "disorientation {max}° beyond Mackenzie's 62.80°"
    );
    let p45 = 24.0 * haar_angle_cdf(45.0);
    assert!((p45 - 0.5981).abs() < 1e-4);
    // Below 45° the CDF is exactly 24 × Haar's: KS on the conditional sample.
    let mut low: Vec<f64> = mis.iter().cloned().filter(|&m| m <= 45.0).collect();
    let frac = low.len() as f64 / n as f64;
    let sigma = (p45 * (1.0 - p45) / n as f64).sqrt();
    assert!(
        (frac - p45).abs() < 3.29 * sigma,
        "P(θ ≤ 45°) = {frac}, Mackenzie {p45} ± {sigma} (99.9 %)"
    );
    let (d, p) = ks_test(&mut low, |x| 24.0 * haar_angle_cdf(x) / p45);
    assert!(p > 1e-3, "KS D = {d}, p = {p}");
    // Without the cube's symmetry the fraction would be Haar's 0.025: the folding is real.
    let raw = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| rotation::misorientation_deg(**x, **y) <= 45.0)
        .count() as f64
        / n as f64;
    assert!((raw - haar_angle_cdf(45.0)).abs() < 0.005, "{raw}");
}

/// An MD pair built with given orientations has, measured from its atoms' bonds, the cubic
/// misorientation of the two orientations asked for.
#[test]
fn md_structures_take_the_orientation_asked_for() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("scenarios/md_au_pair_30deg.ron")).unwrap();
    let (q1, q2) = (
        rotation::from_euler_bunge_deg(10.0, 20.0, 30.0),
        rotation::from_axis_angle_deg([1.0, 1.0, 1.0], 25.0).unwrap(),
    );
    let text = text
        .replace("rotation_deg: 30.0", "rotation_deg: 0.0")
        .replacen(
            "composition: [(\"Au\", 1.0)]),",
            "composition: [(\"Au\", 1.0)], orientation: Euler(phi1_deg: 10, big_phi_deg: 20, phi2_deg: 30)),",
            1,
        )
        .replacen(
            "composition: [(\"Au\", 1.0)]),\n        gap_a",
            "composition: [(\"Au\", 1.0)], orientation: AxisAngle(axis: (1, 1, 1), angle_deg: 25)),\n        gap_a",
            1,
        );
    assert!(
        text.contains("Euler(") && text.contains("AxisAngle("),
        "{text}"
    );
    let sc = kmc::scenario::md::parse_md_scenario(&text, None).unwrap();
    let pot = sc.potential.build(&root).unwrap();
    let s = kmc::sim::md::build_structure_at(
        &sc.structure,
        pot.as_ref(),
        &root,
        &mut kmc::rng::rng_from_seed(1),
    )
    .unwrap();
    assert_eq!(s.len(), 2 * 887);
    let orientation = |r: std::ops::Range<usize>| {
        let c = kmc::md::build::centroid(&s.positions[r.clone()]);
        let core: Vec<usize> = r
            .filter(|&i| kmc::vec3::norm(kmc::vec3::sub(s.positions[i], c)) < 8.0)
            .collect();
        fcc_orientation(&s.positions, &core, c, 3.5).expect("FCC core")
    };
    let (m1, m2) = (orientation(0..887), orientation(887..1774));
    assert!(cubic_misorientation_deg(m1, q1) < 0.01);
    assert!(cubic_misorientation_deg(m2, q2) < 0.01);
    let want = cubic_misorientation_deg(q1, q2);
    let got = cubic_misorientation_deg(m1, m2);
    assert!((got - want).abs() < 0.01, "{got} vs {want}");
    // Random orientations of the same scenario and seed are reproducible and differ by particle.
    let random = text
        .replace(
            "Euler(phi1_deg: 10, big_phi_deg: 20, phi2_deg: 30)",
            "Random",
        )
        .replace("AxisAngle(axis: (1, 1, 1), angle_deg: 25)", "Random");
    let sc = kmc::scenario::md::parse_md_scenario(&random, None).unwrap();
    let build = || {
        kmc::sim::md::build_structure_at(
            &sc.structure,
            pot.as_ref(),
            &root,
            &mut kmc::rng::rng_from_seed(1),
        )
        .unwrap()
    };
    let (a, b) = (build(), build());
    assert_eq!(a.positions, b.positions);
    assert_ne!(a.positions[..887], s.positions[..887]);
}

#[test]
fn bad_orientations_name_the_field() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("scenarios/md_au_pair_30deg.ron")).unwrap();
    let bad = text.replacen(
        "composition: [(\"Au\", 1.0)]),",
        "composition: [(\"Au\", 1.0)], orientation: Euler(phi1_deg: 10, big_phi_deg: 200, phi2_deg: 30)),",
        1,
    );
    let e = kmc::scenario::md::parse_md_scenario(&bad, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("structure.first.orientation.big_phi_deg"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Particles as grains in a KMC run (issue 13, item 1): deposition, landing, vapour atoms on
// particles, outputs and resume.

use kmc::grains::Grains;
use kmc::lattice::{Lattice, LatticeKind};
use kmc::particle::{
    Composition, ParticleDeposition, ParticleDepositionSpec, ResolvedComposition, Shape,
    SizeDistribution,
};
use kmc::sim::Simulation;
use kmc::state::State;

/// Au on Au(100) at `temperature_k` with particles of `d_nm` (orientation `orientation`) at
/// `particle_flux` per nm² per s and atoms at `atom_flux` ML/s, without the contact stage
/// (`tests/grain_contacts.rs` tests that).
fn grain_scenario(
    temperature_k: f64,
    d_nm: f64,
    orientation: &str,
    particle_flux: f64,
    atom_flux: f64,
    initial: &str,
) -> String {
    let atoms = if atom_flux > 0.0 {
        format!("deposition: [(species: \"Au\", flux_ml_per_s: {atom_flux})],")
    } else {
        String::new()
    };
    let particles = if particle_flux > 0.0 {
        format!(
            "particles: [(flux_per_nm2_s: {particle_flux}, size: Fixed(diameter_nm: {d_nm}), \
             composition: Pure(\"Au\"), orientation: Some({orientation}))],"
        )
    } else {
        String::new()
    };
    format!(
        r#"(
    name: "grains",
    seed: 17,
    temperature_k: {temperature_k},
    species: ["Au"],
    lattice: (kind: Fcc100, lattice_constant_a: 4.08, size: (16, 16), substrate_layers: 3,
              frozen_layers: 2),
    rate_model: BondCounting((
        species: {{ "Au": (prefactor_hz: 1e13, barrier_ev: 0.102) }},
        bonds_ev: [("Au", "Au", 0.339)],
        count: Broken,
    )),
    {atoms}
    {particles}
    initial: [{initial}],
    relax: None,
    stop: (events: 1000000),
)"#
    )
}

/// Lab distance on the film's lateral period.
fn periodic_distance(box_xy: [f64; 2], a: [f64; 3], b: [f64; 3]) -> f64 {
    let mut d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    for k in 0..2 {
        d[k] -= box_xy[k] * (d[k] / box_xy[k]).round();
    }
    (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
}

/// Smallest distance between an atom of grain `g` and an atom of a grain numbered below `g`.
fn distance_to_earlier(grains: &Grains, g: usize) -> f64 {
    let box_xy = grains.grain(0).state.lattice().box_lengths();
    let atoms = grains.atoms();
    let mine: Vec<_> = atoms.iter().filter(|a| a.0 == g).collect();
    let mut m = f64::INFINITY;
    for a in atoms.iter().filter(|a| a.0 < g) {
        for b in &mine {
            m = m.min(periodic_distance(box_xy, a.2, b.2));
        }
    }
    m
}

#[test]
fn deposited_particles_are_grains_that_land_touching() {
    // 100 K: no atom hops in the run (the cheapest hop costs 0.44 eV), so each particle lies
    // where it landed, exactly one nearest-neighbour distance from what it first touched.
    let mut sim =
        Simulation::from_ron(&grain_scenario(100.0, 1.2, "Random", 0.5, 0.0, "")).unwrap();
    sim.run_events(12).unwrap();
    let k = sim.counters();
    assert_eq!(k.hops, 0);
    assert_eq!(
        k.particles_deposited,
        12,
        "{:?}",
        sim.engine().unplaceable_messages()
    );
    let grains = sim.engine().grains();
    assert_eq!(grains.len(), 13);
    let nn = grains.grain(0).state.lattice().nn_distance();
    let mut on_particles = 0;
    for g in 1..grains.len() {
        let d = distance_to_earlier(grains, g);
        assert!(
            (d - nn).abs() < 1e-6,
            "grain {g}: {d} Å from what it landed on"
        );
        // Ghosts both ways at the contact.
        assert!(
            grains.grain(g).state.n_ghosts() > 0,
            "grain {g} sees nothing"
        );
        // Landed on an earlier particle rather than on the film.
        let film_atoms: Vec<_> = grains.atoms().into_iter().filter(|a| a.0 == 0).collect();
        let lowest = grains
            .atoms()
            .into_iter()
            .filter(|a| a.0 == g)
            .map(|a| a.2[2])
            .fold(f64::INFINITY, f64::min);
        let film_top = film_atoms.iter().map(|a| a.2[2]).fold(0.0, f64::max);
        on_particles += usize::from(lowest > film_top + 1.5 * nn);
    }
    // 12 particles of 1.2 nm on 6.5 × 6.5 nm: some must land on others.
    assert!(on_particles > 0);
    // The orientations are the drawn ones, all different.
    let qs: Vec<Quaternion> = (1..grains.len())
        .map(|g| grains.grain(g).frame.rotation)
        .collect();
    for (i, a) in qs.iter().enumerate() {
        for b in &qs[..i] {
            assert!(rotation::misorientation_deg(*a, *b) > 1e-3);
        }
    }
}

#[test]
fn drawn_grains_have_uniform_orientations_and_aligned_ones_are_epitaxial() {
    let lat = Lattice::new(LatticeKind::Fcc100, 4.08, [16, 16], 12).unwrap();
    let mut film = State::new(lat.clone());
    film.fill_layers(3, 1).unwrap();
    let grains = Grains::single(film);
    let source = |o: OrientationSpec| {
        let spec = ParticleDepositionSpec {
            flux_per_nm2_s: 1.0,
            size: SizeDistribution::Fixed { diameter_nm: 1.0 },
            shape: Shape::Sphere,
            composition: Composition::Pure("Au".into()),
            orientation: Some(o),
        };
        ParticleDeposition::new(&spec, ResolvedComposition::Pure(1), &lat, "p").unwrap()
    };
    let random = source(OrientationSpec::Random);
    let mut rng = stream(5, Stream::Engine);
    let mut angles: Vec<f64> = (0..400)
        .map(|_| angle_deg(random.draw_grain(&grains, &mut rng).unwrap().frame.rotation))
        .collect();
    let (d, p) = ks_test(&mut angles, haar_angle_cdf);
    assert!(p > 1e-3, "KS D = {d}, p = {p}");
    // An aligned particle's atoms sit on film sites: lowered onto a flat substrate, every
    // atom is a lattice point of the film, the lowest in layer 3, just above the surface.
    let tall = Lattice::new(LatticeKind::Fcc100, 4.08, [16, 16], 60).unwrap();
    let h = tall.layer_spacing();
    let aligned = source(OrientationSpec::Aligned);
    for _ in 0..5 {
        let gp = aligned.draw_grain(&grains, &mut rng).unwrap();
        assert!(gp.touches);
        let st = &gp.state;
        let mut lowest = f64::INFINITY;
        for idx in 0..st.lattice().n_sites() {
            if !st.cell(idx).occupied() {
                continue;
            }
            let p = gp.frame.to_lab(st.lattice().position_of(idx));
            let l = (p[2] / h).round();
            lowest = lowest.min(l);
            let s = tall.nearest_in_layer(p[0], p[1], l as usize);
            let d = periodic_distance(tall.box_lengths(), p, tall.position(&s));
            assert!(
                d < 1e-6,
                "an aligned particle's atom is {d} Å off the film's lattice"
            );
        }
        assert_eq!(lowest, 3.0);
    }
}

#[test]
fn vapour_atoms_land_on_a_particle_grain_in_its_shadow() {
    // A turned 3 nm particle on the film; atoms rain at 30 K (hops are rare): those whose
    // vertical meets the particle first join its grain, the rest land on the film. Hops never
    // move an atom between grains, so the count that joined is the count that landed there.
    let initial = "Particle(diameter_nm: 3.0, composition: Pure(\"Au\"), at_nm: (3.2, 3.2), \
                   orientation: Some(AxisAngle(axis: (1, 1, 0), angle_deg: 25)))";
    let mut sim =
        Simulation::from_ron(&grain_scenario(30.0, 3.0, "Aligned", 0.0, 1.0, initial)).unwrap();
    let before = sim.engine().grains().grain(1).state.n_atoms();
    sim.run_events(400).unwrap();
    let n = sim.counters().deposited;
    assert!(n > 300, "{:?}", sim.counters());
    let grains = sim.engine().grains();
    let gained = grains.grain(1).state.n_atoms() - before;
    // The particle's shadow: the fraction of the box its atoms cover seen from above (each
    // atom a disc of one nearest-neighbour radius, on a fine grid).
    let lat = grains.grain(0).state.lattice();
    let [lx, ly] = lat.box_lengths();
    let nn = lat.nn_distance();
    let atoms: Vec<_> = grains.atoms().into_iter().filter(|a| a.0 == 1).collect();
    let (mut hit, m) = (0usize, 200usize);
    for i in 0..m {
        for j in 0..m {
            let p = [
                lx * (i as f64 + 0.5) / m as f64,
                ly * (j as f64 + 0.5) / m as f64,
            ];
            let covered = atoms.iter().any(|a| {
                periodic_distance([lx, ly], [p[0], p[1], 0.0], [a.2[0], a.2[1], 0.0]) < nn
            });
            hit += usize::from(covered);
        }
    }
    let f = hit as f64 / (m * m) as f64;
    let expect = n as f64 * f;
    let sd = (n as f64 * f * (1.0 - f)).sqrt();
    // 4 σ (two-sided 6e-5) around the binomial mean; the shadow grows a little as atoms join.
    assert!(
        (gained as f64 - expect).abs() < 4.0 * sd + 0.05 * expect,
        "{gained} atoms joined the particle, shadow expects {expect:.1} ± {sd:.1}"
    );
    assert!(gained > 20);
    // Nobody overlaps: atoms of the two grains stay at least half a neighbour distance apart.
    let film: Vec<_> = grains.atoms().into_iter().filter(|a| a.0 == 0).collect();
    let all: Vec<_> = grains.atoms().into_iter().filter(|a| a.0 == 1).collect();
    for a in &film {
        for b in &all {
            assert!(periodic_distance([lx, ly], a.2, b.2) >= 0.5 * nn - 1e-9);
        }
    }
}

#[test]
fn a_run_with_grains_resumes_byte_identically_and_writes_them() {
    let text = grain_scenario(300.0, 1.0, "Random", 2.0, 0.5, "");
    let mut a = Simulation::from_ron(&text).unwrap();
    for _ in 0..100 {
        if a.engine().grains().len() > 2 {
            break;
        }
        a.run_events(20).unwrap();
    }
    assert!(a.engine().grains().len() > 2, "no particles arrived");
    let mid = a.checkpoint().unwrap();
    a.run_events(3000).unwrap();
    let mut b = Simulation::from_ron(&text).unwrap();
    b.restore_checkpoint(&mid).unwrap();
    b.run_events(3000).unwrap();
    assert!(
        a.checkpoint().unwrap() == b.checkpoint().unwrap(),
        "resumed run differs"
    );
    assert!(a.counters().hops > 100, "nothing moved: {:?}", a.counters());
    // Snapshots hold every grain's atoms once, with their grain.
    let dir = std::env::temp_dir().join(format!("kmc-grains-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut c = Simulation::from_ron(&text.replace("events: 1000000", "events: 2500")).unwrap();
    c.set_output(&dir, Default::default()).unwrap();
    c.run().unwrap();
    let frames = kmc::io::xyz::read(&dir.join("final.xyz")).unwrap();
    let f = &frames[0];
    let atoms = c.engine().grains().atoms();
    assert_eq!(f.len(), atoms.len());
    assert!(f.column("grain").is_some(), "no grain column");
    let rows = std::fs::read_to_string(dir.join("grains.csv")).unwrap();
    let last: Vec<&str> = rows.lines().last().unwrap().split(',').collect();
    let grains = c.engine().grains();
    assert_eq!(last[1].parse::<usize>().unwrap(), grains.len() - 1);
    let q: Vec<f64> = last[8..12].iter().map(|x| x.parse().unwrap()).collect();
    assert!((q.iter().map(|x| x * x).sum::<f64>() - 1.0).abs() < 1e-9);
    // Issue 14: the grain size and misorientation distributions of the final state count
    // every particle grain with atoms once, each against the substrate.
    let with_atoms = (1..grains.len())
        .filter(|&g| grains.grain(g).state.n_atoms() > 0)
        .count();
    let sizes = std::fs::read_to_string(dir.join("grain_sizes_final.csv")).unwrap();
    assert_eq!(sizes.lines().nth(1), Some("atoms,grains,diameter_nm"));
    let counted: usize = sizes
        .lines()
        .skip(2)
        .map(|l| l.split(',').nth(1).unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(counted, with_atoms, "{sizes}");
    let mis = std::fs::read_to_string(dir.join("misorientation_final.csv")).unwrap();
    let to_substrate: usize = mis
        .lines()
        .skip(2)
        .map(|l| l.split(',').nth(3).unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(to_substrate, with_atoms, "{mis}");
    std::fs::remove_dir_all(&dir).unwrap();
}
