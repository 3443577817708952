"""Hole masks: loading, finding (explicit file, mask folder, sidecar, alpha) and dilating.

Convention (OpenCV / IOPaint): a mask is a boolean ``H×W`` array, True = hole to fill.
A mask *file* is converted to gray and its pixels >= 127 are holes; if it has an alpha
channel it is composited onto black first, so transparent pixels are never holes.
An image's own alpha channel marks holes where alpha < 128/255 of full scale.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from restore.errors import InputError
from restore.io import IMAGE_EXTENSIONS, is_image_path, read_image, same_file
from restore.pixels import to_uint8

__all__ = [
    "MASK_THRESHOLD",
    "MaskSource",
    "dilate",
    "find_mask_in_folder",
    "find_sidecar_mask",
    "load_mask",
    "mask_from_alpha",
    "mask_from_image",
    "mask_owner_stem",
    "resolve_mask",
    "to_gray8",
]

#: Gray value (0-255 scale) from which a mask-file pixel is a hole.
MASK_THRESHOLD = 127
#: Alpha below this fraction of full scale is a hole (128 of 255).
ALPHA_HOLE_FRACTION = 128 / 255

# Sidecar suffixes, in order of preference: "<stem>_mask.<ext>" then "<stem>.mask.png".
_SIDECAR_SUFFIXES = ("_mask", ".mask")
# Extensions tried for "<stem>_mask.*": .png first (the usual one), then the rest, lower then upper case.
_EXT_ORDER = (".png", *sorted(IMAGE_EXTENSIONS - {".png"}))


@dataclass(frozen=True)
class MaskSource:
    """Where a mask came from: kind is "file", "folder", "sidecar" or "alpha"; path is None for alpha."""

    kind: str
    path: Path | None = None

    def __str__(self) -> str:
        if self.kind == "alpha":
            return "alpha channel"
        return f"{self.kind} {self.path}"


def to_gray8(image: np.ndarray) -> np.ndarray:
    """Any image array -> ``H×W`` uint8 gray (alpha composited onto black)."""
    a = np.asarray(image)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16:
        a = to_uint8(a)
    elif a.dtype.kind == "f":
        a = (np.clip(np.nan_to_num(a, nan=0.0), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif a.dtype != np.uint8:
        raise InputError(f"mask dtype {a.dtype} not supported (need bool, uint8, uint16 or float)")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        return a
    if a.ndim == 3 and a.shape[2] == 3:
        return cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_RGB2GRAY)
    if a.ndim == 3 and a.shape[2] in (2, 4):  # with alpha: transparent counts as black
        gray = a[:, :, 0] if a.shape[2] == 2 else cv2.cvtColor(np.ascontiguousarray(a[:, :, :3]), cv2.COLOR_RGB2GRAY)
        return ((gray.astype(np.uint16) * a[:, :, -1] + 127) // 255).astype(np.uint8)
    raise InputError(f"mask must be H×W, H×W×2, H×W×3 or H×W×4, got shape {a.shape}")


def load_mask(
    path: str | os.PathLike[str], shape: tuple[int, ...], *, resize: bool = False
) -> np.ndarray:
    """Read a mask file as a bool ``H×W`` array (True = hole) for an image of ``shape``.

    ``shape`` may be the image's full shape; only ``shape[:2]`` is used. A mask of another size
    is an InputError unless ``resize`` (nearest-neighbour, so it stays binary).

    Raises:
        ImageReadError: the mask file is missing or not an image.
        InputError: size mismatch without ``resize``.
    """
    return mask_from_image(read_image(path), shape, resize=resize, name=path)


def mask_from_image(image: np.ndarray, shape: tuple[int, ...], *, resize: bool = False,
                    name: str | os.PathLike[str] = "mask") -> np.ndarray:
    """A decoded mask image as a bool ``H×W`` array (True = hole: gray ≥ 127 after compositing any alpha onto
    black) for an image of ``shape``; ``name`` names the mask in messages. See :func:`load_mask`."""
    h, w = int(shape[0]), int(shape[1])
    gray = to_gray8(image)
    if gray.shape != (h, w):
        if not resize:
            mh, mw = gray.shape
            raise InputError(
                f"{name}: mask is {mw}×{mh} but the image is {w}×{h} (resize it, or use --resize-mask)"
            )
        gray = cv2.resize(gray, (w, h), interpolation=cv2.INTER_NEAREST)
    return gray >= MASK_THRESHOLD


def mask_from_alpha(rgba: np.ndarray) -> np.ndarray:
    """Holes of an image with alpha (RGBA or gray + alpha): alpha < 128/255 of full scale (uint8: < 128).
    Bool ``H×W``."""
    a = np.asarray(rgba)
    if a.ndim != 3 or a.shape[2] not in (2, 4):
        raise InputError(f"need an image with alpha (H×W×4 or H×W×2) for an alpha mask, got shape {a.shape}")
    alpha = a[:, :, -1]
    if a.dtype == np.uint8:
        return alpha < 128
    if a.dtype == np.uint16:
        return alpha < 128 * 257
    if a.dtype.kind == "f":
        return alpha < ALPHA_HOLE_FRACTION
    raise InputError(f"unsupported image dtype {a.dtype} for an alpha mask")


def mask_owner_stem(path: str | os.PathLike[str]) -> str | None:
    """For a sidecar name (``x_mask.png``, ``x.mask.png``) the image stem it belongs to (``x``), else None."""
    p = Path(path)
    if not is_image_path(p):
        return None
    stem = p.stem
    for suffix in _SIDECAR_SUFFIXES:
        if stem.endswith(suffix) and len(stem) > len(suffix):
            return stem[: -len(suffix)]
    return None


def _candidates(folder: Path, stem: str, preferred_ext: str = "") -> list[Path]:
    exts = [preferred_ext.lower()] if preferred_ext.lower() in IMAGE_EXTENSIONS else []
    exts += [e for e in _EXT_ORDER if e not in exts]
    out: list[Path] = []
    for ext in exts:
        out += [folder / f"{stem}{ext}", folder / f"{stem}{ext.upper()}"]
    return out


def find_sidecar_mask(image_path: str | os.PathLike[str]) -> Path | None:
    """The sidecar mask beside an image: ``<stem>_mask.<ext>`` (any image extension; the image's
    own extension, then .png, preferred) or ``<stem>.mask.png``. None when there is none."""
    p = Path(image_path)
    for cand in _candidates(p.parent, f"{p.stem}_mask", p.suffix):
        if cand.is_file():
            return cand
    cand = p.parent / f"{p.stem}.mask.png"
    return cand if cand.is_file() else None


def find_mask_in_folder(folder: str | os.PathLike[str], image_path: str | os.PathLike[str]) -> Path | None:
    """Mask for ``image_path`` inside ``folder``, matched by file stem (IOPaint's batch layout):
    ``<stem>.<ext>``, else ``<stem>_mask.<ext>``, else ``<stem>.mask.png``. The image itself never
    counts (when the mask folder is the image folder)."""
    folder, img = Path(folder), Path(image_path)
    stem = img.stem
    cands = _candidates(folder, stem, img.suffix) + _candidates(folder, f"{stem}_mask", img.suffix)
    cands.append(folder / f"{stem}.mask.png")
    for cand in cands:
        if cand.is_file() and not same_file(cand, img):
            return cand
    return None


def resolve_mask(
    image_path: str | os.PathLike[str],
    image: np.ndarray,
    mask_arg: str | os.PathLike[str] | None = None,
    *,
    resize: bool = False,
) -> tuple[np.ndarray, MaskSource]:
    """Find the hole mask for ``image`` (read from ``image_path``), first match wins:

    1. ``mask_arg``: a mask file, or a folder holding masks matched by stem (an image with
       no match in the folder goes on to 2 and 3);
    2. a sidecar ``<stem>_mask.<ext>`` / ``<stem>.mask.png`` beside the image;
    3. the image's alpha channel, if any pixel is transparent (alpha < 128/255).

    Returns the bool mask (True = hole; may be empty) and where it came from.

    Raises:
        InputError: no mask found (one line listing the three ways), or size mismatch.
        ImageReadError: the mask file is unreadable.
    """
    ip = Path(image_path)
    shape = image.shape[:2]
    folder: Path | None = None
    if mask_arg is not None:
        m = Path(mask_arg)
        if not m.is_dir():
            return load_mask(m, shape, resize=resize), MaskSource("file", m)
        # A mask folder: match by stem; an image without a match there falls back to its
        # sidecar or alpha (so one folder can mix both kinds of input).
        folder = m
        found = find_mask_in_folder(m, ip)
        if found is not None:
            return load_mask(found, shape, resize=resize), MaskSource("folder", found)
    sidecar = find_sidecar_mask(ip)
    if sidecar is not None:
        return load_mask(sidecar, shape, resize=resize), MaskSource("sidecar", sidecar)
    if image.ndim == 3 and image.shape[2] in (2, 4):
        holes = mask_from_alpha(image)
        if holes.any():
            return holes, MaskSource("alpha")
    if folder is not None:
        raise InputError(
            f"{ip}: no mask: nothing named {ip.stem}.* or {ip.stem}_mask.* in {folder}, no sidecar "
            f"{ip.stem}_mask.png beside the image, and no transparent (alpha) pixels"
        )
    raise InputError(
        f"{ip}: no mask given: pass --mask FILE (white = hole), put {ip.stem}_mask.png beside "
        "the image, or make the holes transparent (alpha)"
    )


def dilate(mask: np.ndarray, px: int) -> np.ndarray:
    """Grow the holes by ``px`` pixels: every pixel within Euclidean distance ``px`` of a hole becomes one (a
    disc, not a square); ``px <= 0`` returns a copy. The work does not depend on ``px`` (one exact distance
    transform, where a structuring element would cost ``px²`` per pixel), and any ``px`` from the image's
    diagonal up covers the whole image."""
    m = np.asarray(mask).astype(bool)
    if px <= 0 or not m.any() or m.all():
        return m.copy()
    h, w = m.shape
    px = min(float(px), float(np.hypot(h, w)))
    # distance of each known pixel to the nearest hole (holes are the zeros)
    dist = cv2.distanceTransform((~m).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    # the next distance above px is sqrt(px² + 1) > px + 1 / (2 px): this margin only absorbs float32 rounding
    return dist <= px + 0.5 / (px + 1)
