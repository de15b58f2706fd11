use super::*;
use crate::lattice::LatticeKind;
use crate::rng::{Stream, stream, uniform};
use std::collections::HashMap as StdMap;

fn cu_spec() -> EamNebSpec {
    EamNebSpec::new(EamPotential::Zhou04(vec!["Cu".into()]))
}

/// Sites of a lattice by (wrapped, rounded) position.
fn position_map(lat: &Lattice) -> StdMap<(i64, i64, i64), usize> {
    let mut m = StdMap::new();
    for idx in 0..lat.n_sites() {
        m.insert(round_pos(lat, lat.position_of(idx)), idx);
    }
    m
}

fn round_pos(lat: &Lattice, p: [f64; 3]) -> (i64, i64, i64) {
    let [lx, ly] = lat.box_lengths();
    let w = |x: f64, l: f64| {
        let r = x.rem_euclid(l);
        let r = if (l - r) < 1e-6 { 0.0 } else { r };
        (r * 1e4).round() as i64
    };
    (w(p[0], lx), w(p[1], ly), (p[2] * 1e4).round() as i64)
}

fn dir_to(lat: &Lattice, a: &SiteRef, b: usize) -> usize {
    lat.neighbors(a)
        .find(|(_, n)| n.idx == b)
        .expect("neighbours")
        .0
}

/// Random species (0 = empty, 1 or 2) on every site within 2.2 nearest-neighbour distances of
/// `a` or `b` (more than the key reads), except `a` (species 1) and `b` (empty).
fn random_env(st: &mut State, a: &SiteRef, b: &SiteRef, seed: u64) {
    let lat = st.lattice().clone();
    let mut rng = stream(seed, Stream::Engine);
    let (pa, pb) = (lat.position(a), lat.position(b));
    let r = 2.2 * lat.nn_distance();
    let [lx, ly] = lat.box_lengths();
    let d = |p: [f64; 3], q: [f64; 3]| {
        let mut dx = p[0] - q[0];
        let mut dy = p[1] - q[1];
        dx -= lx * (dx / lx).round();
        dy -= ly * (dy / ly).round();
        (dx * dx + dy * dy + (p[2] - q[2]).powi(2)).sqrt()
    };
    for idx in 0..lat.n_sites() {
        let p = lat.position_of(idx);
        if idx == b.idx || (d(p, pa) > r && d(p, pb) > r) {
            continue;
        }
        let s = lat.site_at(idx);
        let sp = if idx == a.idx {
            1
        } else {
            let u = uniform(&mut rng);
            if u < 0.45 {
                0
            } else if u < 0.8 {
                1
            } else {
                2
            }
        };
        if st.cell(idx).occupied() {
            st.remove(&s);
        }
        if sp > 0 {
            st.place(&s, sp);
        }
    }
}

/// Copies the atoms of `from` onto `to` through `x ↦ R (x − a1) + a2` (R a 2-D matrix acting on
/// x, y); returns false if some image is not a lattice site.
fn map_state(from: &State, to: &mut State, a1: [f64; 3], a2: [f64; 3], r: [[f64; 2]; 2]) -> bool {
    let lat = to.lattice().clone();
    let pm = position_map(&lat);
    for idx in 0..from.lattice().n_sites() {
        let sp = from.species(idx);
        if sp == 0 {
            continue;
        }
        let p = from.lattice().position_of(idx);
        let v = [p[0] - a1[0], p[1] - a1[1], p[2] - a1[2]];
        // Minimum image of the in-plane part, so the map acts on the neighbourhood of a1.
        let [lx, ly] = from.lattice().box_lengths();
        let v = [
            v[0] - lx * (v[0] / lx).round(),
            v[1] - ly * (v[1] / ly).round(),
            v[2],
        ];
        let q = [
            r[0][0] * v[0] + r[0][1] * v[1] + a2[0],
            r[1][0] * v[0] + r[1][1] * v[1] + a2[1],
            v[2] + a2[2],
        ];
        let Some(&j) = pm.get(&round_pos(&lat, q)) else {
            return false;
        };
        to.place(&lat.site_at(j), sp);
    }
    true
}

fn rot(deg: f64) -> [[f64; 2]; 2] {
    let (s, c) = deg.to_radians().sin_cos();
    [[c, -s], [s, c]]
}

fn mirror(deg: f64) -> [[f64; 2]; 2] {
    // Reflection across the line through the origin at angle `deg`.
    let (s, c) = (2.0 * deg).to_radians().sin_cos();
    [[c, s], [s, -c]]
}

#[test]
fn fcc_keys_read_the_first_two_shells_of_both_ends() {
    for kind in [
        LatticeKind::Fcc100,
        LatticeKind::Fcc111,
        LatticeKind::Fcc110,
    ] {
        let lat = Lattice::new(kind, 3.615, [8, 8], 16).unwrap();
        let keys = KeyTables::new(&lat, true).unwrap();
        // Second-neighbour distance of fcc: the lattice constant.
        assert!((keys.radius_a() - 3.615).abs() < 1e-9);
        for t in keys.types() {
            match t.kind {
                // 18 sites within a of each end, 12 within a of both; the ends excluded.
                EventKind::Hop => assert_eq!(t.env.len(), 26, "{kind:?}"),
                EventKind::Exchange => assert!(t.env.len() <= key::MAX_ENV_SITES),
            }
            // Every env site is within the radius of an end.
            let ends = match t.kind {
                EventKind::Hop => vec![t.points[0], t.points[1]],
                EventKind::Exchange => vec![t.points[0], t.points[2]],
            };
            for p in &t.env {
                let near = ends.iter().any(|e| {
                    ((p[0] - e[0]).powi(2) + (p[1] - e[1]).powi(2) + (p[2] - e[2]).powi(2)).sqrt()
                        < 3.615 + 1e-6
                });
                assert!(near);
            }
        }
        let hops = keys
            .types()
            .iter()
            .filter(|t| t.kind == EventKind::Hop)
            .count();
        // fcc(100) and fcc(111): in-layer, up, down. fcc(110) has more kinds of bonds across
        // and along the rows.
        match kind {
            LatticeKind::Fcc100 | LatticeKind::Fcc111 => assert_eq!(hops, 3, "{kind:?}"),
            _ => assert!(hops >= 3),
        }
    }
}

#[test]
fn symmetric_copies_share_a_key() {
    // Symmetry operations typed by hand here (the model derives its own numerically): the
    // point group of a surface site, C4v on fcc(100), C3v on fcc(111) (whose mirror lines are
    // perpendicular to the nearest-neighbour directions, which lie at 0°, 60°, 120° on this
    // grid).
    let cases: [(LatticeKind, Vec<[[f64; 2]; 2]>); 2] = [
        (
            LatticeKind::Fcc100,
            vec![
                rot(0.0),
                rot(90.0),
                rot(180.0),
                rot(270.0),
                mirror(0.0),
                mirror(45.0),
                mirror(90.0),
                mirror(135.0),
            ],
        ),
        (
            LatticeKind::Fcc111,
            vec![
                rot(0.0),
                rot(120.0),
                rot(240.0),
                mirror(30.0),
                mirror(90.0),
                mirror(150.0),
            ],
        ),
    ];
    for (kind, ops) in cases {
        let lat = Lattice::new(kind, 3.615, [10, 10], 18).unwrap();
        let mut spec = cu_spec();
        spec.exchange = true;
        let m = EamNeb::new(&spec, &["Cu".into(), "Ag".into()], &lat, 300.0);
        // Zhou04(["Cu"]) has no Ag: use a two-element potential.
        assert!(m.is_err());
        let spec = EamNebSpec::new(EamPotential::Zhou04(vec!["Cu".into(), "Ag".into()]));
        let m = EamNeb::new(&spec, &["Cu".into(), "Ag".into()], &lat, 300.0).unwrap();
        let (nx, ny) = lat.grid();
        let mut checked = 0;
        for seed in 0..6u64 {
            // A random hop of a random class.
            let a = lat.site(
                nx / 2,
                ny / 2 + (seed % 2) as usize,
                8 + (seed % 3) as usize,
            );
            let k = (seed as usize * 5) % lat.class_tables(a.class).neighbors.len();
            let b = lat
                .site_at_offset(&a, &lat.class_tables(a.class).neighbors[k])
                .unwrap();
            let mut st = State::new(lat.clone());
            random_env(&mut st, &a, &b, seed);
            let key = m.hop_key(&st, &a, k);
            for (oi, r) in ops.iter().enumerate() {
                // Image origin: another site (other class parity too) away from the first.
                let a2 = lat.site((nx / 2 + 3) % nx, (ny / 2 + 3 + oi % 2) % ny, 8 + (oi % 3));
                let mut st2 = State::new(lat.clone());
                let (pa, pa2) = (lat.position(&a), lat.position(&a2));
                assert!(map_state(&st, &mut st2, pa, pa2, *r), "{kind:?} op {oi}");
                // The image of b.
                let pb = lat.position(&b);
                let v = [pb[0] - pa[0], pb[1] - pa[1]];
                let q = [
                    r[0][0] * v[0] + r[0][1] * v[1] + pa2[0],
                    r[1][0] * v[0] + r[1][1] * v[1] + pa2[1],
                    pb[2] - pa[2] + pa2[2],
                ];
                let b2 = position_map(&lat)[&round_pos(&lat, q)];
                let k2 = dir_to(&lat, &a2, b2);
                assert_eq!(
                    m.hop_key(&st2, &a2, k2),
                    key,
                    "{kind:?} seed {seed} op {oi}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 6 * ops.len());
    }
}

#[test]
fn different_environments_give_different_keys() {
    let lat = Lattice::new(LatticeKind::Fcc100, 3.615, [8, 8], 18).unwrap();
    let spec = EamNebSpec::new(EamPotential::Zhou04(vec!["Cu".into(), "Ag".into()]));
    let m = EamNeb::new(&spec, &["Cu".into(), "Ag".into()], &lat, 300.0).unwrap();
    let a = lat.site(4, 8, 8);
    let t = lat.class_tables(a.class);
    let k = t.neighbors.iter().position(|o| o.dl == 0).unwrap();
    let b = lat.site_at_offset(&a, &t.neighbors[k]).unwrap();
    let mut st = State::new(lat.clone());
    random_env(&mut st, &a, &b, 11);
    let key = m.hop_key(&st, &a, k);
    let (pa, pb) = (lat.position(&a), lat.position(&b));
    let mut inside = 0;
    let mut outside = 0;
    for idx in 0..lat.n_sites() {
        if idx == a.idx || idx == b.idx {
            continue;
        }
        let p = lat.position_of(idx);
        let d = |q: [f64; 3]| {
            ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)).sqrt()
        };
        let within = d(pa).min(d(pb)) < 3.615 + 1e-6;
        if !within && d(pa) > 3.0 * 3.615 {
            continue;
        }
        // Flip the site's occupancy, and swap its species if occupied.
        let s = lat.site_at(idx);
        for change in 0..2 {
            let mut st2 = st.clone();
            let sp = st2.species(idx);
            match (sp, change) {
                (0, 0) => st2.place(&s, 1),
                (0, _) => continue,
                (_, 0) => {
                    st2.remove(&s);
                }
                (x, _) => st2.set_species(idx, 3 - x),
            }
            let key2 = m.hop_key(&st2, &a, k);
            if within {
                // A different atom count or composition: never a symmetric copy.
                assert_ne!(key2, key, "site {idx} inside the radius");
                inside += 1;
            } else {
                assert_eq!(key2, key, "site {idx} outside the radius");
                outside += 1;
            }
        }
    }
    assert!(inside >= 26 && outside > 50, "{inside} {outside}");
    // The mover's species is part of the key.
    let mut st2 = st.clone();
    st2.set_species(a.idx, 2);
    assert_ne!(m.hop_key(&st2, &a, k), key);
}

/// A flat Cu(100) substrate of `layers` layers on an 8 × 8 lattice.
fn cu100(layers: usize) -> State {
    let lat = Lattice::new(LatticeKind::Fcc100, 3.615, [6, 6], layers + 8).unwrap();
    let mut st = State::new(lat);
    st.fill_layers(layers, 1).unwrap();
    st
}

#[test]
fn reverse_key_from_the_slab_is_the_key_read_after_the_hop() {
    let mut st = cu100(4);
    let lat = st.lattice().clone();
    // An adatom dimer and a third atom nearby: hops with various environments.
    for (x, y) in [(2usize, 4usize), (3, 5), (3, 3)] {
        st.place(&lat.site(x, y, 4), 1);
    }
    let m = EamNeb::new(&cu_spec(), &["Cu".into()], &lat, 300.0).unwrap();
    let mut checked = 0;
    for (x, y) in [(2usize, 4usize), (3, 5), (3, 3)] {
        let a = lat.site(x, y, 4);
        for (k, o) in lat.class_tables(a.class).neighbors.iter().enumerate() {
            let b = lat.site_at_offset(&a, o).unwrap();
            if st.cell(b.idx).occupied() || st.coordination(b.idx) < 3 {
                continue;
            }
            let key = m.hop_key(&st, &a, k);
            let mut after = st.clone();
            after.remove(&a);
            after.place(&b, 1);
            let back = dir_to(&lat, &b, a.idx);
            let rev = m.hop_key(&after, &b, back);
            assert_eq!(m.calculator().reverse_key(&key).unwrap(), rev);
            assert_eq!(m.calculator().reverse_key(&rev).unwrap(), key);
            checked += 1;
        }
    }
    assert!(checked >= 8, "{checked}");
}

#[test]
fn rates_detailed_balance_and_cache_round_trip() {
    let dir = std::env::temp_dir().join(format!("kmc_eamneb_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cache = dir.join("cu.ron");
    let _ = std::fs::remove_file(&cache);
    let mut st = cu100(4);
    let lat = st.lattice().clone();
    st.place(&lat.site(2, 4, 4), 1);
    st.place(&lat.site(3, 5, 4), 1);
    let mut spec = cu_spec();
    spec.cache = Some(cache.to_string_lossy().into_owned());
    spec.slab = SlabSpec {
        size: Some((4, 4)),
        layers_below: 3,
        fixed_layers: 1,
    };
    let mut m = EamNeb::new(&spec, &["Cu".into()], &lat, 500.0).unwrap();
    // A second model without a cache: its barriers come from a fresh NEB, not from `m`'s map.
    let mut uncached_spec = spec.clone();
    uncached_spec.cache = None;
    let fresh = EamNeb::new(&uncached_spec, &["Cu".into()], &lat, 500.0).unwrap();
    let a = lat.site(3, 5, 4);
    let mut ev = Vec::new();
    m.site_events(&st, &a, &mut ev);
    assert!(!ev.is_empty());
    assert!((m.site_rate(&st, &a) - ev.iter().map(|e| e.1).sum::<f64>()).abs() < 1e-9);
    let kt = kt_ev(500.0);
    for (e, r) in &ev {
        let Event::Hop { to, dir, .. } = *e else {
            panic!("no exchange asked for")
        };
        let key = m.hop_key(&st, &a, dir as usize);
        let entry = m.entry(&key).unwrap();
        assert!(entry.status.is_event());
        // The rate against an independent computation: the barrier from a NEB run afresh for
        // this hop alone, and ν exp(−E/kT) with k_B written out (CODATA 2018), not `kt_ev`.
        // The cached entry may come from the reverse hop's band (a slab centred on the other
        // end), so the two barriers agree to the NEB's convergence, not to the bit: 0.1 meV,
        // i.e. 0.3 % in the rate at 500 K; a rate from another hop's entry or a wrong formula
        // fails unless its barrier happens to lie within 0.1 meV of this one.
        let independent = fresh.calculator().calculate(&key).unwrap().entry;
        assert_eq!(independent.status, entry.status);
        assert!(
            (independent.forward_ev - entry.forward_ev).abs() < 1e-4,
            "{} vs {}",
            independent.forward_ev,
            entry.forward_ev
        );
        let k_b_ev_per_k = 8.617_333_262e-5;
        let expected = 1e13 * (-independent.forward_ev / (k_b_ev_per_k * 500.0)).exp();
        assert!((r / expected - 1.0).abs() < 3e-3, "{r} vs {expected}");
        // The reverse hop's rate from the state after the hop.
        let b = lat.site_at(to);
        let mut after = st.clone();
        after.remove(&a);
        after.place(&b, 1);
        let mut back = Vec::new();
        m.site_events(&after, &b, &mut back);
        let (_, r_back) = back
            .iter()
            .find(|(e, _)| matches!(e, Event::Hop { to, .. } if *to == a.idx))
            .expect("the reverse hop exists");
        let rev = m.hop_key(&after, &b, dir_to(&lat, &b, a.idx));
        let rentry = m.entry(&rev).unwrap();
        // The same band gives both barriers: bit-identical, and E_fwd − E_rev is ΔE.
        assert_eq!(rentry.forward_ev, entry.reverse_ev);
        assert_eq!(rentry.reverse_ev, entry.forward_ev);
        let de = entry.forward_ev - entry.reverse_ev;
        assert!((r / r_back - (-de / kt).exp()).abs() < 1e-9 * (r / r_back));
    }
    let n = m.len();
    assert!(m.new_entries() == n && n >= ev.len());
    let (path, written) = m.save().unwrap().unwrap();
    assert_eq!((path, written), (cache.clone(), n));
    // Reload: same entries, bit for bit, and nothing to compute.
    let mut m2 = EamNeb::new(&spec, &["Cu".into()], &lat, 500.0).unwrap();
    assert_eq!((m2.len(), m2.new_entries()), (n, 0));
    for (k, v) in &m.map {
        let e2 = m2.entry(k).unwrap();
        assert_eq!(e2.status, v.entry.status);
        assert_eq!(e2.forward_ev.to_bits(), v.entry.forward_ev.to_bits());
    }
    let mut ev2 = Vec::new();
    m2.site_events(&st, &a, &mut ev2);
    assert_eq!(ev, ev2);
    assert_eq!(m2.stats().pairs_computed, 0);
    // Other settings: the file is refused with its path and field.
    let mut other = spec.clone();
    other.neb.images = 7;
    let err = EamNeb::new(&other, &["Cu".into()], &lat, 500.0)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cu.ron") && err.contains("settings") && err.contains("images"),
        "{err}"
    );
    // The header names the slab every entry came from (issue 17).
    let text = std::fs::read_to_string(&cache).unwrap();
    assert!(
        text.contains(
            "// Every entry was computed on one slab: 4 × 4 cells, 3 substrate layers below the \
             event (the bottom 1 fixed), end states relaxed to 0.0001 eV/Å (2-norm), CI-NEB to \
             0.01 eV/Å."
        ),
        "{}",
        &text[..text.find("settings").unwrap()]
    );
    // A cache of the previous format (per-atom end-state tolerance, thinner default slab) is
    // refused at its `format` field with how to rebuild it, not read as if it were current.
    std::fs::write(&cache, text.replacen("format: 3,", "format: 2,", 1)).unwrap();
    let err = EamNeb::new(&spec, &["Cu".into()], &lat, 500.0)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cu.ron")
            && err.contains("format")
            && err.contains("older kmc")
            && err.contains("kmc rates build"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bcc110_keys_derive_and_hcp_is_refused_at_the_lattice_kind() {
    // BCC(110) goes through the numerical derivation like the cubic surfaces: in-layer hops
    // and hops up and down exist, and every key fits.
    let lat = Lattice::new(LatticeKind::Bcc110, 3.165, [8, 8], 16).unwrap();
    let keys = KeyTables::new(&lat, false).unwrap();
    // Second-neighbour distance of bcc: the lattice constant.
    assert!((keys.radius_a() - 3.165).abs() < 1e-9);
    let hops = keys.types().iter().filter(|t| t.kind == EventKind::Hop);
    assert!(hops.count() >= 2);
    // HCP is refused, with the field and the models that do support it named.
    let lat = Lattice::with_c_over_a(LatticeKind::Hcp0001, 2.512, Some(1.622), [8, 8], 16).unwrap();
    let spec = EamNebSpec::new(EamPotential::Zhou04(vec!["Co".into()]));
    let Err(e) = EamNeb::new(&spec, &["Co".into()], &lat, 300.0) else {
        panic!("EamNeb accepted Hcp0001");
    };
    let e = e.to_string();
    assert!(
        e.contains("lattice.kind") && e.contains("Hcp0001") && e.contains("BondCounting"),
        "{e}"
    );
}

/// The memo's site signature is a function of the environment alone (issue 17 rewrote its
/// gather): the same environment read in the interior (direct window) and across a periodic
/// edge (wrapped reads) gives the same signature; changing any one site the rate reads
/// changes it; and a rate or event list answered from the memos equals the one computed from
/// the keys. The barriers are a fixed function of the key put in the map, so no NEB runs.
#[test]
fn signatures_agree_across_the_periodic_edge_and_memo_rates_are_exact() {
    let lat = Lattice::new(LatticeKind::Fcc100, 3.615, [16, 16], 14).unwrap();
    let (nx, ny) = lat.grid();
    let mut st = State::new(lat.clone());
    st.fill_layers(5, 1).unwrap();
    let mut rng = stream(11, Stream::Engine);
    for idx in 4 * lat.layer_size()..7 * lat.layer_size() {
        let s = lat.site_at(idx);
        let u = uniform(&mut rng);
        match s.l {
            4 if u < 0.05 => {
                st.remove(&s);
            }
            5 if u < 0.35 => st.place(&s, 1),
            6 if u < 0.1 => st.place(&s, 1),
            _ => {}
        }
    }
    // The same film translated by (tx, ty) sites: atoms near the middle land near an edge.
    let (tx, ty) = (nx / 2, 4);
    let shift = |s: &SiteRef| {
        lat.site(
            (s.x as usize + tx) % nx,
            (s.y as usize + ty) % ny,
            s.l as usize,
        )
    };
    let mut moved = State::new(lat.clone());
    for idx in 0..lat.n_sites() {
        let s = lat.site_at(idx);
        if st.cell(idx).occupied() {
            moved.place(&shift(&s), st.species(idx));
        }
    }
    let mut m = EamNeb::new(&cu_spec(), &["Cu".into()], &lat, 300.0).unwrap();
    assert_eq!(m.sig_reads.len(), lat.n_classes(), "signatures are on");
    // Also where a layer holds more than 2^16 sites (the L = 256 benchmark lost its memo to
    // 16-bit window positions once).
    let wide = Lattice::new(LatticeKind::Fcc100, 3.615, [256, 256], 16).unwrap();
    assert!(wide.layer_size() > 1 << 16);
    let mw = EamNeb::new(&cu_spec(), &["Cu".into()], &wide, 300.0).unwrap();
    assert_eq!(
        mw.sig_reads.len(),
        wide.n_classes(),
        "signatures on the wide lattice"
    );
    let (mut interior, mut edge) = (0, 0);
    for idx in 0..lat.n_sites() {
        let a = lat.site_at(idx);
        let b = shift(&a);
        assert_eq!(a.class, b.class);
        let (Some(sa), Some(sb)) = (m.signature(&st, &a), m.signature(&moved, &b)) else {
            continue;
        };
        assert_eq!(sa, sb, "site {a:?} and its translate {b:?}");
        let near = |s: &SiteRef| {
            let (x, y) = (s.x as usize, s.y as usize);
            x < m.sig_margin[0]
                || x + m.sig_margin[0] >= nx
                || y < m.sig_margin[1]
                || y + m.sig_margin[1] >= ny
        };
        match (near(&a), near(&b)) {
            (false, true) | (true, false) => edge += 1,
            (false, false) => interior += 1,
            _ => {}
        }
    }
    assert!(
        edge > 100 && interior > 100,
        "{edge} edge, {interior} interior pairs"
    );
    // Every read matters: flipping one read site changes the signature.
    let a = lat.site(8, 8, 5);
    let base = m.signature(&st, &a).unwrap();
    let reads = m.sig_reads[a.class as usize].clone();
    for o in reads.iter().filter(|o| o.delta != 0) {
        let j = lat.site_at_offset(&a, o).unwrap();
        let mut flipped = st.clone();
        if flipped.cell(j.idx).occupied() {
            flipped.remove(&j);
        } else {
            flipped.place(&j, 1);
        }
        assert_ne!(m.signature(&flipped, &a), Some(base), "read {o:?}");
    }
    // Memo against direct sums, with barriers a fixed function of the key.
    let barrier =
        |k: &EnvKey| 0.3 + 0.6 * ((k.env.wrapping_mul(0x9E37_79B9) >> 7) % 1000) as f64 / 1000.0;
    let mut checked = 0;
    for state in [&st, &moved] {
        for idx in 0..lat.n_sites() {
            let a = lat.site_at(idx);
            let mut keys = Vec::new();
            m.for_each_event(state, &a, |_, k| keys.push(k));
            for k in keys {
                let e = barrier(&k);
                m.insert(
                    k,
                    Entry {
                        status: Status::Ok,
                        forward_ev: e,
                        reverse_ev: e,
                        neb_steps: 0,
                    },
                );
            }
            let memo_first = m.site_rate(state, &a);
            let memo_again = m.site_rate(state, &a);
            let direct = m.site_rate_direct(state, &a);
            assert_eq!(memo_again.to_bits(), direct.to_bits(), "{a:?}");
            assert_eq!(memo_first.to_bits(), direct.to_bits(), "{a:?}");
            // The events too: computed, then replayed from the event memo (for `moved`, often
            // from an entry the untranslated film made, across the edge).
            let (mut first, mut again, mut fresh) = (Vec::new(), Vec::new(), Vec::new());
            m.site_events(state, &a, &mut first);
            m.site_events(state, &a, &mut again);
            m.site_events_direct(state, &a, &mut fresh);
            assert_eq!(first, fresh, "{a:?}");
            assert_eq!(again, fresh, "{a:?}");
            checked += (direct > 0.0) as usize;
        }
    }
    assert!(
        m.stats().memo_hits > 100 && checked > 100,
        "{:?}, {checked}",
        m.stats()
    );
    assert_eq!(m.stats().pairs_computed, 0);
}
