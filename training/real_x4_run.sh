#!/usr/bin/env bash
# sr-real-x4 re-derived from the shipped sr-x4: real_run.sh's recipe on ×4 alone (sr-x4 and sr-x2 no longer
# share a body, so each real-photo model is anchored to its own clean file). Resumable: re-running continues
# (--resume). DATA: the folder holding bsds400/ and t91/.
set -euo pipefail
DATA=${1:?usage: training/real_x4_run.sh DATA}
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 4 --init sr --degradation real \
    --condition jpeg --gated --degradation-set jpeg_last=1 --iters 5000 --batch 16 --patch 48 --lr 5e-4 \
    --seed 0 --val-images 16 --val-every 500 --out training/sr-real-x4 --name sr-real --resume --threads 1
