"""A batch as a pipeline: files are decoded ahead on a reader thread and encoded behind on a writer thread, while
the calling thread computes — the shape of Real-ESRGAN's reader/writer threads. OpenCV's codecs and torch's
kernels release the GIL, so decoding and encoding overlap the network instead of adding to it.

Order and error contract are the caller's: results come back in input order, one ``(item, error)`` per item,
with ``error`` an exception of the ``catch`` types (a bad file) or None; any other exception (a bug, Ctrl-C)
propagates. At most ``depth`` items wait on each side, so memory stays a few images.
"""
from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def run_pipeline(items: Iterable[T], read: Callable[[T], Any], process: Callable[[T, Any], Any],
                 write: Callable[[T, Any], Any], *, catch: tuple[type[BaseException], ...],
                 depth: int = 2) -> Iterator[tuple[T, BaseException | None]]:
    """Yield ``(item, error)`` for each item, in order, once its output is written (or it failed).

    ``read(item)`` runs on the reader thread, ``process(item, data)`` on the calling thread, ``write(item,
    result)`` on the writer thread.
    """
    it = iter(items)
    with ThreadPoolExecutor(1, thread_name_prefix="restore-read") as rd, \
            ThreadPoolExecutor(1, thread_name_prefix="restore-write") as wr:
        reads: deque[tuple[T, Future]] = deque()
        # each entry: the item and either its write's future or the error that stopped it earlier
        pending: deque[tuple[T, Future | None, BaseException | None]] = deque()

        def fill() -> None:
            while len(reads) < depth:
                try:
                    item = next(it)
                except StopIteration:
                    return
                reads.append((item, rd.submit(read, item)))

        def pop() -> tuple[T, BaseException | None]:
            """The oldest pending item, waiting for its write if needed."""
            item, fut, err = pending.popleft()
            if fut is not None:
                try:
                    fut.result()
                except catch as exc:
                    err = exc
            return item, err

        fill()
        while reads:
            item, fut = reads.popleft()
            fill()  # keep the reader busy while this one computes
            try:
                result = process(item, fut.result())
                pending.append((item, wr.submit(write, item, result), None))
            except catch as exc:
                pending.append((item, None, exc))
            while pending and (len(pending) > depth or pending[0][1] is None or pending[0][1].done()):
                yield pop()  # in order; waits only when more than ``depth`` writes are queued
        while pending:
            yield pop()


def inpaint_decoded(src: Path, image: Any, holes: Any, source: Any, *, method: str = "auto", model: Any = None,
                      device: str = "auto", dilate_px: int = 0, warn: Callable[[str], None] | None = None,
                      precision: str = "auto") -> Any:
    """Inpaint one decoded file with its resolved mask (the file-level rules of a batch, local or on Ray). A mask taken from the alpha channel makes the output
    opaque (the holes are filled, so keeping them transparent would hide the result). An empty mask copies the
    image through, with a warning."""
    import restore
    from restore.masks import dilate

    if source.kind == "alpha":
        image = image[:, :, :-1] if image.shape[2] == 4 else image[:, :, 0]  # RGB, or gray from gray + alpha
    holes = dilate(holes, dilate_px)
    if not holes.any():
        if warn is not None:
            warn(f"{src}: mask ({source}) is empty; copying the image unchanged")
        return image
    return restore.inpaint(image, holes, method=method, model=model, device=device, precision=precision)


# --- the per-file work of a batch: one home for the local pipeline and the Ray actors --------------------------

def must_be_regular(path: Path) -> None:
    """Refuse, before it is opened, what is not a regular file: opening a FIFO blocks until someone writes to
    it, which would hang the batch (a file can be swapped for one after the folder was scanned).

    Raises:
        ImageReadError: a FIFO, socket, device or folder. OSError: missing, a link loop, unreadable.
    """
    from restore.errors import ImageReadError

    if not stat.S_ISREG(os.stat(path).st_mode):
        raise ImageReadError(f"{path}: not a regular file")


def stated_compression(src: Path) -> tuple[float | None, list[int] | None]:
    """What a file states about its compression, from one read of its header
    (:func:`restore.compression.file_compression`: the IJG quality of a JPEG's tables, 75 for a lossy WebP,
    ``None`` for a losslessly stored image; and a JPEG's luma table); ``(None, None)`` for a file that cannot be
    read or whose tables are malformed (reading its pixels then fails on its own)."""
    from restore.compression import file_compression
    from restore.errors import InputError

    try:
        return file_compression(src)
    except (InputError, OSError):
        return None, None


def stated_quality(src: Path) -> float | None:
    """The quality of :func:`stated_compression`."""
    return stated_compression(src)[0]


def _read_stated(src: Path, max_pixels: int | None) -> tuple[Any, Any, float | None, list[int] | None]:
    """A batch's read of one file: the decoded image, its metadata, then the quality the file states and, for a
    JPEG, its luma quantisation table (:func:`stated_compression`)."""
    from restore.io import DEFAULT_MAX_PIXELS, read_image_with_meta

    must_be_regular(src)
    image, meta = read_image_with_meta(src, max_pixels=max_pixels or DEFAULT_MAX_PIXELS)
    return image, meta, *stated_compression(src)


def _write_result(src: Path, dst: Path, result: Any, redo: bool, quality: int) -> None:
    from restore.io import write_image

    out, meta = result
    write_image(dst, out, meta=meta, overwrite=redo, quality=quality, inputs=(src,))


class _StatedImageJob:
    """The read and write steps of a job whose network is told what each file states (its ``max_pixels``,
    ``quality`` and ``jpeg_quality`` fields: see :class:`UpscaleJob`)."""

    max_pixels: int | None
    quality: int
    jpeg_quality: float | None

    def read(self, src: Path) -> Any:
        return _read_stated(src, self.max_pixels)

    def said(self, stated: float | None) -> float | None:
        """The quality the network is told: the request's, else what the file states."""
        return self.jpeg_quality if self.jpeg_quality is not None else stated

    def told(self, image: Any, orientation: int, stated: float | None, table: list[int] | None) -> float | None:
        """:meth:`said`, a JPEG's read from its pixels and tables: the quality of an earlier, harder compression
        on the same grid where they show one (:func:`restore.api.resolve_jpeg_condition`)."""
        if self.jpeg_quality is not None or table is None:
            return self.said(stated)
        return stated_condition(image, orientation, table)[0]

    def write(self, src: Path, dst: Path, result: Any, redo: bool) -> None:
        _write_result(src, dst, result, redo, self.quality)


@dataclass(frozen=True)
class UpscaleJob(_StatedImageJob):
    """The settings of an upscale batch, and its three per-file steps (picklable: Ray actors receive it).
    ``jpeg_quality``: the quality every image is said to have been compressed at, instead of what its file
    states (``None``: what each file states); ``quality``: the output's encoder quality."""

    scale: int
    method: str = "auto"
    device: str = "auto"
    tile: int | None = None
    precision: str = "auto"
    backend: str = "auto"
    denoise: float | None = None
    quality: int = 95
    max_pixels: int | None = None
    ensemble: bool = False
    jpeg_quality: float | None = None

    def compute(self, src: Path, data: Any, model: Any, warn: Callable[[str], None] | None = None) -> Any:
        """``model``: a loaded network, a name or path, or None (the method's; with ``denoise``, the blend)."""
        import restore

        image, meta, stated, table = data
        return restore.upscale(image, self.scale, method=self.method, model=model, device=self.device,
                               tile=self.tile, precision=self.precision, backend=self.backend,
                               denoise=self.denoise, ensemble=self.ensemble,
                               jpeg_quality=self.told(image, meta.exif_orientation, stated, table)), meta


@dataclass(frozen=True)
class DenoiseJob(_StatedImageJob):
    """The settings of a restoration (×1) batch, and its three per-file steps (picklable: Ray actors receive
    it). ``jpeg_quality`` and ``quality``: as :class:`UpscaleJob`'s."""

    strength: float = 1.0
    device: str = "auto"
    tile: int | None = None
    precision: str = "auto"
    backend: str = "auto"
    quality: int = 95
    max_pixels: int | None = None
    jpeg_quality: float | None = None

    def compute(self, src: Path, data: Any, model: Any, warn: Callable[[str], None] | None = None) -> Any:
        """``model``: a loaded ×1 network, a name or a path (None: the shipped default)."""
        image, meta, stated, table = data
        # a JPEG's tables state its quality themselves, and show an earlier compression (resolve_jpeg_condition)
        said = self.said(None if table is not None else stated)
        return denoise_decoded(image, meta.exif_orientation, table, self.strength, jpeg_quality=said, model=model,
                               device=self.device, tile=self.tile, precision=self.precision,
                               backend=self.backend), meta


def stated_condition(image: Any, orientation: int, table: Any) -> tuple[float | None, bool]:
    """:func:`restore.api.resolve_jpeg_condition` for a JPEG file's decoded pixels (any dtype and layout the API
    takes), read in the orientation the file stores them, where its 8×8 blocks start at the origin."""
    from restore.api import resolve_jpeg_condition
    from restore.io import apply_orientation

    stored = apply_orientation(image, orientation, undo=True)  # the check reads any dtype: no float copy
    return resolve_jpeg_condition(stored[:, :, None] if stored.ndim == 2 else stored[:, :, :3], table)


def denoise_decoded(image: Any, orientation: int, table: Any, strength: float, **kw: Any) -> Any:
    """:func:`restore.denoise` of a file's decoded pixels, told the file's luma quantisation ``table`` when it
    is a JPEG (``None`` otherwise): run in the orientation the file stores them, where its 8×8 blocks start at
    the origin (the quantisation constraint and a block-grid model's bias depend on it), and turned back by
    the file's EXIF ``orientation``. ``kw``: the rest of :func:`restore.denoise`'s arguments."""
    import restore
    from restore.io import apply_orientation

    if table is None or orientation == 1:
        return restore.denoise(image, strength, jpeg_tables=table, **kw)
    out = restore.denoise(apply_orientation(image, orientation, undo=True), strength, jpeg_tables=table, **kw)
    return apply_orientation(out, orientation)


@dataclass(frozen=True)
class InpaintJob:
    """The settings of an inpainting batch, and its three per-file steps (picklable: Ray actors receive it)."""

    mask: Path | None = None
    resize_mask: bool = False
    method: str = "auto"
    device: str = "auto"
    dilate: int = 0
    precision: str = "auto"
    quality: int = 95
    max_pixels: int | None = None

    def read(self, src: Path) -> Any:
        from restore.io import DEFAULT_MAX_PIXELS, read_image_with_meta
        from restore.masks import resolve_mask

        must_be_regular(src)
        if self.mask is not None and not os.path.isdir(self.mask):
            must_be_regular(self.mask)
        image, meta = read_image_with_meta(src, max_pixels=self.max_pixels or DEFAULT_MAX_PIXELS)
        holes, source = resolve_mask(src, image, self.mask, resize=self.resize_mask)
        return image, meta, holes, source

    def compute(self, src: Path, data: Any, model: Any, warn: Callable[[str], None] | None = None) -> Any:
        """``warn``: told when the mask is empty (the image is copied through)."""
        image, meta, holes, source = data
        out = inpaint_decoded(src, image, holes, source, method=self.method, model=model, device=self.device,
                              dilate_px=self.dilate, warn=warn, precision=self.precision)
        return out, meta, source

    def write(self, src: Path, dst: Path, result: Any, redo: bool) -> None:
        from restore.io import write_image

        out, meta, source = result
        protect = [src] + ([source.path] if source.path is not None else [])
        write_image(dst, out, meta=meta, overwrite=redo, quality=self.quality, inputs=protect)

