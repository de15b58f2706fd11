//! Atoms in and out by position: what an MD code hands over between runs.
//!
//! [`Simulation::atoms`] lists every atom as species and Cartesian positions in the lattice
//! frame; [`Simulation::set_atoms`] maps a configuration back onto sites by the minimum-cost
//! assignment (an atom too far from any site is an error unless accepted).

use super::Simulation;
use crate::error::{Error, Result};
use crate::rates::{AnyRateModel, CustomRateModel, RateModel};
use crate::relax::{MapOptions, Mapping, map_to_lattice};
use crate::state::{Species, State};

/// Atoms as an MD code sees them: species (1-based ids of the scenario's species list) and
/// Cartesian positions in Å, in the lattice frame (layer 0 at z = 0, the periodic box from
/// the origin, see [`Simulation::box_a`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Atoms {
    /// Species id of each atom (1 = the scenario's first species).
    pub species: Vec<Species>,
    /// Position of each atom, Å.
    pub positions_a: Vec<[f64; 3]>,
}

impl Atoms {
    /// Atoms from parallel species and position lists.
    pub fn new(species: Vec<Species>, positions_a: Vec<[f64; 3]>) -> Self {
        Atoms {
            species,
            positions_a,
        }
    }

    /// Number of atoms.
    pub fn len(&self) -> usize {
        self.species.len()
    }

    /// True when there are no atoms.
    pub fn is_empty(&self) -> bool {
        self.species.is_empty()
    }
}

/// What [`Simulation::set_atoms`] does with an atom farther than
/// [`MapOptions::off_lattice_nn`] nearest-neighbour distances from the site it maps to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OffLatticePolicy {
    /// Refuse the whole configuration (the state is unchanged) and say which atom it was.
    #[default]
    Reject,
    /// Map it anyway; it is listed in [`Mapping::off_lattice`].
    Accept,
}

/// Options of [`Simulation::set_atoms`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SetAtomsOptions {
    /// How atoms are assigned to sites (search radii, the off-lattice threshold).
    pub mapping: MapOptions,
    /// What an atom off the lattice does.
    pub off_lattice: OffLatticePolicy,
}

impl Simulation {
    /// The periodic box in Å: lateral lengths and the height of the allocated layers (the
    /// lattice grows upward as the film grows). Sites lie in `[0, Lx) × [0, Ly)`, layer 0 at
    /// z = 0.
    pub fn box_a(&self) -> [f64; 3] {
        let lat = self.state().lattice();
        let [lx, ly] = lat.box_lengths();
        [lx, ly, lat.layers() as f64 * lat.layer_spacing()]
    }

    /// Every atom (substrate included) in site order, as species and site positions in Å.
    pub fn atoms(&self) -> Atoms {
        let st = self.state();
        let lat = st.lattice();
        let mut a = Atoms::default();
        for (idx, &c) in st.cells().iter().enumerate() {
            if c.occupied() {
                a.species.push(c.species());
                a.positions_a.push(lat.position_of(idx));
            }
        }
        a
    }

    /// Site index of every atom, in the order of [`Simulation::atoms`].
    pub fn atom_sites(&self) -> Vec<usize> {
        let cells = self.state().cells();
        (0..cells.len()).filter(|&i| cells[i].occupied()).collect()
    }

    /// Replaces every atom by `atoms` (an MD code handing its configuration over): each atom
    /// goes to a distinct site by the minimum-cost assignment of
    /// [`relax::map_to_lattice`](crate::relax::map_to_lattice) (summed squared displacement
    /// minimal). With [`OffLatticePolicy::Reject`] an atom farther than the off-lattice
    /// threshold from its site is an error naming it, and the state is left unchanged. So is
    /// a configuration that leaves a site of the frozen substrate empty (`atoms` must include
    /// the substrate, as [`Simulation::atoms`] gives it). Every rate is recomputed; the clock
    /// and counters are kept. 3-D lattices only.
    pub fn set_atoms(&mut self, atoms: &Atoms, opts: &SetAtomsOptions) -> Result<Mapping> {
        let n_species = self.species_names().len();
        if atoms.positions_a.len() != atoms.species.len() {
            return Err(Error::Simulation(format!(
                "{} species but {} positions",
                atoms.species.len(),
                atoms.positions_a.len()
            )));
        }
        if let Some(i) = atoms
            .species
            .iter()
            .position(|&s| s == 0 || s as usize > n_species)
        {
            return Err(Error::Simulation(format!(
                "atom {i} has species {}; valid ids are 1..={n_species} ({})",
                atoms.species[i],
                self.species_names().join(", ")
            )));
        }
        let lat = self.state().lattice().clone();
        if lat.kind().is_2d() {
            return Err(Error::Simulation(format!(
                "atoms with 3-D positions cannot be mapped onto the 2-D {:?} lattice; use \
                 set_species_map",
                lat.kind()
            )));
        }
        let list: Vec<(Species, [f64; 3])> = atoms
            .species
            .iter()
            .copied()
            .zip(atoms.positions_a.iter().copied())
            .collect();
        let mapping = map_to_lattice(&lat, &|_| false, &list, &opts.mapping)?;
        if opts.off_lattice == OffLatticePolicy::Reject {
            if let Some(o) = mapping.off_lattice.first() {
                let p = atoms.positions_a[o.atom];
                let q = lat.position_of(o.site);
                return Err(Error::Simulation(format!(
                    "atom {} at ({:.3}, {:.3}, {:.3}) Å is off the lattice: its site {} at \
                     ({:.3}, {:.3}, {:.3}) Å is {:.3} Å away, more than the {:.3} Å allowed \
                     (off_lattice_nn = {} nearest-neighbour distances); {} atom(s) off the \
                     lattice in all (relax the configuration first, or accept off-lattice \
                     atoms: accept_off_lattice=True in Python, a nonzero accept_off_lattice \
                     in C, OffLatticePolicy::Accept in Rust)",
                    o.atom,
                    p[0],
                    p[1],
                    p[2],
                    o.site,
                    q[0],
                    q[1],
                    q[2],
                    o.distance_a,
                    opts.mapping.off_lattice_nn * lat.nn_distance(),
                    opts.mapping.off_lattice_nn,
                    mapping.off_lattice.len()
                )));
            }
        }
        let ls = lat.layer_size();
        let layers = lat.layers().max(mapping.layers_needed);
        let mut map = vec![0u8; layers * ls];
        for (&site, &sp) in mapping.sites.iter().zip(&mapping.species) {
            map[site] = sp;
        }
        self.check_frozen_kept(&map)?;
        self.set_species_map(&map)?;
        Ok(mapping)
    }

    /// Refuses a species map that empties an occupied site of the frozen layers: those atoms
    /// never move, so a configuration handed over without the substrate would leave the film
    /// floating above an empty layer 0, where new atoms would then land.
    fn check_frozen_kept(&self, map: &[Species]) -> Result<()> {
        let st = self.state();
        let lat = st.lattice();
        let frozen = st.frozen_layers() * lat.layer_size();
        let occupied = |i: usize| st.cells()[i].occupied();
        let lost: Vec<usize> = (0..frozen.min(st.cells().len()))
            .filter(|&i| occupied(i) && map.get(i).is_none_or(|&s| s == 0))
            .collect();
        let Some(&first) = lost.first() else {
            return Ok(());
        };
        let total = (0..frozen.min(st.cells().len()))
            .filter(|&i| occupied(i))
            .count();
        let p = lat.position_of(first);
        Err(Error::Simulation(format!(
            "the configuration would empty {} of the {total} occupied sites of the frozen \
             substrate (layers 0..{}), e.g. site {first} at ({:.3}, {:.3}, {:.3}) Å: the atoms \
             handed in replace every atom, substrate included, and frozen atoms never come \
             back, so the film would float over a hole; hand the substrate back too (the atom \
             list the simulation gives out includes it)",
            lost.len(),
            st.frozen_layers(),
            p[0],
            p[1],
            p[2]
        )))
    }

    /// Replaces the occupancy by `state`, which must be on this simulation's lattice (kind,
    /// lattice constant, c/a and lateral grid; it may have more layers). Every rate is recomputed;
    /// the clock and counters are kept.
    pub fn set_state(&mut self, state: State) -> Result<()> {
        let (a, b) = (state.lattice(), self.state().lattice());
        if !a.same_crystal(b) || a.grid() != b.grid() {
            return Err(Error::Simulation(format!(
                "state on a {:?} lattice, a = {} Å, c/a {:?}, grid {:?}; the simulation has {:?}, \
                 a = {} Å, c/a {:?}, grid {:?}",
                a.kind(),
                a.lattice_constant(),
                a.c_over_a(),
                a.grid(),
                b.kind(),
                b.lattice_constant(),
                b.c_over_a(),
                b.grid()
            )));
        }
        self.set_species_map(&state.species_map())
    }

    /// Replaces the rate model by one written outside the crate (any `RateModel + Clone`). The
    /// scenario's `rate_model` is then only a placeholder; checkpoints restore only into a
    /// simulation given the same model (every restored rate is checked against it).
    pub fn set_rate_model(&mut self, model: impl RateModel + Clone + 'static) -> Result<()> {
        let range = model.interaction_range();
        if range > crate::lattice::MAX_RANGE {
            return Err(Error::Simulation(format!(
                "rate model `{}` has interaction range {range}; the lattice supports at most {}",
                model.name(),
                crate::lattice::MAX_RANGE
            )));
        }
        self.engine
            .set_model(AnyRateModel::Custom(CustomRateModel::new(model)));
        self.parallel = None;
        Ok(())
    }
}
