use super::*;
use crate::lattice::LatticeKind;
use std::collections::BTreeMap;

/// The benchmark model of tests/data/reference/bench_fcc100.md: E(n) = −1.0218 √n eV,
/// Q = 0.45 eV, kT = 0.0259 eV, ν = 1e13 Hz.
fn bench_model(lat: &Lattice) -> CoordinationMetropolis {
    let spec = CoordinationMetropolisSpec {
        species: BTreeMap::from([(
            "Cu".to_string(),
            CoordinationParams {
                prefactor_hz: 1e13,
                barrier_ev: 0.45,
                site_energy: SiteEnergy::Sqrt {
                    coefficient_ev: -1.0218,
                },
            },
        )]),
    };
    CoordinationMetropolis::new(
        &spec,
        &["Cu".into()],
        lat,
        0.0259 / crate::units::K_B_EV_PER_K,
    )
    .unwrap()
}

fn slab(l: usize, layers: usize) -> State {
    let lat = Lattice::new(LatticeKind::Fcc100, 3.615, [l, l], layers + 8).unwrap();
    let mut st = State::new(lat);
    st.fill_layers(layers, 1).unwrap();
    st
}

/// ΔE of the hop from `from` to `to` (grid coordinates), via the model.
fn de(
    m: &CoordinationMetropolis,
    st: &State,
    from: (usize, usize, usize),
    to: (usize, usize, usize),
) -> f64 {
    let lat = st.lattice();
    let b = lat.site(from.0, from.1, from.2);
    let j = lat.site(to.0, to.1, to.2).idx;
    let k = lat
        .neighbors(&b)
        .find(|(_, n)| n.idx == j)
        .expect("not neighbours")
        .0;
    m.delta_e(st, &b, k).expect("destination occupied")
}

/// The fcc(100) half-grid point (i, j, k) with i + j + k even as grid coordinates (x, y, l).
fn g(i: usize, j: usize, k: usize) -> (usize, usize, usize) {
    assert_eq!((i + j + k) % 2, 0);
    (i / 2, j, k)
}

#[test]
fn benchmark_model_reproduces_the_reference_energies() {
    // Figures from tests/data/reference/bench_fcc100.md ("values the tests check").
    let mut st = slab(8, 4);
    let mut m = bench_model(st.lattice());
    // Isolated adatom on layer 4 at half-grid (6, 6, 4): terrace hop ΔE = 0, rate 2.85e5 /s.
    let a = g(6, 6, 4);
    let s = st.lattice().site(a.0, a.1, a.2);
    st.place(&s, 1);
    assert!(de(&m, &st, a, g(7, 7, 4)).abs() < 1e-12);
    let mut ev = Vec::new();
    m.site_events(&st, &s, &mut ev);
    let terrace: Vec<_> = ev
        .iter()
        .filter(|(e, _)| matches!(e, Event::Hop { to, .. } if st.lattice().site_at(*to).l == 4))
        .collect();
    assert_eq!(terrace.len(), 4);
    for (_, r) in &terrace {
        assert!((r - 2.847e5).abs() / 2.847e5 < 1e-3, "{r}");
    }
    assert!((m.site_rate(&st, &s) - ev.iter().map(|e| e.1).sum::<f64>()).abs() < 1e-9);

    // Dimer along [110]: (6,6,4) + (7,7,4). Dissociation: 0.463 eV.
    let b = g(7, 7, 4);
    st.place(&st.lattice().site(b.0, b.1, b.2), 1);
    let diss = de(&m, &st, b, g(8, 8, 4));
    assert!((diss - 0.463).abs() < 1e-3, "dissociation {diss}");
    // A straight <110> step: the upper terrace is the strip of layer-4 sites with
    // (i − j) mod 16 in [0, 8); its edge row is i − j = 0. An adatom on the lower terrace at
    // (7, 9) (i − j = −2) touches the edge atom (8, 8).
    let mut st2 = slab(8, 4);
    for j in 0..16usize {
        for i in 0..16usize {
            let d = (i + 16 - j) % 16;
            if (i + j) % 2 == 0 && d < 8 {
                let p = g(i, j, 4);
                st2.place(&st2.lattice().site(p.0, p.1, p.2), 1);
            }
        }
    }
    let p = g(7, 9, 4);
    st2.place(&st2.lattice().site(p.0, p.1, p.2), 1);
    let along = de(&m, &st2, p, g(8, 10, 4));
    let detach = de(&m, &st2, p, g(6, 10, 4));
    assert!(along.abs() < 1e-12, "hop along the step {along}");
    assert!((detach - 0.393).abs() < 1e-3, "detachment {detach}");
    // A surface atom of the flat substrate hopping up into the adatom layer: 1.92 eV.
    let st3 = slab(8, 4);
    let up = de(&m, &st3, g(7, 6, 3), g(7, 7, 4));
    assert!((up - 1.92).abs() < 5e-3, "up {up}");
}

#[test]
fn bond_counting_rates_and_support() {
    let lat = Lattice::new(LatticeKind::Fcc100, 3.615, [8, 8], 12).unwrap();
    let spec = BondCountingSpec {
        species: BTreeMap::from([(
            "Cu".into(),
            HopParams {
                prefactor_hz: 1e13,
                barrier_ev: 0.5,
            },
        )]),
        bonds_ev: vec![("Cu".into(), "Cu".into(), 0.2)],
        count: BondCount::InLayer,
        ehrlich_schwoebel_ev: 0.1,
        exchange_barrier_ev: None,
        grain_transfers: false,
    };
    let t = 300.0;
    let mut m = BondCounting::new(&spec, &["Cu".into()], &lat, t).unwrap();
    let mut st = State::new(lat);
    st.fill_layers(4, 1).unwrap();
    let s = st.lattice().site(3, 6, 4);
    st.place(&s, 1);
    let mut ev = Vec::new();
    m.site_events(&st, &s, &mut ev);
    // Isolated adatom: 4 terrace hops at ν exp(−E0/kT); the up-hops have no support besides
    // the mover (a site above one adatom has only it as neighbour), the down sites are full.
    let r0 = crate::units::arrhenius(1e13, 0.5, t);
    assert_eq!(ev.len(), 4);
    assert!(ev.iter().all(|(_, r)| (r - r0).abs() < 1e-9 * r0));
    // A neighbour in the layer slows every hop by exp(−ε/kT).
    let n = st
        .lattice()
        .neighbors(&s)
        .find(|(_, n)| n.l == 4)
        .unwrap()
        .1;
    st.place(&n, 1);
    ev.clear();
    m.site_events(&st, &s, &mut ev);
    let r1 = crate::units::arrhenius(1e13, 0.7, t);
    let in_layer: Vec<_> = ev
        .iter()
        .filter(|(e, _)| matches!(e, Event::Hop { to, .. } if st.lattice().site_at(*to).l == 4))
        .collect();
    assert_eq!(in_layer.len(), 3);
    assert!(in_layer.iter().all(|(_, r)| (r - r1).abs() < 1e-9 * r1));
    // Climbing onto the dimer is supported (the site above both has two neighbours) and pays
    // the Ehrlich–Schwoebel term.
    assert!(
        ev.iter()
            .any(|(_, r)| (r - r1 * (-0.1 / crate::units::kt_ev(t)).exp()).abs() < 1e-9 * r1)
    );
    // Interlayer hops carry the Ehrlich–Schwoebel factor: an atom on top of the dimer can hop
    // down at ν exp(−(E0 + E_ES)/kT).
    let top = st
        .lattice()
        .neighbors(&s)
        .find(|(_, t)| t.l == 5 && st.coordination(t.idx) >= 2)
        .unwrap()
        .1;
    st.place(&top, 1);
    ev.clear();
    m.site_events(&st, &top, &mut ev);
    let down = crate::units::arrhenius(1e13, 0.6, t);
    assert!(
        ev.iter().any(|(_, r)| (r - down).abs() < 1e-9 * down),
        "{ev:?}"
    );
}

#[test]
fn bad_specs_name_the_field() {
    let lat = Lattice::new(LatticeKind::Fcc100, 3.615, [8, 8], 12).unwrap();
    let mut spec = BondCountingSpec {
        species: BTreeMap::from([(
            "Cu".into(),
            HopParams {
                prefactor_hz: 1e13,
                barrier_ev: 0.5,
            },
        )]),
        bonds_ev: vec![],
        count: BondCount::All,
        ehrlich_schwoebel_ev: 0.0,
        exchange_barrier_ev: None,
        grain_transfers: false,
    };
    let e = BondCounting::new(&spec, &["Cu".into()], &lat, 300.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("bonds_ev") && e.contains("(Cu, Cu)"), "{e}");
    spec.bonds_ev = vec![("Cu".into(), "Ag".into(), 0.1)];
    let e = BondCounting::new(&spec, &["Cu".into()], &lat, 300.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown species `Ag`"), "{e}");
    spec.species.insert(
        "Au".into(),
        HopParams {
            prefactor_hz: -1.0,
            barrier_ev: 0.5,
        },
    );
    let e = BondCounting::new(&spec, &["Cu".into()], &lat, 300.0)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("species.Au") && e.contains("unknown species"),
        "{e}"
    );
}
