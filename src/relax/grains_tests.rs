//! Merging decided and carried out on built grains (no MD): in register merges exactly, a
//! turned grain persists, a remnant joins whatever its orientation.

use super::*;
use crate::grains::store_tests_support::film_and_particle;
use crate::relax::MergeSpec;

fn merge(g: &Grains, spec: &MergeSpec) -> MergePlan {
    merge_plan(g, 1, 0, spec, &MapOptions::default()).unwrap()
}

/// The placements are distinct free sites of the film, one per atom of the particle, with
/// the particle's species.
fn check_placements(g: &Grains, removed: &[(usize, usize)], placed: &[(usize, usize, Species)]) {
    let film = &g.grain(0).state;
    assert_eq!(removed.len(), g.grain(1).state.n_atoms() as usize);
    assert_eq!(placed.len(), removed.len());
    let mut sites: Vec<usize> = placed.iter().map(|p| p.1).collect();
    sites.sort_unstable();
    sites.dedup();
    assert_eq!(sites.len(), placed.len(), "a site taken twice");
    for &(k, s, sp) in placed {
        assert_eq!(k, 0);
        assert_eq!(sp, 2);
        assert!(
            s >= film.lattice().n_sites() || !film.cell(s).occupied() || film.is_ghost(s),
            "site {s} holds a film atom"
        );
    }
}

#[test]
fn a_grain_in_register_merges_onto_the_sites_it_covers() {
    let h = Lattice::new(crate::lattice::LatticeKind::Fcc100, 4.08, [4, 4], 2)
        .unwrap()
        .layer_spacing();
    let g = film_and_particle(6.0, 0.0, h);
    match merge(&g, &MergeSpec::default()) {
        MergePlan::Merge {
            keep,
            gone,
            removed,
            placed,
            mean_residual_a,
            max_residual_a,
        } => {
            assert_eq!((keep, gone), (0, 1));
            check_placements(&g, &removed, &placed);
            assert!(mean_residual_a < 1e-9 && max_residual_a < 1e-9);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_turned_grain_persists_unless_it_is_a_remnant() {
    let big = film_and_particle(7.0, 30.0, 2.9);
    assert!(big.grain(1).state.n_atoms() >= 20);
    match merge(&big, &MergeSpec::default()) {
        MergePlan::Persist {
            misorientation_deg, ..
        } => assert!(misorientation_deg > 5.0, "{misorientation_deg}°"),
        other => panic!("{other:?}"),
    }
    // Fewer atoms than min_atoms: it joins the film whatever its orientation.
    let small = film_and_particle(3.0, 30.0, 2.9);
    let n = small.grain(1).state.n_atoms() as usize;
    assert!(n > 0 && n < 20, "{n} atoms");
    match merge(&small, &MergeSpec::default()) {
        MergePlan::Merge {
            removed, placed, ..
        } => check_placements(&small, &removed, &placed),
        other => panic!("{other:?}"),
    }
    let never = MergeSpec {
        min_atoms: 0,
        ..MergeSpec::default()
    };
    assert!(matches!(merge(&small, &never), MergePlan::Persist { .. }));
}
