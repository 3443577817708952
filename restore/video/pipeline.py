"""Whole videos through the image API: ``upscale_video``, ``inpaint_video`` and ``run_video`` (the CLI's entry).

Decoding, computing and encoding overlap: a reader thread demuxes and decodes ahead, the calling thread runs the
network on each frame, a writer thread converts, encodes and muxes behind (FFmpeg's codecs and torch's kernels
release the GIL). Both queues are bounded (``depth`` items), so memory is a few frames — plus, for temporal
inpainting, its window — whatever the clip's length. Audio packets travel through the same queues, in file
order, and are copied into the output unchanged.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from restore.errors import InputError
from restore.video.container import INPAINT_CRF_OFFSET, Frame, VideoInfo, VideoReader, require_av
from restore.video.writer import VideoWriter
from restore.video.temporal import TemporalFiller, TemporalStats

Progress = Callable[[int, "int | None"], None]
_END = object()


@dataclass
class VideoReport:
    """What a video run did.

    Attributes:
        src, dst: the input and the output written.
        frames: frames written (equal to the frames decoded).
        input_size, output_size: ``(width, height)`` as stored; the output's includes any padding.
        codec, pix_fmt, crf: how the video was encoded.
        colour: the output's colour tags (matrix/range), e.g. ``"bt709/limited"``.
        rotation: the display rotation copied (degrees counter-clockwise).
        audio: one line per audio stream, e.g. ``"aac (48000 Hz, stereo): copied"``.
        padded: ``(columns, rows)`` of edge replication added for a 4:2:0 encoder (odd sizes), or ``(0, 0)``.
        cropped: ``(columns, rows)`` dropped instead (``odd="crop"``), or ``(0, 0)``.
        seconds: wall time of the whole run.
        temporal: for temporal inpainting, how the hole pixels were filled; else None.
        notes: anything the caller may want to tell the user (one line each).
    """

    src: Path
    dst: Path
    frames: int
    input_size: tuple[int, int]
    output_size: tuple[int, int]
    codec: str
    pix_fmt: str
    crf: int | None
    colour: str
    rotation: int
    audio: tuple[str, ...]
    padded: tuple[int, int]
    cropped: tuple[int, int]
    seconds: float
    temporal: TemporalStats | None = None
    notes: tuple[str, ...] = ()

    @property
    def fps(self) -> float:
        """Frames per second over the whole run (decode, compute and encode)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _put(q: queue.Queue, item: Any, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue, stop: threading.Event | None = None) -> Any:
    while True:
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            if stop is not None and stop.is_set():
                return _END


def _stream(reader: VideoReader, writer: VideoWriter, push: Callable[[Frame], list[tuple[Frame, np.ndarray]]],
            finish: Callable[[], list[tuple[Frame, np.ndarray]]], *, progress: Progress | None, depth: int) -> int:
    """Reader thread → ``push`` on this thread → writer thread; returns the frames written. Any error (also on
    the threads) or an interruption stops all three and propagates."""
    stop = threading.Event()
    q_in: queue.Queue = queue.Queue(max(1, depth))
    q_out: queue.Queue = queue.Queue(max(1, depth))
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for item in reader.items():
                if not _put(q_in, item, stop):
                    return
            _put(q_in, _END, stop)
        except BaseException as exc:  # handed to the calling thread
            _put(q_in, _Failed(exc), stop)

    def write() -> None:
        try:
            while True:
                item = _get(q_out, stop)
                if item is _END:
                    return
                if isinstance(item, tuple) and item[0] == "packet":
                    writer.copy_packet(item[1], item[2])
                else:
                    frame, image = item
                    writer.write(image, frame.pts)
        except BaseException as exc:
            errors.append(exc)
            stop.set()

    total = reader.info.frames
    done = 0
    rt = threading.Thread(target=read, name="restore-video-read", daemon=True)
    wt = threading.Thread(target=write, name="restore-video-write", daemon=True)
    rt.start()
    wt.start()

    def send(results: list[tuple[Frame, np.ndarray]]) -> None:
        nonlocal done
        for r in results:
            if not _put(q_out, r, stop):
                raise errors[0] if errors else RuntimeError("video writer stopped")
            done += 1
            if progress is not None:
                progress(done, max(total, done) if total else None)

    try:
        while True:
            item = _get(q_in, stop)
            if errors:
                raise errors[0]
            if item is _END:
                break
            if isinstance(item, _Failed):
                raise item.exc
            if isinstance(item, tuple):  # an audio packet: straight through, in file order
                if not _put(q_out, item, stop):
                    raise errors[0]
                continue
            send(push(item))
        send(finish())
        _put(q_out, _END, stop)
        wt.join()
        if errors:
            raise errors[0]
        return done
    finally:
        stop.set()
        for t in (rt, wt):
            t.join(timeout=10)


def _run(src: str | os.PathLike[str], dst: str | os.PathLike[str], make: Callable[[VideoInfo], Any], *,
         out_size: Callable[[VideoInfo], tuple[int, int]], codec: str | None, crf: int | None, odd: str,
         overwrite: bool, progress: Progress | None, depth: int, protect: tuple = (),
         crf_offset: int = 0) -> VideoReport:
    require_av()
    t0 = time.perf_counter()
    src, dst = Path(src), Path(dst)
    with VideoReader(src) as reader:
        info = reader.info
        push, finish, temporal = make(info)
        w, h = out_size(info)
        writer = VideoWriter(dst, w, h, time_base=info.time_base, rate=info.rate, codec=codec, crf=crf,
                             colour=info.colour, bit_depth=info.bit_depth, display_matrix=info.display_matrix,
                             rotation=info.rotation, audio_from=reader.audio_streams, odd=odd,
                             overwrite=overwrite, inputs=(src, *protect), crf_offset=crf_offset)
        try:
            frames = _stream(reader, writer, push, finish, progress=progress, depth=depth)
        except BaseException:
            writer.abort()
            raise
        writer.close()
    notes = []
    if writer.pad != (0, 0):
        notes.append(f"{w}×{h} cannot be stored in {writer.pix_fmt}: padded to {writer.out_size[0]}×"
                     f"{writer.out_size[1]} by repeating the edge (odd='444' keeps the size, odd='crop' crops)")
    if writer.crop != (0, 0):
        notes.append(f"{w}×{h} cropped to {writer.out_size[0]}×{writer.out_size[1]} for {writer.pix_fmt}")
    return VideoReport(
        src=src, dst=dst, frames=frames, input_size=(info.width, info.height), output_size=writer.out_size,
        codec=writer.codec, pix_fmt=writer.pix_fmt, crf=writer.crf, colour=str(writer.colour).split(" ")[0],
        rotation=info.rotation, audio=tuple(f"{a}: copied" for a in info.audio), padded=writer.pad,
        cropped=writer.crop, seconds=time.perf_counter() - t0, temporal=temporal() if temporal else None,
        notes=tuple(notes))


def _per_frame(fn: Callable[[np.ndarray], np.ndarray]) -> tuple[Callable, Callable, None]:
    return (lambda f: [(f, fn(f.image))]), (lambda: []), None


def upscale_video(src: str | os.PathLike[str], dst: str | os.PathLike[str], scale: int = 2, *,
                  method: str = "auto", model: Any = None, device: str = "auto", tile: int | None = None,
                  denoise: float | None = None, precision: str = "auto", backend: str = "auto",
                  codec: str | None = None, crf: int | None = None, odd: str = "pad", overwrite: bool = False,
                  progress: Progress | None = None, depth: int = 4, ensemble: bool = False) -> VideoReport:
    """Upscale every frame of a video by 2, 3 or 4 with :func:`restore.upscale`, keeping its timing, audio,
    rotation and colours.

    Args:
        src: the input video (anything FFmpeg demuxes: MP4, MOV, MKV, WebM, AVI, ...).
        dst: the output; its extension picks the container (``.mp4 .m4v .mov .mkv .webm .avi``).
        scale: 2, 3 or 4.
        method, model, device, tile, denoise, precision, backend, ensemble: as :func:`restore.upscale`; the
            model is loaded once for the whole video.
        codec: an FFmpeg video encoder (None: libx264, or libvpx-vp9 for ``.webm``).
        crf: the encoder's constant rate factor (None: 18 for libx264; lower = larger and closer).
        odd: what to do with an odd width or height for a 4:2:0 encoder: ``"pad"`` (one replicated edge
            column / row), ``"444"`` (exact size, 4:4:4 chroma) or ``"crop"``.
        overwrite: replace an existing ``dst`` (never ``src``).
        progress: ``progress(done, total)`` after each frame is computed, on the calling thread; ``total`` is
            the frame count (estimated from the duration for containers that do not store it) or None.
        depth: frames queued between the reader, the computation and the writer.

    Returns:
        A :class:`VideoReport`.

    Raises:
        InputError: PyAV is not installed (``pip install 'restore[video]'``); a bad scale, method, codec,
            ``crf`` or ``odd``.
        ImageReadError: ``src`` is missing, not a video, corrupt or truncated, has no video stream, or uses a
            codec this FFmpeg cannot decode.
        ImageWriteError: ``dst`` exists (without ``overwrite``) or is ``src``, has an unsupported extension,
            cannot be written, or the encoder / muxer failed. Nothing is left under ``dst`` on any error.
    """
    import restore
    from restore.api import SCALES, denoise_model, resolve_upscale_method

    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or int(scale) not in SCALES:
        raise InputError(f"unsupported scale {scale!r}; choose 2, 3 or 4")
    scale = int(scale)
    if denoise is not None:
        model = denoise_model(scale, denoise, method=method, model=model, device=device)
        method = "auto"
    method, model = resolve_upscale_method(method, model, scale)

    def make(info: VideoInfo) -> Any:
        return _per_frame(lambda im: restore.upscale(im, scale, method=method, model=model, device=device,
                                                     tile=tile, precision=precision, backend=backend,
                                                     ensemble=ensemble))

    return _run(src, dst, make, out_size=lambda i: (i.width * scale, i.height * scale), codec=codec, crf=crf,
                odd=odd, overwrite=overwrite, progress=progress, depth=depth)


def video_mask(mask: Any, info: VideoInfo, *, resize: bool = False) -> np.ndarray:
    """A mask (a path to an image file, or an array; white / nonzero = hole) as a bool array in the stored
    frame orientation. A mask is drawn on the video as a player shows it, so it is rotated by the stream's
    display rotation; for a 90° / 270° rotation a mask of the stored (unrotated) size is taken as it is.

    Raises:
        ImageReadError: an unreadable mask file. InputError: a size that matches neither orientation (without
            ``resize``), or a bad array.
    """
    from restore.io import read_image
    from restore.masks import mask_from_image

    image = read_image(mask) if isinstance(mask, (str, os.PathLike)) else np.asarray(mask)
    name = mask if isinstance(mask, (str, os.PathLike)) else "mask"
    k = (info.rotation // 90) % 4
    shape = np.shape(image)[:2]
    if k % 2 and shape == (info.height, info.width) and info.width != info.height:
        k = 0  # already in the stored orientation
    dw, dh = (info.height, info.width) if k % 2 else (info.width, info.height)
    holes = mask_from_image(image, (dh, dw), resize=resize, name=name)
    return np.ascontiguousarray(np.rot90(holes, -k)) if k else holes


def inpaint_video(src: str | os.PathLike[str], dst: str | os.PathLike[str], mask: Any, *, method: str = "auto",
                  model: Any = None, device: str = "auto", precision: str = "auto", temporal: bool = True,
                  window: int = 12, blend: float = 0.3, dilate: int = 0, resize_mask: bool = False,
                  codec: str | None = None, crf: int | None = None, odd: str = "pad", overwrite: bool = False,
                  progress: Progress | None = None, depth: int = 4) -> VideoReport:
    """Remove a fixed overlay (logo, watermark, timestamp) from every frame of a video, keeping its timing,
    audio, rotation and colours. Pixels outside the mask are passed through unchanged (before encoding).

    Args:
        src: the input video.
        dst: the output; its extension picks the container.
        mask: an image file or an array, the size of the video as displayed (white / nonzero = hole); the
            same hole for every frame. See :func:`video_mask`.
        method, model, device, precision: as :func:`restore.inpaint`, for what the frames themselves cannot
            provide; the model is loaded once.
        temporal: fill the hole from other frames where the camera's motion shows what is behind it, and keep
            the rest stable from frame to frame (:mod:`restore.video.temporal`); False = each frame on its own.
        window: frames before and after a frame that may lend it pixels (``temporal`` only; memory grows
            with it: ``2·window + 1`` frames).
        blend: the weight of a frame's own inpainted pixels against the previous frame's fill (``temporal``
            only; 1 = no smoothing).
        dilate: grow the hole by this many pixels (anti-aliased logo edges).
        resize_mask: resize a mask of another size to the video's (nearest neighbour).
        crf: as :func:`upscale_video`, but the default is 4 lower (14 for libx264): the pixels outside the
            hole go through a second generation of compression, which should cost them as little as it can.
        codec, odd, overwrite, progress, depth: as :func:`upscale_video`.

    Returns:
        A :class:`VideoReport` (``temporal``: how the hole pixels were filled).

    Raises:
        InputError: PyAV missing; a bad mask (size, or covering the whole frame), method, codec, ``crf``.
        ImageReadError: a missing or unreadable video or mask file (see :func:`upscale_video`).
        ImageWriteError: as :func:`upscale_video`. Nothing is left under ``dst`` on any error.
    """
    import restore
    from restore.api import resolve_inpaint_method
    from restore.masks import dilate as grow

    method, model = resolve_inpaint_method(method, model)
    protect = (mask,) if isinstance(mask, (str, os.PathLike)) else ()
    state: dict[str, Any] = {}

    def fill(image: np.ndarray, holes: np.ndarray) -> np.ndarray:
        return restore.inpaint(image, holes, method=method, model=model, device=device, precision=precision)

    def make(info: VideoInfo) -> Any:
        holes = grow(video_mask(mask, info, resize=resize_mask), dilate)
        if holes.all():
            raise InputError("the mask covers the whole frame: there are no known pixels to fill from")
        if not holes.any():
            return _per_frame(lambda im: im)
        if not temporal:
            return _per_frame(lambda im: fill(im, holes))
        filler = state["filler"] = TemporalFiller(holes, fill, window=window, blend=blend)
        return filler.push, filler.finish, lambda: filler.stats

    return _run(src, dst, make, out_size=lambda i: (i.width, i.height), codec=codec, crf=crf, odd=odd,
                overwrite=overwrite, progress=progress, depth=depth, protect=protect, crf_offset=INPAINT_CRF_OFFSET)


def run_video(task: str, src: str | os.PathLike[str], dst: str | os.PathLike[str], *, scale: int = 2,
              mask: Any = None, **options: Any) -> VideoReport:
    """The command line's entry: ``task`` is ``"upscale"`` (with ``scale``) or ``"inpaint"`` (with ``mask``);
    every other keyword goes to :func:`upscale_video` / :func:`inpaint_video` as is.

    Raises:
        InputError: an unknown task, or ``inpaint`` without a mask; and whatever the task raises.
    """
    if task == "upscale":
        return upscale_video(src, dst, scale, **options)
    if task == "inpaint":
        if mask is None:
            raise InputError(f"{src}: a video needs --mask FILE (white = hole), the same for every frame")
        return inpaint_video(src, dst, mask, **options)
    raise InputError(f"unknown video task {task!r}; choose upscale or inpaint")
