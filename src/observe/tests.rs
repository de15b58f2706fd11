use super::*;
use crate::lattice::{Lattice, LatticeKind};

/// Places species-1 atoms at in-layer `(x, y)` of layer `l`.
fn place(st: &mut State, l: usize, at: &[(usize, usize)]) {
    for &(x, y) in at {
        let s = st.lattice().site(x, y, l);
        st.place(&s, 1);
    }
}

/// A hand-built square lattice (no substrate): three monomers, a dimer, a trimer that closes
/// across the periodic boundary, and an L-shaped tetramer. Seven clusters, four of two or
/// more atoms; the counts are what the island density of nucleation theory needs (monomers
/// are the mobile population, not islands).
#[test]
fn monomers_dimers_and_islands_are_counted_apart() {
    let lat = Lattice::new(LatticeKind::Square, 2.5, [16, 16], 1).unwrap();
    let mut st = State::new(lat);
    place(&mut st, 0, &[(3, 3), (8, 12), (12, 6)]); // monomers
    place(&mut st, 0, &[(5, 8), (6, 8)]); // dimer
    place(&mut st, 0, &[(15, 1), (0, 1), (1, 1)]); // trimer through the x boundary
    place(&mut st, 0, &[(10, 10), (10, 11), (11, 11), (12, 11)]); // tetramer
    place(&mut st, 0, &[(2, 14), (3, 14)]); // second dimer
    let c = clusters(&st, 0, 1);
    assert_eq!(c.islands, 7);
    assert_eq!(c.islands_ge2, 4);
    assert_eq!(c.film_atoms_by_species, vec![14]);
    let o = Observables::measure(&st, 0, 1.0, 5, 1);
    assert_eq!((o.islands, o.islands_ge2), (7, 4));
    assert_eq!(o.mean_island_size, 2.0);
    // Diagonal neighbours are not bonded on the square lattice: (3, 3) and (4, 4) stay
    // two monomers, so the dimer count must not move.
    place(&mut st, 0, &[(4, 4)]);
    let c = clusters(&st, 0, 1);
    assert_eq!((c.islands, c.islands_ge2), (8, 4));
    // Joining a monomer to the dimer makes a trimer: one cluster fewer, no new island.
    place(&mut st, 0, &[(7, 8)]);
    let c = clusters(&st, 0, 1);
    assert_eq!((c.islands, c.islands_ge2), (8, 4));
    place(&mut st, 0, &[(8, 8), (8, 9), (8, 10), (8, 11)]);
    // (8, 8)..(8, 11) joins the trimer to the monomer at (8, 12): one cluster less.
    let c = clusters(&st, 0, 1);
    assert_eq!((c.islands, c.islands_ge2), (7, 4));
}

/// On FCC(100) with a substrate, substrate atoms are no islands and do not join film atoms
/// into one cluster; an atom on top of a film atom bonds to it (a two-layer island).
#[test]
fn film_clusters_above_a_substrate() {
    let lat = Lattice::new(LatticeKind::Fcc100, 3.615, [8, 8], 6).unwrap();
    let mut st = State::new(lat);
    st.fill_layers(2, 1).unwrap();
    let lat = st.lattice().clone();
    let first = lat.site(2, 2, 2);
    place(&mut st, 2, &[(2, 2)]);
    assert_eq!(clusters(&st, 2, 1).islands, 1);
    assert_eq!(clusters(&st, 2, 1).islands_ge2, 0);
    // An atom one layer up bonded to the first: a dimer across layers.
    let (_, up) = lat
        .neighbors(&first)
        .find(|(_, n)| n.l == 3)
        .expect("an FCC(100) site has neighbours in the layer above");
    st.place(&up, 1);
    // A monomer far away in the film layer: not bonded to the dimer (more than one
    // neighbour step) though both touch the substrate.
    place(&mut st, 2, &[(6, 6)]);
    let far = lat.site(6, 6, 2);
    assert!(
        lat.neighbors(&far)
            .all(|(_, n)| n.idx != first.idx && n.idx != up.idx)
    );
    let c = clusters(&st, 2, 1);
    assert_eq!((c.islands, c.islands_ge2), (2, 1));
    assert_eq!(c.film_atoms_by_species, vec![3]);
    // The same state read with the film layer counted as substrate: only the upper atom.
    let c = clusters(&st, 3, 1);
    assert_eq!((c.islands, c.islands_ge2), (1, 0));
}
