"""The Python module: simulation, atoms as numpy arrays, checkpoints, observers, ASE, samplers."""

import math

import numpy as np
import pytest

import kmc
from conftest import REPO, SMALL


def test_from_file_runs_the_quickstart():
    sim = kmc.Simulation.from_file(str(REPO / "scenarios" / "quickstart.ron"))
    assert sim.species_names == ["Cu"]
    assert sim.run_events(200) == 200
    o = sim.observables()
    assert o["events"] == 200 and o["time_s"] == sim.time > 0
    # 32 x 32 conventional Cu(100) cells of 3.615 Å.
    assert sim.box_a[:2] == pytest.approx([32 * 3.615, 32 * 3.615])


def test_bad_scenarios_raise_kmc_error_with_a_location():
    with pytest.raises(kmc.KmcError, match=r"1:\d+"):
        kmc.Simulation.from_ron("(name: 1)")
    with pytest.raises(kmc.KmcError, match="nonexistent"):
        kmc.Simulation.from_file("/nonexistent/x.ron")


def test_atoms_are_numpy_arrays_and_round_trip(small):
    sp, pos = small.species(), small.positions()
    assert sp.dtype == np.uint8 and pos.dtype == np.float64
    assert pos.shape == (len(small), 3) and sp.shape == (len(small),)
    assert set(np.unique(sp)) <= {1, 2}
    before = small.observables()
    rng = np.random.default_rng(1)
    order = rng.permutation(len(sp))
    # 0.1 Å of noise and a shuffled order: the same sites come back.
    rep = small.set_atoms(sp[order], pos[order] + rng.uniform(-0.1, 0.1, pos.shape))
    assert rep["off_lattice"] == [] and rep["max_residual_a"] < 0.18
    after = small.observables()
    for k in ("coverage_ml", "islands", "islands_ge2", "film_atoms_by_species", "atoms"):
        assert after[k] == before[k], k
    np.testing.assert_array_equal(np.sort(small.sites()), np.sort(rep["sites"]))


def test_off_lattice_atoms_are_refused(small):
    sp, pos = small.species(), small.positions()
    pos[4, 0] += 1.1  # a bridge site: 0.43 nearest-neighbour distances from any site
    with pytest.raises(kmc.KmcError, match="atom 4 .*off the lattice"):
        small.set_atoms(sp, pos)
    rep = small.set_atoms(sp, pos, accept_off_lattice=True)
    assert rep["off_lattice"] == [4]
    with pytest.raises(ValueError, match="shape"):
        small.set_atoms(sp, pos[:, :2])
    with pytest.raises(kmc.KmcError, match="valid ids are 1..=2"):
        small.set_atoms(np.full(len(sp), 7), pos)


def test_atoms_without_the_frozen_substrate_are_refused(small):
    sp, pos = small.species(), small.positions()
    before = small.sites()
    film = pos[:, 2] > 0.1  # layer 0 (the frozen one of SMALL) sits at z = 0
    with pytest.raises(kmc.KmcError, match=r"would empty 72 of the 72 occupied sites of the frozen substrate"):
        small.set_atoms(sp[film], pos[film])
    np.testing.assert_array_equal(small.sites(), before)


def test_off_lattice_message_names_the_python_option(small):
    sp, pos = small.species(), small.positions()
    pos[40, 1] += 1.1
    with pytest.raises(kmc.KmcError, match="accept_off_lattice=True in Python"):
        small.set_atoms(sp, pos)


def test_checkpoints_continue_bit_identically(small, tmp_path):
    ck = small.checkpoint()
    small.save_checkpoint(str(tmp_path / "c.kmc"))
    small.run_events(400)
    end = small.observables()
    other = kmc.Simulation.from_ron(SMALL)
    other.restore_checkpoint(ck)
    other.run_events(400)
    assert other.observables() == end
    other.load_checkpoint(str(tmp_path / "c.kmc"))
    other.run_events(400)
    assert other.observables() == end
    with pytest.raises(kmc.KmcError, match="checksum"):
        other.restore_checkpoint(ck[:-1] + bytes([ck[-1] ^ 1]))


def test_observers_and_their_exceptions(small):
    seen = []
    oid = small.add_observer(lambda o: seen.append(o["events"]), every_events=25)
    small.run_events(100)
    assert len(seen) == 4 and all(e % 25 == 0 for e in seen)
    t0 = small.time
    times = []
    small.add_observer(lambda o: times.append(o["time_s"]), every_s=1e-4)
    small.run_until(t0 + 3.5e-4)
    assert [round((t - t0) / 1e-4, 9) for t in times] == [1.0, 2.0, 3.0]
    assert small.remove_observer(oid) and not small.remove_observer(oid)

    def boom(o):
        raise RuntimeError("observer failed")

    small.add_observer(boom, every_events=10)
    with pytest.raises(RuntimeError, match="observer failed"):
        small.run_events(20)
    with pytest.raises(ValueError):
        small.add_observer(print)


def test_ase_round_trip(small):
    ase = pytest.importorskip("ase")
    atoms = small.to_ase()
    assert isinstance(atoms, ase.Atoms) and len(atoms) == len(small)
    assert list(atoms.pbc) == [True, True, False]
    assert set(atoms.get_chemical_symbols()) <= {"Cu", "Ag"}
    before = small.observables()
    atoms.rattle(stdev=0.03, seed=2)
    rep = kmc.from_ase(atoms, small)
    assert rep["off_lattice"] == []
    assert small.observables()["film_atoms_by_species"] == before["film_atoms_by_species"]
    bad = ase.Atoms("Fe", positions=[[0, 0, 0]])
    with pytest.raises(kmc.KmcError, match="Fe"):
        kmc.from_ase(bad, small)


def test_samplers_select_in_proportion_to_rates():
    rates = np.array([1.0, 2.0, 3.0, 0.0, 4.0])
    for kind in kmc.sampler_kinds():
        s = kmc.Sampler(kind, rates, seed=5)
        assert len(s) == 5 and s.total() == pytest.approx(10.0)
        draws = s.select_many(20000)
        counts = np.bincount(draws, minlength=5)
        assert counts[3] == 0
        # Chi-square with 3 degrees of freedom: 16.27 is the 0.1 % quantile.
        expected = 20000 * rates[[0, 1, 2, 4]] / 10.0
        chi2 = float(np.sum((counts[[0, 1, 2, 4]] - expected) ** 2 / expected))
        assert chi2 < 16.27, (kind, counts)
        s.set(3, 10.0)
        assert s.total() == pytest.approx(20.0)
        with pytest.raises(ValueError):
            s.set(0, -1.0)
    with pytest.raises(ValueError, match="unknown sampler"):
        kmc.Sampler("nope", rates)
    row = kmc.bench_sampler("sum-tree", 1000, measure_time_s=0.02)
    assert row["ns_per_event"] > 0 and row["iterations"] >= 1000


def test_analyze_returns_numpy_columns_per_frame(tmp_path):
    path = REPO / "tests" / "data" / "analyze" / "ase_pair.xyz"
    a = kmc.analyze(str(path), out=str(tmp_path))
    assert list(a["frame"]) == [0, 1]
    assert a["centre_distance_a"] == pytest.approx([10.0, 9.0], abs=1e-7)
    assert list(a["surface_atoms"]) == [24, 24]
    assert a["surface_fraction_Ag"] == pytest.approx([0.5, 0.5])
    assert "connectivity" in a["labels_from"]
    assert a["initial_misorientation_deg"] == pytest.approx(0.0, abs=1e-6)
    assert (tmp_path / "analyze.csv").read_text().count("\n") == 3
    with pytest.raises(kmc.KmcError, match="grain"):
        kmc.analyze(str(path), label_column="grain")


def test_thread_pool_is_sized_only_before_it_runs():
    n = kmc.threads()  # starts the pool if nothing has yet
    assert n >= 1
    with pytest.raises(kmc.KmcError, match=f"already running with {n} thread"):
        kmc.set_threads(1)
    assert kmc.threads() == n
