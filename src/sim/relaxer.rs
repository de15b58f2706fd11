//! The contact hook: contacts handed to the embedded MD relaxer during a KMC run.
//!
//! On every contact the run loop calls [`ContactRelaxer::relax`]: the bodies of the contact
//! that are particles (known to the contact tracker by [`ContactTracker::particle_of`]) are
//! released whole while their atoms together number at most
//! [`RelaxSpec::whole_particles_max_atoms`]; the film side and bodies above the limit are cut
//! by a sphere around the contact point of [`CONTACT_RADIUS_FACTOR`] × the equivalent radius of
//! the smaller body (a particle's size is its atom count on arrival; the film counts as
//! infinite), with a frozen shell of one potential cutoff ([`ContactRegion`]).
//! [`relax_region`] runs Nosé–Hoover MD at the scenario temperature until the contact settles
//! (neck growth and energy release below thresholds, see [`crate::relax`]), quenches and maps
//! the atoms back; the atoms are then moved with [`Engine::move_atoms`], so species *and
//! particle identity* travel with them (plain [`Engine::apply`] would set species only and lose
//! which particle an atom came from), and the engine recomputes the rates around every touched
//! site. The run loop then advances the KMC clock by the MD time: the contact stage is
//! simulated time.
//!
//! **Report** ([`RelaxRecord`], one row of `contacts.csv`): atoms moved, residuals, off-lattice
//! atoms, neck radius and centre distance before and after, each body's rigid rotation (Kabsch)
//! and translation, MD time; the wall time stays out of the deterministic files.
//!
//! **Reproducibility.** The MD velocities (and Langevin noise) of contact `k` are seeded from
//! [`Stream::ContactK`]`(k)`, `k` the contact's number in the tracker's count since the start
//! of the simulation, so a run resumed from a checkpoint relaxes each contact exactly as the
//! uninterrupted run did. Forces above the EAM's parallel threshold are summed in chunks fixed
//! by the atom count, so results do not depend on threads.
//!
//! **Mass conservation** is checked after every relaxation (atom count and per-species counts
//! of the released and the re-occupied sites); a violation is an error, never silent.

use crate::engine::Engine;
use crate::engine::contact::{Contact, ContactKind, ContactTracker};
use crate::error::{Error, Result};
use crate::md::Potential;
use crate::rates::RateModel;
use crate::relax::{
    CONTACT_RADIUS_FACTOR, Centre, ContactRegion, GrainRegion, MergePlan, RegionSpec, RelaxParams,
    RelaxSpec, SpeciesMap, equivalent_radius_a, merge_plan, relax_grains, relax_region,
};
use crate::rng::{Stream, stream};
use crate::sampler::RateSampler;
use rand::RngExt;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// What one relaxation did (one row of `contacts.csv`, plus its wall time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelaxRecord {
    /// Radius of the mobile sphere, Å.
    pub region_radius_a: f64,
    /// Bodies released whole (0, 1 or 2).
    pub whole_bodies: u8,
    /// Atoms that moved in MD.
    pub mobile_atoms: usize,
    /// Atoms held fixed (frozen shell, frozen substrate layers).
    pub frozen_atoms: usize,
    /// Atoms that ended on another site.
    pub moved_atoms: usize,
    /// MD time run, ps.
    pub md_time_ps: f64,
    /// MD steps.
    pub md_steps: u64,
    /// MD stopped early because the occupancy had settled.
    pub settled: bool,
    /// Mean distance of a quenched atom from the site it was mapped to, Å.
    pub mean_residual_a: f64,
    /// Largest such distance, Å.
    pub max_residual_a: f64,
    /// Atoms mapped from farther than the off-lattice threshold (a quarter of the
    /// nearest-neighbour distance).
    pub off_lattice: usize,
    /// Potential energy of the region on its sites after minus before, eV.
    pub energy_change_ev: f64,
    /// Neck radius between the two bodies on their sites before MD, Å (definition of
    /// [`crate::observe::analyze`]).
    pub neck_before_a: f64,
    /// Neck radius after the quench, Å.
    pub neck_after_a: f64,
    /// Distance of the bodies' mass centres (their mobile atoms) before MD, Å.
    pub centre_distance_before_a: f64,
    /// After the quench, Å.
    pub centre_distance_after_a: f64,
    /// Rigid rotation of each body (Kabsch fit of its mobile atoms, start to quench), degrees.
    pub rotation_deg: [f64; 2],
    /// Displacement of each body's mass centre, Å.
    pub translation_a: [f64; 2],
    /// For a contact between grains: what happened to the grains.
    pub grain: Option<GrainRecord>,
    /// Wall-clock seconds (relaxation and hand-back); not reproducible, kept out of the
    /// deterministic outputs.
    pub wall_s: f64,
    /// Of which MD, s.
    pub md_wall_s: f64,
}

/// What the contact stage of a contact between grains did to the grains.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GrainRecord {
    /// Cubic misorientation of the two grains after the MD, degrees.
    pub misorientation_deg: f64,
    /// Atoms that ended in the other grain's lattice.
    pub switched_atoms: usize,
    /// True if the two grains merged into one (see [`merge_plan`]).
    pub merged: bool,
    /// Mean distance of the merged grain's atoms from the sites they took, Å (0 unless
    /// merged).
    pub merge_residual_a: f64,
}

/// The columns of `contacts.csv` for a run with grains, after the contact's own.
pub const GRAIN_CONTACT_CSV_COLUMNS: &str =
    "grain_a,grain_b,misorientation_deg,switched_atoms,merged,merge_residual_a";

impl GrainRecord {
    /// The fields of [`GRAIN_CONTACT_CSV_COLUMNS`] after the grains (empty for no record).
    pub fn csv_fields(r: Option<&GrainRecord>) -> String {
        match r {
            Some(g) => format!(
                "{},{},{},{}",
                g.misorientation_deg,
                g.switched_atoms,
                u8::from(g.merged),
                g.merge_residual_a
            ),
            None => ",,,".into(),
        }
    }
}

/// The columns of [`RelaxRecord::csv_fields`] (appended to `contacts.csv`).
pub const RELAX_CSV_COLUMNS: &str = "region_radius_a,whole_bodies,mobile_atoms,frozen_atoms,moved_atoms,md_time_ps,md_steps,settled,mean_residual_a,max_residual_a,off_lattice,energy_change_ev,neck_before_a,neck_after_a,centre_distance_before_a,centre_distance_after_a,rotation_0_deg,rotation_1_deg,translation_0_a,translation_1_a";

impl RelaxRecord {
    /// The reproducible fields, comma-separated, in the order of [`RELAX_CSV_COLUMNS`].
    pub fn csv_fields(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            self.region_radius_a,
            self.whole_bodies,
            self.mobile_atoms,
            self.frozen_atoms,
            self.moved_atoms,
            self.md_time_ps,
            self.md_steps,
            self.settled as u8,
            self.mean_residual_a,
            self.max_residual_a,
            self.off_lattice,
            self.energy_change_ev,
            self.neck_before_a,
            self.neck_after_a,
            self.centre_distance_before_a,
            self.centre_distance_after_a,
            self.rotation_deg[0],
            self.rotation_deg[1],
            self.translation_a[0],
            self.translation_a[1]
        )
    }
}

/// Running totals over the relaxations of a run (saved in checkpoints).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RelaxTotals {
    /// Relaxations done.
    pub relaxations: u64,
    /// Mobile atoms, summed.
    pub mobile_atoms: u64,
    /// Atoms that changed site, summed.
    pub moved_atoms: u64,
    /// Off-lattice atoms, summed.
    pub off_lattice: u64,
    /// MD time, summed, ps.
    pub md_time_ps: f64,
    /// Sum of residuals over all mapped atoms (for the mean), Å.
    pub residual_sum_a: f64,
    /// Largest residual so far, Å.
    pub max_residual_a: f64,
    /// Wall-clock seconds spent relaxing (not reproducible).
    pub wall_s: f64,
}

/// The columns [`RelaxTotals::series_fields`] adds to `series.csv`.
pub const RELAX_SERIES_COLUMNS: &str = "relaxations,relax_md_time_ps,relax_moved_atoms,relax_mean_residual_a,relax_max_residual_a,relax_off_lattice";

impl RelaxTotals {
    /// Adds one relaxation.
    pub fn add(&mut self, r: &RelaxRecord) {
        self.relaxations += 1;
        self.mobile_atoms += r.mobile_atoms as u64;
        self.moved_atoms += r.moved_atoms as u64;
        self.off_lattice += r.off_lattice as u64;
        self.md_time_ps += r.md_time_ps;
        self.residual_sum_a += r.mean_residual_a * r.mobile_atoms as f64;
        self.max_residual_a = self.max_residual_a.max(r.max_residual_a);
        self.wall_s += r.wall_s;
    }

    /// Mean residual over every atom mapped so far, Å (0 before the first relaxation).
    pub fn mean_residual_a(&self) -> f64 {
        if self.mobile_atoms == 0 {
            0.0
        } else {
            self.residual_sum_a / self.mobile_atoms as f64
        }
    }

    /// The reproducible totals, comma-separated, in the order of [`RELAX_SERIES_COLUMNS`].
    pub fn series_fields(&self) -> String {
        format!(
            "{},{},{},{},{},{}",
            self.relaxations,
            self.md_time_ps,
            self.moved_atoms,
            self.mean_residual_a(),
            self.max_residual_a,
            self.off_lattice
        )
    }
}

/// The relaxer of a run: the potential and the settings, built once.
#[derive(Clone)]
pub struct ContactRelaxer {
    spec: RelaxSpec,
    // Shared by clones: a LAMMPS-backed potential is one LAMMPS instance.
    potential: Arc<dyn Potential>,
    species: Vec<String>,
    temperature_k: f64,
    seed: u64,
}

impl std::fmt::Debug for ContactRelaxer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContactRelaxer")
            .field("spec", &self.spec)
            .field("species", &self.species)
            .field("temperature_k", &self.temperature_k)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl ContactRelaxer {
    /// Builds the potential for `species` (lattice species `s` is `species[s - 1]`);
    /// `temperature_k` and `seed` are the scenario's.
    pub fn new(
        spec: &RelaxSpec,
        species: &[String],
        temperature_k: f64,
        seed: u64,
        base_dir: &Path,
    ) -> Result<Self> {
        spec.validate(species)?;
        let potential = spec.build_potential(species, base_dir)?;
        spec.check_region(potential.cutoff())?;
        SpeciesMap::new(species, potential.as_ref())?;
        Ok(ContactRelaxer {
            spec: spec.clone(),
            potential: Arc::from(potential),
            species: species.to_vec(),
            temperature_k: spec.temperature_k.unwrap_or(temperature_k),
            seed,
        })
    }

    /// The potential.
    pub fn potential(&self) -> &dyn Potential {
        self.potential.as_ref()
    }

    /// The mobile sphere's radius for `contact`: the configured radius, or one equivalent
    /// radius of the smaller body (capped by `max_region_radius_a`).
    pub fn region_radius_a(
        &self,
        tracker: &ContactTracker,
        contact: &Contact,
        radius_of_atoms: impl Fn(usize) -> f64,
    ) -> f64 {
        if let Some(r) = self.spec.region_radius_a {
            return r;
        }
        // A particle's size is its atom count on arrival; a body without a particle (the film,
        // an island) is as large as its component was.
        let body = |p: Option<u32>, comp: u64| -> u64 {
            p.and_then(|p| tracker.particles().get(p as usize))
                .map_or(comp, |r| r.atoms as u64)
        };
        let smaller = match contact.kind {
            ContactKind::Merge => body(contact.particles[0], contact.atoms[0])
                .min(body(contact.particles[1], contact.atoms[1])),
            ContactKind::Substrate => body(contact.particles[0], contact.atoms[0]),
            ContactKind::Grains => contact.atoms[0].min(contact.atoms[1]),
        };
        let r = CONTACT_RADIUS_FACTOR * radius_of_atoms(smaller.max(1) as usize);
        self.spec.max_region_radius_a.map_or(r, |m| r.min(m))
    }

    /// The sites of the bodies of `contact` released whole: each body that is a particle, the
    /// smaller first, while their atoms together stay within `whole_particles_max_atoms` and
    /// each lies within half the box of the contact point (so it is one piece in the MD).
    /// Scans the occupied sites once (the tracker keeps no per-particle list).
    fn whole_bodies<M: RateModel, S: RateSampler>(
        &self,
        engine: &Engine<M, S>,
        contact: &Contact,
    ) -> [Vec<usize>; 2] {
        let mut out = [Vec::new(), Vec::new()];
        let (Some(tracker), limit) = (engine.contacts(), self.spec.whole_particles_max_atoms)
        else {
            return out;
        };
        let ps = contact.particles;
        if limit == 0 || ps[0].is_some() && ps[0] == ps[1] {
            return out;
        }
        let state = engine.state();
        let lat = state.lattice();
        let [lx, ly] = lat.box_lengths();
        // Unwrapped around the contact point by the minimum image, a body is one piece while
        // every atom lies less than half a box (less one cutoff) from that point.
        let (reach_x, reach_y) = (
            0.5 * lx - self.potential.cutoff(),
            0.5 * ly - self.potential.cutoff(),
        );
        let c = contact.point_a;
        let mut sites: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
        let mut fits = [true, true];
        for idx in 0..lat.n_sites() {
            if !state.cell(idx).occupied() {
                continue;
            }
            let Some(p) = tracker.particle_of(idx) else {
                continue;
            };
            for k in 0..2 {
                if ps[k] == Some(p) {
                    sites[k].push(idx);
                    let q = lat.position_of(idx);
                    let dx = q[0] - c[0] - lx * ((q[0] - c[0]) / lx).round();
                    let dy = q[1] - c[1] - ly * ((q[1] - c[1]) / ly).round();
                    if dx.abs() > reach_x || dy.abs() > reach_y {
                        fits[k] = false;
                    }
                }
            }
        }
        let order = if sites[0].len() <= sites[1].len() {
            [0, 1]
        } else {
            [1, 0]
        };
        let mut total = 0;
        for k in order {
            let n = sites[k].len();
            if n > 0 && fits[k] && total + n <= limit {
                total += n;
                out[k] = std::mem::take(&mut sites[k]);
            }
        }
        out
    }

    /// Relaxes contact number `index` (counted from the start of the simulation) and hands
    /// the result back to `engine`; checks mass conservation. The caller advances the KMC
    /// clock by the record's `md_time_ps`.
    pub fn relax<M: RateModel, S: RateSampler>(
        &mut self,
        engine: &mut Engine<M, S>,
        contact: &Contact,
        index: u64,
    ) -> Result<RelaxRecord> {
        if contact.kind == ContactKind::Grains {
            return self.relax_grain_contact(engine, contact, index);
        }
        let t0 = Instant::now();
        let whole = self.whole_bodies(engine, contact);
        let state = engine.state();
        let lat = state.lattice().clone();
        let radius_a = match engine.contacts() {
            Some(t) => self.region_radius_a(t, contact, |n| equivalent_radius_a(&lat, n)),
            None => self
                .spec
                .region_radius_a
                .unwrap_or_else(|| equivalent_radius_a(&lat, contact.atoms[0].max(1) as usize)),
        };
        let mut sphere =
            RegionSpec::for_contact(Centre::Point(contact.point_a), 1.0, self.potential.as_ref());
        sphere.radius_a = radius_a;
        let region = ContactRegion {
            sphere,
            whole,
            bond: Some([contact.site, contact.other_site]),
        };
        let params = RelaxParams {
            temperature_k: self.temperature_k,
            seed: stream(self.seed, Stream::ContactK(index)).random::<u64>(),
            ..self.spec.params()
        };
        let out = relax_region(
            state,
            &self.species,
            self.potential.as_ref(),
            &region,
            &params,
        )?;
        // The mobile atoms, in the order the mapping lists their destinations.
        let released = &out.released;
        if released.len() != out.mapping.sites.len() {
            return Err(Error::Simulation(format!(
                "relaxer at contact {index}: {} atoms released, {} mapped back",
                released.len(),
                out.mapping.sites.len()
            )));
        }
        let mut before = [0u64; 16];
        for &s in released {
            before[state.species(s) as usize] += 1;
        }
        let atoms_before = state.n_atoms();
        let moves: Vec<(usize, usize)> = released
            .iter()
            .zip(&out.mapping.sites)
            .filter(|(a, b)| a != b)
            .map(|(&a, &b)| (a, b))
            .collect();
        // Most contacts of aligned particles settle back onto their own sites; then nothing
        // changed and the rebuild of the contact tracker (O(film)) is skipped.
        if !moves.is_empty() {
            engine.ensure_layers(out.mapping.layers_needed);
            engine.move_atoms(&moves)?;
        }
        let state = engine.state();
        let mut after = [0u64; 16];
        for &s in &out.mapping.sites {
            after[state.species(s) as usize] += 1;
        }
        let conserved = state.n_atoms() == atoms_before
            && before == after
            && out
                .changes
                .iter()
                .all(|&(site, sp)| state.species(site) == sp);
        debug_assert!(
            conserved,
            "relaxer at contact {index} lost or created atoms"
        );
        if !conserved {
            return Err(Error::Simulation(format!(
                "relaxer at contact {index} broke mass conservation: {atoms_before} atoms before, \
                 {} after; per species before {before:?}, after {after:?}",
                state.n_atoms()
            )));
        }
        #[cfg(debug_assertions)]
        {
            let mut st = engine.state().clone();
            debug_assert_eq!(
                st.rebuild_derived(),
                0,
                "derived state out of date after relax"
            );
            if let Some(t) = engine.contacts_mut() {
                debug_assert!(t.verify(&st), "contact tracker out of date after relax");
            }
        }
        let [b0, b1] = out.bodies;
        Ok(RelaxRecord {
            region_radius_a: radius_a,
            whole_bodies: u8::from(b0.whole) + u8::from(b1.whole),
            mobile_atoms: out.mobile_atoms,
            frozen_atoms: out.frozen_atoms,
            moved_atoms: out.moved_atoms,
            md_time_ps: out.md_time_ps,
            md_steps: out.md_steps,
            settled: out.settled,
            mean_residual_a: out.mapping.mean_residual_a,
            max_residual_a: out.mapping.max_residual_a,
            off_lattice: out.mapping.off_lattice.len(),
            energy_change_ev: out.energy_mapped_ev - out.energy_initial_ev,
            neck_before_a: out.neck_before_a,
            neck_after_a: out.neck_after_a,
            centre_distance_before_a: out.centre_distance_before_a,
            centre_distance_after_a: out.centre_distance_after_a,
            rotation_deg: [b0.rotation_deg, b1.rotation_deg],
            translation_a: [b0.translation_a, b1.translation_a],
            grain: None,
            wall_s: t0.elapsed().as_secs_f64(),
            md_wall_s: out.timings.md_s,
        })
    }

    /// Relaxes a contact between two grains over the grains ([`relax_grains`]): whole
    /// particle grains turn and move with the MD, atoms go to sites of either grain, and the
    /// grains merge if they came into register (see [`merge_plan`]).
    fn relax_grain_contact<M: RateModel, S: RateSampler>(
        &mut self,
        engine: &mut Engine<M, S>,
        contact: &Contact,
        index: u64,
    ) -> Result<RelaxRecord> {
        let t0 = Instant::now();
        let Some([ga, gb]) = contact.grains else {
            return Err(Error::Simulation(format!(
                "contact {index} between grains names no grains"
            )));
        };
        let (ga, gb) = (ga as usize, gb as usize);
        let lat = engine.state().lattice().clone();
        let smaller = contact.atoms[0].min(contact.atoms[1]).max(1) as usize;
        let radius_a = self.spec.region_radius_a.unwrap_or_else(|| {
            let r = CONTACT_RADIUS_FACTOR * equivalent_radius_a(&lat, smaller);
            self.spec.max_region_radius_a.map_or(r, |m| r.min(m))
        });
        let region = GrainRegion {
            grains: [ga, gb],
            point_a: contact.point_a,
            radius_a,
            frozen_shell_a: self.potential.cutoff(),
            whole_max_atoms: self.spec.whole_particles_max_atoms,
        };
        let params = RelaxParams {
            temperature_k: self.temperature_k,
            seed: stream(self.seed, Stream::ContactK(index)).random::<u64>(),
            ..self.spec.params()
        };
        let count = |e: &Engine<M, S>| {
            let mut c = [0u64; 16];
            for (_, sp, _) in e.grains().atoms() {
                c[sp as usize] += 1;
            }
            c
        };
        let before = count(engine);
        let out = relax_grains(
            engine.grains(),
            &self.species,
            self.potential.as_ref(),
            &region,
            &params,
        )?;
        engine.regrain(&out.frames, &out.removed, &out.placed, &out.film_moves)?;
        let mut grain = GrainRecord {
            misorientation_deg: out.misorientation_deg,
            switched_atoms: out.switched_atoms,
            merged: false,
            merge_residual_a: 0.0,
        };
        // A particle grain taking the other's atoms may first need a larger box (once).
        for _ in 0..2 {
            match merge_plan(engine.grains(), ga, gb, &self.spec.merge, &params.mapping)? {
                MergePlan::Persist { .. } => break,
                MergePlan::GrowBox(g, m) => engine.grow_grain_box(g, m)?,
                MergePlan::Merge {
                    removed,
                    placed,
                    mean_residual_a,
                    ..
                } => {
                    engine.regrain(&[], &removed, &placed, &[])?;
                    grain.merged = true;
                    grain.merge_residual_a = mean_residual_a;
                    break;
                }
            }
        }
        let after = count(engine);
        if before != after {
            return Err(Error::Simulation(format!(
                "relaxer at contact {index} (grains {ga} and {gb}) broke mass conservation: \
                 per species before {before:?}, after {after:?}"
            )));
        }
        let [b0, b1] = out.bodies;
        Ok(RelaxRecord {
            region_radius_a: radius_a,
            whole_bodies: u8::from(out.whole[0]) + u8::from(out.whole[1]),
            mobile_atoms: out.mobile_atoms,
            frozen_atoms: out.frozen_atoms,
            moved_atoms: out.moved_atoms,
            md_time_ps: out.md_time_ps,
            md_steps: out.md_steps,
            settled: out.settled,
            mean_residual_a: out.mean_residual_a,
            max_residual_a: out.max_residual_a,
            off_lattice: out.off_lattice,
            energy_change_ev: out.energy_mapped_ev - out.energy_initial_ev,
            neck_before_a: out.neck_before_a,
            neck_after_a: out.neck_after_a,
            centre_distance_before_a: out.centre_distance_before_a,
            centre_distance_after_a: out.centre_distance_after_a,
            rotation_deg: [b0.rotation_deg, b1.rotation_deg],
            translation_a: [b0.translation_a, b1.translation_a],
            grain: Some(grain),
            wall_s: t0.elapsed().as_secs_f64(),
            md_wall_s: out.md_s,
        })
    }
}
