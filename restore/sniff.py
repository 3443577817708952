"""What an image file's first bytes say, before anything is decoded: format, size, ICC profile, EXIF
orientation, frames (Pillow reads headers lazily; classic TIFF directories are read here for what Pillow cannot
open) — and the C codecs' own messages on file descriptor 2, held while decoding. Used by :mod:`restore.io`.
"""
from __future__ import annotations

import io as _io
import os
import struct
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

_EXIF_ORIENTATION = 0x0112
# Pillow's format names -> ours ("MPO" is a camera JPEG with extra frames).
_PIL_FORMAT = {"PNG": "png", "JPEG": "jpeg", "MPO": "jpeg", "WEBP": "webp", "TIFF": "tiff", "BMP": "bmp", "GIF": "gif"}


_stderr_lock = threading.RLock()
_capture = {"on": True}


def capture_codec_messages(on: bool) -> None:
    """Whether decoding holds file descriptor 2 to quote the codecs' own lines in its errors (the default, for
    the CLI). A long-running server turns it off: fd 2 is process-wide, and its own log lines written meanwhile
    would be swallowed, or quoted into a client's error."""
    _capture["on"] = bool(on)


@contextmanager
def native_stderr() -> Iterator[list[str]]:
    """Hold what C code writes to file descriptor 2 while decoding (libpng, libjpeg and libtiff inside OpenCV
    print their own ``libpng error: …`` lines, which would break the one-line error contract); the lines are
    handed back for our message. Serialised: fd 2 is process-wide. See :func:`capture_codec_messages`."""
    said: list[str] = []
    if not _capture["on"]:
        yield said
        return
    with _stderr_lock:
        try:
            saved = os.dup(2)
        except OSError:  # no stderr to redirect
            yield said
            return
        with tempfile.TemporaryFile() as tmp:
            try:
                os.dup2(tmp.fileno(), 2)
                yield said
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                tmp.seek(0)
                said.extend(tmp.read(4096).decode("utf-8", "replace").splitlines())


def tiff_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a classic TIFF's first directory (tags 256 / 257), or None."""
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or len(data) < 8 or struct.unpack(order + "H", data[2:4])[0] != 42:
        return None
    try:
        off = struct.unpack(order + "I", data[4:8])[0]
        n = struct.unpack(order + "H", data[off:off + 2])[0]
        dims: dict[int, int] = {}
        for i in range(n):
            tag, typ, _count = struct.unpack(order + "HHI", data[off + 2 + 12 * i:off + 10 + 12 * i])
            if tag in (256, 257):
                raw = data[off + 10 + 12 * i:off + 14 + 12 * i]
                dims[tag] = struct.unpack(order + ("H" if typ == 3 else "I"), raw[:2] if typ == 3 else raw)[0]
        return (dims[256], dims[257]) if len(dims) == 2 else None
    except (struct.error, KeyError):
        return None


def icc_colour_space(icc: bytes | None) -> str | None:
    """The data colour space an ICC profile describes, from its header (bytes 16–19): "RGB", "GRAY", "CMYK",
    "Lab", ...; None for no profile or one too short to say."""
    if not icc or len(icc) < 20:
        return None
    return icc[16:20].decode("latin-1").strip() or None


def png_color_type(data: bytes) -> int | None:
    """The colour type in a PNG's IHDR (0 gray, 2 RGB, 3 palette, 4 gray + alpha, 6 RGBA), or None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) > 25:
        return data[25]
    return None


#: channels of an image Pillow opens in each mode, as this package decodes it (palette: up to RGBA)
_MODE_CHANNELS = {"1": 1, "L": 1, "P": 4, "LA": 2, "La": 2, "PA": 4, "RGB": 3, "RGBA": 4, "RGBa": 4, "RGBX": 4,
                  "CMYK": 4, "YCbCr": 3, "LAB": 3, "HSV": 3, "I": 1, "F": 1}


def decoded_layout(data: bytes) -> tuple[int, int, int, int] | None:
    """(width, height, channels, bytes per sample) of what decoding ``data`` would produce, from the header
    alone — an upper bound where the header leaves a choice (a palette may expand to RGBA; a TIFF Pillow cannot
    open counts as four float32 channels). None when the header says nothing. Never raises."""
    from PIL import Image

    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 26:
        w, h = struct.unpack(">II", data[16:24])
        channels = {0: 1, 2: 3, 3: 4, 4: 2, 6: 4}.get(data[25], 4)
        return w, h, channels, 2 if data[24] == 16 else 1
    bomb_limit = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = None  # (as header_info: only the header is read)
        with native_stderr():
            with Image.open(_io.BytesIO(data)) as im:
                w, h = (int(v) for v in im.size)
                mode = im.mode
                channels = _MODE_CHANNELS.get(mode, 4)
                sample = 4 if mode in ("I", "F") else 2 if mode.startswith("I;16") else 1
                tags = getattr(im, "tag_v2", None)
                if tags is not None:  # TIFF: the samples as stored (Pillow's mode may be a reduced one)
                    with suppress(Exception):
                        bits = tags.get(258, (8,))
                        bits = bits if isinstance(bits, tuple) else (bits,)
                        channels = max(channels, int(tags.get(277, channels)))
                        sample = max(sample, (max(int(b) for b in bits) + 7) // 8)
                return w, h, channels, sample
    except Exception:
        size = tiff_size(data)
        return (size[0], size[1], 4, 4) if size else None
    finally:
        Image.MAX_IMAGE_PIXELS = bomb_limit


def header_info(data: bytes) -> tuple[str | None, bytes | None, int, tuple[int, int] | None, int]:
    """(format, ICC profile, EXIF orientation, (width, height), frames) from the header, best effort: never
    raises.

    Only the header is parsed (Pillow opens lazily); pixels are decoded by OpenCV.
    """
    from PIL import Image  # Pillow import is ~30 ms; keep it off `restore --help`

    bomb_limit = Image.MAX_IMAGE_PIXELS
    try:
        # Pillow refuses "decompression bombs" at open; the size limit is ours (read_image's max_pixels),
        # and the header is all we read here
        Image.MAX_IMAGE_PIXELS = None
        # no warnings.catch_warnings here: it swaps process-wide state and this runs on a batch's reader thread
        # (the CLI silences Pillow's warnings once, at start); libtiff under Pillow prints to fd 2, held here
        with native_stderr():
            with Image.open(_io.BytesIO(data)) as im:
                fmt = _PIL_FORMAT.get(im.format or "", (im.format or "").lower() or None)
                icc = im.info.get("icc_profile") or None
                orientation = 1
                with suppress(Exception):  # malformed EXIF is common; ignore it
                    orientation = int(im.getexif().get(_EXIF_ORIENTATION, 1))
                if orientation not in range(1, 9):
                    orientation = 1
                frames = int(getattr(im, "n_frames", 1) or 1)
                return fmt, icc, orientation, (int(im.size[0]), int(im.size[1])), frames
    except Exception:  # not something Pillow knows: OpenCV decides
        return None, None, 1, None, 1
    finally:
        Image.MAX_IMAGE_PIXELS = bomb_limit


