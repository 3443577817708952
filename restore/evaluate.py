"""Evaluation protocols (the image metrics they use are :mod:`restore.metrics`; the texture measures of a
fill are here).

SR (the protocol of every published SR table): crop HR to a multiple of the scale, LR = MATLAB-compatible
bicubic downscale rounded to uint8, SR = method(LR) as uint8, PSNR and SSIM on the BT.601 Y channel
(MATLAB's ``rgb2ycbcr``, rounded) with ``scale`` border pixels shaved. Bicubic on Set5 reproduces the
published 33.66 / 30.39 / 28.42 dB.

Inpainting: deterministic seeded masks of three families (thin strokes, thick strokes, boxes; see
:func:`restore.data.make_mask`), PSNR over the whole image and over the hole alone (RGB, [0, 1]), SSIM
on the whole image, the texture in the hole (``hf``: high-frequency energy against the truth's; ``swd``: sliced
Wasserstein distance between the hole's patches and the truth's), and seconds per image.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from restore.errors import InputError
from restore.io import IMAGE_EXTENSIONS, read_rgb_u8
from restore.metrics import psnr, psnr_y, ssim_y
from restore.pixels import LUMA_WEIGHTS


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
    every row also reports the output's :func:`restore.degradations.blockiness` at the JPEG block period. A
    quantisation-aware model is told what the degraded image would state as a file
    (:func:`restore.degradations.stated_quality`: Q for ``jpeg:Q``, uncompressed otherwise), as the CLI tells
    it for a file.
    """
    from restore.api import upscale
    from restore.data import mod_crop
    from restore.degradations import blockiness, make_lr, parse_test_degradation, stated_quality

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
                     ensemble=ensemble, jpeg_quality=stated_quality(deg))
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


def eval_denoise(data: str | Path, *, model: Any = None, device: str = "auto", degradation: Any = "jpeg:50",
                 strength: float = 1.0, precision: str = "fp32", tile: int | None = 0, constraint: bool = True,
                 on_image: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Evaluate ×1 restoration (:func:`restore.denoise`) on a folder: each image degraded at its own size by
    ``degradation`` (as :func:`eval_sr` names them, seeded per image; ``blur`` blurs), restored with the quality
    the degraded file would state (with ``constraint``, also kept within the luma quantisation its table states,
    as ``restore denoise`` keeps a JPEG file's: :func:`restore.jpeg_constraint.project_to_jpeg`), and scored
    against the original: PSNR on RGB and on Y (no border shaved), the gain over the degraded input itself
    (``None`` for ``clean``: the input is the original, its PSNR infinite), and the blockiness of both (JPEG
    block edges; about 1 = none). ``tile`` ``None``: the engine's tiles, as the CLI runs (``seconds`` then
    measures what a user gets).
    """
    from restore.api import denoise, resolve_denoise_model
    from restore.degradations import blockiness, make_lr, parse_test_degradation, stated_quality, stated_tables

    deg = parse_test_degradation(degradation) if isinstance(degradation, str) else degradation
    model = resolve_denoise_model(model, stated_quality(deg))  # the model a file degraded so would get
    tables = stated_tables(deg) if constraint else None
    rows = []
    for i, f in enumerate(bench_images(data)):
        if on_image:
            on_image(f.name)
        hr = read_rgb_u8(f)
        lr = make_lr(hr, 1, deg, seed=i)
        t = time.perf_counter()
        out = denoise(lr, strength, model=model, device=device, tile=tile, precision=precision,
                      jpeg_quality=stated_quality(deg), jpeg_tables=tables)
        dt = time.perf_counter() - t
        rows.append({"image": f.name, "psnr": psnr(out, hr, 255.0), "psnr_input": psnr(lr, hr, 255.0),
                     "psnr_y": psnr_y(out, hr, 0), "psnr_y_input": psnr_y(lr, hr, 0),
                     "blockiness": blockiness(out, 8), "blockiness_input": blockiness(lr, 8),
                     "seconds": dt, "mp": hr.shape[0] * hr.shape[1] / 1e6})
    mean = lambda k: float(np.nanmean([r[k] for r in rows]))  # noqa: E731
    given = mean("psnr_input")
    return {
        "task": "denoise", "data": str(data), "method": _label("sr", "auto", model, 1), "degradation": str(deg),
        "strength": strength, "precision": precision, "constraint": tables is not None, "images": len(rows),
        **{k: mean(k) for k in ("psnr", "psnr_input", "psnr_y", "psnr_y_input", "blockiness", "blockiness_input")},
        # none for a clean input: it is the original (PSNR infinite); its "psnr" then says how much it was changed
        "gain": mean("psnr") - given if np.isfinite(given) else None,
        "seconds_per_image": mean("seconds"),
        "mp_per_s": sum(r["mp"] for r in rows) / max(1e-9, sum(r["seconds"] for r in rows)),
        "rows": rows,
    }


# --- texture in the hole: how much grain a fill has, and whether its patches look like the photo's ------------

#: the hole is eroded by this many pixels before the Laplacian's variance is taken (its 3×3 support inside)
HF_ERODE = 3
#: SWD: patch side, random projections, most patches per level, seed
SWD_PATCH, SWD_PROJECTIONS, SWD_MAX_PATCHES, SWD_SEED = 7, 128, 4096, 0


def _grey255(img: np.ndarray) -> np.ndarray:
    """BT.601 luma of an RGB (or grey) image in [0, 1] or uint8, on the 0–255 scale, float64."""
    a = img.astype(np.float64) * (255.0 if np.issubdtype(img.dtype, np.floating) else 1.0)
    if a.ndim == 3 and a.shape[2] >= 3:
        return a[..., :3] @ np.array(LUMA_WEIGHTS)
    return a[..., 0] if a.ndim == 3 else a


def hf_energy(img: np.ndarray, holes: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image over the hole eroded by :data:`HF_ERODE` px (NaN when
    nothing is left after the erosion). Shape: ``H×W[×C]``, ``H×W`` bool → float."""
    import cv2

    k = np.ones((2 * HF_ERODE + 1, 2 * HF_ERODE + 1), np.uint8)
    inner = cv2.erode(holes.astype(np.uint8), k, borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    if not inner.any():
        return float("nan")
    lap = cv2.Laplacian(_grey255(img), cv2.CV_64F, ksize=1)
    return float(lap[inner].var())


def _patches(band: np.ndarray, holes: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """Mean-removed ``SWD_PATCH²`` patches of ``band`` centred on hole pixels (at most SWD_MAX_PATCHES)."""
    r = SWD_PATCH // 2
    h, w = band.shape
    inner = np.zeros_like(holes)
    inner[r:h - r, r:w - r] = holes[r:h - r, r:w - r]
    idx = np.flatnonzero(inner)
    if idx.size == 0:
        return None
    if idx.size > SWD_MAX_PATCHES:
        idx = np.sort(rng.choice(idx, SWD_MAX_PATCHES, replace=False))
    y, x = np.divmod(idx, w)
    d = np.arange(-r, r + 1)
    p = band[y[:, None, None] + d[None, :, None], x[:, None, None] + d[None, None, :]].reshape(idx.size, -1)
    return p - p.mean(axis=1, keepdims=True)


def swd_patches(out: np.ndarray, truth: np.ndarray, holes: np.ndarray) -> float:
    """Sliced Wasserstein distance (W1, grey levels) between the hole's 7×7 patches in ``out`` and in ``truth``:
    mean-removed patches of the grey image's Laplacian pyramid bands at full and half resolution, projected on
    :data:`SWD_PROJECTIONS` random unit vectors (fixed seed), averaged over projections and the two levels.
    NaN when the hole holds no patch centre.

    Shape: ``H×W[×C]`` twice, ``H×W`` bool → float.
    """
    import cv2

    from pyramids.numpy import laplacian_pyramid

    a, b = _grey255(out), _grey255(truth)
    levels = 3 if min(a.shape) >= 4 else 1
    pa, pb = laplacian_pyramid(a, levels), laplacian_pyramid(b, levels)
    rng = np.random.default_rng(SWD_SEED)
    proj = rng.standard_normal((SWD_PATCH * SWD_PATCH, SWD_PROJECTIONS))
    proj /= np.linalg.norm(proj, axis=0, keepdims=True)
    m = holes
    dists = []
    for lev in range(min(2, levels - 1)):
        if lev:
            hh, ww = pa[lev].shape
            m = cv2.resize(m.astype(np.float32), (ww, hh), interpolation=cv2.INTER_AREA) >= 0.5
        pick = np.random.default_rng([SWD_SEED, lev])
        xa = _patches(pa[lev], m, pick)
        xb = _patches(pb[lev], m, np.random.default_rng([SWD_SEED, lev]))
        if xa is None:
            continue
        sa, sb = np.sort(xa @ proj, axis=0), np.sort(xb @ proj, axis=0)
        dists.append(float(np.abs(sa - sb).mean()))
    return float(np.mean(dists)) if dists else float("nan")


def texture_scores(out: np.ndarray, truth: np.ndarray, holes: np.ndarray) -> dict[str, float]:
    """The texture measures of one fill: ``hf_out`` and ``hf_truth`` (:func:`hf_energy`) and ``swd``
    (:func:`swd_patches`). A family's ``hf`` is the ratio of the means of ``hf_out`` and ``hf_truth``."""
    return {"hf_out": hf_energy(out, holes), "hf_truth": hf_energy(truth, holes), "swd": swd_patches(out, truth, holes)}


_TEXTURE_KEYS = ("hf_out", "hf_truth", "swd")


def _texture_means(acc: dict[str, list[float]]) -> dict[str, float | None]:
    """A family's ``hf`` (ratio of the mean energies over the images where the eroded hole is not empty) and
    ``swd`` (mean); ``None`` where no image has a value."""
    out_e, true_e = np.asarray(acc["hf_out"], float), np.asarray(acc["hf_truth"], float)
    ok = np.isfinite(out_e) & np.isfinite(true_e)
    hf = float(out_e[ok].mean() / true_e[ok].mean()) if ok.any() and true_e[ok].mean() > 0 else None
    swd = np.asarray(acc["swd"], float)
    return {"hf": hf, "swd": float(swd[np.isfinite(swd)].mean()) if np.isfinite(swd).any() else None}


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

    Every row also has the texture measures of the hole (docs/INPAINTING.md): ``hf``, the high-frequency energy
    of the fill over the truth's (:func:`hf_energy`: the ratio of the family's means; 1 = as textured as the
    truth, 0 = a smear), and ``swd``, the mean over images of :func:`swd_patches` (0 = the hole's patches are
    distributed as the truth's); ``None`` where no image of the family has a hole wide enough.

    Returns ``{"results": {method or model: {family: {psnr, psnr_hole, ssim, seconds, hf, swd[,
    prefill_psnr_hole, gain_over_prefill]}}}, ...}``.
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
            fam: {k: [] for k in ("psnr", "psnr_hole", "ssim", "seconds", "prefill_psnr_hole", "hf_out", "hf_truth",
                                  "swd")} for fam in families}
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
                for k, v in texture_scores(out, ref, m).items():
                    acc[fam][k].append(v)
        row = {fam: {k: float(np.mean(v)) for k, v in d.items() if v and k not in _TEXTURE_KEYS}
               for fam, d in acc.items()}
        for fam, r in row.items():
            r.update(_texture_means(acc[fam]))
        for r in row.values():
            if "prefill_psnr_hole" in r:
                r["gain_over_prefill"] = r["psnr_hole"] - r["prefill_psnr_hole"]
        results[_label("inpaint", method, model)] = row
    return {"task": "inpaint", "data": str(data), "images": len(images), "families": list(families),
            "results": results}
