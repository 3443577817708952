#!/usr/bin/env bash
# denoise-jpeg-x1's last stage: the 5-block file (denoise_jpeg_deepen_run.sh, in restore/weights/) fine-tuned with
# an MSE loss at a low learning rate (what PSNR measures; L1 before), resumable: re-running continues (--resume).
# DATA: the folder holding bsds400/ and t91/.
set -euo pipefail
DATA=${1:?usage: training/denoise_jpeg_mse_run.sh DATA}
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 1 --init denoise-jpeg --unshuffle 2 \
    --degradation real --condition jpeg --block-grid 16 --inputs jpeg --loss mse \
    --degradation-set clean_prob=0.15,blur_prob=0,noise_prob=0.3,noise_sigma=1:15,jpeg_prob=0.85,jpeg_quality=20:95 \
    --iters 3000 --batch 16 --patch 96 --lr 1e-4 --seed 2 --val-images 16 --val-every 500 \
    --out training/denoise-jpeg --name denoise-jpeg --default --resume --threads 1
