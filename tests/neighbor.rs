//! Cell-list neighbour lists against the brute-force reference, for random boxes, densities,
//! cutoffs and periodicities (including boxes smaller than two cutoffs and open axes).

use kmc::md::{NeighborList, SimBox};
use proptest::prelude::*;

/// The entries as `(i, j, image)`; for half lists each pair written from its canonical owner
/// (a half list may store a pair on either atom, but must store it exactly once).
fn entry_set(list: &NeighborList) -> Vec<(u32, u32, [i8; 3])> {
    let mut v = Vec::with_capacity(list.entries.len());
    for i in 0..list.n_atoms() {
        for &e in list.of(i) {
            v.push(if list.half {
                NeighborList::canonical(i, e)
            } else {
                (i as u32, e.j, e.image)
            });
        }
    }
    v.sort();
    v
}

fn system() -> impl Strategy<Value = (Vec<[f64; 3]>, SimBox, f64, f64)> {
    (
        1usize..60,
        prop::array::uniform3(1.0f64..12.0),
        prop::array::uniform3(any::<bool>()),
        0.5f64..5.0,
        prop_oneof![Just(0.0), 0.0f64..1.0],
        any::<u64>(),
    )
        .prop_map(|(n, lengths, periodic, cutoff, skin, seed)| {
            use rand::{RngExt, SeedableRng};
            let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
            let simbox = SimBox { lengths, periodic };
            let x = (0..n)
                .map(|_| {
                    let mut p = [0.0; 3];
                    for k in 0..3 {
                        p[k] = rng.random::<f64>() * lengths[k];
                        // Open axes: let atoms stray outside the nominal box.
                        if !periodic[k] {
                            p[k] = 1.5 * p[k] - 0.25 * lengths[k];
                        }
                    }
                    p
                })
                .collect();
            (x, simbox, cutoff, skin)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn cell_list_matches_brute_force((x, b, cutoff, skin) in system(), half in any::<bool>()) {
        let fast = NeighborList::build(&x, &b, cutoff, skin, half);
        let slow = NeighborList::brute_force(&x, &b, cutoff, skin, half);
        prop_assert_eq!(entry_set(&fast), entry_set(&slow));
        prop_assert_eq!(fast.n_atoms(), x.len());
    }

    #[test]
    fn unwrapped_positions_give_the_same_pairs((x, b, cutoff, skin) in system(), shift in prop::array::uniform3(-2i32..3)) {
        // Moving atoms by whole box lengths along periodic axes changes images but not pairs.
        let moved: Vec<[f64; 3]> = x
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut q = *p;
                for k in 0..3 {
                    if b.periodic[k] && i % 2 == 0 {
                        q[k] += shift[k] as f64 * b.lengths[k];
                    }
                }
                q
            })
            .collect();
        let a = NeighborList::build(&x, &b, cutoff, skin, false);
        let c = NeighborList::build(&moved, &b, cutoff, skin, false);
        let count = |l: &NeighborList| (0..l.n_atoms()).map(|i| l.of(i).len()).collect::<Vec<_>>();
        prop_assert_eq!(count(&a), count(&c));
        // Displacements are identical pair by pair (as multisets per atom).
        for i in 0..x.len() {
            let mut da: Vec<[i64; 3]> = a.of(i).iter().map(|&e| {
                let d = NeighborList::displacement(&x, &b, i, e);
                [(d[0] * 1e6).round() as i64, (d[1] * 1e6).round() as i64, (d[2] * 1e6).round() as i64]
            }).collect();
            let mut dc: Vec<[i64; 3]> = c.of(i).iter().map(|&e| {
                let d = NeighborList::displacement(&moved, &b, i, e);
                [(d[0] * 1e6).round() as i64, (d[1] * 1e6).round() as i64, (d[2] * 1e6).round() as i64]
            }).collect();
            da.sort();
            dc.sort();
            prop_assert_eq!(da, dc);
        }
    }
}

#[test]
fn half_list_holds_each_pair_once() {
    // FCC Cu, 3×3×3 cells (L = 10.8 Å < 2 × 6.7 Å list cutoff): images matter.
    let a = 3.615;
    let mut x = Vec::new();
    for i in 0..3 {
        for j in 0..3 {
            for k in 0..3 {
                for o in [
                    [0.0, 0.0, 0.0],
                    [0.5, 0.5, 0.0],
                    [0.5, 0.0, 0.5],
                    [0.0, 0.5, 0.5],
                ] {
                    x.push([
                        (i as f64 + o[0]) * a,
                        (j as f64 + o[1]) * a,
                        (k as f64 + o[2]) * a,
                    ]);
                }
            }
        }
    }
    let b = SimBox::periodic([3.0 * a; 3]);
    let half = NeighborList::build(&x, &b, 5.7, 1.0, true);
    let full = NeighborList::build(&x, &b, 5.7, 1.0, false);
    // Shells within 6.7 Å: 12 + 6 + 24 + 12 + 24 + 8 = 86 neighbours per atom.
    for i in 0..x.len() {
        assert_eq!(full.of(i).len(), 86);
    }
    assert_eq!(2 * half.entries.len(), full.entries.len());
}

#[test]
fn rebuild_reuses_and_matches() {
    let x: Vec<[f64; 3]> = (0..50)
        .map(|i| {
            let t = i as f64;
            [(t * 1.37) % 9.0, (t * 2.11) % 9.0, (t * 0.73) % 9.0]
        })
        .collect();
    let b = SimBox {
        lengths: [9.0; 3],
        periodic: [true, false, true],
    };
    let mut list = NeighborList::build(&x, &b, 2.5, 1.0, true);
    let y: Vec<[f64; 3]> = x.iter().map(|p| [p[0] + 0.3, p[1] - 0.2, p[2]]).collect();
    assert!(!list.needs_rebuild(&y));
    let y: Vec<[f64; 3]> = x
        .iter()
        .map(|p| [p[0] + 0.3, p[1] - 0.2, p[2] + 0.4])
        .collect();
    assert!(list.needs_rebuild(&y));
    list.rebuild(&y, &b);
    assert!(!list.needs_rebuild(&y));
    assert_eq!(
        entry_set(&list),
        entry_set(&NeighborList::brute_force(&y, &b, 2.5, 1.0, true))
    );
}
