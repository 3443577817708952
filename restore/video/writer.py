"""Writing video files: :class:`VideoWriter` encodes RGB frames with their timestamps, tags the colours, keeps
the display matrix and copies audio packets, through a temporary file renamed when the container is finished
(:mod:`restore.video.container` describes the colour, odd-size and writing rules)."""
from __future__ import annotations

import os
import secrets
from contextlib import suppress
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from restore.errors import ImageWriteError, InputError

from restore.video.container import (
    BT709,
    Colour,
    DEFAULT_CRF,
    ODD_MODES,
    RANGE_LIMITED,
    SWS_MATRIX,
    default_codec,
    first_line,
    output_colour,
    output_format,
    require_av,
)


class VideoWriter:
    """Encode RGB frames into a new video file, written atomically.

    Frames are given with their source timestamps (``pts`` in ``time_base``), which are kept as they are:
    variable frame rates stay variable. Audio streams of a :class:`VideoReader` can be copied packet by packet
    (:meth:`copy_packet`). The file appears under ``path`` only when :meth:`close` succeeds; :meth:`abort`
    (or leaving the ``with`` block with an exception) removes the temporary file.

    Args:
        path: the output file; the container comes from its extension (:data:`VIDEO_EXTENSIONS`).
        width, height: the frame size of the arrays that will be written.
        time_base: the time base of the timestamps given to :meth:`write` (the source's).
        rate: the nominal frame rate (rate control and the container's header), or None.
        codec: an FFmpeg encoder name; None = libx264 (libvpx-vp9 for ``.webm``).
        crf: constant rate factor for x264 / x265 / VP9 / AV1 (None = :data:`DEFAULT_CRF`); lower is better.
        colour: the source's :class:`Colour` (tags are chosen by :func:`output_colour`), or None (BT.709).
        bit_depth: 8, or 16 for arrays of uint16 (encoded 10-bit where the encoder supports it).
        display_matrix: the source's display matrix (rotation), copied as is; or ``rotation`` in degrees.
        audio_from: audio streams to copy (a :class:`VideoReader`'s ``audio_streams``).
        odd: ``"pad"``, ``"444"`` or ``"crop"`` for odd sizes with 4:2:0 encoders (module docstring).
        overwrite: replace an existing file (never one of ``inputs``).
        inputs: files that must not be overwritten (the source).
        crf_offset: added to the default ``crf`` (not to a given one); inpainting uses
            :data:`INPAINT_CRF_OFFSET`.

    Raises:
        InputError: PyAV missing; unknown encoder, or one that is not a video encoder; bad ``crf`` or ``odd``.
        ImageWriteError: unsupported extension, output exists without ``overwrite`` or is an input, folder not
            writable, or the encoder / muxer refused the settings.
    """

    def __init__(self, path: str | os.PathLike[str], width: int, height: int, *, time_base: Fraction,
                 rate: Fraction | None = None, codec: str | None = None, crf: int | None = None,
                 colour: Colour | None = None, bit_depth: int = 8, display_matrix: tuple[int, ...] | None = None,
                 rotation: int = 0, audio_from: list[Any] = (), odd: str = "pad", overwrite: bool = False,
                 inputs: tuple[str | os.PathLike[str], ...] = (), crf_offset: int = 0) -> None:
        av = require_av()
        from restore.io import check_destination

        p = self.path = Path(path)
        fmt = output_format(p)
        check_destination(p, inputs, overwrite)
        if odd not in ODD_MODES:
            raise InputError(f"odd must be one of {', '.join(ODD_MODES)}, got {odd!r}")
        codec = codec or default_codec(p)
        try:
            enc = av.codec.Codec(codec, "w")
        except (av.FFmpegError, ValueError):
            raise InputError(f"unknown video encoder {codec!r} (this FFmpeg build has "
                             f"{', '.join(available_encoders())})") from None
        if enc.type != "video":
            raise InputError(f"{codec!r} is not a video encoder")
        if crf is not None and (isinstance(crf, bool) or not isinstance(crf, (int, np.integer)) or not 0 <= crf <= 63):
            raise InputError(f"crf must be an integer from 0 to 63, got {crf!r}")
        self.codec = codec
        self.crf = crf if crf is not None else (DEFAULT_CRF[codec] + crf_offset if codec in DEFAULT_CRF else None)
        formats = [f.name for f in (enc.video_formats or ())]
        deep = bit_depth > 8
        self.colour = output_colour(colour) if colour is not None else Colour(BT709, False, BT709, BT709)
        odd_size = width % 2 or height % 2
        choice = ["yuv420p10le", "yuv420p"] if deep else ["yuv420p"]
        if odd_size and odd == "444":
            choice = (["yuv444p10le"] if deep else []) + ["yuv444p"] + choice
        self.pix_fmt = next((f for f in choice if f in formats), formats[0] if formats else "yuv420p")
        self.rgb = not self.pix_fmt.startswith(("yuv", "nv", "gray"))
        sub = self.pix_fmt.startswith(("yuv420", "nv12", "nv21", "yuva420")) or self.pix_fmt.startswith("yuv422")
        self.size = (width, height)
        self.pad = (0, 0)
        self.crop = (0, 0)
        if odd_size and sub:
            if odd == "crop":
                self.crop = (width % 2, height % 2)
            else:
                self.pad = (width % 2, height % 2)
        self.out_size = (width + self.pad[0] - self.crop[0], height + self.pad[1] - self.crop[1])
        self._deep = deep
        if min(self.out_size) < 2:
            raise InputError(f"a {width}×{height} frame is too small to encode")

        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ImageWriteError(f"{p}: cannot create folder {p.parent} ({exc.strerror or exc})") from None
        self._overwrite = overwrite
        self._started = False
        self._audio: list[Any] = []
        self._tmp = p.parent / f".{p.name}.{secrets.token_hex(4)}.tmp"
        options = {"movflags": "+faststart"} if fmt in ("mp4", "mov") else {}
        try:
            self._c = av.open(str(self._tmp), "w", format=fmt, options=options)
        except (av.FFmpegError, OSError) as exc:
            raise ImageWriteError(f"{p}: cannot write ({first_line(exc)})") from None
        try:
            self._setup(av, time_base, rate, display_matrix, rotation, audio_from)
        except BaseException:
            self.abort()
            raise
        self.frames = 0

    def _setup(self, av: Any, time_base: Fraction, rate: Fraction | None, display_matrix: Any, rotation: int,
               audio_from: list[Any]) -> None:
        p = self.path
        try:
            s = self._c.add_stream(self.codec, rate=rate) if rate else self._c.add_stream(self.codec)
        except (av.FFmpegError, ValueError) as exc:
            raise ImageWriteError(f"{p}: cannot store {self.codec} in this container ({first_line(exc)})") from None
        s.width, s.height = self.out_size
        s.pix_fmt = self.pix_fmt
        s.time_base = time_base
        cc = s.codec_context
        cc.time_base = time_base
        col = self.colour
        if not self.rgb:
            cc.colorspace, cc.color_range = col.matrix, RANGE_LIMITED
        cc.color_primaries, cc.color_trc = col.primaries, col.trc
        opts: dict[str, str] = {}
        if self.crf is not None and self.codec in DEFAULT_CRF:
            opts["crf"] = str(int(self.crf))
            if self.codec == "libvpx-vp9":
                opts.update({"b:v": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"})
        if self.codec in ("libx264", "libx265"):
            opts["preset"] = "faster"
        s.options = opts
        if display_matrix is not None:
            s.set_display_matrix(list(display_matrix))
        elif rotation:
            s.set_display_rotation(rotation)
        self._video = s
        for a in audio_from:
            if a.codec_context.name not in self._c.supported_codecs:
                raise ImageWriteError(f"{p}: {a.codec_context.name} audio cannot be stored in "
                                      f"{p.suffix or 'this container'} without re-encoding; use .mkv")
            self._audio.append(self._c.add_stream_from_template(a))

    def write(self, image: np.ndarray, pts: int) -> None:
        """Encode one ``H×W×3`` RGB frame (uint8, or uint16 when ``bit_depth`` was 16) with timestamp ``pts``
        (in ``time_base`` units; strictly increasing)."""
        av = require_av()
        from av.video.reformatter import ColorRange

        a = np.asarray(image)
        if a.shape != (self.size[1], self.size[0], 3):
            raise InputError(f"frame is {a.shape}, the writer expects {self.size[1]}×{self.size[0]}×3")
        if self.pad != (0, 0):
            a = np.pad(a, ((0, self.pad[1]), (0, self.pad[0]), (0, 0)), mode="edge")
        if self.crop != (0, 0):
            a = a[:a.shape[0] - self.crop[1], :a.shape[1] - self.crop[0]]
        if self._deep:
            a = a.astype(np.uint16) if a.dtype != np.uint16 else a
            fr = av.VideoFrame.from_ndarray(np.ascontiguousarray(a), format="rgb48le")
        else:
            a = a if a.dtype == np.uint8 else (a.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
            fr = av.VideoFrame.from_ndarray(np.ascontiguousarray(a), format="rgb24")
        col = self.colour
        if self.rgb:
            fr = fr.reformat(format=self.pix_fmt)
        else:
            from av.video.reformatter import Interpolation

            fr = fr.reformat(format=self.pix_fmt, dst_colorspace=SWS_MATRIX[col.matrix],
                             src_color_range=ColorRange.JPEG, dst_color_range=ColorRange.MPEG,
                             interpolation=Interpolation.BICUBIC | Interpolation.ACCURATE_RND)
        fr.pts = int(pts)
        fr.time_base = self._video.codec_context.time_base
        try:
            for packet in self._video.encode(fr):
                self._mux(packet)
        except av.FFmpegError as exc:
            raise self._error("encoding failed", exc) from None
        self.frames += 1

    def _mux(self, packet: Any) -> None:
        self._c.mux(packet)  # the first one writes the header: where a container refuses a stream's codec
        self._started = True

    def _codecs(self) -> str:
        return ", ".join([self.codec] + [a.codec_context.name for a in self._audio])

    def _error(self, what: str, exc: BaseException) -> ImageWriteError:
        msg = first_line(exc).replace(f"'{self._tmp}' ", "").replace(str(self._tmp), self.path.name)
        codecs = self._codecs()
        hint = "; .mkv holds any codec" if (self._audio or not self._started) and self.path.suffix.lower() != ".mkv" \
            else ""
        if not self._started:
            return ImageWriteError(f"{self.path}: cannot start a {self.path.suffix} file with {codecs} ({msg}){hint}")
        return ImageWriteError(f"{self.path}: {what} ({msg}){hint}")

    def copy_packet(self, index: int, packet: Any) -> None:
        """Mux a packet of the ``index``-th copied audio stream unchanged (its timestamps rescaled only)."""
        av = require_av()
        packet.stream = self._audio[index]
        try:
            self._mux(packet)
        except av.FFmpegError as exc:
            raise self._error("cannot copy the audio", exc) from None

    def close(self) -> Path:
        """Flush the encoder, finish the container and move it to its final name; returns the path."""
        av = require_av()
        try:
            for packet in self._video.encode(None):
                self._mux(packet)
        except av.FFmpegError as exc:
            self.abort()
            raise self._error("encoding failed", exc) from None
        except BaseException:
            self.abort()
            raise
        try:
            self._c.close()
        except av.FFmpegError as exc:
            self.abort()
            raise self._error(f"cannot finish the {self.path.suffix} file with {self._codecs()}", exc) from None
        except BaseException:
            self.abort()
            raise
        try:
            with open(self._tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            if self._overwrite:
                os.replace(self._tmp, self.path)
            else:
                try:
                    os.link(self._tmp, self.path)
                except FileExistsError:
                    raise ImageWriteError(f"{self.path}: already exists (use overwrite to replace it)") from None
                except OSError:
                    if os.path.lexists(self.path):
                        raise ImageWriteError(f"{self.path}: already exists (use overwrite to replace it)") from None
                    os.replace(self._tmp, self.path)
                with suppress(FileNotFoundError):
                    os.unlink(self._tmp)
        except BaseException:
            with suppress(OSError):
                os.unlink(self._tmp)
            raise
        return self.path

    def abort(self) -> None:
        """Give up: close what is open and remove the temporary file (the final name is never touched)."""
        with suppress(Exception):
            self._c.close()
        with suppress(OSError):
            os.unlink(self._tmp)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: Any, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def available_encoders() -> list[str]:
    """The video encoders of the installed FFmpeg that this module knows settings for, in order of preference."""
    av = require_av()
    known = ["libx264", "libx265", "libvpx-vp9", "libsvtav1", "libaom-av1", "mpeg4", "ffv1"]
    return [c for c in known if c in av.codecs_available]
