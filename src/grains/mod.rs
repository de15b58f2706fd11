//! Grains: crystals with their own frame. A particle is a grain; the substrate and film are
//! grain 0 on the global lattice.
//!
//! This module holds what a grain *is* — its crystal [`Frame`] (a rotation and an origin) and
//! how a scenario asks for an orientation ([`OrientationSpec`]) — and is used by every builder
//! that places a crystal (MD structures, `kmc particle build`). Orientations follow
//! [`crate::rotation`]'s convention: active rotations carrying the crystal's cube axes into the
//! lab.

pub mod motion;
mod store;
pub use store::{
    DEFAULT_GHOST_RADIUS_NN, Grain, Grains, REBOX_MARGIN, RegrainOutcome, TRANSFER_DISTINCT_NN,
    TRANSFER_MIN_NN, TRANSFER_REACH_NN, TRANSFER_READ_NN, TransferSite, same_lattice,
};

use crate::error::{Error, Result};
use crate::rng::KmcRng;
use crate::rotation::{self, Quaternion};
use crate::vec3::{Vec3, add, sub};
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// How a grain is oriented (`orientation: Random` in a scenario).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub enum OrientationSpec {
    /// Cube axes along the lab axes: epitaxial with grain 0.
    #[default]
    Aligned,
    /// Uniform on SO(3) (Haar measure), drawn from the scenario's named orientation stream.
    Random,
    /// A rotation by `angle_deg` about `axis` (crystal = lab axes before the turn; any length).
    AxisAngle {
        /// Rotation axis.
        axis: (f64, f64, f64),
        /// Angle, degrees, in [−360, 360].
        angle_deg: f64,
    },
    /// Bunge Euler angles (z–x–z), degrees: φ1 and φ2 in [0, 360], Φ in [0, 180].
    Euler {
        /// φ1.
        phi1_deg: f64,
        /// Φ.
        big_phi_deg: f64,
        /// φ2.
        phi2_deg: f64,
    },
}

impl OrientationSpec {
    /// Checks the values; `field` names the setting in errors (e.g. `structure.second.orientation`).
    pub fn validate(&self, field: &str) -> Result<()> {
        let range = |name: &str, v: f64, lo: f64, hi: f64| {
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(Error::field(
                    format!("{field}.{name}"),
                    format!("{v} is outside [{lo}, {hi}]"),
                ))
            }
        };
        match *self {
            OrientationSpec::Aligned | OrientationSpec::Random => Ok(()),
            OrientationSpec::AxisAngle { axis, angle_deg } => {
                range("angle_deg", angle_deg, -360.0, 360.0)?;
                let a = [axis.0, axis.1, axis.2];
                if a.iter().all(|x| x.is_finite()) && a.iter().any(|&x| x != 0.0) {
                    Ok(())
                } else {
                    Err(Error::field(
                        format!("{field}.axis"),
                        format!("{a:?} is not a direction (finite, not zero)"),
                    ))
                }
            }
            OrientationSpec::Euler {
                phi1_deg,
                big_phi_deg,
                phi2_deg,
            } => {
                range("phi1_deg", phi1_deg, 0.0, 360.0)?;
                range("big_phi_deg", big_phi_deg, 0.0, 180.0)?;
                range("phi2_deg", phi2_deg, 0.0, 360.0)
            }
        }
    }

    /// The rotation; `Random` draws three uniforms from `rng` (the others draw nothing, so
    /// choosing an orientation never shifts another random stream).
    pub fn resolve(&self, field: &str, rng: &mut KmcRng) -> Result<Quaternion> {
        self.validate(field)?;
        Ok(match *self {
            OrientationSpec::Aligned => rotation::IDENTITY,
            OrientationSpec::Random => {
                rotation::uniform([rng.random(), rng.random(), rng.random()])
            }
            OrientationSpec::AxisAngle { axis, angle_deg } => {
                rotation::from_axis_angle_deg([axis.0, axis.1, axis.2], angle_deg)
                    .unwrap_or(rotation::IDENTITY)
            }
            OrientationSpec::Euler {
                phi1_deg,
                big_phi_deg,
                phi2_deg,
            } => rotation::from_euler_bunge_deg(phi1_deg, big_phi_deg, phi2_deg),
        })
    }
}

/// A grain's crystal frame: a crystal point `c` (Å, in the grain's reference frame, cube axes
/// along x, y, z) sits at `origin + rotate(rotation, c)` in the lab.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// Orientation (active rotation crystal → lab).
    pub rotation: Quaternion,
    /// Lab position of the crystal origin, Å.
    pub origin: Vec3,
}

impl Default for Frame {
    fn default() -> Self {
        Frame {
            rotation: rotation::IDENTITY,
            origin: [0.0; 3],
        }
    }
}

impl Frame {
    /// The lab position of crystal point `c`.
    pub fn to_lab(&self, c: Vec3) -> Vec3 {
        add(self.origin, rotation::rotate(self.rotation, c))
    }

    /// The crystal coordinates of lab point `p`.
    pub fn to_crystal(&self, p: Vec3) -> Vec3 {
        rotation::rotate(rotation::inverse(self.rotation), sub(p, self.origin))
    }

    /// The frame after a rigid motion of the grain: a rotation `turn` about the lab point
    /// `pivot` followed by a translation `shift` (what a Kabsch fit of the grain's atoms gives,
    /// with `pivot` their centre before the motion).
    pub fn moved(&self, turn: Quaternion, pivot: Vec3, shift: Vec3) -> Frame {
        let o = add(
            add(pivot, rotation::rotate(turn, sub(self.origin, pivot))),
            shift,
        );
        Frame {
            rotation: rotation::compose(turn, self.rotation),
            origin: o,
        }
    }
}

#[cfg(test)]
mod tests;

/// Fixtures of the store's tests, for the engine's tests over grains.
#[cfg(test)]
pub(crate) use store::tests as store_tests_support;
