"""``restore train sr | inpaint``: the training runs (the work is :mod:`restore.train` and
:mod:`restore.train_inpaint`), with a progress ticker and the command line recorded in each exported weights
file."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer

from restore.cli.common import EXIT_USAGE, StatusLine, ThreadsOpt, apply_threads, error_exit, handle_errors

train_app = typer.Typer(help="Train SR and inpainting networks (resumable; CPU or CUDA).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``train`` group to ``app``."""
    app.add_typer(train_app, name="train")


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


def _ticker(total: int) -> Callable[[int, float], None]:
    """``tick(step, loss)`` for the training loop: a :class:`StatusLine` in steps."""
    line = StatusLine("step ", "steps")
    return lambda step, loss: line.update(step + 1, total, f"  loss {loss:.4f}")


@train_app.command("sr")
@handle_errors
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
    resume: Annotated[bool, typer.Option("--resume", help="Continue from <out>/checkpoint.safetensors.")] = False,
    degradation: Annotated[str, typer.Option("--degradation", help="bicubic (the published protocol) | real (blur, mixed-kernel downscale, noise, JPEG, in up to two rounds: restore/degradations.py).")] = "bicubic",
    init: Annotated[Optional[str], typer.Option("--init", help="Start from <init>-x<scale> weights (a shipped name prefix, e.g. sr); their architecture is used.", show_default=False)] = None,
    precision: Annotated[str, typer.Option("--precision", help="auto (bf16 on CPUs with native bf16, fp16 on CUDA) | bf16 | fp16 | fp32.")] = "auto",
    threads: ThreadsOpt = None,
    loss: Annotated[str, typer.Option("--loss", help="Pixel loss: l1 | mse (MSE fine-tuned the real-photo models 0.02-0.04 dB further than L1 on held-back images: docs/SR_REAL_NOTES.md).")] = "l1",
    teacher: Annotated[Optional[str], typer.Option("--teacher", help="Distil: <teacher>-x<scale> (a clean SR model) is a second target, its output on the same input.")] = None,
    teacher_weight: Annotated[float, typer.Option("--teacher-weight", help="The teacher's share of the loss (the ground truth's: 1 minus it).")] = 0.5,
    condition: Annotated[str, typer.Option("--condition", help="none (blind) | jpeg: the network is told the quality of the input's last JPEG compression, as a file states it (restore.compression); needs --degradation real.")] = "none",
    gated: Annotated[bool, typer.Option("--gated", help="With --condition jpeg and --init: the network stays exactly the --init one for uncompressed inputs and moves along what it learns by a learned gain of the stated quality.")] = False,
    unshuffle: Annotated[Optional[int], typer.Option("--unshuffle", min=2, help="For --scales 1 (restoration at the input's size): the body runs on the input pixel-unshuffled by this factor.", show_default=False)] = None,
    block_grid: Annotated[Optional[int], typer.Option("--block-grid", min=8, help="With --condition jpeg: the period in input pixels of the JPEG block grid (16: 8×8 luma and 4:2:0 chroma blocks); the network learns a bias for each position within it.", show_default=False)] = None,
    inputs: Annotated[str, typer.Option("--inputs", help="The inputs the model is for: any, or jpeg (files that state a JPEG quality; with --default it is chosen for them before the general model: restore denoise).")] = "any",
    rescale: Annotated[Optional[str], typer.Option("--rescale", help="Scale augmentation: also train on every image shrunk by each of these factors, e.g. 0.9,0.8,0.7,0.6 (MATLAB bicubic).", show_default=False)] = None,
    constraint: Annotated[bool, typer.Option("--constraint", help="A x1 JPEG model (--scales 1 --condition jpeg) trained and validated through the quantisation constraint restore denoise applies to a JPEG file's result.")] = False,
    ema: Annotated[float, typer.Option("--ema", min=0.0, max=0.99999, help="Validate and export an exponential moving average of the weights with this decay (e.g. 0.999); 0 = the weights themselves.")] = 0.0,
    qat: Annotated[bool, typer.Option("--qat", help="Quantisation-aware: train and validate the network as its int8 export runs (one scale, not --gated).")] = False,
    luma_residual: Annotated[bool, typer.Option("--luma-residual", help="The network adds one residual to R, G and B alike (luma only; the colours are the bicubic skip's) through an upsampler a third of the size.")] = False,
    degradation_set: Annotated[Optional[str], typer.Option("--degradation-set", help="Settings of the real degradation, e.g. clean_prob=0.1,jpeg_quality=30:95 (fields of restore.degradations.RealDegradation; ranges as LOW:HIGH).", show_default=False)] = None,
) -> None:
    """Train SR networks for one or more scales (shared body, per-scale upsampler); exports safetensors."""
    apply_threads(threads)
    from restore.degradations import parse_settings
    from restore.errors import InputError
    from restore.train import SRTrainConfig, train_sr

    try:
        settings = parse_settings(degradation_set or "")
    except InputError as e:
        raise error_exit(str(e), EXIT_USAGE) from None

    try:
        sc = [int(x) for x in scales.split(",") if x.strip()]
    except ValueError:
        raise error_exit(f"bad --scales {scales!r}; e.g. 2,3,4", EXIT_USAGE) from None
    if not sc or any(s not in (1, 2, 3, 4) for s in sc) or (1 in sc and len(sc) > 1):
        raise error_exit(f"bad --scales {scales!r}; each must be 2, 3 or 4, or 1 alone", EXIT_USAGE)
    if (unshuffle is not None) != (sc == [1]):
        raise error_exit("--scales 1 (restoration at the same size) needs --unshuffle, and only it takes it",
                         EXIT_USAGE)
    if inputs not in ("any", "jpeg") or (inputs == "jpeg" and condition != "jpeg"):
        raise error_exit(f"bad --inputs {inputs!r}: any, or jpeg (with --condition jpeg)", EXIT_USAGE)
    if constraint and (sc != [1] or condition != "jpeg"):
        raise error_exit("--constraint goes with --scales 1 and --condition jpeg (a x1 model for JPEG files)",
                         EXIT_USAGE)
    if block_grid is not None and condition != "jpeg":
        raise error_exit("--block-grid goes with --condition jpeg (the grid of a stated JPEG)", EXIT_USAGE)
    try:
        factors = [float(x) for x in (rescale or "").split(",") if x.strip()]
    except ValueError:
        raise error_exit(f"bad --rescale {rescale!r}; e.g. 0.9,0.8,0.7,0.6", EXIT_USAGE) from None
    if any(not 0.0 < f < 1.0 for f in factors):
        raise error_exit(f"bad --rescale {rescale!r}: each factor must be between 0 and 1", EXIT_USAGE)
    arch_options = {k: v for k, v in (("unshuffle", unshuffle), ("block_grid", block_grid),
                                      ("luma_residual", luma_residual)) if v}
    cfg = SRTrainConfig(data=[str(d) for d in data], scales=sc, base_ch=base_ch, n_blocks=n_blocks,
                        upsampler=upsampler, padding_mode=padding, iters=iters, batch=batch, lr_patch=patch,
                        lr=lr, seed=seed, val_images=val_images, val_every=val_every, device=device,
                        precision=precision, out=str(out), name=name, default=default, degradation=degradation,
                        init=init, degradation_settings=settings, loss=loss, teacher=teacher,
                        teacher_weight=teacher_weight, command=_command_line(), arch=arch,
                        condition=condition, gated=gated, arch_options=arch_options, inputs=inputs,
                        rescale=factors, constraint=constraint, ema=ema, qat=qat)
    try:
        paths = train_sr(cfg, resume=resume, progress=_progress_printer(), tick=_ticker(iters))
    except ValueError as e:
        raise error_exit(str(e), EXIT_USAGE) from None
    for p in paths:
        _record_command(p)
        typer.echo(f"wrote {p}")


@train_app.command("inpaint")
@handle_errors
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
    apply_threads(threads)
    from restore.train_inpaint import InpaintTrainConfig, train_inpaint

    try:
        ws = [int(x) for x in widths.split(",") if x.strip()]
        rf = [int(x) for x in refine.split(",") if x.strip()]
    except ValueError:
        raise error_exit(f"bad --widths {widths!r} or --refine {refine!r}; e.g. 16,32,64,96 and 1,2,4", EXIT_USAGE) from None
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
        raise error_exit(str(e), EXIT_USAGE) from None
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
