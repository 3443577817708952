"""Does bfloat16 autocast train the inpainting U-Net as well as float32? A paired check from a checkpoint.

    python scripts/check_precision.py --ckpt runs/inpaint/checkpoint.pt --steps 300 --lr 3e-4

From the same weights and optimizer state, runs ``--steps`` training steps on the *same* batches once under
bfloat16 autocast and once in float32, then measures both (and the start) on the held-back validation images
with one mask per family, in float32. Prints one JSON line per run: hole PSNR per family and seconds per step.
The data and model settings are the shipped model's (``restore train inpaint`` defaults).
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from paired_precision import paired_runs
from restore.data import list_images, load_rgb
from restore.models import UNet
from restore.data import hole_crops
from restore.train import (InpaintTrainConfig, inpaint_loss, split_validation, validate_inpaint,
                           validation_masks)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default="runs/inpaint/checkpoint.pt")
    ap.add_argument("--data", action="append", default=None)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=3e-4)
    args = ap.parse_args()
    cfg = InpaintTrainConfig(data=args.data or ["../shared/data/train/bsds400", "../shared/data/train/t91"])
    train_paths, val_paths = split_validation(list_images(cfg.data), cfg.val_images)
    images = [load_rgb(p) for p in train_paths]
    val_imgs = [load_rgb(p) for p in val_paths]
    val_set = validation_masks(val_imgs, cfg.families, 1)
    ck = torch.load(args.ckpt, map_location="cpu", weights_only=True)
    base = UNet(widths=cfg.widths, refine=cfg.refine, n_bottleneck=cfg.n_bottleneck)
    base.load_state_dict(ck["model"])

    def validate(net: UNet) -> dict[str, float]:
        v = validate_inpaint(net, val_imgs, val_set, prefill_only=False)
        return {f: round(v[f], 4) for f in cfg.families}

    def loss_of(net: UNet, _step: int, rng: np.random.Generator) -> torch.Tensor:
        xb, mb, _f = hole_crops(images, rng, batch=cfg.batch, patch=cfg.patch, families=cfg.families)
        x, m = torch.from_numpy(xb), torch.from_numpy(mb)
        return inpaint_loss(net(x, m), x, m)

    paired_runs(base, ck["opt"], lr=args.lr, steps=args.steps, loss_of=loss_of, validate=validate)


if __name__ == "__main__":
    main()
