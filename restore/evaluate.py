"""Evaluation protocols (the image metrics they use are :mod:`restore.metrics`; the texture measures of a
fill are here).

SR (the protocol of every published SR table): crop HR to a multiple of the scale, LR = MATLAB-compatible
bicubic downscale rounded to uint8, SR = method(LR) as uint8, PSNR and SSIM on the BT.601 Y channel
(MATLAB's ``rgb2ycbcr``, rounded) with ``scale`` border pixels shaved. Bicubic on Set5 reproduces the
published 33.66 / 30.39 / 28.42 dB.

Inpainting: deterministic seeded masks of three families (thin strokes, thick strokes, boxes; see
:func:`restore.data.make_mask`), PSNR over the whole image and over the hole alone (RGB, [0, 1]), SSIM
on the whole image, and seconds per image.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from restore.errors import InputError
from restore.io import IMAGE_EXTENSIONS, read_rgb_u8
from restore.metrics import psnr, psnr_y, ssim_y


def _label(task: str, method: str, model: Any, scale: int | None = None) -> str:
    """The name a result is reported under: what ``auto`` resolved to, or the model given."""
    if model is not None:
        return str(getattr(model, "name", model))  # a descriptor's name, else the name or path given
    if method == "auto":
        from restore.catalogue import default_model

        return default_model(task, scale) or ("bicubic" if task == "sr" else "telea")
    return method


def bench_images(data: str | Path) -> list[Path]:
    """The image files (:data:`restore.io.IMAGE_EXTENSIONS`) directly in an evaluation folder, sorted.

    Raises:
        InputError: no such folder, or no image in it.
    """
    p = Path(data)
    if not p.is_dir():
        raise InputError(f"evaluation data folder not found: {p}")
    files = sorted(q for q in p.iterdir() if q.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise InputError(f"no images in {p}")
    return files


def eval_sr(data: str | Path, scale: int, *, method: str = "bicubic-matlab", model: Any = None,
            device: str = "auto", degradation: Any = "clean", precision: str = "fp32",
            on_image: Callable[[str], None] | None = None, ensemble: bool = False) -> dict[str, Any]:
    """Evaluate one SR method/model on a folder by the standard protocol; returns means and per-image rows.

    ``precision``: the network's arithmetic (:func:`restore.upscale`'s); ``fp32`` by default, so a model's
    scores do not depend on the CPU that measured them (``auto`` is int8 or bf16 on some CPUs: ``restore bench``
    reports what each precision costs).

    ``degradation`` (a :class:`restore.degradations.TestDegradation` or its name: ``clean``, ``jpeg:Q``,
    ``noise:SIGMA``, ``blur:SIGMA``) is applied around the published bicubic downscale, seeded per image;
    every row also reports the output's :func:`restore.degradations.blockiness` at the JPEG block period.
    """
    from restore.api import upscale
    from restore.data import mod_crop
    from restore.degradations import blockiness, make_lr, parse_test_degradation

    deg = parse_test_degradation(degradation) if isinstance(degradation, str) else degradation
    rows = []
    for i, f in enumerate(bench_images(data)):
        if on_image:
            on_image(f.name)
        hr = mod_crop(read_rgb_u8(f), scale)
        if min(hr.shape[:2]) - 2 * scale < 7:  # SSIM's 7-px window after the shave
            raise InputError(f"{f.name}: {hr.shape[1]}×{hr.shape[0]} px is too small to evaluate at ×{scale}")
        lr = make_lr(hr, scale, deg, seed=i)
        t = time.perf_counter()
        sr = upscale(lr, scale, method=method, model=model, device=device, tile=0, precision=precision,
                     ensemble=ensemble)
        dt = time.perf_counter() - t
        rows.append({"image": f.name, "psnr_y": psnr_y(sr, hr, scale), "ssim_y": ssim_y(sr, hr, scale),
                     "blockiness": blockiness(sr, 8 * scale),
                     "seconds": dt, "out_mp": hr.shape[0] * hr.shape[1] / 1e6})
    return {
        "task": "sr", "data": str(data), "scale": scale, "method": _label("sr", method, model, scale),
        "degradation": str(deg), "precision": precision, "ensemble": ensemble, "images": len(rows),
        "psnr_y": float(np.mean([r["psnr_y"] for r in rows])),
        "ssim_y": float(np.mean([r["ssim_y"] for r in rows])),
        "blockiness": float(np.nanmean([r["blockiness"] for r in rows])) if rows else float("nan"),
        "seconds_per_image": float(np.mean([r["seconds"] for r in rows])),
        "rows": rows,
    }


def inpaint_masks(images: Sequence[np.ndarray], families: Sequence[str], seed: int = 2024) -> list[tuple[int, str, np.ndarray]]:
    """Deterministic (image index, family, mask) triples: one mask per family per image, seeded by both."""
    from restore.data import MASK_FAMILIES, make_mask

    out = []
    for i, img in enumerate(images):
        for fam in families:
            rng = np.random.default_rng([seed, i, MASK_FAMILIES.index(fam)])
            out.append((i, fam, make_mask(fam, img.shape[0], img.shape[1], rng)))
    return out


def _cnn_of(method: str, model: Any, device: str):
    """The loaded inpainting CNN a method/model row runs, or ``None`` for a classical method (or the pre-fill)."""
    from restore.api import resolve_inpaint_method
    from restore.engine import Prefill, get_model

    _, mdl = resolve_inpaint_method(method, model)
    if mdl is None or isinstance(getattr(mdl, "module", None), Prefill):
        return None
    return get_model(mdl, device)


def eval_inpaint(data: str | Path, *, methods: Sequence[str] = ("auto", "pushpull", "telea", "ns", "biharmonic"),
                 families: Sequence[str] = ("thin", "thick", "box"), device: str = "auto", limit: int | None = None,
                 models: Sequence[str] = (), on_image: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Evaluate inpainting methods (and model names or ``.safetensors`` paths) side by side on the same
    seeded masks.

    Every CNN row is also measured against its own pre-fill, run through the same crops of the same code path
    (:class:`restore.engine.Prefill`), and reports the difference as ``gain_over_prefill`` (dB of hole PSNR):
    what the network itself adds.

    Returns ``{"results": {method or model: {family: {psnr, psnr_hole, ssim, seconds[, prefill_psnr_hole,
    gain_over_prefill]}}}, ...}``.
    """
    from skimage.metrics import structural_similarity

    from restore.api import inpaint

    files = bench_images(data)[:limit]
    images = [read_rgb_u8(f) for f in files]
    for f, img in zip(files, images):
        if min(img.shape[:2]) < 16:  # SSIM's 7-px window, and room for a hole with known pixels around it
            raise InputError(f"{f.name}: {img.shape[1]}×{img.shape[0]} px is too small to evaluate inpainting")
    masks = inpaint_masks(images, families)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for method, model in [(m, None) for m in methods] + [("auto", m) for m in models]:
        net = _cnn_of(method, model, device)
        runs = [("out", net)]  # None: the classical method (or pushpull) by name
        if net is not None:
            from restore.engine import Prefill

            runs.append(("prefill", Prefill.describe(net)))
        acc: dict[str, dict[str, list[float]]] = {
            fam: {k: [] for k in ("psnr", "psnr_hole", "ssim", "seconds", "prefill_psnr_hole")} for fam in families}
        for i, fam, m in masks:
            if on_image:
                on_image(f"{model or method} {fam} {files[i].name}")
            ref = images[i]
            b = ref.astype(np.float64) / 255.0
            for kind, mdl in runs:
                t = time.perf_counter()
                out = inpaint(ref, m, method=method, model=mdl, device=device)
                dt = time.perf_counter() - t
                a = out.astype(np.float64) / 255.0
                if kind == "prefill":
                    acc[fam]["prefill_psnr_hole"].append(psnr(a[m], b[m], 1.0))
                    continue
                acc[fam]["psnr"].append(psnr(a, b, 1.0))
                acc[fam]["psnr_hole"].append(psnr(a[m], b[m], 1.0))
                acc[fam]["ssim"].append(float(structural_similarity(a, b, data_range=1.0, channel_axis=2)))
                acc[fam]["seconds"].append(dt)
        row = {fam: {k: float(np.mean(v)) for k, v in d.items() if v} for fam, d in acc.items()}
        for r in row.values():
            if "prefill_psnr_hole" in r:
                r["gain_over_prefill"] = r["psnr_hole"] - r["prefill_psnr_hole"]
        results[_label("inpaint", method, model)] = row
    return {"task": "inpaint", "data": str(data), "images": len(images), "families": list(families),
            "results": results}
