"""Regenerate the README's model table from the shipped weights: scores from their metadata
(``scripts/score_models.py`` writes them), speed measured here through the public API at ``precision="auto"``.

    python scripts/model_table.py --bench path/to/bench [--readme README.md] [--threads 2]

SR rows: output megapixels per second of :func:`restore.upscale` on Set5's MATLAB-bicubic LR images (×s of the
model); ×1 rows: of :func:`restore.denoise` on the first ten BSD68 images stored as JPEG at quality 50 (told so:
the JPEG model given the file's tables, as a JPEG file is).
One warm-up per image, then the whole set five times, the fastest kept. Rows of other tasks (inpainting) are kept
as the README has them. Run it on a quiet machine: the speed column is only as good as the machine is idle.
"""
from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import restore  # first: it makes OpenMP wait passively before torch loads
from restore.catalogue import _shipped, format_params, real_photo_trained
from restore.compression import ijg_table
from restore.data import mod_crop
from restore.degradations import degrade, make_lr
from restore.evaluate import bench_images
from restore.io import read_rgb_u8

BEGIN = "| model | task | params | file |"
END = "<!-- end of the regenerated table -->"
SETS = ("Set5", "Set14", "BSD68")


def ran_as(name: str) -> str:
    """What ``precision="auto"`` runs this model as on this machine (the engine's own decision)."""
    import torch

    from restore.engine import sr_runner

    net, dtype = sr_runner(name, torch.device("cpu"))
    if net.metadata.get("precision") == "int8":
        return "int8"
    return {torch.bfloat16: "bf16", None: "fp32"}.get(dtype, str(dtype))


def speed(fn, inputs: list, out_px: int, runs: int = 5) -> float:
    """Output megapixels per second: one warm-up per input, then the whole set ``runs`` times, the fastest kept
    (on a shared machine the other runs measure its neighbours)."""
    for x in inputs:
        fn(x)
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        for x in inputs:
            fn(x)
        best = min(best, time.perf_counter() - t)
    return out_px / 1e6 / best


def role(meta: dict) -> str:
    """What the model is picked for, as the table's first column says it."""
    s = meta["scale"]
    if meta.get("default"):
        if s == 1:
            return "`restore denoise`, " + ("JPEG files" if meta.get("inputs") == "jpeg" else "other files")
        return f"default ×{s}"
    return f"JPEG inputs ×{s}" if real_photo_trained(meta) else ""


def sr_row(path: Path, meta: dict, bench: Path, bicubic: dict[int, tuple[float, float]]) -> str:
    name, s, sc = meta["name"], meta["scale"], meta.get("scores", {})
    files = bench_images(bench / "Set5")
    if s == 1:  # photo-sized inputs: BSD68's first ten, 481×321
        hrs = [mod_crop(read_rgb_u8(f), 8) for f in bench_images(bench / "BSD68")[:10]]
        lrs = [make_lr(h, 1, "jpeg:50", seed=i) for i, h in enumerate(hrs)]
        # what a JPEG file gets: its model told the file's tables (the constraint included)
        said = {"jpeg_tables": ijg_table(50)} if meta.get("inputs") == "jpeg" else {"jpeg_quality": 50}
        mp = speed(lambda x: restore.denoise(x, model=name, **said), lrs, sum(h[..., 0].size for h in hrs))
        task = "restoration ×1"
        cells = ["see below"] + [""] * 3
    else:
        hrs = [mod_crop(read_rgb_u8(f), s) for f in files]
        lrs = [degrade(h, s) for h in hrs]
        mp = speed(lambda x: restore.upscale(x, s, model=name), lrs, sum(h[..., 0].size for h in hrs))
        task = f"SR ×{s}" + (", real photos" if real_photo_trained(meta) else "")
        cells = [f"{sc[f'{d}_psnr_y']:.2f} / {sc[f'{d}_ssim_y']:.4f}" if f"{d}_psnr_y" in sc else "—" for d in SETS]
        if meta.get("default"):
            cells[0] = f"**{sc['Set5_psnr_y']:.2f}** / {sc['Set5_ssim_y']:.4f}"
        cells.append("%.2f / %.4f" % bicubic[s])
    label = f"`{name}`" + (f" ({role(meta)})" if role(meta) else "")
    size = path.stat().st_size / 1e6
    size = f"{size:.{2 if size < 0.5 else 1}f} MB"
    return (f"| {label} | {task} | {format_params(meta.get('params'))} | {size} | " + " | ".join(cells)
            + f" | {mp:.2f} MP/s ({ran_as(name)}) |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True, type=Path, help="folder holding Set5/, Set14/, BSD68/")
    ap.add_argument("--readme", default="README.md", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    from restore.evaluate import eval_sr

    bicubic = {}
    for s in (2, 3, 4):
        r = eval_sr(a.bench / "Set5", s, method="bicubic-matlab")
        bicubic[s] = (r["psnr_y"], r["ssim_y"])
    text = a.readme.read_text()
    start = text.index(BEGIN)
    end = text.index("\n\n", start)
    old_rows = text[start:end].splitlines()[2:]
    models = sorted(((p, m) for p, m in _shipped() if m["task"] == "sr"),
                    key=lambda pm: (pm[1]["scale"] == 1, "real" in pm[1]["name"], not pm[1].get("default"),
                                    pm[1]["name"]))
    rows = [sr_row(p, m, a.bench, bicubic) for p, m in models]
    print("\n".join(rows))
    names = {m["name"] for _p, m in models}
    kept = [r for r in old_rows if not re.match(r"\| `([^`]+)`", r) or re.match(r"\| `([^`]+)`", r)[1] not in names]
    table = "\n".join(text[start:end].splitlines()[:2] + rows + kept)
    a.readme.write_text(text[:start] + table + text[end:])
    assert END in a.readme.read_text()


if __name__ == "__main__":
    main()
