#!/usr/bin/env bash
# sr-x2 / sr-x3 / sr-x4's last stage: the shipped weights (one shared body) fine-tuned with an MSE loss at a low
# learning rate (what PSNR measures; L1 before), resumable: re-running continues (--resume).
# DATA: the folder holding bsds400/ and t91/.
set -euo pipefail
DATA=${1:?usage: training/sr_mse_run.sh DATA}
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 2,3,4 --init sr --loss mse \
    --iters 4000 --lr 1e-4 --seed 2 --val-images 10 --val-every 500 \
    --out training/sr-mse --name sr --default --resume --threads 1
