#!/usr/bin/env bash
# sr-fast-x4 with a luma residual (one residual added to R, G and B alike; the colours are the bicubic skip's):
# the upsampler's output convolution shrinks to a third, and what it saves pays for a third body block (the same
# multiply-adds and parameters as the 2-block RGB network). Trained through collapsible blocks (srnet-rep,
# exported plain), from scratch, one cosine cycle of 24,000 steps; resumable: re-running continues (--resume).
# DATA: the folder holding bsds400/ and t91/.
set -euo pipefail
DATA=${1:?usage: training/sr_fast_luma_run.sh DATA}
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 4 --arch srnet-rep --base-ch 16 --blocks 3 \
    --luma-residual --iters 24000 --batch 16 --patch 48 --lr 2e-3 --seed 0 --val-images 10 --val-every 1000 \
    --out training/sr-fast-luma --name sr-fast --resume --threads 1
