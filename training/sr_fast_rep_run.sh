#!/usr/bin/env bash
# sr-fast-x4 trained through collapsible blocks (srnet-rep, exported as the plain 16-channel, 2-block srnet), from
# scratch, one cosine cycle of 24,000 steps; resumable: re-running continues (--resume).
# DATA: the folder holding bsds400/ and t91/.
set -euo pipefail
DATA=${1:?usage: training/sr_fast_rep_run.sh DATA}
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 4 --arch srnet-rep --base-ch 16 --blocks 2 \
    --iters 24000 --batch 16 --patch 48 --lr 2e-3 --seed 0 --val-images 10 --val-every 1000 \
    --out training/sr-fast-rep --name sr-fast --resume --threads 1
