//! The ghost rule against a brute-force reading of it, coordination and destinations at a
//! contact between a film and a rotated particle, and incremental updates against a rebuild.

use super::*;
use crate::lattice::{Lattice, LatticeKind};
use crate::rng::{Stream, stream, uniform};
use crate::rotation;
use crate::state::State;
use crate::vec3::{Vec3, norm, sub};

const A: f64 = 4.08;

/// A film of 4 substrate layers on 12 × 12 cells, and a sphere of radius `r` Å (in a box of
/// 28 × 28 cells and 36 layers, so the atoms stay 8 steps clear of its edges) turned by `deg` about (1, 2, 3), resting `gap` Å above the
/// film's top layer at the middle of the film.
pub(crate) fn film_and_particle(r: f64, deg: f64, gap: f64) -> Grains {
    let film_lat = Lattice::new(LatticeKind::Fcc100, A, [12, 12], 14).unwrap();
    let mut film = State::new(film_lat);
    film.fill_layers(4, 1).unwrap();
    let mut g = Grains::new(film, DEFAULT_GHOST_RADIUS_NN).unwrap();
    let lat = Lattice::new(LatticeKind::Fcc100, A, [28, 28], 36).unwrap();
    let mut p = State::new(lat.clone());
    let centre_site = lat.site(14, 14, 18);
    let c = lat.position(&centre_site);
    for idx in 0..lat.n_sites() {
        if norm(sub(lat.position_of(idx), c)) <= r {
            p.place(&lat.site_at(idx), 2);
        }
    }
    let q = rotation::from_axis_angle_deg([1.0, 2.0, 3.0], deg).unwrap();
    let fl = g.grain(0).state.lattice();
    let [lx, ly] = fl.box_lengths();
    let top = 3.0 * fl.layer_spacing();
    // The particle's lowest atom `gap` above the film's top layer, centred laterally.
    let lowest = (0..lat.n_sites())
        .filter(|&i| p.cell(i).occupied())
        .map(|i| rotation::rotate(q, sub(lat.position_of(i), c))[2])
        .fold(f64::INFINITY, f64::min);
    let centre_lab = [0.5 * lx, 0.5 * ly, top + gap - lowest];
    let frame = Frame {
        rotation: q,
        origin: sub(centre_lab, rotation::rotate(q, c)),
    };
    g.add(p, frame).unwrap();
    g
}

/// Minimum-image lab distance on the film's lateral period.
fn dist(g: &Grains, a: Vec3, b: Vec3) -> f64 {
    let [lx, ly] = g.grain(0).state.lattice().box_lengths();
    let mut d = sub(a, b);
    d[0] -= lx * (d[0] / lx).round();
    d[1] -= ly * (d[1] / ly).round();
    norm(d)
}

/// The ghost rule read literally: for every site of every grain, every atom of every other
/// grain at its periodic image nearest the site, and its nearest site of this grain by a scan
/// of all sites (the film's under the minimum image, a particle's without).
fn brute_force_ghosts(g: &Grains) -> Vec<Vec<(usize, u8)>> {
    let r = DEFAULT_GHOST_RADIUS_NN * g.grain(0).state.lattice().nn_distance();
    let [lx, ly] = g.grain(0).state.lattice().box_lengths();
    let atoms = g.atoms();
    (0..g.len())
        .map(|k| {
            let grain = g.grain(k);
            let n = grain.state.lattice().n_sites();
            let pos: Vec<Vec3> = (0..n).map(|i| grain.lab_position(i)).collect();
            let d_site = |a: Vec3, b: Vec3| {
                if k == 0 {
                    dist(g, a, b)
                } else {
                    norm(sub(a, b))
                }
            };
            let nearest = |q: Vec3| {
                (0..n)
                    .map(|i| (d_site(pos[i], q), i))
                    .min_by(|a, b| a.partial_cmp(b).unwrap())
                    .unwrap()
                    .1
            };
            let mut out = Vec::new();
            for s in 0..n {
                if grain.state.cell(s).occupied() && !grain.state.is_ghost(s) {
                    continue;
                }
                let mut best: Option<(f64, usize, u8)> = None;
                for (h, sp, q) in &atoms {
                    if *h == k {
                        continue;
                    }
                    let mut q = *q;
                    q[0] -= lx * ((q[0] - pos[s][0]) / lx).round();
                    q[1] -= ly * ((q[1] - pos[s][1]) / ly).round();
                    let d = norm(sub(q, pos[s]));
                    if d <= r && nearest(q) == s && best.is_none_or(|b| (d, *h) < (b.0, b.1)) {
                        best = Some((d, *h, *sp));
                    }
                }
                if let Some(b) = best {
                    out.push((s, b.2));
                }
            }
            out
        })
        .collect()
}

fn ghosts(g: &Grains) -> Vec<Vec<(usize, u8)>> {
    (0..g.len())
        .map(|k| {
            let st = &g.grain(k).state;
            st.ghost_sites()
                .into_iter()
                .map(|i| (i, st.species(i)))
                .collect()
        })
        .collect()
}

#[test]
fn ghosts_follow_the_rule_at_a_film_particle_contact() {
    let g = film_and_particle(6.0, 25.0, 1.2);
    let got = ghosts(&g);
    assert!(
        got[0].len() > 5 && got[1].len() > 20,
        "{:?}",
        (got[0].len(), got[1].len())
    );
    let want = brute_force_ghosts(&g);
    for k in 0..2 {
        let only_got: Vec<_> = got[k]
            .iter()
            .filter(|x| !want[k].contains(x))
            .take(3)
            .collect();
        let only_want: Vec<_> = want[k]
            .iter()
            .filter(|x| !got[k].contains(x))
            .take(3)
            .collect();
        assert!(
            only_got.is_empty() && only_want.is_empty(),
            "grain {k}: {} vs {}; extra {only_got:?}, missing {only_want:?}",
            got[k].len(),
            want[k].len()
        );
    }
    // Ghosts are no atoms of their lattice: counts and species maps leave them out, and a
    // rebuild of the derived data (coordination included) agrees with the incremental one.
    for k in 0..2 {
        let mut st = g.grain(k).state.clone();
        let atoms = st.n_atoms();
        let real = st.species_map().iter().filter(|&&s| s != 0).count() as u64;
        assert_eq!(atoms, real);
        assert_eq!(st.rebuild_derived(), 0);
        assert_eq!(st.n_atoms(), atoms);
    }
}

#[test]
fn film_atoms_under_the_particle_count_its_ghosts() {
    let g = film_and_particle(6.0, 25.0, 1.2);
    let film = &g.grain(0).state;
    let lat = film.lattice();
    // Top-layer film atoms under the particle gained coordination from ghosts: 8 in a flat
    // top layer (4 in-layer, 4 below), more where the particle touches.
    let gained: Vec<usize> = (0..lat.layer_size())
        .map(|i| 3 * lat.layer_size() + i)
        .filter(|&i| film.coordination(i) > 8)
        .collect();
    assert!(!gained.is_empty());
    for &i in &gained {
        let s = lat.site_at(i);
        let ghosts = lat
            .neighbors(&s)
            .filter(|(_, n)| film.is_ghost(n.idx))
            .count();
        assert_eq!(film.coordination(i) as usize, 8 + ghosts);
    }
}

#[test]
fn incremental_updates_end_where_a_rebuild_does() {
    let mut g = film_and_particle(5.0, 40.0, 0.8);
    let mut rng = stream(3, Stream::Engine);
    let mut moves = 0;
    while moves < 300 {
        // A random real atom of either grain hops to a random free neighbour site.
        let k = if uniform(&mut rng) < 0.5 { 0 } else { 1 };
        let st = &g.grain(k).state;
        let lat = st.lattice().clone();
        let atoms: Vec<usize> = (0..lat.n_sites())
            .filter(|&i| st.cell(i).occupied() && !st.is_ghost(i))
            .filter(|&i| k == 1 || i / lat.layer_size() >= 3)
            .collect();
        let from = atoms[(uniform(&mut rng) * atoms.len() as f64) as usize];
        let s = lat.site_at(from);
        let free: Vec<usize> = lat
            .neighbors(&s)
            .map(|(_, n)| n.idx)
            .filter(|&n| !st.cell(n).occupied())
            .filter(|&n| k == 0 || lat.shell_is_interior(&lat.site_at(n), MAX_RANGE + 1))
            .collect();
        if free.is_empty() {
            continue;
        }
        let to = free[(uniform(&mut rng) * free.len() as f64) as usize];
        let st = g.state_mut(k);
        let sp = st.remove(&s);
        st.place(&lat.site_at(to), sp);
        g.apply_changes(k, &[from, to]).unwrap();
        moves += 1;
    }
    let incremental = ghosts(&g);
    let cells: Vec<Vec<crate::state::Cell>> = (0..g.len())
        .map(|k| g.grain(k).state.cells().to_vec())
        .collect();
    let mut r = g.clone();
    r.rebuild_ghosts();
    assert_eq!(incremental, ghosts(&r));
    for k in 0..g.len() {
        assert_eq!(cells[k], r.grain(k).state.cells(), "grain {k}");
    }
    assert_eq!(incremental, brute_force_ghosts(&g));
}

#[test]
fn a_far_particle_changes_no_coordination_and_bad_settings_are_refused() {
    // 12 Å above the film the two cast ghosts into each other's empty sites only (the film's
    // upper layers, the particle box's lower ones): no atom of either gains a neighbour.
    let g = film_and_particle(5.0, 10.0, 12.0);
    assert!(g.grain(0).state.n_ghosts() > 0 && g.grain(1).state.n_ghosts() > 0);
    for k in 0..2 {
        let st = &g.grain(k).state;
        let mut bare = st.clone();
        for i in bare.ghost_sites() {
            let s = bare.lattice().site_at(i);
            bare.remove_ghost(&s);
        }
        for i in 0..st.lattice().n_sites() {
            if st.cell(i).occupied() && !st.is_ghost(i) {
                assert_eq!(
                    st.coordination(i),
                    bare.coordination(i),
                    "grain {k} site {i}"
                );
            }
        }
    }
    // The same test fails at contact: there atoms do gain neighbours.
    let touching = film_and_particle(5.0, 10.0, 1.0);
    let st = &touching.grain(1).state;
    assert!((0..st.lattice().n_sites()).any(|i| {
        st.cell(i).occupied()
            && !st.is_ghost(i)
            && st
                .lattice()
                .neighbors(&st.lattice().site_at(i))
                .any(|(_, n)| st.is_ghost(n.idx))
    }));
    let film = State::new(Lattice::new(LatticeKind::Fcc100, A, [8, 8], 8).unwrap());
    for bad in [0.0, -0.1, 0.8, f64::NAN] {
        let e = Grains::new(film.clone(), bad).unwrap_err().to_string();
        assert!(e.contains("grains.ghost_radius_nn"), "{e}");
    }
    // A particle that reaches its box's edge is refused.
    let mut g = Grains::new(film, DEFAULT_GHOST_RADIUS_NN).unwrap();
    let lat = Lattice::new(LatticeKind::Fcc100, A, [8, 8], 12).unwrap();
    let mut p = State::new(lat.clone());
    p.place(&lat.site(0, 4, 6), 1);
    assert!(g.add(p, Frame::default()).is_err());
    assert_eq!(g.len(), 1);
}
