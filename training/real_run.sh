#!/usr/bin/env bash
# The quantisation-aware real-photo models (sr-real-x2, sr-real-x4), resumable: re-running continues (--resume).
# DATA: the folder holding bsds400/ and t91/.
set -euo pipefail
DATA=${1:?usage: training/real_run.sh DATA}
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 2,4 --init sr --degradation real \
    --condition jpeg --gated --degradation-set jpeg_last=1 --iters 5000 --batch 16 --patch 48 --lr 5e-4 \
    --seed 0 --val-images 16 --val-every 500 --out training/sr-real --name sr-real --resume --threads 1
