#!/usr/bin/env bash
# The x1 restoration model (restore denoise), resumable: re-running continues (--resume). DATA: the folder
# holding bsds400/ and t91/. The mixture: a sixth clean, a sixth noisy but stored losslessly (the model must
# tell noise from detail with no stated quality), the rest JPEG at 20-95 (half of it noisy first); no blur (x1
# restoration removes damage, it does not sharpen).
set -euo pipefail
DATA=${1:?usage: training/denoise_run.sh DATA}
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 1 --unshuffle 2 --base-ch 32 --blocks 4 \
    --degradation real --condition jpeg \
    --degradation-set clean_prob=0.15,blur_prob=0,noise_prob=0.6,noise_sigma=1:15,jpeg_prob=0.7,jpeg_quality=20:95 \
    --iters 20000 --batch 16 --patch 96 --lr 1e-3 --seed 0 --val-images 16 --val-every 1000 \
    --out training/denoise --name denoise --default --resume --threads 2
