//! The `BarrierTable` rate model: table files, key geometry, published numbers, engine run.
// Symmetry checks index a table by two neighbour counts at once.
#![allow(clippy::needless_range_loop)]

use kmc::catalog::Event;
use kmc::deposit::{AtomDeposition, AtomDepositionSpec, Landing};
use kmc::engine::{Engine, Source, Step};
use kmc::lattice::{Lattice, LatticeKind, SiteRef};
use kmc::rates::{
    AnyRateModel, BarrierTable, BarrierTableFile, BarrierTableSpec, IN_PLANE_KEYS, INTERLAYER_N,
    KEY_SITES, RateModel, RateModelSpec, load_barrier_table, mirror_mask, reverse_mask,
};
use kmc::rng::{KmcRng, rng_from_seed, uniform};
use kmc::sampler::RateSampler;
use kmc::state::State;
use kmc::units::{arrhenius, kt_ev};
use std::path::{Path, PathBuf};

const SHIPPED: &str = "rates/fcc100_zhou04.ron";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shipped() -> BarrierTableFile {
    load_barrier_table(root().join(SHIPPED)).expect("shipped table loads")
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A Cu(100) slab: `layers` full substrate layers, room above.
fn slab(size: usize, layers: usize) -> State {
    let lat = Lattice::new(LatticeKind::Fcc100, 3.615, [size, size], layers + 8).unwrap();
    let mut st = State::new(lat);
    st.fill_layers(layers, 1).unwrap();
    st
}

#[test]
fn shipped_table_loads_with_three_metals_and_full_coverage() {
    let t = shipped();
    assert_eq!(t.lattice, LatticeKind::Fcc100);
    assert!(t.source.contains("Zhou") && t.source.contains("Mehl"));
    for sp in ["Cu", "Ag", "Au"] {
        let b = &t.species[sp];
        assert_eq!(b.in_plane_ev.len(), IN_PLANE_KEYS);
        assert!(b.in_plane_ev.iter().all(|e| e.is_finite() && *e >= 0.0));
        assert_eq!(b.prefactor_hz, 1e13);
    }
    // The file states its source in a comment at the top, as every table must.
    let text = std::fs::read_to_string(root().join(SHIPPED)).unwrap();
    assert!(text.starts_with("//") && text.contains("Source: calculation"));
}

/// Mirror images across the hop axis are the same physical configuration: equal barriers.
#[test]
fn shipped_in_plane_barriers_are_mirror_symmetric() {
    let t = shipped();
    for (sp, b) in &t.species {
        for m in 0..IN_PLANE_KEYS {
            let (e, em) = (b.in_plane_ev[m], b.in_plane_ev[mirror_mask(m)]);
            assert!((e - em).abs() < 1e-9, "{sp} {m:#012b}: {e} vs {em}");
        }
    }
}

/// Forward and reverse barriers of a terrace hop differ by the hop's energy change. The shipped
/// table takes both from one EAM path; the energy changes must follow in-layer bond counting
/// (nearest and next-nearest pairs) closely, which is what makes cycles that mix terrace and
/// interlayer hops nearly balanced.
///
/// A pinned regression, not a statistical test (the table is deterministic): the least-squares
/// bonds must be the ones the table's header comments state (eps1, eps2 and the RMS residual,
/// printed to 1e-4 eV; ±1.5 meV allows for their rounding and for the header's fit having been
/// made on unrounded barriers: measured differences up to 1.0 meV), because scenarios copy them: two_au_particles.ron and
/// agau_sintering.ron use Au-Au 0.339 and Ag-Ag 0.309 eV. A regenerated table with other
/// energetics fails here until its header and those scenarios are updated.
#[test]
fn shipped_terrace_hops_follow_the_stated_bond_counting_fit_pinned() {
    let t = shipped();
    let counts = |m: usize, c: (i32, i32)| {
        let (mut n1, mut n2) = (0.0, 0.0);
        for (i, &(u, v)) in KEY_SITES.iter().enumerate() {
            if m >> i & 1 == 1 {
                let (du, dv) = ((u - c.0).abs(), (v - c.1).abs());
                if du + dv == 1 {
                    n1 += 1.0;
                } else if du == 1 && dv == 1 {
                    n2 += 1.0;
                }
            }
        }
        (n1, n2)
    };
    for (sp, b) in &t.species {
        // Least squares of dE = E_fwd - E_rev against -(eps1 dn1 + eps2 dn2).
        let (mut a11, mut a12, mut a22, mut r1, mut r2) = (0.0, 0.0, 0.0, 0.0, 0.0);
        let mut rows = Vec::new();
        for m in 0..IN_PLANE_KEYS {
            let de = b.in_plane_ev[m] - b.in_plane_ev[reverse_mask(m)];
            let (b1, b2) = counts(m, (0, 0));
            let (j1, j2) = counts(m, (1, 0));
            let (x1, x2) = (b1 - j1, b2 - j2);
            a11 += x1 * x1;
            a12 += x1 * x2;
            a22 += x2 * x2;
            r1 += x1 * de;
            r2 += x2 * de;
            rows.push((x1, x2, de));
        }
        let det = a11 * a22 - a12 * a12;
        let e1 = (r1 * a22 - r2 * a12) / det;
        let e2 = (a11 * r2 - a12 * r1) / det;
        let rms = (rows
            .iter()
            .map(|(x1, x2, de)| (de - e1 * x1 - e2 * x2).powi(2))
            .sum::<f64>()
            / rows.len() as f64)
            .sqrt();
        // (eps1, eps2, RMS residual) from the table's header, eV.
        let stated = match sp.as_str() {
            "Cu" => (0.3523, 0.0804, 0.0238),
            "Ag" => (0.3091, 0.0416, 0.0150),
            "Au" => (0.3390, 0.0001, 0.0329),
            other => panic!("no stated fit for {other}"),
        };
        eprintln!("{sp}: eps1 {e1:.4} eV, eps2 {e2:.4} eV, RMS {rms:.4} eV; stated {stated:?}");
        for (what, got, want) in [
            ("eps1", e1, stated.0),
            ("eps2", e2, stated.1),
            ("RMS residual", rms, stated.2),
        ] {
            assert!(
                (got - want).abs() < 1.5e-3,
                "{sp}: {what} {got} vs stated {want}"
            );
        }
    }
}

/// Interlayer entries are of Metropolis form: E(a, b) - E(b, a) = eps (a - b), so interlayer
/// hops obey detailed balance exactly with respect to H = -eps * bonds.
#[test]
fn shipped_interlayer_entries_obey_detailed_balance() {
    let t = shipped();
    for (sp, b) in &t.species {
        let e = &b.interlayer_ev;
        let eps = e[1][0] - e[0][1];
        assert!(eps > 0.0, "{sp}");
        for a in 0..INTERLAYER_N {
            for c in 0..INTERLAYER_N {
                let d = e[a][c] - e[c][a] - eps * (a as f64 - c as f64);
                // Entries are printed to 1e-4 eV.
                assert!(d.abs() < 2e-4, "{sp} ({a}, {c}): off by {d}");
            }
        }
    }
}

/// An isolated adatom on a flat terrace has exactly its four terrace hops, each at
/// ν exp(−E_0/kT) with E_0 the table's monomer barrier.
#[test]
fn isolated_adatom_hops_at_the_monomer_rate() {
    let t = shipped();
    let temperature = 300.0;
    let mut st = slab(8, 4);
    let mut m = BarrierTable::from_table(&t, &names(&["Cu"]), st.lattice(), temperature).unwrap();
    let b = st.lattice().site(3, 6, 4);
    st.place(&b, 1);
    let mut ev = Vec::new();
    m.site_events(&st, &b, &mut ev);
    let e0 = t.species["Cu"].monomer_barrier_ev();
    let r0 = arrhenius(1e13, e0, temperature);
    assert_eq!(ev.len(), 4, "{ev:?}");
    for (e, r) in &ev {
        let Event::Hop { to, .. } = e else {
            panic!("{e:?}")
        };
        assert_eq!(st.lattice().site_at(*to).l, 4);
        assert!((r - r0).abs() <= 1e-12 * r0, "{r} vs {r0}");
    }
    assert!((m.site_rate(&st, &b) - 4.0 * r0).abs() <= 1e-12 * r0);
}

/// The table's monomer barriers are the potential's own, checked against an independent
/// computation: the table came from LAMMPS drag-method paths on an 8 × 8 slab of 5 layers, the
/// bottom one fixed (examples/fcc100_barriers.py); kmc's EamNeb model runs its own FIRE +
/// climbing-image NEB on the same slab (its default is thicker, which moves Au by 7 meV). Not
/// statistical: the tolerance of 3 meV is the method difference; a table entry off by one
/// lateral bond (~0.3 eV) or taken from another potential fails.
#[test]
fn shipped_monomer_barriers_match_an_independent_eam_neb() {
    use kmc::rates::EamNeb;
    use kmc::rates::eam_neb::{EamNebSpec, EamPotential, SlabSpec};
    let t = shipped();
    for el in ["Cu", "Ag", "Au"] {
        let a = kmc::md::zhou04::element(el).unwrap().lattice_constant();
        let lat = Lattice::new(LatticeKind::Fcc100, a, [6, 6], 12).unwrap();
        let mut st = State::new(lat.clone());
        st.fill_layers(5, 1).unwrap();
        let s = lat.site(3, 6, 5);
        st.place(&s, 1);
        let k = lat
            .class_tables(s.class)
            .neighbors
            .iter()
            .position(|o| o.dl == 0)
            .unwrap();
        let mut spec = EamNebSpec::new(EamPotential::Zhou04(vec![el.to_string()]));
        spec.slab = SlabSpec {
            size: Some((8, 8)),
            layers_below: 5,
            fixed_layers: 1,
        };
        let m = EamNeb::new(&spec, &names(&[el]), &lat, 300.0).unwrap();
        let neb = m
            .calculator()
            .calculate(&m.hop_key(&st, &s, k))
            .unwrap()
            .entry
            .forward_ev;
        let table = t.species[el].monomer_barrier_ev();
        eprintln!("{el}: table {table:.4} eV, EamNeb {neb:.4} eV");
        assert!(
            (table - neb).abs() < 3e-3,
            "{el}: table {table} eV vs EamNeb {neb} eV"
        );
    }
}

/// Monomer barriers against published semi-empirical numbers. Different semi-empirical
/// potentials differ: Boisvert, Lewis, Puska & Nieminen, Phys. Rev. B 52, 9078 (1995), find
/// them within 0.2 eV of first-principles barriers, which sets the tolerance here.
/// - Cu(100): 0.43 eV hop barrier, Evangelakis & Papanicolaou, Surf. Sci. 347, 376 (1996)
///   (many-body potential; their T = 0 minimisation agrees with their MD value).
/// - Ag(100): 0.47 eV hop barrier, Zhuang & Liu (Jun & Lei), Acta Phys. Sin. 46, 2424 (1997)
///   (surface EAM, MD Arrhenius fit).
///
/// No published Au(100) hop barrier was reachable when the table was made; for Au only the
/// ordering is checked: Au's barrier is the highest of the three, as its larger cohesive
/// energy per bond in this potential's fit makes expected but not certain — a weak check.
///
/// Not statistical and deliberately loose: the ±0.2 eV is the spread between semi-empirical
/// potentials (a property of the literature, not of this code), so this separates a barrier of
/// the right magnitude for a (100) hop from, say, a (111)-terrace one (~0.05 eV) or a step
/// descent (~0.8–0.9 eV); the exact values are checked against the potential itself by
/// `shipped_monomer_barriers_match_an_independent_eam_neb`.
#[test]
fn monomer_barriers_within_the_spread_of_published_semi_empirical_values() {
    let t = shipped();
    let cu = t.species["Cu"].monomer_barrier_ev();
    let ag = t.species["Ag"].monomer_barrier_ev();
    let au = t.species["Au"].monomer_barrier_ev();
    assert!((cu - 0.43).abs() <= 0.2, "Cu {cu}");
    assert!((ag - 0.47).abs() <= 0.2, "Ag {ag}");
    assert!(au > ag && au > cu, "Au {au} Ag {ag} Cu {cu}");
}

/// Places the configuration `mask` around `b` for the hop along in-layer direction `k`, using
/// Cartesian positions (independently of the model's offset tables).
fn place_pattern(st: &mut State, b: &SiteRef, k: usize, mask: usize) -> usize {
    let lat = st.lattice().clone();
    let t = lat.class_tables(b.class);
    let j = lat.site_at_offset(b, &t.neighbors[k]).unwrap();
    let (pb, pj) = (lat.position(b), lat.position(&j));
    let [lx, ly] = lat.box_lengths();
    let wrap = |d: f64, l: f64| d - l * (d / l).round();
    let eu = [wrap(pj[0] - pb[0], lx), wrap(pj[1] - pb[1], ly)];
    let ev = [-eu[1], eu[0]];
    for (i, &(u, v)) in KEY_SITES.iter().enumerate() {
        if mask >> i & 1 == 1 {
            let px = pb[0] + u as f64 * eu[0] + v as f64 * ev[0];
            let py = pb[1] + u as f64 * eu[1] + v as f64 * ev[1];
            let s = lat.nearest_in_layer(px.rem_euclid(lx), py.rem_euclid(ly), b.l as usize);
            st.place(&s, 1);
        }
    }
    j.idx
}

/// The same configuration in each of the four in-plane directions, on every class of site
/// (both row parities, both layer parities), reads the same mask and gives the same rate.
#[test]
fn rotated_copies_of_a_configuration_give_equal_rates() {
    let t = shipped();
    let temperature = 500.0;
    let kt = kt_ev(temperature);
    let mut rng = rng_from_seed(3);
    for substrate in [4usize, 5] {
        let base = slab(8, substrate);
        let mut m =
            BarrierTable::from_table(&t, &names(&["Cu"]), base.lattice(), temperature).unwrap();
        for y in [6usize, 7] {
            let b = base.lattice().site(4, y, substrate);
            let dirs: Vec<usize> = base
                .lattice()
                .class_tables(b.class)
                .neighbors
                .iter()
                .enumerate()
                .filter(|(_, o)| o.dl == 0)
                .map(|(k, _)| k)
                .collect();
            assert_eq!(dirs.len(), 4);
            for trial in 0..40 {
                let mask = if trial == 0 {
                    0
                } else {
                    (uniform(&mut rng) * IN_PLANE_KEYS as f64) as usize
                };
                let want = 1e13 * (-t.species["Cu"].in_plane_ev[mask] / kt).exp();
                for &k in &dirs {
                    let mut st = base.clone();
                    st.place(&b, 1);
                    let j = place_pattern(&mut st, &b, k, mask);
                    assert_eq!(m.mask(&st, &b, k), Some(mask), "class {} dir {k}", b.class);
                    let mut ev = Vec::new();
                    m.site_events(&st, &b, &mut ev);
                    let r = ev
                        .iter()
                        .find(|(e, _)| matches!(e, Event::Hop { to, .. } if *to == j))
                        .map(|e| e.1)
                        .expect("the hop exists");
                    assert!((r - want).abs() <= 1e-12 * want, "{mask:#012b} dir {k}");
                    let sum: f64 = ev.iter().map(|e| e.1).sum();
                    assert!((m.site_rate(&st, &b) - sum).abs() <= 1e-12 * sum);
                }
            }
        }
    }
}

/// Interlayer hops at a straight close-packed step: an adatom next to the edge steps over it at
/// the interlayer barrier (n_from = 4 supports, n_to = 2), its other hops are terrace hops; the
/// atom over the edge then has down hops; a covered atom has no hops at all.
#[test]
fn step_edge_and_covered_atoms_follow_the_documented_rules() {
    let t = shipped();
    let temperature = 400.0;
    let mut st = slab(8, 4);
    let lat = st.lattice().clone();
    let mut m = BarrierTable::from_table(&t, &names(&["Cu"]), &lat, temperature).unwrap();
    let cu = &t.species["Cu"];
    let rate = |e: f64| arrhenius(1e13, e, temperature);
    // A stripe island in layer 4 bounded by two close-packed (diagonal) steps.
    let [lx, _] = lat.box_lengths();
    let (nx, ny) = lat.grid();
    for y in 0..ny {
        for x in 0..nx {
            let s = lat.site(x, y, 4);
            let p = lat.position(&s);
            if (p[0] + p[1]).rem_euclid(lx) < lx / 2.0 {
                st.place(&s, 1);
            }
        }
    }
    let supports = |st: &State, s: &SiteRef| {
        lat.neighbors(s)
            .filter(|(_, n)| n.l < s.l && st.cell(n.idx).occupied())
            .count()
    };
    // A fully supported layer-5 site with an in-layer neighbour over the edge.
    let b = (0..ny)
        .flat_map(|y| (0..nx).map(move |x| (x, y)))
        .map(|(x, y)| lat.site(x, y, 5))
        .find(|s| {
            supports(&st, s) == 4
                && lat
                    .neighbors(s)
                    .any(|(_, n)| n.l == 5 && supports(&st, &n) == 2)
        })
        .expect("an edge site");
    st.place(&b, 1);
    let mut ev = Vec::new();
    m.site_events(&st, &b, &mut ev);
    let (mut terrace, mut over) = (0, 0);
    for (e, r) in &ev {
        let Event::Hop { to, .. } = e else {
            panic!("{e:?}")
        };
        let j = lat.site_at(*to);
        assert_eq!(j.l, 5, "{ev:?}");
        match supports(&st, &j) {
            4 => {
                terrace += 1;
                assert!((r - rate(cu.in_plane_ev[0])).abs() <= 1e-12 * r);
            }
            2 => {
                over += 1;
                assert!((r - rate(cu.interlayer_ev[4][2])).abs() <= 1e-12 * r);
            }
            n => panic!("hop to a site with {n} supports"),
        }
    }
    assert_eq!((terrace, over), (3, 1), "{ev:?}");
    // The island atoms under the adatom are covered: no hops.
    for (_, n) in lat.neighbors(&b).filter(|(_, n)| n.l == 4) {
        let mut v = Vec::new();
        m.site_events(&st, &n, &mut v);
        assert!(v.is_empty(), "covered atom moves: {v:?}");
    }
    // Move the adatom over the edge: from there it can drop to the foot of the step.
    let j = ev
        .iter()
        .map(|(e, _)| match e {
            Event::Hop { to, .. } => lat.site_at(*to),
            _ => unreachable!(),
        })
        .find(|j| supports(&st, j) == 2)
        .unwrap();
    st.remove(&b);
    st.place(&j, 1);
    let mut ev = Vec::new();
    m.site_events(&st, &j, &mut ev);
    let downs: Vec<_> = ev
        .iter()
        .filter_map(|(e, r)| match e {
            Event::Hop { to, .. } if lat.site_at(*to).l == 4 => Some((*to, *r)),
            _ => None,
        })
        .collect();
    assert!(!downs.is_empty(), "{ev:?}");
    for (to, r) in downs {
        let nf = st.coordination(j.idx) as usize;
        let nt = st.coordination(to) as usize - 1;
        assert!((r - rate(cu.interlayer_ev[nf][nt])).abs() <= 1e-12 * r);
    }
}

/// Every file in tests/data/rates has an `.expected` file beside it: the error message, or
/// "ok: " and the monomer barrier of each species for a good table.
#[test]
fn data_files_give_the_expected_messages() {
    let dir = Path::new("tests/data/rates");
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_owned();
        // Relative path, so messages do not depend on where the checkout lives.
        let rel = dir.join(&name);
        // cargo runs tests from the package root, so the relative path resolves.
        let got = match load_barrier_table(&rel) {
            Ok(t) => format!(
                "ok: {}",
                t.species
                    .iter()
                    .map(|(s, b)| format!("{s} monomer {} eV", b.monomer_barrier_ev()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Err(e) => e.to_string(),
        };
        let expected = std::fs::read_to_string(p.with_extension("expected"))
            .unwrap_or_else(|_| panic!("{} has no .expected file", rel.display()));
        assert_eq!(got, expected.trim_end(), "{}", rel.display());
        n += 1;
    }
    assert!(n >= 10, "only {n} data files");
}

/// A coverage error names the file, the line of the species' `in_plane` list, and the key.
#[test]
fn coverage_error_names_file_line_and_missing_key() {
    let e = load_barrier_table("tests/data/rates/bad_missing_in_plane.ron")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "tests/data/rates/bad_missing_in_plane.ron:10:13: field `species.Cu.in_plane`"
        ),
        "{e}"
    );
    assert!(
        e.contains("0b0000000101") && e.contains("(-1,0) (0,-1)"),
        "{e}"
    );
}

#[test]
fn scenario_species_missing_from_the_table_is_an_input_error() {
    let t = load_barrier_table(root().join("tests/data/rates/good_synthetic.ron")).unwrap();
    let lat = Lattice::new(LatticeKind::Fcc100, 3.615, [8, 8], 10).unwrap();
    let e = BarrierTable::from_table(&t, &names(&["Cu", "Pt"]), &lat, 300.0)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("good_synthetic.ron:")
            && e.contains("field `species.Pt`")
            && e.contains("unknown species `Pt`"),
        "{e}"
    );
    let lat111 = Lattice::new(LatticeKind::Fcc111, 3.615, [8, 8], 10).unwrap();
    let e = BarrierTable::from_table(&t, &names(&["Cu"]), &lat111, 300.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("field `lattice`") && e.contains("Fcc111"), "{e}");
}

#[test]
fn spec_paths_resolve_against_the_scenario_directory() {
    let spec = BarrierTableSpec::new(SHIPPED, Some(root()));
    assert_eq!(spec.path(), root().join(SHIPPED));
    let abs = BarrierTableSpec::new(root().join(SHIPPED).to_string_lossy(), Some("/x".into()));
    assert_eq!(abs.path(), root().join(SHIPPED));
    // The scenario form: `BarrierTable((file: "..."))`; the base directory is not serialised.
    let parsed: RateModelSpec = ron::from_str(r#"BarrierTable((file: "rates/x.ron"))"#).unwrap();
    assert_eq!(
        parsed,
        RateModelSpec::BarrierTable(BarrierTableSpec::new("rates/x.ron", None))
    );
    let lat = Lattice::new(LatticeKind::Fcc100, 3.615, [8, 8], 10).unwrap();
    let m = RateModelSpec::BarrierTable(spec)
        .build(&names(&["Cu", "Au"]), &lat, 300.0)
        .unwrap();
    assert_eq!(m.name(), "BarrierTable");
    assert_eq!(m.interaction_range(), 3);
}

/// Linear-search sampler (the samplers module is merged separately).
struct LinearSampler {
    rates: Vec<f64>,
}

impl RateSampler for LinearSampler {
    fn len(&self) -> usize {
        self.rates.len()
    }
    fn resize(&mut self, n: usize) {
        self.rates.resize(n, 0.0);
    }
    fn set(&mut self, i: usize, rate: f64) {
        self.rates[i] = rate;
    }
    fn rate(&self, i: usize) -> f64 {
        self.rates[i]
    }
    fn total(&self) -> f64 {
        self.rates.iter().sum()
    }
    fn select(&self, rng: &mut KmcRng) -> Option<usize> {
        let total = self.total();
        if total <= 0.0 {
            return None;
        }
        let target = uniform(rng) * total;
        let mut acc = 0.0;
        let mut last = None;
        for (i, &r) in self.rates.iter().enumerate() {
            if r > 0.0 {
                acc += r;
                last = Some(i);
                if target < acc {
                    break;
                }
            }
        }
        last
    }
}

/// Deposition of Cu and Ag on Cu(100) with the table model: after thousands of events every
/// cached rate equals a recomputation, so the interaction range covers what the model reads.
#[test]
fn engine_keeps_cached_rates_exact_with_the_table_model() {
    let species = ["Cu", "Ag"];
    let lat = Lattice::new(LatticeKind::Fcc100, 3.615, [6, 6], 12).unwrap();
    let spec = RateModelSpec::BarrierTable(BarrierTableSpec::new(SHIPPED, Some(root())));
    let model: AnyRateModel = spec.build(&names(&species), &lat, 450.0).unwrap();
    let mut st = State::new(lat);
    st.fill_layers(3, 1).unwrap();
    st.set_frozen_layers(1);
    let ls = st.lattice().layer_size();
    let sources = (1..=2u8)
        .map(|sp| {
            let spec = AtomDepositionSpec {
                species: species[sp as usize - 1].into(),
                // Hops with small barriers (the table goes down to 0.02 eV) flicker at up to
                // 1e13 /s: a high flux lets the film grow within the test's event budget.
                flux_ml_per_s: 3e7,
                polar_deg: 0.0,
                azimuth_deg: 0.0,
                landing: Landing::Supported,
                funnelling: false,
            };
            Source::Atoms(AtomDeposition::new(&spec, sp, ls, "d").unwrap())
        })
        .collect();
    let sampler = LinearSampler { rates: Vec::new() };
    let mut e = Engine::new(st, model, sampler, sources, rng_from_seed(17));
    let mut n = 0;
    while n < 20_000 && e.counters().deposited < (ls as u64 * 5) / 2 {
        if e.step_until(f64::INFINITY) != Step::Executed {
            break;
        }
        n += 1;
        if n % 5000 == 0 {
            assert_eq!(e.verify(), (0.0, true), "after {n} events");
        }
    }
    assert_eq!(e.verify(), (0.0, true));
    let c = e.counters();
    assert!(c.hops > 2000 && c.deposited > ls as u64, "{c:?}");
    let mut st = e.state().clone();
    assert_eq!(st.rebuild_derived(), 0);
    // Atoms went beyond the first adlayer, so interlayer rules were exercised.
    assert!(st.top_layer().unwrap() >= 4, "{:?}", st.layer_atoms());
}
