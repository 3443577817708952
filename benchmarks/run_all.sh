#!/usr/bin/env bash
# The measurements written up in docs/BENCHMARKS.md, in order, on the machine at hand. Run on an idle machine
# (nothing else on the cores). Takes the folder that holds the benchmark sets (Set5/, Set14/, BSD68/):
#     bash benchmarks/run_all.sh path/to/bench [results-folder]
# Results land in benchmarks/results/ (or the folder given), named by date and commit, as docs/BENCHMARKS.md's.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH="${1:?usage: bash benchmarks/run_all.sh path/to/bench [results-folder]}"
R="${2:-benchmarks/results}"
P="$R/$(date +%F)-$(git rev-parse --short HEAD)"
mkdir -p "$R"
uptime | tee "$P-load.txt"

# 1. restore bench: SR ×4 (with peers), ×2/×3, inpainting, the large image, threads quiet and contended
restore bench --task sr --scales 4 --no-large --no-contention --repeats 3 --data "$BENCH/Set5" --out "$P-sr-x4.md"
restore bench --task sr --scales 4 --no-large --no-contention --no-peers --repeats 1 --data "$BENCH/Set14" \
    --out "$P-sr-x4-set14.md"
restore bench --task sr --scales 2,3 --no-large --no-contention --no-peers --repeats 3 --data "$BENCH/Set5" \
    --out "$P-sr-x2-x3.md"
restore bench --task sr --scales 4 --no-peers --no-contention --no-untiled --repeats 1 --data "$BENCH/Set5" \
    --out "$P-sr-large.md"
restore bench --task inpaint --masks thin,thick,box --images 8 --repeats 3 --no-contention --data "$BENCH/BSD68" \
    --out "$P-inpaint.md"

# 2. tiles per model, flat fields by precision, threads under the load there is now, a batch against its compute
python benchmarks/tune_tiles.py --size 1024 > "$P-tiles.md"
python benchmarks/flat_fields.py > "$P-flat-fields.md"
python benchmarks/threads_under_load.py > "$P-threads.md"
python benchmarks/batch_throughput.py --data "$BENCH/BSD68" --scale 4 > "$P-batch.txt"
uptime | tee -a "$P-load.txt"
