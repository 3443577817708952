#!/usr/bin/env bash
# denoise-jpeg-x1 trained through collapsible blocks (srnet-rep: every 3x3 convolution a 3x3-1x1-identity
# linear block during training, shipped as the plain network at its speed): the command of denoise_jpeg_run.sh
# with --arch srnet-rep, from scratch, resumable: re-running continues (--resume). DATA: the folder holding
# bsds400/ and t91/.
set -euo pipefail
DATA=${1:?usage: training/denoise_jpeg_rep_run.sh DATA}
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 1 --arch srnet-rep --unshuffle 2 --base-ch 32 \
    --blocks 4 --degradation real --condition jpeg --block-grid 16 --inputs jpeg \
    --degradation-set clean_prob=0.15,blur_prob=0,noise_prob=0.3,noise_sigma=1:15,jpeg_prob=0.85,jpeg_quality=20:95 \
    --iters 20000 --batch 16 --patch 96 --lr 1e-3 --seed 0 --val-images 16 --val-every 1000 \
    --out training/denoise-jpeg-rep --name denoise-jpeg --default --resume --threads 1
