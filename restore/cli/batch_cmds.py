"""The batch commands: ``restore upscale`` and ``restore inpaint`` (planning, resume, engines)."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from restore.cli.common import (
    DEFAULT_RAY_TIMEOUT, Backend, BatchSizeOpt, DeviceOpt, EXIT_CODES_HELP, EXIT_USAGE, Engine, EngineOpt,
    EngineOptions, GpusPerWorkerOpt, MaxPixelsOpt, OutFormat, Precision, RayAddressOpt, RayTimeoutOpt, Reporter,
    ThreadsOpt, WorkersOpt, apply_threads, check_output_formats, check_scale, describe_error, engine_options,
    error_exit, file_error, handle_errors, inpaint_ext, load_batch_model, method_names, per_file_errors,
    quiet_opencv, resolve_scale, say_lossy_outputs, split_method,
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
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into subfolders, mirroring the tree under the output folder.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs (default: skip them, so a re-run resumes a batch). Inputs are never overwritten.")] = False,
    fmt: Annotated[OutFormat, typer.Option("--format", "-f", help="Output format; same = the input's.")] = OutFormat.same,
    suffix: Annotated[Optional[str], typer.Option("--suffix", help="Appended to output file stems: <stem><suffix>.<ext>. Default: none, or _x<scale> when writing into an input's folder.", show_default=False)] = None,
    quality: Annotated[int, typer.Option("--quality", "-q", min=1, max=100, help="JPEG quality, and WebP's for lossy inputs (a losslessly stored input is written as lossless WebP).")] = 95,
    max_pixels: MaxPixelsOpt = None,
    denoise: Annotated[Optional[float], typer.Option("--denoise", min=0.0, max=1.0, help="Real-photo strength from 0 (sr-x<scale>, for clean images) to 1 (sr-real-x<scale>, for JPEG, noise, blur): the two models' weights blended. Default with --method auto: 1 for JPEG and lossy WebP inputs, 0 for the rest.", show_default=False)] = None,
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
) -> None:
    """Upscale images (and video clips) by 2, 3 or 4 (files or folders; resumable batch).

    With --method auto, JPEG and lossy WebP inputs (judged by content) get the real-photo model sr-real-x<scale>,
    which does not sharpen compression blocks; other inputs get the clean model sr-x<scale>. --denoise,
    --method or --model override that choice. A losslessly stored input written as WebP is lossless WebP.

    Video clips (MP4, MOV, MKV, WebM, AVI) are compressed, so they get the real-photo model too; each clip keeps
    its frame timestamps, audio (copied), rotation and colour tags, in its own container format."""
    apply_threads(threads)
    code = run_upscale(paths, output, scale=scale, method=method, model=model, device=device, tile=tile,
                       recursive=recursive, overwrite=overwrite, fmt=fmt.value, suffix=suffix, quality=quality,
                       max_pixels=max_pixels, denoise=denoise, precision=precision.value, backend=backend.value,
                       opts=engine_options(engine, ray_address, workers, gpus_per_worker, batch_size,
                                           ray_timeout), ensemble=ensemble, codec=codec, crf=crf)
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
) -> int:
    """The ``upscale`` command; returns the exit code."""
    opts = opts or EngineOptions()
    from restore import api
    from restore.batch import UpscaleJob
    from restore.errors import InputError
    from restore.io import is_image_path
    from restore.manifest import Manifest

    rep, method, model = _start("upscale", method, model, precision, backend, device)
    _check_model_file(model)
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
    _report_problems(problems, rep)

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
        request = {"op": "upscale", "scale": scale, "model": _model_label(net, method, model)}
        # the weights by content: another file under the same name is another request
        weights = getattr(blend if blend is not None else net, "digest", "")
        if weights:
            request["weights_sha256"] = weights
        if denoise is not None:
            request["denoise"] = denoise
        if ensemble:
            request["ensemble"] = True
        redo = overwrite or _made_differently(job.dst, request, manifest, rep)
        if job.dst.exists() and not redo:
            rep.skipped += 1
            continue
        # ref: what a Ray actor loads for this file (a name or path; None = the method's)
        todo.append(_Task(job.src, job.dst, request, redo, net if net is not None else model,
                          ref=real if job.src in lossy else model))
    work = UpscaleJob(scale, method=method, device=device, tile=tile, precision=precision, backend=backend,
                      denoise=denoise, quality=quality, max_pixels=max_pixels, ensemble=ensemble)
    for _done in _run_batch(todo, work, opts, manifest, rep):
        pass
    if videos:
        # a clip is compressed: the rule of lossy images picks its model
        lossy_name = api.model_for_lossy(scale, method=method, model=model, denoise=denoise)
        # the lossy images' real-photo model when the batch already loaded it
        net = blend if blend is not None else (
            (lossy_model or load_batch_model("upscale", method, lossy_name, device, scale)) if lossy_name else loaded)
        request = {"scale": scale, "model": _model_label(net, method, model), "codec": codec, "crf": crf,
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
                   redo_of=lambda d, r: _made_differently(d, r, manifest, rep), manifest=manifest, rep=rep)
    rep.summary("upscaled")
    return rep.exit_code


@dataclass
class _Task:
    """One output a batch will write: its source, destination, the request recorded for it, whether an
    existing file is replaced, and the network (or name) that computes it."""

    src: Path
    dst: Path
    request: dict[str, Any]
    redo: bool
    model: Any = None
    note: str = ""  # said when the batch is one file
    ref: str | None = None  # the model as a name or path, for an engine in another process (None: the method's)


def _start(task: str, method: str, model: str | None, precision: str = "auto",
           backend: str = "auto", device: str = "auto") -> tuple[Reporter, str, str | None]:
    """The opening of a batch command: OpenCV's own logging off, a reporter, --method / --model and the
    precision / backend pair checked (a bad one is a usage error before any file is touched)."""
    quiet_opencv()
    if precision == "int8" and task == "inpaint":
        raise error_exit("--precision int8 is for super-resolution on ONNX Runtime; inpainting runs in "
                          "fp32, bf16 or fp16", EXIT_USAGE)
    if task == "upscale":
        from restore.devices import pick_device
        from restore.engine import resolve_backend
        from restore.errors import InputError

        try:  # (the device is checked only for ONNX Runtime: classical methods ignore it)
            on_onnx = resolve_backend(backend, precision) == "onnxruntime"
            off_cpu = on_onnx and pick_device(device).type != "cpu"
        except InputError as exc:
            raise error_exit(str(exc), EXIT_USAGE) from None
        if off_cpu:
            raise error_exit("ONNX Runtime (--backend onnxruntime, --precision int8) runs on the CPU: add "
                              "--device cpu", EXIT_USAGE)
    return Reporter(), *split_method(task, method, model)


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


def _model_label(loaded: Any, method: str, model: str | None) -> str:
    """What computes a batch's outputs, for the manifest: the loaded network's name, else the method."""
    return str(loaded.name if loaded is not None else model or method)


def _check_model_file(model: str | None) -> None:
    """A --model file is untrusted input: its header, metadata and config are checked before anything reads
    them for planning (a malformed file is one usage error)."""
    if model is None:
        return
    from restore.errors import ModelError
    from restore.weights import read_info

    try:
        read_info(model)
    except ModelError as exc:
        raise error_exit(describe_error(exc), EXIT_USAGE) from None


def _report_problems(problems: Sequence[tuple[Path, str]], rep: Reporter) -> None:
    """Entries of the scan that are not regular files (links to nowhere, loops, FIFOs, unlistable folders): one
    failure each; the batch goes on."""
    for path, msg in problems:
        rep.error(file_error(path, msg))
        rep.failed += 1


def checkpoint(step: str) -> None:
    """Test hook (fault injection): called with "intent", "written" and "recorded" around each output's write;
    a test replaces it (``monkeypatch.setattr(batch_cmds, "checkpoint", ...)``) to interrupt a batch there."""


def _made_differently(dst: Path, request: dict[str, Any], manifest: Any, rep: Reporter) -> bool:
    """Whether an existing output is to be redone (and said so): recorded as made by another request, or as
    being written when an earlier run stopped (its content is unknown). An output without a record is kept."""
    if not dst.exists():
        return False
    rec = manifest.record_of(dst)
    if rec is None:
        return False
    if rec.pending:
        rep.warn_once("unfinished", f"{dst}: an earlier run stopped while writing it; redoing it and any other "
                                    "such output")
        return True
    before = rec.request
    if before == request:
        return False
    from restore.manifest import describe

    rep.warn_once("redo", f"{dst}: made by another request ({describe(before)}); redoing it and any other such "
                          f"output ({describe(request)})")
    return True


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


def _run_batch(todo: list[_Task], work: Any, opts: EngineOptions, manifest: Any, rep: Reporter,
               on_read: Callable[[_Task, Any], None] | None = None) -> Iterator[_Task]:
    """Run a planned batch with ``work`` (:class:`restore.batch.UpscaleJob` / ``InpaintJob``) on its engine —
    here, pipelined, or on Ray actors — and yield each task written. Failures are reported and counted here,
    and each written output is recorded in the manifest."""
    if opts.engine == "ray":
        from restore.cluster import run_on_ray
        from restore.errors import InputError

        threads = None if opts.address else max(1, (os.cpu_count() or 1) // max(1, opts.workers))
        items = [(k, str(t.src), str(t.dst), t.redo, t.ref) for k, t in enumerate(todo)]
        for t in todo:  # the actors write; an output whose result never comes back stays an intent: redone
            manifest.begin(t.dst, t.request)
        try:
            results: Iterator[tuple[_Task, Any]] = (
                (todo[i], err) for i, err in run_on_ray(items, work, threads=threads, address=opts.address,
                                                        workers=opts.workers, gpus_per_worker=opts.gpus_per_worker,
                                                        batch_size=opts.batch_size, timeout=opts.timeout))
            yield from _account(results, manifest, rep, len(todo), record=True)
        except InputError as exc:  # Ray could not start or join the cluster: nothing was done
            raise error_exit(str(exc), EXIT_USAGE) from None
        return

    def process(t: _Task, data: Any) -> Any:
        if data[1].frames > 1:  # data = (image, meta, ...)
            rep.warn_once("frames", f"{t.src}: an animation of {data[1].frames} frames; only the first is "
                                    "processed (said once)")
        if on_read is not None:
            on_read(t, data)
        with rep.library_warnings(t.src):
            return work.compute(t.src, data, t.model, warn=rep.warn)

    def write(t: _Task, result: Any) -> None:
        # the intent is on disk before the output changes, and the record follows it on this thread: an
        # interruption anywhere leaves either the old record with the old output, or an intent (redone next time)
        manifest.begin(t.dst, t.request)
        checkpoint("intent")
        work.write(t.src, t.dst, result, t.redo)
        checkpoint("written")
        manifest.record(t.dst, t.request)
        checkpoint("recorded")

    from restore.batch import run_pipeline

    yield from _account(run_pipeline(todo, lambda t: work.read(t.src), process, write, catch=per_file_errors()),
                        manifest, rep, len(todo))


def _account(results: Iterator[tuple[_Task, Any]], manifest: Any, rep: Reporter, total: int,
             record: bool = False) -> Iterator[_Task]:
    """Count and report each result; ``record``: the manifest record is written here (the writer did not)."""
    for t, err in rep.progress(results, lambda r: r[0].src.name, total=total):
        if err is None:
            if record:
                manifest.record(t.dst, t.request)
            rep.done += 1
            yield t
        elif not t.redo and t.dst.exists() and manifest.made_elsewhere(t.dst, t.request):
            # another run of the same request wrote it first (two identical batches at once): it is right
            manifest.record(t.dst, t.request)
            rep.skipped += 1
        else:
            rep.error(file_error(t.src, err))
            rep.failed += 1


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

    rep, method, model = _start("inpaint", method, model, precision)
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
    _report_problems(problems, rep)

    out_file = output if output is not None and path.is_file() and is_image_path(output) and not output.is_dir() \
        else None
    check_output_formats(plan.jobs, out_file, fmt)
    say_lossy_outputs(plan.jobs, ext if out_file is None else out_file.suffix, rep)
    for src, msg in plan.problems:
        rep.error(f"{src}: {msg}")
        rep.failed += 1
    loaded = load_batch_model("inpaint", method, model, device)
    manifest = Manifest(warn=rep.warn)
    common = {"op": "inpaint", "model": _model_label(loaded, method, model), "dilate": dilate_px,
              "mask": str(mask.resolve()) if mask is not None else "sidecar or alpha"}
    if getattr(loaded, "digest", ""):
        common["weights_sha256"] = loaded.digest
    todo = []
    for job in plan.jobs:
        # the mask by content: an edited mask file at the same path is another request
        request = {**common, "mask_sha256": _mask_digest(job.src, mask)}
        redo = overwrite or _made_differently(job.dst, request, manifest, rep)
        if job.dst.exists() and not redo:
            rep.skipped += 1
            continue
        todo.append(_Task(job.src, job.dst, request, redo, loaded if loaded is not None else model, ref=model))

    def note(t: _Task, data: Any) -> None:
        t.note = f"mask: {data[3]}"  # data = (image, meta, holes, mask source)

    work = InpaintJob(mask=mask, resize_mask=resize_mask, method=method, device=device, dilate=dilate_px,
                      precision=precision, quality=quality, max_pixels=max_pixels)
    for t in _run_batch(todo, work, opts, manifest, rep, on_read=note):
        if len(plan.jobs) == 1 and t.note:
            rep.info(f"{t.note}; wrote {t.dst}")
    if videos:
        inpaint_videos(videos, path, mask, output, suffix, overwrite, manifest, rep, common,
                       dict(method=method, model=loaded if loaded is not None else model, device=device,
                            precision=precision, dilate=dilate_px, resize_mask=resize_mask, codec=codec, crf=crf),
                       redo_of=lambda d, r: _made_differently(d, r, manifest, rep))
    rep.summary("inpainted")
    return rep.exit_code

