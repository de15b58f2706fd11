//! Small helpers on 3-vectors (`[f64; 3]`) and on sets of them.
//!
//! Base layer: imports nothing from the crate. Every helper spells out its arithmetic in a fixed
//! order (`x`, then `y`, then `z`), so replacing a hand-written expression by a helper does not
//! change a single bit of the result.

/// A Cartesian vector.
pub type Vec3 = [f64; 3];

/// `a + b`.
#[inline]
pub fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

/// `a − b`.
#[inline]
pub fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// `s · a`.
#[inline]
pub fn scale(a: Vec3, s: f64) -> Vec3 {
    [s * a[0], s * a[1], s * a[2]]
}

/// `a · b`.
#[inline]
pub fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// `a × b`.
#[inline]
pub fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// `|a|²`.
#[inline]
pub fn norm2(a: Vec3) -> f64 {
    dot(a, a)
}

/// `|a|`.
#[inline]
pub fn norm(a: Vec3) -> f64 {
    dot(a, a).sqrt()
}

/// `|a − b|` (no periodic images).
#[inline]
pub fn dist(a: Vec3, b: Vec3) -> f64 {
    norm(sub(a, b))
}

/// `Σ_i a_i · b_i` over two equally long sets of vectors (e.g. force · velocity of a system).
#[inline]
pub fn dot_all(a: &[Vec3], b: &[Vec3]) -> f64 {
    a.iter().zip(b).map(|(x, y)| dot(*x, *y)).sum()
}

/// `Σ_i a_i b_i` over two flat arrays (e.g. the stacked coordinates of NEB images).
#[inline]
pub fn dot_flat(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities() {
        let (a, b) = ([1.0, 2.0, 3.0], [-2.0, 0.5, 4.0]);
        assert_eq!(add(a, b), [-1.0, 2.5, 7.0]);
        assert_eq!(sub(a, b), [3.0, 1.5, -1.0]);
        assert_eq!(scale(a, 2.0), [2.0, 4.0, 6.0]);
        assert_eq!(dot(a, b), 11.0);
        let c = cross(a, b);
        assert_eq!((dot(c, a), dot(c, b)), (0.0, 0.0));
        assert_eq!(cross([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]), [0.0, 0.0, 1.0]);
        assert_eq!(norm([3.0, 4.0, 12.0]), 13.0);
        assert_eq!(norm2([3.0, 4.0, 12.0]), 169.0);
        assert_eq!(dist(a, a), 0.0);
        assert_eq!(dot_all(&[a, b], &[b, a]), 22.0);
        assert_eq!(dot_flat(&a, &b), 11.0);
    }
}
