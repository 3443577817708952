"""``restore eval sr | denoise | inpaint``: methods and models scored by the standard protocols (the work is
:mod:`restore.evaluate`)."""
from __future__ import annotations

import math
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from restore.cli.common import (
    EXIT_USAGE, Precision, ThreadsOpt, apply_threads, check_scale, emit_json, error_exit, handle_errors,
)
from restore.degradations import degradation_help

eval_app = typer.Typer(help="Evaluate methods by the standard protocols (PSNR/SSIM).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``eval`` group to ``app``."""
    app.add_typer(eval_app, name="eval")


class MaskFamily(str, Enum):
    thin = "thin"
    thick = "thick"
    box = "box"
    all = "all"


@eval_app.command("sr")
@handle_errors
def eval_sr_cmd(
    data: Annotated[Path, typer.Option("--data", exists=True, help="Folder of HR images (e.g. Set5).", show_default=False)],
    scale: Annotated[int, typer.Option("--scale", "-s", help="2, 3 or 4.", callback=check_scale)] = 4,
    method: Annotated[str, typer.Option("--method", "-m", help="auto, a CNN name or a classical method.")] = "auto",
    model: Annotated[Optional[str], typer.Option("--model", help="Model name or .safetensors path; overrides --method.", show_default=False)] = None,
    device: Annotated[str, typer.Option("--device", "-d")] = "auto",
    degradation: Annotated[str, typer.Option("--degradation", help=degradation_help())] = "clean",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    per_image: Annotated[bool, typer.Option("--per-image", help="Also list each image.")] = False,
    precision: Annotated[Precision, typer.Option("--precision", help="The network's arithmetic (fp32 by default: a model's scores, whatever the CPU; auto = what restore upscale runs here).")] = Precision.fp32,
    threads: ThreadsOpt = None,
    ensemble: Annotated[bool, typer.Option("--ensemble", help="Average the network over the 8 flips and rotations of each input (8x the time).")] = False,
) -> None:
    """Super-resolution: LR = MATLAB bicubic of HR (then --degradation), PSNR/SSIM on Y with the scale shaved (the
    published protocol), and blockiness (JPEG block edges in the output; about 1 = none)."""
    apply_threads(threads)
    from restore.degradations import parse_test_degradation
    from restore.errors import InputError
    from restore.evaluate import eval_sr

    try:
        deg = parse_test_degradation(degradation)
    except InputError as e:
        raise error_exit(str(e), EXIT_USAGE) from None
    r = eval_sr(data, scale, method=method, model=model, device=device, degradation=deg, precision=precision.value,
                ensemble=ensemble)
    if as_json:
        emit_json(r)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"{r['method']} ×{scale} on {data} ({r['images']} images, {r['degradation']})", title_justify="left")
    for c in ("image", "PSNR-Y", "SSIM-Y", "blockiness", "s"):
        t.add_column(c, justify="right" if c != "image" else "left")
    if per_image:
        for row in r["rows"]:
            t.add_row(row["image"], f"{row['psnr_y']:.3f}", f"{row['ssim_y']:.4f}", f"{row['blockiness']:.3f}",
                      f"{row['seconds']:.3f}")
    t.add_row("mean", f"{r['psnr_y']:.3f}", f"{r['ssim_y']:.4f}", f"{r['blockiness']:.3f}", f"{r['seconds_per_image']:.3f}")
    Console().print(t)


@eval_app.command("denoise")
@handle_errors
def eval_denoise_cmd(
    data: Annotated[Path, typer.Option("--data", exists=True, help="Folder of original images (e.g. BSD68).", show_default=False)],
    degradation: Annotated[str, typer.Option("--degradation", help=degradation_help().replace(" of the LR", "").replace(" on the LR", "").replace(" of the HR before the downscale", ""))] = "jpeg:50",
    model: Annotated[Optional[str], typer.Option("--model", help="A x1 restoration model (name or .safetensors path); default: the shipped one for what the degraded input would state, as restore denoise chooses.", show_default=False)] = None,
    strength: Annotated[float, typer.Option("--strength", min=0.0, max=1.0, help="0 = the input unchanged, 1 = the model's output.")] = 1.0,
    device: Annotated[str, typer.Option("--device", "-d")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    per_image: Annotated[bool, typer.Option("--per-image", help="Also list each image.")] = False,
    precision: Annotated[Precision, typer.Option("--precision", help="The network's arithmetic (fp32 by default: a model's scores, whatever the CPU; auto = what restore denoise runs here).")] = Precision.fp32,
    constraint: Annotated[bool, typer.Option("--constraint/--no-constraint", help="Keep a JPEG input's result within the quantisation its file states, as restore denoise does (--no-constraint: the network alone).")] = True,
    threads: ThreadsOpt = None,
) -> None:
    """Restoration at x1: each image degraded at its own size (--degradation, seeded), restored with the quality the
    degraded file would state, PSNR (RGB and Y) against the original, the gain over the degraded input, and
    blockiness of both (about 1 = no block edges)."""
    apply_threads(threads)
    from restore.degradations import parse_test_degradation
    from restore.errors import InputError
    from restore.evaluate import eval_denoise

    try:
        deg = parse_test_degradation(degradation)
    except InputError as e:
        raise error_exit(str(e), EXIT_USAGE) from None
    r = eval_denoise(data, model=model, device=device, degradation=deg, strength=strength, precision=precision.value,
                     constraint=constraint)
    if as_json:
        emit_json(r)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"{r['method']} on {data} ({r['images']} images, {r['degradation']}, strength {strength:g})",
              title_justify="left")
    for c in ("image", "PSNR", "input PSNR", "gain", "PSNR-Y", "blockiness", "input blockiness", "s"):
        t.add_column(c, justify="right" if c != "image" else "left")
    rows = (r["rows"] if per_image else []) + [{**r, "image": "mean", "seconds": r["seconds_per_image"]}]
    for row in rows:
        t.add_row(row["image"], f"{row['psnr']:.3f}", f"{row['psnr_input']:.3f}",
                  f"{row['psnr'] - row['psnr_input']:+.3f}" if math.isfinite(row["psnr_input"]) else "—",
                  f"{row['psnr_y']:.3f}", f"{row['blockiness']:.3f}",
                  f"{row['blockiness_input']:.3f}", f"{row['seconds']:.3f}")
    Console().print(t)


@eval_app.command("inpaint")
@handle_errors
def eval_inpaint_cmd(
    data: Annotated[Path, typer.Option("--data", exists=True, help="Folder of images (e.g. BSD68).", show_default=False)],
    masks: Annotated[MaskFamily, typer.Option("--masks", help="Mask family: thin strokes, thick strokes, boxes, or all.")] = MaskFamily.all,
    method: Annotated[Optional[list[str]], typer.Option("--method", "-m", help="Repeat to compare; default: auto pushpull telea ns biharmonic (none when --model is given).", show_default=False)] = None,
    model: Annotated[Optional[list[str]], typer.Option("--model", help="A model name or .safetensors path to evaluate too; repeatable.", show_default=False)] = None,
    device: Annotated[str, typer.Option("--device", "-d")] = "auto",
    limit: Annotated[Optional[int], typer.Option("--limit", help="Only the first N images.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    threads: ThreadsOpt = None,
) -> None:
    """Inpainting: seeded masks, PSNR over the image and over the hole, SSIM, texture in the hole (hf, swd), seconds per image."""
    apply_threads(threads)
    from restore.evaluate import eval_inpaint

    fams = ("thin", "thick", "box") if masks == MaskFamily.all else (masks.value,)
    methods = tuple(method) if method else () if model else ("auto", "pushpull", "telea", "ns", "biharmonic")
    r = eval_inpaint(data, methods=methods, families=fams, device=device, limit=limit, models=tuple(model or ()))
    if as_json:
        emit_json(r)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"inpainting on {data} ({r['images']} images)", title_justify="left")
    for c in ("method", "masks", "PSNR hole", "gain over its pre-fill", "PSNR", "SSIM", "hf", "swd", "s/image"):
        t.add_column(c, justify="left" if c in ("method", "masks") else "right")
    for m, fams_r in r["results"].items():
        for fam, v in fams_r.items():
            gain = f"{v['gain_over_prefill']:+.2f}" if "gain_over_prefill" in v else ""
            tex = [f"{v[k]:{f}}" if v.get(k) is not None else "–" for k, f in (("hf", ".3f"), ("swd", ".2f"))]
            t.add_row(m, fam, f"{v['psnr_hole']:.2f}", gain, f"{v['psnr']:.2f}", f"{v['ssim']:.4f}", *tex,
                      f"{v['seconds']:.3f}")
    Console().print(t)
