#!/usr/bin/env bash
# sr-fast-x4 trained on from the shipped weights with a fresh cosine cycle, resumable (--resume).
# DATA: the folder holding bsds400/ and t91/.
set -euo pipefail
DATA=${1:?usage: training/sr_fast_run.sh DATA}
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 4 --init sr-fast --iters 20000 --batch 16 \
    --patch 48 --lr 1e-3 --seed 1 --val-images 10 --val-every 1000 --out training/sr-fast --name sr-fast \
    --resume --threads 1
