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
