//! A scenario built into an engine: lattice, substrate, initial atoms and particles, rate
//! model, deposition sources and sampler.

use crate::deposit::AtomDeposition;
use crate::engine::{Engine, Source};
use crate::error::{Error, Result};
use crate::lattice::Lattice;
use crate::particle::source::{ParticlePlacement, place_grain};
use crate::particle::template::{Template, nearest_in_layer};
use crate::particle::{LatticeFrame, Particle, ParticleDeposition};
use crate::rates::{AnyRateModel, RateModelSpec};
use crate::rng::{Stream, stream, uniform};
use crate::sampler::AnySampler;
use crate::scenario::{InitialAtoms, Scenario};
use crate::state::State;
use crate::units::NM_IN_ANGSTROM;
use std::path::Path;

/// Builds the engine a scenario describes.
pub fn build_engine(s: &Scenario, base_dir: &Path) -> Result<Engine<AnyRateModel, AnySampler>> {
    let l = &s.lattice;
    let layers = s.allocated_layers();
    let lattice = Lattice::with_c_over_a(
        l.kind,
        l.lattice_constant_a,
        l.c_over_a,
        [l.size.0, l.size.1],
        layers.max(1),
    )?;
    let mut state = State::new(lattice);
    let substrate_species = match &l.substrate_species {
        Some(name) => s.species_id(name, "lattice.substrate_species")?,
        None => 1,
    };
    state.fill_layers(l.substrate_layers, substrate_species)?;
    state.set_frozen_layers(l.frozen_layers);
    // Initial atoms draw from their own stream so adding them never shifts the run's stream.
    let mut init_rng = stream(s.seed, Stream::InitialAtoms);
    for (i, a) in s.initial.iter().enumerate() {
        match a {
            InitialAtoms::RandomLayer {
                species,
                layer_above_substrate,
                coverage,
            } => {
                let sp = s.species_id(species, &format!("initial[{i}].species"))?;
                let layer = l.substrate_layers + layer_above_substrate;
                state.ensure_layers(layer + 1);
                let (nx, ny) = state.lattice().grid();
                for y in 0..ny {
                    for x in 0..nx {
                        let site = state.lattice().site(x, y, layer);
                        if uniform(&mut init_rng) < *coverage && !state.cell(site.idx).occupied() {
                            state.place(&site, sp);
                        }
                    }
                }
            }
            InitialAtoms::Atoms { species, sites } => {
                let sp = s.species_id(species, &format!("initial[{i}].species"))?;
                for (k, &(x, y, layer)) in sites.iter().enumerate() {
                    state.ensure_layers(layer + 1);
                    let (nx, ny) = state.lattice().grid();
                    if x >= nx || y >= ny {
                        return Err(Error::field(
                            format!("initial[{i}].sites[{k}]"),
                            format!("({x}, {y}, {layer}) lies outside the {nx} × {ny} grid"),
                        ));
                    }
                    let site = state.lattice().site(x, y, layer);
                    if state.cell(site.idx).occupied() {
                        return Err(Error::field(
                            format!("initial[{i}].sites[{k}]"),
                            format!("({x}, {y}, {layer}) is already occupied"),
                        ));
                    }
                    state.place(&site, sp);
                }
            }
            // Placed through the engine below, so the contact tracker knows them.
            InitialAtoms::Particle { .. } => {}
        }
    }
    let mut rate_model = s.rate_model.clone();
    match &mut rate_model {
        // Table and cache files are found relative to the scenario file.
        RateModelSpec::BarrierTable(t) => {
            t.base_dir.get_or_insert_with(|| base_dir.to_path_buf());
        }
        RateModelSpec::EamNeb(e) => {
            e.base_dir.get_or_insert_with(|| base_dir.to_path_buf());
            if e.substrate_species.is_none() {
                e.substrate_species = l.substrate_species.clone();
            }
        }
        _ => {}
    }
    let model = rate_model.build(&s.species, state.lattice(), s.temperature_k)?;
    let ls = state.lattice().layer_size();
    let mut sources = Vec::new();
    for (i, d) in s.deposition.iter().enumerate() {
        let sp = s.species_id(&d.species, &format!("deposition[{i}].species"))?;
        sources.push(Source::Atoms(AtomDeposition::new(
            d,
            sp,
            ls,
            &format!("deposition[{i}]"),
        )?));
    }
    for (i, p) in s.particles.iter().enumerate() {
        let f = format!("particles[{i}]");
        let comp = p
            .composition
            .resolve(&format!("{f}.composition"), |n, fl| s.species_id(n, fl))?;
        sources.push(Source::Particles(ParticleDeposition::new(
            p,
            comp,
            state.lattice(),
            &f,
        )?));
    }
    let mut engine = Engine::new(
        state,
        model,
        s.sampler.build(0),
        sources,
        stream(s.seed, Stream::Engine),
    );
    if s.tracks_contacts() {
        engine.enable_contacts(l.substrate_layers, s.contacts.min_atoms);
    }
    for (i, a) in s.initial.iter().enumerate() {
        if let InitialAtoms::Particle {
            shape,
            diameter_nm,
            composition,
            at_nm,
            height_nm,
            orientation,
        } = a
        {
            let f = format!("initial[{i}].Particle");
            let comp =
                composition.resolve(&format!("{f}.composition"), |n, fl| s.species_id(n, fl))?;
            let lat = engine.state().lattice().clone();
            let frame = LatticeFrame::new(&lat)?;
            let p = Particle::build_in(&frame, *shape, *diameter_nm, &comp, &mut init_rng)
                .map_err(|e| Error::field(format!("{f}.diameter_nm"), e.to_string()))?;
            if p.is_empty() {
                return Err(Error::field(
                    format!("{f}.diameter_nm"),
                    format!("a {diameter_nm} nm particle holds no lattice site"),
                ));
            }
            let [lx, ly] = lat.box_lengths();
            let px = (at_nm.0 * NM_IN_ANGSTROM).rem_euclid(lx);
            let py = (at_nm.1 * NM_IN_ANGSTROM).rem_euclid(ly);
            if let Some(o) = orientation {
                let q = o.resolve(&format!("{f}.orientation"), &mut init_rng)?;
                let gp = place_grain(
                    &p,
                    q,
                    engine.grains(),
                    [px, py],
                    height_nm.map(|h| h * NM_IN_ANGSTROM),
                )
                .map_err(|m| Error::field(f.clone(), m))?;
                engine.add_grain(gp.state, gp.frame)?;
                continue;
            }
            let mut t = Template::new(&p, &frame, &lat);
            let placed = match height_nm {
                Some(h) => {
                    let layer = (h * NM_IN_ANGSTROM / lat.layer_spacing()).round() as usize;
                    let (x, y) = nearest_in_layer(&lat, px, py, layer);
                    t.place_at(engine.state(), &frame, [x, y, layer])
                }
                None => t.land(engine.state(), &frame, px, py),
            }
            .map_err(|e| Error::field(f.clone(), e.to_string()))?;
            engine.insert_particle(&ParticlePlacement::new(
                &p,
                &placed,
                &lat,
                comp.shell_species(),
            ));
        }
    }
    if let Some(m) = &s.particle_motion {
        engine.enable_particle_motion(m, crate::units::kt_ev(s.temperature_k), l.substrate_layers);
    }
    Ok(engine)
}
