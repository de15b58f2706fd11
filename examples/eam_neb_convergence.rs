//! Convergence of the EamNeb adatom hop barrier on fcc(100) with the slab size (Zhou04 EAM).
//!
//! Run: `cargo run --release --example eam_neb_convergence [ELEMENT ...]` (default: Cu Ag Au).
//! The default slab of the model is 5 × 5 cells, 5 layers, 2 fixed.

use kmc::lattice::{Lattice, LatticeKind};
use kmc::rates::EamNeb;
use kmc::rates::eam_neb::{EamNebSpec, EamPotential, SlabSpec};
use kmc::state::State;
use std::time::Instant;

/// (cells per side, substrate layers below the event, fixed layers).
const SLABS: [(usize, usize, usize); 7] = [
    (3, 3, 1),
    (4, 3, 1),
    (4, 4, 2),
    (5, 4, 2),
    (5, 5, 2),
    (6, 6, 3),
    (8, 6, 3),
];

fn main() -> kmc::Result<()> {
    let mut elements: Vec<String> = std::env::args().skip(1).collect();
    if elements.is_empty() {
        elements = vec!["Cu".into(), "Ag".into(), "Au".into()];
    }
    for el in &elements {
        let a = kmc::md::zhou04::element(el)?.lattice_constant();
        let lat = Lattice::new(LatticeKind::Fcc100, a, [6, 6], 12)?;
        let mut st = State::new(lat.clone());
        st.fill_layers(5, 1)?;
        let s = lat.site(3, 6, 5);
        st.place(&s, 1);
        let k = lat
            .class_tables(s.class)
            .neighbors
            .iter()
            .position(|o| o.dl == 0)
            .expect("an in-layer neighbour");
        println!("{el}(100) adatom hop, Zhou04, a = {a:.6} Å");
        println!(
            "{:>6} {:>7} {:>6} {:>11} {:>10} {:>7} {:>7}",
            "cells", "layers", "fixed", "barrier_ev", "status", "steps", "time_s"
        );
        for (n, layers, fixed) in SLABS {
            let mut spec = EamNebSpec::new(EamPotential::Zhou04(vec![el.clone()]));
            spec.slab = SlabSpec {
                size: Some((n, n)),
                layers_below: layers,
                fixed_layers: fixed,
            };
            let m = EamNeb::new(&spec, std::slice::from_ref(el), &lat, 300.0)?;
            let key = m.hop_key(&st, &s, k);
            let t0 = Instant::now();
            let c = m.calculator().calculate(&key)?;
            println!(
                "{:>6} {:>7} {:>6} {:>11.4} {:>10} {:>7} {:>7.2}",
                format!("{n}x{n}"),
                layers,
                fixed,
                c.entry.forward_ev,
                format!("{:?}", c.entry.status),
                c.entry.neb_steps,
                t0.elapsed().as_secs_f64()
            );
        }
        println!();
    }
    Ok(())
}
