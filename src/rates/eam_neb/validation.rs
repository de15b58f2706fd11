//! Physics validation of the EamNeb barriers against independent numbers (Zhou04 EAM).
//!
//! Everything runs on the model's default slab (8 × 8 conventional cells, 10 substrate layers
//! below the event, the bottom 2 fixed) unless a test names another; `examples/
//! eam_neb_convergence.rs` varies width, thickness and fixed layers one at a time.

use super::single::{BarrierRequest, adatom_barrier};
use super::*;
use crate::lattice::LatticeKind;
use crate::md::minimize::{FireOptions, relax};
use crate::md::neb::{NebOptions, neb_atoms};
use crate::md::system::System;
use crate::md::{Eam, SimBox};

fn spec(elements: &[&str], exchange: bool) -> EamNebSpec {
    let mut s = EamNebSpec::new(EamPotential::Zhou04(
        elements.iter().map(|e| e.to_string()).collect(),
    ));
    s.exchange = exchange;
    s
}

/// A model and a flat (100) substrate of `el` (5 layers) with one adatom; returns the model,
/// the state and the adatom's site.
fn adatom_on_100(el: &str, exchange: bool) -> (EamNeb, State, SiteRef) {
    let a = crate::md::zhou04::element(el).unwrap().lattice_constant();
    let lat = Lattice::new(LatticeKind::Fcc100, a, [6, 6], 12).unwrap();
    let mut st = State::new(lat.clone());
    st.fill_layers(5, 1).unwrap();
    let s = lat.site(3, 6, 5);
    st.place(&s, 1);
    let m = EamNeb::new(&spec(&[el], exchange), &[el.to_string()], &lat, 300.0).unwrap();
    (m, st, s)
}

fn in_layer_dir(lat: &Lattice, s: &SiteRef) -> usize {
    lat.class_tables(s.class)
        .neighbors
        .iter()
        .position(|o| o.dl == 0)
        .unwrap()
}

/// Forward barriers of the hop and of the exchange of an `el` adatom on a flat `el`(100)
/// terrace, computed as a run computes them, on `slab`.
fn hop_and_exchange(el: &str, slab: SlabSpec) -> [f64; 2] {
    [EventKind::Hop, EventKind::Exchange].map(|event| {
        let r = adatom_barrier(&BarrierRequest {
            potential: EamPotential::Zhou04(vec![el.to_string()]),
            substrate: el.to_string(),
            adatom: el.to_string(),
            surface: LatticeKind::Fcc100,
            event,
            lattice_constant_a: None,
            slab,
            neb: NebSpec::default(),
            base_dir: None,
        })
        .unwrap();
        assert_eq!(r.entry.status, Status::Ok, "{el} {event:?} on {slab:?}");
        r.entry.forward_ev
    })
}

/// `slab` with its resolved size, and the slab twice as wide and twice as thick (substrate
/// and fixed layers both doubled).
fn slab_and_double(el: &str, slab: SlabSpec) -> (SlabSpec, SlabSpec) {
    let a = crate::md::zhou04::element(el).unwrap().lattice_constant();
    let (x, y) = slab.resolved_size(LatticeKind::Fcc100, a).unwrap();
    let double = SlabSpec {
        size: Some((2 * x, 2 * y)),
        layers_below: 2 * slab.layers_below,
        fixed_layers: 2 * slab.fixed_layers,
    };
    (slab, double)
}

/// Largest |barrier on `slab` − barrier on the doubled slab| over the hop and the exchange of
/// `el`(100), eV, with the table row that shows it.
fn doubling_error(el: &str, slab: SlabSpec) -> (f64, String) {
    let (one, two) = slab_and_double(el, slab);
    let (e1, e2) = (hop_and_exchange(el, one), hop_and_exchange(el, two));
    let d = [e1[0] - e2[0], e1[1] - e2[1]];
    let row = format!(
        "| {el} | {:.4} | {:.4} | {:+.1} | {:.4} | {:.4} | {:+.1} |",
        e1[0],
        e2[0],
        1e3 * d[0],
        e1[1],
        e2[1],
        1e3 * d[1]
    );
    (d[0].abs().max(d[1].abs()), row)
}

/// Issue 17: the default slab (8 × 8 cells, 10 substrate layers below the event, the bottom 2
/// fixed) gives the Au(100) adatom hop and exchange within 2 meV of a slab twice as wide and
/// twice as thick (16 × 16, 20 layers, 4 fixed): measured −1.2 and +1.3 meV. The criterion can
/// fail: the previous default (5 × 5, 5 layers, 2 fixed) misses it by 21 meV on the exchange.
/// Deterministic (FIRE + NEB), not statistical. The seven metals: `default_slab_for_seven_
/// metals` (ignored, about 4 min).
#[test]
fn default_slab_matches_one_twice_as_wide_and_thick() {
    let d = SlabSpec::default();
    assert_eq!((d.size, d.layers_below, d.fixed_layers), (None, 10, 2));
    let a = crate::md::zhou04::element("Au").unwrap().lattice_constant();
    assert_eq!(d.resolved_size(LatticeKind::Fcc100, a).unwrap(), (8, 8));
    let (err, row) = doubling_error("Au", d);
    assert!(err < 2e-3, "{row}");
    let old = SlabSpec {
        size: Some((5, 5)),
        layers_below: 5,
        fixed_layers: 2,
    };
    let (err, row) = doubling_error("Au", old);
    assert!(
        err > 2e-3,
        "the old 5 × 5 × 5 slab should fail the criterion: {row}"
    );
}

/// Issue 17's criterion for the seven FCC Zhou04 metals: hop and exchange on (100) within 2 meV
/// of the slab twice as wide and thick. Prints the table the README quotes. Run with
/// `cargo test --release --lib default_slab_for_seven_metals -- --ignored --nocapture`.
#[test]
#[ignore = "about 4 min on one core; the Au case runs in CI"]
fn default_slab_for_seven_metals() {
    println!("| metal | hop | hop 2× | Δ (meV) | exchange | exchange 2× | Δ (meV) |");
    println!("|---|---|---|---|---|---|---|");
    let mut failed = Vec::new();
    for el in ["Cu", "Ag", "Au", "Ni", "Pd", "Pt", "Al"] {
        let (err, row) = doubling_error(el, SlabSpec::default());
        println!("{row}");
        if err >= 2e-3 {
            failed.push(el);
        }
    }
    assert!(failed.is_empty(), "not within 2 meV: {failed:?}");
}

#[test]
fn adatom_hop_on_100_matches_the_references() {
    // Issue references (independent NEB, Zhou04): Cu 0.48, Ag 0.50, Au 0.79 eV, within 0.03 eV.
    // Tighter: LAMMPS drag-method barriers on an 8 × 8 slab of 5 layers under the adatom, the
    // bottom one fixed (rates/fcc100_zhou04.ron, computed by examples/fcc100_barriers.py):
    // Cu 0.4829, Ag 0.5029, Au 0.7800 eV, compared on that slab (the default, thicker one
    // puts Au 7 meV higher: the LAMMPS slab is not converged in thickness).
    let lammps_slab = SlabSpec {
        size: Some((8, 8)),
        layers_below: 5,
        fixed_layers: 1,
    };
    for (el, issue, lammps) in [
        ("Cu", 0.48, 0.4829),
        ("Ag", 0.50, 0.5029),
        ("Au", 0.79, 0.7800),
    ] {
        let (m, st, s) = adatom_on_100(el, false);
        let key = m.hop_key(&st, &s, in_layer_dir(st.lattice(), &s));
        let c = m.calculator().calculate(&key).unwrap();
        assert_eq!(c.entry.status, Status::Ok, "{el}");
        let e = c.entry.forward_ev;
        assert!((e - issue).abs() < 0.03, "{el}: {e} vs {issue}");
        let on_lammps_slab = hop_and_exchange(el, lammps_slab)[0];
        assert!(
            (on_lammps_slab - lammps).abs() < 0.003,
            "{el}: {on_lammps_slab} vs LAMMPS {lammps}"
        );
        // A symmetric hop: the same barrier back.
        assert!((c.entry.reverse_ev - e).abs() < 1e-3, "{el}");
    }
}

#[test]
fn exchange_beats_the_hop_on_au_and_pt_but_not_on_cu() {
    // Exchange is the preferred self-diffusion path on Pt(100) and Au(100) (field-ion microscopy,
    // Kellogg & Feibelman PRL 64, 3143 (1990) for Pt; EAM studies find the same for Au), while
    // on Cu(100) the EAM hop is lower (Zhou04: exchange ≈ 0.74 eV vs hop 0.48 eV).
    for (el, exchange_lower) in [("Au", true), ("Pt", true), ("Cu", false)] {
        let (m, st, s) = adatom_on_100(el, true);
        let hop = m.hop_key(&st, &s, in_layer_dir(st.lattice(), &s));
        let ex = m.exchange_key(&st, &s, 0);
        let h = m.calculator().calculate(&hop).unwrap().entry;
        let x = m.calculator().calculate(&ex).unwrap().entry;
        assert_eq!((h.status, x.status), (Status::Ok, Status::Ok), "{el}");
        assert_eq!(
            x.forward_ev < h.forward_ev,
            exchange_lower,
            "{el}: exchange {} hop {}",
            x.forward_ev,
            h.forward_ev
        );
    }
}

#[test]
fn forward_minus_reverse_is_the_end_state_energy_difference() {
    // Asymmetric hops: an adatom leaving a dimer, and one leaving a trimer corner.
    let (m, mut st, s) = adatom_on_100("Cu", false);
    let lat = st.lattice().clone();
    let t = lat.class_tables(s.class);
    let partner = lat
        .site_at_offset(&s, &t.neighbors[in_layer_dir(&lat, &s)])
        .unwrap();
    st.place(&partner, 1);
    let mut checked = 0;
    for (k, o) in t.neighbors.iter().enumerate() {
        let b = lat.site_at_offset(&s, o).unwrap();
        if o.dl != 0 || st.cell(b.idx).occupied() {
            continue;
        }
        let key = m.hop_key(&st, &s, k);
        let c = m.calculator().calculate(&key).unwrap();
        assert_eq!(c.entry.status, Status::Ok);
        let de = c.end_energies_ev[1] - c.end_energies_ev[0];
        assert!(de.abs() > 0.05, "breaking a bond costs energy: {de}");
        assert!(
            (c.entry.forward_ev - c.entry.reverse_ev - de).abs() < 1e-6,
            "{} - {} vs {de}",
            c.entry.forward_ev,
            c.entry.reverse_ev
        );
        checked += 1;
    }
    assert!(checked >= 2);
}

/// A Cu(111) slab cut from the kmc lattice (layers `0..n`, bottom two fixed) with an adatom at
/// `adatom`; 8 × 8 in-layer spacings.
fn cu111(pot: &Eam, n: usize, adatom: [f64; 3]) -> System {
    let a = crate::md::zhou04::element("Cu").unwrap().lattice_constant();
    let lat = Lattice::new(LatticeKind::Fcc111, a, [8, 8], n + 2).unwrap();
    let (nx, ny) = lat.grid();
    let mut x = Vec::new();
    let mut fixed = Vec::new();
    for l in 0..n {
        for y in 0..ny {
            for i in 0..nx {
                x.push(lat.position(&lat.site(i, y, l)));
                fixed.push(l < 2);
            }
        }
    }
    x.push(adatom);
    fixed.push(false);
    let [lx, ly] = lat.box_lengths();
    let simbox = SimBox {
        lengths: [lx, ly, 60.0],
        periodic: [true, true, false],
    };
    let sp = vec![pot.species_of("Cu").unwrap(); x.len()];
    let mut sys = System::new(x, sp, simbox, pot).unwrap();
    sys.fixed = fixed;
    sys
}

#[test]
fn cu111_fcc_to_hcp_hop_is_small() {
    // Adatom diffusion on Cu(111) is nearly free (EAM and experiment: barriers of a few tens of
    // meV); the issue asks for < 0.1 eV. Zhou04 gives 0.075 eV here, with the hcp hollow
    // 0.040 eV above the fcc one.
    let a = crate::md::zhou04::element("Cu").unwrap().lattice_constant();
    let pot = Eam::from_setfl(&crate::md::zhou04::setfl(&["Cu"]).unwrap()).unwrap();
    let lat = Lattice::new(LatticeKind::Fcc111, a, [8, 8], 8).unwrap();
    let n = 5;
    // The fcc hollow continues the ABC stacking (the lattice site of layer n); the hcp hollow
    // lies above an atom of layer n − 2 at the same height.
    let fcc = lat.position(&lat.site(3, 3, n));
    // The hcp hollow nearest to the fcc one.
    let (mut hcp, mut best) = ([0.0; 3], f64::MAX);
    for y in 0..8 {
        for x in 0..8 {
            let p = lat.position(&lat.site(x, y, n - 2));
            let d = (p[0] - fcc[0]).hypot(p[1] - fcc[1]);
            if d < best {
                best = d;
                hcp = [p[0], p[1], fcc[2]];
            }
        }
    }
    assert!(
        (best - lat.nn_distance() / 3f64.sqrt()).abs() < 1e-6,
        "{best}"
    );
    let fire = FireOptions {
        force_tolerance_ev_a: 1e-4,
        max_steps: 20_000,
        ..Default::default()
    };
    let mut init = cu111(&pot, n, fcc);
    let mut fin = cu111(&pot, n, hcp);
    let ri = relax(&mut init, &pot, &fire).unwrap();
    let rf = relax(&mut fin, &pot, &fire).unwrap();
    assert!(ri.converged && rf.converged);
    let last = init.len() - 1;
    // Both hollows are minima: the adatom stays in them.
    for (sys, p) in [(&init, fcc), (&fin, hcp)] {
        let q = sys.positions[last];
        assert!((q[0] - p[0]).hypot(q[1] - p[1]) < 0.05, "{q:?} {p:?}");
    }
    let r = neb_atoms(
        &pot,
        &init,
        &fin.positions,
        &NebOptions {
            images: 5,
            force_tolerance_ev_a: 0.005,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(r.converged);
    let e = r.forward_barrier_ev();
    assert!(e > 0.0 && e < 0.1, "fcc → hcp barrier {e}");
    let de = r.energies_ev[r.energies_ev.len() - 1] - r.energies_ev[0];
    assert!(de > 0.0 && de < e, "hcp − fcc {de}");
    assert!((e - r.reverse_barrier_ev() - de).abs() < 1e-9);
}

#[test]
fn cu111_lattice_hop_passes_the_hcp_hollow() {
    // The kmc lattice has only fcc hollows: its in-layer hop on Cu(111) goes fcc → hcp → fcc,
    // so its barrier is the fcc → hcp one (< 0.1 eV) and the band shows the hcp minimum.
    let a = crate::md::zhou04::element("Cu").unwrap().lattice_constant();
    let lat = Lattice::new(LatticeKind::Fcc111, a, [8, 8], 12).unwrap();
    let mut st = State::new(lat.clone());
    st.fill_layers(5, 1).unwrap();
    let s = lat.site(3, 3, 5);
    st.place(&s, 1);
    let m = EamNeb::new(&spec(&["Cu"], false), &["Cu".into()], &lat, 300.0).unwrap();
    let key = m.hop_key(&st, &s, in_layer_dir(&lat, &s));
    let c = m.calculator().calculate(&key).unwrap();
    assert!(c.entry.status.is_event(), "{:?}", c.entry);
    assert!(
        c.entry.forward_ev > 0.0 && c.entry.forward_ev < 0.1,
        "{:?}",
        c.entry
    );
    let p = &c.profile_ev;
    let mid = (1..p.len() - 1).any(|i| p[i] + 1e-3 < p[i - 1] && p[i] + 1e-3 < p[i + 1]);
    assert!(mid, "no hcp minimum on the band: {p:?}");
}

#[test]
fn unstable_end_states_are_dropped_or_mapped() {
    // An L-shaped trimer on Cu(100): the mover (a corner atom) hopping up onto the hollow above
    // the trimer would sit on two atoms only and slide back down: no event (UnstableFinal). An
    // atom put there slides down by itself: its hop to where it slides is Spontaneous (rate ν),
    // its other hops are dropped (UnstableInitial).
    let (mut m, mut st, s) = adatom_on_100("Cu", false);
    let lat = st.lattice().clone();
    let t = lat.class_tables(s.class).clone();
    let at = |o: &crate::lattice::Offset| lat.site_at_offset(&s, o).unwrap();
    let nn = |p: &SiteRef, q: &SiteRef| lat.neighbors(p).any(|(_, n)| n.idx == q.idx);
    let inl: Vec<SiteRef> = t.neighbors.iter().filter(|o| o.dl == 0).map(at).collect();
    // Two in-layer neighbours of the mover that are second neighbours of each other.
    let (p1, p2) = inl
        .iter()
        .flat_map(|p| inl.iter().map(move |q| (*p, *q)))
        .find(|(p, q)| p.idx < q.idx && !nn(p, q))
        .unwrap();
    st.place(&p1, 1);
    st.place(&p2, 1);
    let (k_up, h) = t
        .neighbors
        .iter()
        .enumerate()
        .map(|(k, o)| (k, at(o)))
        .find(|(_, h)| h.l == s.l + 1 && nn(h, &p1) && nn(h, &p2))
        .unwrap();
    let up = m.hop_key(&st, &s, k_up);
    let c = m.calculator().calculate(&up).unwrap();
    assert_eq!(c.entry.status, Status::UnstableFinal);
    assert!(c.entry.barrier_ev().is_none() && c.entry.forward_ev.is_nan());
    let mut ev = Vec::new();
    m.site_events(&st, &s, &mut ev);
    // The corner atom still has its in-layer hops, but not the one up.
    assert!(!ev.is_empty());
    assert!(
        ev.iter()
            .all(|(e, r)| *r > 0.0 && !matches!(e, Event::Hop { to, .. } if *to == h.idx))
    );
    // An atom put on the unstable hollow slides off it. In the slab (layer 5 filled outside
    // the key) it may fall into another hollow than the hop's destination: such hops are
    // dropped (UnstableInitial, no barrier); a hop is kept only as Spontaneous (barrier 0) if
    // the atom slides into its destination or a symmetric copy of it.
    let mut st2 = st.clone();
    st2.remove(&s);
    st2.place(&h, 1);
    let (mut dropped, mut spontaneous) = (0, 0);
    for (k, o) in lat.class_tables(h.class).neighbors.iter().enumerate() {
        let b = lat.site_at_offset(&h, o).unwrap();
        if st2.cell(b.idx).occupied() {
            continue;
        }
        let e = m
            .calculator()
            .calculate(&m.hop_key(&st2, &h, k))
            .unwrap()
            .entry;
        match e.status {
            Status::Spontaneous => {
                assert_eq!((e.forward_ev, b.l + 1), (0.0, h.l));
                spontaneous += 1;
            }
            Status::UnstableInitial => {
                assert!(e.forward_ev.is_nan() && e.barrier_ev().is_none());
                dropped += 1;
            }
            other => panic!("direction {k}: {other:?} from an unstable perch"),
        }
    }
    assert!(dropped >= 6 && spontaneous <= 2, "{dropped} {spontaneous}");
    let mut ev = Vec::new();
    m.site_events(&st2, &h, &mut ev);
    assert_eq!(ev.len(), spontaneous);
    assert!(ev.iter().all(|(_, r)| *r == 1e13));
    // And the model reports what it dropped.
    let counts = m.status_counts();
    assert!(
        counts
            .iter()
            .any(|(s, n)| *s == Status::UnstableFinal && *n > 0),
        "{counts:?}"
    );
}
