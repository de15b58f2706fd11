//! One barrier on demand (`kmc rates barrier`, Python `kmc.eam_neb_barrier`): an adatom on a
//! flat terrace hopping to the next in-layer site or exchanging with a surface atom, computed
//! exactly as the EamNeb model computes that event in a run (same key, slab and CI-NEB), so the
//! number printed is the number a run would use.

use super::{EamNeb, EamNebSpec, EamPotential, Entry, EventKind, NebSpec, SlabSpec};
use crate::error::{Error, Result};
use crate::lattice::{Lattice, LatticeKind};
use crate::md::eam::Setfl;
use crate::state::State;
use std::path::PathBuf;

/// What to compute.
#[derive(Debug, Clone, PartialEq)]
pub struct BarrierRequest {
    /// The potential (its elements must include `substrate` and `adatom`).
    pub potential: EamPotential,
    /// Species of the substrate.
    pub substrate: String,
    /// Species of the adatom (the mover).
    pub adatom: String,
    /// Surface (lattice kind).
    pub surface: LatticeKind,
    /// Hop to an in-layer nearest neighbour, or exchange with a surface atom.
    pub event: EventKind,
    /// Lattice constant, Å; `None`: the substrate element's from the potential.
    pub lattice_constant_a: Option<f64>,
    /// Slab around the event (the model's default when not given).
    pub slab: SlabSpec,
    /// NEB settings.
    pub neb: NebSpec,
    /// Directory a relative setfl path resolves against.
    pub base_dir: Option<PathBuf>,
}

/// A computed barrier with what it was computed on.
#[derive(Debug, Clone, PartialEq)]
pub struct BarrierReport {
    /// Status, forward and reverse barriers (eV) and band iterations.
    pub entry: Entry,
    /// Relaxed initial and final energies, eV.
    pub end_energies_ev: [f64; 2],
    /// Lattice constant used, Å.
    pub lattice_constant_a: f64,
    /// The slab used (size resolved).
    pub slab: SlabSpec,
    /// The potential as the cache file names it (e.g. `Zhou04(Cu)`).
    pub potential: String,
}

/// Substrate layers of the terrace the key is read on: more than any key reaches down.
const TERRACE_LAYERS: usize = 6;

impl BarrierRequest {
    /// The model spec and species list this request builds (substrate first).
    fn spec(&self) -> (EamNebSpec, Vec<String>) {
        let mut species = vec![self.substrate.clone()];
        if self.adatom != self.substrate {
            species.push(self.adatom.clone());
        }
        let mut spec = EamNebSpec::new(self.potential.clone());
        spec.exchange = self.event == EventKind::Exchange;
        spec.slab = self.slab;
        spec.neb = self.neb;
        spec.base_dir = self.base_dir.clone();
        spec.substrate_species = Some(self.substrate.clone());
        (spec, species)
    }

    /// The substrate's lattice constant from the potential's element line when not given.
    fn lattice_constant(&self, spec: &EamNebSpec) -> Result<f64> {
        if let Some(a) = self.lattice_constant_a {
            if !(a.is_finite() && (0.5..=20.0).contains(&a)) {
                return Err(Error::field(
                    "lattice_constant_a",
                    format!("{a} Å is outside 0.5–20 Å"),
                ));
            }
            return Ok(a);
        }
        let setfl = match &spec.potential {
            EamPotential::Zhou04(els) => {
                let names: Vec<&str> = els.iter().map(String::as_str).collect();
                crate::md::zhou04::setfl(&names)?
            }
            EamPotential::Setfl(f) => {
                let p = PathBuf::from(f);
                let p = match &spec.base_dir {
                    Some(d) if p.is_relative() => d.join(p),
                    _ => p,
                };
                Setfl::read(&p)?
            }
        };
        let el = setfl
            .elements
            .iter()
            .find(|e| e.name == self.substrate)
            .ok_or_else(|| {
                Error::field(
                    "potential",
                    format!(
                        "the potential has no element `{}` (it has {})",
                        self.substrate,
                        setfl
                            .elements
                            .iter()
                            .map(|e| e.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?;
        if el.lattice_constant > 0.0 {
            Ok(el.lattice_constant)
        } else {
            Err(Error::field(
                "lattice_constant_a",
                format!(
                    "the potential gives no lattice constant for `{}`; give one",
                    self.substrate
                ),
            ))
        }
    }
}

/// Computes the forward and reverse barriers of the request's event.
pub fn adatom_barrier(req: &BarrierRequest) -> Result<BarrierReport> {
    if req.surface.is_2d() {
        return Err(Error::field(
            "surface",
            format!(
                "{:?} is a 2-D lattice; EAM barriers need a surface",
                req.surface
            ),
        ));
    }
    let (spec, species) = req.spec();
    let a = req.lattice_constant(&spec)?;
    let lat = Lattice::new(req.surface, a, [12, 12], TERRACE_LAYERS + 8)?;
    let model = EamNeb::new(&spec, &species, &lat, 300.0)?;
    let mut st = State::new(lat.clone());
    st.fill_layers(TERRACE_LAYERS, 1)?;
    let [lx, ly] = lat.box_lengths();
    let s = lat.nearest_in_layer(0.5 * lx, 0.5 * ly, TERRACE_LAYERS);
    let adatom = species
        .iter()
        .position(|x| *x == req.adatom)
        .map_or(1, |p| p as u8 + 1);
    st.place(&s, adatom);
    let tables = lat.class_tables(s.class);
    let key = match req.event {
        EventKind::Hop => {
            let k = tables
                .neighbors
                .iter()
                .position(|o| o.dl == 0)
                .ok_or_else(|| {
                    Error::Simulation(format!("{:?} has no in-layer hop", req.surface))
                })?;
            model.hop_key(&st, &s, k)
        }
        EventKind::Exchange => {
            if tables.exchanges.is_empty() {
                return Err(Error::field(
                    "event",
                    format!("{:?} has no exchange events", req.surface),
                ));
            }
            model.exchange_key(&st, &s, 0)
        }
    };
    let c = model.calculator().calculate(&key)?;
    Ok(BarrierReport {
        entry: c.entry,
        end_energies_ev: c.end_energies_ev,
        lattice_constant_a: a,
        slab: model.calculator().slab(),
        potential: model_potential(&spec)?,
    })
}

fn model_potential(spec: &EamNebSpec) -> Result<String> {
    Ok(match &spec.potential {
        EamPotential::Zhou04(els) => format!("Zhou04({})", els.join(" ")),
        EamPotential::Setfl(f) => format!("setfl {f}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(el: &str, event: EventKind) -> BarrierRequest {
        BarrierRequest {
            potential: EamPotential::Zhou04(vec![el.to_string()]),
            substrate: el.to_string(),
            adatom: el.to_string(),
            surface: LatticeKind::Fcc100,
            event,
            lattice_constant_a: None,
            slab: SlabSpec::default(),
            neb: NebSpec::default(),
            base_dir: None,
        }
    }

    /// The on-demand barrier is the EamNeb model's barrier for the same event, to the last
    /// bit: the key of an adatom on a flat Cu(100) terrace as a run reads it (6 × 6 cells,
    /// 5 substrate layers, as the model's validation tests set it up).
    #[test]
    fn matches_the_model_for_the_same_event() {
        let r = adatom_barrier(&request("Cu", EventKind::Hop)).unwrap();
        let a = crate::md::zhou04::element("Cu").unwrap().lattice_constant();
        assert_eq!(r.lattice_constant_a, a);
        let lat = Lattice::new(LatticeKind::Fcc100, a, [6, 6], 12).unwrap();
        let mut st = State::new(lat.clone());
        st.fill_layers(5, 1).unwrap();
        let s = lat.site(3, 6, 5);
        st.place(&s, 1);
        let spec = EamNebSpec::new(EamPotential::Zhou04(vec!["Cu".into()]));
        let m = EamNeb::new(&spec, &["Cu".to_string()], &lat, 300.0).unwrap();
        let k = lat
            .class_tables(s.class)
            .neighbors
            .iter()
            .position(|o| o.dl == 0)
            .unwrap();
        let e = m
            .calculator()
            .calculate(&m.hop_key(&st, &s, k))
            .unwrap()
            .entry;
        assert_eq!(r.entry.status, super::super::Status::Ok);
        assert_eq!(r.entry.forward_ev.to_bits(), e.forward_ev.to_bits());
        assert_eq!(r.entry.reverse_ev.to_bits(), e.reverse_ev.to_bits());
        // LAMMPS drag-method value for this hop (rates/fcc100_zhou04.ron): 0.4829 eV.
        assert!((r.entry.forward_ev - 0.4829).abs() < 0.003, "{:?}", r.entry);
    }

    #[test]
    fn bad_requests_are_refused_with_the_field() {
        let mut r = request("Cu", EventKind::Hop);
        r.adatom = "Zz".into();
        let e = adatom_barrier(&r).unwrap_err().to_string();
        assert!(e.contains("Zz"), "{e}");
        let mut r = request("Cu", EventKind::Hop);
        r.lattice_constant_a = Some(1e300);
        let e = adatom_barrier(&r).unwrap_err().to_string();
        assert!(e.contains("lattice_constant_a"), "{e}");
        let mut r = request("Cu", EventKind::Hop);
        r.surface = LatticeKind::Square;
        let e = adatom_barrier(&r).unwrap_err().to_string();
        assert!(e.contains("2-D"), "{e}");
    }
}
