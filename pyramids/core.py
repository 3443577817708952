"""Gaussian and Laplacian image pyramids on (B, C, H, W) tensors.

Everything here is batched, runs on any device and is differentiable. With the
default kernel and ``padding="reflect"`` the results match ``cv2.pyrDown`` /
``cv2.pyrUp`` (including ``dstsize`` for odd sizes).

Implementation notes (why it looks the way it does):

* Both passes are a single depthwise conv (``groups=C``) with the outer product
  of the 1-D kernel: ``conv2d(stride=2)`` for the down pass (no discarded outputs
  are computed) and ``conv_transpose2d(stride=2)`` for the up pass, which *is*
  zero-insertion followed by the blur without materialising the zeros.
* On CPU, inputs are made ``channels_last``: oneDNN's depthwise kernels are ~30x
  faster in that layout than in NCHW. Images coming from NumPy as
  ``torch.from_numpy(hwc).permute(2, 0, 1)`` already are channels-last.
* pyr_down on large images does not pad the whole image (a full copy costing
  about 3x the strided conv) but runs the conv with implicit zero padding and
  recomputes the few border rows/columns exactly from small padded strips.
  Small images use the straightforward "pad, then conv" path (the reference).
  Both live in ``pyramids/_borders.py``, the kernels in ``_kernels.py``. pyr_up always pads
  the coarse input, which is only a quarter of the output.
* Polyphase pyr_up (4 small convs + interleave) was measured slower on CPU than
  the strided transposed conv, because the interleave is an extra full copy.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

# the fast border handling and the kernels live beside this file, so that what follows reads as the algorithm
from pyramids._borders import down_fixed_borders, down_region, prepare, up_region
from pyramids._kernels import KernelLike, _kernel_1d, _weight, _weight_for

__all__ = [
    "PADDING_MODES",
    "max_levels",
    "pyr_down",
    "pyr_up",
    "pyr_up_residual",
    "gaussian_pyramid",
    "laplacian_pyramid",
    "reconstruct",
    "PyrDown",
    "PyrUp",
    "LaplacianStep",
    "GaussianPyramid",
    "LaplacianPyramid",
    "Reconstruct",
]

#: Accepted ``padding`` names. ``"reflect"`` is OpenCV's BORDER_REFLECT_101
#: (``dcb|abcd|cba``, PyTorch's "reflect"); ``"replicate"`` repeats the edge
#: pixel; ``"zeros"`` pads with 0; ``"circular"`` wraps around.
PADDING_MODES: tuple[str, ...] = ("reflect", "replicate", "zeros", "circular")

# pyr_down switches from "pad, then conv" to "conv with zero padding, then fix the
# border rows/columns" above this many pixels per channel: the full-image pad copy
# costs about as much as the conv itself (2048x2048x3: ~20 ms vs ~70 ms, 1 thread).
_FAST_DOWN_MIN_PIXELS = 256 * 256


# ----------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------


def _check_image(x: object, name: str = "x") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(
            f"{name} must have shape (B, C, H, W), got a {x.ndim}-D tensor of shape "
            f"{tuple(x.shape)} (add the missing dims, e.g. x[None] or x[None, None])"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor (float16/bfloat16/float32/float64), "
            f"got {x.dtype}; convert it first, e.g. {name}.float()"
        )
    if x.shape[1] == 0 or x.shape[2] == 0 or x.shape[3] == 0:
        raise ValueError(f"{name} is empty: shape {tuple(x.shape)} (C, H and W must be >= 1)")
    return x


def _check_padding(padding: object) -> str:
    if not isinstance(padding, str) or padding not in PADDING_MODES:
        raise ValueError(f"padding must be one of {PADDING_MODES}, got {padding!r}")
    return padding


def _check_levels(levels: object, h: int, w: int) -> int:
    if isinstance(levels, bool) or not isinstance(levels, int):
        raise TypeError(f"levels must be an int, got {type(levels).__name__}")
    if levels < 1:
        raise ValueError(f"levels must be >= 1 (levels counts the returned tensors), got {levels}")
    most = max_levels(h, w)
    if levels > most:
        raise ValueError(
            f"levels={levels} is too many for a {h}x{w} image: at most {most} fit "
            f"(each level halves the size, rounding up, and the coarsest allowed level is "
            f"the first one that is 1x1)"
        )
    return levels


def max_levels(h: int, w: int) -> int:
    """Largest valid ``levels`` for an ``h`` x ``w`` image.

    Each level is ``((h+1)//2, (w+1)//2)`` of the previous one; the pyramid may
    go down to the first level that is 1x1 but not beyond (a 1x1 image does not
    shrink, so further levels would only repeat it). Equivalently
    ``1 + ceil(log2(max(h, w)))``.

    Args:
        h: image height, >= 1.
        w: image width, >= 1.

    Returns:
        The number of pyramid levels (tensors) that fit, counting the input.

    Examples: ``max_levels(1, 1) == 1``, ``max_levels(2, 2) == 2``,
    ``max_levels(5, 3) == 4`` (5x3 → 3x2 → 2x1 → 1x1).
    """
    for name, v in (("h", h), ("w", w)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name} must be an int, got {type(v).__name__}")
        if v < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    n = 1
    while h > 1 or w > 1:  # exact integer loop, no float log2 rounding issues
        h, w = (h + 1) // 2, (w + 1) // 2
        n += 1
    return n


def _check_size(size: object, h: int, w: int) -> tuple[int, int]:
    if size is None:
        return 2 * h, 2 * w
    if isinstance(size, torch.Size):
        size = tuple(size)
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in size)
    ):
        raise TypeError(f"size must be a pair of ints (h, w) or None, got {size!r}")
    out = (int(size[0]), int(size[1]))
    # Same rule as OpenCV's pyrUp: |dst - 2*src| <= dst % 2, i.e. an even size must be
    # exactly double and an odd one may be one less or one more than double.
    for axis, s, n in (("height", out[0], h), ("width", out[1], w)):
        if s < 1 or abs(s - 2 * n) > s % 2:
            raise ValueError(
                f"pyr_up: output {axis} {s} is invalid for input {axis} {n}: it must be "
                f"{2 * n}, {2 * n - 1} or {2 * n + 1} (|size - 2*input| <= size % 2, as in cv2.pyrUp)"
            )
    return out


# ----------------------------------------------------------------------------
# public ops
# ----------------------------------------------------------------------------


def pyr_down(x: Tensor, *, kernel: KernelLike = None, padding: str = "reflect") -> Tensor:
    """Blur with a separable kernel, then keep every other row and column.

    Same as ``cv2.pyrDown`` for the default kernel and ``padding="reflect"``.

    Args:
        x: images, floating point.
        kernel: 1-D odd-length kernel (tensor or sequence), normalised to sum 1 and
            applied along both axes (as a correlation). Default: binomial
            ``[1, 4, 6, 4, 1] / 16``. A tensor that requires grad stays differentiable.
        padding: one of :data:`PADDING_MODES`.

    Returns:
        The half-resolution images, same dtype and device.

    Shape:
        (B, C, H, W) → (B, C, (H+1)//2, (W+1)//2)
    """
    _check_image(x)
    mode = _check_padding(padding)
    x = prepare(x)
    vals = _kernel_1d(kernel)
    w = _weight_for(vals, False, x)
    r = w.shape[-1] // 2
    c, h, wd = x.shape[1:]
    oh, ow = (h + 1) // 2, (wd + 1) // 2
    if mode == "zeros":
        return F.conv2d(x, w, stride=2, padding=r, groups=c)
    if min(h, wd) < 2 * w.shape[-1] or h * wd < _FAST_DOWN_MIN_PIXELS:
        # Small images: padding is cheap, one conv beats conv + four border fix-ups.
        return down_region(x, w, r, mode, (0, oh), (0, ow))
    return down_fixed_borders(x, w, r, mode, vals)


def pyr_up(
    x: Tensor,
    size: tuple[int, int] | None = None,
    *,
    kernel: KernelLike = None,
    padding: str = "reflect",
) -> Tensor:
    """Upsample by two: zero insertion, then the pyr_down blur with the kernel x4.

    Same as ``cv2.pyrUp(x, dstsize=(w, h))`` for the default kernel and
    ``padding="reflect"``, odd sizes included. Borders are defined on the coarse
    grid: ``"reflect"`` is reflect-101 of the zero-inserted signal (OpenCV), i.e.
    reflect-101 on the top/left and symmetric on the bottom/right of the coarse
    image; ``"replicate"``, ``"zeros"`` and ``"circular"`` pad the coarse image.
    For an odd ``size`` larger than double, the extra bottom row is what the
    padding gives, while with ``"reflect"`` the extra right column copies the
    previous column — an OpenCV quirk reproduced for parity.

    Args:
        x: coarse images, floating point.
        size: output ``(h, w)``; default ``(2H, 2W)``. Each of ``h``/``w`` must be
            exactly double if even, or double ± 1 if odd (OpenCV's rule
            ``|h - 2H| <= h % 2``), so ``pyr_up(pyr_down(x), size=x.shape[-2:])``
            always works.
        kernel: see :func:`pyr_down`.
        padding: one of :data:`PADDING_MODES`.

    Returns:
        The upsampled images, same dtype and device.

    Shape:
        (B, C, H, W) → (B, C, h, w), default (B, C, 2H, 2W)

    Raises:
        ValueError: ``size`` is not within one pixel of double (see above).
    """
    _check_image(x)
    mode = _check_padding(padding)
    h, wd = x.shape[-2:]
    oh, ow = _check_size(size, h, wd)
    x = prepare(x)
    w = _weight(kernel, True, x)
    r = w.shape[-1] // 2
    cmode = "reflect_up" if mode == "reflect" else mode
    # Padding the *coarse* image is cheap (a quarter of the output), so unlike pyr_down
    # there is nothing to gain from implicit zero padding plus border fix-ups.
    y = up_region(x, w, r, cmode, (0, oh), (0, ow))
    if mode == "reflect" and ow == 2 * wd + 1:
        # cv2.pyrUp copies column 2W-1 into the extra column (rows follow the padding).
        y[..., -1] = y[..., -2]
    return y


def pyr_up_residual(
    coarse: Tensor, band: Tensor, *, padding: str = "reflect", kernel: KernelLike = None
) -> Tensor:
    """One LapSRN / Laplacian reconstruction step: ``pyr_up(coarse, band's size) + band``.

    Args:
        coarse: the coarser level (e.g. a model's current estimate).
        band: the (predicted) band-pass detail at the finer level.
        padding: one of :data:`PADDING_MODES`.
        kernel: see :func:`pyr_down`.

    Returns:
        The finer level.

    Shape:
        coarse (B, C, H, W), band (B, C, h, w) with h ∈ {2H-1, 2H, 2H+1} (odd) or
        2H (even), likewise w → (B, C, h, w)
    """
    _check_image(coarse, "coarse")
    _check_image(band, "band")
    if coarse.shape[:2] != band.shape[:2]:
        raise ValueError(
            f"coarse and band must have the same batch and channels, got {tuple(coarse.shape)} "
            f"and {tuple(band.shape)}"
        )
    return pyr_up(coarse, size=tuple(band.shape[-2:]), kernel=kernel, padding=padding) + band


def gaussian_pyramid(
    x: Tensor, levels: int, *, kernel: KernelLike = None, padding: str = "reflect"
) -> list[Tensor]:
    """Gaussian pyramid ``[x, pyr_down(x), pyr_down(pyr_down(x)), ...]``.

    Args:
        x: images, floating point.
        levels: number of tensors returned, counting ``x`` itself; ``levels=1``
            returns ``[x]``. Must be in ``1..max_levels(H, W)``.
        kernel: see :func:`pyr_down`.
        padding: one of :data:`PADDING_MODES`.

    Returns:
        ``levels`` tensors, fine to coarse.

    Shape:
        (B, C, H, W) → [(B, C, H, W), (B, C, (H+1)//2, (W+1)//2), ...]

    Raises:
        ValueError: ``levels < 1`` or more levels than fit (the message says how many do).
    """
    _check_image(x)
    _check_padding(padding)
    _check_levels(levels, x.shape[-2], x.shape[-1])
    out = [x]
    for _ in range(levels - 1):
        out.append(pyr_down(out[-1], kernel=kernel, padding=padding))
    return out


def laplacian_pyramid(
    x: Tensor, levels: int, *, kernel: KernelLike = None, padding: str = "reflect"
) -> list[Tensor]:
    """Laplacian pyramid: ``levels - 1`` band-pass images and a low-pass residual.

    Band k is ``g_k - pyr_up(g_{k+1}, size=g_k.shape[-2:])`` for the Gaussian
    pyramid ``g``; the last element is ``g_{levels-1}`` itself. Built this way,
    :func:`reconstruct` inverts it exactly (up to float rounding) for any size.

    Args:
        x: images, floating point.
        levels: number of tensors returned (bands + residual); ``levels=1``
            returns ``[x]``. Must be in ``1..max_levels(H, W)``.
        kernel: see :func:`pyr_down`.
        padding: one of :data:`PADDING_MODES`.

    Returns:
        ``levels`` tensors, fine to coarse; the last one is the low-pass residual.

    Shape:
        (B, C, H, W) → [(B, C, H, W), (B, C, (H+1)//2, (W+1)//2), ...]
    """
    g = gaussian_pyramid(x, levels, kernel=kernel, padding=padding)
    bands = [
        fine - pyr_up(coarse, size=tuple(fine.shape[-2:]), kernel=kernel, padding=padding)
        for fine, coarse in zip(g[:-1], g[1:])
    ]
    bands.append(g[-1])
    return bands


def reconstruct(
    pyramid: Sequence[Tensor], *, kernel: KernelLike = None, padding: str = "reflect"
) -> Tensor:
    """Collapse a Laplacian pyramid (inverse of :func:`laplacian_pyramid`).

    Use the same ``kernel`` and ``padding`` as when building it.

    Args:
        pyramid: bands fine to coarse, the last one the low-pass residual.

    Returns:
        The finest-level image.

    Shape:
        [(B, C, H, W), (B, C, (H+1)//2, (W+1)//2), ...] → (B, C, H, W)
    """
    if isinstance(pyramid, Tensor) or not isinstance(pyramid, (list, tuple)):
        raise TypeError(f"pyramid must be a list or tuple of tensors, got {type(pyramid).__name__}")
    if len(pyramid) == 0:
        raise ValueError("pyramid is empty")
    for i, band in enumerate(pyramid):
        _check_image(band, f"pyramid[{i}]")
    _check_padding(padding)
    out = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        if band.shape[:2] != out.shape[:2]:
            raise ValueError(
                f"pyramid levels disagree on batch/channels: {tuple(band.shape)} vs {tuple(out.shape)}"
            )
        out = pyr_up(out, size=tuple(band.shape[-2:]), kernel=kernel, padding=padding) + band
    return out


# ----------------------------------------------------------------------------
# nn.Module wrappers: they only store arguments, the functions do the work
# ----------------------------------------------------------------------------


class _PyramidModule(torch.nn.Module):
    def __init__(self, *, kernel: KernelLike = None, padding: str = "reflect") -> None:
        super().__init__()
        self.padding = _check_padding(padding)
        _kernel_1d(kernel)  # fail at construction, not at the first forward
        # Stored as given (not a buffer): the ops cast it to the input's dtype/device.
        self.kernel = kernel

    def extra_repr(self) -> str:
        k = "binomial5" if self.kernel is None else "custom"
        return f"kernel={k}, padding={self.padding!r}"


class PyrDown(_PyramidModule):
    """Module form of :func:`pyr_down`. Shape: (B, C, H, W) → (B, C, (H+1)//2, (W+1)//2)."""

    def forward(self, x: Tensor) -> Tensor:
        return pyr_down(x, kernel=self.kernel, padding=self.padding)


class PyrUp(_PyramidModule):
    """Module form of :func:`pyr_up`. Shape: (B, C, H, W) → (B, C, h, w), default (2H, 2W)."""

    def forward(self, x: Tensor, size: tuple[int, int] | None = None) -> Tensor:
        return pyr_up(x, size, kernel=self.kernel, padding=self.padding)


class LaplacianStep(_PyramidModule):
    """Module form of :func:`pyr_up_residual` (the LapSRN step).

    Shape: coarse (B, C, H, W), band (B, C, h, w) → (B, C, h, w).
    """

    def forward(self, coarse: Tensor, band: Tensor) -> Tensor:
        return pyr_up_residual(coarse, band, kernel=self.kernel, padding=self.padding)


class GaussianPyramid(_PyramidModule):
    """Module form of :func:`gaussian_pyramid`; ``levels`` counts the returned tensors."""

    def __init__(self, levels: int, *, kernel: KernelLike = None, padding: str = "reflect") -> None:
        super().__init__(kernel=kernel, padding=padding)
        if isinstance(levels, bool) or not isinstance(levels, int):
            raise TypeError(f"levels must be an int, got {type(levels).__name__}")
        if levels < 1:
            raise ValueError(f"levels must be >= 1, got {levels}")
        self.levels = levels

    def extra_repr(self) -> str:
        return f"levels={self.levels}, " + super().extra_repr()

    def forward(self, x: Tensor) -> list[Tensor]:
        return gaussian_pyramid(x, self.levels, kernel=self.kernel, padding=self.padding)


class LaplacianPyramid(GaussianPyramid):
    """Module form of :func:`laplacian_pyramid`; ``levels`` counts the returned tensors."""

    def forward(self, x: Tensor) -> list[Tensor]:
        return laplacian_pyramid(x, self.levels, kernel=self.kernel, padding=self.padding)


class Reconstruct(_PyramidModule):
    """Module form of :func:`reconstruct`."""

    def forward(self, pyramid: Sequence[Tensor]) -> Tensor:
        return reconstruct(pyramid, kernel=self.kernel, padding=self.padding)
