#!/usr/bin/env bash
# sr-x2 / sr-x3 / sr-x4 trained on from the shipped weights with scale augmentation (every training image also
# shrunk by 0.9, 0.8, 0.7 and 0.6): sr_run.sh's command with --rescale, against sr_run.sh as its control.
# Resumable: re-running continues (--resume). DATA: the folder holding bsds400/ and t91/.
set -euo pipefail
DATA=${1:?usage: training/sr_rescale_run.sh DATA}
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 2,3,4 --init sr --iters 12000 --lr 3e-4 \
    --rescale 0.9,0.8,0.7,0.6 \
    --seed 0 --val-images 10 --val-every 1000 --out training/sr-rescale --name sr --default --resume --threads 1
