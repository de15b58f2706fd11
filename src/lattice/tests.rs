use super::*;

fn min_image_dist(lat: &Lattice, a: [f64; 3], b: [f64; 3]) -> f64 {
    let [lx, ly] = lat.box_lengths();
    let mut dx = b[0] - a[0];
    let mut dy = b[1] - a[1];
    dx -= lx * (dx / lx).round();
    dy -= ly * (dy / ly).round();
    (dx * dx + dy * dy + (b[2] - a[2]).powi(2)).sqrt()
}

fn all_kinds() -> Vec<Lattice> {
    LatticeKind::ALL
        .iter()
        .map(|&k| Lattice::new(k, 3.615, [12, 12], 16).unwrap())
        .collect()
}

#[test]
fn neighbours_are_at_the_nearest_neighbour_distance_everywhere() {
    for lat in all_kinds() {
        let expected = match lat.kind() {
            LatticeKind::Fcc100
            | LatticeKind::Fcc111
            | LatticeKind::Fcc110
            | LatticeKind::Hcp0001 => 12,
            LatticeKind::Bcc100 | LatticeKind::Bcc110 => 8,
            LatticeKind::Sc100 | LatticeKind::Triangular => 6,
            LatticeKind::Square => 4,
        };
        for idx in 0..lat.n_sites() {
            let s = lat.site_at(idx);
            let p = lat.position(&s);
            let mut n = 0;
            for (_, t) in lat.neighbors(&s) {
                let d = min_image_dist(&lat, p, lat.position(&t));
                assert!(
                    (d - lat.nn_distance()).abs() < 1e-9,
                    "{:?} site {idx}: d = {d}",
                    lat.kind()
                );
                // The fast path agrees with the wrapped path.
                n += 1;
            }
            let top_or_bottom =
                !lat.kind().is_2d() && ((s.l as usize) < 2 || s.l as usize + 2 >= lat.layers());
            if !top_or_bottom {
                assert_eq!(n, expected, "{:?} site {idx}", lat.kind());
            }
        }
    }
}

#[test]
fn neighbour_relation_is_symmetric_and_fast_path_matches() {
    for lat in all_kinds() {
        for idx in (0..lat.n_sites()).step_by(7) {
            let s = lat.site_at(idx);
            let t = lat.class_tables(s.class);
            for (k, o) in t.neighbors.iter().enumerate() {
                let Some(n) = lat.site_at_offset(&s, o) else {
                    continue;
                };
                assert_eq!(lat.index_at(&s, o), Some(n.idx));
                assert_eq!(n.class, t.neighbor_class[k]);
                let back = lat.neighbors(&n).any(|(_, m)| m.idx == s.idx);
                assert!(back, "{:?}: {idx} -> {} not symmetric", lat.kind(), n.idx);
            }
        }
    }
}

#[test]
fn shell_sizes_follow_the_coordination_sequences() {
    // Cumulative coordination sequences (number of sites within r nearest-neighbour steps) of the
    // bulk lattices: fcc 1, 12, 42, 92, 162; bcc 1, 8, 26, 56, 98; sc 1, 6, 18, 38, 66; square
    // 1, 4, 8, 12, 16; triangular 1, 6, 12, 18, 24; hcp 1, 12, 44, 96, 170 (OEIS A005901,
    // A005897, A005899, A008574, A008458, A007899).
    let seqs: [(LatticeKind, [usize; 5]); 9] = [
        (LatticeKind::Fcc100, [1, 13, 55, 147, 309]),
        (LatticeKind::Fcc111, [1, 13, 55, 147, 309]),
        (LatticeKind::Fcc110, [1, 13, 55, 147, 309]),
        (LatticeKind::Bcc100, [1, 9, 35, 91, 189]),
        (LatticeKind::Sc100, [1, 7, 25, 63, 129]),
        (LatticeKind::Square, [1, 5, 13, 25, 41]),
        (LatticeKind::Triangular, [1, 7, 19, 37, 61]),
        (LatticeKind::Bcc110, [1, 9, 35, 91, 189]),
        (LatticeKind::Hcp0001, [1, 13, 57, 153, 323]),
    ];
    for (kind, seq) in seqs {
        let lat = Lattice::new(kind, 3.0, [16, 16], 24).unwrap();
        for c in 0..lat.n_classes() {
            let t = lat.class_tables(c as u8);
            for (r, &n) in seq.iter().enumerate() {
                assert_eq!(t.shells[r].len(), n, "{kind:?} class {c} r {r}");
            }
        }
    }
}

#[test]
fn fcc_hop_geometry_and_the_reference_invalidation_count() {
    // Two nearest neighbours in fcc share 4 neighbours; each has 7 of its own. The sites within
    // three steps of either end of a hop number 184 (tests/data/reference/bench_fcc100.md).
    for kind in [
        LatticeKind::Fcc100,
        LatticeKind::Fcc111,
        LatticeKind::Fcc110,
    ] {
        let lat = Lattice::new(kind, 3.615, [16, 16], 24).unwrap();
        for c in 0..lat.n_classes() {
            let t = lat.class_tables(c as u8);
            for (k, h) in t.hops.iter().enumerate() {
                assert_eq!(
                    (h.only_from.len(), h.common.len(), h.only_to.len()),
                    (7, 4, 7)
                );
                assert_eq!(t.hop_shells[3][k].len(), 184, "{kind:?} class {c} dir {k}");
            }
        }
    }
}

#[test]
fn bcc_hop_geometry_and_hcp_hop_geometry() {
    // bcc: two nearest neighbours share no neighbour (their second neighbours are a apart);
    // hcp is close-packed like fcc: every bond has 4 common neighbours, 7 on each side.
    for (kind, want) in [
        (LatticeKind::Bcc100, (7, 0, 7)),
        (LatticeKind::Bcc110, (7, 0, 7)),
        (LatticeKind::Hcp0001, (7, 4, 7)),
    ] {
        let lat = Lattice::new(kind, 3.0, [16, 16], 24).unwrap();
        for c in 0..lat.n_classes() {
            for h in &lat.class_tables(c as u8).hops {
                let got = (h.only_from.len(), h.common.len(), h.only_to.len());
                assert_eq!(got, want, "{kind:?} class {c}");
            }
        }
    }
}

#[test]
fn bcc110_sites_are_the_bcc_points_of_the_110_frame() {
    // In the crystal frame x = [001], y = [1-10]/√2, z = [110]/√2, a bcc point has cubic
    // coordinates all integer or all half-integer (units of a), and the (110) layers lie
    // a/√2 apart: checked for every site against that analytic description.
    let a = 3.165;
    let lat = Lattice::new(LatticeKind::Bcc110, a, [6, 4], 8).unwrap();
    assert_eq!(lat.grid(), (6, 8));
    assert!((lat.layer_spacing() - a / 2f64.sqrt()).abs() < 1e-12);
    assert!((lat.nn_distance() - a * 3f64.sqrt() / 2.0).abs() < 1e-12);
    let s2 = 2f64.sqrt();
    for idx in 0..lat.n_sites() {
        let p = lat.position_of(idx);
        // Back to cubic axes: [100] = (y + z)/√2 components, [010] = (z − y)/√2, [001] = x.
        let cubic = [(p[1] + p[2]) / s2, (p[2] - p[1]) / s2, p[0]].map(|c| 2.0 * c / a);
        let r = cubic.map(|c| c.round());
        assert!(cubic.iter().zip(&r).all(|(c, r)| (c - r).abs() < 1e-9));
        let parity = r.map(|v| (v as i64).rem_euclid(2));
        assert!(
            parity.iter().all(|&q| q == parity[0]),
            "site {idx}: {cubic:?}"
        );
    }
    // ABAB: layers l and l + 2 coincide laterally, layer l + 1 is shifted by (a/2, 0).
    for l in 0..6 {
        let (p, q, r) = (
            lat.grid_position(0, 0, l),
            lat.grid_position(0, 0, l + 1),
            lat.grid_position(0, 0, l + 2),
        );
        assert!((r[0] - p[0]).abs() < 1e-12 && (r[1] - p[1]).abs() < 1e-12);
        let dx = (q[0] - p[0]).rem_euclid(a);
        assert!((dx - a / 2.0).abs() < 1e-12 && (q[1] - p[1]).abs() < 1e-12);
    }
    // Four neighbours in the layer, two in each adjacent one.
    for c in 0..lat.n_classes() {
        let n = &lat.class_tables(c as u8).neighbors;
        let count = |dl: i32| n.iter().filter(|o| o.dl == dl).count();
        assert_eq!((count(-1), count(0), count(1)), (2, 4, 2), "class {c}");
    }
}

#[test]
fn hcp0001_stacks_abab_with_its_c_over_a() {
    // Co of the Zhou 2004 EAM as LAMMPS relaxes it (tests/data/zhou04/bulk_lammps.csv):
    // a = 2.512025 Å, c = 4.075253 Å. Twelve neighbours: six in the layer at a, three in each
    // adjacent layer at a·√(1/3 + (c/a)²/4); layers c/2 apart; B over the hollows of A.
    let (a, c) = (2.512025, 4.075253);
    let q = c / a;
    let lat = Lattice::with_c_over_a(LatticeKind::Hcp0001, a, Some(q), [8, 8], 10).unwrap();
    assert_eq!(lat.c_over_a(), Some(q));
    assert!((lat.layer_spacing() - c / 2.0).abs() < 1e-12);
    let inter = a * (1.0 / 3.0 + q * q / 4.0).sqrt();
    assert_eq!(lat.nn_shell(), (inter.min(a), inter.max(a)));
    for idx in 0..lat.n_sites() {
        let s = lat.site_at(idx);
        if s.l == 0 || s.l as usize + 1 == lat.layers() {
            continue;
        }
        let p = lat.position(&s);
        let mut by_dl = [0; 3];
        for (_, t) in lat.neighbors(&s) {
            let d = min_image_dist(&lat, p, lat.position(&t));
            let dl = t.l as i64 - s.l as i64;
            let want = if dl == 0 { a } else { inter };
            assert!((d - want).abs() < 1e-9, "site {idx}: d = {d}, want {want}");
            by_dl[(dl + 1) as usize] += 1;
        }
        assert_eq!(by_dl, [3, 6, 3], "site {idx}");
    }
    // Layers l and l + 2 coincide laterally; layer l + 1 sits at (a/2, a/(2√3)) from layer l,
    // the centre of a triangle of layer-l atoms (at a/√3 from three of them).
    let t = a / 3f64.sqrt();
    for l in 0..6 {
        let (p0, p1, p2) = (
            lat.grid_position(0, 0, l),
            lat.grid_position(0, 0, l + 1),
            lat.grid_position(0, 0, l + 2),
        );
        assert!((p2[0] - p0[0]).abs() < 1e-12 && (p2[1] - p0[1]).abs() < 1e-12);
        let lateral = |x: i64, y: i64| {
            let r = lat.grid_position(x, y, l);
            ((r[0] - p1[0]).powi(2) + (r[1] - p1[1]).powi(2)).sqrt()
        };
        let mut d: Vec<f64> = (-2..=2)
            .flat_map(|y| (-2..=2).map(move |x| (x, y)))
            .map(|(x, y)| lateral(x, y))
            .collect();
        d.sort_by(f64::total_cmp);
        assert!(
            d[..3].iter().all(|v| (v - t).abs() < 1e-9) && d[3] > t + 0.1,
            "{d:?}"
        );
    }
}

#[test]
fn c_over_a_belongs_to_hcp_and_is_bounded() {
    let e = Lattice::with_c_over_a(LatticeKind::Bcc110, 3.1, Some(1.6), [8, 8], 8)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("lattice.c_over_a") && e.contains("only Hcp0001"),
        "{e}"
    );
    for q in [1.0, 2.5, f64::NAN, f64::INFINITY] {
        let e = Lattice::with_c_over_a(LatticeKind::Hcp0001, 3.2, Some(q), [8, 8], 8)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("lattice.c_over_a") && e.contains("between 1.4 and 2"),
            "{e}"
        );
    }
    // Absent, the ideal ratio; a resized lattice keeps the ratio it was built with.
    let ideal = Lattice::new(LatticeKind::Hcp0001, 3.2, [8, 8], 8).unwrap();
    assert_eq!(ideal.c_over_a(), Some(IDEAL_C_OVER_A));
    assert_eq!(ideal.nn_shell(), (3.2, 3.2));
    let co = Lattice::with_c_over_a(LatticeKind::Hcp0001, 2.5, Some(1.62), [8, 8], 8).unwrap();
    let big = co.resized([12, 10], 20).unwrap();
    assert!(big.same_crystal(&co) && !big.same_crystal(&ideal));
    assert_eq!((big.c_over_a(), big.size()), (Some(1.62), [12, 10]));
    assert_eq!(
        Lattice::new(LatticeKind::Bcc110, 3.1, [5, 3], 8)
            .unwrap()
            .size(),
        [5, 3]
    );
    // Odd row counts cannot wrap the shifted rows of a triangular layer.
    let e = Lattice::new(LatticeKind::Hcp0001, 3.2, [8, 7], 8)
        .unwrap_err()
        .to_string();
    assert!(e.contains("lattice.size") && e.contains("even"), "{e}");
}

#[test]
fn positions_are_distinct_with_the_right_density() {
    for lat in all_kinds() {
        let [lx, ly] = lat.box_lengths();
        let area_per_site = lx * ly / lat.layer_size() as f64;
        let a = lat.lattice_constant();
        let expected = match lat.kind() {
            LatticeKind::Fcc100 => a * a / 2.0,
            LatticeKind::Fcc111 | LatticeKind::Triangular => {
                let d = lat.nn_distance();
                d * d * 3f64.sqrt() / 2.0
            }
            LatticeKind::Fcc110 | LatticeKind::Bcc110 => a * a / 2f64.sqrt(),
            LatticeKind::Hcp0001 => a * a * 3f64.sqrt() / 2.0,
            _ => a * a,
        };
        assert!((area_per_site - expected).abs() < 1e-9, "{:?}", lat.kind());
        // Volume per site: a³/4 (fcc), a³/2 (bcc), a³ (sc), √3 a² c / 4 (hcp; ideal c here).
        if !lat.kind().is_2d() {
            let v = area_per_site * lat.layer_spacing();
            let ev = match lat.kind() {
                LatticeKind::Bcc100 | LatticeKind::Bcc110 => a * a * a / 2.0,
                LatticeKind::Hcp0001 => 3f64.sqrt() * a * a * (IDEAL_C_OVER_A * a) / 4.0,
                LatticeKind::Sc100 => a * a * a,
                _ => a * a * a / 4.0,
            };
            assert!((v - ev).abs() < 1e-9, "{:?}", lat.kind());
        }
        let mut keys: Vec<_> = (0..lat.n_sites())
            .map(|i| lat.position_of(i).map(|c| (c * 1e6).round() as i64))
            .collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), lat.n_sites(), "{:?}", lat.kind());
    }
}

#[test]
fn nearest_in_layer_finds_the_site_itself_and_is_nearest() {
    for lat in all_kinds() {
        let layer = if lat.kind().is_2d() { 0 } else { 3 };
        let (nx, ny) = lat.grid();
        for y in 0..ny {
            for x in 0..nx {
                let s = lat.site(x, y, layer);
                let p = lat.position(&s);
                assert_eq!(lat.nearest_in_layer(p[0], p[1], layer).idx, s.idx);
            }
        }
        // Random points: no site of the layer is nearer than the one returned.
        let [lx, ly] = lat.box_lengths();
        for i in 0..50 {
            let px = lx * ((i as f64 * 0.618_033_988_7) % 1.0);
            let py = ly * ((i as f64 * 0.414_213_562_4) % 1.0);
            let s = lat.nearest_in_layer(px, py, layer);
            let z = lat.position(&s)[2];
            let d = min_image_dist(&lat, [px, py, z], lat.position(&s));
            for yy in 0..ny {
                for xx in 0..nx {
                    let q = lat.position(&lat.site(xx, yy, layer));
                    assert!(min_image_dist(&lat, [px, py, z], q) >= d - 1e-9);
                }
            }
        }
    }
}

#[test]
fn too_small_or_malformed_lattices_are_errors() {
    assert!(Lattice::new(LatticeKind::Fcc100, 3.6, [1, 1], 8).is_err());
    assert!(Lattice::new(LatticeKind::Fcc111, 3.6, [8, 7], 8).is_err());
    assert!(Lattice::new(LatticeKind::Fcc100, -1.0, [8, 8], 8).is_err());
    assert!(Lattice::new(LatticeKind::Fcc100, f64::NAN, [8, 8], 8).is_err());
    // Issue 16: these panicked in the geometry ("0 neighbours") or overflowed the site count.
    for a in [1e300, 1e200, 1e-300, 0.49, 20.5] {
        let e = Lattice::new(LatticeKind::Fcc100, a, [8, 8], 8)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lattice.lattice_constant_a") && e.contains("between 0.5 and 20"));
    }
    for kind in LatticeKind::ALL {
        assert!(
            Lattice::new(kind, 0.5, [8, 8], 8).is_ok()
                && Lattice::new(kind, 20.0, [8, 8], 8).is_ok()
        );
    }
    let e = Lattice::new(LatticeKind::Fcc100, 3.6, [usize::MAX, usize::MAX], 8).unwrap_err();
    assert!(
        e.to_string()
            .contains("more sites per layer than can be counted"),
        "{e}"
    );
    let e = Lattice::new(LatticeKind::Sc100, 3.0, [2, 8], 8)
        .unwrap_err()
        .to_string();
    assert!(e.contains("lattice.size") && e.contains("too small"), "{e}");
}

#[test]
fn growing_keeps_indices() {
    let mut lat = Lattice::new(LatticeKind::Fcc100, 3.615, [8, 8], 10).unwrap();
    let p = lat.position_of(1234);
    lat.grow(5);
    assert_eq!(lat.layers(), 15);
    assert_eq!(lat.position_of(1234), p);
}
