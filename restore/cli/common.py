"""Common parts of the command line, shared by the command modules: exit codes, the app's command group
(usage errors as one line), the reporter (one line per problem), error handling, JSON output, shared options
(precision, backend, engine, threads), the batch's model and scale checks and the checks of output formats.
Imports no torch. Every name another module imports is public; the rest is private to this module.
"""
from __future__ import annotations

import functools
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeVar

import typer
from typer.core import TyperGroup

from restore.catalogue import BACKENDS, PRECISIONS  # torch- and NumPy-free

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_CODES_HELP = "Exit codes: 0 = all files ok or skipped, 1 = some file failed, 2 = usage error (bad option, no input found, unknown method/model)."

class OneLineUsageErrors(TyperGroup):
    """The app's command group: click's usage errors — a bad option value, an unknown option, a missing argument,
    in any command — become one line, ``error: <message> (see <command> --help)``, exit 2, instead of click's
    usage text and Typer's boxed panel. Both places click raises them are covered: parsing the top-level
    arguments (``make_context``) and parsing / running a subcommand (``invoke``)."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _UsageErrorsAsOneLine():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _UsageErrorsAsOneLine():
            return super().invoke(ctx)


class _UsageErrorsAsOneLine:
    """Context: a click error raised inside leaves as one error line and its exit code (typer.Exit)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
        # by class name: Typer ships its own copy of click (typer._click), older Typers use click itself
        names = {k.__name__ for k in type(exc).__mro__}
        if "ClickException" not in names or "NoArgsIsHelpError" in names:
            return False  # (no arguments at all: the help was printed, and click exits as it should)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        msg = exc.format_message().strip().rstrip(".")  # type: ignore[union-attr]
        raise error_exit(msg[:1].lower() + msg[1:] + hint,
                          EXIT_USAGE if "UsageError" in names else int(getattr(exc, "exit_code", 1))) from None


def method_names(task: str) -> str:
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


def error_exit(msg: str, code: int) -> typer.Exit:
    """Print ``error: <msg>`` and return the exit to raise (``raise error_exit(...)``)."""
    Reporter().error(msg)
    return typer.Exit(code)


def emit_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout (NumPy scalars as floats)."""
    import json

    typer.echo(json.dumps(obj, indent=1, default=float))


F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(fn: F) -> F:
    """Decorator of every command: turn library/OS errors escaping a command into one red line and exit code 1 (never a traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from restore.errors import RestoreError

        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except (RestoreError, OSError, MemoryError) as exc:
            raise error_exit(describe_error(exc), EXIT_FAILED) from None
        except KeyboardInterrupt:
            raise error_exit("interrupted", 130) from None

    return wrapper  # type: ignore[return-value]


def describe_error(exc: BaseException) -> str:
    from restore.errors import RestoreError

    if isinstance(exc, RestoreError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory (try a smaller --tile or a smaller image)"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return f"{where}{exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def file_error(src: Path, exc: BaseException | str) -> str:
    """Error line for one file of a batch, naming the file once (``exc``: the exception, or its text as a Ray
    actor sends it back)."""
    msg = exc if isinstance(exc, str) else describe_error(exc)
    return msg if msg.startswith(str(src)) else f"{src}: {msg}"


def per_file_errors() -> tuple[type[BaseException], ...]:
    """Errors that fail one file of a batch (the batch goes on). With RESTORE_DEBUG=1 unexpected
    exceptions propagate with their traceback instead of being reported as a failed file."""
    from restore.errors import RestoreError

    if os.environ.get("RESTORE_DEBUG"):
        return (RestoreError, OSError, MemoryError)
    return (Exception,)


def quiet_opencv() -> None:
    """OpenCV logs decoder warnings on stderr; our own error line says the same thing, once."""
    import cv2

    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    except AttributeError:  # very old builds
        pass


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


# options shared by several commands, declared once (a command lists the ones it takes in its signature, as
# Typer needs)
#: upper bounds of the numeric options: far above any real use, low enough that no library below is handed a
#: number it cannot hold (torch's thread count is a C int, Ray's actors are processes)
MAX_THREADS, MAX_WORKERS, MAX_BATCH, MAX_GPUS = 4096, 1024, 1 << 20, 1024.0
DEFAULT_RAY_TIMEOUT = 20.0

DeviceOpt = Annotated[str, typer.Option("--device", "-d", help="auto, cpu, cuda or mps (CNN only).")]
ThreadsOpt = Annotated[Optional[int], typer.Option("--threads", min=1, max=MAX_THREADS, help=THREADS_HELP, show_default=False)]
MaxPixelsOpt = Annotated[Optional[int], typer.Option("--max-pixels", min=1, max=1 << 48, help="Refuse images with more pixels than this, read from the file's header before decoding (default: restore.io.DEFAULT_MAX_PIXELS, 250 MP).", show_default=False)]
JpegQualityOpt = Annotated[Optional[int], typer.Option("--jpeg-quality", min=1, max=100, help="Tell the quantisation-aware models every input was JPEG-compressed at this quality (1-100) instead of what each file's quantisation tables say (a losslessly stored file says none): for a JPEG saved again at its own size (as PNG, or at a higher quality), whose blocks are still on the 8x8 grid. After a resize, what the file states is the safer condition.", show_default=False)]
RecursiveOpt = Annotated[bool, typer.Option("--recursive", "-r", help="Descend into subfolders, mirroring the tree under the output folder.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs (default: skip them, so a re-run resumes a batch). Inputs are never overwritten.")]
EngineOpt = Annotated[Engine, typer.Option("--engine", help="local (this process; pipelined reads and writes) or ray (Ray actors, each loading the model once; pip install 'restore[cluster]').")]
RayAddressOpt = Annotated[Optional[str], typer.Option("--ray-address", help="Join this Ray cluster (default: start a local Ray instance).", show_default=False)]
RayTimeoutOpt = Annotated[float, typer.Option("--ray-timeout", min=0.1, max=3600.0, envvar="RESTORE_RAY_TIMEOUT", help="Seconds to reach the --ray-address cluster before giving up with one error line (--engine ray).")]
WorkersOpt = Annotated[int, typer.Option("--workers", min=1, max=MAX_WORKERS, help="Ray actors (--engine ray).")]
GpusPerWorkerOpt = Annotated[float, typer.Option("--gpus-per-worker", min=0.0, max=MAX_GPUS, help="GPUs each Ray actor asks for (--engine ray).")]
BatchSizeOpt = Annotated[int, typer.Option("--batch-size", min=1, max=MAX_BATCH, help="Files per Ray task (--engine ray).")]


@dataclass
class EngineOptions:
    """Where a batch runs: here (pipelined threads) or on Ray actors (restore/cluster.py)."""

    engine: str = "local"
    address: str | None = None
    workers: int = 1
    gpus_per_worker: float = 0.0
    batch_size: int = 4
    timeout: float = DEFAULT_RAY_TIMEOUT  # seconds to reach ``address``


def engine_options(engine: Engine, ray_address: str | None, workers: int, gpus_per_worker: float,
                    batch_size: int, ray_timeout: float = DEFAULT_RAY_TIMEOUT) -> EngineOptions:
    if engine == Engine.ray:
        from restore.cluster import require_ray
        from restore.errors import InputError

        try:
            require_ray()
        except InputError as exc:
            raise error_exit(str(exc), EXIT_USAGE) from None
    elif ray_address is not None:
        raise error_exit("--ray-address needs --engine ray", EXIT_USAGE)
    return EngineOptions(engine.value, ray_address, workers, gpus_per_worker, batch_size, ray_timeout)


def apply_threads(threads: int | None) -> None:
    """``--threads``, else ``$RESTORE_THREADS``, sets torch's intra-op threads; neither leaves torch's default."""
    if threads is None:
        env = os.environ.get("RESTORE_THREADS", "").strip()
        if not env:
            return
        try:
            threads = int(env)
        except ValueError:
            threads = 0
        if not 1 <= threads <= MAX_THREADS:
            raise error_exit(f"RESTORE_THREADS={env!r} must be a whole number from 1 to {MAX_THREADS}", EXIT_USAGE)
    import torch

    torch.set_num_threads(threads)


def check_scale(value: int | None) -> int | None:
    """Typer callback of ``--scale``: 2, 3 or 4 (or not given)."""
    if value is not None and value not in (2, 3, 4):
        raise typer.BadParameter(f"{value} is not one of 2, 3, 4")
    return value


def split_method(task: str, method: str, model: str | None) -> tuple[str, str | None]:
    """Validate --method/--model up front (usage error, exit 2, rather than N failed files).
    A classical name given to --model is taken as the method."""
    from restore import catalogue

    classical_names = catalogue.UPSCALE_METHODS if task == "upscale" else catalogue.INPAINT_METHODS
    if model is not None and model in classical_names:
        return model, None
    valid = catalogue.upscale_methods() if task == "upscale" else catalogue.inpaint_methods()
    if model is None and method not in valid:
        raise error_exit(f"unknown {task} method {method!r}; choose from {', '.join(valid)}", EXIT_USAGE)
    return method, model


def load_batch_model(task: str, method: str, model: str | None, device: str, scale: int | None = None) -> Any:
    """Load the batch's CNN once — the one asked for, or the default that ``auto`` resolves to — so that a
    wrong name, a model of the other task or an unavailable device is one usage error (exit 2), not one
    failure per file. None: a classical method (or ``auto`` with no CNN shipped)."""
    from restore import api
    from restore.errors import InputError, ModelError

    try:
        _, name = (api.resolve_upscale_method(method, model, scale or 4) if task == "upscale"
                   else api.resolve_inpaint_method(method, model))
    except InputError as exc:
        raise error_exit(describe_error(exc), EXIT_USAGE) from None
    if name is None:
        return None
    try:
        loaded = api.load_model(name, device=device)
    except (ModelError, InputError, FileNotFoundError) as exc:
        raise error_exit(describe_error(exc), EXIT_USAGE) from None
    want = "sr" if task == "upscale" else "inpaint"
    if loaded.task != want:
        what = "a super-resolution" if want == "sr" else "an inpainting"
        raise error_exit(f"model {name!r} is not {what} model; see `restore models`", EXIT_USAGE)
    return loaded


def resolve_scale(scale: int | None, method: str, model: str | None) -> int:
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
        raise error_exit(describe_error(exc), EXIT_USAGE) from None
    if own == 1:
        raise error_exit(f"model {name!r} restores at ×1 (restore denoise); pick a ×2, ×3 or ×4 model", EXIT_USAGE)
    if own is not None and scale is not None and scale != own:
        raise error_exit(f"model {name!r} upscales ×{own}, but --scale is {scale}; drop --scale or pick a ×{scale} model",
                          EXIT_USAGE)
    return int(own or scale or 4)


# --------------------------------------------------------------------------- output formats


def check_output_formats(jobs: Sequence[Any], out_file: Path | None, fmt: str) -> None:
    """Before any work: every planned output must have an extension this tool writes (``-o out.gif`` is a usage
    error, not N failures after the computing), and an output file named with ``-o`` must agree with an explicit
    ``--format`` (``-o x.jpg --format webp`` says two things; neither is guessed)."""
    from restore.errors import ImageWriteError
    from restore.io import format_from_path

    try:
        for job in jobs:
            format_from_path(job.dst)
    except ImageWriteError as exc:
        raise error_exit(str(exc), EXIT_USAGE) from None
    if out_file is not None and fmt != "same" and format_from_path(out_file) != format_from_path(f"x.{fmt}"):
        raise error_exit(f"-o {out_file} names a {out_file.suffix} file but --format is {fmt}; drop one of them, "
                          "or make them agree", EXIT_USAGE)


def inpaint_ext(src: Path, ext: str | None) -> str:
    """An inpainted output's extension: ``ext`` (from ``--format``) when given; else the input's, but PNG for a
    lossy input (JPEG, lossy WebP, judged by content), whose re-encoding would change every pixel outside the
    mask too; a GIF's is PNG (GIF is not written)."""
    from restore.io import is_lossy, output_suffix

    if ext is not None:
        return ext
    return ".png" if is_lossy(src) else output_suffix(src.suffix)


def say_lossy_outputs(jobs: Sequence[Any], ext: str | None, rep: Reporter) -> None:
    """One line each: lossy inputs written as PNG by default (``ext`` None: neither ``--format`` nor an output
    file name chose), and outputs that will be lossy (then the pixels outside the mask change as well, which
    inpainting otherwise never does)."""
    from restore.io import is_lossy

    lossy = [j for j in jobs if is_lossy(j.src)]
    moved = [j for j in lossy if ext is None and j.dst.suffix.lower() == ".png" and j.src.suffix.lower() != ".png"]
    if moved:
        n = len(moved)
        rep.info(f"{n} lossy input{'s' if n > 1 else ''} (JPEG / lossy WebP) written as PNG, so that pixels outside "
                 "the mask stay as decoded (--format jpg or webp re-encodes them lossily)")
    # WebP is written lossless from a lossless input (restore.io), lossy from a lossy one; JPEG is always lossy
    reencoded = [j for j in jobs if j.dst.suffix.lower() in (".jpg", ".jpeg")
                 or (j.dst.suffix.lower() == ".webp" and j in lossy)]
    if reencoded:
        rep.warn(f"{reencoded[0].dst}{' and others' if len(reencoded) > 1 else ''}: a lossy format: pixels outside "
                 "the mask change too when re-encoded (PNG keeps them exactly)")


class StatusLine:
    """A long job is never silent: on a terminal one line rewritten in place (done/total, rate, ETA), in a log a
    line every ``every`` seconds. The rate counts from the first update, so a resumed run's ETA is its own.

    ``update(done, total, extra)``: ``done`` units finished (``total`` None when unknown), ``extra`` appended.
    """

    def __init__(self, label: str, unit: str, every: float = 60.0) -> None:
        import sys

        self.label, self.unit, self.tty = label, unit, sys.stderr.isatty()
        self.every = 0.5 if self.tty else every
        self.first: int | None = None
        self.t0 = self.last = 0.0
        self.shown = False

    def update(self, done: int, total: int | None = None, extra: str = "") -> None:
        import time

        now = time.monotonic()
        if self.first is None:
            self.first, self.t0, self.last = done, now, now
            return
        if now - self.last < self.every and (total is None or done < total):
            return
        self.last = now
        rate = (done - self.first) / max(now - self.t0, 1e-9)
        line = f"{self.label}{done}"
        if total:
            eta = (total - done) / rate if rate > 0 else 0.0
            h, rest = divmod(int(eta), 3600)
            line += f"/{total} ({100 * done / total:.1f} %)  {rate:.2f} {self.unit}/s  ETA {h}h{rest // 60:02d}m{rest % 60:02d}s"
        else:
            line += f"  {rate:.2f} {self.unit}/s"
        self.shown = True
        typer.echo(("\r" + line + extra + "\x1b[K") if self.tty else line + extra, err=True, nl=not self.tty)

    def close(self) -> None:
        if self.shown and self.tty:
            typer.echo("\r\x1b[K", err=True, nl=False)

