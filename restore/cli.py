"""Command line interface: ``restore upscale | inpaint | models`` (Typer).

Only the CLI prints and exits; the library raises. Heavy imports (torch, OpenCV, the API's
model code) happen inside commands so that ``restore --help`` is instant.

Exit codes: 0 every file ok (or skipped); 1 at least one file failed; 2 usage error
(bad option, no input found, unknown method or model).
"""
from __future__ import annotations

import functools
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeVar

import typer

from restore.catalogue import BACKENDS, PRECISIONS  # torch- and NumPy-free

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_CODES_HELP = "Exit codes: 0 = all files ok or skipped, 1 = some file failed, 2 = usage error (bad option, no input found, unknown method/model)."

app = typer.Typer(
    name="restore",
    help="Image restoration: CNN super-resolution and inpainting, with classical baselines.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # our errors are one line; anything else is a bug and should show as one
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _method_names(task: str) -> str:
    """Valid method names for --help (api's lists are cheap: no torch); never breaks --help."""
    try:
        from restore import catalogue

        names = catalogue.upscale_methods() if task == "upscale" else catalogue.inpaint_methods()
        return ", ".join(names)
    except Exception:  # a broken model registry must not take `restore --help` down with it
        return "see `restore models`"


# --------------------------------------------------------------------------- output helpers


class Reporter:
    """Prints one-line messages to stderr (through the progress bar when one is live) and counts outcomes."""

    def __init__(self) -> None:
        from rich.console import Console

        self.err: Console = Console(stderr=True, soft_wrap=True, highlight=False)
        self.out: Console = Console(soft_wrap=True, highlight=False)
        self.done = 0
        self.skipped = 0
        self.not_images = 0
        self.failed = 0
        self.started = time.perf_counter()
        self._progress: Progress | None = None
        self._warned: set[str] = set()

    def _console(self) -> Console:
        return self._progress.console if self._progress is not None else self.err

    def error(self, msg: str) -> None:
        from rich.text import Text

        self._console().print(Text(f"error: {_one_line(msg)}", style="red"))

    def warn(self, msg: str) -> None:
        from rich.text import Text

        self._console().print(Text(f"warning: {_one_line(msg)}", style="yellow"))

    def warn_once(self, key: str, msg: str) -> None:
        """A warning that would repeat for every file of a batch, said the first time only."""
        if key not in self._warned:
            self._warned.add(key)
            self.warn(msg)

    def library_warnings(self, src: Path) -> Any:
        """Context: the library's ``warnings.warn`` calls while ``src`` is processed become one line per kind
        (the first file that triggers it is named), not Python's multi-line warning text."""
        rep = self

        class _Catch(warnings.catch_warnings):
            def __enter__(self) -> Any:
                self.log = super().__enter__()
                warnings.simplefilter("always")
                return self.log

            def __exit__(self, *exc: Any) -> None:
                super().__exit__(*exc)
                for w in self.log or []:
                    rep.warn_once(type(w.message).__name__, f"{src}: {w.message} (said once)")

        return _Catch(record=True)

    def info(self, msg: str) -> None:
        from rich.text import Text

        self._console().print(Text(_one_line(msg), style="dim"))

    def progress(self, items: Iterable[Any], label: Callable[[Any], str], total: int | None = None) -> Iterator[Any]:
        """Yield ``items`` under a progress bar showing the current item's label (stderr, TTY only)."""
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn,
                                   TextColumn, TimeElapsedColumn)

        progress = Progress(
            SpinnerColumn(), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=self.err, transient=True, disable=not self.err.is_terminal,
        )
        self._progress = progress
        try:
            with progress:
                task = progress.add_task("", total=len(items) if total is None else total)  # type: ignore[arg-type]
                for item in items:
                    progress.update(task, description=_escape(label(item)))
                    yield item
                    progress.advance(task)
        finally:
            self._progress = None

    def summary(self, verb: str) -> None:
        parts = [f"{verb} {self.done}"]
        if self.skipped:
            parts.append(f"skipped {self.skipped} (output exists; --overwrite to redo)")
        if self.not_images:
            parts.append(f"ignored {self.not_images} non-image file{'s' if self.not_images != 1 else ''}")
        parts.append(f"failed {self.failed}")
        secs = time.perf_counter() - self.started
        style = "red" if self.failed else "green"
        from rich.text import Text

        self.out.print(Text(", ".join(parts) + f" in {secs:.1f} s", style=style))

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.failed else EXIT_OK


def _one_line(msg: str) -> str:
    return " ".join(str(msg).split())


def _escape(s: str) -> str:
    from rich.markup import escape

    return escape(s)


def _error_exit(msg: str, code: int) -> typer.Exit:
    Reporter().error(msg)
    return typer.Exit(code)


F = TypeVar("F", bound=Callable[..., Any])


def _handle_errors(fn: F) -> F:
    """Turn library/OS errors escaping a command into one red line and exit code 1 (never a traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from restore.errors import RestoreError

        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except (RestoreError, OSError, MemoryError) as exc:
            raise _error_exit(_describe(exc), EXIT_FAILED) from None
        except KeyboardInterrupt:
            raise _error_exit("interrupted", 130) from None

    return wrapper  # type: ignore[return-value]


def _describe(exc: BaseException) -> str:
    from restore.errors import RestoreError

    if isinstance(exc, RestoreError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory (try a smaller --tile or a smaller image)"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return f"{where}{exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def _file_error(src: Path, exc: BaseException) -> str:
    """Error line for one file of a batch, naming the file once."""
    msg = _describe(exc)
    return msg if msg.startswith(str(src)) else f"{src}: {msg}"


def _per_file_errors() -> tuple[type[BaseException], ...]:
    """Errors that fail one file of a batch (the batch goes on). With RESTORE_DEBUG=1 unexpected
    exceptions propagate with their traceback instead of being reported as a failed file."""
    from restore.errors import RestoreError

    if os.environ.get("RESTORE_DEBUG"):
        return (RestoreError, OSError, MemoryError)
    return (Exception,)


def _quiet_opencv() -> None:
    """OpenCV logs decoder warnings on stderr; our own error line says the same thing, once."""
    import cv2

    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    except AttributeError:  # very old builds
        pass


# --------------------------------------------------------------------------- finding inputs


@dataclass
class Job:
    """One image to process: ``src`` -> ``dst``."""

    src: Path
    dst: Path


@dataclass
class Plan:
    """What a batch will do. ``problems`` are (path, message) pairs that count as failures."""

    jobs: list[Job] = field(default_factory=list)
    not_images: list[Path] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)


def _is_hidden(name: str) -> bool:
    # dot files include write_image's temp files (".x.png.1234abcd.tmp")
    return name.startswith(".")


def _inside(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        path.resolve().relative_to(folder)
        return True
    except ValueError:
        return False


def collect_images(
    paths: Sequence[Path], *, recursive: bool = False, exclude: Path | None = None
) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """Expand files and folders into (image, path relative to its root) pairs, sorted.

    Files given explicitly are taken as is (relative path = file name). Folders yield their
    image files (and, with ``recursive``, those of subfolders, relative to the folder given).
    Hidden files and folders and anything under ``exclude`` (the output folder, so a re-run
    never takes earlier outputs as inputs) are ignored. Returns (images, non-image files).

    Raises:
        InputError: a path does not exist.
    """
    from restore.errors import InputError
    from restore.io import is_image_path

    excl = exclude.resolve() if exclude is not None else None
    images: list[tuple[Path, Path]] = []
    others: list[Path] = []
    for root in paths:
        if root.is_file():
            if is_image_path(root):
                images.append((root, Path(root.name)))
            else:
                others.append(root)
            continue
        if not root.is_dir():
            raise InputError(f"{root}: no such file or folder")
        # Output folder == this input folder: nothing to exclude (outputs get a suffix instead).
        excl_here = excl if excl is not None and excl != root.resolve() else None
        if recursive:
            for dirpath, dirnames, filenames in os.walk(root):
                d = Path(dirpath)
                dirnames[:] = sorted(n for n in dirnames if not _is_hidden(n) and not _inside(d / n, excl_here))
                for name in sorted(filenames):
                    f = d / name
                    if _is_hidden(name) or _inside(f, excl_here):
                        continue
                    if is_image_path(f):
                        images.append((f, f.relative_to(root)))
                    else:
                        others.append(f)
        else:
            for f in sorted(root.iterdir()):
                if _is_hidden(f.name) or not f.is_file() or _inside(f, excl_here):
                    continue
                if is_image_path(f):
                    images.append((f, Path(f.name)))
                else:
                    others.append(f)
    return _without_derived(images), others


#: smallest --tile that does not waste most of the work on context margins
MIN_FAST_TILE = 128

#: suffixes of the outputs this tool writes beside their input by default (inpaint) or into the input's folder
INPAINT_SUFFIX = "_inpainted"
DERIVED_SUFFIXES = (INPAINT_SUFFIX, "_x2", "_x3", "_x4")


def _without_derived(images: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
    """Drop, from a folder scan, the images that are this tool's own outputs beside their source (``a_x4.png``
    or ``a_inpainted.png`` next to ``a.png``): a re-run, or the next command on the folder, must not take them
    for inputs. An image whose stem merely ends that way, with no such source beside it, is kept."""
    stems = {(src.parent, src.stem) for src, _ in images}
    out = []
    for src, rel in images:
        base = next((src.stem[: -len(sfx)] for sfx in DERIVED_SUFFIXES if src.stem.endswith(sfx)), None)
        if base and (src.parent, base) in stems:
            continue
        out.append((src, rel))
    return out


def _out_is_file(out: Path, n_inputs: int, single_file: bool) -> bool:
    from restore.io import is_image_path

    return single_file and n_inputs == 1 and is_image_path(out) and not out.is_dir()


def plan_outputs(
    images: Sequence[tuple[Path, Path]],
    out: Path,
    *,
    suffix: str = "",
    ext: str | None = None,
    out_is_file: bool = False,
) -> Plan:
    """Map each (image, relative path) to ``out/<rel parent>/<stem><suffix><ext>`` (``ext`` None:
    keep the input's).

    An input that is the output of another input (``a_x4.png`` beside ``a.png`` when writing into
    the input folder) is a result of an earlier run: it is left out, so a re-run resumes instead
    of upscaling its own outputs. Outputs that would land on an input, or on another job's
    output, become problems rather than jobs.
    """
    from restore.io import output_suffix

    def dst_of(rel: Path) -> Path:
        if out_is_file:
            return out
        return out / rel.parent / f"{rel.stem}{suffix}{ext if ext is not None else output_suffix(rel.suffix)}"

    def key(p: Path) -> str:
        return os.path.normcase(p.resolve())

    planned = [(src, dst_of(rel)) for src, rel in images]
    dst_keys = {key(dst): src for src, dst in planned}
    planned = [(src, dst) for src, dst in planned if dst_keys.get(key(src), src) == src]
    inputs = {key(src) for src, _ in planned}

    plan = Plan()
    seen: dict[str, Path] = {}
    for src, dst in planned:
        k = key(dst)
        if k in inputs:
            plan.problems.append((src, f"output {dst} would overwrite an input (use --suffix or another -o)"))
        elif k in seen:
            plan.problems.append((src, f"output {dst} is also the output of {seen[k]}"))
        else:
            seen[k] = src
            plan.jobs.append(Job(src, dst))
    return plan


# --------------------------------------------------------------------------- upscale


class OutFormat(str, Enum):
    same = "same"
    png = "png"
    jpg = "jpg"
    webp = "webp"
    tiff = "tiff"


Precision = Enum("Precision", {p: p for p in PRECISIONS}, type=str)
Backend = Enum("Backend", {b: b for b in BACKENDS}, type=str)


THREADS_HELP = "CPU threads for the networks (default: $RESTORE_THREADS, else every core)."


class Engine(str, Enum):
    local = "local"
    ray = "ray"


@dataclass
class EngineOptions:
    """Where a batch runs: here (pipelined threads) or on Ray actors (restore/cluster.py)."""

    engine: str = "local"
    address: str | None = None
    workers: int = 1
    gpus_per_worker: float = 0.0
    batch_size: int = 4


def _engine_options(engine: Engine, ray_address: str | None, workers: int, gpus_per_worker: float,
                    batch_size: int) -> EngineOptions:
    if engine == Engine.ray:
        from restore.cluster import require_ray
        from restore.errors import InputError

        try:
            require_ray()
        except InputError as exc:
            raise _error_exit(str(exc), EXIT_USAGE) from None
    elif ray_address is not None:
        raise _error_exit("--ray-address needs --engine ray", EXIT_USAGE)
    return EngineOptions(engine.value, ray_address, workers, gpus_per_worker, batch_size)


def _run_batch(todo: list[Any], opts: EngineOptions, spec: dict[str, Any], local: Callable[[], Iterator[Any]],
               manifest: Any, rep: Reporter) -> Iterator[Any]:
    """Run a planned batch on its engine; yield each finished task (failures are reported and counted here, and
    each written output is recorded in the manifest)."""
    if opts.engine == "ray":
        from restore.cluster import run_on_ray
        from restore.errors import InputError

        spec = {**spec, "threads": None if opts.address else max(1, (os.cpu_count() or 1) // max(1, opts.workers))}
        items = [(k, str(t.src), str(t.dst), t.redo, t.ref) for k, t in enumerate(todo)]
        try:
            results = ((todo[i], err) for i, err in run_on_ray(items, spec, address=opts.address,
                                                                 workers=opts.workers,
                                                                 gpus_per_worker=opts.gpus_per_worker,
                                                                 batch_size=opts.batch_size))
            yield from _account(results, manifest, rep, total=len(todo))
        except InputError as exc:  # Ray could not start or join the cluster: nothing was done
            raise _error_exit(str(exc), EXIT_USAGE) from None
    else:
        yield from _account(local(), manifest, rep, total=len(todo))


def _account(results: Iterator[tuple[Any, Any]], manifest: Any, rep: Reporter, total: int) -> Iterator[Any]:
    for t, err in rep.progress(results, lambda r: r[0].src.name, total=total):
        if err is None:
            manifest.record(t.dst, t.request)
            rep.done += 1
            yield t
        else:
            rep.error(err if isinstance(err, str) and err.startswith(str(t.src)) else
                      f"{t.src}: {err}" if isinstance(err, str) else _file_error(t.src, err))
            rep.failed += 1


def _apply_threads(threads: int | None) -> None:
    """``--threads``, else ``$RESTORE_THREADS``, sets torch's intra-op threads; neither leaves torch's default."""
    if threads is None:
        env = os.environ.get("RESTORE_THREADS", "").strip()
        if not env:
            return
        try:
            threads = int(env)
        except ValueError:
            threads = 0
        if threads < 1:
            raise _error_exit(f"RESTORE_THREADS={env!r} must be a whole number ≥ 1", EXIT_USAGE)
    import torch

    torch.set_num_threads(threads)


def _check_scale(value: int | None) -> int | None:
    if value is not None and value not in (2, 3, 4):
        raise typer.BadParameter(f"{value} is not one of 2, 3, 4")
    return value


def _split_method(task: str, method: str, model: str | None) -> tuple[str, str | None]:
    """Validate --method/--model up front (usage error, exit 2, rather than N failed files).
    A classical name given to --model is taken as the method."""
    from restore import catalogue

    classical_names = catalogue.UPSCALE_METHODS if task == "upscale" else catalogue.INPAINT_METHODS
    if model is not None and model in classical_names:
        return model, None
    valid = catalogue.upscale_methods() if task == "upscale" else catalogue.inpaint_methods()
    if model is None and method not in valid:
        raise _error_exit(f"unknown {task} method {method!r}; choose from {', '.join(valid)}", EXIT_USAGE)
    return method, model


def _load_model(task: str, method: str, model: str | None, device: str, scale: int | None = None) -> Any:
    """Load the batch's CNN once — the one asked for, or the default that ``auto`` resolves to — so that a
    wrong name, a model of the other task or an unavailable device is one usage error (exit 2), not one
    failure per file. None: a classical method (or ``auto`` with no CNN shipped)."""
    from restore import api, catalogue
    from restore.errors import InputError, ModelError
    from restore.catalogue import default_model

    classical_names = catalogue.UPSCALE_METHODS if task == "upscale" else catalogue.INPAINT_METHODS
    name = model if model is not None else (method if method not in ("auto", *classical_names) else None)
    if name is None and method == "auto" and model is None:
        name = default_model("sr", scale or 4) if task == "upscale" else default_model("inpaint")
    if name is None:
        return None
    try:
        loaded = api.load_model(name, device=device)
    except (ModelError, InputError, FileNotFoundError) as exc:
        raise _error_exit(_describe(exc), EXIT_USAGE) from None
    want = "sr" if task == "upscale" else "inpaint"
    if getattr(loaded, "task", None) != want:
        what = "a super-resolution" if want == "sr" else "an inpainting"
        raise _error_exit(f"model {name!r} is not {what} model; see `restore models`", EXIT_USAGE)
    return loaded


def _resolve_scale(scale: int | None, method: str, model: str | None) -> int:
    """--scale, or the scale of the one-scale model asked for (4 when neither says); a model and a --scale
    that disagree are a usage error."""
    from restore import catalogue

    name = model if model is not None else method
    if model is None and method in ("auto", *catalogue.UPSCALE_METHODS):
        return scale or 4
    from restore.errors import ModelError
    from restore.catalogue import read_metadata, resolve

    try:
        own = read_metadata(resolve(name)).get("scale")
    except ModelError as exc:
        raise _error_exit(_describe(exc), EXIT_USAGE) from None
    if own is not None and scale is not None and scale != own:
        raise _error_exit(f"model {name!r} upscales ×{own}, but --scale is {scale}; drop --scale or pick a ×{scale} model",
                          EXIT_USAGE)
    return int(own or scale or 4)


@app.command(epilog=EXIT_CODES_HELP)
@_handle_errors
def upscale(
    paths: Annotated[list[Path], typer.Argument(help="Image files and/or folders.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder (or output file, for a single input file with an image extension).", show_default=False)],
    scale: Annotated[Optional[int], typer.Option("--scale", "-s", help="Upscaling factor: 2, 3 or 4 (default: the --model's own scale, else 4).", callback=_check_scale, show_default=False)] = None,
    method: Annotated[str, typer.Option("--method", "-m", help=f"Method: {_method_names('upscale')}. auto = shipped CNN for the scale, else bicubic.")] = "auto",
    model: Annotated[Optional[str], typer.Option("--model", help="Model name (see `restore models`) or .safetensors path; overrides --method.", show_default=False)] = None,
    device: Annotated[str, typer.Option("--device", "-d", help="auto, cpu, cuda or mps (CNN only).")] = "auto",
    tile: Annotated[Optional[int], typer.Option("--tile", min=0, help="CNN tile size in input pixels (0 = untiled; default chosen per device).", show_default=False)] = None,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into subfolders, mirroring the tree under the output folder.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs (default: skip them, so a re-run resumes a batch). Inputs are never overwritten.")] = False,
    fmt: Annotated[OutFormat, typer.Option("--format", "-f", help="Output format; same = the input's.")] = OutFormat.same,
    suffix: Annotated[Optional[str], typer.Option("--suffix", help="Appended to output file stems: <stem><suffix>.<ext>. Default: none, or _x<scale> when writing into an input's folder.", show_default=False)] = None,
    quality: Annotated[int, typer.Option("--quality", "-q", min=1, max=100, help="JPEG/WebP quality.")] = 95,
    max_pixels: Annotated[Optional[int], typer.Option("--max-pixels", min=1, help="Refuse inputs with more pixels than this, read from the file's header before decoding (default: restore.io.DEFAULT_MAX_PIXELS, 250 MP).", show_default=False)] = None,
    denoise: Annotated[Optional[float], typer.Option("--denoise", min=0.0, max=1.0, help="Real-photo strength from 0 (sr-x<scale>, for clean images) to 1 (sr-real-x<scale>, for JPEG, noise, blur): the two models' weights blended. Default with --method auto: 1 for JPEG and lossy WebP inputs, 0 for the rest.", show_default=False)] = None,
    precision: Annotated[Precision, typer.Option("--precision", help="CNN arithmetic: auto = bfloat16 on CPUs with native bf16 and float16 on CUDA (PSNR within 0.01 dB of fp32), else fp32.")] = Precision.auto,
    threads: Annotated[Optional[int], typer.Option("--threads", min=1, help=THREADS_HELP, show_default=False)] = None,
    backend: Annotated[Backend, typer.Option("--backend", help="What runs the network: torch, or onnxruntime (CPU, float32; pip install 'restore[onnx]'; fastest for sr-fast-x4).")] = Backend.torch,
    engine: Annotated[Engine, typer.Option("--engine", help="local (this process; pipelined reads and writes) or ray (Ray actors, each loading the model once; pip install 'restore[cluster]').")] = Engine.local,
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", help="Join this Ray cluster (default: start a local Ray instance).", show_default=False)] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Ray actors (--engine ray).")] = 1,
    gpus_per_worker: Annotated[float, typer.Option("--gpus-per-worker", min=0.0, help="GPUs each Ray actor asks for (--engine ray).")] = 0.0,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Files per Ray task (--engine ray).")] = 4,
) -> None:
    """Upscale images by 2, 3 or 4 (files or folders; resumable batch).

    With --method auto, JPEG and lossy WebP inputs (judged by content) get the real-photo model sr-real-x<scale>,
    which does not sharpen compression blocks; other inputs get the clean model sr-x<scale>. --denoise,
    --method or --model override that choice."""
    _apply_threads(threads)
    code = run_upscale(paths, output, scale=scale, method=method, model=model, device=device, tile=tile,
                       recursive=recursive, overwrite=overwrite, fmt=fmt.value, suffix=suffix, quality=quality,
                       max_pixels=max_pixels, denoise=denoise, precision=precision.value, backend=backend.value,
                       opts=_engine_options(engine, ray_address, workers, gpus_per_worker, batch_size))
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
    backend: str = "torch",
    opts: EngineOptions | None = None,
) -> int:
    """The ``upscale`` command; returns the exit code."""
    opts = opts or EngineOptions()
    import restore
    from restore import api
    from restore.batch import run_pipeline
    from restore.errors import InputError
    from restore.io import DEFAULT_MAX_PIXELS, is_image_path, is_lossy, read_image_with_meta, write_image
    from restore.manifest import Manifest

    _quiet_opencv()
    rep = Reporter()
    method, model = _split_method("upscale", method, model)
    scale = _resolve_scale(scale, method, model)
    if tile is not None and 0 < tile < MIN_FAST_TILE:
        # every tile is cut with the network's receptive radius of context on each side: tiny tiles redo most
        # of the work (measured 28× slower at --tile 16)
        rep.warn(f"--tile {tile} is below {MIN_FAST_TILE} px: much slower, same result; 0 = untiled")
    try:
        images, others = collect_images(paths, recursive=recursive, exclude=output)
    except InputError as exc:
        raise _error_exit(str(exc), EXIT_USAGE) from None
    rep.not_images = len(others)
    if not images:
        raise _error_exit(f"no image found in {', '.join(map(str, paths))}", EXIT_USAGE)

    single_file = len(paths) == 1 and paths[0].is_file()
    out_is_file = _out_is_file(output, len(images), single_file)
    if not out_is_file and is_image_path(output) and not output.is_dir():
        raise _error_exit(f"-o {output} names one image file, but there are {len(images)} inputs; give a folder",
                          EXIT_USAGE)
    if suffix is None:
        # Writing into an input's folder: the plain name could be that input (or another one).
        same_dir = not out_is_file and any(src.parent.resolve() == (output / rel.parent).resolve() for src, rel in images)
        suffix = f"_x{scale}" if same_dir else ""
    ext = None if fmt == "same" else f".{fmt}"
    plan = plan_outputs(images, output, suffix=suffix, ext=ext, out_is_file=out_is_file)
    for src, msg in plan.problems:
        rep.error(f"{src}: {msg}")
        rep.failed += 1

    if denoise is not None:
        loaded = lossy_model = _denoise_model(scale, denoise, method, model, device)
    else:
        loaded = _load_model("upscale", method, model, device, scale)
        lossy_model = _lossy_model(scale, method, model, device, plan.jobs, rep)
    manifest = Manifest()
    todo = []
    for job in plan.jobs:
        net = lossy_model if lossy_model is not None and is_lossy(job.src) else loaded
        request = {"op": "upscale", "scale": scale, "model": _model_label(net, method, model)}
        if denoise is not None:
            request["denoise"] = denoise
        redo = overwrite or _made_differently(job.dst, request, manifest, rep)
        if job.dst.exists() and not redo:
            rep.skipped += 1
            continue
        lossy = lossy_model is not None and net is lossy_model and denoise is None
        ref = api.real_model(scale) if lossy else model  # what a Ray actor loads for this file
        todo.append(_Task(job.src, job.dst, request, redo, net if net is not None else model, ref=ref))

    def read(t: _Task) -> Any:
        return read_image_with_meta(t.src, max_pixels=max_pixels or DEFAULT_MAX_PIXELS)

    def process(t: _Task, data: Any) -> Any:
        image, meta = data
        _first_frame_note(t.src, meta, rep)
        with rep.library_warnings(t.src):
            return restore.upscale(image, scale, method=method, model=t.model, device=device, tile=tile,
                                   precision=precision, backend=backend), meta

    def write(t: _Task, result: Any) -> None:
        out, meta = result
        write_image(t.dst, out, meta=meta, overwrite=t.redo, quality=quality, inputs=(t.src,))

    spec = {"op": "upscale", "scale": scale, "method": method, "device": device, "tile": tile,
            "precision": precision, "backend": backend, "denoise": denoise, "quality": quality,
            "max_pixels": max_pixels}
    for _t in _run_batch(todo, opts, spec, lambda: run_pipeline(todo, read, process, write, catch=_per_file_errors()),
                         manifest, rep):
        pass
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


def _first_frame_note(src: Path, meta: Any, rep: Reporter) -> None:
    if meta.frames > 1:
        rep.warn_once("frames", f"{src}: an animation of {meta.frames} frames; only the first is processed "
                                "(said once)")


def _model_label(loaded: Any, method: str, model: str | None) -> str:
    """What computes a batch's outputs, for the manifest: the loaded network's name, else the method."""
    info = getattr(loaded, "info", None) or {}
    return str(info.get("name") or model or method)


def _made_differently(dst: Path, request: dict[str, Any], manifest: Any, rep: Reporter) -> bool:
    """Whether an existing output was recorded as made by another request (then it is redone, and said so)."""
    if not dst.exists():
        return False
    before = manifest.request_of(dst)
    if before is None or before == request:
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
        raise _error_exit(_describe(exc), EXIT_USAGE) from None


def _lossy_model(scale: int, method: str, model: str | None, device: str, jobs: Sequence[Any],
                 rep: Reporter) -> Any:
    """With ``--method auto``: the real-photo model for the batch's JPEG / lossy WebP inputs (the clean model
    sharpens their compression blocks), loaded only when there are some; the choice is printed once."""
    from restore import api
    from restore.io import is_lossy

    if method != "auto" or model is not None:
        return None
    name = api.real_model(scale)
    n = sum(1 for j in jobs if is_lossy(j.src))
    if name is None or n == 0:
        return None
    rep.info(f"{n} JPEG/WebP input{'s' if n > 1 else ''}: using {name} (made for compressed photos; "
             "--denoise 0 keeps the clean model)")
    return _load_model("upscale", name, None, device, scale)


# --------------------------------------------------------------------------- inpaint


INPAINT_HELP = """Fill holes in images.

Mask: a gray/RGB image the size of the input; pixels >= 127 (after conversion to gray) are holes. Without --mask, a sidecar <stem>_mask.<ext> (or <stem>.mask.png) beside the image is used, else the image's transparent pixels (alpha < 128) are the holes and the output is opaque RGB. An empty mask copies the image through, with a warning.

Single image: the output is <stem>_inpainted.<ext> beside it unless -o is given. Folder: -o OUTDIR is required and outputs keep their names (<stem>_inpainted.<ext> when OUTDIR is the input folder); --mask is a folder of masks matched by file stem (<stem>.* or <stem>_mask.*), or one mask file for every image; mask sidecars in the folder are not inpainted themselves.
"""


@app.command(help=INPAINT_HELP, epilog=EXIT_CODES_HELP)
@_handle_errors
def inpaint(
    path: Annotated[Path, typer.Argument(help="An image file, or a folder of images.", show_default=False)],
    mask: Annotated[Optional[Path], typer.Option("--mask", "-k", help="Mask file, or folder of masks matched by stem. Default: sidecar, then alpha.", show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Output file (single image) or folder. Default for a single image: <stem>_inpainted.<ext> beside it.", show_default=False)] = None,
    method: Annotated[str, typer.Option("--method", "-m", help=f"Method: {_method_names('inpaint')}. auto = shipped CNN, else telea.")] = "auto",
    model: Annotated[Optional[str], typer.Option("--model", help="Model name (see `restore models`) or .safetensors path; overrides --method.", show_default=False)] = None,
    device: Annotated[str, typer.Option("--device", "-d", help="auto, cpu, cuda or mps (CNN only).")] = "auto",
    dilate_px: Annotated[int, typer.Option("--dilate", min=0, help="Grow the holes by this many pixels (covers halos around objects).")] = 0,
    resize_mask: Annotated[bool, typer.Option("--resize-mask", help="Stretch a mask of another size to the image (nearest neighbour) instead of failing.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs (default: skip them). Inputs are never overwritten.")] = False,
    fmt: Annotated[OutFormat, typer.Option("--format", "-f", help="Output format; same = the input's.")] = OutFormat.same,
    suffix: Annotated[Optional[str], typer.Option("--suffix", help="Appended to output file stems: <stem><suffix>.<ext>. Default: _inpainted beside the input or in its folder, none in another folder.", show_default=False)] = None,
    quality: Annotated[int, typer.Option("--quality", "-q", min=1, max=100, help="JPEG/WebP quality.")] = 95,
    max_pixels: Annotated[Optional[int], typer.Option("--max-pixels", min=1, help="Refuse inputs with more pixels than this, read from the file's header before decoding (default: restore.io.DEFAULT_MAX_PIXELS, 250 MP).", show_default=False)] = None,
    precision: Annotated[Precision, typer.Option("--precision", help="CNN arithmetic: auto = bfloat16 on CPUs with native bf16 and float16 on CUDA (the pre-fill stays fp32), else fp32.")] = Precision.auto,
    threads: Annotated[Optional[int], typer.Option("--threads", min=1, help=THREADS_HELP, show_default=False)] = None,
    engine: Annotated[Engine, typer.Option("--engine", help="local (this process; pipelined reads and writes) or ray (Ray actors, each loading the model once; pip install 'restore[cluster]').")] = Engine.local,
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", help="Join this Ray cluster (default: start a local Ray instance).", show_default=False)] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Ray actors (--engine ray).")] = 1,
    gpus_per_worker: Annotated[float, typer.Option("--gpus-per-worker", min=0.0, help="GPUs each Ray actor asks for (--engine ray).")] = 0.0,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Files per Ray task (--engine ray).")] = 4,
) -> None:
    _apply_threads(threads)
    code = run_inpaint(path, mask=mask, output=output, method=method, model=model, device=device,
                       dilate_px=dilate_px, resize_mask=resize_mask, overwrite=overwrite, quality=quality,
                       max_pixels=max_pixels, fmt=fmt.value, suffix=suffix, precision=precision.value,
                       opts=_engine_options(engine, ray_address, workers, gpus_per_worker, batch_size))
    raise typer.Exit(code)


def collect_inpaint_images(folder: Path, mask: Path | None = None, exclude: Path | None = None) -> tuple[list[Path], list[Path]]:
    """Images of ``folder`` to inpaint (non-recursive), leaving out mask files: sidecars of another
    image there (``x_mask.png`` when ``x.*`` exists) and the ``mask`` file itself. Returns
    (images, non-image files)."""
    from restore.masks import mask_owner_stem

    pairs, others = collect_images([folder], exclude=exclude)
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
) -> int:
    """The ``inpaint`` command; returns the exit code."""
    opts = opts or EngineOptions()
    from restore.batch import inpaint_decoded, run_pipeline
    from restore.io import DEFAULT_MAX_PIXELS, is_image_path, output_suffix, read_image_with_meta, write_image
    from restore.manifest import Manifest
    from restore.masks import resolve_mask

    _quiet_opencv()
    rep = Reporter()
    method, model = _split_method("inpaint", method, model)
    ext = None if fmt == "same" else f".{fmt}"
    if mask is not None and not mask.exists():
        raise _error_exit(f"{mask}: no such mask file or folder", EXIT_USAGE)

    if path.is_dir():
        if output is None:
            raise _error_exit("a folder input needs -o OUTDIR", EXIT_USAGE)
        images, others = collect_inpaint_images(path, mask, exclude=output)
        rep.not_images = len(others)
        if not images:
            raise _error_exit(f"no image found in {path}", EXIT_USAGE)
        if suffix is None:
            # writing into the input folder: a suffix keeps the inputs (and lets a re-run resume)
            suffix = INPAINT_SUFFIX if output.resolve() == path.resolve() else ""
        plan = plan_outputs([(f, Path(f.name)) for f in images], output, suffix=suffix, ext=ext)
    elif path.is_file():
        if not is_image_path(path):
            raise _error_exit(f"{path}: not an image file (extension {path.suffix or 'missing'})", EXIT_USAGE)
        if output is None:
            dst = path.with_name(f"{path.stem}{INPAINT_SUFFIX if suffix is None else suffix}{ext or output_suffix(path.suffix)}")
        elif is_image_path(output) and not output.is_dir():
            dst = output
        else:
            same_dir = output.resolve() == path.parent.resolve()
            sfx = suffix if suffix is not None else (INPAINT_SUFFIX if same_dir else "")
            dst = output / f"{path.stem}{sfx}{ext or output_suffix(path.suffix)}"
        plan = plan_outputs([(path, Path(path.name))], dst, out_is_file=True)
    else:
        raise _error_exit(f"{path}: no such file or folder", EXIT_USAGE)

    for src, msg in plan.problems:
        rep.error(f"{src}: {msg}")
        rep.failed += 1
    loaded = _load_model("inpaint", method, model, device)
    manifest = Manifest()
    request = {"op": "inpaint", "model": _model_label(loaded, method, model), "dilate": dilate_px,
               "mask": str(mask.resolve()) if mask is not None else "sidecar or alpha"}
    todo = []
    for job in plan.jobs:
        redo = overwrite or _made_differently(job.dst, request, manifest, rep)
        if job.dst.exists() and not redo:
            rep.skipped += 1
            continue
        todo.append(_Task(job.src, job.dst, request, redo, loaded if loaded is not None else model, ref=model))

    def read(t: _Task) -> Any:
        image, meta = read_image_with_meta(t.src, max_pixels=max_pixels or DEFAULT_MAX_PIXELS)
        holes, source = resolve_mask(t.src, image, mask, resize=resize_mask)
        return image, meta, holes, source

    def process(t: _Task, data: Any) -> Any:
        image, meta, holes, source = data
        _first_frame_note(t.src, meta, rep)
        t.note = f"mask: {source}"
        with rep.library_warnings(t.src):
            out = inpaint_decoded(t.src, image, holes, source, method=method, model=t.model, device=device,
                                    dilate_px=dilate_px, warn=rep.warn, precision=precision)
        return out, meta, source

    def write(t: _Task, result: Any) -> None:
        out, meta, source = result
        protect = [t.src] + ([source.path] if source.path is not None else [])
        write_image(t.dst, out, meta=meta, overwrite=t.redo, quality=quality, inputs=protect)

    spec = {"op": "inpaint", "method": method, "device": device, "precision": precision, "quality": quality,
            "max_pixels": max_pixels, "mask": str(mask) if mask is not None else None, "resize_mask": resize_mask,
            "dilate": dilate_px}
    for t in _run_batch(todo, opts, spec, lambda: run_pipeline(todo, read, process, write, catch=_per_file_errors()),
                        manifest, rep):
        if len(plan.jobs) == 1 and t.note:
            rep.info(f"{t.note}; wrote {t.dst}")
    rep.summary("inpainted")
    return rep.exit_code


# --------------------------------------------------------------------------- models


def _fmt_params(n: int | None) -> str:
    if n is None:
        return ""
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    if n >= 1_000:
        return f"{n / 1e3:.0f}k"
    return str(n)


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
        row = [m.name, m.task, kind, ",".join(str(s) for s in m.scales), _fmt_params(m.params),
               _headline(dict(m.scores or {}), m.task)]
        table.add_row(*row, *([m.description or ""] if wide else []))
    console.print(table)
    if not wide:
        console.print("descriptions and every score: restore models --json")


def main() -> None:
    """Console-script entry point (``restore``)."""
    # Pillow's own warnings (corrupt EXIF, odd chunks) are not the user's business here and would print as
    # multi-line Python warnings; set once, process-wide, rather than per file on the reader thread
    warnings.filterwarnings("ignore", module="PIL")
    app()


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
    degradation: Annotated[str, typer.Option("--degradation", help="clean (the published protocol) | jpeg:Q | noise:SIGMA (grey levels, on the LR) | blur:SIGMA (Gaussian blur of the HR before the downscale).")] = "clean",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    per_image: Annotated[bool, typer.Option("--per-image", help="Also list each image.")] = False,
    threads: Annotated[Optional[int], typer.Option("--threads", min=1, help=THREADS_HELP, show_default=False)] = None,
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
    r = eval_sr(data, scale, method=method, model=model, device=device, degradation=deg)
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
    threads: Annotated[Optional[int], typer.Option("--threads", min=1, help=THREADS_HELP, show_default=False)] = None,
) -> None:
    """Inpainting: seeded masks, PSNR over the image and over the hole, SSIM, seconds per image."""
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
    for c in ("method", "masks", "PSNR hole", "gain over its pre-fill", "PSNR", "SSIM", "s/image"):
        t.add_column(c, justify="left" if c in ("method", "masks") else "right")
    for m, fams_r in r["results"].items():
        for fam, v in fams_r.items():
            gain = f"{v['gain_over_prefill']:+.2f}" if "gain_over_prefill" in v else ""
            t.add_row(m, fam, f"{v['psnr_hole']:.2f}", gain, f"{v['psnr']:.2f}", f"{v['ssim']:.4f}",
                      f"{v['seconds']:.3f}")
    Console().print(t)


def _progress_printer() -> Callable[[dict], None]:
    def show(rec: dict) -> None:
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


@train_app.command("sr")
@_handle_errors
def train_sr_cmd(
    data: Annotated[list[Path], typer.Option("--data", exists=True, help="Training image folder(s); repeat the option for several.", show_default=False)],
    scales: Annotated[str, typer.Option("--scales", help="Comma-separated scales sharing one body, e.g. 2,3,4.")] = "2,3,4",
    base_ch: Annotated[int, typer.Option("--base-ch")] = 48,
    n_blocks: Annotated[int, typer.Option("--blocks")] = 6,
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
    threads: Annotated[Optional[int], typer.Option("--threads", min=1, help=THREADS_HELP, show_default=False)] = None,
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
                        init=init, degradation_settings=settings)
    try:
        paths = train_sr(cfg, resume=resume, progress=_progress_printer())
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
    threads: Annotated[Optional[int], typer.Option("--threads", min=1, help=THREADS_HELP, show_default=False)] = None,
) -> None:
    """Train the inpainting U-Net on random crops with thin/thick/box holes; exports safetensors."""
    _apply_threads(threads)
    from restore.train import InpaintTrainConfig, train_inpaint

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


def _record_command(path: Path) -> None:
    """Provenance: the exact command line that trained a weights file goes into its metadata."""
    import shlex
    import sys

    from restore.weights import update_metadata

    if Path(sys.argv[0]).name == "restore":  # the console script (not a test runner calling the app)
        update_metadata(path, training={"command": shlex.join(["restore", *sys.argv[1:]])})


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


# --- bench (restore/bench_cli.py; imports no torch/cv2 until it runs) ---
from restore.bench_cli import bench_command  # noqa: E402

app.command("bench", epilog=EXIT_CODES_HELP)(_handle_errors(bench_command))
from restore.analysis.cli import analyze_app  # noqa: E402
app.add_typer(analyze_app, name="analyze")
