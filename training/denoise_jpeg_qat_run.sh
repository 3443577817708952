#!/usr/bin/env bash
# denoise-jpeg-x1's fourth and fifth stages, resumable (re-running continues each stage with --resume):
#  1. the shipped 5-block file trained on for a fresh cosine cycle with the MSE loss (8,000 steps at 3e-4);
#  2. quantisation-aware (--qat, restore.qat: trained as its int8 export runs, the activation ranges learned and
#     recorded in the file), every sample ending with a JPEG at one quality per batch (jpeg_last=1), 1,500 steps
#     at 1e-4. Its output is what ships (copy training/denoise-jpeg-qat/denoise-jpeg-x1.safetensors into
#     restore/weights/).
# DATA: the folder holding bsds400/ and t91/.
set -euo pipefail
DATA=${1:?usage: training/denoise_jpeg_qat_run.sh DATA}
MIX=clean_prob=0.15,blur_prob=0,noise_prob=0.3,noise_sigma=1:15,jpeg_prob=0.85,jpeg_quality=20:95
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 1 --init denoise-jpeg --blocks 5 --unshuffle 2 \
    --degradation real --condition jpeg --block-grid 16 --inputs jpeg --loss mse --degradation-set "$MIX" \
    --iters 8000 --batch 16 --patch 96 --lr 3e-4 --seed 6 --val-images 16 --val-every 1000 \
    --out training/denoise-jpeg-cycle --name denoise-jpeg --resume --threads 1
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 1 --init training/denoise-jpeg-cycle/denoise-jpeg \
    --unshuffle 2 --degradation real --condition jpeg --block-grid 16 --inputs jpeg --loss mse --qat \
    --degradation-set "$MIX,jpeg_last=1" \
    --iters 1500 --batch 16 --patch 96 --lr 1e-4 --seed 8 --val-images 16 --val-every 250 \
    --out training/denoise-jpeg-qat --name denoise-jpeg --default --resume --threads 1
