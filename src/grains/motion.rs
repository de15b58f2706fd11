//! Whole-particle motion: a particle grain that is bonded to no other body diffuses and turns
//! on the surface as one body (Jensen, Rev. Mod. Phys. 71, 1695 (1999): deposition, diffusion
//! and aggregation of clusters).
//!
//! **Rates.** A particle of N atoms has the translational diffusion coefficient
//! `D(N) = d0_a2_per_s · N^(−size_exponent) · exp(−barrier_ev / kT)` and the rotational one
//! (about the surface normal) `D_r(N) = d0_rad2_per_s · N^(−size_exponent) · exp(−barrier_ev /
//! kT)`. It steps by one in-plane nearest-neighbour vector `a` of the film's surface (z of them:
//! 4 on (100), 6 on (111)); a walk with rate k per direction has a mean square displacement of
//! z k a² per unit time, which is 4 D in two dimensions, so `k = 4 D / (z a²)`. It turns by
//! ±`step_deg` = ±δ; a walk with rate k each way has `⟨Δθ²⟩ = 2 k δ² t = 2 D_r t`, so
//! `k = D_r / δ²`.
//!
//! **Blocked moves are null events.** The particle's leaf carries every direction's rate
//! whatever lies around it; a step into another body is drawn, found blocked and not made. The
//! waiting times and the made moves are then exactly those of the walk in which blocked
//! directions have no rate (the standard rejection argument), and a blocked move costs one
//! overlap check instead of a check of every direction after every change nearby.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// How particle grains move as bodies (`particle_motion` in a scenario).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticleMotionSpec {
    /// Translation along the surface.
    pub translation: SizeLaw,
    /// Rotation about the surface normal (none if absent).
    #[serde(default)]
    pub rotation: Option<RotationLaw>,
    /// A particle with this many bonds or more to other bodies (other particles, film atoms
    /// above the substrate) does not move: it has met something and sticks (default 1).
    #[serde(default = "default_max_body_bonds")]
    pub immobile_at_body_bonds: u32,
    /// A particle with this many bonds or more to the substrate does not move (default: no
    /// limit, a particle rests on the substrate and still glides, as clusters on graphite do).
    #[serde(default)]
    pub immobile_at_substrate_bonds: Option<u32>,
}

fn default_max_body_bonds() -> u32 {
    1
}

/// `D(N) = d0_a2_per_s · N^(−size_exponent) · exp(−barrier_ev / kT)`, Å²/s.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeLaw {
    /// Prefactor D0, Å²/s (1 cm²/s = 1e16 Å²/s).
    pub d0_a2_per_s: f64,
    /// Exponent α of the size law (0: no size dependence).
    #[serde(default)]
    pub size_exponent: f64,
    /// Activation energy, eV.
    pub barrier_ev: f64,
}

/// `D_r(N) = d0_rad2_per_s · N^(−size_exponent) · exp(−barrier_ev / kT)`, rad²/s, in steps of
/// `step_deg`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationLaw {
    /// Prefactor, rad²/s.
    pub d0_rad2_per_s: f64,
    /// Exponent of the size law.
    #[serde(default)]
    pub size_exponent: f64,
    /// Activation energy, eV.
    pub barrier_ev: f64,
    /// Angle of one step, degrees, in (0, 30].
    #[serde(default = "default_step_deg")]
    pub step_deg: f64,
}

fn default_step_deg() -> f64 {
    2.0
}

impl ParticleMotionSpec {
    /// Checks every value; errors name the field under `particle_motion`.
    pub fn validate(&self) -> Result<()> {
        let bad = |f: &str, why: String| Err(Error::field(format!("particle_motion.{f}"), why));
        let t = &self.translation;
        if !(t.d0_a2_per_s.is_finite() && t.d0_a2_per_s >= 0.0) {
            return bad(
                "translation.d0_a2_per_s",
                format!("{} is no finite rate ≥ 0", t.d0_a2_per_s),
            );
        }
        if !t.size_exponent.is_finite() || t.size_exponent.abs() > 10.0 {
            return bad(
                "translation.size_exponent",
                format!("{} is outside [−10, 10]", t.size_exponent),
            );
        }
        if !t.barrier_ev.is_finite() || t.barrier_ev < 0.0 {
            return bad(
                "translation.barrier_ev",
                format!("{} is no finite energy ≥ 0", t.barrier_ev),
            );
        }
        if let Some(r) = &self.rotation {
            if !(r.d0_rad2_per_s.is_finite() && r.d0_rad2_per_s >= 0.0) {
                return bad(
                    "rotation.d0_rad2_per_s",
                    format!("{} is no finite rate ≥ 0", r.d0_rad2_per_s),
                );
            }
            if !r.size_exponent.is_finite() || r.size_exponent.abs() > 10.0 {
                return bad(
                    "rotation.size_exponent",
                    format!("{} is outside [−10, 10]", r.size_exponent),
                );
            }
            if !r.barrier_ev.is_finite() || r.barrier_ev < 0.0 {
                return bad(
                    "rotation.barrier_ev",
                    format!("{} is no finite energy ≥ 0", r.barrier_ev),
                );
            }
            if !(r.step_deg > 0.0 && r.step_deg <= 30.0) {
                return bad(
                    "rotation.step_deg",
                    format!("{} is outside (0, 30]", r.step_deg),
                );
            }
        }
        if self.immobile_at_body_bonds == 0 {
            return bad(
                "immobile_at_body_bonds",
                "0 would hold every particle still; leave particle_motion out instead".into(),
            );
        }
        if self.immobile_at_substrate_bonds == Some(0) {
            return bad(
                "immobile_at_substrate_bonds",
                "0 would hold every particle still; leave particle_motion out instead".into(),
            );
        }
        Ok(())
    }

    /// The rates at `kt_ev`, for steps of `step_a` Å in `directions` surface directions.
    pub fn at(&self, kt_ev: f64, step_a: f64, directions: usize) -> BodyRates {
        let t = &self.translation;
        let r = self.rotation.as_ref();
        BodyRates {
            per_direction_hz: 4.0 * t.d0_a2_per_s * (-t.barrier_ev / kt_ev).exp()
                / (directions as f64 * step_a * step_a),
            size_exponent: t.size_exponent,
            turn_hz: r.map_or(0.0, |r| {
                let d = r.step_deg.to_radians();
                r.d0_rad2_per_s * (-r.barrier_ev / kt_ev).exp() / (d * d)
            }),
            turn_size_exponent: r.map_or(0.0, |r| r.size_exponent),
            step_deg: r.map_or(0.0, |r| r.step_deg),
            immobile_at_body_bonds: self.immobile_at_body_bonds,
            immobile_at_substrate_bonds: self.immobile_at_substrate_bonds,
        }
    }
}

/// [`ParticleMotionSpec`] at one temperature, per event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BodyRates {
    /// Rate of a step in one direction for N = 1, Hz.
    pub per_direction_hz: f64,
    /// α of the translation.
    pub size_exponent: f64,
    /// Rate of a turn one way for N = 1, Hz.
    pub turn_hz: f64,
    /// α of the rotation.
    pub turn_size_exponent: f64,
    /// Angle of one turn, degrees.
    pub step_deg: f64,
    /// See [`ParticleMotionSpec::immobile_at_body_bonds`].
    pub immobile_at_body_bonds: u32,
    /// See [`ParticleMotionSpec::immobile_at_substrate_bonds`].
    pub immobile_at_substrate_bonds: Option<u32>,
}

impl BodyRates {
    /// Rate of a step in one direction of a particle of `n` atoms, Hz.
    pub fn step_hz(&self, n: usize) -> f64 {
        self.per_direction_hz * (n as f64).powf(-self.size_exponent)
    }

    /// Rate of a turn one way of a particle of `n` atoms, Hz.
    pub fn turn_hz(&self, n: usize) -> f64 {
        self.turn_hz * (n as f64).powf(-self.turn_size_exponent)
    }

    /// True if a particle with `bonds` = (to the substrate, to other bodies) moves.
    pub fn mobile(&self, bonds: (u32, u32)) -> bool {
        bonds.1 < self.immobile_at_body_bonds
            && self.immobile_at_substrate_bonds.is_none_or(|k| bonds.0 < k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The step rates reproduce the diffusion coefficients they were set from: z k a² = 4 D
    /// and 2 k δ² = 2 D_r.
    #[test]
    fn rates_give_back_the_diffusion_coefficients() {
        let spec = ParticleMotionSpec {
            translation: SizeLaw {
                d0_a2_per_s: 1e12,
                size_exponent: 0.5,
                barrier_ev: 0.1,
            },
            rotation: Some(RotationLaw {
                d0_rad2_per_s: 1e9,
                size_exponent: 1.0,
                barrier_ev: 0.2,
                step_deg: 3.0,
            }),
            immobile_at_body_bonds: 1,
            immobile_at_substrate_bonds: None,
        };
        spec.validate().unwrap();
        let kt = 0.05;
        let (a, z) = (2.88, 4);
        let r = spec.at(kt, a, z);
        let n = 400;
        let d = 1e12 * (n as f64).powf(-0.5) * (-0.1f64 / kt).exp();
        let k = r.step_hz(n);
        assert!((z as f64 * k * a * a / 4.0 / d - 1.0).abs() < 1e-12);
        let dr = 1e9 / n as f64 * (-0.2f64 / kt).exp();
        let delta = 3f64.to_radians();
        assert!((r.turn_hz(n) * delta * delta / dr - 1.0).abs() < 1e-12);
        assert!(r.mobile((50, 0)) && !r.mobile((0, 1)));
    }

    #[test]
    fn bad_values_name_their_field() {
        let mut spec = ParticleMotionSpec {
            translation: SizeLaw {
                d0_a2_per_s: -1.0,
                size_exponent: 0.0,
                barrier_ev: 0.0,
            },
            rotation: None,
            immobile_at_body_bonds: 1,
            immobile_at_substrate_bonds: None,
        };
        let e = spec.validate().unwrap_err().to_string();
        assert!(e.contains("particle_motion.translation.d0_a2_per_s"), "{e}");
        spec.translation.d0_a2_per_s = 1.0;
        spec.translation.barrier_ev = f64::NAN;
        let e = spec.validate().unwrap_err().to_string();
        assert!(e.contains("translation.barrier_ev"), "{e}");
        spec.translation.barrier_ev = 0.1;
        spec.validate().unwrap();
        spec.immobile_at_body_bonds = 0;
        let e = spec.validate().unwrap_err().to_string();
        assert!(e.contains("immobile_at_body_bonds"), "{e}");
    }
}
