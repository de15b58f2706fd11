use super::*;
use crate::lattice::LatticeKind;
use crate::rng::{Stream, stream, uniform};

fn state(kind: LatticeKind, size: usize, layers: usize, substrate: usize) -> State {
    let lat = Lattice::new(kind, 3.6, [size, size], layers).unwrap();
    let mut st = State::new(lat);
    st.fill_layers(substrate, 1).unwrap();
    st
}

fn place(st: &mut State, t: &mut ContactTracker, sites: &[usize], particle: u32) {
    let refs: Vec<SiteRef> = sites.iter().map(|&i| st.lattice().site_at(i)).collect();
    for s in &refs {
        st.place(s, 2);
    }
    t.on_place_group(st, &refs, particle, 0.0);
}

fn hop(st: &mut State, t: &mut ContactTracker, from: usize, to: usize, time: f64) {
    let lat = st.lattice().clone();
    let (f, g) = (lat.site_at(from), lat.site_at(to));
    let sp = st.remove(&f);
    st.place(&g, sp);
    t.on_hop(st, &f, &g, time);
}

/// Sites within `r` Å of a point, above the substrate.
fn ball(st: &State, c: [f64; 3], r: f64, min_layer: usize) -> Vec<usize> {
    let lat = st.lattice();
    let [lx, ly] = lat.box_lengths();
    (0..lat.n_sites())
        .filter(|&i| {
            let p = lat.position_of(i);
            let mut d = [p[0] - c[0], p[1] - c[1], p[2] - c[2]];
            d[0] -= lx * (d[0] / lx).round();
            d[1] -= ly * (d[1] / ly).round();
            lat.site_at(i).l as usize >= min_layer
                && d[0] * d[0] + d[1] * d[1] + d[2] * d[2] <= r * r + 1e-9
        })
        .collect()
}

#[test]
fn partition_stays_exact_through_random_hops_exchanges_and_deposits() {
    // Random moves of a dense random film (many splits and merges), checked against a
    // from-scratch recomputation after every event.
    for (kind, seed) in [
        (LatticeKind::Fcc100, 1),
        (LatticeKind::Fcc111, 2),
        (LatticeKind::Bcc100, 3),
        (LatticeKind::Sc100, 4),
    ] {
        let mut st = state(kind, 8, 10, 2);
        let mut rng = stream(seed, Stream::Engine);
        let lat = st.lattice().clone();
        let ls = lat.layer_size();
        for idx in 2 * ls..5 * ls {
            if uniform(&mut rng) < 0.45 {
                st.place(&lat.site_at(idx), 2);
            }
        }
        let mut t = ContactTracker::new(&st, 2, 3);
        // Mark some atoms as particle atoms to follow identities.
        let marked: Vec<(usize, u32)> = (2 * ls..3 * ls)
            .filter(|&i| st.cell(i).occupied())
            .take(20)
            .enumerate()
            .map(|(k, i)| (i, k as u32))
            .collect();
        t.rebuild_with(&st, marked.iter().copied());
        let mut splits_seen = false;
        for step in 0..3000 {
            let idx = 2 * ls + (uniform(&mut rng) * (4 * ls) as f64) as usize;
            let s = lat.site_at(idx);
            if !st.cell(idx).occupied() {
                if uniform(&mut rng) < 0.05 && idx < 6 * ls {
                    place(&mut st, &mut t, &[idx], NONE);
                    assert!(t.verify(&st), "{kind:?} step {step}: deposit");
                }
                continue;
            }
            let empty: Vec<usize> = lat
                .neighbors(&s)
                .map(|(_, n)| n.idx)
                .filter(|&n| !st.cell(n).occupied() && n >= 2 * ls && n < 7 * ls)
                .collect();
            if empty.is_empty() {
                continue;
            }
            let to = empty[(uniform(&mut rng) * empty.len() as f64) as usize];
            let before = t.particle_of(idx);
            let comps = t.components();
            hop(&mut st, &mut t, idx, to, step as f64);
            assert_eq!(t.particle_of(to), before, "identity travels");
            assert_eq!(t.particle_of(idx), None);
            assert!(t.verify(&st), "{kind:?} step {step}: hop {idx} -> {to}");
            splits_seen |= t.components() > comps;
        }
        assert!(splits_seen, "{kind:?}: the walk never split a component");
        let (splits, _) = t.work();
        assert!(splits > 0);
    }
}

#[test]
fn exchange_moves_identities_and_keeps_the_partition() {
    let mut st = state(LatticeKind::Fcc100, 8, 10, 3);
    let lat = st.lattice().clone();
    let mut t = ContactTracker::new(&st, 2, 1);
    // Layer 2 is above the graph's substrate (2 layers) but filled: the exchange runs inside
    // the film. Adatom at (3, 3, 3) (a hollow), exchanging with a layer-2 atom below it.
    let ad = lat.site(3, 3, 3).idx;
    place(&mut st, &mut t, &[ad], 7);
    let ex = lat.class_tables(lat.site_at(ad).class).exchanges[0];
    let a = lat.site_at(ad);
    let via = lat.index_at(&a, &ex.0).unwrap();
    let to = lat.index_at(&a, &ex.1).unwrap();
    assert!(st.cell(via).occupied() && !st.cell(to).occupied());
    let ev = Event::Exchange { from: ad, via, to };
    ev.execute(&mut st);
    t.on_event(&st, &ev, 1.0);
    assert_eq!(t.particle_of(via), Some(7));
    assert_eq!(t.particle_of(to), None);
    assert!(t.verify(&st));
}

#[test]
fn merging_particles_raise_one_contact_and_a_split_and_retouch_is_seen() {
    // Run twice: with particle identities (bodies 0 and 1) and without (film islands).
    for with_ids in [true, false] {
        let mut st = state(LatticeKind::Fcc100, 16, 24, 0);
        let lat = st.lattice().clone();
        let a = lat.lattice_constant();
        // Two 19-atom balls (radius a) centred on sites 3a apart along x, in mid air.
        let c1 = lat.position(&lat.site(3, 8, 10));
        let c2 = [c1[0] + 3.0 * a, c1[1], c1[2]];
        let b1 = ball(&st, c1, a, 0);
        let b2 = ball(&st, c2, a, 0);
        assert_eq!((b1.len(), b2.len()), (19, 19));
        let mut t = ContactTracker::new(&st, 0, 10);
        let (id0, id1) = if with_ids { (0, 1) } else { (NONE, NONE) };
        place(&mut st, &mut t, &b1, id0);
        place(&mut st, &mut t, &b2, id1);
        assert_eq!(t.components(), 2);
        assert!(
            t.take_contacts().is_empty(),
            "separate particles: no contact"
        );
        // The gap between the balls along x is a: the site (3, 1, 0) a/2 from c1 bonds to
        // the vertex (2, 0, 0) of ball 1 and the vertex (4, 0, 0) of ball 2. An atom
        // deposited there joins ball 1 silently (1 atom < 10) and then ball 2: one contact.
        let at = |st: &State, u: [f64; 3]| {
            let q = [
                c1[0] + u[0] * a / 2.0,
                c1[1] + u[1] * a / 2.0,
                c1[2] + u[2] * a / 2.0,
            ];
            ball(st, q, 0.1, 0)[0]
        };
        let bridge = at(&st, [3.0, 1.0, 0.0]);
        place(&mut st, &mut t, &[bridge], NONE);
        let c = t.take_contacts();
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].kind, ContactKind::Merge);
        assert_eq!(c[0].site, bridge);
        let expect = if with_ids { Some(1) } else { None };
        assert_eq!(c[0].particles, [None, expect]);
        assert_eq!(c[0].atoms, [20, 19]);
        assert_eq!(t.components(), 1);
        // The contact point is the midpoint of the bond.
        let q = lat.position_of(bridge);
        assert!((c[0].point_a[0] - (q[0] + a / 4.0)).abs() < 1e-9);
        // The bridge atom hops to (2, 1, 1), a neighbour of ball 1 only: the balls separate
        // (a union–find alone would not notice) ...
        let aside = at(&st, [2.0, 1.0, 1.0]);
        hop(&mut st, &mut t, bridge, aside, 3.0);
        assert_eq!(t.components(), 2);
        assert!(t.verify(&st));
        assert!(t.take_contacts().is_empty());
        // ... and touch again. For film islands that is a new contact (raised at the time of
        // the hop); for particles 0 and 1 the pair already had its contact.
        hop(&mut st, &mut t, aside, bridge, 4.0);
        assert_eq!(t.components(), 1);
        let c = t.take_contacts();
        if with_ids {
            assert!(c.is_empty(), "{c:?}");
            assert_eq!(t.total_contacts(), 1);
        } else {
            assert_eq!(c.len(), 1);
            assert_eq!(c[0].time_s, 4.0);
            assert_eq!(t.total_contacts(), 2);
        }
    }
}

#[test]
fn fragments_of_one_particle_rejoining_are_no_contact() {
    let mut st = state(LatticeKind::Fcc100, 16, 24, 0);
    let lat = st.lattice().clone();
    let a = lat.lattice_constant();
    let c1 = lat.position(&lat.site(3, 8, 10));
    let c2 = [c1[0] + 3.0 * a, c1[1], c1[2]];
    let mut t = ContactTracker::new(&st, 0, 10);
    // Both balls belong to particle 5: when they join, nothing new touches.
    let b1 = ball(&st, c1, a, 0);
    place(&mut st, &mut t, &b1, 5);
    let b2 = ball(&st, c2, a, 0);
    place(&mut st, &mut t, &b2, 5);
    let q = [c1[0] + 1.5 * a, c1[1] + 0.5 * a, c1[2]];
    let bridge = ball(&st, q, 0.1, 0)[0];
    place(&mut st, &mut t, &[bridge], 5);
    assert_eq!(t.components(), 1);
    assert!(t.take_contacts().is_empty());
}

#[test]
fn particle_landing_on_the_substrate_is_a_contact_adatoms_are_not() {
    let mut st = state(LatticeKind::Fcc111, 12, 20, 3);
    let lat = st.lattice().clone();
    let mut t = ContactTracker::new(&st, 3, 10);
    // An adatom touching the substrate: below min_atoms, no contact.
    place(&mut st, &mut t, &[lat.site(1, 1, 3).idx], NONE);
    assert!(t.take_contacts().is_empty());
    let c = lat.position(&lat.site(6, 6, 4));
    let p = ball(&st, c, lat.lattice_constant(), 3);
    place(&mut st, &mut t, &p, 0);
    let cs = t.take_contacts();
    assert_eq!(cs.len(), 1, "{cs:?}");
    assert_eq!(cs[0].kind, ContactKind::Substrate);
    assert_eq!(cs[0].particles[0], Some(0));
    assert!(cs[0].other_site < 3 * lat.layer_size());
    let s0 = p[0];
    assert_eq!(t.is_anchored(s0), Some(true));
}

#[test]
fn snapshot_round_trip_keeps_identities_and_partition() {
    let mut st = state(LatticeKind::Fcc100, 10, 16, 2);
    let lat = st.lattice().clone();
    let mut t = ContactTracker::new(&st, 2, 5);
    let p = ball(&st, lat.position(&lat.site(4, 4, 6)), 5.0, 2);
    let id = t.register_particle(ParticleRecord {
        id: 99,
        diameter_nm: 1.0,
        shape: Shape::Sphere,
        atoms: p.len(),
        shell_species: None,
        time_s: 0.5,
        centre: [4, 4, 6],
    });
    assert_eq!(id, 0);
    place(&mut st, &mut t, &p, id);
    let snap = t.snapshot();
    let mut u = ContactTracker::new(&st, 2, 5);
    u.restore(&st, &snap);
    assert_eq!(u.identities(), t.identities());
    assert_eq!(u.components(), t.components());
    assert_eq!(u.particles()[0].id, 0);
    assert_eq!(u.total_contacts(), t.total_contacts());
    // Moves carry identity.
    let from = p[0];
    let to = lat
        .neighbors(&lat.site_at(from))
        .map(|(_, n)| n.idx)
        .find(|&n| !st.cell(n).occupied())
        .unwrap();
    let s = lat.site_at(from);
    st.remove(&s);
    st.place(&lat.site_at(to), 2);
    u.rebuild_moved(&st, &[(from, to)]);
    assert_eq!(u.particle_of(to), Some(0));
    assert_eq!(u.particle_of(from), None);
}

/// Another grain's atoms showing in the film as ghosts are no film atoms: an atom that hops
/// away from between a ghost and its own island splits nothing that is not there (a ghost has
/// no node: reading it as an atom once ended a run on an index out of bounds), and a rebuild
/// gives ghosts no node either.
#[test]
fn ghosts_in_the_film_are_no_nodes_of_its_graph() {
    let mut st = state(LatticeKind::Fcc100, 8, 10, 2);
    let lat = st.lattice().clone();
    let mut t = ContactTracker::new(&st, 2, 1);
    // A row of three adatoms in layer 2, and ghosts next to the middle one's neighbours.
    let a = lat.site(2, 2, 2).idx;
    let b = lat.site(3, 3, 2).idx;
    let c = lat.site(4, 4, 2).idx;
    place(&mut st, &mut t, &[a, b, c], 0);
    for (x, y) in [(2, 4), (4, 2)] {
        st.place_ghost(&lat.site(x, y, 2), 2);
    }
    assert!(t.verify(&st));
    // The middle atom leaves: its neighbours a, c and the two ghosts are around the vacated
    // site, the ghosts must not count.
    let to = lat.site(3, 3, 3).idx;
    hop(&mut st, &mut t, b, to, 1.0);
    assert!(t.verify(&st));
    t.rebuild(&st);
    assert!(t.verify(&st));
    assert_eq!(t.film_atoms_list().len(), 3);
}
