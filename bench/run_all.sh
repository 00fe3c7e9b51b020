#!/usr/bin/env bash
# Runs the peer (Label Studio, /work/shared/bench/label_studio.sh) and truelabel's own benches
# in one run, one after the other (never at the same time: the machine has 2 cores), at the
# peer's sizes and at 1M, then prints a comparison table (ours / peer) and writes JSON to
# bench/results/. Extra arguments go to the peer's benchmark (e.g. --n-large 100000).
#
#   bash bench/run_all.sh                 # everything (~25 min once Label Studio is installed)
#   SKIP_PEER=1 bash bench/run_all.sh     # ours only; compares with the reference peer run
#   REUSE_PEER=1 bash bench/run_all.sh    # ours only; keeps results/label_studio.json of an
#                                         # earlier live peer run (if there is one)
#   SKIP_1M=1 bash bench/run_all.sh       # peer sizes only
#   QUIET_WAIT=60 bash bench/run_all.sh   # wait at most 60 s for a quiet machine per step
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
py=${PYTHON:-$root/.venv/bin/python}
results=${RESULTS:-$here/results}
peer_dir=${PEER_DIR:-/work/shared/bench}
seed=${SEED:-42}
n_small=${N_SMALL:-10000}     # the peer's --n-small (import, cycles, export)
n_large=${N_LARGE:-100000}    # the peer's --n-large (import with seed+1, 50 cycles)
n_target=${N_TARGET:-1000000} # the issue's targets
quiet=(--quiet-wait "${QUIET_WAIT:-180}")
ref_json="$peer_dir/results/label_studio_baseline.json"  # the peer's run on a quiet machine
mkdir -p "$results"
cache=$(mktemp -d /tmp/truelabel-bench-cache.XXXXXX)
trap 'rm -rf "$cache"' EXIT
log() { printf '\n### [%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# ---- the peer first (its install, if needed, must not overlap our measurements)
peer_json="$results/label_studio.json"
peer_note="live run"
if [ -n "${REUSE_PEER:-}" ] && [ -s "$peer_json" ]; then
  peer_note="live run (earlier, $(date -r "$peer_json" +%H:%M))"
  log "reusing the live peer results $peer_json"
elif [ -z "${SKIP_PEER:-}" ]; then
  log "peer: Label Studio (N=$n_small / $n_large, seed $seed)"
  rm -f "$peer_json"
  (cd "$here" && "$py" -c 'import sys, common; print(common.wait_quiet(float(sys.argv[1])))' \
    "${QUIET_WAIT:-180}")
  if ! OUT="$peer_json" bash "$peer_dir/label_studio.sh" --seed "$seed" --n-small "$n_small" \
      --n-large "$n_large" "$@"; then
    echo "peer run FAILED" >&2
  fi
fi
if [ ! -s "$peer_json" ]; then
  peer_json="$ref_json"
  peer_note="REFERENCE run (live peer run skipped or failed)"
  log "using the peer's reference results $peer_json"
fi

# ---- ours at the peer's sizes: same texts (seed for the small project, seed+1 for the large)
cd "$root"
log "truelabel import/export, N=$n_small"
"$py" bench/bench_import_export.py "${quiet[@]}" \
  --n "$n_small" --seed "$seed" --data-cache "$cache" \
  --out "$results/import_export_n$n_small.json"
log "truelabel import/export, N=$n_large"
"$py" bench/bench_import_export.py "${quiet[@]}" \
  --n "$n_large" --seed $((seed + 1)) --data-cache "$cache" \
  --out "$results/import_export_n$n_large.json"
log "truelabel next+submit, N=$n_small: 500 cycles x 1 client, 504 cycles x 8 clients"
"$py" bench/bench_cycle.py "${quiet[@]}" \
  --n "$n_small" --seed "$seed" --seq-cycles 500 --clients 8 \
  --conc-cycles 504 --data-cache "$cache" --out "$results/cycle_n$n_small.json"
log "truelabel next+submit, N=$n_large: 50 cycles x 1 client (peer's large_next), 504 x 8"
"$py" bench/bench_cycle.py "${quiet[@]}" \
  --n "$n_large" --seed $((seed + 1)) --seq-cycles 50 --clients 8 \
  --conc-cycles 504 --data-cache "$cache" --out "$results/cycle_n$n_large.json"

# ---- ours at the issue's size (more cycles: a steadier p99)
if [ -z "${SKIP_1M:-}" ]; then
  log "truelabel import/export, N=$n_target"
  "$py" bench/bench_import_export.py "${quiet[@]}" \
    --n "$n_target" --seed "$seed" --data-cache "$cache" \
    --out "$results/import_export_n$n_target.json"
  log "truelabel next+submit, N=$n_target: 2000 cycles x 1 client, 8000 cycles x 8 clients"
  "$py" bench/bench_cycle.py "${quiet[@]}" \
    --n "$n_target" --seed "$seed" --seq-cycles 2000 --clients 8 \
    --conc-cycles 8000 --data-cache "$cache" --out "$results/cycle_n$n_target.json"
fi

log "comparison"
"$py" bench/common.py compare "$results" "$peer_json" "$peer_note" "$ref_json"
