"""The ``texture`` inpainting method: quality against the CNN, Telea and two controls, and speed.

Quality (the masks of ``restore eval inpaint``: :func:`restore.evaluate.inpaint_masks`, same seed)::

    python benchmarks/texture_bench.py quality --data /path/to/images --limit 12 [--set gain=0.8 ...]

prints hole PSNR, ``hf`` and ``swd`` per family for: the CNN, ``telea``, ``texture`` (with ``--set``
overrides of :class:`restore.texture.TextureConfig`), and two controls —

* ``noise``: the CNN's fill plus white grey noise whose variance is exactly the missing high-frequency
  variance (the Laplacian of white noise of variance s² has variance 20 s², so s² = (hf_truth − hf_cnn) / 20);
* ``shift24``: the truth's own pixels, shifted by 24 px (the texture exactly right, but in the wrong place).

The CNN's fill is computed once per mask and shared by ``texture``, so settings can be compared quickly.

A figure (rows: input with a centred box hole / CNN / texture / original, for the images with the most
grain under the box)::

    python benchmarks/texture_bench.py figure --data /path/to/BSD68 [--out docs/texture_examples.jpg]

Speed::

    python benchmarks/texture_bench.py speed [--size 512] [--hole 0.2] [--repeat 3]

times ``restore.inpaint(..., method="texture")`` (CNN included) on a photo with a centred box hole covering
``--hole`` of the image.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import fields, replace

import numpy as np


def _parse_sets(items: list[str]):
    from restore.texture import TextureConfig

    cfg = TextureConfig()
    types = {f.name: f.type for f in fields(TextureConfig)}
    kw = {}
    for it in items:
        k, v = it.split("=", 1)
        if k not in types:
            raise SystemExit(f"unknown setting {k}; one of {', '.join(types)}")
        cur = getattr(cfg, k)
        if isinstance(cur, bool):
            kw[k] = v.lower() in ("1", "true", "yes")
        else:
            kw[k] = tuple(int(x) for x in v.split(",")) if isinstance(cur, tuple) else type(cur)(v)
    return replace(cfg, **kw)


def _rgb_u8(path) -> np.ndarray:
    from restore.io import read_image
    from restore.pixels import to_uint8

    img = to_uint8(read_image(path))
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


def _shifted(truth: np.ndarray, holes: np.ndarray, shift: int = 24) -> np.ndarray:
    """The truth with its hole pixels taken from ``shift`` px to the right (mirrored at the border)."""
    h, w = holes.shape
    x = np.arange(w) + shift
    x = np.where(x < w, x, 2 * (w - 1) - x)
    out = truth.copy()
    out[holes] = truth[:, x][holes]
    return out


def _noised(cnn: np.ndarray, truth: np.ndarray, holes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from restore.evaluate import hf_energy

    missing = max(hf_energy(truth, holes) - hf_energy(cnn, holes), 0.0)
    if not np.isfinite(missing):
        return cnn.copy()
    noise = rng.standard_normal(holes.shape) * np.sqrt(missing / 20.0)  # grey levels: equal in R, G, B
    out = cnn.astype(np.float64)
    out[holes] += noise[holes][:, None]
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def quality(args: argparse.Namespace) -> None:
    from restore import inpaint
    from restore.api import _split
    from restore.evaluate import bench_images, inpaint_masks, psnr, texture_scores
    from restore.pixels import store
    from restore.texture import inpaint_texture

    cfg = _parse_sets(args.set or [])
    files = bench_images(args.data)[: args.limit]
    images = [_rgb_u8(f) for f in files]  # as eval inpaint reads them
    masks = inpaint_masks(images, args.families)
    rows: dict[str, dict[str, dict[str, list[float]]]] = {}
    seconds: dict[str, list[float]] = {}

    def add(name: str, fam: str, out: np.ndarray, truth: np.ndarray, m: np.ndarray) -> None:
        acc = rows.setdefault(name, {}).setdefault(fam, {"psnr_hole": [], "hf_out": [], "hf_truth": [], "swd": []})
        a, b = out.astype(np.float64) / 255, truth.astype(np.float64) / 255
        acc["psnr_hole"].append(psnr(a[m], b[m], 1.0))
        for k, v in texture_scores(out, truth, m).items():
            acc[k].append(v)

    for i, fam, m in masks:
        truth = images[i]
        t = time.perf_counter()
        cnn = inpaint(truth, m)
        t_cnn = time.perf_counter() - t
        add("cnn", fam, cnn, truth, m)
        if "telea" in args.methods:
            add("telea", fam, inpaint(truth, m, method="telea"), truth, m)
        f, _ = _split(truth)
        s, _ = _split(cnn)
        t = time.perf_counter()
        tex = inpaint_texture(f, m, structure=s, config=cfg, seed=args.seed)
        seconds.setdefault(fam, []).append(time.perf_counter() - t + t_cnn)
        out = store(np.empty_like(truth), tex)
        out[~m] = truth[~m]
        add("texture", fam, out, truth, m)
        add("noise", fam, _noised(cnn, truth, m, np.random.default_rng([7, i])), truth, m)
        add("shift24", fam, _shifted(truth, m), truth, m)
    summary = {}
    print(f"{len(images)} images; texture settings: {cfg}")
    print(f"{'method':<10}{'masks':<7}{'PSNR hole':>10}{'hf':>7}{'swd':>7}")
    for name, fams in rows.items():
        for fam, acc in fams.items():
            hf = float(np.nanmean(acc["hf_out"]) / np.nanmean(acc["hf_truth"]))
            r = {"psnr_hole": float(np.mean(acc["psnr_hole"])), "hf": hf, "swd": float(np.nanmean(acc["swd"]))}
            summary.setdefault(name, {})[fam] = r
            print(f"{name:<10}{fam:<7}{r['psnr_hole']:>10.2f}{hf:>7.3f}{r['swd']:>7.2f}")
    for fam, s in seconds.items():
        print(f"texture {fam}: {np.mean(s):.2f} s per image (CNN included)")
    if args.json:
        print(json.dumps(summary))


def speed(args: argparse.Namespace) -> None:
    import os

    from skimage import data as skdata
    from skimage.transform import resize

    from restore import inpaint

    img = (resize(skdata.astronaut(), (args.size, args.size), anti_aliasing=True) * 255).round().astype(np.uint8)
    side = int(round(args.size * np.sqrt(args.hole)))
    m = np.zeros((args.size, args.size), bool)
    o = (args.size - side) // 2
    m[o:o + side, o:o + side] = True
    inpaint(img, m)  # the CNN loaded and warm
    for method in ("auto", "texture"):
        ts = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            inpaint(img, m, method=method)
            ts.append(time.perf_counter() - t)
        print(f"{method:<8} {args.size}² with a {side}² hole ({m.mean():.0%}): best {min(ts):.2f} s, "
              f"median {np.median(ts):.2f} s over {args.repeat}")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


def figure(args: argparse.Namespace) -> None:
    """Rows of input-with-hole / CNN / texture / original for the images with the most grain under a centred
    box (a third of each side), written as one PNG."""
    import cv2

    from restore import inpaint
    from restore.evaluate import bench_images, hf_energy
    from restore.io import write_image

    def hole(img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        m = np.zeros((h, w), bool)
        m[h // 3: 2 * h // 3, w // 3: 2 * w // 3] = True
        return m

    images = [_rgb_u8(f) for f in bench_images(args.data)]
    images = [im for im in images if im.shape[0] <= im.shape[1]]  # landscape ones, to share the columns
    size = min(im.shape[0] for im in images), min(im.shape[1] for im in images)
    images = [im[: size[0], : size[1]] for im in images]
    picks = sorted(range(len(images)), key=lambda i: -hf_energy(images[i], hole(images[i])))[: args.rows]
    rows = []
    for i in picks:
        img, m = images[i], hole(images[i])
        shown = img.copy()
        shown[m] = (shown[m] * 0.25 + np.array([255, 0, 255]) * 0.75).astype(np.uint8)
        rows.append(np.concatenate([shown, inpaint(img, m), inpaint(img, m, method="texture"), img], axis=1))
    grid = np.concatenate(rows, axis=0)
    if args.scale != 1.0:  # a lighter file for the docs
        grid = cv2.resize(grid, None, fx=args.scale, fy=args.scale, interpolation=cv2.INTER_AREA)
    cell = grid.shape[1] // 4
    head = np.full((24, grid.shape[1], 3), 255, np.uint8)
    for k, label in enumerate(("input (hole)", "CNN (auto)", "texture", "original")):
        cv2.putText(head, label, (k * cell + 6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    write_image(args.out, np.concatenate([head, grid], axis=0), overwrite=True)
    print(f"wrote {args.out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--data", required=True)
    q.add_argument("--limit", type=int, default=12)
    q.add_argument("--families", nargs="+", default=["thick", "box"])
    q.add_argument("--methods", nargs="*", default=["telea"])
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--set", action="append", help="a TextureConfig setting, key=value (tuples: 1,2,3)")
    q.add_argument("--json", action="store_true")
    s = sub.add_parser("speed")
    s.add_argument("--size", type=int, default=512)
    s.add_argument("--hole", type=float, default=0.2)
    s.add_argument("--repeat", type=int, default=3)
    g = sub.add_parser("figure")
    g.add_argument("--data", required=True)
    g.add_argument("--rows", type=int, default=3)
    g.add_argument("--out", default="docs/texture_examples.jpg")
    g.add_argument("--scale", type=float, default=0.75, help="resize of the whole figure")
    args = ap.parse_args()
    {"quality": quality, "speed": speed, "figure": figure}[args.cmd](args)


if __name__ == "__main__":
    main()
