"""Experiment (docs/SR_REAL_NOTES.md, session 7): does telling the SR net the JPEG 8×8 grid phase help on JPEG inputs?
Fine-tunes x4 from sr-real-x4 with 16 one-hot phase channels through a zero-initialised conv (step 0 = the shipped
model); validates on the held-back training images under the named test degradations."""
from __future__ import annotations
import argparse, functools, json, sys, time
import numpy as np
import restore  # noqa: F401  (OMP passive)
import torch, torch.nn.functional as F
from torch import nn
from restore.models.sr import SRNet
from restore.weights import load_model
from restore.data import SRPairs, list_images
from restore.train import split_validation, fit, psnr_y, VAL_DEGRADATIONS
from restore.degradations import RealDegradation, degrade_real, make_lr

ap = argparse.ArgumentParser()
ap.add_argument("--grid", type=int, default=8)
ap.add_argument("--iters", type=int, default=3000)
ap.add_argument("--lr", type=float, default=3e-4)
ap.add_argument("--out", default="runs/grid8")
ap.add_argument("--val-every", type=int, default=500)
ap.add_argument("--loss", choices=["l1", "mse"], default="l1")
a = ap.parse_args()

class GridSR(nn.Module):
    def __init__(self, base: SRNet, grid: int):
        super().__init__()
        self.base, self.grid = base, grid
        ch = base.head.out_channels
        self.phase = nn.Conv2d(2 * grid, ch, 3, padding=1, bias=False) if grid else None
        if grid:
            nn.init.zeros_(self.phase.weight)
    def forward(self, x):
        b = self.base
        feat = b.head(x)
        if self.grid:
            h, w = x.shape[-2:]
            g = self.grid
            ey = F.one_hot(torch.arange(h, device=x.device) % g, g).T.float()  # g,h
            ex = F.one_hot(torch.arange(w, device=x.device) % g, g).T.float()
            ph = torch.cat([ey[:, :, None].expand(g, h, w), ex[:, None, :].expand(g, h, w)])[None].to(feat.dtype)
            feat = feat + self.phase(ph.expand(x.shape[0], -1, -1, -1))
        feat = feat + b.body_tail(b.body(feat))
        with torch.autocast(x.device.type, enabled=False):
            base = F.conv2d(F.pad(x.float(), (2, 2, 2, 2), mode="replicate"), b.skip_kernel, groups=x.shape[1])
        return b.up.shuffle(b.up.conv(feat) + base)

torch.manual_seed(0)
s = 4
base = load_model("sr-real-x4", device="cpu").module
base.requires_grad_(True)  # load_model freezes a model for inference; every weight is trained here
net = GridSR(base, a.grid)
paths = list_images(["../shared/data/train/bsds400", "../shared/data/train/t91"])
tr, va = split_validation(paths, 16)
pairs = SRPairs.build(tr, [s]); val = SRPairs.build(va, [s])
named = {d: [make_lr(h, s, d, seed=i) for i, h in enumerate(val.hr[s])] for d in ("clean",) + VAL_DEGRADATIONS}
real = RealDegradation()
def validate():
    net.eval(); res = {}
    with torch.inference_mode():
        for d, lrs in named.items():
            ps = [psnr_y(net(torch.from_numpy(l).permute(2,0,1)[None].float().div(255)).float(),
                         torch.from_numpy(h).permute(2,0,1)[None].float().div(255), s) for l, h in zip(lrs, val.hr[s])]
            res[d] = round(float(np.mean(ps)), 3)
    net.train(); print(json.dumps(res), flush=True); return res
validate()
fn = functools.partial(degrade_real, cfg=real)
def step_loss(model, rng, step):
    lr_b, hr_b = pairs.batch(s, 16, 48, rng, degrade_fn=fn)
    loss = F.l1_loss if a.loss == "l1" else F.mse_loss
    return loss(model(torch.from_numpy(lr_b)).float(), torch.from_numpy(hr_b))
from pathlib import Path
t = time.time()
st = fit(net, step_loss, iters=a.iters, lr=a.lr, seed=1, amp=torch.bfloat16, out=Path(a.out), val_every=a.val_every,
         validate=validate, progress=lambda r: print(json.dumps({k: v for k, v in r.items() if k != 'val'}), round(time.time()-t), flush=True))
