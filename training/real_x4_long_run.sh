#!/usr/bin/env bash
# sr-real-x4 trained on for longer: the shipped gated file (real_run.sh's 5,000 steps on x2 and x4, anchored to
# sr-x4) continued on x4 alone with a fresh cosine cycle of 8,000 steps, resumable: re-running continues
# (--resume). DATA: the folder holding bsds400/ and t91/.
set -euo pipefail
DATA=${1:?usage: training/real_x4_long_run.sh DATA}
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 4 --init sr-real --degradation real \
    --condition jpeg --gated --degradation-set jpeg_last=1 --iters 8000 --batch 16 --patch 48 --lr 3e-4 \
    --seed 1 --val-images 16 --val-every 1000 --out training/sr-real-long --name sr-real --resume --threads 1
