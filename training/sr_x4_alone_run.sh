#!/usr/bin/env bash
# sr-x4 trained on alone: the shipped file (its body shared with sr-x2 / sr-x3 until now) continued on x4 only
# with a fresh cosine cycle of 6,000 steps, resumable: re-running continues (--resume).
# DATA: the folder holding bsds400/ and t91/.
set -euo pipefail
DATA=${1:?usage: training/sr_x4_alone_run.sh DATA}
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 4 --init sr --iters 6000 --lr 3e-4 \
    --seed 1 --val-images 10 --val-every 500 --out training/sr-x4-alone --name sr --default --resume --threads 1
