"""The machinery the batch commands share (``upscale``, ``inpaint``, ``denoise``): the opening checks, a planned
output (:class:`Task`), resume decisions against the manifest, and running a planned batch on its engine with the
accounting of each file. Imports no torch; every name here is public and used by the command modules.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from restore.cli.common import (
    EXIT_USAGE, EngineOptions, Reporter, describe_error, error_exit, file_error, per_file_errors, quiet_opencv,
    split_method,
)


@dataclass
class Task:
    """One output a batch will write: its source, destination, the request recorded for it, whether an
    existing file is replaced, and the network (or name) that computes it."""

    src: Path
    dst: Path
    request: dict[str, Any]
    redo: bool
    model: Any = None
    note: str = ""  # said when the batch is one file
    ref: str | None = None  # the model as a name or path, for an engine in another process (None: the method's)


def start(task: str, method: str, model: str | None, precision: str = "auto",
          backend: str = "auto", device: str = "auto") -> tuple[Reporter, str, str | None]:
    """The opening of a batch command (``task``: upscale, inpaint or denoise): OpenCV's own logging off, a
    reporter, --method / --model and the precision / backend pair checked (a bad one is a usage error before any
    file is touched). ``denoise`` has no --method: its ``method`` and ``model`` come back as given.

    Returns:
        The reporter, the method and the model (a classical name given to --model is taken as the method).
    """
    quiet_opencv()
    if precision == "int8" and task == "inpaint":
        raise error_exit("--precision int8 is for super-resolution on ONNX Runtime; inpainting runs in "
                          "fp32, bf16 or fp16", EXIT_USAGE)
    if task in ("upscale", "denoise"):
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
    if task == "denoise":
        return Reporter(), method, model
    return Reporter(), *split_method(task, method, model)


def model_label(loaded: Any, method: str, model: str | None) -> str:
    """What computes a batch's outputs, for the manifest: the loaded network's name, else the method."""
    return str(loaded.name if loaded is not None else model or method)


def check_model_file(model: str | None) -> None:
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


def report_problems(problems: Sequence[tuple[Path, str]], rep: Reporter) -> None:
    """Entries of the scan that are not regular files (links to nowhere, loops, FIFOs, unlistable folders): one
    failure each; the batch goes on."""
    for path, msg in problems:
        rep.error(file_error(path, msg))
        rep.failed += 1


def checkpoint(step: str) -> None:
    """Test hook (fault injection): called with "intent", "written" and "recorded" around each output's write.
    Each command module imports it and hands :func:`run_batch` a hook that looks it up in its own namespace, so
    a test replaces it there (``monkeypatch.setattr(batch_cmds, "checkpoint", ...)``) to interrupt a batch."""


def takes_quality(model: Any) -> bool:
    """Whether a loaded network is told what its input's file states about its compression (a
    quantisation-aware model, ``cond_dim`` > 0): then that quality is part of each output's request."""
    return bool(getattr(getattr(model, "module", model), "cond_dim", 0))


def made_differently(dst: Path, request: dict[str, Any], manifest: Any, rep: Reporter) -> bool:
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


def run_batch(todo: list[Task], work: Any, opts: EngineOptions, manifest: Any, rep: Reporter,
              on_read: Callable[[Task, Any], None] | None = None,
              hook: Callable[[str], None] = checkpoint) -> Iterator[Task]:
    """Run a planned batch with ``work`` (:class:`restore.batch.UpscaleJob`, ``InpaintJob`` or ``DenoiseJob``) on
    its engine — here, pipelined, or on Ray actors — and yield each task written. Failures are reported and
    counted here, and each written output is recorded in the manifest.

    Args:
        todo: the outputs to write, in order.
        work: the job: its ``read``, ``compute`` and ``write`` steps run per file.
        opts: the engine (local or Ray) and its settings.
        manifest: the output folder's record of requests.
        rep: counts and reports each file.
        on_read: called with each task and its decoded data before it is computed (local engine).
        hook: called with "intent", "written" and "recorded" around each write (a test's fault injection).

    Returns:
        An iterator over the tasks whose output was written.

    Raises:
        typer.Exit: Ray could not start or join its cluster (a usage error; nothing was done).
    """
    if opts.engine == "ray":
        from restore.cluster import run_on_ray
        from restore.errors import InputError

        threads = None if opts.address else max(1, (os.cpu_count() or 1) // max(1, opts.workers))
        items = [(k, str(t.src), str(t.dst), t.redo, t.ref) for k, t in enumerate(todo)]
        for t in todo:  # the actors write; an output whose result never comes back stays an intent: redone
            manifest.begin(t.dst, t.request)
        try:
            results: Iterator[tuple[Task, Any]] = (
                (todo[i], err) for i, err in run_on_ray(items, work, threads=threads, address=opts.address,
                                                        workers=opts.workers, gpus_per_worker=opts.gpus_per_worker,
                                                        batch_size=opts.batch_size, timeout=opts.timeout))
            yield from account(results, manifest, rep, len(todo), record=True)
        except InputError as exc:  # Ray could not start or join the cluster: nothing was done
            raise error_exit(str(exc), EXIT_USAGE) from None
        return

    def process(t: Task, data: Any) -> Any:
        if data[1].frames > 1:  # data = (image, meta, ...)
            rep.warn_once("frames", f"{t.src}: an animation of {data[1].frames} frames; only the first is "
                                    "processed (said once)")
        if on_read is not None:
            on_read(t, data)
        with rep.library_warnings(t.src):
            return work.compute(t.src, data, t.model, warn=rep.warn)

    def write(t: Task, result: Any) -> None:
        # the intent is on disk before the output changes, and the record follows it on this thread: an
        # interruption anywhere leaves either the old record with the old output, or an intent (redone next time)
        manifest.begin(t.dst, t.request)
        hook("intent")
        work.write(t.src, t.dst, result, t.redo)
        hook("written")
        manifest.record(t.dst, t.request)
        hook("recorded")

    from restore.batch import run_pipeline

    yield from account(run_pipeline(todo, lambda t: work.read(t.src), process, write, catch=per_file_errors()),
                       manifest, rep, len(todo))


def account(results: Iterator[tuple[Task, Any]], manifest: Any, rep: Reporter, total: int,
            record: bool = False) -> Iterator[Task]:
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

