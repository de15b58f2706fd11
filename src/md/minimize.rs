//! Energy minimisation: FIRE 2.0 (Guénolé et al., Comput. Mater. Sci. 175, 109584, 2020, with
//! the semi-implicit Euler integrator of its Algorithm 2) and steepest descent with a
//! backtracking (Armijo) line search as fallback.
//!
//! Convergence is on a [`ForceNorm`] of the free atoms' forces: by default the largest per-atom
//! force norm `max_i |F_i|` (ASE's `fmax`), or the 2-norm of the global force vector
//! `sqrt(Σ_i |F_i|²)` (LAMMPS's `ftol` with its default `min_modify norm two`). Fixed atoms
//! never move. The system's velocities are left untouched.

use super::Potential;
use super::system::{ForceField, System, force_two_norm, max_force_norm};
use crate::error::{Error, Result};
use crate::io::validate::positive;
use crate::units::ACCEL_EV_PER_A_AMU_TO_A_PER_FS2;
use crate::vec3::dot_all;

/// Which norm of the forces the tolerance bounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForceNorm {
    /// The largest per-atom force norm `max_i |F_i|` (ASE's `fmax`, LAMMPS `norm max`).
    #[default]
    MaxAtom,
    /// The 2-norm of the global force vector `sqrt(Σ_i |F_i|²)` (LAMMPS `ftol`, `norm two`).
    /// It grows with `√N` for the same per-atom residual, so it is the stricter criterion.
    Global2,
}

impl ForceNorm {
    /// This norm of `forces` over the atoms not `fixed`.
    pub fn of(self, forces: &[[f64; 3]], fixed: &[bool]) -> f64 {
        match self {
            ForceNorm::MaxAtom => max_force_norm(forces, fixed),
            ForceNorm::Global2 => force_two_norm(forces, fixed),
        }
    }
}

/// What a minimisation returns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MinimizeResult {
    /// True if the chosen [`ForceNorm`] fell below the tolerance.
    pub converged: bool,
    /// Iterations taken (each costs one force call; a rejected line-search trial counts too).
    pub steps: usize,
    /// Final potential energy.
    pub energy_ev: f64,
    /// Final `max_i |F_i|` over the free atoms.
    pub max_force_ev_a: f64,
    /// Final 2-norm of the global force vector over the free atoms.
    pub force_two_norm_ev_a: f64,
}

impl MinimizeResult {
    fn at(
        converged: bool,
        steps: usize,
        energy_ev: f64,
        forces: &[[f64; 3]],
        fixed: &[bool],
    ) -> Self {
        MinimizeResult {
            converged,
            steps,
            energy_ev,
            max_force_ev_a: max_force_norm(forces, fixed),
            force_two_norm_ev_a: force_two_norm(forces, fixed),
        }
    }
}

/// FIRE parameters; the defaults are those of Guénolé et al. (2020) and LAMMPS `min_style fire`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FireOptions {
    /// Stop when the `norm` of the forces is below this.
    pub force_tolerance_ev_a: f64,
    /// Which norm `force_tolerance_ev_a` bounds.
    pub norm: ForceNorm,
    /// Iteration limit.
    pub max_steps: usize,
    /// Initial time step (the atoms' real masses are used).
    pub dt_start_fs: f64,
    /// Largest time step.
    pub dt_max_fs: f64,
    /// Smallest time step.
    pub dt_min_fs: f64,
    /// Steps with `P = F·v > 0` before the time step may grow.
    pub n_delay: usize,
    /// Time step growth factor.
    pub f_inc: f64,
    /// Time step shrink factor.
    pub f_dec: f64,
    /// Initial mixing parameter α.
    pub alpha_start: f64,
    /// α shrink factor.
    pub f_alpha: f64,
    /// Stop after this many consecutive uphill steps.
    pub max_uphill: usize,
    /// Largest displacement of an atom in one step, Å.
    pub max_step_a: f64,
    /// Verlet skin, Å.
    pub skin_a: f64,
}

impl Default for FireOptions {
    fn default() -> Self {
        FireOptions {
            force_tolerance_ev_a: 1e-4,
            norm: ForceNorm::MaxAtom,
            max_steps: 10_000,
            dt_start_fs: 1.0,
            dt_max_fs: 10.0,
            dt_min_fs: 0.02,
            n_delay: 20,
            f_inc: 1.1,
            f_dec: 0.5,
            alpha_start: 0.25,
            f_alpha: 0.99,
            max_uphill: 2000,
            max_step_a: 0.1,
            skin_a: 1.0,
        }
    }
}

impl FireOptions {
    fn validate(&self) -> Result<()> {
        let pos = [
            ("force_tolerance_ev_a", self.force_tolerance_ev_a),
            ("dt_start_fs", self.dt_start_fs),
            ("dt_max_fs", self.dt_max_fs),
            ("max_step_a", self.max_step_a),
        ];
        for (name, v) in pos {
            positive(name, v)?;
        }
        Ok(())
    }
}

/// Minimises with FIRE 2.0.
pub fn fire(
    system: &mut System,
    potential: &dyn Potential,
    opts: &FireOptions,
) -> Result<MinimizeResult> {
    opts.validate()?;
    let mut field = ForceField::new(potential, opts.skin_a);
    let n = system.len();
    let mut v = vec![[0.0f64; 3]; n];
    let mut dt = opts.dt_start_fs;
    let mut alpha = opts.alpha_start;
    let (mut n_pos, mut n_neg) = (0usize, 0usize);
    let mut forces = masked_forces(&mut field, system);
    let mut energy = field.last().energy;
    let mut steps = 0;
    let mut h_last = 0.0;
    while steps < opts.max_steps {
        if opts.norm.of(&forces, &system.fixed) < opts.force_tolerance_ev_a {
            return Ok(MinimizeResult::at(
                true,
                steps,
                energy,
                &forces,
                &system.fixed,
            ));
        }
        steps += 1;
        let power: f64 = dot_all(&forces, &v);
        if power > 0.0 {
            n_pos += 1;
            n_neg = 0;
            if n_pos > opts.n_delay {
                dt = (dt * opts.f_inc).min(opts.dt_max_fs);
                alpha *= opts.f_alpha;
            }
        } else {
            n_pos = 0;
            n_neg += 1;
            if n_neg > opts.max_uphill {
                break;
            }
            // "Initial delay": no time step reduction during the first n_delay steps.
            if steps >= opts.n_delay {
                if dt * opts.f_dec >= opts.dt_min_fs {
                    dt *= opts.f_dec;
                }
                alpha = opts.alpha_start;
            }
            // Undo half of the step that went uphill, then stop.
            for i in 0..n {
                if !system.fixed[i] {
                    for k in 0..3 {
                        system.positions[i][k] -= 0.5 * h_last * v[i][k];
                    }
                }
            }
            v.iter_mut().for_each(|x| *x = [0.0; 3]);
        }
        // Semi-implicit Euler with velocity mixing.
        for i in 0..n {
            if !system.fixed[i] {
                let c = dt * ACCEL_EV_PER_A_AMU_TO_A_PER_FS2 / system.masses[i];
                for k in 0..3 {
                    v[i][k] += c * forces[i][k];
                }
            }
        }
        let v_norm = dot_all(&v, &v).sqrt();
        let f_norm = dot_all(&forces, &forces).sqrt();
        if f_norm > 0.0 {
            let mix = alpha * v_norm / f_norm;
            for i in 0..n {
                for k in 0..3 {
                    v[i][k] = (1.0 - alpha) * v[i][k] + mix * forces[i][k];
                }
            }
        }
        // Cap the largest atomic displacement.
        let vmax = v
            .iter()
            .map(|x| (x[0] * x[0] + x[1] * x[1] + x[2] * x[2]).sqrt())
            .fold(0.0, f64::max);
        let h = if vmax * dt > opts.max_step_a {
            opts.max_step_a / vmax
        } else {
            dt
        };
        h_last = h;
        for i in 0..n {
            if !system.fixed[i] {
                for k in 0..3 {
                    system.positions[i][k] += h * v[i][k];
                }
            }
        }
        forces = masked_forces(&mut field, system);
        energy = field.last().energy;
    }
    let converged = opts.norm.of(&forces, &system.fixed) < opts.force_tolerance_ev_a;
    Ok(MinimizeResult::at(
        converged,
        steps,
        energy,
        &forces,
        &system.fixed,
    ))
}

/// Steepest-descent parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SteepestDescentOptions {
    /// Stop when the `norm` of the forces is below this.
    pub force_tolerance_ev_a: f64,
    /// Which norm `force_tolerance_ev_a` bounds.
    pub norm: ForceNorm,
    /// Force-call limit.
    pub max_steps: usize,
    /// Largest displacement of an atom in one step, Å (also the first trial step).
    pub max_step_a: f64,
    /// Armijo sufficient-decrease constant `c` in `E(x + s F) ≤ E(x) − c s |F|²`.
    pub armijo_c: f64,
    /// Verlet skin, Å.
    pub skin_a: f64,
}

impl Default for SteepestDescentOptions {
    fn default() -> Self {
        SteepestDescentOptions {
            force_tolerance_ev_a: 1e-4,
            norm: ForceNorm::MaxAtom,
            max_steps: 10_000,
            max_step_a: 0.1,
            armijo_c: 1e-4,
            skin_a: 1.0,
        }
    }
}

/// Minimises by steepest descent: trial `x + s F`, halving `s` until the Armijo condition holds,
/// growing it by 1.5 after each accepted step.
pub fn steepest_descent(
    system: &mut System,
    potential: &dyn Potential,
    opts: &SteepestDescentOptions,
) -> Result<MinimizeResult> {
    if !(opts.force_tolerance_ev_a > 0.0 && opts.max_step_a > 0.0) {
        return Err(Error::field(
            "force_tolerance_ev_a",
            "tolerance and step must be positive",
        ));
    }
    let mut field = ForceField::new(potential, opts.skin_a);
    let mut forces = masked_forces(&mut field, system);
    let mut energy = field.last().energy;
    let mut steps = 0;
    let mut s = f64::NAN;
    let mut saved = system.positions.clone();
    while steps < opts.max_steps {
        if opts.norm.of(&forces, &system.fixed) < opts.force_tolerance_ev_a {
            return Ok(MinimizeResult::at(
                true,
                steps,
                energy,
                &forces,
                &system.fixed,
            ));
        }
        let fmax = max_force_norm(&forces, &system.fixed);
        // s is in Å²/eV: displacement = s F; cap it so no atom moves more than max_step_a.
        let cap = opts.max_step_a / fmax;
        if !(s.is_finite() && s <= cap) {
            s = cap;
        }
        if s * fmax < 1e-14 {
            break; // the line search cannot make progress at round-off level
        }
        let f2 = dot_all(&forces, &forces);
        saved.clone_from(&system.positions);
        for i in 0..system.len() {
            if !system.fixed[i] {
                for k in 0..3 {
                    system.positions[i][k] += s * forces[i][k];
                }
            }
        }
        steps += 1;
        let trial_forces = masked_forces(&mut field, system);
        let trial_energy = field.last().energy;
        if trial_energy <= energy - opts.armijo_c * s * f2 {
            forces = trial_forces;
            energy = trial_energy;
            s *= 1.5;
        } else {
            system.positions.clone_from(&saved);
            s *= 0.5;
        }
    }
    let forces = masked_forces(&mut field, system);
    let converged = opts.norm.of(&forces, &system.fixed) < opts.force_tolerance_ev_a;
    let energy = field.last().energy;
    Ok(MinimizeResult::at(
        converged,
        steps,
        energy,
        &forces,
        &system.fixed,
    ))
}

/// FIRE, then steepest descent for the remaining step budget if FIRE did not converge.
pub fn relax(
    system: &mut System,
    potential: &dyn Potential,
    opts: &FireOptions,
) -> Result<MinimizeResult> {
    let first = fire(system, potential, opts)?;
    if first.converged || first.steps >= opts.max_steps {
        return Ok(first);
    }
    let sd = SteepestDescentOptions {
        force_tolerance_ev_a: opts.force_tolerance_ev_a,
        norm: opts.norm,
        max_steps: opts.max_steps - first.steps,
        max_step_a: opts.max_step_a,
        skin_a: opts.skin_a,
        ..Default::default()
    };
    let second = steepest_descent(system, potential, &sd)?;
    Ok(MinimizeResult {
        steps: first.steps + second.steps,
        ..second
    })
}

/// Forces with the fixed atoms' zeroed.
fn masked_forces(field: &mut ForceField<'_>, system: &mut System) -> Vec<[f64; 3]> {
    let mut f = field.compute(system, false).forces.clone();
    for (fi, &fx) in f.iter_mut().zip(&system.fixed) {
        if fx {
            *fi = [0.0; 3];
        }
    }
    f
}
