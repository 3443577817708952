#!/usr/bin/env bash
# The x1 restoration model (restore denoise), resumable: re-running continues (--resume). DATA: the folder
# holding bsds400/ and t91/.
set -euo pipefail
DATA=${1:?usage: training/denoise_run.sh DATA}
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 1 --unshuffle 4 --base-ch 48 --blocks 6 \
    --degradation real --condition jpeg --degradation-set blur_prob=0,noise_sigma=1:15,jpeg_quality=20:95 \
    --iters 6000 --batch 16 --patch 96 --lr 1e-3 --seed 0 --val-images 16 --val-every 500 \
    --out training/denoise --name denoise --resume --threads 2
