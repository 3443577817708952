"""Float ↔ storage-dtype conversion shared by the API and the engine (NumPy only: no torch import).

Conversions run in row chunks so that their temporaries stay a few MB whatever the image size: a ×4
upscale of a 2000² image makes a 183 MB uint8 output, and three full-size float32 temporaries (clip, scale,
round) would add 2.3 GB on top.
"""
from __future__ import annotations

import numpy as np

#: elements per conversion chunk (~4 MB of float32)
CHUNK_ELEMS = 1 << 20
#: BT.601 (JPEG's, JFIF's) luma weights of R, G and B. They sum to 1: adding ``d`` to all three adds ``d`` to the
#: luma and leaves both colour differences as they were
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def to_float(image: np.ndarray) -> np.ndarray:
    """uint8 / uint16 / float → float32 in [0, 1] (floats are clipped), one pass for integer inputs."""
    if image.dtype == np.uint8:
        return np.multiply(image, np.float32(1.0 / 255.0), dtype=np.float32)
    if image.dtype == np.uint16:
        return np.multiply(image, np.float32(1.0 / 65535.0), dtype=np.float32)
    return np.clip(image.astype(np.float32), 0.0, 1.0)


def store(dst: np.ndarray, src: np.ndarray) -> np.ndarray:
    """Write float ``src`` into ``dst`` (same shape) in ``dst``'s dtype: clipped to [0, 1], and for integer
    types scaled and rounded half up. Returns ``dst``.

    Shape:
        any ``(H, ...)``; ``src`` and ``dst`` the same.
    """
    if src.shape != dst.shape:
        raise ValueError(f"store: shape {src.shape} into {dst.shape}")
    if dst.dtype == np.uint8:
        peak = np.float32(255.0)
    elif dst.dtype == np.uint16:
        peak = np.float32(65535.0)
    elif np.issubdtype(dst.dtype, np.floating):
        peak = None
    else:
        raise ValueError(f"store: unsupported dtype {dst.dtype}")
    rows = src.shape[0]
    step = max(1, CHUNK_ELEMS // max(1, src[:1].size))
    for y in range(0, rows, step):
        blk = np.clip(src[y:y + step], 0.0, 1.0)
        if peak is not None:
            blk *= peak
            blk += np.float32(0.5)
        dst[y:y + step] = blk  # unsafe cast = truncation, i.e. round half up after the +0.5
    return dst


def to_uint8(image: np.ndarray) -> np.ndarray:
    """uint16 → uint8 with rounding (``(x + 128) // 257``: 65535 → 255, 32896 → 128); uint8 passes through."""
    if image.dtype == np.uint16:
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return image
