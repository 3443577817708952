#!/usr/bin/env bash
# The quantisation-aware real-photo runs, one after the other, each resumable (re-running this script
# continues where it stopped: --resume). DATA: the folder holding bsds400/ and t91/.
set -euo pipefail
DATA=${1:?usage: training/real_queue.sh DATA}
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 2,4 --init sr --degradation real \
    --condition jpeg --degradation-set jpeg_prob=0.95 --iters 6000 --batch 16 --patch 48 --lr 5e-4 --seed 0 \
    --val-images 16 --val-every 500 --out training/sr-real --name sr-real --resume --threads 2
restore train sr --data "$DATA/bsds400" --data "$DATA/t91" --scales 1 --unshuffle 4 --base-ch 48 --blocks 6 \
    --degradation real --condition jpeg --degradation-set blur_prob=0,noise_sigma=1:15,jpeg_quality=20:95 \
    --iters 6000 --batch 16 --patch 96 --lr 1e-3 --seed 0 --val-images 16 --val-every 500 \
    --out training/denoise --name denoise --resume --threads 2
