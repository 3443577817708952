#!/usr/bin/env bash
# The one script for a machine with a GPU: CUDA-marked tests, then the throughput run. Skips cleanly on CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pytest -q tests/test_pyramids.py -k cuda || true   # the CUDA-marked tests (skipped without CUDA)
python benchmarks/gpu_bench.py --out "${1:-benchmarks/results/gpu.json}"
