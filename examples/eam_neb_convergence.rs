//! Convergence of the EamNeb model's Cu(100) adatom hop barrier with the slab size.
//!
//! Run: `cargo run --release --example eam_neb_convergence [Cu|Ag|Au]`

use kmc::lattice::{Lattice, LatticeKind};
use kmc::rates::EamNeb;
use kmc::rates::eam_neb::{EamNebSpec, EamPotential, SlabSpec};
use kmc::state::State;
use std::time::Instant;

fn main() -> kmc::Result<()> {
    let el = std::env::args().nth(1).unwrap_or_else(|| "Cu".into());
    let a = kmc::md::zhou04::element(&el)?.lattice_constant();
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
    println!("{el}(100) adatom hop, a = {a:.6} Å");
    println!(
        "{:>6} {:>7} {:>6} {:>12} {:>8} {:>8}",
        "size", "layers", "fixed", "barrier_eV", "steps", "time_s"
    );
    let sizes: Vec<(usize, usize, usize)> = match std::env::args().nth(2).as_deref() {
        Some("quick") => vec![(3, 3, 1), (4, 4, 2)],
        _ => vec![
            (3, 3, 1),
            (4, 3, 1),
            (4, 4, 2),
            (5, 4, 2),
            (5, 5, 2),
            (6, 6, 3),
            (8, 6, 3),
        ],
    };
    for (n, layers, fixed) in sizes {
        let mut spec = EamNebSpec::new(EamPotential::Zhou04(vec![el.clone()]));
        spec.slab = SlabSpec {
            size: Some((n, n)),
            layers_below: layers,
            fixed_layers: fixed,
        };
        let m = EamNeb::new(&spec, std::slice::from_ref(&el), &lat, 300.0)?;
        let key = m.hop_key(&st, &s, k);
        let t0 = Instant::now();
        let c = m.calculator().calculate(&key)?;
        println!(
            "{:>6} {:>7} {:>6} {:>12.5} {:>8} {:>8.2}   {:?} {:?}",
            format!("{n}x{n}"),
            layers,
            fixed,
            c.entry.forward_ev,
            c.entry.neb_steps,
            t0.elapsed().as_secs_f64(),
            c.entry.status,
            c.profile_ev
                .iter()
                .map(|e| e - c.profile_ev[0])
                .map(|e| (e * 1e4).round() / 1e4)
                .collect::<Vec<_>>()
        );
    }
    if std::env::args().nth(3).as_deref() == Some("exchange") {
        let mut spec = EamNebSpec::new(EamPotential::Zhou04(vec![el.clone()]));
        spec.exchange = true;
        spec.slab = SlabSpec {
            size: None,
            layers_below: 5,
            fixed_layers: 2,
        };
        let m = EamNeb::new(&spec, std::slice::from_ref(&el), &lat, 300.0)?;
        for t in m.keys().types() {
            println!(
                "type {:?} env {} points {:?}",
                t.kind,
                t.env.len(),
                t.points
            );
        }
        let key = m.exchange_key(&st, &s, 0);
        let t0 = Instant::now();
        let c = m.calculator().calculate(&key)?;
        println!(
            "exchange: {:?} {:.4} steps {} {:.2}s {:?}",
            c.entry.status,
            c.entry.forward_ev,
            c.entry.neb_steps,
            t0.elapsed().as_secs_f64(),
            c.profile_ev
                .iter()
                .map(|e| e - c.profile_ev[0])
                .map(|e| (e * 1e4).round() / 1e4)
                .collect::<Vec<_>>()
        );
    }
    Ok(())
}
