"""The batch commands: ``restore upscale`` and ``restore inpaint`` (planning, resume, engines)."""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from restore.cli.batching import (
    Task, check_model_file, checkpoint, made_differently, model_label, report_problems, run_batch, start,
    takes_quality,
)
from restore.cli.common import (
    DEFAULT_RAY_TIMEOUT, Backend, BatchSizeOpt, DeviceOpt, EXIT_CODES_HELP, EXIT_USAGE, Engine, EngineOpt,
    EngineOptions, GpusPerWorkerOpt, JpegQualityOpt, MaxPixelsOpt, OutFormat, OverwriteOpt, Precision,
    RayAddressOpt, RecursiveOpt,
    RayTimeoutOpt, Reporter, ThreadsOpt, WorkersOpt, apply_threads, check_output_formats, check_scale,
    describe_error, engine_options, error_exit, handle_errors, inpaint_ext, load_batch_model, method_names,
    resolve_scale, say_lossy_outputs,
)
from restore.cli.inputs import (
    INPAINT_SUFFIX, MIN_FAST_TILE, collect_images, entry_problem, output_is_file, plan_outputs,
)
from restore.cli.videos import VideoPlan, inpaint_videos, is_video, run_videos, split_videos


def register(app: typer.Typer) -> None:
    """Add ``upscale`` and ``inpaint`` to ``app``."""
    app.command("upscale", epilog=EXIT_CODES_HELP)(upscale)
    app.command("inpaint", help=INPAINT_HELP, epilog=EXIT_CODES_HELP)(inpaint)


@handle_errors
def upscale(
    paths: Annotated[list[Path], typer.Argument(help="Image files and/or folders.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder (or output file, for a single input file with an image extension).", show_default=False)],
    scale: Annotated[Optional[int], typer.Option("--scale", "-s", help="Upscaling factor: 2, 3 or 4 (default: the --model's own scale, else 4).", callback=check_scale, show_default=False)] = None,
    method: Annotated[str, typer.Option("--method", "-m", help=f"Method: {method_names('upscale')}. auto = shipped CNN for the scale, else bicubic.")] = "auto",
    model: Annotated[Optional[str], typer.Option("--model", help="Model name (see `restore models`) or .safetensors path; overrides --method.", show_default=False)] = None,
    device: DeviceOpt = "auto",
    tile: Annotated[Optional[int], typer.Option("--tile", min=0, help="CNN tile size in input pixels (0 = untiled; default chosen per device).", show_default=False)] = None,
    recursive: RecursiveOpt = False,
    overwrite: OverwriteOpt = False,
    fmt: Annotated[OutFormat, typer.Option("--format", "-f", help="Output format; same = the input's.")] = OutFormat.same,
    suffix: Annotated[Optional[str], typer.Option("--suffix", help="Appended to output file stems: <stem><suffix>.<ext>. Default: none, or _x<scale> when writing into an input's folder.", show_default=False)] = None,
    quality: Annotated[int, typer.Option("--quality", "-q", min=1, max=100, help="JPEG quality, and WebP's for lossy inputs (a losslessly stored input is written as lossless WebP).")] = 95,
    max_pixels: MaxPixelsOpt = None,
    denoise: Annotated[Optional[float], typer.Option("--denoise", min=0.0, max=1.0, help="Real-photo strength from 0 (sr-x<scale>, for clean images) to 1 (sr-real-x<scale>, for JPEG): how far the weights move from the clean model's towards what the real-photo model learned for the file's stated quality (75 when it states none). Default with --method auto: 1 for JPEG and lossy WebP inputs, 0 for the rest.", show_default=False)] = None,
    precision: Annotated[Precision, typer.Option("--precision", help="CNN arithmetic. auto: sr-x2/x3/x4 run int8 on ONNX Runtime on CPUs with VNNI (sr-x4: ~3x fp32 for ~0.01 dB; quantised once, then cached), other networks bfloat16 on CPUs with native bf16 (within 0.01 dB of fp32), float16 on CUDA, else fp32. fp32 / bf16 force PyTorch; int8 forces the quantised model.")] = Precision.auto,
    threads: ThreadsOpt = None,
    backend: Annotated[Backend, typer.Option("--backend", help="What runs the network: auto (ONNX Runtime for --precision int8, PyTorch otherwise), torch, or onnxruntime (CPU; pip install 'restore[onnx]'; float32 unless int8; faster than PyTorch for sr-fast-x4 on small images only).")] = Backend.auto,
    engine: EngineOpt = Engine.local,
    ray_address: RayAddressOpt = None,
    workers: WorkersOpt = 1,
    gpus_per_worker: GpusPerWorkerOpt = 0.0,
    batch_size: BatchSizeOpt = 4,
    ray_timeout: RayTimeoutOpt = DEFAULT_RAY_TIMEOUT,
    ensemble: Annotated[bool, typer.Option("--ensemble", help="Average the CNN over the 8 flips and rotations of each input (self-ensemble: about 4-8x the time for a small gain).")] = False,
    codec: Annotated[Optional[str], typer.Option("--codec", help="Video inputs: the encoder (default libx264 in MP4/MOV/MKV, libvpx-vp9 in WebM; needs the video extra: pip install 'restore[video]').", show_default=False)] = None,
    crf: Annotated[Optional[int], typer.Option("--crf", min=0, max=63, help="Video inputs: the encoder's quality (lower = better; default 18 for upscale, 14 for inpaint with libx264).", show_default=False)] = None,
    jpeg_quality: JpegQualityOpt = None,
) -> None:
    """Upscale images (and video clips) by 2, 3 or 4 (files or folders; resumable batch).

    With --method auto, JPEG and lossy WebP inputs (judged by content) get the real-photo model sr-real-x<scale>,
    which does not sharpen compression blocks; other inputs get the clean model sr-x<scale>. --denoise,
    --method or --model override that choice. A losslessly stored input written as WebP is lossless WebP.
    A quantisation-aware model is told the JPEG quality each file's own tables state (--jpeg-quality overrides it).

    Video clips (MP4, MOV, MKV, WebM, AVI) are compressed, so they get the real-photo model too; each clip keeps
    its frame timestamps, audio (copied), rotation and colour tags, in its own container format."""
    apply_threads(threads)
    code = run_upscale(paths, output, scale=scale, method=method, model=model, device=device, tile=tile,
                       recursive=recursive, overwrite=overwrite, fmt=fmt.value, suffix=suffix, quality=quality,
                       max_pixels=max_pixels, denoise=denoise, precision=precision.value, backend=backend.value,
                       opts=engine_options(engine, ray_address, workers, gpus_per_worker, batch_size,
                                           ray_timeout), ensemble=ensemble, codec=codec, crf=crf,
                       jpeg_quality=jpeg_quality)
    raise typer.Exit(code)


def run_upscale(
    paths: Sequence[Path],
    output: Path,
    *,
    scale: int | None = None,
    method: str = "auto",
    model: str | None = None,
    device: str = "auto",
    tile: int | None = None,
    recursive: bool = False,
    overwrite: bool = False,
    fmt: str = "same",
    suffix: str | None = None,
    quality: int = 95,
    max_pixels: int | None = None,
    denoise: float | None = None,
    precision: str = "auto",
    backend: str = "auto",
    opts: EngineOptions | None = None,
    ensemble: bool = False,
    codec: str | None = None,
    crf: int | None = None,
    jpeg_quality: float | None = None,
) -> int:
    """The ``upscale`` command; returns the exit code. ``jpeg_quality``: tell the quantisation-aware models this
    quality for every image instead of what each file states (:func:`restore.batch.stated_quality`); video clips
    are not told one."""
    opts = opts or EngineOptions()
    from restore import api
    from restore.batch import UpscaleJob, stated_quality
    from restore.errors import InputError
    from restore.io import is_image_path
    from restore.manifest import Manifest

    rep, method, model = start("upscale", method, model, precision, backend, device)
    check_model_file(model)
    scale = resolve_scale(scale, method, model)
    if tile is not None and 0 < tile < MIN_FAST_TILE:
        # every tile is cut with the network's receptive radius of context on each side: tiny tiles redo most
        # of the work (measured 28× slower at --tile 16)
        rep.warn(f"--tile {tile} is below {MIN_FAST_TILE} px: much slower, same result; 0 = untiled")
    problems: list[tuple[Path, str]] = []
    try:
        images, others = collect_images(paths, recursive=recursive, exclude=output, problems=problems)
    except InputError as exc:
        raise error_exit(str(exc), EXIT_USAGE) from None
    videos, others = split_videos(others, paths)
    rep.not_images = len(others)
    if not images and not videos and not problems:
        raise error_exit(f"no image found in {', '.join(map(str, paths))}", EXIT_USAGE)
    report_problems(problems, rep)

    single_file = len(paths) == 1 and paths[0].is_file()
    out_is_file = output_is_file(output, len(images), single_file)
    if not out_is_file and is_image_path(output) and not output.is_dir():
        raise error_exit(f"-o {output} names one image file, but there are {len(images)} inputs; give a folder",
                          EXIT_USAGE)
    if suffix is None:
        # Writing into an input's folder: the plain name could be that input (or another one).
        same_dir = not out_is_file and any(src.parent.resolve() == (output / rel.parent).resolve() for src, rel in images)
        suffix = f"_x{scale}" if same_dir else ""
    ext = None if fmt == "same" else f".{fmt}"
    plan = plan_outputs(images, output, suffix=suffix, ext=ext, out_is_file=out_is_file)
    check_output_formats(plan.jobs, output if out_is_file else None, fmt)
    for src, msg in plan.problems:
        rep.error(f"{src}: {msg}")
        rep.failed += 1

    blend = None
    if denoise is not None:
        blend = _denoise_model(scale, denoise, method, model, device)  # a bad combination is one usage error
        loaded, lossy, lossy_model = None, set(), None  # each file: the (cached) blend, through `denoise`
    else:
        loaded = load_batch_model("upscale", method, model, device, scale)
        lossy, lossy_model = _lossy_model(scale, method, model, device, plan.jobs, rep)
    real = api.real_model(scale)
    manifest = Manifest(warn=rep.warn)
    todo = []
    for job in plan.jobs:
        net = lossy_model if job.src in lossy else loaded
        request = {"op": "upscale", "scale": scale, "model": model_label(net, method, model)}
        # the weights by content: another file under the same name is another request
        weights = getattr(blend if blend is not None else net, "digest", "")
        if weights:
            request["weights_sha256"] = weights
        if denoise is not None:
            request["denoise"] = denoise
        if ensemble:
            request["ensemble"] = True
        if takes_quality(blend if blend is not None else net):  # what the file states reaches the model
            q = jpeg_quality if jpeg_quality is not None else stated_quality(job.src)
            if q is not None:
                request["jpeg_quality"] = q
        redo = overwrite or made_differently(job.dst, request, manifest, rep)
        if job.dst.exists() and not redo:
            rep.skipped += 1
            continue
        # ref: what a Ray actor loads for this file (a name or path; None = the method's)
        todo.append(Task(job.src, job.dst, request, redo, net if net is not None else model,
                         ref=real if job.src in lossy else model))
    if jpeg_quality is not None and not any(takes_quality(n) for n in (blend, loaded, lossy_model)):
        rep.warn(f"--jpeg-quality {jpeg_quality:g}: this batch's model is not told the compression (only "
                 "quantisation-aware models are); it has no effect")
    work = UpscaleJob(scale, method=method, device=device, tile=tile, precision=precision, backend=backend,
                      denoise=denoise, quality=quality, max_pixels=max_pixels, ensemble=ensemble,
                      jpeg_quality=jpeg_quality)
    for _done in run_batch(todo, work, opts, manifest, rep, hook=lambda step: checkpoint(step)):
        pass
    if videos:
        # a clip is compressed: the rule of lossy images picks its model
        lossy_name = api.model_for_lossy(scale, method=method, model=model, denoise=denoise)
        # the lossy images' real-photo model when the batch already loaded it
        net = blend if blend is not None else (
            (lossy_model or load_batch_model("upscale", method, lossy_name, device, scale)) if lossy_name else loaded)
        request = {"scale": scale, "model": model_label(net, method, model), "codec": codec, "crf": crf,
                   "weights_sha256": getattr(net, "digest", "")}
        options = dict(scale=scale, method=method, model=net if net is not None else model, device=device,
                       tile=tile, precision=precision, backend=backend, codec=codec, crf=crf, ensemble=ensemble)
        one = len(paths) == 1 and len(videos) == 1 and not images and is_video(output) and not output.is_dir()
        vsuffix = suffix if suffix is not None else ""

        def dst_of(src: Path, rel: Path) -> Path:
            if one:
                return output
            sfx = vsuffix or (f"_x{scale}" if (output / rel.parent).resolve() == src.parent.resolve() else "")
            return output / rel.parent / f"{rel.stem}{sfx}{rel.suffix}"

        run_videos(videos, dst_of, VideoPlan("upscale", request, options), overwrite=overwrite,
                   redo_of=lambda d, r: made_differently(d, r, manifest, rep), manifest=manifest, rep=rep)
    rep.summary("upscaled")
    return rep.exit_code


def _mask_digest(src: Path, mask: Path | None) -> str:
    """sha256 of the file ``src``'s mask will be read from, found as :func:`restore.masks.resolve_mask` finds it
    (the explicit file, the match in a mask folder, the sidecar; else the image itself, whose alpha is the
    mask); ``unreadable`` when it cannot be read (the file then fails when it is processed)."""
    from restore.manifest import content_digest
    from restore.masks import find_mask_in_folder, find_sidecar_mask

    found = None
    if mask is not None:
        found = find_mask_in_folder(mask, src) if mask.is_dir() else mask
    found = found or find_sidecar_mask(src) or src
    try:
        return content_digest(found)
    except OSError:
        return "unreadable"


def _denoise_model(scale: int, denoise: float, method: str, model: str | None, device: str) -> Any:
    """The blended model of ``--denoise``, loaded once; a bad combination is a usage error."""
    from restore import api
    from restore.errors import InputError, ModelError

    try:
        return api.denoise_model(scale, denoise, method=method, model=model, device=device)
    except (InputError, ModelError) as exc:
        raise error_exit(describe_error(exc), EXIT_USAGE) from None


def _lossy_model(scale: int, method: str, model: str | None, device: str, jobs: Sequence[Any],
                 rep: Reporter) -> tuple[set[Path], Any]:
    """With ``--method auto``: the batch's JPEG / lossy WebP inputs (each file's header read once) and the
    real-photo model for them (the clean model sharpens their compression blocks), loaded only when there are
    some; the choice is printed once. ``(set(), None)`` otherwise."""
    from restore import api
    from restore.io import is_lossy

    name = api.model_for_lossy(scale, method=method, model=model)
    if name is None:
        return set(), None
    lossy = {j.src for j in jobs if is_lossy(j.src)}
    if not lossy:
        return set(), None
    n = len(lossy)
    rep.info(f"{n} JPEG/WebP input{'s' if n > 1 else ''}: using {name} (made for compressed photos; "
             "--denoise 0 keeps the clean model)")
    return lossy, load_batch_model("upscale", name, None, device, scale)



# --------------------------------------------------------------------------- inpaint


INPAINT_HELP = """Fill holes in images.

Mask: a gray/RGB image the size of the input; pixels >= 127 (after conversion to gray) are holes. Without --mask, a sidecar <stem>_mask.<ext> (or <stem>.mask.png) beside the image is used, else the image's transparent pixels (alpha < 128) are the holes and the output is opaque RGB. An empty mask copies the image through, with a warning.

Single image: the output is <stem>_inpainted.<ext> beside it unless -o is given. Folder: -o OUTDIR is required and outputs keep their names (<stem>_inpainted.<ext> when OUTDIR is the input folder); --mask is a folder of masks matched by file stem (<stem>.* or <stem>_mask.*), or one mask file for every image; mask sidecars in the folder are not inpainted themselves.

Formats: pixels outside the holes are written exactly as decoded wherever the output format is lossless. So a lossy input (JPEG, lossy WebP, judged by content) is written as PNG unless --format or an -o file name asks for another format, and a lossless WebP stays lossless WebP. A JPEG output (or a WebP one from a lossy input) re-encodes the whole image, so pixels outside the holes change slightly as well; a warning says so.
"""


@handle_errors
def inpaint(
    path: Annotated[Path, typer.Argument(help="An image file, or a folder of images.", show_default=False)],
    mask: Annotated[Optional[Path], typer.Option("--mask", "-k", help="Mask file, or folder of masks matched by stem. Default: sidecar, then alpha.", show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Output file (single image) or folder. Default for a single image: <stem>_inpainted.<ext> beside it.", show_default=False)] = None,
    method: Annotated[str, typer.Option("--method", "-m", help=f"Method: {method_names('inpaint')}. auto = shipped CNN, else telea.")] = "auto",
    model: Annotated[Optional[str], typer.Option("--model", help="Model name (see `restore models`) or .safetensors path; overrides --method.", show_default=False)] = None,
    device: DeviceOpt = "auto",
    dilate_px: Annotated[int, typer.Option("--dilate", min=0, help="Grow the holes by this many pixels (covers halos around objects).")] = 0,
    resize_mask: Annotated[bool, typer.Option("--resize-mask", help="Stretch a mask of another size to the image (nearest neighbour) instead of failing.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs (default: skip them). Inputs are never overwritten.")] = False,
    fmt: Annotated[OutFormat, typer.Option("--format", "-f", help="Output format; same = the input's.")] = OutFormat.same,
    suffix: Annotated[Optional[str], typer.Option("--suffix", help="Appended to output file stems: <stem><suffix>.<ext>. Default: _inpainted beside the input or in its folder, none in another folder.", show_default=False)] = None,
    quality: Annotated[int, typer.Option("--quality", "-q", min=1, max=100, help="JPEG quality, and WebP's for lossy inputs (a losslessly stored input is written as lossless WebP).")] = 95,
    max_pixels: MaxPixelsOpt = None,
    precision: Annotated[Precision, typer.Option("--precision", help="CNN arithmetic: auto = bfloat16 on CPUs with native bf16 and float16 on CUDA (the pre-fill stays fp32), else fp32.")] = Precision.auto,
    threads: ThreadsOpt = None,
    engine: EngineOpt = Engine.local,
    ray_address: RayAddressOpt = None,
    workers: WorkersOpt = 1,
    gpus_per_worker: GpusPerWorkerOpt = 0.0,
    batch_size: BatchSizeOpt = 4,
    ray_timeout: RayTimeoutOpt = DEFAULT_RAY_TIMEOUT,
    codec: Annotated[Optional[str], typer.Option("--codec", help="Video inputs: the encoder (default libx264 in MP4/MOV/MKV, libvpx-vp9 in WebM; needs the video extra: pip install 'restore[video]').", show_default=False)] = None,
    crf: Annotated[Optional[int], typer.Option("--crf", min=0, max=63, help="Video inputs: the encoder's quality (lower = better; default 18 for upscale, 14 for inpaint with libx264).", show_default=False)] = None,
) -> None:
    apply_threads(threads)
    code = run_inpaint(path, mask=mask, output=output, method=method, model=model, device=device,
                       dilate_px=dilate_px, resize_mask=resize_mask, overwrite=overwrite, quality=quality,
                       max_pixels=max_pixels, fmt=fmt.value, suffix=suffix, precision=precision.value,
                       opts=engine_options(engine, ray_address, workers, gpus_per_worker, batch_size,
                                           ray_timeout), codec=codec, crf=crf)
    raise typer.Exit(code)


def collect_inpaint_images(folder: Path, mask: Path | None = None, exclude: Path | None = None,
                           problems: list[tuple[Path, str]] | None = None) -> tuple[list[Path], list[Path]]:
    """Images of ``folder`` to inpaint (non-recursive), leaving out mask files: sidecars of another
    image there (``x_mask.png`` when ``x.*`` exists) and the ``mask`` file itself. Returns
    (images, non-image files); entries that are not regular files go to ``problems``."""
    from restore.masks import mask_owner_stem

    pairs, others = collect_images([folder], exclude=exclude, problems=problems)
    files = [f for f, _ in pairs]
    stems = {f.stem for f in files}
    mask_file = mask.resolve() if mask is not None and mask.is_file() else None
    images = [
        f for f in files
        if mask_owner_stem(f) not in stems and (mask_file is None or f.resolve() != mask_file)
    ]
    return images, others


def run_inpaint(
    path: Path,
    *,
    mask: Path | None = None,
    output: Path | None = None,
    method: str = "auto",
    model: str | None = None,
    device: str = "auto",
    dilate_px: int = 0,
    resize_mask: bool = False,
    overwrite: bool = False,
    quality: int = 95,
    max_pixels: int | None = None,
    fmt: str = "same",
    suffix: str | None = None,
    precision: str = "auto",
    opts: EngineOptions | None = None,
    codec: str | None = None,
    crf: int | None = None,
) -> int:
    """The ``inpaint`` command; returns the exit code."""
    opts = opts or EngineOptions()
    from restore.batch import InpaintJob
    from restore.io import is_image_path
    from restore.manifest import Manifest

    rep, method, model = start("inpaint", method, model, precision)
    ext = None if fmt == "same" else f".{fmt}"
    if mask is not None and not mask.exists():
        raise error_exit(f"{mask}: no such mask file or folder", EXIT_USAGE)
    why = entry_problem(mask)[0] if mask is not None else None
    if why is not None:  # a FIFO would block every read
        raise error_exit(f"{mask}: {why}", EXIT_USAGE)
    problems: list[tuple[Path, str]] = []
    videos: list[tuple[Path, Path]] = []

    if path.is_dir():
        if output is None:
            raise error_exit("a folder input needs -o OUTDIR", EXIT_USAGE)
        images, others = collect_inpaint_images(path, mask, exclude=output, problems=problems)
        videos, others = split_videos(others, [path])
        rep.not_images = len(others)
        if not images and not videos and not problems:
            raise error_exit(f"no image found in {path}", EXIT_USAGE)
        if suffix is None:
            # writing into the input folder: a suffix keeps the inputs (and lets a re-run resume)
            suffix = INPAINT_SUFFIX if output.resolve() == path.resolve() else ""
        # rel carries each output's extension (a lossy input's is .png); plan_outputs keeps it
        plan = plan_outputs([(f, Path(f.stem + inpaint_ext(f, ext))) for f in images], output, suffix=suffix,
                            ext=ext)
    elif path.is_file() and is_video(path):
        if mask is None:
            raise error_exit(f"{path}: a video needs --mask FILE (white = hole), the same mask for every frame",
                              EXIT_USAGE)
        videos = [(path, Path(path.name))]
        plan = plan_outputs([], path.parent)
    elif path.is_file():
        if not is_image_path(path):
            raise error_exit(f"{path}: not an image file (extension {path.suffix or 'missing'})", EXIT_USAGE)
        if output is None:
            dst = path.with_name(f"{path.stem}{INPAINT_SUFFIX if suffix is None else suffix}{inpaint_ext(path, ext)}")
        elif is_image_path(output) and not output.is_dir():
            dst = output
        else:
            same_dir = output.resolve() == path.parent.resolve()
            sfx = suffix if suffix is not None else (INPAINT_SUFFIX if same_dir else "")
            dst = output / f"{path.stem}{sfx}{inpaint_ext(path, ext)}"
        plan = plan_outputs([(path, Path(path.name))], dst, out_is_file=True)
    elif os.path.lexists(path):  # a link to nowhere, a loop, a FIFO: this file fails, not the command
        from restore.cli.inputs import Plan

        problems.append((path, entry_problem(path)[0] or "not a regular file"))
        plan = Plan()
    else:
        raise error_exit(f"{path}: no such file or folder", EXIT_USAGE)
    report_problems(problems, rep)

    out_file = output if output is not None and path.is_file() and is_image_path(output) and not output.is_dir() \
        else None
    check_output_formats(plan.jobs, out_file, fmt)
    say_lossy_outputs(plan.jobs, ext if out_file is None else out_file.suffix, rep)
    for src, msg in plan.problems:
        rep.error(f"{src}: {msg}")
        rep.failed += 1
    loaded = load_batch_model("inpaint", method, model, device)
    manifest = Manifest(warn=rep.warn)
    common = {"op": "inpaint", "model": model_label(loaded, method, model), "dilate": dilate_px,
              "mask": str(mask.resolve()) if mask is not None else "sidecar or alpha"}
    if getattr(loaded, "digest", ""):
        common["weights_sha256"] = loaded.digest
    todo = []
    for job in plan.jobs:
        # the mask by content: an edited mask file at the same path is another request
        request = {**common, "mask_sha256": _mask_digest(job.src, mask)}
        redo = overwrite or made_differently(job.dst, request, manifest, rep)
        if job.dst.exists() and not redo:
            rep.skipped += 1
            continue
        todo.append(Task(job.src, job.dst, request, redo, loaded if loaded is not None else model, ref=model))

    def note(t: Task, data: Any) -> None:
        t.note = f"mask: {data[3]}"  # data = (image, meta, holes, mask source)

    work = InpaintJob(mask=mask, resize_mask=resize_mask, method=method, device=device, dilate=dilate_px,
                      precision=precision, quality=quality, max_pixels=max_pixels)
    for t in run_batch(todo, work, opts, manifest, rep, on_read=note, hook=lambda step: checkpoint(step)):
        if len(plan.jobs) == 1 and t.note:
            rep.info(f"{t.note}; wrote {t.dst}")
    if videos:
        inpaint_videos(videos, path, mask, output, suffix, overwrite, manifest, rep, common,
                       dict(method=method, model=loaded if loaded is not None else model, device=device,
                            precision=precision, dilate=dilate_px, resize_mask=resize_mask, codec=codec, crf=crf),
                       redo_of=lambda d, r: made_differently(d, r, manifest, rep))
    rep.summary("inpainted")
    return rep.exit_code

