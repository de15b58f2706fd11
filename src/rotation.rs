//! Rotations of crystals: unit quaternions `(w, x, y, z)` and what grains, the relaxer and the
//! analysis need of them — best-fit rotations (Kabsch), crystal orientations from axis–angle or
//! Euler angles, uniform random orientations, and misorientation under cubic symmetry.
//!
//! Base layer: imports only [`crate::vec3`]; the linear algebra is nalgebra's. A rotation is
//! stored as a plain `[f64; 4]` so that it serialises into checkpoints and tables without a
//! wrapper, and is turned into nalgebra's `UnitQuaternion` where arithmetic needs it.
//!
//! **Convention.** An orientation `q` is *active*: it carries the crystal's reference frame
//! (cube axes along x, y, z) into the lab, so a crystal vector `c` sits at `rotate(q, c)` in the
//! lab. Bunge's orientation matrix `g` (sample → crystal, the texture literature's) is the
//! transpose of that rotation's matrix.

use crate::vec3::Vec3;
use nalgebra::{Matrix3, Quaternion as NQuaternion, Rotation3, Unit, UnitQuaternion, Vector3};

/// A unit quaternion `(w, x, y, z)`.
pub type Quaternion = [f64; 4];

/// The identity rotation.
pub const IDENTITY: Quaternion = [1.0, 0.0, 0.0, 0.0];

fn to_na(q: Quaternion) -> UnitQuaternion<f64> {
    UnitQuaternion::from_quaternion(NQuaternion::new(q[0], q[1], q[2], q[3]))
}

fn from_na(q: UnitQuaternion<f64>) -> Quaternion {
    // One of the two signs: w ≥ 0, so that equal rotations compare equal.
    let c = q.into_inner().coords; // (x, y, z, w)
    let s = if c[3] < 0.0 { -1.0 } else { 1.0 };
    [s * c[3], s * c[0], s * c[1], s * c[2]]
}

/// Rotates `x` by `q`.
pub fn rotate(q: Quaternion, x: Vec3) -> Vec3 {
    let v = to_na(q) * Vector3::new(x[0], x[1], x[2]);
    [v[0], v[1], v[2]]
}

/// `a` after `b`: `rotate(compose(a, b), x) == rotate(a, rotate(b, x))`.
pub fn compose(a: Quaternion, b: Quaternion) -> Quaternion {
    from_na(to_na(a) * to_na(b))
}

/// The inverse rotation.
pub fn inverse(q: Quaternion) -> Quaternion {
    [q[0], -q[1], -q[2], -q[3]]
}

/// The rotation angle of `q`, degrees in [0, 180].
pub fn angle_deg(q: Quaternion) -> f64 {
    // atan2 of the vector part keeps precision at small angles, where acos(w) loses it.
    let v = (q[1] * q[1] + q[2] * q[2] + q[3] * q[3]).sqrt();
    2.0 * v.atan2(q[0].abs()).to_degrees()
}

/// The rotation matrix of `q` (rows).
pub fn matrix(q: Quaternion) -> [[f64; 3]; 3] {
    let m = to_na(q).to_rotation_matrix().into_inner();
    [
        [m[(0, 0)], m[(0, 1)], m[(0, 2)]],
        [m[(1, 0)], m[(1, 1)], m[(1, 2)]],
        [m[(2, 0)], m[(2, 1)], m[(2, 2)]],
    ]
}

/// The rotation by `angle_deg` about `axis` (right-handed; any length but zero). `None` for a
/// zero or non-finite axis or a non-finite angle.
pub fn from_axis_angle_deg(axis: Vec3, angle_deg: f64) -> Option<Quaternion> {
    let a = Vector3::new(axis[0], axis[1], axis[2]);
    let n = a.norm();
    if !(n.is_finite() && n > 0.0 && angle_deg.is_finite()) {
        return None;
    }
    Some(from_na(UnitQuaternion::from_axis_angle(
        &Unit::new_unchecked(a / n),
        angle_deg.to_radians(),
    )))
}

/// The orientation of Bunge Euler angles (φ1, Φ, φ2), degrees: the active rotation
/// `Rz(φ1) Rx(Φ) Rz(φ2)`, whose matrix is the transpose of Bunge's `g`. Checked by the texture
/// identity that the lab z axis in crystal coordinates is (sin φ2 sin Φ, cos φ2 sin Φ, cos Φ).
pub fn from_euler_bunge_deg(phi1_deg: f64, big_phi_deg: f64, phi2_deg: f64) -> Quaternion {
    let z = Vector3::z_axis();
    let x = Vector3::x_axis();
    from_na(
        UnitQuaternion::from_axis_angle(&z, phi1_deg.to_radians())
            * UnitQuaternion::from_axis_angle(&x, big_phi_deg.to_radians())
            * UnitQuaternion::from_axis_angle(&z, phi2_deg.to_radians()),
    )
}

/// The Bunge Euler angles (φ1, Φ, φ2), degrees, of `q`: the inverse of
/// [`from_euler_bunge_deg`], with φ1, φ2 in [0, 360) and Φ in [0, 180]; at Φ = 0 or 180 only
/// φ1 ± φ2 is defined and φ2 is reported as 0.
pub fn to_euler_bunge_deg(q: Quaternion) -> [f64; 3] {
    let r = matrix(q);
    let big_phi = r[2][2].clamp(-1.0, 1.0).acos();
    let deg = |x: f64| x.to_degrees().rem_euclid(360.0);
    if big_phi.sin().abs() < 1e-9 {
        // R = Rz(φ1) Rx(0 or π): the first column gives φ1 with φ2 = 0.
        [deg(r[1][0].atan2(r[0][0])), big_phi.to_degrees(), 0.0]
    } else {
        [
            deg(r[0][2].atan2(-r[1][2])),
            big_phi.to_degrees(),
            deg(r[2][0].atan2(r[2][1])),
        ]
    }
}

/// A rotation uniform on SO(3) (Haar measure) from three independent uniforms in [0, 1):
/// Shoemake, "Uniform random rotations", Graphics Gems III (1992) — a uniform point on the
/// unit 3-sphere of quaternions. Its angle θ has density (1 − cos θ)/π on [0, π].
pub fn uniform(u: [f64; 3]) -> Quaternion {
    use std::f64::consts::TAU;
    let (a, b) = ((1.0 - u[0]).sqrt(), u[0].sqrt());
    let (s1, c1) = (TAU * u[1]).sin_cos();
    let (s2, c2) = (TAU * u[2]).sin_cos();
    from_na(UnitQuaternion::from_quaternion(NQuaternion::new(
        b * c2,
        a * s1,
        a * c1,
        b * s2,
    )))
}

/// The rotation that best maps the `reference` positions onto the `current` ones, each set
/// about its own weighted centre (weights `w`): Kabsch, Acta Cryst. A 32, 922 (1976), by the
/// singular value decomposition of the weighted covariance, with the sign fix that keeps it
/// a proper rotation. Identity for fewer than two distinct points.
pub fn kabsch(reference: &[Vec3], current: &[Vec3], w: &[f64]) -> Quaternion {
    let wsum: f64 = w.iter().sum();
    if reference.len() < 2 || wsum <= 0.0 {
        return IDENTITY;
    }
    let centre = |p: &[Vec3]| {
        let mut c = Vector3::zeros();
        for (x, &wi) in p.iter().zip(w) {
            c += Vector3::new(x[0], x[1], x[2]) * wi;
        }
        c / wsum
    };
    let (ca, cb) = (centre(reference), centre(current));
    let mut h = Matrix3::zeros();
    for ((a, b), &wi) in reference.iter().zip(current).zip(w) {
        let a = Vector3::new(a[0], a[1], a[2]) - ca;
        let b = Vector3::new(b[0], b[1], b[2]) - cb;
        h += a * b.transpose() * wi;
    }
    let svd = h.svd(true, true);
    let (Some(u), Some(vt)) = (svd.u, svd.v_t) else {
        return IDENTITY;
    };
    let v = vt.transpose();
    let d = (v * u.transpose()).determinant().signum();
    let r = v * Matrix3::from_diagonal(&Vector3::new(1.0, 1.0, d)) * u.transpose();
    from_na(UnitQuaternion::from_rotation_matrix(
        &Rotation3::from_matrix_unchecked(r),
    ))
}

/// The angle (degrees, in [0, 180]) of the rotation taking orientation `a` to `b`.
pub fn misorientation_deg(a: Quaternion, b: Quaternion) -> f64 {
    angle_deg(compose(b, inverse(a)))
}

/// The 24 proper rotations of the cube.
pub fn cubic_rotations() -> [Quaternion; 24] {
    let h = std::f64::consts::FRAC_1_SQRT_2;
    let mut q = [IDENTITY; 24];
    let mut n = 1;
    let mut push = |v: Quaternion| {
        q[n] = v;
        n += 1;
    };
    // 180° about the cube axes.
    for a in 1..4 {
        let mut v = [0.0; 4];
        v[a] = 1.0;
        push(v);
    }
    // ±90° about the cube axes.
    for a in 1..4 {
        for s in [1.0, -1.0] {
            let mut v = [h, 0.0, 0.0, 0.0];
            v[a] = s * h;
            push(v);
        }
    }
    // ±120° about the body diagonals.
    for sx in [1.0, -1.0] {
        for sy in [1.0, -1.0] {
            for sz in [1.0, -1.0] {
                push([0.5, 0.5 * sx, 0.5 * sy, 0.5 * sz]);
            }
        }
    }
    // 180° about the face diagonals.
    for (a, b) in [(1, 2), (1, 3), (2, 3)] {
        for s in [1.0, -1.0] {
            let mut v = [0.0; 4];
            v[a] = h;
            v[b] = s * h;
            push(v);
        }
    }
    q
}

/// The misorientation (degrees) of two cubic crystals of orientations `a` and `b`: the smallest
/// rotation angle over the 24 symmetry-equivalent descriptions of `a` (at most 62.80°,
/// Mackenzie, Biometrika 45, 229 (1958)).
pub fn cubic_misorientation_deg(a: Quaternion, b: Quaternion) -> f64 {
    cubic_rotations()
        .iter()
        .map(|&s| misorientation_deg(compose(a, s), b))
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vec3::{norm, sub};

    fn close(a: Vec3, b: Vec3, tol: f64) -> bool {
        norm(sub(a, b)) < tol
    }

    #[test]
    fn axis_angle_turns_x_into_y_about_z() {
        let q = from_axis_angle_deg([0.0, 0.0, 2.0], 90.0).unwrap();
        assert!(close(rotate(q, [1.0, 0.0, 0.0]), [0.0, 1.0, 0.0], 1e-12));
        assert!((angle_deg(q) - 90.0).abs() < 1e-12);
        assert!(from_axis_angle_deg([0.0; 3], 10.0).is_none());
        assert!(from_axis_angle_deg([1.0, 0.0, 0.0], f64::NAN).is_none());
    }

    /// The texture-literature identity for Bunge angles: the lab z axis in crystal coordinates
    /// is (sin φ2 sin Φ, cos φ2 sin Φ, cos Φ) (e.g. Bunge, Texture Analysis in Materials
    /// Science, eq. 2.39).
    #[test]
    fn bunge_angles_come_back_from_their_rotation() {
        // A quasi-random (Kronecker) sequence covers the unit cube evenly, no stream needed.
        let frac = |x: f64| x - x.floor();
        for k in 0..2000 {
            let k = k as f64;
            let q = uniform([
                frac(0.5 + k * 0.8191725),
                frac(k * 0.6710436),
                frac(k * 0.5497005),
            ]);
            let [a, b, c] = to_euler_bunge_deg(q);
            assert!((0.0..360.0).contains(&a) && (0.0..=180.0).contains(&b));
            assert!((0.0..360.0).contains(&c));
            let back = from_euler_bunge_deg(a, b, c);
            assert!(
                misorientation_deg(q, back) < 1e-6,
                "draw {k}: {q:?} -> {a}, {b}, {c}"
            );
        }
        // The degenerate axis: Φ = 0 gives φ1 + φ2 in φ1.
        let q = from_euler_bunge_deg(30.0, 0.0, 50.0);
        let [a, b, c] = to_euler_bunge_deg(q);
        assert!(
            (a - 80.0).abs() < 1e-9 && b.abs() < 1e-6 && c == 0.0,
            "{a} {b} {c}"
        );
    }

    #[test]
    fn bunge_angles_put_the_sample_normal_where_the_texture_literature_says() {
        for (p1, p, p2) in [(10.0, 20.0, 30.0), (200.0, 95.0, 300.0), (0.0, 0.0, 45.0)] {
            let q = from_euler_bunge_deg(p1, p, p2);
            let z_in_crystal = rotate(inverse(q), [0.0, 0.0, 1.0]);
            let (s2, c2) = f64::to_radians(p2).sin_cos();
            let (sp, cp) = f64::to_radians(p).sin_cos();
            assert!(
                close(z_in_crystal, [s2 * sp, c2 * sp, cp], 1e-12),
                "{p1} {p} {p2}"
            );
        }
    }

    #[test]
    fn kabsch_recovers_a_rotation_from_noisy_points() {
        let q = from_axis_angle_deg([1.0, 2.0, -0.5], 37.0).unwrap();
        let pts: Vec<Vec3> = (0..40)
            .map(|i| {
                let t = i as f64;
                [(t * 0.7).sin() * 5.0, (t * 1.3).cos() * 4.0, t * 0.1 - 2.0]
            })
            .collect();
        let moved: Vec<Vec3> = pts
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let r = rotate(q, p);
                // Deterministic noise of 0.01 Å and a translation.
                let e = 0.01 * ((i as f64) * 2.1).sin();
                [r[0] + 3.0 + e, r[1] - 1.0 - e, r[2] + 0.5 + e]
            })
            .collect();
        let fit = kabsch(&pts, &moved, &vec![1.0; pts.len()]);
        assert!(
            misorientation_deg(fit, q) < 0.1,
            "{}",
            misorientation_deg(fit, q)
        );
        // A mirror image is not a rotation: the fit must stay proper.
        let mirrored: Vec<Vec3> = pts.iter().map(|p| [-p[0], p[1], p[2]]).collect();
        let m = matrix(kabsch(&pts, &mirrored, &vec![1.0; pts.len()]));
        let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
        assert!((det - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_cubic_group_is_closed_and_maps_the_cube_onto_itself() {
        let g = cubic_rotations();
        for &a in &g {
            // Every axis goes to a signed axis.
            for e in [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]] {
                let r = rotate(a, e);
                assert!(
                    r.iter()
                        .all(|x| x.abs() < 1e-12 || (x.abs() - 1.0).abs() < 1e-12)
                );
            }
            for &b in &g {
                let c = compose(a, b);
                assert!(g.iter().any(|&s| misorientation_deg(s, c) < 1e-9));
            }
        }
        for i in 0..24 {
            for j in 0..i {
                assert!(misorientation_deg(g[i], g[j]) > 1.0, "{i} and {j} equal");
            }
        }
    }

    #[test]
    fn cubic_misorientation_folds_symmetric_turns() {
        let a = from_euler_bunge_deg(12.0, 34.0, 56.0);
        let turn = |deg| compose(from_axis_angle_deg([0.0, 0.0, 1.0], deg).unwrap(), a);
        // About a cube axis of the lab, not of the crystal: compose on the crystal side.
        let crystal_turn = |deg| compose(a, from_axis_angle_deg([0.0, 0.0, 1.0], deg).unwrap());
        assert!((cubic_misorientation_deg(a, crystal_turn(90.0))).abs() < 1e-9);
        assert!((cubic_misorientation_deg(a, crystal_turn(30.0)) - 30.0).abs() < 1e-9);
        assert!((cubic_misorientation_deg(a, crystal_turn(60.0)) - 30.0).abs() < 1e-9);
        assert!((misorientation_deg(a, turn(20.0)) - 20.0).abs() < 1e-9);
    }
}
