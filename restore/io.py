"""Image file I/O: the only module that knows about files, codecs and BGR.

Reading
    Bytes are read with Python's ``open`` and decoded with ``cv2.imdecode`` (``cv2.imread``
    fails on non-ASCII paths on some platforms). Pillow only looks at the header, for the
    ICC profile and the EXIF orientation, which OpenCV's ``IMREAD_UNCHANGED`` ignores.
    Arrays come out in RGB order:

    * gray            -> ``H×W``
    * gray + alpha    -> ``H×W×2`` (gray, alpha), 8 or 16 bit as stored (PNG colour type 4, read
      from the header: OpenCV itself decodes it as BGRA), and written back as gray + alpha PNG
    * RGB / palette   -> ``H×W×3``
    * RGBA / palette with transparency -> ``H×W×4``

    dtype is ``uint8`` or ``uint16`` as stored (16-bit PNG/TIFF stay 16-bit); float TIFFs come
    out as ``float32`` unchanged. The EXIF orientation is applied, so the array is upright.
    Size is checked from the header before anything is decoded: an image above ``max_pixels``
    (default :data:`DEFAULT_MAX_PIXELS`) is refused with one line that says how to raise the limit (a
    76 KB 1-bit PNG can claim 25000² pixels and decode to 3.3 GB); data whose header Pillow cannot parse is
    refused while a limit applies (with ``max_pixels=None`` OpenCV tries it, under its own 2^30-pixel limit).

Writing
    ``write_image`` is atomic (temporary file in the same folder, fsync, rename), never
    overwrites an existing file unless asked, and never overwrites one of ``inputs`` at all.
    The format comes from the extension. EXIF is not written (orientation was applied on read,
    so copying it would rotate the image twice). The ICC profile of ``meta`` is written for
    PNG (8 and 16 bit) and for 8-bit JPEG, WebP and TIFF; it is dropped for 16-bit/float TIFF,
    BMP and anything converted from float.

Colour and compression stay honest
    A profile travels only with pixels of its colour space: an RGB profile with colour pixels, a gray one with
    gray pixels; any other is dropped, on reading and on writing. A CMYK image with a CMYK profile is read as
    sRGB converted through that profile (LittleCMS, by Pillow), or, where the profile cannot be used, as the
    decoder's RGB without the profile. ``ImageMeta.lossy`` records whether a file was lossily compressed
    (judged by content); a WebP written with the ``meta`` of a losslessly stored image is lossless WebP.
"""
from __future__ import annotations

import io as _io
import os
import secrets
import struct
import zlib
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from restore.errors import ImageReadError, ImageWriteError, InputError
from restore.pixels import store, to_uint8
from restore.sniff import header_info, icc_colour_space, native_stderr, png_color_type, tiff_size

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageMeta",
    "decode_image",
    "encode_image",
    "format_from_path",
    "is_image_path",
    "read_image",
    "read_image_with_meta",
    "read_rgb_u8",
    "write_image",
]

#: Largest image read by default (pixels; 250 MP is a 20000×12500 scan): checked from the header, before decoding.
DEFAULT_MAX_PIXELS = 250_000_000

#: Extensions (lower case, with the dot) read by this module; all but GIF are also written.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
)
#: read only: an output of this kind is written as PNG (lossless, keeps alpha)
_READ_ONLY = {".gif": ".png"}

_EXT_FORMAT = {
    ".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp",
    ".tif": "tiff", ".tiff": "tiff", ".bmp": "bmp",
}
_CV_EXT = {"png": ".png", "jpeg": ".jpg", "webp": ".webp", "tiff": ".tiff", "bmp": ".bmp"}


@dataclass(frozen=True)
class ImageMeta:
    """What ``read_image_with_meta`` learned about a file besides its pixels.

    Attributes:
        format: "png", "jpeg", "webp", "tiff", "bmp" (or the extension for other formats OpenCV reads).
        bit_depth: bits per sample of the returned array: 8, 16 or 32 (float).
        icc_profile: the embedded ICC profile, or None.
        exif_orientation: the EXIF orientation tag found (1..8); already applied to the pixels.
        frames: frames or pages in the file; only the first is read.
        lossy: the file was lossily compressed (JPEG, lossy WebP; judged by content). A WebP output of an image
            read losslessly is written lossless (see ``write_image``).
    """

    format: str
    bit_depth: int
    icc_profile: bytes | None = None
    exif_orientation: int = 1
    frames: int = 1  # > 1: an animation (GIF, WebP, APNG, multi-page TIFF), of which the first frame was read
    lossy: bool = False


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` has an image extension this module reads and writes (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def output_suffix(suffix: str) -> str:
    """The extension an output keeps for an input of ``suffix`` (``--format same``): the same, except for formats
    read but not written (GIF → .png)."""
    return _READ_ONLY.get(suffix.lower(), suffix)


def format_from_path(path: str | os.PathLike[str]) -> str:
    """Format name ("png", "jpeg", ...) for a path's extension; ImageWriteError when unsupported."""
    suffix = Path(path).suffix.lower()
    try:
        return _EXT_FORMAT[suffix]
    except KeyError:
        exts = ", ".join(sorted(IMAGE_EXTENSIONS - set(_READ_ONLY)))
        raise ImageWriteError(
            f"{path}: unsupported image extension {suffix or '(none)'!r} (use one of {exts})"
        ) from None


def is_lossy(path: str | os.PathLike[str]) -> bool:
    """Whether a file holds a lossily compressed image (JPEG, or WebP with a ``VP8`` rather than a lossless
    ``VP8L`` bitstream), judged from its first bytes, not its name. False when unreadable or anything else."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return is_lossy_data(head)


def is_lossy_data(head: bytes) -> bool:
    """``is_lossy`` for bytes in memory (the first 4 KB are enough)."""
    head = head[:4096]
    if head[:3] == b"\xff\xd8\xff":
        return True
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP" and b"VP8 " in head[12:]


# --------------------------------------------------------------------------- reading


def read_image(path: str | os.PathLike[str], *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file as an upright RGB(A)/gray array (see module docstring).

    Args:
        max_pixels: refuse images with more pixels than this (read from the header, before decoding);
            ``None`` = only OpenCV's own limit.

    Raises:
        ImageReadError: the file is missing, unreadable, not an image, truncated or corrupt, or too large.
    """
    return read_image_with_meta(path, max_pixels=max_pixels)[0]


def read_image_with_meta(path: str | os.PathLike[str], *,
                         max_pixels: int | None = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, ImageMeta]:
    """Like ``read_image``, also returning the file's ``ImageMeta`` (format, bit depth, ICC)."""
    p = Path(path)
    return decode_image(_read_bytes(p), p, max_pixels=max_pixels)


def read_rgb_u8(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as upright 8-bit RGB: the one reader of the training, evaluation and bench images.

    Gray is replicated to three channels, alpha dropped (not composited), 16 bit rounded to 8 (``to_uint8``),
    float clipped to [0, 1] and scaled.

    Returns:
        ``H×W×3`` uint8, C-contiguous.

    Raises:
        ImageReadError: as :func:`read_image`.
    """
    img = read_image(path)
    if img.ndim == 3 and img.shape[2] == 2:  # gray + alpha
        img = img[:, :, 0]
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    img = img[:, :, :3]
    if np.issubdtype(img.dtype, np.floating):
        return store(np.empty(img.shape, np.uint8), img)
    return np.ascontiguousarray(to_uint8(img))


def decode_image(data: bytes, name: str | os.PathLike[str] = "image", *,
                 max_pixels: int | None = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, ImageMeta]:
    """Decode an image held in memory (an upload, say) exactly as ``read_image_with_meta`` decodes a file; the
    format is sniffed from the bytes, never taken from ``name``, which only names the image in messages.

    Raises:
        ImageReadError: empty, not an image, truncated or corrupt, or above ``max_pixels``.
    """
    p = Path(name)
    if not data:
        raise ImageReadError(f"{p}: empty file")
    fmt, icc, orientation, size, frames = header_info(data)
    if size is None:
        size = tiff_size(data)  # Pillow cannot open some TIFFs OpenCV reads (3-channel float32)
        fmt = fmt or ("tiff" if size else None)
    if size is None and max_pixels is not None:
        # every format this module reads has a header Pillow parses; what it cannot size (Radiance HDR, PFM,
        # ...) could decode to any size — a 0.6 MB HDR to 3000² float32 — so it is not handed to OpenCV
        raise ImageReadError(f"{p}: not an image, or corrupt/truncated (unknown format)")
    if size is not None and max_pixels is not None and size[0] * size[1] > max_pixels:
        w, h = size
        raise ImageReadError(f"{p}: {w}×{h} px ({_amount(w * h)}) is above the {_amount(max_pixels)} limit; "
                             "raise it with --max-pixels N if there is memory for it")

    try:
        with native_stderr() as said:
            arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        if "CV_IO_MAX_IMAGE_PIXELS" in str(exc):
            raise ImageReadError(f"{p}: larger than OpenCV's decoding limit of 2^30 pixels "
                                 "(environment variable OPENCV_IO_MAX_IMAGE_PIXELS)") from None
        raise ImageReadError(f"{p}: cannot decode image ({_first_line(exc)})") from None
    if arr is None or arr.size == 0:
        what = f"{fmt.upper()} data" if fmt else "unknown format"
        codec = next((ln.strip() for ln in said if ln.strip()), "")
        raise ImageReadError(f"{p}: not an image, or corrupt/truncated ({what}{'; ' + codec if codec else ''})")

    arr = _to_rgb(arr, p)
    if icc_colour_space(icc) == "CMYK" and arr.ndim == 3:
        arr, icc = _cmyk_through_profile(data, icc, arr)
    if fmt == "gif" and arr.ndim == 3 and arr.shape[2] == 4 and (arr[:, :, 3] == 255).all():
        arr = np.ascontiguousarray(arr[:, :, :3])  # OpenCV decodes every GIF with alpha; opaque ones are RGB
    if arr.ndim == 3 and arr.shape[2] == 4 and png_color_type(data) == 4:
        arr = np.ascontiguousarray(arr[:, :, [0, 3]])  # gray + alpha stays gray + alpha (no false colour)
    arr = apply_orientation(arr, orientation)
    if fmt is None:
        fmt = p.suffix.lower().lstrip(".") or "unknown"
    bit_depth = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16, np.dtype(np.float32): 32}[arr.dtype]
    return arr, ImageMeta(format=fmt, bit_depth=bit_depth, icc_profile=_icc_for(arr, icc),
                          exif_orientation=orientation, frames=frames, lossy=is_lossy_data(data))


def _cmyk_through_profile(data: bytes, icc: bytes | None, decoded: np.ndarray) -> tuple[np.ndarray, bytes | None]:
    """A CMYK image (a print-ready JPEG or TIFF) and its CMYK profile: OpenCV hands back RGB from a naive
    conversion, to which that profile does not apply. The CMYK samples are converted to sRGB through the profile
    (LittleCMS, by Pillow); where that is impossible (a profile it cannot use, a file Pillow cannot read) the
    decoded RGB is kept. Either way no CMYK profile travels with RGB pixels: sRGB is what untagged pixels mean."""
    from PIL import Image, ImageCms

    try:
        with Image.open(_io.BytesIO(data)) as im:
            if im.mode != "CMYK" or im.size != (decoded.shape[1], decoded.shape[0]):
                return decoded, None
            rgb = ImageCms.profileToProfile(im, ImageCms.ImageCmsProfile(_io.BytesIO(icc or b"")),
                                            ImageCms.createProfile("sRGB"), outputMode="RGB")
        out = np.asarray(rgb, dtype=np.uint8)
    except Exception:  # Pillow / LittleCMS raise many types for a profile or file they cannot use
        return decoded, None
    if decoded.dtype != np.uint8:  # (CMYK is 8-bit here; a 16-bit CMYK TIFF keeps OpenCV's conversion)
        return decoded, None
    return np.ascontiguousarray(out), None


def _icc_for(arr: np.ndarray, icc: bytes | None, fmt: str | None = None) -> bytes | None:
    """``icc`` if it describes pixels laid out as ``arr`` will be stored in ``fmt`` (RGB profile for colour, gray
    profile for gray), else None: a profile of another colour space attached to these pixels would make viewers
    convert them wrongly. ``fmt`` None: ``arr`` as read (gray or gray + alpha is gray). Stored as gray: gray in
    PNG, JPEG and TIFF, gray + alpha in PNG only; WebP is always colour."""
    space = icc_colour_space(icc)
    if space is None:
        return None
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    gray = channels == 1 and fmt != "webp" or channels == 2 and fmt in (None, "png")
    return icc if space == ("GRAY" if gray else "RGB") else None


def _read_bytes(p: Path) -> bytes:
    try:
        with open(p, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ImageReadError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ImageReadError(f"{p}: is a folder, not an image file") from None
    except PermissionError:
        raise ImageReadError(f"{p}: permission denied") from None
    except OSError as exc:
        raise ImageReadError(f"{p}: cannot read ({exc.strerror or exc})") from None
    return data


def _amount(pixels: int) -> str:
    return f"{pixels / 1e6:g} MP" if pixels >= 1_000_000 else f"{pixels} pixels"


def _to_rgb(arr: np.ndarray, p: Path) -> np.ndarray:
    """OpenCV's BGR(A) -> RGB(A); 2-channel gray+alpha -> RGBA; dtype to uint8/uint16/float32."""
    if arr.dtype == np.float64 or arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    elif arr.dtype not in (np.uint8, np.uint16, np.float32):
        raise ImageReadError(f"{p}: unsupported sample type {arr.dtype} (need 8/16-bit or float32)")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        return np.ascontiguousarray(arr)
    channels = arr.shape[2]
    if channels == 2:
        return np.ascontiguousarray(arr)  # gray + alpha (a 2-channel TIFF)
    if channels == 3:
        return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    if channels == 4:
        return cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA)
    raise ImageReadError(f"{p}: unsupported number of channels ({channels})")


def apply_orientation(arr: np.ndarray, orientation: int, undo: bool = False) -> np.ndarray:
    """Apply an EXIF orientation (same result as ``PIL.ImageOps.exif_transpose``); ``undo``: the pixels as the file
    stores them again (where a JPEG's 8×8 blocks start at the origin)."""
    if undo:
        orientation = {6: 8, 8: 6}.get(orientation, orientation)  # the others undo themselves
    if orientation == 1:
        return arr
    ops = {
        2: lambda a: a[:, ::-1],                    # mirror left-right
        3: lambda a: a[::-1, ::-1],                 # rotate 180
        4: lambda a: a[::-1],                       # mirror top-bottom
        5: lambda a: a.swapaxes(0, 1),              # transpose
        6: lambda a: np.rot90(a, -1),               # rotate 90 clockwise
        7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],  # transverse
        8: lambda a: np.rot90(a, 1),                # rotate 90 counter-clockwise
    }
    return np.ascontiguousarray(ops[orientation](arr))


# --------------------------------------------------------------------------- writing


def write_image(
    path: str | os.PathLike[str],
    array: np.ndarray,
    *,
    meta: ImageMeta | None = None,
    overwrite: bool = False,
    quality: int = 95,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Write an RGB(A)/gray array to ``path`` atomically; return the path written.

    The format comes from the extension (see ``IMAGE_EXTENSIONS``). dtypes are converted
    to what the format stores: PNG keeps 8/16 bit (float -> 16 bit); TIFF keeps 8/16 bit and
    float32; JPEG, WebP and BMP are 8 bit (16 bit and float are scaled down). JPEG has no
    alpha channel, so alpha is dropped. ``quality`` (1-100) applies to JPEG, and to WebP unless ``meta`` says
    the source was stored losslessly: then the WebP is lossless, so a lossless input is never written lossily
    in a lossless-capable format. An ICC profile of ``meta`` is written only where it matches the pixels'
    colour space (RGB / gray). Parent folders are created.

    Raises:
        ImageWriteError: the file exists and ``overwrite`` is False; ``path`` is one of
            ``inputs`` (even with ``overwrite``); the extension is unsupported; the folder
            cannot be created or written; encoding failed.
        InputError: ``array`` is not an image (shape or dtype).
    """
    p = Path(path)
    fmt = format_from_path(p)
    check_destination(p, inputs, overwrite)

    data = _encode(array, fmt, meta, quality, p)

    parent = p.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageWriteError(f"{p}: cannot create folder {parent} ({exc.strerror or exc})") from None
    try:
        _atomic_write(p, data, overwrite)
    except ImageWriteError:
        raise
    except OSError as exc:
        raise ImageWriteError(f"{p}: cannot write ({exc.strerror or exc})") from None
    return p


def check_destination(p: Path, inputs: Sequence[str | os.PathLike[str]] = (), overwrite: bool = False) -> None:
    """The rules of every output file (images, videos): never one of ``inputs``, never over an existing file
    unless ``overwrite``, never a folder.

    Raises:
        ImageWriteError: one of those, in one line.
    """
    for src in inputs:
        if same_file(p, Path(src)):
            raise ImageWriteError(f"{p}: refusing to overwrite an input file")
    if not overwrite and os.path.lexists(p):
        raise ImageWriteError(f"{p}: already exists (use overwrite to replace it)")
    if p.is_dir():
        raise ImageWriteError(f"{p}: is a folder")


def encode_image(array: np.ndarray, fmt: str = "png", *, meta: ImageMeta | None = None, quality: int = 95,
                 name: str | os.PathLike[str] = "image") -> bytes:
    """The bytes ``write_image`` would write for ``fmt`` ("png", "jpeg", "webp", "tiff", "bmp"), in memory.

    Raises:
        ImageWriteError: unknown format or encoding failed. InputError: ``array`` is not an image.
    """
    if fmt not in _CV_EXT:
        raise ImageWriteError(f"{name}: unsupported format {fmt!r} (use one of {', '.join(sorted(_CV_EXT))})")
    return _encode(array, fmt, meta, quality, Path(name))


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file (hard links, symlinks and case-insensitive FS included)."""
    with suppress(OSError):
        if os.path.samefile(a, b):
            return True
    try:
        ra, rb = a.resolve(), b.resolve()
    except OSError:
        ra, rb = Path(os.path.abspath(a)), Path(os.path.abspath(b))
    return os.path.normcase(ra) == os.path.normcase(rb)


def _atomic_write(p: Path, data: bytes, overwrite: bool) -> None:
    """Temp file beside ``p`` (same filesystem, so the rename is atomic), fsync, then rename.

    Without ``overwrite`` the final step is ``os.link`` (fails if ``p`` appeared meanwhile)
    instead of ``os.replace``. The temp file is removed on any failure.
    """
    # Leading dot and ".tmp": hidden, and never taken for an image by a batch run.
    tmp = p.parent / f".{p.name}.{secrets.token_hex(4)}.tmp"
    # os.open with 0o666 lets the umask decide the mode, like a plain open() would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, p)
        else:
            _link_no_clobber(tmp, p)
        _fsync_dir(p.parent)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def _link_no_clobber(tmp: Path, p: Path) -> None:
    try:
        os.link(tmp, p)
    except FileExistsError:
        raise ImageWriteError(f"{p}: already exists (use overwrite to replace it)") from None
    except OSError:
        # Filesystem without hard links (FAT, some network shares): check, then rename.
        if os.path.lexists(p):
            raise ImageWriteError(f"{p}: already exists (use overwrite to replace it)") from None
        os.replace(tmp, p)
        return
    os.unlink(tmp)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (POSIX only; best effort)."""
    if os.name != "posix":
        return
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _encode(array: np.ndarray, fmt: str, meta: ImageMeta | None, quality: int, p: Path) -> bytes:
    arr = _check_array(array)
    from_float = arr.dtype.kind == "f"
    arr = _convert_dtype(arr, fmt)
    quality = int(min(max(quality, 1), 100))
    icc = _icc_for(arr, meta.icc_profile if meta is not None and not from_float else None, fmt)
    # a lossless source stays lossless: WebP has a lossless mode (JPEG has none; PNG / TIFF / BMP always are)
    lossless = fmt == "webp" and meta is not None and not meta.lossy
    if arr.ndim == 3 and arr.shape[2] == 2:
        if fmt == "png":
            return _encode_png_gray_alpha(arr, icc)
        # the other formats have no gray + alpha layout in OpenCV: gray for JPEG, RGBA otherwise
        arr = np.dstack([arr[:, :, 0]] * 3 + [arr[:, :, 1]])
    if fmt == "jpeg" and arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]

    if icc and fmt in ("jpeg", "webp", "tiff") and arr.dtype == np.uint8:
        return _encode_pillow(arr, fmt, icc, quality, p, lossless)

    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR if arr.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
    params: list[int] = []
    if fmt == "jpeg":
        params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    elif fmt == "webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, 101 if lossless else quality]  # above 100: lossless
    try:
        ok, buf = cv2.imencode(_CV_EXT[fmt], arr, params)
    except cv2.error as exc:
        raise ImageWriteError(f"{p}: cannot encode {fmt.upper()} ({_first_line(exc)})") from None
    if not ok:
        raise ImageWriteError(f"{p}: cannot encode {fmt.upper()}")
    data = buf.tobytes()
    if icc and fmt == "png":
        data = _png_with_icc(data, icc)
    return data


def _check_array(array: np.ndarray) -> np.ndarray:
    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (2, 3, 4))):
        raise InputError(f"cannot write an array of shape {arr.shape}: need H×W, H×W×2, H×W×3 or H×W×4")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(f"cannot write an empty image (shape {arr.shape})")
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    if arr.dtype not in (np.uint8, np.uint16) and arr.dtype.kind != "f":
        raise InputError(f"cannot write dtype {arr.dtype}: need uint8, uint16 or float in [0, 1]")
    return arr


def _convert_dtype(arr: np.ndarray, fmt: str) -> np.ndarray:
    """Bring ``arr`` to a dtype ``fmt`` stores, losing as little as possible."""
    eight_bit_only = fmt in ("jpeg", "webp", "bmp")
    if arr.dtype.kind == "f":
        if fmt == "tiff":
            return np.nan_to_num(arr.astype(np.float32, copy=False), nan=0.0)
        x = np.clip(np.nan_to_num(arr, nan=0.0), 0.0, 1.0)
        if eight_bit_only:
            return (x * 255.0 + 0.5).astype(np.uint8)
        return (x * 65535.0 + 0.5).astype(np.uint16)  # PNG: keep float precision in 16 bit
    if arr.dtype == np.uint16 and eight_bit_only:
        return to_uint8(arr)
    return arr


def _encode_pillow(arr: np.ndarray, fmt: str, icc: bytes, quality: int, p: Path, lossless: bool = False) -> bytes:
    """8-bit encode with Pillow, which (unlike OpenCV) can embed an ICC profile."""
    from PIL import Image

    buf = _io.BytesIO()
    try:
        im = Image.fromarray(arr)
        kwargs: dict[str, object] = {"icc_profile": icc}
        if fmt in ("jpeg", "webp"):
            kwargs["quality"] = quality
        if fmt == "webp" and lossless:
            kwargs["lossless"] = True
        if fmt == "tiff":
            kwargs["compression"] = "tiff_lzw"
        im.save(buf, format={"jpeg": "JPEG", "webp": "WEBP", "tiff": "TIFF"}[fmt], **kwargs)
    except Exception as exc:  # Pillow raises OSError/ValueError/KeyError depending on codec
        raise ImageWriteError(f"{p}: cannot encode {fmt.upper()} ({_first_line(exc)})") from None
    return buf.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _encode_png_gray_alpha(arr: np.ndarray, icc: bytes | None) -> bytes:
    """A gray + alpha PNG (colour type 4, 8 or 16 bit), which OpenCV cannot write: each row filtered with PNG's
    "Up" filter (the byte-wise difference to the row above), then deflated."""
    depth = 16 if arr.dtype == np.uint16 else 8
    h, w = arr.shape[:2]
    raw = np.ascontiguousarray(arr.astype(">u2") if depth == 16 else arr).view(np.uint8).reshape(h, -1)
    up = raw.copy()
    up[1:] -= raw[:-1]  # uint8 arithmetic wraps modulo 256, as the filter defines
    rows = np.hstack([np.full((h, 1), 2, np.uint8), up])
    ihdr = struct.pack(">IIBBBBB", w, h, depth, 4, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
    if icc:
        out += _png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(icc))
    return out + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + _png_chunk(b"IEND", b"")


def _png_with_icc(png: bytes, icc: bytes) -> bytes:
    """Insert an iCCP chunk after IHDR (OpenCV cannot embed ICC; this works for 16 bit too)."""
    body = b"icc\x00\x00" + zlib.compress(icc)  # name, NUL, compression method 0 (zlib)
    chunk = struct.pack(">I", len(body)) + b"iCCP" + body
    chunk += struct.pack(">I", zlib.crc32(b"iCCP" + body) & 0xFFFFFFFF)
    ihdr_end = 8 + 4 + 4 + 13 + 4  # signature + IHDR length/type/data/crc
    return png[:ihdr_end] + chunk + png[ihdr_end:]


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__
