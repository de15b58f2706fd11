//! Climbing-image nudged elastic band (CI-NEB): minimum energy paths and saddle points.
//!
//! The band is a chain of images between two fixed minima. Each intermediate image feels the
//! true force perpendicular to the path tangent plus a spring force along it; once the band is
//! roughly relaxed, the highest image stops feeling springs and climbs along the tangent to the
//! saddle point:
//!
//! - **tangent**: the improved tangent of G. Henkelman and H. Jónsson, J. Chem. Phys. 113, 9978
//!   (2000): the difference to the higher neighbouring image, and at an extremum of the energy
//!   along the band an energy-weighted mix of both differences, which removes kinks;
//! - **spring force**: `k (|R_{i+1} − R_i| − |R_i − R_{i−1}|) τ̂` (same paper), which keeps the
//!   images evenly spaced;
//! - **climbing image**: G. Henkelman, B. P. Uberuaga and H. Jónsson, J. Chem. Phys. 113, 9901
//!   (2000): `F_ci = F − 2 (F·τ̂) τ̂`, no spring;
//! - **optimiser**: FIRE (Bitzek et al., Phys. Rev. Lett. 97, 170201, 2006) on the whole band,
//!   with unit masses and the Euler integrator (as ASE's `FIRE`); a step moves no atom by more
//!   than `max_step`.
//!
//! Converged means: climbing is on and the largest per-atom norm of the NEB force over all
//! intermediate images is below the tolerance.
//!
//! The core works on flat coordinate vectors through the [`Landscape`] trait, so it runs on an
//! analytic surface as well as on atoms; [`neb_atoms`] is the atomistic front end (free atoms
//! only enter the band; fixed atoms never move).

use super::Potential;
use super::system::{ForceField, System};
use crate::error::{Error, Result};
use crate::io::validate::{at_least, positive};
use crate::vec3::dot_flat;

/// An energy surface the band lives on.
pub trait Landscape {
    /// Energy of `x`, with the force `−∇E` written to `forces` (same length as `x`). `image`
    /// names the band image being evaluated (endpoints 0 and `n_images + 1`), so an
    /// implementation may keep per-image state such as a neighbour list.
    fn evaluate(&mut self, image: usize, x: &[f64], forces: &mut [f64]) -> f64;
}

/// NEB parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NebOptions {
    /// Intermediate images (the endpoints are extra).
    pub images: usize,
    /// Spring constant, eV/Å².
    pub spring_ev_a2: f64,
    /// Converged when climbing and every intermediate image's largest per-atom NEB force is
    /// below this, eV/Å.
    pub force_tolerance_ev_a: f64,
    /// Climbing starts when the largest NEB force first drops below this (eV/Å) or after
    /// `climb_after_steps`, whichever comes first.
    pub climb_below_ev_a: f64,
    /// See `climb_below_ev_a`.
    pub climb_after_steps: usize,
    /// Use the climbing image at all (plain NEB if false: converged when the forces are small).
    pub climb: bool,
    /// Iteration limit (each iteration evaluates every intermediate image once).
    pub max_steps: usize,
    /// Largest displacement of one atom in one step, Å.
    pub max_step_a: f64,
    /// FIRE: initial time step (unit masses; Å, eV units).
    pub dt_start: f64,
    /// FIRE: largest time step.
    pub dt_max: f64,
    /// Coordinates per atom for force norms (3 for atoms; 2 for a 2-D test surface).
    pub dims_per_atom: usize,
}

impl Default for NebOptions {
    fn default() -> Self {
        NebOptions {
            images: 7,
            spring_ev_a2: 2.0,
            force_tolerance_ev_a: 0.01,
            climb_below_ev_a: 0.1,
            climb_after_steps: 200,
            climb: true,
            max_steps: 2000,
            max_step_a: 0.1,
            dt_start: 0.05,
            dt_max: 0.5,
            dims_per_atom: 3,
        }
    }
}

impl NebOptions {
    fn validate(&self) -> Result<()> {
        if self.images == 0 {
            return Err(Error::field(
                "neb.images",
                "at least one intermediate image",
            ));
        }
        for (name, v) in [
            ("neb.spring_ev_a2", self.spring_ev_a2),
            ("neb.force_tolerance_ev_a", self.force_tolerance_ev_a),
            ("neb.max_step_a", self.max_step_a),
            ("neb.dt_start", self.dt_start),
            ("neb.dt_max", self.dt_max),
        ] {
            positive(name, v)?;
        }
        at_least("neb.dims_per_atom", self.dims_per_atom, 1)?;
        Ok(())
    }
}

/// What a band relaxation returns.
#[derive(Debug, Clone, PartialEq)]
pub struct NebResult {
    /// Energy of every image, endpoints included (eV).
    pub energies_ev: Vec<f64>,
    /// Cumulative path length at every image (Å).
    pub path_length_a: Vec<f64>,
    /// Coordinates of every image, endpoints included.
    pub images: Vec<Vec<f64>>,
    /// Index of the highest image (the climbing image when converged).
    pub saddle_image: usize,
    /// Its energy (eV): the saddle energy when converged.
    pub saddle_energy_ev: f64,
    /// True if the climbing band met the force tolerance.
    pub converged: bool,
    /// Iterations taken.
    pub steps: usize,
    /// Largest per-atom NEB force at the end (eV/Å).
    pub max_force_ev_a: f64,
}

impl NebResult {
    /// Saddle energy minus initial energy (eV).
    pub fn forward_barrier_ev(&self) -> f64 {
        self.saddle_energy_ev - self.energies_ev[0]
    }

    /// Saddle energy minus final energy (eV).
    pub fn reverse_barrier_ev(&self) -> f64 {
        self.saddle_energy_ev - self.energies_ev[self.energies_ev.len() - 1]
    }

    /// True if some intermediate image lies below both of its neighbours by more than
    /// `tolerance_ev`: the path passes through an intermediate minimum.
    pub fn has_intermediate_minimum(&self, tolerance_ev: f64) -> bool {
        let e = &self.energies_ev;
        (1..e.len() - 1).any(|i| e[i] + tolerance_ev < e[i - 1] && e[i] + tolerance_ev < e[i + 1])
    }
}

/// Largest norm over the `g`-sized groups of `v` (per-atom force norm).
fn max_group_norm(v: &[f64], g: usize) -> f64 {
    v.chunks(g)
        .map(|c| c.iter().map(|x| x * x).sum::<f64>().sqrt())
        .fold(0.0, f64::max)
}

/// Relaxes a band from the straight line between `initial` and `final_` (both should be
/// minima of `landscape`) and returns the path and saddle.
pub fn neb(
    landscape: &mut dyn Landscape,
    initial: &[f64],
    final_: &[f64],
    opts: &NebOptions,
) -> Result<NebResult> {
    opts.validate()?;
    let d = initial.len();
    if final_.len() != d || d == 0 {
        return Err(Error::field(
            "neb",
            format!(
                "endpoints have {} and {} coordinates",
                initial.len(),
                final_.len()
            ),
        ));
    }
    if d % opts.dims_per_atom != 0 {
        return Err(Error::field(
            "neb.dims_per_atom",
            format!("{d} coordinates are not whole atoms"),
        ));
    }
    let sep: f64 = initial
        .iter()
        .zip(final_)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt();
    if sep.is_nan() || sep <= 1e-8 {
        return Err(Error::Simulation(
            "NEB endpoints coincide: nothing to connect".into(),
        ));
    }
    let m = opts.images;
    let n = m + 2;
    let mut x: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let t = i as f64 / (n - 1) as f64;
            initial
                .iter()
                .zip(final_)
                .map(|(a, b)| a + t * (b - a))
                .collect()
        })
        .collect();
    let mut f_true = vec![vec![0.0; d]; n];
    let mut e = vec![0.0; n];
    e[0] = landscape.evaluate(0, &x[0], &mut f_true[0]);
    e[n - 1] = landscape.evaluate(n - 1, &x[n - 1], &mut f_true[n - 1]);
    let mut f_neb = vec![0.0; m * d];
    let mut v = vec![0.0; m * d];
    let mut tau = vec![0.0; d];
    let (alpha_start, f_alpha, f_inc, f_dec, n_min) = (0.1, 0.99, 1.1, 0.5, 5usize);
    let mut dt = opts.dt_start;
    let mut alpha = alpha_start;
    let mut n_pos = 0usize;
    let mut climbing = false;
    let mut steps = 0;
    let mut fmax;
    let mut converged = false;
    loop {
        for i in 1..=m {
            e[i] = landscape.evaluate(i, &x[i], &mut f_true[i]);
        }
        let imax = (1..=m)
            .max_by(|&a, &b| e[a].total_cmp(&e[b]))
            .expect("at least one image");
        for i in 1..=m {
            // Improved tangent.
            let (ep, e0, em) = (e[i + 1], e[i], e[i - 1]);
            let w = if ep > e0 && e0 > em {
                (1.0, 0.0)
            } else if ep < e0 && e0 < em {
                (0.0, 1.0)
            } else {
                let dmax = (ep - e0).abs().max((em - e0).abs());
                let dmin = (ep - e0).abs().min((em - e0).abs());
                if ep > em { (dmax, dmin) } else { (dmin, dmax) }
            };
            let mut dp2 = 0.0;
            let mut dm2 = 0.0;
            for k in 0..d {
                let tp = x[i + 1][k] - x[i][k];
                let tm = x[i][k] - x[i - 1][k];
                dp2 += tp * tp;
                dm2 += tm * tm;
                tau[k] = w.0 * tp + w.1 * tm;
            }
            let tn = dot_flat(&tau, &tau).sqrt();
            if tn.is_nan() || tn <= 0.0 {
                return Err(Error::Simulation(format!(
                    "NEB image {i} coincides with its neighbours: no tangent"
                )));
            }
            tau.iter_mut().for_each(|t| *t /= tn);
            let fi = &f_true[i];
            let fpar = dot_flat(fi, &tau);
            let out = &mut f_neb[(i - 1) * d..i * d];
            if climbing && i == imax {
                for k in 0..d {
                    out[k] = fi[k] - 2.0 * fpar * tau[k];
                }
            } else {
                let spring = opts.spring_ev_a2 * (dp2.sqrt() - dm2.sqrt());
                for k in 0..d {
                    out[k] = fi[k] - fpar * tau[k] + spring * tau[k];
                }
            }
        }
        fmax = max_group_norm(&f_neb, opts.dims_per_atom);
        if fmax < opts.force_tolerance_ev_a && (climbing || !opts.climb) {
            converged = true;
            break;
        }
        if steps >= opts.max_steps {
            break;
        }
        if opts.climb
            && !climbing
            && (fmax < opts.climb_below_ev_a.max(opts.force_tolerance_ev_a)
                || steps >= opts.climb_after_steps)
        {
            // The forces change at once: start the optimiser afresh.
            climbing = true;
            v.iter_mut().for_each(|x| *x = 0.0);
            n_pos = 0;
            alpha = alpha_start;
            continue;
        }
        steps += 1;
        let p = dot_flat(&f_neb, &v);
        if p > 0.0 {
            let vn = dot_flat(&v, &v).sqrt();
            let fnorm = dot_flat(&f_neb, &f_neb).sqrt();
            for k in 0..v.len() {
                v[k] = (1.0 - alpha) * v[k] + alpha * vn * f_neb[k] / fnorm;
            }
            if n_pos > n_min {
                dt = (dt * f_inc).min(opts.dt_max);
                alpha *= f_alpha;
            }
            n_pos += 1;
        } else {
            v.iter_mut().for_each(|x| *x = 0.0);
            alpha = alpha_start;
            dt *= f_dec;
            n_pos = 0;
        }
        for k in 0..v.len() {
            v[k] += dt * f_neb[k];
        }
        let vmax = max_group_norm(&v, opts.dims_per_atom);
        let h = if vmax * dt > opts.max_step_a {
            opts.max_step_a / vmax
        } else {
            dt
        };
        for i in 1..=m {
            let vi = &v[(i - 1) * d..i * d];
            for k in 0..d {
                x[i][k] += h * vi[k];
            }
        }
    }
    let saddle_image = (0..n)
        .max_by(|&a, &b| e[a].total_cmp(&e[b]))
        .expect("images");
    let mut path_length_a = vec![0.0; n];
    for i in 1..n {
        let s: f64 = x[i]
            .iter()
            .zip(&x[i - 1])
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt();
        path_length_a[i] = path_length_a[i - 1] + s;
    }
    Ok(NebResult {
        saddle_energy_ev: e[saddle_image],
        energies_ev: e,
        path_length_a,
        images: x,
        saddle_image,
        converged,
        steps,
        max_force_ev_a: fmax,
    })
}

/// Atoms on a [`Potential`]: one [`System`] and Verlet list per image; only the free atoms'
/// coordinates form the band.
pub struct AtomLandscape<'p> {
    systems: Vec<System>,
    fields: Vec<ForceField<'p>>,
    free: Vec<usize>,
    evaluations: u64,
}

impl<'p> AtomLandscape<'p> {
    /// A landscape for `images + 2` copies of `template` (whose fixed atoms stay where they are
    /// in the template).
    pub fn new(potential: &'p dyn Potential, template: &System, images: usize) -> Self {
        let free = (0..template.len())
            .filter(|&i| !template.fixed[i])
            .collect();
        AtomLandscape {
            systems: vec![template.clone(); images + 2],
            fields: (0..images + 2)
                .map(|_| ForceField::new(potential, 1.0))
                .collect(),
            free,
            evaluations: 0,
        }
    }

    /// Coordinates of the free atoms of `system`, flattened.
    pub fn coordinates(&self, system: &System) -> Vec<f64> {
        self.free
            .iter()
            .flat_map(|&i| system.positions[i])
            .collect()
    }

    /// Writes flattened free-atom coordinates back into `system`.
    pub fn set_coordinates(&self, system: &mut System, x: &[f64]) {
        for (k, &i) in self.free.iter().enumerate() {
            system.positions[i] = [x[3 * k], x[3 * k + 1], x[3 * k + 2]];
        }
    }

    /// Energy evaluations so far.
    pub fn evaluations(&self) -> u64 {
        self.evaluations
    }
}

impl Landscape for AtomLandscape<'_> {
    fn evaluate(&mut self, image: usize, x: &[f64], forces: &mut [f64]) -> f64 {
        let sys = &mut self.systems[image];
        for (k, &i) in self.free.iter().enumerate() {
            sys.positions[i] = [x[3 * k], x[3 * k + 1], x[3 * k + 2]];
        }
        let ev = self.fields[image].compute(sys, false);
        for (k, &i) in self.free.iter().enumerate() {
            forces[3 * k..3 * k + 3].copy_from_slice(&ev.forces[i]);
        }
        self.evaluations += 1;
        ev.energy
    }
}

/// CI-NEB between two configurations of the same atoms: `initial` (positions, species, box
/// and fixed mask) and `final_positions`. Both should be relaxed minima. The result's image
/// coordinates are those of the free atoms only, in index order.
///
/// The path runs along minimum-image differences: an atom that relaxation wrapped across a
/// periodic boundary in one end state but not the other moves by its short displacement, not
/// across the box (which would give a band through overlapping atoms and a barrier of
/// hundreds of eV). So no atom may move by half a box length or more between the ends.
pub fn neb_atoms(
    potential: &dyn Potential,
    initial: &System,
    final_positions: &[[f64; 3]],
    opts: &NebOptions,
) -> Result<NebResult> {
    if final_positions.len() != initial.len() {
        return Err(Error::field(
            "neb",
            format!(
                "initial state has {} atoms, final {}",
                initial.len(),
                final_positions.len()
            ),
        ));
    }
    let simbox = &initial.simbox;
    let mut unwrapped = Vec::with_capacity(final_positions.len());
    for (i, (&a, &b)) in initial.positions.iter().zip(final_positions).enumerate() {
        if b.iter().any(|c| !c.is_finite()) {
            return Err(Error::field(
                "neb",
                format!("atom {i} of the final state has a non-finite coordinate {b:?}"),
            ));
        }
        let d = simbox.delta(a, b);
        if initial.fixed[i] && crate::vec3::norm(d) > 1e-9 {
            return Err(Error::field(
                "neb",
                format!("fixed atom {i} differs between the endpoints"),
            ));
        }
        // Unchanged where no periodic image was taken, so unwrapped inputs give bit-identical
        // bands (a + (b - a) can differ from b in the last bit).
        unwrapped.push(if d == crate::vec3::sub(b, a) {
            b
        } else {
            crate::vec3::add(a, d)
        });
    }
    let mut land = AtomLandscape::new(potential, initial, opts.images);
    let x0 = land.coordinates(initial);
    let mut fin = initial.clone();
    fin.positions = unwrapped;
    let x1 = land.coordinates(&fin);
    let opts = NebOptions {
        dims_per_atom: 3,
        ..*opts
    };
    neb(&mut land, &x0, &x1, &opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Müller–Brown surface (K. Müller and L. D. Brown, Theor. Chim. Acta 53, 75 (1979)).
    struct MullerBrown;

    const A: [f64; 4] = [-200.0, -100.0, -170.0, 15.0];
    const AA: [f64; 4] = [-1.0, -1.0, -6.5, 0.7];
    const BB: [f64; 4] = [0.0, 0.0, 11.0, 0.6];
    const CC: [f64; 4] = [-10.0, -10.0, -6.5, 0.7];
    const X0: [f64; 4] = [1.0, 0.0, -0.5, -1.0];
    const Y0: [f64; 4] = [0.0, 0.5, 1.5, 1.0];

    fn mb(x: f64, y: f64) -> (f64, f64, f64) {
        let (mut e, mut gx, mut gy) = (0.0, 0.0, 0.0);
        for k in 0..4 {
            let (dx, dy) = (x - X0[k], y - Y0[k]);
            let t = A[k] * (AA[k] * dx * dx + BB[k] * dx * dy + CC[k] * dy * dy).exp();
            e += t;
            gx += t * (2.0 * AA[k] * dx + BB[k] * dy);
            gy += t * (BB[k] * dx + 2.0 * CC[k] * dy);
        }
        (e, gx, gy)
    }

    impl Landscape for MullerBrown {
        fn evaluate(&mut self, _image: usize, x: &[f64], f: &mut [f64]) -> f64 {
            let (e, gx, gy) = mb(x[0], x[1]);
            f[0] = -gx;
            f[1] = -gy;
            e
        }
    }

    /// Newton iteration on ∇E = 0 from `p` (finite-difference Hessian): polishes a stationary
    /// point independently of the band.
    fn stationary(mut p: [f64; 2]) -> [f64; 2] {
        for _ in 0..50 {
            let (_, gx, gy) = mb(p[0], p[1]);
            let h = 1e-6;
            let (_, gxx, gyx) = mb(p[0] + h, p[1]);
            let (_, gxy, gyy) = mb(p[0], p[1] + h);
            let (hxx, hxy, hyx, hyy) = (
                (gxx - gx) / h,
                (gxy - gx) / h,
                (gyx - gy) / h,
                (gyy - gy) / h,
            );
            let det = hxx * hyy - hxy * hyx;
            p[0] -= (hyy * gx - hxy * gy) / det;
            p[1] -= (-hyx * gx + hxx * gy) / det;
        }
        p
    }

    #[test]
    fn climbing_image_finds_the_muller_brown_saddles() {
        // Minima and saddles of the Müller–Brown surface, polished by Newton's method from the
        // values usually quoted (minima A (−0.558, 1.442), B (−0.050, 0.467), C (0.623, 0.028);
        // saddles (−0.822, 0.624) with E ≈ −40.66 and (0.212, 0.293) with E ≈ −72.25).
        let a = stationary([-0.558, 1.442]);
        let b = stationary([-0.050, 0.467]);
        let c = stationary([0.623, 0.028]);
        let s1 = stationary([-0.822, 0.624]);
        let s2 = stationary([0.212, 0.293]);
        let e_s1 = mb(s1[0], s1[1]).0;
        let e_s2 = mb(s2[0], s2[1]).0;
        assert!((e_s1 + 40.665).abs() < 0.01, "{e_s1}");
        assert!((e_s2 + 72.249).abs() < 0.01, "{e_s2}");
        let opts = NebOptions {
            images: 9,
            spring_ev_a2: 20.0,
            force_tolerance_ev_a: 1e-3,
            climb_below_ev_a: 5.0,
            max_steps: 20_000,
            max_step_a: 0.01,
            dt_start: 1e-4,
            dt_max: 2e-3,
            dims_per_atom: 2,
            ..Default::default()
        };
        for (from, to, saddle, e_saddle) in [(a, b, s1, e_s1), (b, c, s2, e_s2)] {
            let r = neb(&mut MullerBrown, &from, &to, &opts).unwrap();
            assert!(r.converged, "max force {}", r.max_force_ev_a);
            let p = &r.images[r.saddle_image];
            assert!(
                (p[0] - saddle[0]).abs() < 2e-3 && (p[1] - saddle[1]).abs() < 2e-3,
                "climbing image at {p:?}, saddle at {saddle:?}"
            );
            assert!((r.saddle_energy_ev - e_saddle).abs() < 1e-4);
            // Forward minus reverse barrier is the energy difference of the ends, exactly.
            let de = r.energies_ev[r.energies_ev.len() - 1] - r.energies_ev[0];
            assert!((r.forward_barrier_ev() - r.reverse_barrier_ev() - de).abs() < 1e-12);
        }
        // Straight across A → C the band must find the path over both saddles via B: the
        // highest point is the upper saddle, and B shows up as an intermediate minimum.
        let r = neb(&mut MullerBrown, &a, &c, &NebOptions { images: 15, ..opts }).unwrap();
        assert!(
            r.converged,
            "{} {} {:?}",
            r.steps, r.max_force_ev_a, r.energies_ev
        );
        assert!(
            (r.saddle_energy_ev - e_s1).abs() < 1e-3,
            "{}",
            r.saddle_energy_ev
        );
        assert!(r.has_intermediate_minimum(0.1), "{:?}", r.energies_ev);
    }

    #[test]
    fn bad_input_is_an_error() {
        let o = NebOptions {
            dims_per_atom: 2,
            ..Default::default()
        };
        assert!(neb(&mut MullerBrown, &[0.0, 0.0], &[0.0, 0.0], &o).is_err());
        assert!(neb(&mut MullerBrown, &[0.0, 0.0], &[0.0], &o).is_err());
        assert!(
            neb(
                &mut MullerBrown,
                &[0.0, 0.0],
                &[1.0, 0.0],
                &NebOptions { images: 0, ..o }
            )
            .is_err()
        );
    }

    /// An adatom on a rigid fcc(100) slab of Morse copper (every slab atom fixed), relaxed in
    /// a hollow and in the next hollow along (1, 1): `(potential, slab, initial, final, index of
    /// the adatom, half the lattice constant)`.
    fn adatom_hop() -> (crate::md::Morse, System, System, System, usize, f64) {
        use crate::md::{Morse, SimBox};
        let pot = Morse::copper();
        let a = 3.615;
        let h = a / 2.0;
        let mut x = Vec::new();
        for k in 0..4usize {
            for j in 0..8usize {
                for i in 0..8usize {
                    if (i + j + k) % 2 == 0 {
                        x.push([i as f64 * h + 0.3, j as f64 * h + 0.3, k as f64 * h]);
                    }
                }
            }
        }
        let n_slab = x.len();
        x.push([4.0 * h + 0.3, 4.0 * h + 0.3, 4.0 * h]);
        let simbox = SimBox {
            lengths: [4.0 * a, 4.0 * a, 40.0],
            periodic: [true, true, false],
        };
        let mut sys = System::new(x, vec![0; n_slab + 1], simbox, &pot).unwrap();
        for f in sys.fixed.iter_mut().take(n_slab) {
            *f = true;
        }
        let relax = |sys: &mut System| {
            let o = crate::md::minimize::FireOptions {
                force_tolerance_ev_a: 1e-6,
                ..Default::default()
            };
            crate::md::minimize::fire(sys, &pot, &o).unwrap()
        };
        let mut init = sys.clone();
        assert!(relax(&mut init).converged);
        let mut fin = sys.clone();
        fin.positions[n_slab][0] += h;
        fin.positions[n_slab][1] += h;
        assert!(relax(&mut fin).converged);
        (pot, sys, init, fin, n_slab, h)
    }

    /// By symmetry the adatom's hop from hollow to hollow crosses the bridge between two
    /// surface atoms, and the saddle energy is the minimum over the height of the energy at
    /// the bridge.
    #[test]
    fn adatom_on_a_rigid_slab_crosses_the_bridge() {
        let (pot, sys, init, fin, n_slab, h) = adatom_hop();
        let opts = NebOptions {
            images: 5,
            force_tolerance_ev_a: 1e-4,
            ..Default::default()
        };
        let r = neb_atoms(&pot, &init, &fin.positions, &opts).unwrap();
        assert!(r.converged);
        // Energy at the bridge, minimised over the height by golden-section search.
        let bridge = |z: f64| {
            let mut s = sys.clone();
            s.positions[n_slab] = [4.5 * h + 0.3, 4.5 * h + 0.3, z];
            let mut field = ForceField::new(&pot, 1.0);
            field.compute(&mut s, false).energy
        };
        let (mut lo, mut hi) = (3.0 * h + 0.5, 3.0 * h + 3.5);
        let g = (5f64.sqrt() - 1.0) / 2.0;
        for _ in 0..80 {
            let (c, d) = (hi - g * (hi - lo), lo + g * (hi - lo));
            if bridge(c) < bridge(d) {
                hi = d;
            } else {
                lo = c;
            }
        }
        let e_bridge = bridge(0.5 * (lo + hi));
        assert!(
            (r.saddle_energy_ev - e_bridge).abs() < 1e-6,
            "NEB saddle {} vs bridge minimum {e_bridge}",
            r.saddle_energy_ev
        );
        let p = &r.images[r.saddle_image];
        assert!((p[0] - (4.5 * h + 0.3)).abs() < 1e-3 && (p[1] - (4.5 * h + 0.3)).abs() < 1e-3);
        assert!(r.forward_barrier_ev() > 0.05);
        // Symmetric hop: equal barriers both ways.
        assert!((r.forward_barrier_ev() - r.reverse_barrier_ev()).abs() < 1e-6);
    }

    /// End states wrapped differently (the adatom and a fixed slab atom of the final state
    /// shifted by whole box lengths, as relaxation in another code may leave them) give the
    /// same path and barrier as the unwrapped ones, not a band dragged across the box.
    #[test]
    fn differently_wrapped_end_states_give_the_same_barrier() {
        let (pot, _, init, fin, n_slab, _) = adatom_hop();
        let [lx, ly, _] = init.simbox.lengths;
        let opts = NebOptions {
            images: 5,
            force_tolerance_ev_a: 1e-4,
            ..Default::default()
        };
        let plain = neb_atoms(&pot, &init, &fin.positions, &opts).unwrap();
        let mut wrapped = fin.positions.clone();
        wrapped[n_slab][0] -= lx;
        wrapped[n_slab][1] += 2.0 * ly;
        wrapped[3][0] += lx;
        let r = neb_atoms(&pot, &init, &wrapped, &opts).unwrap();
        assert!(r.converged && plain.converged);
        assert!(
            (r.forward_barrier_ev() - plain.forward_barrier_ev()).abs() < 1e-8
                && (r.reverse_barrier_ev() - plain.reverse_barrier_ev()).abs() < 1e-8,
            "wrapped {} / {} eV, unwrapped {} / {} eV",
            r.forward_barrier_ev(),
            r.reverse_barrier_ev(),
            plain.forward_barrier_ev(),
            plain.reverse_barrier_ev()
        );
        assert!(plain.forward_barrier_ev() > 0.05 && plain.forward_barrier_ev() < 2.0);
    }
}
