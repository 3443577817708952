"""Checkerboard artifacts of learned upsamplers, measured at initialisation and after an equal training budget.

Metric (primary): the **phase-mean spread**. An s× upsampler writes each output pixel from one of s² kernel
phases; for an output ``y`` the s² sub-lattices ``y[i::s, j::s]`` (i, j = 0..s-1) are those phases. If the
upsampler treats all phases alike, the sub-lattice means are equal; a checkerboard makes them differ. So:

1. Crop the interior: drop a margin wider than the network's receptive field (border effects are the
   padding study's subject, not this one); the crop starts on the phase grid and is a multiple of s.
2. Detrend: ``r = y - box_s(y)``, with ``box_s`` the s×s moving average. The box average has zeros at
   exactly the checkerboard frequencies k/s, so a period-s pattern passes through unchanged (less its
   mean), while smooth content is removed — without this a plain gradient would make the phase means
   differ, since neighbouring sub-lattices sample it one pixel apart.
3. ``spread`` = the **standard deviation** (population, over the s² values) of the sub-lattice means of r.
4. Normalise: on the *smooth* probe by the standard deviation of the interior of y (the image's own
   contrast); on the *constant* probe y's std is made of the artifact alone (it would always give 1), so
   there it is normalised by the root mean square of the interior of y (the output level); since the
   phase means' std ≤ std(y) ≤ rms(y), that score lies in [0, 1]. A normaliser below 1e-12 (an all-zero
   output) gives a score of 0.

The score is per channel, averaged over channels. It is 0 for a perfectly even upsampler on the constant
probe, and to second order in the image's curvature on the smooth probe.

Spectral view: the share of y's power (2-D FFT of the interior, per channel mean removed, power summed over
channels) in the bins at the checkerboard frequencies (k·H/s, l·W/s), k, l = 0..s-1, not both 0. An output
whose fluctuation is below 1e-5 of its level counts as flat (share 0): float rounding noise has no
meaningful spectrum.

Probes: a constant mid-grey image and a smooth image (low-frequency sinusoids and a ramp), both RGB.
For the inpainting U-Net the probe is given with no holes and the decoder's correction is measured (see
:func:`restore.analysis.study.branch_output`); its checkerboard period is the U-Net's total factor 2**levels.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from restore.analysis.study import (
    StudyConfig, Progress, bench_predict, bench_psnr, branch_output, build_net, load_images, make_sampler,
    n_params, train, upsampler_params, with_drawing_output, write_report,
)
from restore.devices import hardware_note
from restore.errors import InputError
from restore.models.upsamplers import UPSAMPLERS

PROBES = ("constant", "smooth")
FLAT_REL = 1e-5  # below this fluctuation relative to the level, an output is flat (rounding noise only)


# --- metrics (pure NumPy) ------------------------------------------------------------------------------

def interior(y: np.ndarray, margin: int, s: int) -> np.ndarray:
    """Crop ``margin`` (rounded up to a multiple of ``s``) from each side of ``(..., H, W)``; the crop starts on
    the phase grid and its size is cut to a multiple of ``s``.

    Raises:
        InputError: nothing (or less than one s×s cell) is left.
    """
    m = -(-margin // s) * s
    h, w = y.shape[-2:]
    hh, ww = (h - 2 * m) // s * s, (w - 2 * m) // s * s
    if hh < s or ww < s:
        raise InputError(f"a {h}×{w} output has no interior beyond a {m} px margin")
    return y[..., m : m + hh, m : m + ww]


def detrend(y: np.ndarray, s: int) -> np.ndarray:
    """``y - box_s(y)`` on a 2-D array, valid part only: ``r[i, j] = y[i, j] - mean(y[i:i+s, j:j+s])``.

    The crop keeps index (0, 0) at (0, 0), so the sub-lattice of ``r[i::s, j::s]`` is that of ``y``.
    """
    c = np.cumsum(np.cumsum(np.pad(y.astype(np.float64), ((1, 0), (1, 0))), 0), 1)
    box = (c[s:, s:] - c[:-s, s:] - c[s:, :-s] + c[:-s, :-s]) / (s * s)
    h, w = box.shape
    return y[:h, :w] - box


def phase_means(y: np.ndarray, s: int) -> np.ndarray:
    """The ``s×s`` array of sub-lattice means ``mean(r[i::s, j::s])`` of the detrended 2-D ``y``."""
    r = detrend(y, s)
    return np.array([[r[i::s, j::s].mean() for j in range(s)] for i in range(s)])


def phase_spread(y: np.ndarray, s: int, *, normalise: str) -> dict[str, float]:
    """Phase-mean spread of an interior crop ``(C, H, W)`` or ``(H, W)`` (see the module docstring).

    Args:
        y: the output's interior (see :func:`interior`).
        s: the upsampling factor (checkerboard period).
        normalise: ``"std"`` (smooth probe, natural images) or ``"rms"`` (constant probe).

    Returns:
        ``score`` (std of the phase means / normaliser, mean over channels), ``spread`` (absolute std of the
        phase means) and ``range`` (absolute max − min), both also averaged over channels.
    """
    if normalise not in ("std", "rms"):
        raise InputError(f"normalise must be 'std' or 'rms', not {normalise!r}")
    chans = y[None] if y.ndim == 2 else y
    scores, spreads, ranges = [], [], []
    for c in chans:
        c = c.astype(np.float64)
        pm = phase_means(c, s)
        norm = float(c.std()) if normalise == "std" else float(np.sqrt(np.mean(c * c)))
        spreads.append(float(pm.std()))
        ranges.append(float(pm.max() - pm.min()))
        scores.append(spreads[-1] / norm if norm > 1e-12 else 0.0)
    return {"score": float(np.mean(scores)), "spread": float(np.mean(spreads)), "range": float(np.mean(ranges))}


def checkerboard_mask(h: int, w: int, s: int) -> np.ndarray:
    """Boolean ``h×w`` mask of the FFT bins at the checkerboard frequencies (multiples of h/s, w/s), DC excluded.

    Raises:
        InputError: ``h`` or ``w`` is not a multiple of ``s``.
    """
    if h % s or w % s:
        raise InputError(f"spectrum size {h}×{w} must be a multiple of {s}")
    m = np.zeros((h, w), bool)
    m[np.ix_(np.arange(0, h, h // s), np.arange(0, w, w // s))] = True
    m[0, 0] = False
    return m


def power_spectrum(y: np.ndarray) -> np.ndarray:
    """Power of the 2-D FFT of ``(C, H, W)`` or ``(H, W)``, each channel's mean removed, summed over channels."""
    chans = y[None] if y.ndim == 2 else y
    p = np.zeros(chans.shape[-2:])
    for c in chans:
        c = c.astype(np.float64)
        p += np.abs(np.fft.fft2(c - c.mean())) ** 2
    return p


def checkerboard_share(y: np.ndarray, s: int) -> float:
    """Share of the (mean-removed) power at the checkerboard frequencies k/s; 0 for a flat output."""
    chans = y[None] if y.ndim == 2 else y
    level = float(np.sqrt(np.mean(chans.astype(np.float64) ** 2)))
    if float(np.mean([c.std() for c in chans])) <= FLAT_REL * max(level, 1e-12):
        return 0.0
    p = power_spectrum(y)
    total = float(p.sum())
    return float(p[checkerboard_mask(*p.shape, s)].sum() / total) if total > 0 else 0.0


def probe_image(kind: str, h: int, w: int) -> np.ndarray:
    """A ``(3, h, w)`` float32 probe in [0, 1]: ``constant`` (0.5 grey) or ``smooth`` (periods ≥ 0.7 of the
    image side, a different phase per channel, plus a gentle ramp).

    Raises:
        InputError: an unknown kind.
    """
    if kind == "constant":
        return np.full((3, h, w), 0.5, np.float32)
    if kind == "smooth":
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        yy, xx = yy / h, xx / w
        chans = [0.5 + 0.2 * np.sin(2 * np.pi * (1.3 * xx + 0.3 * c)) * np.cos(2 * np.pi * (0.9 * yy - 0.2 * c))
                 + 0.1 * (xx - yy) for c in range(3)]
        return np.stack(chans).astype(np.float32)
    raise InputError(f"unknown probe {kind!r}; choose from {', '.join(PROBES)}")


def probe_geometry(cfg: StudyConfig) -> tuple[int, int]:
    """(input side, output margin) for the probes: the margin exceeds the receptive field, so the interior
    of a constant probe is untouched by padding, and the interior keeps ≥ 64 output pixels a side.

    SR: every LR conv (head, 2 per block, body tail) widens the field by 1 LR pixel; 2 more LR pixels cover
    the upsampler's conv and the laplacian step's binomial kernel. U-Net: a generous bound — the dilated
    bottleneck at 1/2**L reaches 2*(2**n_bottleneck - 1) coarse pixels, encoder and decoder a few per level.
    """
    s = cfg.factor
    if cfg.task == "sr":
        margin = s * (2 * cfg.n_blocks + 4) + 4
        side_out = 2 * margin + 64
        return -(-side_out // s), margin
    levels = len(cfg.widths) - 1
    margin = 2**levels * (2 * (2**cfg.n_bottleneck - 1) + 4 * levels + 4)
    side = 2 * margin + max(64, 8 * s)
    return -(-side // s) * s, margin


def measure(net: torch.nn.Module, cfg: StudyConfig) -> dict[str, Any]:
    """Phase-mean spread and spectral share of ``net``'s learned branch on both probes.

    Returns:
        ``{probe: {"score", "spread", "range", "share"}}`` plus ``"_images"`` (for the figures): per probe the
        interior of channel 0 and the log10 power spectrum (fft-shifted).
    """
    side, margin = probe_geometry(cfg)
    s = cfg.factor
    out: dict[str, Any] = {"_images": {}}
    for kind in PROBES:
        x = torch.from_numpy(probe_image(kind, side, side))[None]
        y = interior(branch_output(net, cfg, x)[0].double().numpy(), margin, s)
        rec = phase_spread(y, s, normalise="rms" if kind == "constant" else "std")
        rec["share"] = checkerboard_share(y, s)
        out[kind] = rec
        p = power_spectrum(y)
        out["_images"][kind] = {
            "image": y[0],
            "log_spectrum": np.log10(np.fft.fftshift(p) + 1e-20 + 1e-12 * float(p.max())),
        }
    return out


def bench_error_spread(items, s: int, margin: int = 16) -> float | None:
    """Mean over bench images of the phase-mean spread of the Y error (output − reference), std-normalised:
    a checkerboard in a trained model's output on natural images (of the order of s/sqrt(pixels) for none).
    ``None`` when no image has an interior."""
    from restore.metrics import rgb_to_y

    vals = []
    for it in items:
        err = rgb_to_y(it.output) - rgb_to_y(it.reference)
        try:
            vals.append(phase_spread(interior(err, margin, s), s, normalise="std")["score"])
        except InputError:  # an image too small to have an interior
            continue
    return float(np.mean(vals)) if vals else None


def _mean_sd(records: list[dict[str, Any]], probe: str, key: str) -> tuple[float, float]:
    v = [r[probe][key] for r in records]
    return float(np.mean(v)), float(np.std(v))


def checkerboard_study(cfg: StudyConfig, upsamplers: list[str] | None = None, *,
                       progress: Progress | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the checkerboard study: every upsampler at init (``cfg.seeds`` seeds) and after ``cfg.iters`` steps.

    Args:
        cfg: the study config (``cfg.padding_mode`` is shared by every variant).
        upsamplers: names to compare (default: all registered).
        progress: called with one-line progress messages.

    Returns:
        ``(result, images)``: the JSON-able result and, per upsampler and stage, the arrays for the figures.

    Raises:
        InputError: bad config, unknown upsampler, missing or unusable data.
    """
    cfg.check()
    names = list(upsamplers or UPSAMPLERS)
    for n in names:
        build_net(cfg, upsampler=n, padding_mode=cfg.padding_mode, seed=0)  # validates before any training
    say = progress or (lambda _m: None)
    t_start = time.perf_counter()
    sampler = bench = None
    n_train = 0
    if cfg.iters > 0:
        _, train_imgs = load_images(cfg.data)
        n_train = len(train_imgs)
        sampler = make_sampler(train_imgs, cfg)
    if cfg.bench and cfg.iters > 0:
        bench_paths, bench_imgs = load_images([cfg.bench], cfg.bench_limit)
        bench = ([p.name for p in bench_paths], bench_imgs)
    reference = None
    if bench is not None:  # what the task's classical baseline scores on the same bench
        ref_items = bench_predict(None, cfg, bench[1], bench[0])
        reference = {"name": "bicubic (MATLAB)" if cfg.task == "sr" else "push-pull pre-fill",
                     "psnr": bench_psnr(ref_items, cfg),
                     "bench_error_spread": bench_error_spread(ref_items, cfg.scale) if cfg.task == "sr" else None}
    results: dict[str, Any] = {}
    images: dict[str, Any] = {}
    for name in names:
        t0 = time.perf_counter()
        init_runs = []
        for seed in range(cfg.seeds):
            net = build_net(cfg, upsampler=name, padding_mode=cfg.padding_mode, seed=seed).eval()
            init_runs.append(measure(with_drawing_output(net, cfg), cfg))
        net = build_net(cfg, upsampler=name, padding_mode=cfg.padding_mode, seed=cfg.seed)
        rec: dict[str, Any] = {
            "params": n_params(net), "upsampler_params": upsampler_params(net),
            "description": UPSAMPLERS[name].description,
            "init": {p: {"seeds": [r[p] for r in init_runs]} for p in PROBES},
            "trained": None,
        }
        for p in PROBES:
            for key in ("score", "spread", "range", "share"):
                m, sd = _mean_sd(init_runs, p, key)
                rec["init"][p][key], rec["init"][p][f"{key}_sd"] = m, sd
        images[name] = {"init": init_runs[0]["_images"]}
        say(f"{name}: init const {rec['init']['constant']['score']:.4f} smooth {rec['init']['smooth']['score']:.4f}")
        if cfg.iters > 0:
            log = train(net, cfg, sampler, seed=cfg.seed, progress=progress, label=name)
            m = measure(net, cfg)
            images[name]["trained"] = m.pop("_images")
            trained: dict[str, Any] = {**m, "iters": log.iters, "train_s": round(log.seconds, 1),
                                       "final_loss": log.final_loss, "psnr": None, "bench_error_spread": None}
            if bench is not None:
                items = bench_predict(net, cfg, bench[1], bench[0])
                trained["psnr"] = bench_psnr(items, cfg)
                if cfg.task == "sr":
                    trained["bench_error_spread"] = bench_error_spread(items, cfg.scale)
            rec["trained"] = trained
            say(f"{name}: trained const {m['constant']['score']:.4f} smooth {m['smooth']['score']:.4f} "
                f"psnr {trained['psnr'] if trained['psnr'] is None else round(trained['psnr'], 2)} "
                f"({log.seconds:.0f}s)")
        rec["wall_s"] = round(time.perf_counter() - t0, 1)
        results[name] = rec
    side, margin = probe_geometry(cfg)
    result = {
        "study": "checkerboard", "config": cfg.as_dict(), "factor": cfg.factor,
        "upsamplers": names, "init_seeds": list(range(cfg.seeds)), "train_images": n_train,
        "bench_images": len(bench[1]) if bench else 0, "reference": reference,
        "probe": {"input_side": side, "output_margin": margin,
                  "measured": "learned branch: SR net.up(features) (= output without bicubic skip); "
                              "inpainting: decoder correction on the un-holed probe"},
        "metrics": {
            "score": "std of the s² sub-lattice means of the detrended interior (y - s×s box mean), / rms(y) "
                     "on the constant probe, / std(y) on the smooth probe; mean over RGB channels",
            "spread": "absolute std of the sub-lattice means", "range": "absolute max - min of them",
            "share": "share of mean-removed FFT power at the checkerboard bins (multiples of N/s), DC excluded",
            "psnr": "bench: SR mean PSNR-Y, scale shaved; inpainting mean hole PSNR (RGB)",
            "bench_error_spread": "score of the Y error (output - HR) on bench images, std-normalised",
        },
        "hardware": hardware_note(), "wall_s": round(time.perf_counter() - t_start, 1),
        "results": results,
    }
    return result, images


def _f(v: float | None, fmt: str = ".3g") -> str:  # 3 significant digits: trained scores are ~1e-4
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else format(v, fmt)


def checkerboard_table(result: dict[str, Any]) -> str:
    """The Markdown table: upsampler × {init (mean ± sd over seeds), trained} × metric, PSNR and parameters."""
    trained_any = any(r["trained"] for r in result["results"].values())
    head = ["upsampler", "params (up)", "init const", "init smooth", "init share"]
    if trained_any:
        head += ["trained const", "trained smooth", "trained share", "bench err", "PSNR"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for name, r in result["results"].items():
        i = r["init"]
        row = [f"`{name}`", f"{r['params']:,} ({r['upsampler_params']:,})",
               f"{_f(i['constant']['score'])} ± {_f(i['constant']['score_sd'])}",
               f"{_f(i['smooth']['score'])} ± {_f(i['smooth']['score_sd'])}",
               f"{_f(i['smooth']['share'])}"]
        if trained_any:
            t = r["trained"] or {}
            row += [_f(t.get("constant", {}).get("score")), _f(t.get("smooth", {}).get("score")),
                    _f(t.get("smooth", {}).get("share")), _f(t.get("bench_error_spread")), _f(t.get("psnr"), ".2f")]
        lines.append("| " + " | ".join(row) + " |")
    ref = result.get("reference")
    if trained_any and ref:
        row = [f"*{ref['name']}*", "–", "–", "–", "–", "–", "–", "–", _f(ref.get("bench_error_spread")),
               _f(ref["psnr"], ".2f")]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def checkerboard_markdown(result: dict[str, Any], probes_png: str = "checkerboard_probes.png",
                          scores_png: str = "checkerboard_scores.png") -> str:
    """``checkerboard.md``: a title line, what the columns mean, the table and the two figures."""
    cfg = result["config"]
    return (
        f"# Checkerboard study ({cfg['task']}, factor {result['factor']}, {cfg['iters']} iterations, "
        f"padding {cfg['padding_mode']})\n\n"
        "Phase-mean spread (std of the s² sub-lattice means of the detrended interior; / rms on the constant "
        "probe, / std on the smooth probe); init = mean ± sd over "
        f"{len(result['init_seeds'])} seeds; share = spectral share at k/s on the smooth probe; "
        "bench err = the spread of the Y error on the bench; PSNR on the bench "
        f"({result['bench_images']} images). {result['hardware']}, {result['wall_s']:.0f} s.\n\n"
        + checkerboard_table(result)
        + f"\n![probes]({probes_png})\n\n![scores]({scores_png})\n"
    )


def write_checkerboard(result: dict[str, Any], images: dict[str, Any], out: str | Path) -> list[Path]:
    """Write ``checkerboard.json``, ``checkerboard.md`` (the table), ``checkerboard_probes.png`` and
    ``checkerboard_scores.png`` under ``out`` (created).

    Returns:
        the written paths.
    """
    from restore.analysis.figures import checkerboard_figure, scores_figure

    return write_report(out, "checkerboard", result, [
        ("checkerboard_probes.png", lambda p: checkerboard_figure(images, result, p)),
        ("checkerboard_scores.png", lambda p: scores_figure(result, p)),
    ], lambda names: checkerboard_markdown(result, *names))
