"""``restore analyze checkerboard | padding``: the upsampler and padding-mode study.

Added to the app by :func:`register`; the study itself is :mod:`restore.analysis`. Importing this module is cheap (Typer only): torch, the study
and matplotlib are imported inside the commands, so ``restore --help`` stays instant. Progress goes to stderr;
the table (or, with ``--json``, the JSON) to stdout.
"""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer

from restore.cli.common import handle_errors

analyze_app = typer.Typer(
    help="Study upsamplers (checkerboard artifacts) and padding modes (border artifacts): measure and draw.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``analyze`` group to ``app``."""
    app.add_typer(analyze_app, name="analyze")


class Task(str, Enum):
    sr = "sr"
    inpaint = "inpaint"


def _widths(text: str) -> tuple[int, ...]:
    from restore.errors import InputError

    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise InputError(f"bad --widths {text!r}; e.g. 16,32,64,128") from None


def _config(task: Task, *, scale: int, iters: int, data: Optional[list[Path]], bench: Optional[Path],
            batch: int, patch: Optional[int], lr: float, seed: int, seeds: int, base_ch: int, blocks: int,
            widths: str, bottleneck: int, bicubic_skip: bool, upsampler: str, padding: str,
            bench_limit: Optional[int], threads: Optional[int]):
    import torch

    from restore.analysis.study import StudyConfig
    from restore.errors import InputError

    if threads is not None:
        if threads < 1:
            raise InputError(f"--threads must be ≥ 1, not {threads}")
        torch.set_num_threads(threads)
    return StudyConfig(
        task=task.value, scale=scale, iters=iters, batch=batch,
        patch=patch if patch is not None else (32 if task == Task.sr else 96), learning_rate=lr, seed=seed,
        seeds=seeds, base_ch=base_ch, n_blocks=blocks, widths=_widths(widths), n_bottleneck=bottleneck,
        bicubic_skip=bicubic_skip, upsampler=upsampler, padding_mode=padding,
        data=tuple(str(d) for d in data or ()), bench=str(bench) if bench else None, bench_limit=bench_limit,
    )


def _progress(quiet: bool) -> Callable[[str], None] | None:
    return None if quiet else (lambda msg: typer.echo(msg, err=True))


def _finish(result: dict, written: list[Path], table: str, as_json: bool) -> None:
    if as_json:
        import json

        typer.echo(json.dumps(result, indent=1, default=float))
        return
    typer.echo(table, nl=False)
    for p in written:
        typer.echo(f"wrote {p}")


# shared option declarations
TaskOpt = Annotated[Task, typer.Option("--task", help="sr (SRNet body, ×scale) or inpaint (U-Net decoder).")]
ItersOpt = Annotated[int, typer.Option("--iters", help="Training iterations per variant; 0 = untrained (init only, no data).")]
DataOpt = Annotated[Optional[list[Path]], typer.Option("--data", help="Training image folder; repeat for several.", show_default=False)]
BenchOpt = Annotated[Optional[Path], typer.Option("--bench", help="Evaluation folder (never trained on), e.g. Set14.", show_default=False)]
BatchOpt = Annotated[int, typer.Option("--batch")]
PatchOpt = Annotated[Optional[int], typer.Option("--patch", help="SR: LR patch side (default 32); inpaint: crop side (default 96).", show_default=False)]
LrOpt = Annotated[float, typer.Option("--lr", help="Adam peak learning rate.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the trained variants (weights, batches).")]
BaseChOpt = Annotated[int, typer.Option("--base-ch", help="SR body width.")]
BlocksOpt = Annotated[int, typer.Option("--blocks", help="SR residual blocks.")]
WidthsOpt = Annotated[str, typer.Option("--widths", help="U-Net channels per level.")]
BottleneckOpt = Annotated[int, typer.Option("--bottleneck", help="U-Net dilated bottleneck blocks.")]
SkipOpt = Annotated[bool, typer.Option("--bicubic-skip/--no-bicubic-skip", help="SR: keep SRNet's bicubic skip (off: the upsampler draws the whole image).")]
LimitOpt = Annotated[Optional[int], typer.Option("--bench-limit", help="Only the first N bench images.", show_default=False)]
ThreadsOpt = Annotated[Optional[int], typer.Option("--threads", help="torch CPU threads.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout (files are still written).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace the results already in --out.")]


def _check_out(out: Path, study: str, overwrite: bool) -> None:
    """Refuse, before any work, to replace a study's results that are already in ``out`` (the committed
    reports among them) unless ``--overwrite``."""
    if (out / f"{study}.json").exists() and not overwrite:
        from restore.errors import ImageWriteError

        raise ImageWriteError(f"{out} already holds {study} results; pass --overwrite or choose another --out")


@analyze_app.command("checkerboard")
@handle_errors
def checkerboard_cmd(
    task: TaskOpt = Task.sr,
    scale: Annotated[int, typer.Option("--scale", "-s", help="SR factor (transposed and laplacian: 2 only).")] = 2,
    iters: ItersOpt = 0,
    data: DataOpt = None,
    bench: BenchOpt = None,
    seeds: Annotated[int, typer.Option("--seeds", help="Random initialisations averaged at init.")] = 3,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the table, JSON and figures (the committed study is reports/checkerboard).")] = Path("analysis-out/checkerboard"),
    overwrite: OverwriteOpt = False,
    upsampler: Annotated[Optional[list[str]], typer.Option("--upsampler", "-u", help="Repeat to pick; default: all registered.", show_default=False)] = None,
    padding: Annotated[str, typer.Option("--padding", help="Padding mode of every variant.")] = "zeros",
    batch: BatchOpt = 16,
    patch: PatchOpt = None,
    lr: LrOpt = 1e-3,
    seed: SeedOpt = 0,
    base_ch: BaseChOpt = 32,
    blocks: BlocksOpt = 3,
    widths: WidthsOpt = "16,32,64,128",
    bottleneck: BottleneckOpt = 3,
    bicubic_skip: SkipOpt = False,
    bench_limit: LimitOpt = None,
    threads: ThreadsOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Checkerboard artifacts of every upsampler: phase-mean spread and spectral share, at init and trained."""
    from restore.analysis.checkerboard import checkerboard_study, checkerboard_table, write_checkerboard

    _check_out(out, "checkerboard", overwrite)

    cfg = _config(task, scale=scale, iters=iters, data=data, bench=bench, batch=batch, patch=patch, lr=lr,
                  seed=seed, seeds=seeds, base_ch=base_ch, blocks=blocks, widths=widths, bottleneck=bottleneck,
                  bicubic_skip=bicubic_skip, upsampler="pixelshuffle", padding=padding, bench_limit=bench_limit,
                  threads=threads)
    result, images = checkerboard_study(cfg, upsampler, progress=_progress(quiet))
    written = write_checkerboard(result, images, out)
    _finish(result, written, checkerboard_table(result), as_json)


@analyze_app.command("padding")
@handle_errors
def padding_cmd(
    task: TaskOpt = Task.sr,
    scale: Annotated[int, typer.Option("--scale", "-s", help="SR factor.")] = 2,
    iters: ItersOpt = 0,
    band: Annotated[int, typer.Option("--band", help="Border band width in output pixels (SR: HR pixels).")] = 8,
    data: DataOpt = None,
    bench: BenchOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the table, JSON and figures (the committed study is reports/padding).")] = Path("analysis-out/padding"),
    overwrite: OverwriteOpt = False,
    mode: Annotated[Optional[list[str]], typer.Option("--mode", "-m", help="Padding modes; repeat to pick; default: all four.", show_default=False)] = None,
    upsampler: Annotated[Optional[str], typer.Option("--upsampler", "-u", help="Upsampler of every variant (default: pixelshuffle for sr, resize-conv for inpaint).", show_default=False)] = None,
    crop: Annotated[int, typer.Option("--crop", help="Side of the corner crop in the figure.")] = 48,
    batch: BatchOpt = 16,
    patch: PatchOpt = None,
    lr: LrOpt = 1e-3,
    seed: SeedOpt = 0,
    base_ch: BaseChOpt = 32,
    blocks: BlocksOpt = 3,
    widths: WidthsOpt = "16,32,64,128",
    bottleneck: BottleneckOpt = 3,
    bicubic_skip: SkipOpt = False,
    bench_limit: LimitOpt = None,
    threads: ThreadsOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Border artifacts of every padding mode: border-band vs interior PSNR, error by distance, corner crops."""
    from restore.analysis.padding import padding_study, padding_table, write_padding

    _check_out(out, "padding", overwrite)

    up = upsampler or ("pixelshuffle" if task == Task.sr else "resize-conv")
    cfg = _config(task, scale=scale, iters=iters, data=data, bench=bench, batch=batch, patch=patch, lr=lr,
                  seed=seed, seeds=1, base_ch=base_ch, blocks=blocks, widths=widths, bottleneck=bottleneck,
                  bicubic_skip=bicubic_skip, upsampler=up, padding="zeros", bench_limit=bench_limit,
                  threads=threads)
    result, crops = padding_study(cfg, mode, band=band, crop=crop, progress=_progress(quiet))
    written = write_padding(result, crops, out)
    _finish(result, written, padding_table(result), as_json)
