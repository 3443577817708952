"""NumPy front end: the pyramid functions on H×W or H×W×C arrays.

Arrays go through torch (CPU) without copies where possible
(``torch.from_numpy(hwc).permute(2, 0, 1)`` is already channels-last).

Dtypes: float32 and float64 are kept. uint8 is converted to float32 *keeping
its value range* (0..255, not rescaled to [0, 1]) and the results stay float32:
Laplacian bands are signed and fractional, so converting back to uint8 would
lose information — clip and round yourself if you need bytes. Other dtypes
raise TypeError.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .blend import blend as _blend_fn
from . import core as _core
from .core import PADDING_MODES, KernelLike, max_levels

__all__ = [
    "PADDING_MODES",
    "max_levels",
    "pyr_down",
    "pyr_up",
    "pyr_up_residual",
    "gaussian_pyramid",
    "laplacian_pyramid",
    "reconstruct",
    "blend",
]


def _to_tensor(a: object, name: str = "image") -> tuple[torch.Tensor, bool]:
    """H×W or H×W×C array → (1, C, H, W) tensor, and whether it had a channel axis."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.ndim not in (2, 3):
        raise ValueError(f"{name} must be H×W or H×W×C, got shape {a.shape}")
    if a.dtype.kind == "u" and a.dtype.itemsize == 1:
        a = a.astype(np.float32)  # value range kept: 0..255
    elif a.dtype.kind != "f" or a.dtype.itemsize not in (4, 8):  # any byte order
        raise TypeError(f"{name} must be float32, float64 or uint8, got {a.dtype}")
    if a.size == 0:
        raise ValueError(f"{name} is empty: shape {a.shape}")
    # from_numpy needs native byte order, and a writeable array to avoid a warning.
    a = np.require(a, dtype=a.dtype.newbyteorder("="), requirements=("C", "W"))
    t = torch.from_numpy(a)
    if a.ndim == 2:
        return t[None, None], False
    return t.permute(2, 0, 1)[None], True


def _to_array(t: torch.Tensor, channels: bool) -> np.ndarray:
    t = t.detach()
    if channels:
        return np.ascontiguousarray(t[0].permute(1, 2, 0).numpy())
    return np.ascontiguousarray(t[0, 0].numpy())


def pyr_down(image: np.ndarray, *, kernel: KernelLike = None, padding: str = "reflect") -> np.ndarray:
    """:func:`pyramids.pyr_down` on an array. Shape: (H, W[, C]) → ((H+1)//2, (W+1)//2[, C])."""
    t, ch = _to_tensor(image)
    return _to_array(_core.pyr_down(t, kernel=kernel, padding=padding), ch)


def pyr_up(
    image: np.ndarray,
    size: tuple[int, int] | None = None,
    *,
    kernel: KernelLike = None,
    padding: str = "reflect",
) -> np.ndarray:
    """:func:`pyramids.pyr_up` on an array; ``size`` is ``(h, w)`` (note: cv2's dstsize is (w, h)).

    Shape: (H, W[, C]) → (h, w[, C]), default (2H, 2W[, C]).
    """
    t, ch = _to_tensor(image)
    return _to_array(_core.pyr_up(t, size, kernel=kernel, padding=padding), ch)


def pyr_up_residual(
    coarse: np.ndarray, band: np.ndarray, *, padding: str = "reflect", kernel: KernelLike = None
) -> np.ndarray:
    """:func:`pyramids.pyr_up_residual` on arrays. Shape: (H, W[, C]), (h, w[, C]) → (h, w[, C])."""
    tc, ch = _to_tensor(coarse, "coarse")
    tb, chb = _to_tensor(band, "band")
    if ch != chb:
        raise ValueError(f"coarse {coarse.shape} and band {band.shape} must both have or lack a channel axis")
    return _to_array(_core.pyr_up_residual(tc, tb.to(tc.dtype), padding=padding, kernel=kernel), ch)


def gaussian_pyramid(
    image: np.ndarray, levels: int, *, kernel: KernelLike = None, padding: str = "reflect"
) -> list[np.ndarray]:
    """:func:`pyramids.gaussian_pyramid` on an array; ``levels`` counts the returned arrays."""
    t, ch = _to_tensor(image)
    return [_to_array(g, ch) for g in _core.gaussian_pyramid(t, levels, kernel=kernel, padding=padding)]


def laplacian_pyramid(
    image: np.ndarray, levels: int, *, kernel: KernelLike = None, padding: str = "reflect"
) -> list[np.ndarray]:
    """:func:`pyramids.laplacian_pyramid` on an array; the last array is the low-pass residual."""
    t, ch = _to_tensor(image)
    return [_to_array(g, ch) for g in _core.laplacian_pyramid(t, levels, kernel=kernel, padding=padding)]


def reconstruct(
    pyramid: Sequence[np.ndarray], *, kernel: KernelLike = None, padding: str = "reflect"
) -> np.ndarray:
    """:func:`pyramids.reconstruct` on a list of arrays (all H×W or all H×W×C)."""
    if isinstance(pyramid, np.ndarray) or not isinstance(pyramid, (list, tuple)):
        raise TypeError(f"pyramid must be a list or tuple of arrays, got {type(pyramid).__name__}")
    if len(pyramid) == 0:
        raise ValueError("pyramid is empty")
    converted = [_to_tensor(p, f"pyramid[{i}]") for i, p in enumerate(pyramid)]
    if len({ch for _, ch in converted}) != 1:
        raise ValueError("pyramid levels must all be H×W or all be H×W×C")
    dtype = converted[0][0].dtype
    ts = [t.to(dtype) for t, _ in converted]
    return _to_array(_core.reconstruct(ts, kernel=kernel, padding=padding), converted[0][1])


def blend(
    a: np.ndarray,
    b: np.ndarray,
    mask: np.ndarray,
    levels: int,
    *,
    padding: str = "reflect",
    kernel: KernelLike = None,
) -> np.ndarray:
    """:func:`pyramids.blend` on arrays: a, b (H, W[, C]); mask (H, W) or like a, in [0, 1]."""
    ta, ch = _to_tensor(a, "a")
    tb, chb = _to_tensor(b, "b")
    if ch != chb:
        raise ValueError(f"a {a.shape} and b {b.shape} must have the same shape")
    if isinstance(mask, np.ndarray) and mask.dtype == np.bool_:
        mask = mask.astype(np.float32)
    tm, _ = _to_tensor(mask, "mask")
    out = _blend_fn(ta, tb.to(ta.dtype), tm.to(ta.dtype), levels, padding=padding, kernel=kernel)
    return _to_array(out, ch)
