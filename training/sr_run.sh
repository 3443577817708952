#!/usr/bin/env bash
# sr-x2 / sr-x3 / sr-x4 trained on from the shipped weights (one shared body) with a fresh cosine cycle,
# resumable: re-running continues (--resume). DATA: the folder holding bsds400/ and t91/.
set -euo pipefail
DATA=${1:?usage: training/sr_run.sh DATA}
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 2,3,4 --init sr --iters 12000 --lr 3e-4 \
    --seed 0 --val-images 10 --val-every 1000 --out training/sr --name sr --default --resume --threads 1
