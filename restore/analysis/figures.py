"""Figures of the study (matplotlib with the Agg backend; imported only when a figure is drawn)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


def _centre_zoom(a: np.ndarray, side: int) -> np.ndarray:
    h, w = a.shape
    side = min(side, h, w)
    y, x = (h - side) // 2, (w - side) // 2
    return a[y : y + side, x : x + side]


def _mark_bins(ax, spec: np.ndarray, s: int, top: float) -> None:
    """Draw the (single-pixel) checkerboard bins of an fft-shifted spectrum as dots in the same colour map,
    ringed in cyan, so a peak (or its absence) is visible at figure scale."""
    h, w = spec.shape
    ys = [(k * h // s + h // 2) % h for k in range(s)]
    xs = [(k * w // s + w // 2) % w for k in range(s)]
    pts = [(y, x) for y in ys for x in xs if (y, x) != (h // 2, w // 2)]
    ax.scatter([x for _, x in pts], [y for y, _ in pts], c=[spec[y, x] for y, x in pts], cmap="magma",
               vmin=top - 10, vmax=top, s=28, edgecolors="cyan", linewidths=0.7, clip_on=False, zorder=3)


def checkerboard_figure(images: dict[str, Any], result: dict[str, Any], path: Path, *, zoom: int = 24) -> Path:
    """Per upsampler (columns) and stage: the learned branch's output on the flat probe (its centre, mean
    removed, own colour scale) and its log10 power spectrum (shared scale per row), plus the smooth probe's
    spectrum. Checkerboard bins (multiples of N/s, on the edges of the shifted spectrum) are ringed in cyan.

    Returns:
        ``path``.
    """
    plt = _plt()
    names = list(images)
    stages = [s for s in ("init", "trained") if any(s in images[n] for n in names)]
    rows = [(st, kind) for st in stages for kind in ("flat", "flat-spectrum", "smooth-spectrum")]
    fig, axes = plt.subplots(len(rows), len(names), figsize=(2.0 * len(names), 2.1 * len(rows)), squeeze=False)
    for r, (stage, kind) in enumerate(rows):
        spectra = [images[n][stage]["constant" if kind == "flat-spectrum" else "smooth"]["log_spectrum"]
                   for n in names if stage in images[n]]
        top = max(float(s.max()) for s in spectra) if spectra else 0.0
        for c, name in enumerate(names):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if stage not in images[name]:
                ax.axis("off")
                continue
            rec = result["results"][name][stage]
            if kind == "flat":
                a = _centre_zoom(images[name][stage]["constant"]["image"], zoom)
                a = a - a.mean()
                level = float(np.sqrt(np.mean(images[name][stage]["constant"]["image"] ** 2)))
                lim = max(float(np.abs(a).max()), 1e-3 * level, 1e-12)  # don't blow rounding noise up to full scale
                ax.imshow(a, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
                ax.set_title(f"{name}\n{stage}: score {rec['constant']['score']:.3g}, ±{lim:.1g}", fontsize=7)
            else:
                probe = "constant" if kind == "flat-spectrum" else "smooth"
                spec = images[name][stage][probe]["log_spectrum"]
                ax.imshow(spec, cmap="magma", vmin=top - 10, vmax=top, interpolation="nearest")
                _mark_bins(ax, spec, result["factor"], top)
                ax.set_title(f"{stage} {probe} spectrum\nshare {rec[probe]['share']:.3g}", fontsize=7)
        axes[r, 0].set_ylabel({"flat": "flat probe\n(centre, mean removed)", "flat-spectrum": "log10 power",
                               "smooth-spectrum": "log10 power"}[kind], fontsize=7)
    cfg = result["config"]
    fig.suptitle(f"Checkerboard probe, task {cfg['task']}, factor {result['factor']}, "
                 f"{cfg['iters']} training iterations", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def scores_figure(result: dict[str, Any], path: Path) -> Path:
    """Bar chart (log scale) of the phase-mean spread per upsampler: init (mean ± sd over seeds) and trained.

    Returns:
        ``path``.
    """
    plt = _plt()
    names = list(result["results"])
    floor = 1e-6  # log axis: zero scores are drawn at the floor
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    x = np.arange(len(names))
    for ax, probe in zip(axes, ("constant", "smooth")):
        init = [max(result["results"][n]["init"][probe]["score"], floor) for n in names]
        sd = [result["results"][n]["init"][probe]["score_sd"] for n in names]
        ax.bar(x - 0.2, init, 0.4, yerr=sd, label="init (mean ± sd over seeds)", color="#8fa8c8", capsize=2)
        if any(result["results"][n]["trained"] for n in names):
            tr = [max((result["results"][n]["trained"] or {}).get(probe, {}).get("score", floor), floor) for n in names]
            ax.bar(x + 0.2, tr, 0.4, label=f"trained ({result['config']['iters']} it)", color="#c8553d")
        ax.set_yscale("log")
        ax.set_ylim(floor / 2, 2)
        ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
        ax.set_title(f"phase-mean spread, {probe} probe", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def padding_profile_figure(result: dict[str, Any], path: Path) -> Path:
    """MAE by distance from the border: curves per padding mode (reference dashed), and a heat map of each
    mode's MAE relative to the reference's at the same distance (which cancels what the content near the
    bench's borders is like).

    Returns:
        ``path``.
    """
    plt = _plt()
    rows = [(m, r) for m, r in result["results"].items()] + [(result["reference"]["name"], result["reference"])]
    d = np.arange(result["max_distance"])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [1, 1.3]})
    for i, (label, r) in enumerate(rows):
        prof = np.array([np.nan if v is None else v for v in r["mae_by_distance"]])
        a1.plot(d, prof, "--" if i == len(rows) - 1 else "-", label=label, lw=1.4)
    a1.axvline(result["band"] - 0.5, color="gray", lw=0.8, ls=":")
    a1.set_xlabel("distance from the border (output px)")
    a1.set_ylabel("MAE (0-255)")
    a1.set_title(f"error by distance; band = {result['band']} px", fontsize=9)
    a1.legend(fontsize=7)
    a1.grid(alpha=0.3)
    modes = list(result["results"])
    heat = np.array([[np.nan if v is None else v for v in result["results"][m]["mae_ratio_by_distance"]]
                     for m in modes])
    lim = float(np.nanmax(np.abs(heat - 1))) if np.isfinite(heat).any() else 0.1
    im = a2.imshow(heat, aspect="auto", cmap="RdBu_r", vmin=1 - lim, vmax=1 + lim, interpolation="nearest")
    a2.set_yticks(range(len(modes)), modes, fontsize=8)
    a2.set_xlabel("distance from the border (output px)")
    a2.set_title(f"MAE / {result['reference']['name']} MAE at the same distance", fontsize=9)
    fig.colorbar(im, ax=a2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def padding_corners_figure(crops: dict[str, Any], result: dict[str, Any], path: Path, *, gain: float = 4.0) -> Path:
    """Top-left corner of the first bench image: ground truth, reference and each mode (top), and the
    absolute error ×``gain`` (bottom; the hole outlined in red for inpainting).

    Returns:
        ``path``.
    """
    plt = _plt()
    cols = ["ground truth", "reference"] + [m for m in result["results"]]
    fig, axes = plt.subplots(2, len(cols), figsize=(2.1 * len(cols), 5.0), squeeze=False)
    gt = crops["reference"]["reference"]
    for c, col in enumerate(cols):
        top, bot = axes[0, c], axes[1, c]
        for ax in (top, bot):
            ax.set_xticks([])
            ax.set_yticks([])
        if col == "ground truth":
            top.imshow(gt, interpolation="nearest")
            top.set_title("ground truth", fontsize=8)
            if "mask" in crops["reference"]:
                bot.imshow(crops["reference"]["mask"], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                bot.set_title("hole", fontsize=8)
            else:
                bot.axis("off")
            continue
        cr = crops[col]
        label = result["reference"]["name"] if col == "reference" else col
        top.imshow(cr["output"], interpolation="nearest")
        top.set_title(label, fontsize=8)
        err = np.abs(cr["output"].astype(np.float64) - cr["reference"].astype(np.float64)).mean(axis=2)
        bot.imshow(np.clip(err * gain, 0, 255), cmap="inferno", vmin=0, vmax=255, interpolation="nearest")
        bot.set_title(f"|error| ×{gain:g}", fontsize=8)
        if "mask" in cr:
            bot.contour(cr["mask"].astype(float), levels=[0.5], colors="red", linewidths=0.6)
    fig.suptitle("top-left corner of the first bench image", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
