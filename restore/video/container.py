"""Video files: PyAV (FFmpeg) decoding to RGB arrays and encoding from them, with what a restoration must not
change carried across — every frame's timestamp, the audio (packets copied, not re-encoded), the display
matrix (rotation), and the colours (decoded with the stream's matrix and range, encoded tagged).

Only this module imports ``av``, and only when a video is opened: without PyAV installed, opening one raises
:class:`~restore.errors.InputError` naming the extra (``pip install 'restore[video]'``).

Colour
    Frames are converted to RGB with the matrix (BT.601 / BT.709 / BT.2020 / SMPTE 240M / FCC) and range
    (limited or full) the stream or frame is tagged with. An untagged stream is read as players read it:
    BT.709 from 720 lines up, BT.601 below, limited range (full range for the ``yuvj*`` pixel formats).
    The output is encoded with the source's matrix, primaries and transfer when tagged, else BT.709, in limited
    range, and all four tags are written, so a player shows the colours that were decoded.

Odd sizes
    4:2:0 video stores chroma per 2×2 block, so H.264 (and most 4:2:0 encoders) cannot store an odd width or
    height, and H.264's crop rectangle only crops in steps of 2. ``odd="pad"`` (the default) adds one
    replicated column and/or row on the right / bottom edge (playable everywhere; the report says what was
    added); ``odd="444"`` keeps the exact size by encoding 4:4:4 (H.264 High 4:4:4, which browsers and many
    hardware players do not play); ``odd="crop"`` drops the last column / row.

Writing
    The output goes to a hidden temporary file in the destination folder (``.<name>.<hex>.tmp``) that is
    renamed to the final name only after the container is finished; on any error or interruption the
    temporary file is removed, so nothing is ever left under the final name.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from restore.errors import ImageReadError, ImageWriteError, InputError

#: Extensions (lower case, with the dot) treated as video files; each is also written.
VIDEO_EXTENSIONS: frozenset[str] = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi"})
_MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}
#: The encoder used when none is asked for, by muxer (WebM only holds VP8 / VP9 / AV1).
_DEFAULT_CODEC = {"webm": "libvpx-vp9"}
#: The quality used when ``crf`` is not given (visually lossless for H.264 / H.265; good for VP9 / AV1).
DEFAULT_CRF = {"libx264": 18, "libx265": 20, "libvpx-vp9": 24, "libsvtav1": 24, "libaom-av1": 24}
#: Inpainting leaves every pixel outside the hole as decoded, so its default is this much finer: re-encoding
#: the untouched pixels should cost as little as it can (a second generation of compression).
INPAINT_CRF_OFFSET = -4
ODD_MODES = ("pad", "444", "crop")
EXTRA_HINT = "pip install 'restore[video]'"

# AVColorSpace codes → the swscale matrix names PyAV takes (the codes coincide with SWS_CS_*)
SWS_MATRIX = {1: "itu709", 4: "fcc", 5: "itu601", 6: "smpte170m", 7: "smpte240m", 9: "bt2020", 10: "bt2020"}
_MATRIX_NAME = {1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 9: "bt2020nc", 10: "bt2020c"}
_UNSPECIFIED = 2
BT709, _BT601 = 1, 6
RANGE_LIMITED, _RANGE_FULL = 1, 2


def require_av() -> Any:
    """The ``av`` module, or InputError naming the extra that installs it."""
    try:
        import av
    except ImportError:
        raise InputError(f"reading and writing video needs PyAV: {EXTRA_HINT}") from None
    return av


def is_video_path(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` has a video extension (``.mp4 .m4v .mov .mkv .webm .avi``, case-insensitive)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def sniff_video(head: bytes) -> str | None:
    """The container a file's first bytes announce — ``"mp4"``, ``"mov"``, ``"matroska"``, ``"webm"`` or
    ``"avi"`` — or None. Needs no PyAV; 64 bytes are enough."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if len(head) >= 12 and head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "mov"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm" if b"webm" in head[:64] else "matroska"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    return None


def looks_like_video(path: str | os.PathLike[str]) -> bool:
    """Whether a file is a video, by its content (:func:`sniff_video`); False when unreadable."""
    try:
        with open(path, "rb") as fh:
            return sniff_video(fh.read(64)) is not None
    except OSError:
        return False


def output_format(path: str | os.PathLike[str]) -> str:
    """The FFmpeg muxer for an output path's extension; ImageWriteError for other extensions."""
    suffix = Path(path).suffix.lower()
    try:
        return _MUXERS[suffix]
    except KeyError:
        raise ImageWriteError(f"{path}: unsupported video extension {suffix or '(none)'!r} "
                              f"(use one of {', '.join(sorted(VIDEO_EXTENSIONS))})") from None


def default_codec(path: str | os.PathLike[str]) -> str:
    """The encoder used for an output path when none is given: libx264, or libvpx-vp9 for ``.webm``."""
    return _DEFAULT_CODEC.get(output_format(path), "libx264")


# --------------------------------------------------------------------------------------------- colour

@dataclass(frozen=True)
class Colour:
    """A stream's colour description as FFmpeg codes (``AVColorSpace`` etc.; 2 = unspecified).

    Attributes:
        matrix: the YUV matrix used (never unspecified: an untagged stream gets the players' guess).
        full_range: True for full (JPEG) range, False for limited (MPEG/TV) range.
        primaries: colour primaries code, 2 when unspecified.
        trc: transfer characteristics code, 2 when unspecified.
        tagged: whether the source stream said which matrix it uses.
    """

    matrix: int
    full_range: bool
    primaries: int = _UNSPECIFIED
    trc: int = _UNSPECIFIED
    tagged: bool = True

    def __str__(self) -> str:
        name = _MATRIX_NAME.get(self.matrix, str(self.matrix))
        return f"{name}/{'full' if self.full_range else 'limited'}{'' if self.tagged else ' (untagged source)'}"


def source_colour(frame: Any, stream: Any) -> Colour:
    """How to read a decoded frame's YUV: its own tags, else the stream's, else the players' default."""
    cc = stream.codec_context
    spc = frame.colorspace if frame.colorspace in SWS_MATRIX else cc.colorspace
    tagged = spc in SWS_MATRIX
    if not tagged:
        spc = BT709 if frame.height >= 720 else _BT601
    rng = frame.color_range or cc.color_range
    full = rng == _RANGE_FULL or frame.format.name.startswith("yuvj")
    return Colour(spc, full, int(frame.color_primaries or cc.color_primaries or _UNSPECIFIED),
                  int(frame.color_trc or cc.color_trc or _UNSPECIFIED), tagged)


def output_colour(src: Colour) -> Colour:
    """The tags an output is encoded with: the source's where it said them, else BT.709; limited range."""
    if src.tagged:
        primaries = src.primaries if src.primaries != _UNSPECIFIED else (BT709 if src.matrix == BT709 else 6)
        trc = src.trc if src.trc != _UNSPECIFIED else (BT709 if src.matrix == BT709 else 6)
        return Colour(src.matrix, False, primaries, trc)
    return Colour(BT709, False, BT709, BT709)


def _is_rgb_format(name: str) -> bool:
    return name.startswith(("rgb", "bgr", "gbr", "argb", "abgr", "0rgb", "0bgr"))


# --------------------------------------------------------------------------------------------- reading

@dataclass
class Frame:
    """One decoded frame.

    Attributes:
        image: ``H×W×3`` RGB, uint8 (uint16 for sources of more than 8 bits), as stored (not rotated).
        pts: the presentation timestamp in ``time_base`` units, as in the source.
        time_base: the source stream's time base.
        index: 0-based decoding order number.
    """

    image: np.ndarray
    pts: int
    time_base: Fraction
    index: int

    @property
    def time(self) -> float:
        """The presentation time in seconds."""
        return float(self.pts * self.time_base)


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, learned from its header and first frame.

    Attributes:
        width, height: the stored frame size (before the display rotation).
        frames: the number of frames, or an estimate from the duration (``frames_exact`` False), or None.
        time_base: the video stream's time base; frame timestamps are in these units.
        rate: the average frame rate, or None.
        duration: seconds, or None.
        codec: the video decoder's name.
        pix_fmt: the stream's pixel format.
        bit_depth: bits per sample of the decoded RGB arrays (8 or 16).
        rotation: the display rotation, degrees counter-clockwise (0, 90, 180, -90).
        display_matrix: the raw 3×3 display matrix (FFmpeg's 9 ints), or None.
        colour: how the frames were read (:class:`Colour`).
        audio: one ``"codec (rate Hz, layout)"`` per audio stream.
    """

    path: Path
    width: int
    height: int
    frames: int | None
    frames_exact: bool
    time_base: Fraction
    rate: Fraction | None
    duration: float | None
    codec: str
    pix_fmt: str
    bit_depth: int
    rotation: int
    display_matrix: tuple[int, ...] | None
    colour: Colour
    audio: tuple[str, ...]

    @property
    def display_size(self) -> tuple[int, int]:
        """``(width, height)`` as a player shows the video (after the rotation)."""
        return (self.height, self.width) if self.rotation % 180 else (self.width, self.height)


def _read_error(path: Path, exc: BaseException) -> ImageReadError:
    msg = " ".join(str(getattr(exc, "strerror", None) or exc).split())
    return ImageReadError(f"{path}: not a video, or corrupt/truncated ({msg})")


class VideoReader:
    """An open video file: its :class:`VideoInfo` and its frames, decoded in order.

    Iterating yields :class:`Frame` objects; with ``packets=True`` the audio streams' packets are interleaved
    in file order as ``("packet", index, packet)`` tuples (``index``: the audio stream's position among the
    audio streams), for copying them into an output. Use as a context manager, or call :meth:`close`.

    Raises:
        InputError: PyAV is not installed.
        ImageReadError: the file is missing, not a video, corrupt or truncated, has no video stream, or its
            codec cannot be decoded by this build of FFmpeg.
    """

    def __init__(self, path: str | os.PathLike[str], *, threads: int = 0) -> None:
        av = require_av()
        self.path = p = Path(path)
        if not p.exists():
            raise ImageReadError(f"{p}: no such file")
        if p.is_dir():
            raise ImageReadError(f"{p}: is a folder, not a video file")
        try:
            self._c = av.open(str(p), "r", metadata_errors="ignore")
        except (av.FFmpegError, UnicodeDecodeError, OSError) as exc:
            raise _read_error(p, exc) from None
        try:
            self._open(av, threads)
        except BaseException:
            self.close()
            raise

    def _open(self, av: Any, threads: int) -> None:
        p, c = self.path, self._c
        if not c.streams:
            raise ImageReadError(f"{p}: not a video, or corrupt/truncated (no streams found)")
        if not c.streams.video:
            raise ImageReadError(f"{p}: has no video stream")
        self.stream = v = c.streams.video[0]
        if v.codec_context is None or not v.codec_context.is_decoder:
            raise ImageReadError(f"{p}: the video codec cannot be decoded by this build of FFmpeg")
        v.thread_type = "AUTO"
        if threads:
            v.codec_context.thread_count = threads
        self.audio_streams = list(c.streams.audio)
        self._demux = c.demux(v, *self.audio_streams)
        self._pending: list[Any] = []
        self._decoded = 0
        self._last_pts: int | None = None
        self._gen = self._items()
        first = None
        for item in self._gen:
            self._pending.append(item)
            if isinstance(item, Frame):
                first = item
                break
        if first is None:
            raise ImageReadError(f"{p}: the video stream has no decodable frame")
        fr = self._first_raw
        matrix = None
        sd = fr.side_data.get("DISPLAYMATRIX") if hasattr(fr.side_data, "get") else None
        if sd is not None:
            with suppress(Exception):
                matrix = tuple(int(x) for x in np.frombuffer(bytes(sd), "<i4")[:9])
        rotation = int(round((fr.rotation or 0) / 90.0)) * 90 if sd is not None else 0
        frames, exact = (int(v.frames), True) if v.frames else (None, False)
        rate = v.average_rate or v.guessed_rate
        duration = float(v.duration * v.time_base) if v.duration else (c.duration / 1e6 if c.duration else None)
        if frames is None and duration and rate:
            frames = max(1, int(round(duration * float(rate))))
        self.info = VideoInfo(
            path=p, width=fr.width, height=fr.height, frames=frames, frames_exact=exact,
            time_base=v.time_base or Fraction(1, 90000), rate=Fraction(rate) if rate else None, duration=duration,
            codec=v.codec_context.name, pix_fmt=fr.format.name, bit_depth=8 * self._bytes, rotation=rotation,
            display_matrix=matrix, colour=self.colour,
            audio=tuple(f"{a.codec_context.name} ({a.rate} Hz, {a.layout.name})" for a in self.audio_streams))

    def _to_rgb(self, fr: Any) -> np.ndarray:
        from av.video.reformatter import ColorRange, Interpolation

        if _is_rgb_format(fr.format.name) or fr.format.name.startswith("gray"):
            return fr.to_ndarray(format="rgb48le" if self._bytes == 2 else "rgb24")
        return fr.to_ndarray(format="rgb48le" if self._bytes == 2 else "rgb24",
                             src_colorspace=SWS_MATRIX[self.colour.matrix],
                             src_color_range=ColorRange.JPEG if self.colour.full_range else ColorRange.MPEG,
                             dst_color_range=ColorRange.JPEG,
                             interpolation=Interpolation.BICUBIC | Interpolation.ACCURATE_RND
                             | Interpolation.FULL_CHR_H_INT)

    def _items(self) -> Iterator[Any]:
        av = require_av()
        p = self.path
        try:
            for packet in self._demux:
                if packet.stream.type != "video":
                    if packet.dts is not None and packet.size:
                        yield ("packet", self.audio_streams.index(packet.stream), packet)
                    continue
                for fr in packet.decode():
                    yield self._frame(fr)
        except av.FFmpegError as exc:
            raise _read_error(p, exc) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise _read_error(p, exc) from None

    def _frame(self, fr: Any) -> Frame:
        if self._decoded == 0:
            self._first_raw = fr
            depth = max((c.bits for c in fr.format.components), default=8)
            self._bytes = 2 if depth > 8 else 1
            self.colour = source_colour(fr, self.stream)
        pts = fr.pts
        if pts is None or (self._last_pts is not None and pts <= self._last_pts):
            # no timestamp, or not increasing (a damaged file): one nominal frame after the previous
            step = 1
            rate = self.stream.average_rate or self.stream.guessed_rate
            if rate and self.stream.time_base:
                step = max(1, int(round(1 / (float(rate) * float(self.stream.time_base)))))
            pts = 0 if self._last_pts is None else self._last_pts + step
        self._last_pts = pts
        out = Frame(self._to_rgb(fr), int(pts), self.stream.time_base, self._decoded)
        self._decoded += 1
        return out

    def items(self) -> Iterator[Any]:
        """Frames and audio packets, in file order (see the class docstring)."""
        while self._pending:
            yield self._pending.pop(0)
        yield from self._gen

    def __iter__(self) -> Iterator[Frame]:
        return (x for x in self.items() if isinstance(x, Frame))

    def close(self) -> None:
        with suppress(Exception):
            self._c.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """The :class:`VideoInfo` of a video file (decodes only its first frame).

    Raises:
        InputError: PyAV is not installed. ImageReadError: not a readable video (see :class:`VideoReader`).
    """
    with VideoReader(path) as r:
        return r.info


def read_frames(path: str | os.PathLike[str]) -> Iterator[Frame]:
    """Decode a video's frames in order as :class:`Frame` objects (RGB array, pts, time_base).

    Raises:
        InputError: PyAV is not installed. ImageReadError: not a readable video, or corrupt part-way.
    """
    with VideoReader(path) as r:
        yield from r


# --------------------------------------------------------------------------------------------- writing

def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return " ".join(text[-1].split()) if text else type(exc).__name__
