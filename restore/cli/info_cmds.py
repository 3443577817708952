"""The other commands: ``models``, ``eval``, ``train`` and ``export``."""
from __future__ import annotations

from collections.abc import Callable
from enum import Enum
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from restore.catalogue import format_params
from restore.degradations import degradation_help
from restore.cli.common import (
    EXIT_CODES_HELP, EXIT_USAGE, Precision, ThreadsOpt, _apply_threads, _check_scale, _describe, _error_exit,
    _handle_errors, app,
)

# --------------------------------------------------------------------------- models


def _headline(scores: dict[str, Any], task: str) -> str:
    """The one score a table row has room for: Set5 PSNR-Y for SR, BSD68 hole PSNR per family for inpainting."""
    if task == "sr" and "Set5_psnr_y" in scores:
        return f"Set5 {scores['Set5_psnr_y']:.2f}"
    fams = [scores.get(f"BSD68_{f}_psnr_hole") for f in ("thin", "thick", "box")]
    if task == "inpaint" and all(isinstance(v, (int, float)) for v in fams):
        return "BSD68 " + "/".join(f"{v:.1f}" for v in fams)
    return ""


@app.command(epilog=EXIT_CODES_HELP)
@_handle_errors
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print every entry with all its scores as JSON.")] = False,
) -> None:
    """List the upscaling and inpainting methods and shipped models (the defaults marked)."""
    import dataclasses

    import restore
    from restore.catalogue import default_model

    entries = restore.list_models()
    defaults = {default_model("inpaint")} | {default_model("sr", s) for s in (2, 3, 4)}
    if as_json:
        _emit_json([{**dataclasses.asdict(m), "default": m.name in defaults} for m in entries])
        return
    from rich.console import Console
    from rich.table import Table

    from rich import box

    console = Console()
    # short columns that never wrap; the description only where the terminal has room for it (a narrow
    # terminal gets the full entries from --json)
    wide = console.width >= 120
    table = Table(title="restore models (score: Set5 PSNR-Y dB; BSD68 hole PSNR dB, thin/thick/box)",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("name", "task", "kind", "×", "params", "score") + (("about",) if wide else ()):
        table.add_column(col, no_wrap=col != "about", justify="right" if col == "params" else "left")
    for m in entries:
        kind = "default" if m.name in defaults else m.kind
        row = [m.name, m.task, kind, ",".join(str(s) for s in m.scales), format_params(m.params),
               _headline(dict(m.scores or {}), m.task)]
        table.add_row(*row, *([m.description or ""] if wide else []))
    console.print(table)
    if not wide:
        console.print("descriptions and every score: restore models --json")



# --- evaluation and training ---------------------------------------------------------------------------

eval_app = typer.Typer(help="Evaluate methods by the standard protocols (PSNR/SSIM).", no_args_is_help=True)
train_app = typer.Typer(help="Train SR and inpainting networks (resumable; CPU or CUDA).", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
app.add_typer(train_app, name="train")


class MaskFamily(str, Enum):
    thin = "thin"
    thick = "thick"
    box = "box"
    all = "all"


def _emit_json(obj: Any) -> None:
    import json

    typer.echo(json.dumps(obj, indent=1, default=float))


@eval_app.command("sr")
@_handle_errors
def eval_sr_cmd(
    data: Annotated[Path, typer.Option("--data", exists=True, help="Folder of HR images (e.g. Set5).", show_default=False)],
    scale: Annotated[int, typer.Option("--scale", "-s", help="2, 3 or 4.", callback=_check_scale)] = 4,
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
    _apply_threads(threads)
    from restore.degradations import parse_test_degradation
    from restore.errors import InputError
    from restore.evaluate import eval_sr

    try:
        deg = parse_test_degradation(degradation)
    except InputError as e:
        raise _error_exit(str(e), EXIT_USAGE) from None
    r = eval_sr(data, scale, method=method, model=model, device=device, degradation=deg, precision=precision.value,
                ensemble=ensemble)
    if as_json:
        _emit_json(r)
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


@eval_app.command("inpaint")
@_handle_errors
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
    _apply_threads(threads)
    from restore.evaluate import eval_inpaint

    fams = ("thin", "thick", "box") if masks == MaskFamily.all else (masks.value,)
    methods = tuple(method) if method else () if model else ("auto", "pushpull", "telea", "ns", "biharmonic")
    r = eval_inpaint(data, methods=methods, families=fams, device=device, limit=limit, models=tuple(model or ()))
    if as_json:
        _emit_json(r)
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


def _progress_printer() -> Callable[[dict], None]:
    def show(rec: dict) -> None:
        import sys

        if sys.stderr.isatty():
            typer.echo("\r\x1b[K", err=True, nl=False)  # clear the progress line first
        if "prefill_val" in rec:
            vs = " ".join(f"{k}={v:.2f}" for k, v in rec["prefill_val"].items())
            typer.echo(f"step {rec['step']:>6}  pre-fill alone: val {vs}")
            return
        val = rec.get("val") or {}
        vs = " ".join(f"{k}={v:.3f}" for k, v in val.items())
        tr = " ".join(f"{k}={v:.2f}" for k, v in (rec.get("train_hole_psnr") or {}).items())
        typer.echo(f"step {rec['step']:>6}  loss {rec['loss']:.4f}  {rec['wall_s']:.0f}s  val {vs}"
                   + (f"  train hole PSNR {tr}" if tr else ""), nl=True)
    return show


class _Ticker:
    """A long run is never silent: on a terminal, one line rewritten in place (step, steps/s, ETA, loss);
    otherwise (a log file) one status line every ``every`` seconds."""

    def __init__(self, total: int, every: float = 60.0) -> None:
        import sys

        self.total, self.tty = total, sys.stderr.isatty()
        self.every = 0.5 if self.tty else every
        self.t0 = self.last = time.monotonic()
        self.first: int | None = None

    def __call__(self, step: int, loss: float) -> None:
        now = time.monotonic()
        if self.first is None:
            self.first, self.t0 = step, now  # the rate counts from the first step of this process (resumes)
            return
        if now - self.last < self.every and step + 1 < self.total:
            return
        self.last = now
        rate = (step - self.first) / max(now - self.t0, 1e-9)
        eta = (self.total - step - 1) / rate if rate > 0 else float("inf")
        h, m = divmod(int(eta // 60), 60) if eta != float("inf") else (0, 0)
        line = (f"step {step + 1}/{self.total} ({100 * (step + 1) / self.total:.1f} %)  {rate:.2f} steps/s  "
                f"ETA {h}h{m:02d}m  loss {loss:.4f}")
        typer.echo(("\r" + line + "\x1b[K") if self.tty else line, err=True, nl=not self.tty)


@train_app.command("sr")
@_handle_errors
def train_sr_cmd(
    data: Annotated[list[Path], typer.Option("--data", exists=True, help="Training image folder(s); repeat the option for several.", show_default=False)],
    scales: Annotated[str, typer.Option("--scales", help="Comma-separated scales sharing one body, e.g. 2,3,4.")] = "2,3,4",
    arch: Annotated[str, typer.Option("--arch", help="A registered SR architecture (restore.models.ARCHITECTURES); --base-ch, --blocks, --upsampler and --padding go to it where it takes them.")] = "srnet",
    base_ch: Annotated[int, typer.Option("--base-ch")] = 48,
    n_blocks: Annotated[Optional[int], typer.Option("--blocks", min=1, help="Body depth: 6 from scratch, or the --init weights' depth; more than that grows the --init body with identity blocks.", show_default=False)] = None,
    upsampler: Annotated[str, typer.Option("--upsampler")] = "pixelshuffle",
    padding: Annotated[str, typer.Option("--padding", help="zeros, reflect, replicate or circular.")] = "zeros",
    iters: Annotated[int, typer.Option("--iters")] = 8000,
    batch: Annotated[int, typer.Option("--batch")] = 16,
    patch: Annotated[int, typer.Option("--patch", help="LR patch side.")] = 48,
    lr: Annotated[float, typer.Option("--lr")] = 1.5e-3,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    val_images: Annotated[int, typer.Option("--val-images", help="Training images held back for validation.")] = 10,
    val_every: Annotated[int, typer.Option("--val-every")] = 250,
    device: Annotated[str, typer.Option("--device", "-d")] = "auto",
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder (checkpoints, history, exported weights).")] = Path("runs/sr"),
    name: Annotated[str, typer.Option("--name", help="Model name prefix; files are <name>-x<scale>.safetensors.")] = "sr",
    default: Annotated[bool, typer.Option("--default", help="Mark the exported models as the default for their scale.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from <out>/checkpoint.pt.")] = False,
    degradation: Annotated[str, typer.Option("--degradation", help="bicubic (the published protocol) | real (blur, mixed-kernel downscale, noise, JPEG, in up to two rounds: restore/degradations.py).")] = "bicubic",
    init: Annotated[Optional[str], typer.Option("--init", help="Start from <init>-x<scale> weights (a shipped name prefix, e.g. sr); their architecture is used.", show_default=False)] = None,
    precision: Annotated[str, typer.Option("--precision", help="auto (bf16 on CPUs with native bf16, fp16 on CUDA) | bf16 | fp16 | fp32.")] = "auto",
    threads: ThreadsOpt = None,
    loss: Annotated[str, typer.Option("--loss", help="Pixel loss: l1 | mse (MSE fine-tuned the real-photo models 0.02-0.04 dB further than L1 on held-back images: docs/SR_REAL_NOTES.md).")] = "l1",
    degradation_set: Annotated[Optional[str], typer.Option("--degradation-set", help="Settings of the real degradation, e.g. clean_prob=0.1,jpeg_quality=30:95 (fields of restore.degradations.RealDegradation; ranges as LOW:HIGH).", show_default=False)] = None,
) -> None:
    """Train SR networks for one or more scales (shared body, per-scale upsampler); exports safetensors."""
    _apply_threads(threads)
    from restore.degradations import parse_settings
    from restore.errors import InputError
    from restore.train import SRTrainConfig, train_sr

    try:
        settings = parse_settings(degradation_set or "")
    except InputError as e:
        raise _error_exit(str(e), EXIT_USAGE) from None

    try:
        sc = [int(x) for x in scales.split(",") if x.strip()]
    except ValueError:
        raise _error_exit(f"bad --scales {scales!r}; e.g. 2,3,4", EXIT_USAGE) from None
    if not sc or any(s not in (2, 3, 4) for s in sc):
        raise _error_exit(f"bad --scales {scales!r}; each must be 2, 3 or 4", EXIT_USAGE)
    cfg = SRTrainConfig(data=[str(d) for d in data], scales=sc, base_ch=base_ch, n_blocks=n_blocks,
                        upsampler=upsampler, padding_mode=padding, iters=iters, batch=batch, lr_patch=patch,
                        lr=lr, seed=seed, val_images=val_images, val_every=val_every, device=device,
                        precision=precision, out=str(out), name=name, default=default, degradation=degradation,
                        init=init, degradation_settings=settings, loss=loss, command=_command_line(), arch=arch)
    try:
        paths = train_sr(cfg, resume=resume, progress=_progress_printer(), tick=_Ticker(iters))
    except ValueError as e:
        raise _error_exit(str(e), EXIT_USAGE) from None
    for p in paths:
        _record_command(p)
        typer.echo(f"wrote {p}")


@train_app.command("inpaint")
@_handle_errors
def train_inpaint_cmd(
    data: Annotated[list[Path], typer.Option("--data", exists=True, help="Training image folder(s); repeat the option for several.", show_default=False)],
    widths: Annotated[str, typer.Option("--widths", help="Channels per U-Net level, full resolution first.")] = "16,32,64,96",
    upsampler: Annotated[str, typer.Option("--upsampler")] = "resize-conv",
    padding: Annotated[str, typer.Option("--padding")] = "zeros",
    bottleneck: Annotated[int, typer.Option("--bottleneck", help="Dilated residual blocks at the coarsest level.")] = 2,
    refine: Annotated[str, typer.Option("--refine", help="Dilations of the full-resolution refinement convolutions ('' = none).")] = "1,2,4,8,4,2,1",
    fill_confidence: Annotated[float, typer.Option("--fill-confidence", help="Pre-fill: coverage × this ≥ 1 keeps a pyramid level's own average.")] = 32.0,
    fill_iters: Annotated[int, typer.Option("--fill-iters", help="Pre-fill: Jacobi sweeps at full resolution.")] = 10,
    fill_growth: Annotated[float, typer.Option("--fill-growth", help="Pre-fill: sweeps grow by this factor per coarser level.")] = 3.0,
    fill_structure: Annotated[float, typer.Option("--fill-structure", help="Pre-fill: how strongly the smoothing follows the local image orientation into the holes (0 = isotropic, up to 1).")] = 0.95,
    fill_structure_sigma: Annotated[float, typer.Option("--fill-structure-sigma", help="Pre-fill: scale (px) of the structure tensor that gives the orientation.")] = 4.0,
    iters: Annotated[int, typer.Option("--iters")] = 12000,
    batch: Annotated[int, typer.Option("--batch")] = 8,
    patch: Annotated[int, typer.Option("--patch")] = 160,
    lr: Annotated[float, typer.Option("--lr")] = 1e-3,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    val_images: Annotated[int, typer.Option("--val-images", help="Training images held back for validation.")] = 24,
    val_masks: Annotated[int, typer.Option("--val-masks", help="Validation masks per family per held-back image.")] = 2,
    val_every: Annotated[int, typer.Option("--val-every")] = 500,
    device: Annotated[str, typer.Option("--device", "-d")] = "auto",
    precision: Annotated[str, typer.Option("--precision", help="auto (bf16 on CPUs with native bf16, fp16 on CUDA) | bf16 | fp16 | fp32.")] = "auto",
    out: Annotated[Path, typer.Option("--out", "-o")] = Path("runs/inpaint"),
    name: Annotated[str, typer.Option("--name")] = "inpaint",
    default: Annotated[bool, typer.Option("--default")] = False,
    resume: Annotated[bool, typer.Option("--resume")] = False,
    threads: ThreadsOpt = None,
) -> None:
    """Train the inpainting U-Net on random crops with thin/thick/box holes; exports safetensors."""
    _apply_threads(threads)
    from restore.train_inpaint import InpaintTrainConfig, train_inpaint

    try:
        ws = [int(x) for x in widths.split(",") if x.strip()]
        rf = [int(x) for x in refine.split(",") if x.strip()]
    except ValueError:
        raise _error_exit(f"bad --widths {widths!r} or --refine {refine!r}; e.g. 16,32,64,96 and 1,2,4", EXIT_USAGE) from None
    fill = dict(confidence=fill_confidence, iters=fill_iters, growth=fill_growth, structure=fill_structure,
                structure_sigma=fill_structure_sigma)
    cfg = InpaintTrainConfig(data=[str(d) for d in data], widths=ws, upsampler=upsampler, padding_mode=padding,
                             n_bottleneck=bottleneck, refine=rf, fill=fill, iters=iters, batch=batch,
                             patch=patch, lr=lr, seed=seed, val_images=val_images, val_masks=val_masks,
                             val_every=val_every, device=device, precision=precision, out=str(out), name=name,
                             default=default)
    try:
        path = train_inpaint(cfg, resume=resume, progress=_progress_printer())
    except ValueError as e:
        raise _error_exit(str(e), EXIT_USAGE) from None
    if path is not None:  # None: a torchrun rank other than 0, which exports nothing
        _record_command(path)
        typer.echo(f"wrote {path}")


def _command_line() -> str | None:
    """The command line of this run (None when not run as the console script, e.g. a test calling the app),
    with each training folder written as ``DATA/<its name>`` (restore.train.portable_data)."""
    import shlex
    import sys

    from restore.train import portable_data

    if Path(sys.argv[0]).name != "restore":
        return None
    args = sys.argv[1:]
    args = [portable_data(a) if i and args[i - 1] == "--data" else
            "--data=" + portable_data(a[7:]) if a.startswith("--data=") else a for i, a in enumerate(args)]
    return shlex.join(["restore", *args])


def _record_command(path: Path) -> None:
    """Provenance: the command line that trained a weights file goes into its metadata."""
    from restore.weights import update_metadata

    command = _command_line()
    if command is not None:  # the console script (not a test runner calling the app)
        update_metadata(path, training={"command": command})



# --- commands defined in other modules ---
# The lead registers eval, train, analyze, bench here, e.g.:
#   from restore.evaluate import eval_command
#   app.command("eval")(eval_command)
# Keep these imports cheap (import torch inside the command functions) so `restore --help` stays instant.



@app.command("export", epilog=EXIT_CODES_HELP)
@_handle_errors
def export_cmd(
    model: Annotated[str, typer.Argument(help="A shipped SR model name (see `restore models`) or a .safetensors path.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The .onnx file to write.", show_default=False)],
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing file.")] = False,
) -> None:
    """Export an SR model to ONNX (opset 17, dynamic batch/height/width, input 'image' (N,3,H,W) RGB in [0,1],
    output clamped to [0,1]; task, scale, receptive radius and provenance in the file's metadata). Needs the onnx
    extra: pip install 'restore[onnx]'."""
    from restore.errors import InputError, ModelError
    from restore.export import export_onnx

    try:
        path = export_onnx(model, output, overwrite=overwrite)
    except (InputError, ModelError) as exc:
        raise _error_exit(_describe(exc), EXIT_USAGE) from None
    typer.echo(f"wrote {path}")
