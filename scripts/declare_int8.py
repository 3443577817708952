"""Decide whether an SR or ×1 restoration model runs int8 by default on VNNI CPUs, from measurements, and record
them in its file (the ``cpu_int8`` metadata that ``restore.engine.auto_int8`` reads).

    python scripts/declare_int8.py restore/weights/sr-x4.safetensors --train DATA --bench path/to/bench [--dry-run]

Measured, int8 on ONNX Runtime against float32 on PyTorch, through `restore eval sr`'s protocol:
- PSNR-Y on the file's own held-back training images (``training.val_images``, found under the ``--train``
  folders): the choice;
- PSNR-Y on Set5 and Set14 (``--bench``): reported only;
- flat grey fields (levels 0, 15, …, 255): the share of interior pixels rounded one level off, mean and worst
  level — a quantised body gives each output phase its own offset, which PSNR hides.

A ×1 model (scale 1) is measured on what it restores, through ``restore eval denoise``'s protocol: PSNR (RGB) on
the held-back images compressed at qualities 30, 50 and 75 (the choice: their mean), Set14 the same (reported),
and flat fields told quality 50.

The model keeps (or gets) ``cpu_int8`` when the held-back loss is at most ``--max-loss`` dB and the mean flat-field
share at most ``--max-flat``; otherwise ``cpu_int8`` is removed. Needs ONNX Runtime and a CPU with VNNI.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import restore  # first: it makes OpenMP wait passively before torch loads


#: what a ×1 model's int8 loss is measured on (its JPEG inputs)
X1_DEGRADATIONS = ("jpeg:30", "jpeg:50", "jpeg:75")


def psnr_delta(model: str, images: list[Path], scale: int) -> float:
    """Mean PSNR-Y of int8 minus float32 over ``images`` (MATLAB-bicubic LR, scale shaved)."""
    from restore.data import mod_crop
    from restore.degradations import make_lr
    from restore.io import read_rgb_u8
    from restore.metrics import psnr_y

    d = []
    for i, p in enumerate(images):
        hr = mod_crop(read_rgb_u8(p), scale)
        lr = make_lr(hr, scale, "clean", seed=i)
        a = restore.upscale(lr, scale, model=model, device="cpu", precision="int8", tile=0)
        b = restore.upscale(lr, scale, model=model, device="cpu", precision="fp32", tile=0)
        d.append(psnr_y(a, hr, scale) - psnr_y(b, hr, scale))
    return float(np.mean(d))


def psnr_delta_x1(model: str, images: list[Path], degradation: str) -> float:
    """A ×1 model's mean PSNR (RGB, what its gains are measured in) of int8 minus float32 over ``images``
    degraded by ``degradation`` (``restore eval denoise``'s protocol), told the quality the file would state."""
    from restore.degradations import make_lr, stated_quality
    from restore.io import read_rgb_u8
    from restore.metrics import psnr

    d = []
    for i, p in enumerate(images):
        hr = read_rgb_u8(p)
        lr = make_lr(hr, 1, degradation, seed=i)
        q = stated_quality(degradation)
        a, b = (restore.denoise(lr, model=model, device="cpu", precision=pr, tile=0, jpeg_quality=q)
                for pr in ("int8", "fp32"))
        d.append(psnr(a, hr, 255.0) - psnr(b, hr, 255.0))
    return float(np.mean(d))


def flat_fields(model: str, scale: int, size: int = 48, jpeg_quality: int | None = None) -> tuple[float, float]:
    """(mean, worst) share of interior output pixels of flat grey fields that int8 rounds off the level (a ×1
    model's told ``jpeg_quality``: a flat field compresses to itself)."""
    shares = []
    for v in range(0, 256, 15):
        a = np.full((size, size, 3), v, np.uint8)
        if scale == 1:
            o = restore.denoise(a, model=model, device="cpu", precision="int8", jpeg_quality=jpeg_quality)[8:-8, 8:-8]
        else:
            o = restore.upscale(a, scale, model=model, device="cpu", precision="int8")[8 * scale:-8 * scale,
                                                                                        8 * scale:-8 * scale]
        shares.append(float(np.mean(o != v)))
    return float(np.mean(shares)), float(np.max(shares))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", type=Path)
    ap.add_argument("--train", action="append", required=True, help="folder(s) holding the held-back images")
    ap.add_argument("--bench", type=Path, default=None)
    ap.add_argument("--max-loss", type=float, default=0.05, help="dB of PSNR-Y on the held-back images (a x1 "
                    "model: PSNR, the mean over its JPEG qualities)")
    ap.add_argument("--max-flat", type=float, default=0.10)
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()
    from restore.catalogue import read_metadata
    from restore.devices import cpu_has_vnni
    from restore.weights import update_metadata

    meta = read_metadata(args.model)
    scale = int(meta["scale"])
    names = set(meta["training"]["val_images"])
    held = sorted(p for d in args.train for p in Path(d).rglob("*") if p.name in names)
    if len(held) != len(names):
        raise SystemExit(f"found {len(held)} of the {len(names)} held-back images under {args.train}")
    model = str(args.model)  # precision="int8" is asked for explicitly below: auto plays no part
    t = time.perf_counter()
    if scale == 1:  # a restoration model: its JPEG inputs, at the qualities it is measured on
        rec = {f"heldback_dpsnr_{d.replace(':', '')}": round(psnr_delta_x1(model, held, d), 4) for d in X1_DEGRADATIONS}
        loss = float(np.mean(list(rec.values())))
        if args.bench is not None:
            rec.update({f"set14_dpsnr_{d.replace(':', '')}": round(psnr_delta_x1(
                model, sorted((args.bench / "Set14").glob("*.png")), d), 4) for d in X1_DEGRADATIONS})
    else:
        rec = {"heldback_dpsnr_y": round(psnr_delta(model, held, scale), 4)}
        loss = rec["heldback_dpsnr_y"]
        if args.bench is not None:
            for ds in ("Set5", "Set14"):
                rec[f"{ds.lower()}_dpsnr_y"] = round(psnr_delta(model, sorted((args.bench / ds).glob("*.png")),
                                                                scale), 4)
    mean, worst = flat_fields(model, scale, jpeg_quality=50)
    rec["flat_pixels_off"] = f"{100 * mean:.1f}% (worst level {100 * worst:.1f}%)"
    import onnxruntime

    from restore.devices import hardware_note
    from restore.export import INT8_RECIPE

    rec["measured"] = (f"{time.strftime('%Y-%m-%d')}, scripts/declare_int8.py on {hardware_note('cpu')} (VNNI: "
                       f"{cpu_has_vnni()}), ONNX Runtime {onnxruntime.__version__} static int8 ({INT8_RECIPE}: "
                       "the skip, the upsampler's convolution and its add in float32)")
    rec["why"] = "what restore.engine.auto_int8 reads: precision auto runs this model int8 on ONNX Runtime on VNNI CPUs"
    keep = loss >= -args.max_loss and mean <= args.max_flat
    print({**rec, "declared": keep, "seconds": round(time.perf_counter() - t, 1)})
    if args.dry_run:
        return
    # None (not removed): update_metadata merges, and auto_int8 reads a falsy cpu_int8 as "no"
    update_metadata(args.model, cpu_int8=rec if keep else None)


if __name__ == "__main__":
    main()
