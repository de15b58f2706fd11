use super::*;
use crate::deposit::{AtomDepositionSpec, Landing};
use crate::lattice::{Lattice, LatticeKind};
use crate::rates::*;
use crate::rng::{Stream, stream};
use crate::sampler::SamplerKind;

type TestEngine = Engine<AnyRateModel, crate::sampler::AnySampler>;

fn bond_counting(species: &[&str], exchange: bool) -> RateModelSpec {
    RateModelSpec::BondCounting(BondCountingSpec {
        species: species
            .iter()
            .map(|s| {
                (
                    s.to_string(),
                    HopParams {
                        prefactor_hz: 1e13,
                        barrier_ev: 0.45,
                    },
                )
            })
            .collect(),
        bonds_ev: {
            let mut v = Vec::new();
            for (i, a) in species.iter().enumerate() {
                for b in &species[i..] {
                    v.push((
                        a.to_string(),
                        b.to_string(),
                        if a == b { 0.25 } else { 0.2 },
                    ));
                }
            }
            v
        },
        count: BondCount::InLayer,
        ehrlich_schwoebel_ev: 0.05,
        exchange_barrier_ev: exchange.then_some(0.55),
        grain_transfers: false,
    })
}

fn coordination(species: &[&str], coefficient: f64) -> RateModelSpec {
    RateModelSpec::CoordinationMetropolis(CoordinationMetropolisSpec {
        species: species
            .iter()
            .map(|s| {
                (
                    s.to_string(),
                    CoordinationParams {
                        prefactor_hz: 1e13,
                        barrier_ev: 0.45,
                        site_energy: SiteEnergy::Sqrt {
                            coefficient_ev: coefficient,
                        },
                    },
                )
            })
            .collect(),
    })
}

fn engine(
    kind: LatticeKind,
    model: &RateModelSpec,
    species: &[&str],
    substrate: usize,
    flux: f64,
    seed: u64,
) -> TestEngine {
    let names: Vec<String> = species.iter().map(|s| s.to_string()).collect();
    let lat = Lattice::new(kind, 3.615, [8, 8], substrate + 8).unwrap();
    let m = model.build(&names, &lat, 400.0).unwrap();
    let mut st = State::new(lat);
    if substrate > 0 {
        st.fill_layers(substrate, 1).unwrap();
    }
    let ls = st.lattice().layer_size();
    let sources = (1..=species.len())
        .map(|sp| {
            let spec = AtomDepositionSpec {
                species: species[sp - 1].into(),
                flux_ml_per_s: flux,
                polar_deg: 0.0,
                azimuth_deg: 0.0,
                landing: Landing::Supported,
                funnelling: false,
            };
            Source::Atoms(AtomDeposition::new(&spec, sp as u8, ls, "d").unwrap())
        })
        .collect();
    Engine::new(
        st,
        m,
        SamplerKind::SumTree.build(0),
        sources,
        stream(seed, Stream::Engine),
    )
}

/// Cached rates must equal recomputed ones after many events: this checks that every model's
/// interaction range covers everything its rates read.
#[test]
fn cached_rates_stay_exact_on_every_lattice_and_model() {
    for kind in LatticeKind::ALL {
        let substrate = if kind.is_2d() { 0 } else { 3 };
        let models = [
            (bond_counting(&["Cu", "Ag"], false), 1e3),
            (bond_counting(&["Cu", "Ag"], !kind.is_2d()), 1e3),
            (coordination(&["Cu", "Ag"], -0.3), 1e4),
        ];
        for (model, flux) in &models {
            let mut e = engine(kind, model, &["Cu", "Ag"], substrate, *flux, 11);
            let mut n = 0;
            while n < 20_000
                && e.counters().deposited < (e.state().lattice().layer_size() as u64 * 3) / 2
            {
                if e.step_until(f64::INFINITY) != Step::Executed {
                    break;
                }
                n += 1;
            }
            let (worst, ok) = e.verify();
            assert!(ok, "{kind:?}: slot bookkeeping broken");
            assert_eq!(worst, 0.0, "{kind:?} {model:?}: stale rate");
            let mut st = e.state().clone();
            assert_eq!(st.rebuild_derived(), 0, "{kind:?}: coordination drifted");
            assert!(
                e.counters().hops > 0 && e.counters().deposited > 0,
                "{kind:?} {:?}",
                e.counters()
            );
        }
    }
}

#[test]
fn exchanges_happen_and_keep_the_atom_count() {
    let mut e = engine(
        LatticeKind::Fcc100,
        &bond_counting(&["Cu", "Ag"], true),
        &["Cu", "Ag"],
        3,
        100.0,
        5,
    );
    let atoms0 = e.state().n_atoms();
    for _ in 0..50_000 {
        e.step_until(f64::INFINITY);
    }
    let c = e.counters();
    assert!(c.exchanges > 0, "{c:?}");
    assert_eq!(e.state().n_atoms(), atoms0 + c.deposited);
}

#[test]
fn idle_when_nothing_can_happen() {
    // A full substrate, frozen, no deposition: total rate zero.
    let mut e = engine(
        LatticeKind::Fcc100,
        &bond_counting(&["Cu"], false),
        &["Cu"],
        3,
        0.0,
        1,
    );
    let mut st = e.state().clone();
    st.set_frozen_layers(3);
    let m = e.model().clone();
    e = Engine::new(
        st,
        m,
        SamplerKind::SumTree.build(0),
        vec![],
        stream(1, Stream::Engine),
    );
    assert_eq!(e.total_rate(), 0.0);
    assert_eq!(e.step_until(1.0), Step::Idle);
}

#[test]
fn stopping_to_observe_does_not_change_the_trajectory() {
    let model = coordination(&["Cu"], -1.0218);
    let mut a = engine(LatticeKind::Fcc100, &model, &["Cu"], 3, 50.0, 9);
    let mut b = engine(LatticeKind::Fcc100, &model, &["Cu"], 3, 50.0, 9);
    let t_end = 2e-3;
    while a.step_until(t_end) == Step::Executed {}
    let mut t: f64 = 0.0;
    loop {
        t += 1e-5;
        while b.step_until(t.min(t_end)) == Step::Executed {}
        if t >= t_end {
            break;
        }
    }
    assert!(a.counters().events() > 1000);
    assert_eq!(a.counters(), b.counters());
    assert_eq!(a.state().cells(), b.state().cells());
    assert_eq!(a.time(), b.time());
}

#[test]
fn snapshot_and_restore_continue_bit_identically() {
    let model = bond_counting(&["Cu", "Ag"], true);
    let mut a = engine(LatticeKind::Fcc100, &model, &["Cu", "Ag"], 3, 200.0, 21);
    for _ in 0..5000 {
        a.step_until(f64::INFINITY);
    }
    let snap = a.snapshot();
    for _ in 0..5000 {
        a.step_until(f64::INFINITY);
    }
    let mut b = engine(LatticeKind::Fcc100, &model, &["Cu", "Ag"], 3, 200.0, 99);
    b.restore(&snap).unwrap();
    for _ in 0..5000 {
        b.step_until(f64::INFINITY);
    }
    assert_eq!(a.state().cells(), b.state().cells());
    assert_eq!(a.time().to_bits(), b.time().to_bits());
    assert_eq!(a.counters(), b.counters());
}

#[test]
fn applied_changes_refresh_rates() {
    let mut e = engine(
        LatticeKind::Fcc100,
        &bond_counting(&["Cu", "Ag"], false),
        &["Cu", "Ag"],
        3,
        10.0,
        4,
    );
    for _ in 0..2000 {
        e.step_until(f64::INFINITY);
    }
    let lat = e.state().lattice().clone();
    // Empty a substrate site, fill two adatom sites, turn one atom into Ag.
    let hole = lat.site(2, 2, 2).idx;
    let adds = [lat.site(5, 5, 4).idx, lat.site(5, 6, 4).idx];
    let mut changes = vec![(hole, 0u8), (lat.site(1, 1, 1).idx, 2u8)];
    for a in adds {
        if !e.state().cell(a).occupied() {
            changes.push((a, 1));
        }
    }
    let atoms = e.state().n_atoms() as i64 + changes.len() as i64 - 3;
    e.apply(&changes);
    assert_eq!(e.state().n_atoms() as i64, atoms);
    assert_eq!(e.state().species(lat.site(1, 1, 1).idx), 2);
    assert_eq!(e.verify(), (0.0, true));
    for _ in 0..2000 {
        e.step_until(f64::INFINITY);
    }
    assert_eq!(e.verify(), (0.0, true));
}
