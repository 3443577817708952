"""Border artifacts by padding mode: the same network and training budget for every mode, then the error near
the image border compared with the error in the interior.

Metrics, on bench images never trained on (SR: at HR resolution, the band in HR pixels):

* distance from the border of pixel (i, j) in an H×W image: ``d = min(i, j, H-1-i, W-1-j)`` (0 on the edge);
* **band PSNR**: PSNR of the mean squared error pooled over all bench pixels with ``d < band``;
  **interior PSNR**: the same over ``d ≥ band``; **gap** = interior − band (dB; positive = the border is worse).
  SR measures the BT.601 Y channel (8-bit rounded, as the SR protocol) with nothing shaved; inpainting
  measures RGB over hole pixels only (the only pixels it changes), on the seeded thin/thick/box masks.
* **MAE by distance**: mean absolute error (0–255 scale) over all pixels at each distance d.
* **excess gap** = gap − the reference's gap, and MAE by distance divided by the reference's: what is left
  of the border penalty once the content is accounted for (bench borders can be easier or harder than
  the centre of a photograph; the reference sees exactly the same pixels).

Pooling the squared error over all images (rather than averaging per-image PSNRs) keeps the band score
defined for inpainting images whose holes never reach the border. A reference row without a network
(SR: MATLAB bicubic; inpainting: the U-Net's push–pull pre-fill) shows the gap the content and the
degradation cause by themselves.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from restore.analysis.study import (
    BenchItem, Progress, StudyConfig, bench_predict, build_net, load_images, make_sampler, n_params,
    write_report,
    train,
)
from restore.devices import hardware_note
from restore.errors import InputError
from restore.metrics import psnr_from_mse
from restore.models.blocks import PADDING_MODES


def border_distance(h: int, w: int) -> np.ndarray:
    """``h×w`` int array: each pixel's distance to the nearest image edge (0 on the edge)."""
    i = np.arange(h)[:, None]
    j = np.arange(w)[None, :]
    return np.minimum(np.minimum(i, h - 1 - i), np.minimum(j, w - 1 - j))


def _errors(it: BenchItem, task: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel error (H×W×C, 0–255) and the pixels that count (H×W bool)."""
    from restore.metrics import rgb_to_y

    if task == "sr":
        err = (rgb_to_y(it.output) - rgb_to_y(it.reference))[..., None]
        return err, np.ones(err.shape[:2], bool)
    return it.output - it.reference, it.mask.astype(bool)


def border_metrics(items: list[BenchItem], task: str, band: int, max_distance: int) -> dict[str, Any]:
    """Band / interior PSNR, their gap and the MAE-by-distance profile of bench predictions.

    Args:
        items: bench predictions (see :mod:`restore.analysis.study`).
        task: ``sr`` or ``inpaint`` (what is measured, see the module docstring).
        band: border band width in output pixels.
        max_distance: the profile covers distances ``0..max_distance-1`` (and ``≥ max_distance`` pooled).

    Returns:
        ``psnr_band``, ``psnr_interior``, ``gap``, ``mae_band``, ``mae_interior``, ``n_band``, ``n_interior``,
        ``mae_by_distance`` (list, ``None`` where no pixel counts) and ``mae_far`` (d ≥ max_distance).

    Raises:
        InputError: ``band`` < 1 or no counted pixel in the band or the interior.
    """
    if band < 1:
        raise InputError(f"band must be ≥ 1 pixel, not {band}")
    se = {"band": 0.0, "interior": 0.0}
    ae = {"band": 0.0, "interior": 0.0}
    n = {"band": 0, "interior": 0}
    prof_sum = np.zeros(max_distance + 1)
    prof_n = np.zeros(max_distance + 1)
    for it in items:
        err, use = _errors(it, task)
        d = border_distance(*use.shape)
        c = err.shape[2]
        for region, sel in (("band", use & (d < band)), ("interior", use & (d >= band))):
            e = err[sel]
            se[region] += float((e**2).sum())
            ae[region] += float(np.abs(e).sum())
            n[region] += int(sel.sum()) * c
        dd = np.minimum(d[use], max_distance)
        np.add.at(prof_sum, dd, np.abs(err[use]).mean(axis=1))
        np.add.at(prof_n, dd, 1)
    if not n["band"] or not n["interior"]:
        raise InputError(f"no measured pixel {'within' if not n['band'] else 'beyond'} {band} px of the border")
    mse = {k: se[k] / n[k] for k in se}
    ps = {k: psnr_from_mse(v, 255.0) for k, v in mse.items()}
    prof = [float(s / k) if k else None for s, k in zip(prof_sum, prof_n)]
    return {
        "psnr_band": ps["band"], "psnr_interior": ps["interior"], "gap": ps["interior"] - ps["band"],
        "mae_band": ae["band"] / n["band"], "mae_interior": ae["interior"] / n["interior"],
        "n_band": n["band"], "n_interior": n["interior"],
        "mae_by_distance": prof[:max_distance], "mae_far": prof[max_distance],
    }


def relative_to_reference(rec: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """Add ``excess_gap`` (gap − the reference's) and ``mae_ratio_by_distance`` (MAE / the reference's at the
    same distance) to one mode's :func:`border_metrics`; the reference sees the same pixels, so these cancel
    what the content near the bench's borders is like. Returns ``rec``."""
    rec["excess_gap"] = rec["gap"] - reference["gap"]
    rec["mae_ratio_by_distance"] = [None if a is None or not b else a / b
                                    for a, b in zip(rec["mae_by_distance"], reference["mae_by_distance"])]
    return rec


def corner_crop(items: list[BenchItem], size: int, task: str) -> dict[str, np.ndarray]:
    """The top-left ``size×size`` corner of the first bench item (uint8 output, reference, and hole mask)."""
    it = items[0]
    size = min(size, *it.reference.shape[:2])
    out = {"output": it.output[:size, :size].astype(np.uint8), "reference": it.reference[:size, :size].astype(np.uint8)}
    if task == "inpaint":
        out["mask"] = it.mask[:size, :size]
    return out


def corner_items(net, cfg: StudyConfig, images: list[np.ndarray], names: list[str], crop: int) -> list[BenchItem]:
    """The bench items the corner figure shows: SR the first bench image; inpainting the first image with a
    box hole over its top-left corner (2/3 of the crop, so the hole touches two edges and its inner boundary
    shows), filled by ``net`` (None: the pre-fill)."""
    if cfg.task == "sr":
        return bench_predict(net, cfg, images[:1], names[:1])
    import torch

    from restore.analysis.study import image_tensor, output_image
    from restore.fill import pyramid_fill

    img = images[0]
    m = np.zeros(img.shape[:2], bool)
    side = max(4, 2 * crop // 3)
    m[: min(side, img.shape[0] // 2), : min(side, img.shape[1] // 2)] = True
    x = image_tensor(img)
    holes = torch.from_numpy(m.astype(np.float32))[None, None]
    with torch.no_grad():
        y = pyramid_fill(x, holes) if net is None else net(x, holes)
    return [BenchItem(names[0], output_image(y), img.astype(np.float64), m)]


def padding_study(cfg: StudyConfig, modes: list[str] | None = None, *, band: int = 8, crop: int = 48,
                  progress: Progress | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the padding study: each padding mode trained for ``cfg.iters`` steps with ``cfg.upsampler``.

    Args:
        cfg: the study config (``cfg.bench`` is required).
        modes: padding modes (default: all four).
        band: border band width in output pixels.
        crop: side of the corner crop drawn in the figure.
        progress: called with one-line progress messages.

    Returns:
        ``(result, crops)``: the JSON-able result and the corner crops per mode (and ``"reference"``).

    Raises:
        InputError: bad config or band, unknown mode, missing or unusable data.
    """
    cfg.check()
    if not cfg.bench:
        raise InputError("the padding study measures on bench images: give --bench")
    if band < 1:
        raise InputError(f"band must be ≥ 1 pixel, not {band}")
    modes = list(modes or PADDING_MODES)
    for m in modes:
        if m not in PADDING_MODES:
            raise InputError(f"unknown padding mode {m!r}; choose from {', '.join(PADDING_MODES)}")
    build_net(cfg, upsampler=cfg.upsampler, padding_mode=modes[0], seed=0)  # validates the upsampler
    say = progress or (lambda _m: None)
    t_start = time.perf_counter()
    sampler = None
    n_train = 0
    if cfg.iters > 0:
        _, train_imgs = load_images(cfg.data)
        n_train = len(train_imgs)
        sampler = make_sampler(train_imgs, cfg)
    bench_paths, bench_imgs = load_images([cfg.bench], cfg.bench_limit)
    names = [p.name for p in bench_paths]
    max_d = max(4 * band, 32)
    ref_items = bench_predict(None, cfg, bench_imgs, names)
    reference = {"name": "bicubic (MATLAB)" if cfg.task == "sr" else "push-pull pre-fill",
                 **border_metrics(ref_items, cfg.task, band, max_d)}
    crops: dict[str, Any] = {"reference": corner_crop(corner_items(None, cfg, bench_imgs, names, crop), crop, cfg.task)}
    results: dict[str, Any] = {}
    for mode in modes:
        t0 = time.perf_counter()
        net = build_net(cfg, upsampler=cfg.upsampler, padding_mode=mode, seed=cfg.seed)
        log = train(net, cfg, sampler, seed=cfg.seed, progress=progress, label=mode) if cfg.iters > 0 else None
        net.eval()
        items = bench_predict(net, cfg, bench_imgs, names)
        rec = relative_to_reference(border_metrics(items, cfg.task, band, max_d), reference)
        rec.update(params=n_params(net), iters=cfg.iters, train_s=round(log.seconds, 1) if log else 0.0,
                   final_loss=log.final_loss if log else None, wall_s=round(time.perf_counter() - t0, 1))
        results[mode] = rec
        crops[mode] = corner_crop(corner_items(net, cfg, bench_imgs, names, crop), crop, cfg.task)
        say(f"{mode}: band {rec['psnr_band']:.2f} interior {rec['psnr_interior']:.2f} gap {rec['gap']:.2f} dB")
    result = {
        "study": "padding", "config": cfg.as_dict(), "band": band, "max_distance": max_d, "modes": modes,
        "train_images": n_train, "bench_images": len(bench_imgs), "reference": reference,
        "metrics": {
            "distance": "min(i, j, H-1-i, W-1-j) in output pixels",
            "psnr_band": "PSNR of the pooled MSE over pixels with distance < band"
                         + (" (Y channel, 8-bit)" if cfg.task == "sr" else " (RGB, hole pixels only)"),
            "psnr_interior": "the same over distance ≥ band", "gap": "psnr_interior - psnr_band (dB)",
            "mae_by_distance": "mean absolute error (0-255) at each distance 0..max_distance-1",
            "excess_gap": "gap - the reference's gap: the border penalty beyond what the content causes",
            "mae_ratio_by_distance": "mae_by_distance / the reference's at the same distance",
        },
        "hardware": hardware_note(), "wall_s": round(time.perf_counter() - t_start, 1),
        "results": results,
    }
    return result, crops


def padding_table(result: dict[str, Any]) -> str:
    """The Markdown table: padding mode × band PSNR, interior PSNR, gap, gap beyond the reference's, MAE in the
    band and the interior, and MAE on the edge itself (absolute and relative to the reference)."""
    band = result["band"]
    lines = [f"| padding | PSNR band (<{band} px) | PSNR interior | gap (dB) | excess gap (dB) | MAE band | "
             "MAE interior | MAE at d=0 | MAE at d=0 / ref |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    rows = [(f"`{m}`", r) for m, r in result["results"].items()]
    rows.append((f"*{result['reference']['name']}*", result["reference"]))

    def f(v: float | None, fmt: str = ".2f") -> str:
        return "–" if v is None else format(v, fmt)

    for label, r in rows:
        lines.append(f"| {label} | {r['psnr_band']:.2f} | {r['psnr_interior']:.2f} | {r['gap']:.2f} | "
                     f"{f(r.get('excess_gap'))} | {r['mae_band']:.2f} | {r['mae_interior']:.2f} | "
                     f"{f(r['mae_by_distance'][0])} | {f((r.get('mae_ratio_by_distance') or [None])[0], '.3f')} |")
    return "\n".join(lines) + "\n"


def padding_markdown(result: dict[str, Any], profile_png: str = "padding_profile.png",
                     corners_png: str = "padding_corners.png") -> str:
    """``padding.md``: a title line, the bench, the table and the two figures."""
    cfg = result["config"]
    return (
        f"# Padding study ({cfg['task']}, upsampler {cfg['upsampler']}, {cfg['iters']} iterations, "
        f"band {result['band']} px)\n\n"
        f"Bench: {cfg['bench']} ({result['bench_images']} images). {result['hardware']}, "
        f"{result['wall_s']:.0f} s.\n\n"
        + padding_table(result)
        + f"\n![profile]({profile_png})\n\n![corners]({corners_png})\n"
    )


def write_padding(result: dict[str, Any], crops: dict[str, Any], out: str | Path) -> list[Path]:
    """Write ``padding.json``, ``padding.md`` (the table), ``padding_profile.png`` and ``padding_corners.png``
    under ``out`` (created).

    Returns:
        the written paths.
    """
    from restore.analysis.figures import padding_corners_figure, padding_profile_figure

    return write_report(out, "padding", result, [
        ("padding_profile.png", lambda p: padding_profile_figure(result, p)),
        ("padding_corners.png", lambda p: padding_corners_figure(crops, result, p)),
    ], lambda names: padding_markdown(result, *names))
