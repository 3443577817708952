#!/usr/bin/env bash
# sr-x2 trained on alone (one scale per body) from the shipped weights, the same cycle as training/sr_run.sh:
# the one-scale-per-body lever against the shared run at equal steps. Resumable (--resume).
# DATA: the folder holding bsds400/ and t91/.
set -euo pipefail
DATA=${1:?usage: training/sr_x2_run.sh DATA}
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 2 --init sr --iters 12000 --lr 3e-4 \
    --seed 0 --val-images 10 --val-every 1000 --out training/sr-x2 --name sr --default --resume --threads 1
