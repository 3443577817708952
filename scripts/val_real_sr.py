"""PSNR-Y of SR methods on the held-back training images (the checkpoint-choice set of ``restore train sr``)
under the named test degradations — to read a real-photo run against ``sr-x*`` and bicubic without touching a
benchmark set.

    python scripts/val_real_sr.py --method bicubic-matlab --method sr-x4 --model runs/sr-real2/sr-real-x4.safetensors
"""
from __future__ import annotations

import argparse
import json

import numpy as np

import restore
from restore.data import list_images, load_rgb, mod_crop
from restore.degradations import make_lr
from restore.evaluate import psnr_y_np
from restore.train import VAL_DEGRADATIONS, split_validation


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", action="append", default=None)
    ap.add_argument("--val-images", type=int, default=16)
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--method", action="append", default=[])
    ap.add_argument("--model", action="append", default=[])
    a = ap.parse_args()
    data = a.data or ["../shared/data/train/bsds400", "../shared/data/train/t91"]
    _train, val = split_validation(list_images(data), a.val_images)
    hrs = [mod_crop(load_rgb(p), a.scale) for p in val]
    degs = ("clean", *VAL_DEGRADATIONS)
    lrs = {d: [make_lr(h, a.scale, d, seed=i) for i, h in enumerate(hrs)] for d in degs}
    for kind, name in [("method", m) for m in a.method] + [("model", m) for m in a.model]:
        row = {"name": name, "scale": a.scale}
        for d in degs:
            ps = [psnr_y_np(restore.upscale(lr, a.scale, **{kind: name}, device="cpu", precision="fp32"), h, a.scale)
                  for lr, h in zip(lrs[d], hrs)]
            row[d] = round(float(np.mean(ps)), 3)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
