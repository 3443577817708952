#!/usr/bin/env bash
# denoise-jpeg-x1 deepened: the shipped 4-block weights grown to 5 blocks (the new one starts as an identity)
# and trained on with a fresh cosine cycle on the same mixture as denoise_jpeg_run.sh, resumable: re-running
# continues (--resume). DATA: the folder holding bsds400/ and t91/.
set -euo pipefail
DATA=${1:?usage: training/denoise_jpeg_deepen_run.sh DATA}
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 1 --init denoise-jpeg --blocks 5 --unshuffle 2 \
    --degradation real --condition jpeg --block-grid 16 --inputs jpeg \
    --degradation-set clean_prob=0.15,blur_prob=0,noise_prob=0.3,noise_sigma=1:15,jpeg_prob=0.85,jpeg_quality=20:95 \
    --iters 10000 --batch 16 --patch 96 --lr 5e-4 --seed 1 --val-images 16 --val-every 1000 \
    --out training/denoise-jpeg --name denoise-jpeg --default --resume --threads 1
