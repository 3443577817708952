#!/usr/bin/env bash
# sr-fast-x4's last stage: the shipped file (sr_fast_rep_run.sh, collapsed to the plain network) fine-tuned with an
# MSE loss at a tenth of its learning rate (what PSNR measures; L1 before), resumable: re-running continues
# (--resume). DATA: the folder holding bsds400/ and t91/.
set -euo pipefail
DATA=${1:?usage: training/sr_fast_mse_run.sh DATA}
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 4 --init sr-fast --loss mse \
    --iters 4000 --batch 16 --patch 48 --lr 2e-4 --seed 2 --val-images 10 --val-every 500 \
    --out training/sr-fast-mse --name sr-fast --resume --threads 1
