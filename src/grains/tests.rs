use super::*;
use crate::rng::{Stream, stream};
use crate::vec3::{norm, sub};

#[test]
fn frames_round_trip_and_follow_rigid_motions() {
    let f = Frame {
        rotation: rotation::from_euler_bunge_deg(30.0, 40.0, 50.0),
        origin: [1.0, -2.0, 3.0],
    };
    let c = [0.3, 1.7, -2.2];
    assert!(norm(sub(f.to_crystal(f.to_lab(c)), c)) < 1e-12);
    // Moving the frame moves every crystal point by the same rigid motion.
    let turn = rotation::from_axis_angle_deg([0.0, 1.0, 1.0], 25.0).unwrap();
    let (pivot, shift) = ([5.0, 5.0, 5.0], [0.1, 0.2, -0.3]);
    let g = f.moved(turn, pivot, shift);
    let want = crate::vec3::add(
        crate::vec3::add(pivot, rotation::rotate(turn, sub(f.to_lab(c), pivot))),
        shift,
    );
    assert!(norm(sub(g.to_lab(c), want)) < 1e-12);
}

#[test]
fn orientation_values_out_of_range_are_refused_with_their_field() {
    let bad = [
        (
            OrientationSpec::Euler {
                phi1_deg: 10.0,
                big_phi_deg: 190.0,
                phi2_deg: 0.0,
            },
            "p.orientation.big_phi_deg",
        ),
        (
            OrientationSpec::Euler {
                phi1_deg: -1.0,
                big_phi_deg: 10.0,
                phi2_deg: 0.0,
            },
            "p.orientation.phi1_deg",
        ),
        (
            OrientationSpec::AxisAngle {
                axis: (0.0, 0.0, 0.0),
                angle_deg: 10.0,
            },
            "p.orientation.axis",
        ),
        (
            OrientationSpec::AxisAngle {
                axis: (1.0, 0.0, 0.0),
                angle_deg: f64::NAN,
            },
            "p.orientation.angle_deg",
        ),
    ];
    for (spec, field) in bad {
        let e = spec.validate("p.orientation").unwrap_err().to_string();
        assert!(e.contains(field), "{e}");
    }
}

#[test]
fn only_random_orientations_draw_from_the_stream() {
    use rand::RngExt;
    let fixed = [
        OrientationSpec::Aligned,
        OrientationSpec::AxisAngle {
            axis: (1.0, 1.0, 0.0),
            angle_deg: 30.0,
        },
        OrientationSpec::Euler {
            phi1_deg: 1.0,
            big_phi_deg: 2.0,
            phi2_deg: 3.0,
        },
    ];
    for spec in fixed {
        let mut a = stream(7, Stream::Orientation(0));
        let b = stream(7, Stream::Orientation(0));
        spec.resolve("o", &mut a).unwrap();
        assert_eq!(a, b, "{spec:?} drew from the stream");
    }
    let mut a = stream(7, Stream::Orientation(0));
    let q1 = OrientationSpec::Random.resolve("o", &mut a).unwrap();
    let q2 = OrientationSpec::Random.resolve("o", &mut a).unwrap();
    assert!(rotation::misorientation_deg(q1, q2) > 1e-6);
    let _: f64 = a.random();
}
