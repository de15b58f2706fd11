//! The engine over several grains: an aligned particle grain is indistinguishable from the
//! same atoms on the film (every rate equal, before and after a trajectory), a rotated grain
//! gives its atoms the rates of the same configuration on the film, atoms of different grains
//! never come closer than half a nearest-neighbour distance, and a snapshot resumes the same
//! trajectory, grains included.

use super::*;
use crate::grains::TransferSite;
use crate::lattice::{Lattice, LatticeKind};
use crate::rates::{AnyRateModel, BondCount, BondCountingSpec, HopParams, RateModelSpec};
use crate::rng::{Stream, stream, uniform};
use crate::rotation;
use crate::sampler::{AnySampler, SamplerKind};
use crate::vec3::{norm, sub};

type TestEngine = Engine<AnyRateModel, AnySampler>;

const A: f64 = 4.08;
const T_K: f64 = 600.0;
/// Film: 20 × 20 sites, substrate of 3 layers (the bottom 2 frozen).
const FILM: [usize; 2] = [20, 20];
const SUBSTRATE: usize = 3;

fn model(lat: &Lattice) -> AnyRateModel {
    model_with(lat, true)
}

/// The tests' bond-counting model, with or without transfers between grains.
fn model_with(lat: &Lattice, transfers: bool) -> AnyRateModel {
    RateModelSpec::BondCounting(BondCountingSpec {
        species: [(
            "Au".to_string(),
            HopParams {
                prefactor_hz: 1e13,
                barrier_ev: 0.4,
            },
        )]
        .into_iter()
        .collect(),
        bonds_ev: vec![("Au".into(), "Au".into(), 0.15)],
        count: BondCount::Broken,
        ehrlich_schwoebel_ev: 0.05,
        exchange_barrier_ev: None,
        grain_transfers: transfers,
    })
    .build(&["Au".to_string()], lat, T_K)
    .unwrap()
}

fn film_lattice() -> Lattice {
    Lattice::new(LatticeKind::Fcc100, A, FILM, 24).unwrap()
}

/// A film engine over `st` with no event source.
fn engine_over(st: State, seed: u64) -> TestEngine {
    let m = model(st.lattice());
    Engine::new(
        st,
        m,
        SamplerKind::SumTree.build(0),
        Vec::new(),
        stream(seed, Stream::Engine),
    )
}

fn substrate() -> State {
    let mut st = State::new(film_lattice());
    st.fill_layers(SUBSTRATE, 1).unwrap();
    st.set_frozen_layers(SUBSTRATE - 1);
    st
}

/// Film sites of a half-sphere blob of radius `r` Å resting on the substrate at the middle of
/// the film, and `adatoms` random adatoms elsewhere on the surface.
fn blob_and_adatoms(r: f64, adatoms: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let lat = film_lattice();
    let c = lat.position(&lat.site(10, 10, SUBSTRATE));
    let blob: Vec<usize> = (0..lat.n_sites())
        .filter(|&i| {
            let s = lat.site_at(i);
            s.l as usize >= SUBSTRATE && norm(sub(lat.position_of(i), c)) <= r
        })
        .collect();
    let mut rng = stream(seed, Stream::InitialAtoms);
    let mut ads = Vec::new();
    while ads.len() < adatoms {
        let x = (uniform(&mut rng) * FILM[0] as f64) as usize;
        let y = (uniform(&mut rng) * FILM[1] as f64) as usize;
        let s = lat.site(x, y, SUBSTRATE);
        let far = norm(sub(lat.position(&s), c)) > r + 2.0 * lat.nn_distance();
        if far && !ads.contains(&s.idx) {
            ads.push(s.idx);
        }
    }
    (blob, ads)
}

/// Offset, in sites (x, y, layer), of the particle box's site (0, 0, 0) on the film; even, so
/// the box's sites are film sites (FCC(100) stacks in two).
const BOX_AT: [i64; 3] = [-2, -2, -8];
/// Wide enough that the blob stays the 8 steps clear of the edges that a grain needs.
const BOX: [usize; 3] = [24, 24, 26];

fn box_lattice() -> Lattice {
    Lattice::new(LatticeKind::Fcc100, A, [BOX[0], BOX[1]], BOX[2]).unwrap()
}

/// The box site of film site `idx` (the film wraps laterally).
fn box_site(film: &Lattice, bx: &Lattice, idx: usize) -> usize {
    let s = film.site_at(idx);
    let w = |v: u32, o: i64, n: usize| (v as i64 - o).rem_euclid(n as i64) as usize;
    let x = w(s.x, BOX_AT[0], FILM[0]);
    let y = w(s.y, BOX_AT[1], FILM[1]);
    let l = (s.l as i64 - BOX_AT[2]) as usize;
    bx.site(x, y, l).idx
}

/// The frame that puts box site (0, 0, 0) on film site `BOX_AT`, turned by `q` about it.
fn frame_at(q: rotation::Quaternion, lift_a: f64) -> Frame {
    let film = film_lattice();
    let bx = box_lattice();
    let p = film.grid_position(BOX_AT[0], BOX_AT[1], BOX_AT[2]);
    let b0 = bx.position(&bx.site(0, 0, 0));
    let turned = rotation::rotate(q, b0);
    Frame {
        rotation: q,
        origin: [
            p[0] - turned[0],
            p[1] - turned[1],
            p[2] - turned[2] + lift_a,
        ],
    }
}

/// The same atoms two ways: all on the film (`merged`), and the blob as an aligned particle
/// grain on its own box lattice (`split`).
fn merged_and_split(seed: u64) -> (TestEngine, TestEngine) {
    let (blob, ads) = blob_and_adatoms(6.0, 12, seed);
    let mut merged = substrate();
    let mut film = substrate();
    let lat = film_lattice();
    for &i in blob.iter().chain(&ads) {
        merged.place(&lat.site_at(i), 1);
    }
    for &i in &ads {
        film.place(&lat.site_at(i), 1);
    }
    let bx = box_lattice();
    let mut part = State::new(bx.clone());
    for &i in &blob {
        part.place(&bx.site_at(box_site(&lat, &bx, i)), 1);
    }
    let mut split = engine_over(film, seed);
    let g = split
        .add_grain(part, frame_at(rotation::IDENTITY, 0.0))
        .unwrap();
    assert_eq!(g, 1);
    (engine_over(merged, seed), split)
}

/// The split engine's atoms put back on the film: every particle atom on the film site at its
/// lab position (exact for an aligned grain).
fn remerge(split: &TestEngine) -> State {
    let mut st = State::new(film_lattice());
    st.load_species(&split.state().species_map()).unwrap();
    st.set_frozen_layers(SUBSTRATE - 1);
    let lat = st.lattice().clone();
    let g = split.grains().grain(1);
    for i in 0..g.state.lattice().n_sites() {
        if g.state.cell(i).occupied() && !g.state.is_ghost(i) {
            let p = g.lab_position(i);
            let l = (p[2] / lat.layer_spacing()).round() as usize;
            let s = lat.nearest_in_layer(p[0], p[1], l);
            assert!(
                norm(sub(lat.position(&s), p)) < 1e-6 || {
                    let [lx, ly] = lat.box_lengths();
                    let mut d = sub(lat.position(&s), p);
                    d[0] -= lx * (d[0] / lx).round();
                    d[1] -= ly * (d[1] / ly).round();
                    norm(d) < 1e-6
                },
                "an aligned grain's atom left the film's lattice"
            );
            st.place(&s, g.state.species(i));
        }
    }
    st
}

/// Every atom's rate in `split` against the same atom's in `merged`: (atoms compared, first
/// difference).
fn compare_rates(merged: &TestEngine, split: &TestEngine) -> (usize, Option<String>) {
    let film = film_lattice();
    let mut n = 0;
    let g = split.grains().grain(1);
    let st = merged.state();
    for i in 0..st.lattice().n_sites() {
        if !st.cell(i).occupied() {
            continue;
        }
        n += 1;
        let want = merged.rate_of(0, i);
        let have = if split.state().cell(i).occupied() && !split.state().is_ghost(i) {
            split.rate_of(0, i)
        } else {
            // A particle atom: find its box site by position.
            let p = film.position_of(i);
            let j = (0..g.state.lattice().n_sites())
                .find(|&j| {
                    // The box is wider than the film: skip ghosts of the film's images.
                    if !g.state.cell(j).occupied() || g.state.is_ghost(j) {
                        return false;
                    }
                    let mut d = sub(g.lab_position(j), p);
                    let [lx, ly] = film.box_lengths();
                    d[0] -= lx * (d[0] / lx).round();
                    d[1] -= ly * (d[1] / ly).round();
                    norm(d) < 1e-6
                })
                .expect("every merged atom is a film or a particle atom");
            split.rate_of(1, j)
        };
        if want != have {
            return (
                n,
                Some(format!("film site {i}: merged {want}, split {have}")),
            );
        }
    }
    (n, None)
}

#[test]
fn an_aligned_grain_is_the_same_atoms_on_the_film() {
    for seed in [1, 2, 3] {
        let (merged, mut split) = merged_and_split(seed);
        let (n, diff) = compare_rates(&merged, &split);
        assert!(diff.is_none(), "seed {seed}, at start: {}", diff.unwrap());
        // Ghosts must exist both ways, or the comparison above tested nothing across grains.
        assert!(split.grains().grain(0).state.n_ghosts() > 20);
        assert!(split.grains().grain(1).state.n_ghosts() > 100);
        assert!(n > 4 * FILM[0] * FILM[1] / 2);
        // A trajectory of the split engine: after every event its total rate is that of its
        // atoms put back on the film, and at the end every atom's rate is.
        for k in 0..600 {
            assert_eq!(split.step_until(f64::INFINITY), Step::Executed);
            if k % 10 != 9 {
                continue;
            }
            let back = engine_over(remerge(&split), seed);
            let (a, b) = (split.total_rate(), back.total_rate());
            assert!(
                (a - b).abs() <= 1e-9 * a,
                "seed {seed}, event {k}: total rate {a} split, {b} merged"
            );
            if k % 100 == 99 {
                let (n2, diff) = compare_rates(&back, &split);
                assert!(diff.is_none(), "seed {seed}, event {k}: {}", diff.unwrap());
                assert_eq!(n2, n, "atoms were lost or made");
            }
        }
        let (worst, ok) = split.verify();
        assert!(
            ok && worst == 0.0,
            "seed {seed}: cached rates stale ({worst})"
        );
        // Particle atoms hopped, and some hopped onto the film's substrate through ghosts.
        assert!(split.counters().hops == 600);
    }
}

#[test]
fn a_rotated_grain_gives_its_atoms_the_rates_of_the_same_configuration_on_the_film() {
    let (blob, _) = blob_and_adatoms(7.0, 0, 1);
    let lat = film_lattice();
    let bx = box_lattice();
    // The blob alone on the film (no substrate), and alone in a turned grain far above it.
    let mut alone = State::new(film_lattice());
    let mut part = State::new(bx.clone());
    for &i in &blob {
        alone.place(&lat.site_at(i), 1);
        part.place(&bx.site_at(box_site(&lat, &bx, i)), 1);
    }
    let reference = engine_over(alone, 1);
    let q = rotation::from_axis_angle_deg([1.0, 2.0, 3.0], 37.0).unwrap();
    let mut e = engine_over(substrate(), 1);
    e.add_grain(part, frame_at(q, 80.0)).unwrap();
    assert_eq!(e.grains().grain(1).state.n_ghosts(), 0, "the grain is far");
    let mut compared = 0;
    for &i in &blob {
        let j = box_site(&lat, &bx, i);
        assert_eq!(e.rate_of(1, j), reference.rate_of(0, i), "blob site {i}");
        compared += (reference.rate_of(0, i) > 0.0) as usize;
    }
    assert!(compared > 20, "only {compared} mobile atoms compared");
}

/// Atoms of two grains never come closer than half a nearest-neighbour distance: a foreign atom
/// in a site's Wigner–Seitz cell makes it a ghost (no destination), and a point outside a site's
/// cell is at least half a neighbour distance from the site.
#[test]
fn atoms_of_different_grains_never_overlap_and_rates_stay_exact() {
    for (seed, deg) in [(4, 23.0), (5, 41.0)] {
        let (blob, ads) = blob_and_adatoms(6.0, 20, seed);
        let lat = film_lattice();
        let bx = box_lattice();
        let mut film = substrate();
        for &i in &ads {
            film.place(&lat.site_at(i), 1);
        }
        let mut part = State::new(bx.clone());
        for &i in &blob {
            part.place(&bx.site_at(box_site(&lat, &bx, i)), 1);
        }
        let q = rotation::from_axis_angle_deg([0.3, -0.2, 1.0], deg).unwrap();
        let mut e = engine_over(film, seed);
        // Lifted so that the turned blob's lowest atom stays above the substrate's.
        e.add_grain(part, frame_at(q, 1.2)).unwrap();
        let min_distance = |e: &TestEngine| {
            let [lx, ly] = lat.box_lengths();
            let atoms = e.grains().atoms();
            let (film, part): (Vec<_>, Vec<_>) = atoms.iter().partition(|a| a.0 == 0);
            let mut m = f64::INFINITY;
            for (_, _, pa) in &film {
                for (_, _, pb) in &part {
                    let mut d = sub(*pa, *pb);
                    d[0] -= lx * (d[0] / lx).round();
                    d[1] -= ly * (d[1] / ly).round();
                    m = m.min(norm(d));
                }
            }
            m
        };
        let half = 0.5 * lat.nn_distance();
        assert!(
            min_distance(&e) >= half,
            "seed {seed}: overlapping at start"
        );
        assert!(e.grains().grain(0).state.n_ghosts() > 0, "no contact");
        for k in 0..1500 {
            assert_eq!(e.step_until(f64::INFINITY), Step::Executed);
            if k % 50 == 49 {
                let m = min_distance(&e);
                assert!(m >= half - 1e-9, "seed {seed}, event {k}: {m} Å apart");
            }
        }
        let (worst, ok) = e.verify();
        assert!(
            ok && worst == 0.0,
            "seed {seed}: cached rates stale ({worst})"
        );
        let mut g = e.grains().clone();
        let before: Vec<Vec<usize>> = (0..g.len())
            .map(|k| g.grain(k).state.ghost_sites())
            .collect();
        g.rebuild_ghosts();
        let after: Vec<Vec<usize>> = (0..g.len())
            .map(|k| g.grain(k).state.ghost_sites())
            .collect();
        assert_eq!(
            before, after,
            "seed {seed}: incremental ghosts differ from a rebuild"
        );
    }
}

#[test]
fn a_snapshot_resumes_the_same_trajectory_with_its_grains() {
    let (_, mut a) = merged_and_split(7);
    for _ in 0..300 {
        a.step_until(f64::INFINITY);
    }
    let mid = a.snapshot();
    assert_eq!(mid.grains.len(), 1);
    assert_eq!(mid.grain_of_slot.len(), mid.site_of_slot.len());
    for _ in 0..300 {
        a.step_until(f64::INFINITY);
    }
    // Resumed on an engine that never had the grain: the snapshot brings it.
    let mut b = engine_over(substrate(), 7);
    b.restore(&mid).unwrap();
    assert_eq!(b.grains().len(), 2);
    for _ in 0..300 {
        b.step_until(f64::INFINITY);
    }
    let bytes = |e: &TestEngine| postcard::to_stdvec(&e.snapshot()).unwrap();
    assert!(bytes(&a) == bytes(&b), "resumed trajectory differs");
    // Crafted content with the right shape is refused, not followed into a panic.
    let mut bad = mid.clone();
    let k = (0..bad.grain_of_slot.len())
        .position(|k| bad.grain_of_slot[k] == 1 && bad.site_of_slot[k] != NO_SLOT)
        .unwrap();
    bad.grain_of_slot[k] = 9;
    let e = b.restore(&bad).unwrap_err().to_string();
    assert!(e.contains("grain 9"), "{e}");
    let mut bad = mid.clone();
    bad.grains[0].layers += 1;
    let e = b.restore(&bad).unwrap_err().to_string();
    assert!(e.contains("grain 1 holds"), "{e}");
}

#[test]
fn an_atom_at_its_box_edge_moves_the_grain_into_a_larger_box() {
    let (_, mut e) = merged_and_split(8);
    let before: Vec<_> = e.grains().atoms();
    let n = e.grains().grain(1).state.lattice().n_sites();
    // Force a re-box through the path an event takes: a change at a site by the edge.
    let lat = e.grains().grain(1).state.lattice().clone();
    let edge = lat.site(1, 10, 13);
    assert!(!e.grains().grain(1).state.cell(edge.idx).occupied());
    let extra = e.grains().grain(1).lab_position(edge.idx);
    e.grains.state_mut(1).place(&edge, 1);
    e.refresh_with_ghosts(1, &ChangedSites::One(edge));
    assert!(e.grains().grain(1).state.lattice().n_sites() > n);
    let mut after: Vec<_> = e.grains().atoms();
    assert_eq!(after.len(), before.len() + 1);
    after.retain(|(g, _, q)| !(*g == 1 && norm(sub(*q, extra)) < 1e-6));
    assert_eq!(after.len(), before.len(), "the new atom moved");
    for ((ga, sa, pa), (gb, sb, pb)) in before.iter().zip(&after) {
        assert_eq!((ga, sa), (gb, sb));
        assert!(norm(sub(*pa, *pb)) < 1e-9, "an atom moved in re-boxing");
    }
    let (worst, ok) = e.verify();
    assert!(
        ok && worst == 0.0,
        "cached rates stale after re-boxing ({worst})"
    );
    for _ in 0..200 {
        e.step_until(f64::INFINITY);
    }
    let (worst, ok) = e.verify();
    assert!(ok && worst == 0.0);
}

/// A rate model's events at a contact: no hop of an adatom beside a turned particle ends on a
/// ghost, and no exchange goes through one.
#[test]
fn no_event_ends_on_or_exchanges_with_a_ghost() {
    use crate::rates::{BondCounting, RateModel};
    use std::collections::BTreeMap;
    let g = crate::grains::store_tests_support::film_and_particle(6.0, 25.0, 1.2);
    let film = &g.grain(0).state;
    let lat = film.lattice();
    // An adatom placed next to the particle: no hop of it ends on a ghost, and ghosts have no
    // events of their own.
    let spec = BondCountingSpec {
        species: BTreeMap::from([
            (
                "Au".into(),
                HopParams {
                    prefactor_hz: 1e13,
                    barrier_ev: 0.5,
                },
            ),
            (
                "Ag".into(),
                HopParams {
                    prefactor_hz: 1e13,
                    barrier_ev: 0.5,
                },
            ),
        ]),
        bonds_ev: vec![
            ("Au".into(), "Au".into(), 0.2),
            ("Au".into(), "Ag".into(), 0.2),
            ("Ag".into(), "Ag".into(), 0.2),
        ],
        count: BondCount::InLayer,
        ehrlich_schwoebel_ev: 0.1,
        exchange_barrier_ev: Some(0.6),
        grain_transfers: true,
    };
    let mut model = BondCounting::new(&spec, &["Au".into(), "Ag".into()], lat, 600.0).unwrap();
    let ghost_sites = film.ghost_sites();
    let ghost_in_layer4 = *ghost_sites
        .iter()
        .find(|&&i| i / lat.layer_size() == 4)
        .expect("a ghost in the adatom layer");
    let s = lat.site_at(ghost_in_layer4);
    let (_, free) = lat
        .neighbors(&s)
        .find(|(_, n)| n.l == 4 && !film.cell(n.idx).occupied())
        .expect("a free adatom site beside the particle");
    let mut st = film.clone();
    st.place(&free, 1);
    let mut ev = Vec::new();
    model.site_events(&st, &free, &mut ev);
    assert!(!ev.is_empty());
    for (e, _) in &ev {
        match *e {
            crate::catalog::Event::Hop { to, .. } => assert!(!st.cell(to).occupied()),
            crate::catalog::Event::Exchange { via, to, .. } => {
                assert!(!st.is_ghost(via) && !st.cell(to).occupied())
            }
        }
    }
}

/// The atoms of every grain as `(grain, site)`, sorted.
fn atom_sites(e: &TestEngine) -> Vec<(usize, usize)> {
    let mut v: Vec<(usize, usize)> = e
        .grains()
        .atoms_with_sites()
        .into_iter()
        .map(|a| (a.0, a.1))
        .collect();
    v.sort_unstable();
    v
}

/// The transfers the engine offers the atom at site `s` of grain `g`.
fn transfers_of(e: &mut TestEngine, g: usize, s: usize) -> Vec<(TransferSite, f64)> {
    let state = &e.grains.grain(g).state;
    let site = state.lattice().site_at(s);
    let across = Across {
        grains: &e.grains,
        g,
        on: true,
    };
    let mut out = Vec::new();
    with_transfers(state, &mut e.model, &site, across, 0.0, Some(&mut out));
    out
}

/// A blob turned on the film trades atoms with it (grain-boundary migration): transfers
/// happen both ways, each lands where the reverse transfer is offered at the rate detailed
/// balance asks (bond counting: the ratio of the two rates is the Boltzmann factor of the
/// two sites' bond energies), atoms are conserved, never overlap, and the cached rates stay
/// exact — the last needs the wider refresh a transfer's reach asks. Off in the model, none.
#[test]
fn transfers_trade_atoms_across_a_boundary_reversibly_with_exact_rates() {
    let setup = |seed: u64, deg: f64, on: bool| {
        // A sphere turned by `deg` resting on the film, its lowest atom one layer above the
        // film's top.
        let g = crate::grains::store_tests_support::film_and_particle(7.0, deg, 2.04);
        let mut film = g.grain(0).state.clone();
        film.set_frozen_layers(2);
        let lat = film.lattice().clone();
        let mut part = g.grain(1).state.clone();
        // One species: the support builds the particle of species 2.
        for i in 0..part.lattice().n_sites() {
            if part.cell(i).occupied() && !part.is_ghost(i) {
                part.set_species(i, 1);
            } else if part.is_ghost(i) {
                let s = part.lattice().site_at(i);
                part.remove_ghost(&s);
            }
        }
        for i in film.ghost_sites() {
            let s = lat.site_at(i);
            film.remove_ghost(&s);
        }
        let mut e = engine_over(film, seed);
        if !on {
            let m = model_with(&lat, false);
            e.set_model(m);
        }
        e.add_grain(part, g.grain(1).frame).unwrap();
        e
    };
    let kt = crate::units::kt_ev(T_K);
    let mut ways = [0usize; 2];
    let mut total_checked = 0;
    for (seed, deg) in [(4, 23.0), (5, 41.0)] {
        let mut e = setup(seed, deg, true);
        assert!(e.grains().grain(0).state.n_ghosts() > 0, "no contact");
        let n0 = atom_sites(&e).len();
        let mut checked = 0;
        let boxes = |e: &TestEngine| {
            (0..e.grains().len())
                .map(|k| e.grains().grain(k).state.lattice().n_sites())
                .collect::<Vec<_>>()
        };
        for _ in 0..4000 {
            let before = atom_sites(&e);
            let (t0, b0) = (e.counters().transfers, boxes(&e));
            assert_eq!(e.step_until(f64::INFINITY), Step::Executed);
            if e.counters().transfers == t0 {
                continue;
            }
            // Re-boxing renumbers a particle grain's sites: check where none happened.
            if boxes(&e) != b0 {
                continue;
            }
            let after = atom_sites(&e);
            let gone: Vec<_> = before.iter().filter(|a| !after.contains(a)).collect();
            let new: Vec<_> = after.iter().filter(|a| !before.contains(a)).collect();
            assert!(gone.len() == 1 && new.len() == 1, "{gone:?} → {new:?}");
            let ((g, s), (h, t)) = (*gone[0], *new[0]);
            assert_ne!(g, h, "a transfer changes grain");
            ways[(g == 0) as usize] += 1;
            let back = transfers_of(&mut e, h, t);
            let Some(&(_, r_back)) = back.iter().find(|b| b.0.grain == g && b.0.site == s) else {
                panic!("seed {seed}: no way back from ({h}, {t}) to ({g}, {s}): {back:?}");
            };
            // The Broken model's barrier: the bonds of neighbours the destination is not
            // within reach of.
            let (gh, gg) = (e.grains().grain(h), e.grains().grain(g));
            let dest = gg.lab_position(s);
            let [lx, ly] = e.state().lattice().box_lengths();
            let nn = e.state().lattice().nn_distance();
            let st = &gh.state;
            let broken = st
                .lattice()
                .neighbors(&st.lattice().site_at(t))
                .filter(|(_, u)| {
                    let mut d = sub(gh.lab_position(u.idx), dest);
                    d[0] -= lx * (d[0] / lx).round();
                    d[1] -= ly * (d[1] / ly).round();
                    st.cell(u.idx).occupied() && norm(d) > crate::grains::TRANSFER_REACH_NN * nn
                })
                .count();
            let b_here = broken as f64 * 0.15;
            let expected = 1e13 * (-(0.4 + b_here) / kt).exp();
            assert!(
                (r_back - expected).abs() <= 1e-12 * expected,
                "seed {seed}: reverse rate {r_back}, bond counting gives {expected}"
            );
            checked += 1;
        }
        assert_eq!(atom_sites(&e).len(), n0, "seed {seed}: atoms made or lost");
        total_checked += checked;
        let (worst, ok) = e.verify();
        assert!(
            ok && worst == 0.0,
            "seed {seed}: cached rates stale ({worst})"
        );
        // Without transfers in the model the same start trades nothing.
        let mut off = setup(seed, deg, false);
        for _ in 0..500 {
            off.step_until(f64::INFINITY);
        }
        assert_eq!(off.counters().transfers, 0);
    }
    assert!(
        ways[0] > 0 && ways[1] > 0,
        "transfers went one way only: {ways:?} (to the film, from it)"
    );
    assert!(
        total_checked >= 10,
        "only {total_checked} transfers checked"
    );
}
