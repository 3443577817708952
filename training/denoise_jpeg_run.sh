#!/usr/bin/env bash
# The x1 restoration model for JPEG files (restore denoise gives it every input that states a JPEG quality),
# resumable: re-running continues (--resume). DATA: the folder holding bsds400/ and t91/. The mixture: JPEG at
# 20-95 (a third of it noisy first) and some clean samples; no noise stored losslessly (denoise-x1 has those).
# --block-grid 16: the network knows each pixel's place in the JPEG block grid (8x8 luma, 16x16 4:2:0 chroma).
set -euo pipefail
DATA=${1:?usage: training/denoise_jpeg_run.sh DATA}
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 1 --unshuffle 2 --base-ch 32 --blocks 4 \
    --degradation real --condition jpeg --block-grid 16 --inputs jpeg \
    --degradation-set clean_prob=0.15,blur_prob=0,noise_prob=0.3,noise_sigma=1:15,jpeg_prob=0.85,jpeg_quality=20:95 \
    --iters 20000 --batch 16 --patch 96 --lr 1e-3 --seed 0 --val-images 16 --val-every 1000 \
    --out training/denoise-jpeg --name denoise-jpeg --default --resume --threads 1
