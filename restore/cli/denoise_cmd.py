"""The ``denoise`` command: restoration at the input's size (×1) of files and folders — JPEG blocks and ringing,
and noise, removed — as a resumable batch, each file told what its own quantisation tables say."""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from restore.cli.batching import (
    Task, check_model_file, checkpoint, made_differently, report_problems, run_batch, start, takes_quality,
)
from restore.cli.common import (
    DEFAULT_RAY_TIMEOUT, Backend, BatchSizeOpt, DeviceOpt, EXIT_CODES_HELP, EXIT_USAGE, Engine, EngineOpt,
    EngineOptions, GpusPerWorkerOpt, JpegQualityOpt, MaxPixelsOpt, OutFormat, OverwriteOpt, Precision,
    RayAddressOpt, RecursiveOpt,
    RayTimeoutOpt, Reporter, ThreadsOpt, WorkersOpt, apply_threads, check_output_formats, describe_error,
    engine_options, error_exit, handle_errors, inpaint_ext,
)
from restore.cli.inputs import DENOISE_SUFFIX, MIN_FAST_TILE, collect_images, output_is_file, plan_outputs

DENOISE_HELP = """Restore images at their own size: JPEG blocks and ringing, and noise, removed (files or folders; resumable batch). It does not sharpen or enlarge; restore upscale does.

Each file's compression is read from its own header and told to the model: a JPEG's quantisation tables give its quality, a lossy WebP counts as 75, a losslessly stored file (PNG, TIFF, lossless WebP) states none. A JPEG's result is kept within the quantisation its tables prove, and a JPEG saved again after a harder compression on the same block grid is told that earlier quality instead. --jpeg-quality overrides what the files say. --strength blends the result with the input, pixel by pixel (0 = the input exactly).

Formats: a lossy input (JPEG, lossy WebP, judged by content) is written as PNG, so the restored pixels are not compressed again, unless --format or an -o file name asks for another format; other inputs keep their format. Video clips are not taken.
"""


def register(app: typer.Typer) -> None:
    """Add ``denoise`` to ``app``."""
    app.command("denoise", help=DENOISE_HELP, epilog=EXIT_CODES_HELP)(denoise)


@handle_errors
def denoise(
    paths: Annotated[list[Path], typer.Argument(help="Image files and/or folders.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder (or output file, for a single input file with an image extension).", show_default=False)],
    strength: Annotated[float, typer.Option("--strength", min=0.0, max=1.0, help="From 0 (the input unchanged) to 1 (the model's full restoration): input + strength × (restored − input).")] = 1.0,
    jpeg_quality: JpegQualityOpt = None,
    model: Annotated[Optional[str], typer.Option("--model", help="A ×1 restoration model for every file (name, see `restore models`, or .safetensors path); default: the shipped one for what each file states (a JPEG gets denoise-jpeg-x1).", show_default=False)] = None,
    device: DeviceOpt = "auto",
    tile: Annotated[Optional[int], typer.Option("--tile", min=0, help="CNN tile size in pixels (0 = untiled; default chosen per device).", show_default=False)] = None,
    recursive: RecursiveOpt = False,
    overwrite: OverwriteOpt = False,
    fmt: Annotated[OutFormat, typer.Option("--format", "-f", help="Output format; same = the input's, but PNG for a lossy input.")] = OutFormat.same,
    suffix: Annotated[Optional[str], typer.Option("--suffix", help=f"Appended to output file stems: <stem><suffix>.<ext>. Default: none, or {DENOISE_SUFFIX} when writing into an input's folder.", show_default=False)] = None,
    quality: Annotated[int, typer.Option("--quality", "-q", min=1, max=100, help="Encoder quality of a JPEG output, and of a WebP one from a lossy input (a losslessly stored input is written as lossless WebP).")] = 95,
    max_pixels: MaxPixelsOpt = None,
    precision: Annotated[Precision, typer.Option("--precision", help="CNN arithmetic: auto = bfloat16 on CPUs with native bf16, float16 on CUDA, else fp32; fp32 / bf16 force PyTorch; int8 the model quantised for ONNX Runtime.")] = Precision.auto,
    threads: ThreadsOpt = None,
    backend: Annotated[Backend, typer.Option("--backend", help="What runs the network: auto (ONNX Runtime for --precision int8, PyTorch otherwise), torch, or onnxruntime (CPU; pip install 'restore[onnx]').")] = Backend.auto,
    engine: EngineOpt = Engine.local,
    ray_address: RayAddressOpt = None,
    workers: WorkersOpt = 1,
    gpus_per_worker: GpusPerWorkerOpt = 0.0,
    batch_size: BatchSizeOpt = 4,
    ray_timeout: RayTimeoutOpt = DEFAULT_RAY_TIMEOUT,
) -> None:
    apply_threads(threads)
    code = run_denoise(paths, output, strength=strength, jpeg_quality=jpeg_quality, model=model, device=device,
                       tile=tile, recursive=recursive, overwrite=overwrite, fmt=fmt.value, suffix=suffix,
                       quality=quality, max_pixels=max_pixels, precision=precision.value, backend=backend.value,
                       opts=engine_options(engine, ray_address, workers, gpus_per_worker, batch_size, ray_timeout))
    raise typer.Exit(code)


def run_denoise(
    paths: Sequence[Path],
    output: Path,
    *,
    strength: float = 1.0,
    jpeg_quality: float | None = None,
    model: str | None = None,
    device: str = "auto",
    tile: int | None = None,
    recursive: bool = False,
    overwrite: bool = False,
    fmt: str = "same",
    suffix: str | None = None,
    quality: int = 95,
    max_pixels: int | None = None,
    precision: str = "auto",
    backend: str = "auto",
    opts: EngineOptions | None = None,
) -> int:
    """The ``denoise`` command.

    Args:
        paths: image files and folders.
        output: the output folder, or the output file for one input file.
        strength: 0 (the input) to 1 (the model's restoration).
        jpeg_quality: the quality (1–100) every input is said to have, instead of what each file states.
        model: a ×1 restoration model's name or path (None: the shipped default).
        device, tile, precision, backend: as :func:`restore.denoise`.
        recursive, overwrite, fmt, suffix, quality, max_pixels: as the ``upscale`` command's.
        opts: the engine (local or Ray).

    Returns:
        The exit code: 0 every file done or skipped, 1 some file failed, 2 a usage error (printed).
    """
    opts = opts or EngineOptions()
    from restore.batch import DenoiseJob, stated_quality
    from restore.errors import InputError
    from restore.io import is_image_path
    from restore.manifest import Manifest

    rep, _method, model = start("denoise", "auto", model, precision, backend, device)
    if isinstance(strength, bool) or not math.isfinite(float(strength)) or not 0.0 <= float(strength) <= 1.0:
        raise error_exit(f"--strength must be from 0 to 1, got {strength}", EXIT_USAGE)
    if jpeg_quality is not None and not 1 <= jpeg_quality <= 100:
        raise error_exit(f"--jpeg-quality must be from 1 to 100, got {jpeg_quality}", EXIT_USAGE)
    check_model_file(model)
    # the model for each kind of input (what a file states: a JPEG quality, or none), each loaded once; a wrong
    # model is a usage error before any file is looked at
    models = load_restoration_models(model, device)
    if jpeg_quality is not None and not takes_quality(models[True]):
        rep.warn(f"--jpeg-quality {jpeg_quality:g}: {models[True].name} is not told the compression (only "
                 "quantisation-aware models are); it has no effect")
    if tile is not None and 0 < tile < MIN_FAST_TILE:
        rep.warn(f"--tile {tile} is below {MIN_FAST_TILE} px: much slower, same result; 0 = untiled")
    problems: list[tuple[Path, str]] = []
    try:
        images, others = collect_images(paths, recursive=recursive, exclude=output, problems=problems)
    except InputError as exc:
        raise error_exit(str(exc), EXIT_USAGE) from None
    rep.not_images = len(others)
    if not images and not problems:
        raise error_exit(f"no image found in {', '.join(map(str, paths))}", EXIT_USAGE)
    report_problems(problems, rep)

    single_file = len(paths) == 1 and paths[0].is_file()
    out_is_file = output_is_file(output, len(images), single_file)
    if not out_is_file and is_image_path(output) and not output.is_dir():
        raise error_exit(f"-o {output} names one image file, but there are {len(images)} inputs; give a folder",
                         EXIT_USAGE)
    if suffix is None:
        # writing into an input's folder: the plain name could be that input (or another one)
        same_dir = not out_is_file and any(src.parent.resolve() == (output / rel.parent).resolve()
                                           for src, rel in images)
        suffix = DENOISE_SUFFIX if same_dir else ""
    ext = None if fmt == "same" else f".{fmt}"
    # rel carries each output's extension (a lossy input's is .png); plan_outputs keeps it
    plan = plan_outputs([(src, rel.parent / (rel.stem + inpaint_ext(src, ext))) for src, rel in images], output,
                        suffix=suffix, ext=ext, out_is_file=out_is_file)
    check_output_formats(plan.jobs, output if out_is_file else None, fmt)
    if ext is None and not out_is_file:
        _say_png_outputs(plan.jobs, rep)
    for src, msg in plan.problems:
        rep.error(f"{src}: {msg}")
        rep.failed += 1

    manifest = Manifest(warn=rep.warn)
    todo = []
    for job in plan.jobs:
        # what reaches the model: the override, else what the file states (None: stored losslessly)
        said = jpeg_quality if jpeg_quality is not None else stated_quality(job.src)
        loaded = models[said is not None]
        request: dict[str, Any] = {"op": "denoise", "model": str(loaded.name), "strength": float(strength),
                                   **({"weights_sha256": loaded.digest} if getattr(loaded, "digest", "") else {}),
                                   "jpeg_quality": said}
        redo = overwrite or made_differently(job.dst, request, manifest, rep)
        if job.dst.exists() and not redo:
            rep.skipped += 1
            continue
        # ref: what a Ray actor loads (a name or path)
        todo.append(Task(job.src, job.dst, request, redo, loaded, ref=model or str(loaded.name)))
    work = DenoiseJob(float(strength), device=device, tile=tile, precision=precision, backend=backend,
                      quality=quality, max_pixels=max_pixels, jpeg_quality=jpeg_quality)
    for _done in run_batch(todo, work, opts, manifest, rep, hook=lambda step: checkpoint(step)):
        pass
    rep.summary("denoised")
    return rep.exit_code


def load_restoration_models(model: str | None, device: str) -> dict[bool, Any]:
    """Load the batch's ×1 restoration models once — ``model`` for every input, or the shipped default for each
    kind of input (:func:`restore.api.resolve_denoise_model`) — so that a wrong name, a model of another kind or
    an unavailable device is one usage error (exit 2), not one failure per file.

    Returns:
        The loaded :class:`restore.models.descriptor.ModelDescriptor` for inputs that state a JPEG quality
        (``True``) and for the others (``False``); the same object where one model serves both.

    Raises:
        typer.Exit: (exit 2, the error printed) none shipped and none given, or not a ×1 restoration model.
    """
    from restore import api
    from restore.errors import InputError, ModelError

    loaded: dict[str, Any] = {}
    out = {}
    for jpeg in (False, True):
        try:
            name = api.resolve_denoise_model(model, 75 if jpeg else None)  # any stated quality chooses alike
        except InputError:
            raise error_exit("no restoration model (×1) is shipped with this version; give one with --model "
                             "FILE", EXIT_USAGE) from None
        if name not in loaded:
            try:
                loaded[name] = api.load_model(name, device=device)
            except (ModelError, InputError, FileNotFoundError) as exc:
                raise error_exit(describe_error(exc), EXIT_USAGE) from None
            m = loaded[name]
            if m.task != "sr" or m.scale != 1:
                what = f"a ×{m.scale} upscaling model" if m.task == "sr" else f"a {m.task} model"
                raise error_exit(f"model {name!r} is {what}, not a ×1 restoration model; see `restore models`",
                                 EXIT_USAGE)
        out[jpeg] = loaded[name]
    return out


def _say_png_outputs(jobs: Sequence[Any], rep: Reporter) -> None:
    """One line: the lossy inputs written as PNG by default (neither --format nor an output file name chose)."""
    from restore.io import is_lossy

    n = sum(1 for j in jobs if j.dst.suffix.lower() == ".png" and j.src.suffix.lower() != ".png"
            and is_lossy(j.src))
    if n:
        rep.info(f"{n} lossy input{'s' if n > 1 else ''} (JPEG / lossy WebP) written as PNG, so that the restored "
                 "pixels are not compressed again (--format jpg or webp re-encodes them)")
