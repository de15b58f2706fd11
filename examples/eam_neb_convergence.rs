//! Convergence of the EamNeb barriers on fcc(100) with the slab (Zhou04 EAM): the adatom hop
//! and the adatom–surface exchange, varying one slab dimension at a time from a base slab —
//! the lateral size, the substrate layers below the event (fixed layers held), and the fixed
//! layers (free layers held) — so that width, thickness and the fixed bottom are tested apart.
//!
//! Run: `cargo run --release --example eam_neb_convergence [ELEMENT ...]` (default: Au Pt).
//! With `--slab N,LAYERS,FIXED` first it compares that slab with the one twice as wide and
//! twice as thick (`2N,2·LAYERS,2·FIXED`) instead. Set `KMC_RELAX_TOL` (eV/Å) to change the
//! end-state tolerance and `KMC_NEB_TOL` the band's (defaults: the model's).

use kmc::lattice::LatticeKind;
use kmc::rates::eam_neb::{
    BarrierRequest, EamPotential, EventKind, NebSpec, SlabSpec, adatom_barrier,
};
use std::time::Instant;

/// (what varies, cells per side, substrate layers below the event, fixed layers).
const SLABS: &[(&str, usize, usize, usize)] = &[
    ("width", 4, 5, 2),
    ("width", 5, 5, 2),
    ("width", 6, 5, 2),
    ("width", 8, 5, 2),
    ("width", 10, 5, 2),
    ("free layers", 5, 4, 1),
    ("free layers", 5, 5, 1),
    ("free layers", 5, 6, 1),
    ("free layers", 5, 7, 1),
    ("free layers", 5, 9, 1),
    ("free layers", 5, 11, 1),
    ("fixed layers", 5, 7, 1),
    ("fixed layers", 5, 8, 2),
    ("fixed layers", 5, 9, 3),
    ("fixed layers", 5, 10, 4),
];

/// Forward barriers of the hop and the exchange of a `el` adatom on `el`(100).
fn barriers(el: &str, slab: SlabSpec, neb: NebSpec) -> kmc::Result<[f64; 2]> {
    let mut e = [0.0; 2];
    for (i, event) in [EventKind::Hop, EventKind::Exchange]
        .into_iter()
        .enumerate()
    {
        let r = adatom_barrier(&BarrierRequest {
            potential: EamPotential::Zhou04(vec![el.to_string()]),
            substrate: el.to_string(),
            adatom: el.to_string(),
            surface: LatticeKind::Fcc100,
            event,
            lattice_constant_a: None,
            slab,
            neb,
            base_dir: None,
        })?;
        e[i] = r.entry.forward_ev;
        if std::env::var_os("KMC_VERBOSE").is_some() {
            eprintln!(
                "{el} {event:?} {slab:?}: {:?}, {} band steps, ends {:?} eV",
                r.entry.status, r.entry.neb_steps, r.end_energies_ev
            );
        }
    }
    Ok(e)
}

fn main() -> kmc::Result<()> {
    let mut elements: Vec<String> = std::env::args().skip(1).collect();
    let pair = if elements.first().map(String::as_str) == Some("--slab") {
        let v: Vec<usize> = elements
            .get(1)
            .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
            .unwrap_or_default();
        elements.drain(..2.min(elements.len()));
        match v[..] {
            [n, l, f] => Some((n, l, f)),
            _ => {
                eprintln!("--slab takes N,LAYERS,FIXED");
                std::process::exit(2);
            }
        }
    } else {
        None
    };
    if elements.is_empty() {
        elements = vec!["Au".into(), "Pt".into()];
    }
    let mut neb = NebSpec::default();
    if let Some(t) = std::env::var("KMC_RELAX_TOL")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        neb.relax_tolerance_ev_a = t;
    }
    if let Some(t) = std::env::var("KMC_NEB_TOL")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        neb.force_tolerance_ev_a = t;
    }
    if let Some((n, l, f)) = pair {
        let slab = |k: usize| SlabSpec {
            size: Some((k * n, k * n)),
            layers_below: k * l,
            fixed_layers: k * f,
        };
        println!(
            "slab {n}x{n}, {l} layers, {f} fixed against {}x{}, {}, {}; end states to {} eV/Å",
            2 * n,
            2 * n,
            2 * l,
            2 * f,
            neb.relax_tolerance_ev_a
        );
        println!(
            "{:>4} {:>9} {:>9} {:>8} {:>9} {:>9} {:>8} {:>7}",
            "el", "hop", "hop_2x", "d_meV", "exch", "exch_2x", "d_meV", "time_s"
        );
        for el in &elements {
            let t0 = Instant::now();
            let a = barriers(el, slab(1), neb)?;
            let b = barriers(el, slab(2), neb)?;
            println!(
                "{:>4} {:>9.5} {:>9.5} {:>8.2} {:>9.5} {:>9.5} {:>8.2} {:>7.1}",
                el,
                a[0],
                b[0],
                1e3 * (a[0] - b[0]),
                a[1],
                b[1],
                1e3 * (a[1] - b[1]),
                t0.elapsed().as_secs_f64()
            );
        }
        return Ok(());
    }
    // `KMC_SLABS="N,LAYERS,FIXED;..."` replaces the series.
    let custom: Vec<(&str, usize, usize, usize)> = std::env::var("KMC_SLABS")
        .unwrap_or_default()
        .split(';')
        .filter_map(|t| {
            let v: Vec<usize> = t.split(',').filter_map(|x| x.parse().ok()).collect();
            (v.len() == 3).then(|| ("given", v[0], v[1], v[2]))
        })
        .collect();
    let slabs = if custom.is_empty() {
        SLABS
    } else {
        &custom[..]
    };
    for el in &elements {
        println!(
            "{el}(100), Zhou04, end states relaxed to {} eV/Å",
            neb.relax_tolerance_ev_a
        );
        println!(
            "{:>13} {:>6} {:>7} {:>6} {:>8} {:>12} {:>12} {:>7}",
            "varies", "cells", "layers", "fixed", "free", "hop_ev", "exchange_ev", "time_s"
        );
        for &(what, n, layers, fixed) in slabs {
            let t0 = Instant::now();
            let slab = SlabSpec {
                size: Some((n, n)),
                layers_below: layers,
                fixed_layers: fixed,
            };
            let e = barriers(el, slab, neb)?;
            println!(
                "{:>13} {:>6} {:>7} {:>6} {:>8} {:>12.5} {:>12.5} {:>7.1}",
                what,
                format!("{n}x{n}"),
                layers,
                fixed,
                layers - fixed,
                e[0],
                e[1],
                t0.elapsed().as_secs_f64()
            );
        }
        println!();
    }
    Ok(())
}
