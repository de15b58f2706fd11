"""kmc: lattice kinetic Monte Carlo for metal film growth (Python bindings).

    import kmc
    sim = kmc.Simulation.from_file("scenarios/quickstart.ron")
    sim.run_until(0.1)
    species, positions = sim.species(), sim.positions()   # numpy arrays (N,), (N, 3) in Å
    sim.set_atoms(species, positions + noise)              # atoms back, mapped onto sites
    atoms = sim.to_ase()                                   # with ASE installed
    kmc.from_ase(atoms, sim)

Species ids are 1-based indices into ``sim.species_names``; positions are Cartesian in Å in the
lattice frame (layer 0 at z = 0, periodic over ``sim.box_a[:2]``).
"""

from ._kmc import (  # noqa: F401
    KmcError,
    Sampler,
    Simulation,
    __version__,
    analyze,
    bench_sampler,
    eam_compute,
    eam_energies,
    eam_neb_barrier,
    sampler_kinds,
    set_threads,
    threads,
    write_zhou04_setfl,
)

__all__ = [
    "KmcError",
    "Sampler",
    "Simulation",
    "analyze",
    "bench_sampler",
    "eam_compute",
    "eam_energies",
    "eam_neb_barrier",
    "from_ase",
    "sampler_kinds",
    "set_threads",
    "threads",
    "write_zhou04_setfl",
]


def from_ase(atoms, sim, accept_off_lattice=False):
    """Hands an ``ase.Atoms`` to ``sim``: symbols become species ids by name, positions (Å)
    are mapped onto lattice sites (see ``Simulation.set_atoms``). Returns the mapping report."""
    import numpy as np

    names = sim.species_names
    ids = {name: i + 1 for i, name in enumerate(names)}
    symbols = atoms.get_chemical_symbols()
    unknown = sorted(set(symbols) - set(ids))
    if unknown:
        raise KmcError(
            f"element(s) {', '.join(unknown)} are not species of the scenario ({', '.join(names)})"
        )
    species = np.array([ids[s] for s in symbols], dtype=np.uint8)
    return sim.set_atoms(species, atoms.get_positions(), accept_off_lattice)
