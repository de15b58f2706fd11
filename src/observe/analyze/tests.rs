//! Analytic checks of the trajectory observables on ideal FCC particles cut with the particle
//! builder (Zhou et al. 2004 lattice constants: Au 4.0801 Å, Ag 4.0896 Å).

use super::*;
use crate::io::{Column, Frame};
use crate::lattice::LatticeKind;
use crate::particle::{BuildRequest, Composition, Shape, build_standalone};

const A_AU: f64 = 4.0801;
const A_AG: f64 = 4.0896;

/// Displacements of an ideal `shape` particle of `d_nm` on `lattice` (its z axis: [001] for
/// Fcc100, [111] for Fcc111), centred on a lattice site at the origin.
fn cut(shape: Shape, d_nm: f64, element: &str, a: f64, lattice: LatticeKind) -> Vec<Vec3> {
    let req = BuildRequest {
        shape,
        diameter_nm: d_nm,
        composition: Composition::Pure(element.into()),
        lattice,
        lattice_constant_a: Some(a),
        c_over_a: None,
        seed: 1,
    };
    build_standalone(&req).unwrap().0.displacements
}

/// One frame of two particles (`a` then `b`) in an open box, with a `particle` column.
fn pair_frame(a: &[Vec3], b: &[Vec3], names: [&str; 2]) -> Frame {
    let mut names_v: Vec<String> = vec![names[0].into()];
    if names[1] != names[0] {
        names_v.push(names[1].into());
    }
    let tb = (names_v.len() - 1) as u32;
    Frame {
        names: names_v,
        types: a.iter().map(|_| 0).chain(b.iter().map(|_| tb)).collect(),
        positions: a.iter().chain(b).copied().collect(),
        columns: vec![Column::int(
            "particle",
            a.iter().map(|_| 1).chain(b.iter().map(|_| 2)).collect(),
        )],
        ..Frame::default()
    }
}

fn traj(frames: Vec<Frame>) -> Trajectory {
    Trajectory {
        path: None,
        format: TrajectoryFormat::Xyz,
        frames,
        lines: Vec::new(),
    }
}

fn shifted(p: &[Vec3], d: Vec3) -> Vec<Vec3> {
    p.iter().map(|x| add(*x, d)).collect()
}

/// Rotation by `deg` about the unit vector `axis` (Rodrigues), about `centre`.
fn rotated(p: &[Vec3], axis: Vec3, deg: f64, centre: Vec3) -> Vec<Vec3> {
    let t = deg.to_radians();
    let (s, c) = t.sin_cos();
    p.iter()
        .map(|x| {
            let v = sub(*x, centre);
            let r = add(
                add(scale(v, c), scale(cross(axis, v), s)),
                scale(axis, dot(axis, v) * (1.0 - c)),
            );
            add(r, centre)
        })
        .collect()
}

#[test]
fn neck_of_two_overlapping_spheres_is_the_disk_of_their_intersection() {
    // The lattice sites inside the union of two balls of radius R = 20 Å whose centres are D
    // apart along [111], the mid-plane z = 0 being a (111) lattice plane: the narrowest cut is
    // the mid-plane disk of radius r = √(R² − D²/4). With h the (111) spacing a/√3 the tents
    // select that plane alone, so (1) the neck area is exactly (atoms of the mid-plane) ·
    // (√3/2) d², and (2) since the atoms of a plane inside a disk number πr²/σ plus a boundary
    // term that changes sign with r (σ the area per atom), the area over 17 necks D = 30 … 38 Å
    // (r = 13.2 … 6.2 Å) is πr² on average: the mean relative area error is below 2 %
    // (measured +0.5 %; a wrong area per atom, e.g. the (100) value d², would be 15 % off),
    // and no single radius is off by more than 0.4 d = 1.15 Å, half a boundary ring of atoms
    // (measured at most 1.00 Å, at D = 37 Å where the count jumps by a ring of 12).
    let r_ball = 20.0;
    let big = cut(Shape::Sphere, 8.5, "Au", A_AU, LatticeKind::Fcc111);
    let nn = A_AU / std::f64::consts::SQRT_2;
    let sigma = 3f64.sqrt() / 2.0 * nn * nn;
    let (mut rel, mut worst) = (Vec::new(), 0.0f64);
    let mut report = Vec::new();
    for k in 0..17 {
        let d = 30.0 + 0.5 * k as f64;
        let (za, zb) = ([0.0, 0.0, -0.5 * d], [0.0, 0.0, 0.5 * d]);
        let inside = |x: &Vec3| norm(sub(*x, za)) <= r_ball || norm(sub(*x, zb)) <= r_ball;
        // Sites of the mid-plane have |z| ~ 1e-15, not 0: they all go to B.
        let a: Vec<Vec3> = big
            .iter()
            .copied()
            .filter(|x| inside(x) && x[2] < -1e-9)
            .collect();
        let b: Vec<Vec3> = big
            .iter()
            .copied()
            .filter(|x| inside(x) && x[2] >= -1e-9)
            .collect();
        let mid = b.iter().filter(|x| x[2].abs() < 1e-9).count() as f64;
        assert!(mid > 0.0, "z = 0 is a lattice plane");
        let opts = AnalyzeOptions {
            nn_distance_a: Some(nn),
            ..AnalyzeOptions::default()
        };
        let an = analyze(&traj(vec![pair_frame(&a, &b, ["Au", "Au"])]), &opts).unwrap();
        assert!((an.plane_spacing_a - A_AU / 3f64.sqrt()).abs() < 1e-12);
        let got = an.rows[0].neck_radius_a;
        let lattice = (mid * sigma / std::f64::consts::PI).sqrt();
        assert!((got - lattice).abs() < 1e-9, "D {d}: {got} vs {lattice}");
        let exact = (r_ball * r_ball - 0.25 * d * d).sqrt();
        report.push(format!("D {d}: {got:.3} vs {exact:.3}"));
        worst = worst.max((got - exact).abs());
        rel.push(got * got / (exact * exact) - 1.0);
    }
    let mean = rel.iter().sum::<f64>() / rel.len() as f64;
    assert!(
        mean.abs() < 0.02,
        "mean relative area error {mean}: {report:?}"
    );
    assert!(worst < 0.4 * nn, "{worst}: {report:?}");
}

#[test]
fn separated_particles_have_no_neck_and_the_exact_centre_distance() {
    let s = cut(Shape::Sphere, 2.0, "Au", A_AU, LatticeKind::Fcc100);
    let d = 2.0 * 10.0 + 5.0;
    let b = shifted(&s, [d, 0.0, 0.0]);
    let an = analyze(
        &traj(vec![pair_frame(&s, &b, ["Au", "Au"])]),
        &AnalyzeOptions::default(),
    )
    .unwrap();
    let r = &an.rows[0];
    assert_eq!(r.neck_radius_a, 0.0);
    assert!(
        (r.centre_distance_a - d).abs() < 1e-9,
        "{}",
        r.centre_distance_a
    );
    // The measured nearest-neighbour distance is the lattice's.
    assert!((an.nn_distance_a - A_AU / 2f64.sqrt()).abs() < 1e-9);
}

#[test]
fn rg_of_a_big_sphere_is_that_of_a_uniform_ball() {
    // A uniform ball of the particle's volume N Ω (radius R = (3NΩ/4π)^(1/3)) has
    // Rg = √(3/5) R; the discrete boundary shell changes Rg by O(d/R). For a 5 nm sphere
    // (about 3,900 atoms, R ≈ 25 Å) 0.3 % is allowed.
    let s = cut(Shape::Sphere, 5.0, "Au", A_AU, LatticeKind::Fcc100);
    let m = vec![1.0; s.len()];
    let idx: Vec<usize> = (0..s.len()).collect();
    let rg = radius_of_gyration(&s, &m, &idx);
    let omega = A_AU.powi(3) / 4.0;
    let r = (3.0 * s.len() as f64 * omega / (4.0 * std::f64::consts::PI)).cbrt();
    let expect = (0.6f64).sqrt() * r;
    assert!((rg / expect - 1.0).abs() < 3e-3, "{rg} vs {expect} (R {r})");
}

#[test]
fn a_rigid_turn_of_one_particle_about_the_axis_is_its_misorientation() {
    // Frame 1: particle B turned 30° about the centre–centre axis; frame 2: A turned −10° and
    // B 20° about an axis normal to it (relative 30°), both with 0.05 Å random displacements
    // (seeded) standing in for thermal noise. Expected 30° ± 0.5°.
    use rand::RngExt;
    let s = cut(Shape::Sphere, 2.5, "Au", A_AU, LatticeKind::Fcc100);
    let d = 25.0;
    let a = s.clone();
    let b = shifted(&s, [0.0, 0.0, d]);
    let cb = [0.0, 0.0, d];
    let f0 = pair_frame(&a, &b, ["Au", "Au"]);
    let mut f1 = f0.clone();
    f1.positions = a
        .iter()
        .copied()
        .chain(rotated(&b, [0.0, 0.0, 1.0], 30.0, cb))
        .collect();
    let mut rng = crate::rng::stream(7, crate::rng::Stream::ParticleBuild);
    let mut f2 = f0.clone();
    f2.positions = rotated(&a, [1.0, 0.0, 0.0], -10.0, [0.0; 3])
        .into_iter()
        .chain(rotated(&b, [1.0, 0.0, 0.0], 20.0, cb))
        .map(|x| x.map(|c| c + 0.05 * (rng.random::<f64>() - 0.5)))
        .collect();
    for (k, f) in [&mut f1, &mut f2].into_iter().enumerate() {
        f.info = vec![("time_fs".into(), format!("{}", 500 * (k + 1)))];
    }
    let mut f0 = f0;
    f0.info = vec![("time_fs".into(), "0".into())];
    let an = analyze(&traj(vec![f0, f1, f2]), &AnalyzeOptions::default()).unwrap();
    assert_eq!(an.time_column, "time_ps");
    assert_eq!(
        an.rows.iter().map(|r| r.time).collect::<Vec<_>>(),
        [0.0, 0.5, 1.0]
    );
    let m: Vec<f64> = an.rows.iter().map(|r| r.misorientation_deg).collect();
    assert!(m[0].abs() < 1e-6, "{m:?}");
    assert!((m[1] - 30.0).abs() < 1e-6, "{m:?}");
    assert!((m[2] - 30.0).abs() < 0.5, "{m:?}");
    // A rigid turn about the axis leaves the centres where they were.
    assert!((an.rows[1].centre_distance_a - d).abs() < 1e-9);
}

#[test]
fn kabsch_recovers_a_known_rotation() {
    let s = cut(Shape::Sphere, 1.5, "Au", A_AU, LatticeKind::Fcc100);
    let axis = {
        let v = [1.0, 2.0, -0.5];
        scale(v, 1.0 / norm(v))
    };
    let r = rotated(&s, axis, 47.0, [0.0; 3]);
    let q = kabsch(&s, &r, &vec![1.0; s.len()]);
    for (x, y) in s.iter().zip(&r) {
        assert!(norm(sub(rotate(q, *x), *y)) < 1e-9);
    }
    assert!((misorientation_deg([1.0, 0.0, 0.0, 0.0], q) - 47.0).abs() < 1e-9);
}

fn cn_counts(p: &[Vec3], nn: f64) -> (usize, usize) {
    let cn = coordination(p, [0.0; 3], [false; 3], CN_CUTOFF_NN * nn);
    let below12 = cn.iter().filter(|&&c| c < 12).count();
    let surface = cn.iter().filter(|&&c| c <= SURFACE_MAX_CN).count();
    (below12, surface)
}

#[test]
fn on_a_closed_shell_truncated_octahedron_both_surface_definitions_agree() {
    // The regular truncated octahedron with 5 atoms per edge: N = 16n³ − 33n² + 24n − 6 = 1289
    // atoms, 30n² − 60n + 32 = 482 of them on the surface ({111} CN 9, {100} CN 8, edges and
    // vertices less). Every facet is complete, so no atom has 10 or 11 neighbours and
    // "CN < 12" and "CN ≤ 9" count the same 482 atoms. Its half-extent along ⟨100⟩ is 4a,
    // the equal-volume diameter 4a (24/π)^(1/3).
    let d_nm = 4.0 * A_AU * (24.0 / std::f64::consts::PI).cbrt() / 10.0;
    let p = cut(
        Shape::TruncatedOctahedron,
        d_nm,
        "Au",
        A_AU,
        LatticeKind::Fcc100,
    );
    assert_eq!(p.len(), 1289);
    let (below12, surface) = cn_counts(&p, A_AU / 2f64.sqrt());
    assert_eq!((below12, surface), (482, 482));
}

#[test]
fn surface_ag_fraction_of_an_ideal_ag_au_pair_is_not_below_bulk() {
    // The validation pair of issue 13: 3 nm spheres cut at r ≤ 1.5 nm (Au 887 atoms at
    // 4.0801 Å, Ag 791 at 4.0896 Å), 2.5 Å apart along [100]. The Au cut catches a sparse
    // outer shell whose atoms leave many CN-11 atoms beneath them, so "CN < 12" counts far
    // more Au than Ag surface atoms and puts surface Ag below bulk; CN ≤ 9 does not.
    let au = cut(Shape::Sphere, 3.0, "Au", A_AU, LatticeKind::Fcc100);
    let ag = cut(Shape::Sphere, 3.0, "Ag", A_AG, LatticeKind::Fcc100);
    assert_eq!((au.len(), ag.len()), (887, 791));
    let extent = |p: &[Vec3]| p.iter().map(|x| x[0]).fold(f64::NEG_INFINITY, f64::max);
    let gap = 2.5;
    let ag = shifted(&ag, [extent(&au) + extent(&ag) + gap, 0.0, 0.0]);
    let frame = pair_frame(&au, &ag, ["Au", "Ag"]);
    let nn = 0.5 * (A_AU + A_AG) / 2f64.sqrt();
    let cn = coordination(&frame.positions, [0.0; 3], [false; 3], CN_CUTOFF_NN * nn);
    let is_ag = |i: usize| frame.types[i] == 1;
    let frac = |pred: &dyn Fn(u32) -> bool| {
        let s: Vec<usize> = (0..cn.len()).filter(|&i| pred(cn[i])).collect();
        s.iter().filter(|&&i| is_ag(i)).count() as f64 / s.len() as f64
    };
    let bulk = 791.0 / (791.0 + 887.0);
    let old = frac(&|c| c < 12);
    let new = frac(&|c| c <= SURFACE_MAX_CN);
    assert!(old < bulk, "CN < 12: {old} vs bulk {bulk}");
    assert!(new >= bulk, "CN ≤ 9: {new} vs bulk {bulk}");
    let an = analyze(
        &traj(vec![frame]),
        &AnalyzeOptions {
            nn_distance_a: Some(nn),
            ..AnalyzeOptions::default()
        },
    )
    .unwrap();
    assert_eq!(an.species, ["Au", "Ag"]);
    assert!((an.rows[0].surface_fraction[1] - new).abs() < 1e-12);
}

#[test]
fn labels_come_from_connectivity_or_a_plane() {
    let s = cut(Shape::Sphere, 1.5, "Au", A_AU, LatticeKind::Fcc100);
    let m = vec![1.0; 2 * s.len()];
    let nn = A_AU / 2f64.sqrt();
    let apart: Vec<Vec3> = s
        .iter()
        .copied()
        .chain(shifted(&s, [20.0, 0.0, 0.0]))
        .collect();
    let (l, how) = split_in_two(&apart, &m, [0.0; 3], [false; 3], CN_CUTOFF_NN * nn);
    assert!(how.contains("connectivity"));
    assert!(l[..s.len()].iter().all(|&x| x == 0) && l[s.len()..].iter().all(|&x| x == 1));
    // Touching (shifted by 2 lattice constants less than apart): one component, split by the
    // plane normal to the long axis x.
    let touching: Vec<Vec3> = s
        .iter()
        .copied()
        .chain(shifted(&s, [3.0 * A_AU, 0.0, 0.0]))
        .filter({
            let mut seen = std::collections::HashSet::new();
            move |x| seen.insert(x.map(|c| (c * 1e6).round() as i64))
        })
        .collect();
    let m = vec![1.0; touching.len()];
    let (l, how) = split_in_two(&touching, &m, [0.0; 3], [false; 3], CN_CUTOFF_NN * nn);
    assert!(how.contains("plane"));
    let c = mass_centre(&touching, &m, &(0..touching.len()).collect::<Vec<_>>());
    for (x, &li) in touching.iter().zip(&l) {
        assert_eq!(li == 1, x[0] > c[0], "{x:?}");
    }
}

#[test]
fn the_absolute_misorientation_of_frame_0_is_reduced_by_cubic_symmetry() {
    // B cut from the same lattice and turned about [001] by θ: the cubic misorientation is θ
    // for θ ≤ 45° and 90° − θ beyond (a 90° turn is a symmetry of the cube); turned about
    // [111] by 60° it is 60° (60° about ⟨111⟩ is no cube symmetry; the smallest equivalent
    // rotation is 60° about ⟨111⟩ itself).
    let s = cut(Shape::Sphere, 2.0, "Au", A_AU, LatticeKind::Fcc100);
    let d = 25.0;
    let cb = [0.0, 0.0, d];
    let b = shifted(&s, cb);
    let diag = scale([1.0, 1.0, 1.0], 1.0 / 3f64.sqrt());
    for (axis, deg, expect) in [
        ([0.0, 0.0, 1.0], 0.0, 0.0),
        ([0.0, 0.0, 1.0], 30.0, 30.0),
        ([0.0, 0.0, 1.0], 70.0, 20.0),
        (diag, 60.0, 60.0),
    ] {
        let f = pair_frame(&s, &rotated(&b, axis, deg, cb), ["Au", "Au"]);
        let an = analyze(&traj(vec![f]), &AnalyzeOptions::default()).unwrap();
        let got = an.initial_misorientation_deg.unwrap();
        assert!((got - expect).abs() < 1e-6, "{deg}° about {axis:?}: {got}");
    }
    assert_eq!(cubic_rotations().len(), 24);
    for (k, q) in cubic_rotations().iter().enumerate() {
        assert!((q.iter().map(|x| x * x).sum::<f64>() - 1.0).abs() < 1e-12);
        for r in &cubic_rotations()[..k] {
            assert!(misorientation_deg(*q, *r) > 1.0, "distinct");
        }
    }
}
