#!/usr/bin/env bash
# Every measurement behind benchmarks/NOTES.md and README.md's benchmark section, in order. Run on an idle machine
# (nothing else on the cores): ~15 min on 2 cores. Results land in benchmarks/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
R=benchmarks/results
mkdir -p "$R"
uptime | tee "$R/load.txt"

# 1. the benchmark itself (tables + JSON)
restore bench --out "$R/bench.md" --json > "$R/bench.json"

# 2. SR: forward-only grid (threads × layout × mode), where the API spends time, tile sweep, engine variants
#    (shipped vs contiguous layout vs bf16), random architectures
python benchmarks/profile_sr.py forward   --model sr-x4 --size 128,288 --threads 1,2 > "$R/sr_forward.jsonl"
python benchmarks/profile_sr.py breakdown --model sr-x4 --size 128,500 > "$R/sr_breakdown.jsonl"
python benchmarks/profile_sr.py tiles     --model sr-x4 --size 1000 --repeats 3 > "$R/sr_tiles.jsonl"
python benchmarks/profile_sr.py engine    --model sr-x4 --size 128,1000 --repeats 3 > "$R/sr_engine.jsonl"
python benchmarks/profile_sr.py archs     --scale 4 --size 256 > "$R/sr_archs.jsonl"

# 3. large image: memory/time of the shipped path, default tile vs 256 vs untiled (fresh process each)
python benchmarks/profile_memory.py --size 2000 --scale 4 --model sr-x4 \
    --variants current,tile-256,current-untiled > "$R/large_memory.jsonl"

# 4. inpainting
python benchmarks/profile_inpaint.py --model inpaint --size 512 > "$R/inpaint_profile.jsonl"
uptime | tee -a "$R/load.txt"
