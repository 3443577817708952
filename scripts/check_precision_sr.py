"""Does bfloat16 autocast train the real-photo SR nets as well as float32? A paired check from a checkpoint.

    python scripts/check_precision_sr.py --ckpt runs/sr-real2/checkpoint.pt --steps 200 --lr 1e-4

From the same weights and optimizer state, runs ``--steps`` steps of ``restore train sr --degradation real``
(scales 2 and 4 in turn, shared body) on the *same* batches once under bfloat16 autocast and once in float32,
then measures both (and the start) on the held-back validation images — clean and under the named test
degradations — in float32. Prints one JSON line per run: PSNR-Y per set and seconds per step.
"""
from __future__ import annotations

import argparse
import functools

import numpy as np
import torch
import torch.nn.functional as F

from paired_precision import paired_runs
from restore.data import SRPairs, list_images
from restore.degradations import RealDegradation, degrade_real, make_lr
from restore.train import VAL_DEGRADATIONS, MultiScaleSR, psnr_y, split_validation


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default="runs/sr-real2/checkpoint.pt")
    ap.add_argument("--data", action="append", default=None)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--val-images", type=int, default=16)
    args = ap.parse_args()
    data = args.data or ["../shared/data/train/bsds400", "../shared/data/train/t91"]
    scales = [2, 4]
    train_paths, val_paths = split_validation(list_images(data), args.val_images)
    pairs, val = SRPairs.build(train_paths, scales), SRPairs.build(val_paths, scales)
    sets = {(s, d): [make_lr(h, s, d, seed=i) for i, h in enumerate(val.hr[s])]
            for s in scales for d in ("clean", *VAL_DEGRADATIONS)}
    ck = torch.load(args.ckpt, map_location="cpu", weights_only=True)
    base = MultiScaleSR(scales, base_ch=48, n_blocks=6)
    base.load_state_dict(ck["model"])
    degrade_fn = functools.partial(degrade_real, cfg=RealDegradation())

    def validate(net: MultiScaleSR) -> dict[str, float]:
        net.eval()
        out = {}
        with torch.inference_mode():
            for (s, d), lrs in sets.items():
                ps = [psnr_y(net(torch.from_numpy(lr).permute(2, 0, 1)[None].float().div(255), s),
                             torch.from_numpy(hr).permute(2, 0, 1)[None].float().div(255), s)
                      for lr, hr in zip(lrs, val.hr[s])]
                out[f"x{s}_{d}"] = round(float(np.mean(ps)), 4)
        net.train()
        return out

    def loss_of(net: MultiScaleSR, step: int, rng: np.random.Generator) -> torch.Tensor:
        s = scales[step % 2]
        lr_b, hr_b = pairs.batch(s, 16, 48, rng, degrade_fn=degrade_fn)
        return F.l1_loss(net(torch.from_numpy(lr_b), s).float(), torch.from_numpy(hr_b))

    paired_runs(base, ck["opt"], lr=args.lr, steps=args.steps, loss_of=loss_of, validate=validate)


if __name__ == "__main__":
    main()
