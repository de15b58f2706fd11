use super::*;
use crate::grains::{DEFAULT_GHOST_RADIUS_NN, Frame};
use crate::lattice::Lattice;
use crate::observe::particles::percolation;
use crate::observe::structure::{FormFactor, PairHistogram, saxs_curve};
use crate::rotation;
use crate::state::State;
use crate::vec3::{norm, sub};

const A: f64 = 4.08;

fn square(n: usize) -> State {
    State::new(Lattice::new(LatticeKind::Square, A, [n, n], 1).unwrap())
}

#[test]
fn size_distribution_of_a_hand_built_film() {
    // On a 20 × 20 square lattice: a monomer, three dimers, a 2 × 2 island and a row of five
    // that crosses the periodic boundary (one island, not two).
    let mut st = square(20);
    let lat = st.lattice().clone();
    let sites: &[(usize, usize)] = &[
        (1, 1),
        (5, 5),
        (6, 5),
        (10, 2),
        (10, 3),
        (15, 15),
        (16, 15),
        (2, 10),
        (3, 10),
        (2, 11),
        (3, 11),
        (17, 18),
        (18, 18),
        (19, 18),
        (0, 18),
        (1, 18),
    ];
    for &(x, y) in sites {
        st.place(&lat.site(x, y, 0), 1);
    }
    let film = FilmAtoms::of(&Grains::single(st.clone()), 0);
    let islands = film.islands(&lat);
    assert_eq!(islands.sizes, vec![5, 4, 2, 2, 2, 1]);
    // The lattice's own cluster count agrees (monomer included, and without it).
    let c = crate::observe::clusters(&st, 0, 1);
    assert_eq!((c.islands, c.islands_ge2), (6, 5));
    let d = SizeDistribution::new(&islands.sizes, 400);
    assert_eq!(d.counts, vec![(2, 3), (4, 1), (5, 1)]);
    // 15 atoms in 5 islands: <s> = 3, θ = 15/400.
    assert_eq!(d.mean_size, 3.0);
    assert!((d.coverage_ml - 15.0 / 400.0).abs() < 1e-15);
    let rows = d.rows();
    let (s, count, ns, x, y) = rows[0];
    assert_eq!((s, count), (2, 3));
    assert!((ns - 3.0 / 400.0).abs() < 1e-15);
    assert!((x - 2.0 / 3.0).abs() < 1e-15);
    assert!((y - 1.8).abs() < 1e-12, "{y}");
    // The scaled form has unit zeroth and first moments (sums over s, ds = 1 = <s> dx).
    let m0: f64 = rows.iter().map(|r| r.4 / d.mean_size).sum();
    let m1: f64 = rows.iter().map(|r| r.3 * r.4 / d.mean_size).sum();
    assert!(
        (m0 - 1.0).abs() < 1e-12 && (m1 - 1.0).abs() < 1e-12,
        "{m0} {m1}"
    );
    // The CSV round-trips through the plot reader.
    let mut buf = Vec::new();
    d.write_csv(&mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    assert!(text.lines().nth(1) == Some(SIZE_CSV_HEADER));
    let pts = read_scaled(&text);
    assert_eq!(pts.len(), 3);
    assert!((pts[0].1 - 1.8).abs() < 1e-12);
    // Binned in x = s / <s> (0.5 wide: 2/3 | 4/3 | 5/3): unit integral, each bin holding its
    // fraction of the islands (the three dimers: 3 of 5).
    let bins = scaled_binned(&text, 0.5);
    assert_eq!(bins.len(), 4);
    assert!((bins.iter().map(|b| b.1 * 0.5).sum::<f64>() - 1.0).abs() < 1e-12);
    assert!((bins[1].1 * 0.5 - 3.0 / 5.0).abs() < 1e-12, "{bins:?}");
    assert_eq!(bins[0], (0.25, 0.0));
    // No islands: NaN mean, no rows.
    let empty = SizeDistribution::new(&[1, 1], 400);
    assert!(empty.mean_size.is_nan() && empty.rows().is_empty());
}

#[test]
fn density_profile_of_a_slab_and_a_half_filled_layer() {
    let lat = Lattice::new(LatticeKind::Fcc100, A, [8, 8], 10).unwrap();
    let ls = lat.layer_size();
    let mut st = State::new(lat.clone());
    // Three substrate layers and two full film layers.
    st.fill_layers(5, 1).unwrap();
    let p = FilmAtoms::of(&Grains::single(st.clone()), 3).profile();
    assert_eq!(p.fill(), vec![1.0, 1.0]);
    assert_eq!((p.mean_height, p.porosity), (2.0, 0.0));
    // Half of the next layer: fill 0.5 there; half the columns are 3 high, so h = 2.5 and
    // the slab below h holds 2 S + 0.5 × S/2 atoms: porosity 1 − 2.25 / 2.5 = 0.1.
    for idx in 5 * ls..5 * ls + ls / 2 {
        st.place(&lat.site_at(idx), 1);
    }
    let p = FilmAtoms::of(&Grains::single(st.clone()), 3).profile();
    assert_eq!(p.fill(), vec![1.0, 1.0, 0.5]);
    assert_eq!(p.mean_height, 2.5);
    assert!((p.porosity - 0.1).abs() < 1e-12, "{}", p.porosity);
    // The series' mean height is the same quantity.
    let o = crate::observe::Observables::measure(&st, 3, 0.0, 0, 1);
    assert_eq!(o.mean_height_ml, p.mean_height);
    // A bare substrate has no film to be porous.
    let bare = DensityProfile::new(&[], &[], ls);
    assert!(bare.porosity.is_nan() && bare.atoms.is_empty());
    let mut buf = Vec::new();
    p.write_csv(&mut buf, lat.layer_spacing()).unwrap();
    let text = String::from_utf8(buf).unwrap();
    assert!(text.contains("porosity") && text.lines().nth(1) == Some(PROFILE_CSV_HEADER));
    let last = format!("2,{},{},{ls},0.5", 3.0 * A / 2.0, ls / 2);
    assert_eq!(text.lines().last(), Some(last.as_str()));
}

/// A film of 4 substrate layers on 12 × 12 cells with a sphere of radius `r` Å per entry of
/// `particles` = (lateral centre, degrees about z), each resting one layer spacing above the
/// film.
fn film_with_particles(r: f64, particles: &[([f64; 2], f64)]) -> Grains {
    let film_lat = Lattice::new(LatticeKind::Fcc100, A, [12, 12], 14).unwrap();
    let mut film = State::new(film_lat);
    film.fill_layers(4, 1).unwrap();
    let mut g = Grains::new(film, DEFAULT_GHOST_RADIUS_NN).unwrap();
    // Big enough that the sphere keeps the margin a grain's box needs.
    let lat = Lattice::new(LatticeKind::Fcc100, A, [28, 28], 36).unwrap();
    let c = lat.position(&lat.site(14, 14, 18));
    let d = lat.layer_spacing();
    for &([x, y], deg) in particles {
        let mut p = State::new(lat.clone());
        for idx in 0..lat.n_sites() {
            if norm(sub(lat.position_of(idx), c)) <= r {
                p.place(&lat.site_at(idx), 2);
            }
        }
        let q = rotation::from_axis_angle_deg([0.0, 0.0, 1.0], deg).unwrap();
        let centre = [x, y, 4.0 * d + r];
        let frame = Frame {
            rotation: q,
            origin: sub(centre, rotation::rotate(q, c)),
        };
        g.add(p, frame).unwrap();
    }
    g
}

#[test]
fn grain_sizes_and_misorientations_of_two_particles() {
    let r = 5.5;
    let [lx, ly] = {
        let l = Lattice::new(LatticeKind::Fcc100, A, [12, 12], 14).unwrap();
        l.box_lengths()
    };
    // Turned by 10.5° and 27° about the surface normal: 16.5° apart, 10.5° and 27° from the
    // film (angles inside bins, so rounding cannot move them across a bin edge).
    for (gap, touching) in [(20.0, false), (2.0 * r + 0.5, true)] {
        let g = film_with_particles(
            r,
            &[
                ([0.5 * (lx - gap), 0.5 * ly], 10.5),
                ([0.5 * (lx + gap), 0.5 * ly], 27.0),
            ],
        );
        let film = FilmAtoms::of(&g, 4);
        let n1 = film.grain.iter().filter(|&&x| x == 1).count();
        assert!(
            n1 > 30 && film.grain.iter().all(|&x| x > 0),
            "only particles are film"
        );
        // The closest pair of atoms of the two particles decides whether they touch.
        let pos = |k: u32| -> Vec<[f64; 3]> {
            (0..film.grain.len())
                .filter(|&i| film.grain[i] == k)
                .map(|i| film.atoms.positions[i])
                .collect()
        };
        let closest = pos(1)
            .iter()
            .flat_map(|a| pos(2).into_iter().map(move |b| norm(sub(*a, b))))
            .fold(f64::INFINITY, f64::min);
        assert_eq!(closest < film.bond_cutoff_a, touching, "closest {closest}");
        let islands = film.islands(g.grain(0).state.lattice());
        assert_eq!(islands.sizes.len(), if touching { 1 } else { 2 });
        let stats = GrainStatistics::new(&g, &film, &islands.touching);
        assert_eq!(stats.sizes, vec![(1, n1), (2, n1)]);
        let sub_angles: Vec<f64> = stats.to_substrate.iter().map(|x| x.1).collect();
        assert!((sub_angles[0] - 10.5).abs() < 1e-6 && (sub_angles[1] - 27.0).abs() < 1e-6);
        if touching {
            assert_eq!(stats.pairs.len(), 1);
            assert!((stats.pairs[0].2 - 16.5).abs() < 1e-6, "{:?}", stats.pairs);
        } else {
            assert!(stats.pairs.is_empty());
        }
        let h = stats.histogram();
        assert_eq!(h[10].2 + h[27].2, 2);
        assert_eq!(h[16].1, usize::from(touching));
        assert_eq!(h.len(), 63);
    }
}

#[test]
fn percolation_onset_is_the_first_sample_of_each_direction() {
    // Atoms are added one by one along a nearest-neighbour row of Fcc111 (12 sites along x),
    // one sample per atom at t = k s; the row wraps along x at the 12th atom. Then a second
    // row crossing y is built; it wraps along y once complete.
    let lat = Lattice::new(LatticeKind::Fcc111, A, [12, 12], 6).unwrap();
    let mut st = State::new(lat.clone());
    st.fill_layers(1, 1).unwrap();
    let mut onset = PercolationOnset::default();
    let mut k = 0u64;
    let mut sample = |st: &State, onset: &mut PercolationOnset| {
        k += 1;
        let cov = (st.n_atoms() as f64 - 144.0) / 144.0;
        onset.observe(
            percolation(st, 1),
            Onset {
                time_s: k as f64,
                events: k,
                deposited_ml: cov,
            },
        );
    };
    for x in 0..12 {
        st.place(&lat.site(x, 5, 1), 1);
        sample(&st, &mut onset);
    }
    let x = onset.x.expect("the row wraps along x");
    assert_eq!((x.time_s, x.events), (12.0, 12));
    assert!((x.deposited_ml - 12.0 / 144.0).abs() < 1e-15);
    assert!(onset.y.is_none() && !onset.complete());
    // A break and a repair do not move the onset.
    st.remove(&lat.site(3, 5, 1));
    sample(&st, &mut onset);
    st.place(&lat.site(3, 5, 1), 1);
    sample(&st, &mut onset);
    assert_eq!(onset.x, Some(x));
    // Then the column x = 0 of the layer, one atom per sample; (0, 5) is already there, so
    // the column is complete, and wraps along y, at the 12th sample of this loop (the 26th).
    let mut placed = 0;
    for y in 0..12 {
        let s = lat.site(0, y, 1);
        if !st.cell(s.idx).occupied() {
            st.place(&s, 1);
            placed += 1;
        }
        sample(&st, &mut onset);
        assert_eq!(onset.y.is_some(), y == 11, "y onset at column row {y}");
    }
    assert_eq!(placed, 11);
    let y = onset.y.unwrap();
    assert_eq!((y.time_s, y.events), (26.0, 26));
    assert!((y.deposited_ml - 23.0 / 144.0).abs() < 1e-15);
    assert!(onset.complete());
    let before = onset;
    onset.observe([false, false], y);
    assert_eq!(onset, before);
    assert!(onset.describe().starts_with("x at t = 1.2000e1 s"));
}

#[test]
fn saxs_of_a_sphere_of_atoms_follows_the_sphere_form_factor() {
    // A sphere of N atoms cut from FCC (a = 4.08 Å, 40 Å across) scattering with f = 1: at
    // small q the Debye sum is N |F(q)|² with the uniform-sphere form factor
    // F = 3 (sin qR − qR cos qR) / (qR)³ (Rayleigh 1911; Guinier & Fournet, Small-Angle
    // Scattering of X-rays (1955)), R the radius of the sphere of the same volume N a³/4.
    // Guinier: I = I(0) exp(−q² R_g² / 3) with R_g² = 3/5 R²; first zero of F at qR = 4.493.
    let pos = crate::md::build::fcc_sphere(A, 40.0);
    let n = pos.len();
    let atoms = AtomSet {
        species: vec![0; n],
        positions: pos,
        periodic_xy: None,
    };
    let r = (3.0 * n as f64 * A.powi(3) / 4.0 / (4.0 * std::f64::consts::PI)).cbrt();
    let hist = PairHistogram::new(&atoms, 1);
    let curve = saxs_curve(&hist, &[FormFactor::Constant(1.0)], (0.002, 0.4), 600);
    // Forward scattering per atom is N.
    assert!((curve.intensity[0] / n as f64 - 1.0).abs() < 1e-3);
    // Guinier fit of ln I against q² over q R_g < 1.
    let rg_exact = {
        let c = (0..3).map(|k| atoms.positions.iter().map(|p| p[k]).sum::<f64>() / n as f64);
        let c: Vec<f64> = c.collect();
        (atoms
            .positions
            .iter()
            .map(|p| norm(sub(*p, [c[0], c[1], c[2]])).powi(2))
            .sum::<f64>()
            / n as f64)
            .sqrt()
    };
    let pts: Vec<(f64, f64)> = curve
        .q
        .iter()
        .zip(&curve.intensity)
        .filter(|(q, _)| **q * rg_exact < 1.0)
        .map(|(q, i)| (q * q, i.ln()))
        .collect();
    assert!(pts.len() > 50);
    let m = pts.len() as f64;
    let (sx, sy) = pts.iter().fold((0.0, 0.0), |a, p| (a.0 + p.0, a.1 + p.1));
    let (mx, my) = (sx / m, sy / m);
    let slope = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>()
        / pts.iter().map(|p| (p.0 - mx).powi(2)).sum::<f64>();
    let rg_fit = (-3.0 * slope).sqrt();
    // The fit over q R_g < 1 sees the next (q⁴) term of the expansion: within 2 % of the
    // atoms' own R_g; that in turn within 2 % of the uniform sphere's √(3/5) R.
    assert!(
        (rg_fit / rg_exact - 1.0).abs() < 0.02,
        "{rg_fit} {rg_exact}"
    );
    assert!(
        (rg_exact / ((0.6f64).sqrt() * r) - 1.0).abs() < 0.02,
        "{rg_exact} {r}"
    );
    // The first minimum.
    let k = (1..curve.q.len() - 1)
        .find(|&k| {
            curve.intensity[k] < curve.intensity[k - 1]
                && curve.intensity[k] <= curve.intensity[k + 1]
        })
        .unwrap();
    let qr = curve.q[k] * r;
    assert!(
        (qr / 4.493 - 1.0).abs() < 0.02,
        "first minimum at qR = {qr}"
    );
    // Deep: the sphere's zero is filled only by the lattice's surface roughness.
    assert!(curve.intensity[k] < 1e-3 * curve.intensity[0]);
}
