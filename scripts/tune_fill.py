"""Choose the push–pull pre-fill's settings on *training* images (never on a benchmark set).

    python scripts/tune_fill.py --data path/to/train/bsds400 [--images 50] [--structure 0.95/4 ...]

Prints hole PSNR (mean over images, RGB) per mask family for Telea and for each pyramid_fill setting
(confidence, full-resolution Jacobi sweeps, growth of the sweeps per coarser level). Masks come from the
training generator with their own seeds. Run on 2026-11-23 (1 thread, ~25 s per setting); selected rows:

    telea            thin 21.300  thick 17.368  box 17.001
    32 / 10 / 1.0    thin 22.105  thick 18.418  box 17.904   (the previous default)
    32 / 10 / 3.0    thin 22.136  thick 18.515  box 18.024   (chosen: near the best, cheap at full resolution)
    32 / 20 / 2.0    thin 22.151  thick 18.520  box 18.027

then the share of the Jacobi stencil on horizontal neighbours (``--horizontal``, at 32 / 10 / 3.0):

    0.5 (isotropic)  thin 22.136  thick 18.513  box 18.023
    0.6              thin 22.161  thick 18.548  box 18.085
    0.7              thin 22.160  thick 18.559  box 18.125
    0.8              thin 22.124  thick 18.539  box 18.128
    0.9              thin 22.020  thick 18.459  box 18.053

A second slice (``--data <bsds400> <t91> --slice 4::8 --seed 99 --images 57``: other images, T91 included,
other masks) did not confirm the horizontal gain, but did confirm the growth:

    32 / 10 / 1.0    thin 20.788  thick 19.167  box 17.777
    32 / 10 / 3.0    thin 20.807  thick 19.221  box 17.908   (shipped, isotropic)
    horizontal 0.6   thin 20.817  thick 19.235  box 17.922
    horizontal 0.7   thin 20.804  thick 19.226  box 17.906

and the 10 validation images scored 0.7 at −0.10 / −0.14 / −0.13 dB (thin / thick / box), so a fixed
direction is out. A direction per pixel, from the structure tensor (``--structure STRENGTH/SIGMA ...``,
``restore.fill.guided_fill``; 1 thread, ~20 s per setting), 2026-11-23, first slice:

    0/4 (isotropic)  thin 22.136  thick 18.513  box 18.023
    0.5/4            thin 22.364  thick 18.673  box 18.161
    0.8/4            thin 22.477  thick 18.745  box 18.222
    0.95/4           thin 22.531  thick 18.779  box 18.255   (shipped)
    1.0/4            thin 22.548  thick 18.791  box 18.268
    0.8/2            thin 22.488  thick 18.751  box 18.225
    0.8/8            thin 22.447  thick 18.731  box 18.210
    0.95/3           thin 22.538  thick 18.783  box 18.256
    0.95/6           thin 22.514  thick 18.771  box 18.249

and on the second slice (same options as above):

    0/4 (isotropic)  thin 20.807  thick 19.221  box 17.908
    0.95/4           thin 21.087  thick 19.424  box 18.094   (shipped: +0.28 / +0.20 / +0.19)
    1.0/4            thin 21.098  thick 19.432  box 18.104

Strength 0.95 rather than 1.0 (a tie) keeps every pixel linked to its 4-neighbours; sigma is flat from 3
to 6 px. For comparison, choosing the best of five fixed stencils per image *with hindsight* reaches box
18.39 on the first slice — the per-pixel rule gets most of that without looking at the answer.
"""
from __future__ import annotations

import argparse

import cv2
import numpy as np
import torch

from restore.data import list_images, make_mask
from restore.io import read_rgb_u8
from restore.fill import guided_fill

FAMILIES = ("thin", "thick", "box")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", nargs="+", required=True, help="training image folders (never benchmark images)")
    ap.add_argument("--images", type=int, default=50)
    ap.add_argument("--slice", default="::8", help="which training images, as a Python slice")
    ap.add_argument("--seed", type=int, default=77, help="mask seed")
    ap.add_argument("--horizontal", type=float, nargs="*", help="sweep only this stencil share at 32 / 10 / 3.0")
    ap.add_argument("--structure", nargs="*", help="sweep only these orientation-guided settings, STRENGTH/SIGMA "
                    "(0/4 = isotropic), at 32 / 10 / 3.0")
    args = ap.parse_args()
    torch.set_num_threads(1)
    a, b, c = ((int(x) if x else None) for x in (args.slice.split(":") + ["", ""])[:3])
    imgs = [read_rgb_u8(p) for p in list_images(args.data)[a:b:c][: args.images]]
    sets = [(i, f, make_mask(f, *im.shape[:2], np.random.default_rng([args.seed, i, j])))
            for i, im in enumerate(imgs) for j, f in enumerate(FAMILIES)]

    def score(fill) -> str:
        r: dict[str, list[float]] = {f: [] for f in FAMILIES}
        for i, f, m in sets:
            a, b = fill(imgs[i], m).astype(np.float64) / 255, imgs[i].astype(np.float64) / 255
            r[f].append(10 * np.log10(1 / np.mean((a[m] - b[m]) ** 2)))
        return "  ".join(f"{f} {np.mean(v):.3f}" for f, v in r.items())

    def guided(structure: float = 0.0, sigma: float = 4.0, **fill):
        """A uint8 → uint8 fill by guided_fill (structure 0 = pyramid_fill with ``fill``'s settings)."""
        def run(img: np.ndarray, m: np.ndarray) -> np.ndarray:
            x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
            with torch.inference_mode():
                y = guided_fill(x, torch.from_numpy(m)[None, None].float(), structure=structure,
                                structure_sigma=sigma, **fill)
            return np.clip(np.round(y[0].permute(1, 2, 0).numpy() * 255), 0, 255).astype(np.uint8)
        return run

    def pushpull(conf: float, iters: int, growth: float, horizontal: float = 0.5):
        return guided(confidence=conf, smooth_iters=iters, growth=growth, stencil=horizontal)

    if args.structure:
        for setting in args.structure:
            strength, sigma = (float(v) for v in setting.split("/"))
            print(setting, score(guided(strength, sigma)), flush=True)
        return
    if args.horizontal:
        for hz in args.horizontal:
            print(32, 10, 3.0, hz, score(pushpull(32, 10, 3.0, hz)), flush=True)
        return
    print("telea", score(lambda img, m: cv2.inpaint(img, m.astype(np.uint8), 3, cv2.INPAINT_TELEA)), flush=True)
    for conf in (8, 16, 32, 64, 128):
        for iters, growth in ((5, 1.0), (10, 1.0), (20, 1.0), (40, 1.0), (10, 2.0), (20, 2.0), (10, 3.0), (20, 1.5)):
            print(conf, iters, growth, score(pushpull(conf, iters, growth)), flush=True)


if __name__ == "__main__":
    main()
