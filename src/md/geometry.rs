//! Geometry of atom sets shared by the relaxer's contact report and `kmc analyze`: mass
//! centres, radius of gyration and the neck between two bodies. Kept here, below both users,
//! so every neck radius the program reports is computed by the same code (definitions in
//! [`crate::observe::analyze`]; rotations are in [`crate::rotation`]).

use crate::vec3::{Vec3, add, dot, norm, norm2, scale, sub};

/// Mass-weighted centre of the atoms `idx`.
pub fn mass_centre(positions: &[Vec3], masses: &[f64], idx: &[usize]) -> Vec3 {
    let mut c = [0.0; 3];
    let mut m = 0.0;
    for &i in idx {
        c = add(c, scale(positions[i], masses[i]));
        m += masses[i];
    }
    scale(c, 1.0 / m)
}

/// Mass-weighted radius of gyration of the atoms `idx` about their mass centre.
pub fn radius_of_gyration(positions: &[Vec3], masses: &[f64], idx: &[usize]) -> f64 {
    let c = mass_centre(positions, masses, idx);
    let (mut s, mut m) = (0.0, 0.0);
    for &i in idx {
        s += masses[i] * norm2(sub(positions[i], c));
        m += masses[i];
    }
    (s / m).sqrt()
}

/// The neck between centres `ca` and `cb` (definition in [`crate::observe::analyze`]): returns `(s*, r)`, the
/// contact point's distance from `ca` along the axis and the neck radius, for the atoms `idx`,
/// interplanar spacing `h` and atomic volume `omega`.
pub fn neck_radius(
    positions: &[Vec3],
    idx: &[usize],
    ca: Vec3,
    cb: Vec3,
    h: f64,
    omega: f64,
) -> (f64, f64) {
    let len = norm(sub(cb, ca));
    if len <= 0.0 || idx.is_empty() {
        return (0.0, 0.0);
    }
    let u = scale(sub(cb, ca), 1.0 / len);
    let mut s: Vec<f64> = idx.iter().map(|&i| dot(sub(positions[i], ca), u)).collect();
    s.sort_by(f64::total_cmp);
    // W is piecewise linear with kinks at s_i and s_i ± h: its minimum over [0, len] lies at
    // one of them or at an end, so those are the only candidates.
    let mut cand = vec![0.0, len];
    for &x in &s {
        for y in [x - h, x, x + h] {
            if (0.0..=len).contains(&y) {
                cand.push(y);
            }
        }
    }
    cand.sort_by(f64::total_cmp);
    let mut lo = 0;
    let mut best = (f64::INFINITY, 0.0);
    for &c in &cand {
        while lo < s.len() && s[lo] <= c - h {
            lo += 1;
        }
        let mut w = 0.0;
        for &x in &s[lo..] {
            if x >= c + h {
                break;
            }
            w += 1.0 - (x - c).abs() / h;
        }
        if w < best.0 {
            best = (w, c);
        }
    }
    let area = best.0.max(0.0) * omega / h;
    (best.1, (area / std::f64::consts::PI).sqrt())
}
