import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]

SMALL = """(
    name: "py", seed: 3, temperature_k: 350.0, species: ["Cu", "Ag"],
    lattice: (kind: Fcc100, lattice_constant_a: 3.615, size: (6, 6),
              substrate_layers: 3, frozen_layers: 1),
    rate_model: BondCounting((
        species: { "Cu": (prefactor_hz: 1e13, barrier_ev: 0.48),
                   "Ag": (prefactor_hz: 1e13, barrier_ev: 0.40) },
        bonds_ev: [("Cu", "Cu", 0.25), ("Cu", "Ag", 0.22), ("Ag", "Ag", 0.20)])),
    deposition: [(species: "Cu", flux_ml_per_s: 200.0), (species: "Ag", flux_ml_per_s: 100.0)],
    stop: (coverage_ml: 1.0),
)"""


@pytest.fixture
def small():
    import kmc

    sim = kmc.Simulation.from_ron(SMALL)
    sim.run_events(300)
    return sim
