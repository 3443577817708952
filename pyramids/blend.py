"""Laplacian pyramid blending (Burt & Adelson, 1983)."""

from __future__ import annotations

import torch
from torch import Tensor

from .core import (
    KernelLike,
    _check_image,
    _check_levels,
    _check_padding,
    _kernel_1d,
    gaussian_pyramid,
    laplacian_pyramid,
    reconstruct,
)

__all__ = ["blend", "Blend"]


def blend(
    a: Tensor,
    b: Tensor,
    mask: Tensor,
    levels: int,
    *,
    padding: str = "reflect",
    kernel: KernelLike = None,
) -> Tensor:
    """Seamlessly composite ``a`` over ``b`` with a soft mask, one pyramid band at a time.

    Band k of the result is ``m_k * La_k + (1 - m_k) * Lb_k`` where ``La``/``Lb``
    are the Laplacian pyramids of ``a``/``b`` and ``m_k`` level k of the mask's
    Gaussian pyramid; the bands are then collapsed with :func:`reconstruct`.
    Coarse bands are mixed over a wide transition and fine ones over a narrow
    one, which hides the seam without ghosting. Where the mask is 0 (resp. 1)
    over a region wider than the blur support of all levels, the result equals
    ``b`` (resp. ``a``) up to float rounding.

    Args:
        a: foreground images; mask = 1 takes ``a``.
        b: background images, same shape/dtype/device as ``a``.
        mask: weights in [0, 1] (not checked: a device sync), float or bool.
            A batch of 1 is broadcast over the batch of ``a``.
        levels: number of pyramid levels (tensors), ``1..max_levels(H, W)``;
            ``levels=1`` is a plain per-pixel lerp.
        padding: one of :data:`~pyramids.PADDING_MODES`, for the image pyramids.
            The mask pyramid uses the same mode, except that ``"zeros"`` uses
            ``"reflect"`` for the mask (zero padding would pull an all-ones mask
            below 1 at the border).
        kernel: see :func:`~pyramids.pyr_down`.

    Returns:
        The blended images, like ``a``.

    Shape:
        a, b (B, C, H, W); mask (B, 1, H, W), (B, C, H, W), (1, 1, H, W) or
        (1, C, H, W) → (B, C, H, W)
    """
    _check_image(a, "a")
    _check_image(b, "b")
    _check_padding(padding)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.dtype != b.dtype or a.device != b.device:
        raise TypeError(f"a and b must share dtype and device, got {a.dtype}/{a.device} and {b.dtype}/{b.device}")
    if not isinstance(mask, Tensor):
        raise TypeError(f"mask must be a torch.Tensor, got {type(mask).__name__}")
    if mask.dtype == torch.bool:
        mask = mask.to(a.dtype)
    _check_image(mask, "mask")
    B, C, H, W = a.shape
    if mask.shape[-2:] != a.shape[-2:] or mask.shape[0] not in (1, B) or mask.shape[1] not in (1, C):
        raise ValueError(
            f"mask must have shape ({B} or 1, 1 or {C}, {H}, {W}) to match a {tuple(a.shape)}, "
            f"got {tuple(mask.shape)}"
        )
    _check_levels(levels, H, W)
    mask = mask.to(device=a.device, dtype=a.dtype)

    mask_padding = "reflect" if padding == "zeros" else padding
    gm = gaussian_pyramid(mask, levels, kernel=kernel, padding=mask_padding)
    la = laplacian_pyramid(a, levels, kernel=kernel, padding=padding)
    lb = laplacian_pyramid(b, levels, kernel=kernel, padding=padding)
    # lerp is exact at weight 0 and 1, so fully masked regions keep b's / a's bands bit for bit.
    bands = [torch.lerp(bk, ak, mk) for ak, bk, mk in zip(la, lb, gm)]
    return reconstruct(bands, kernel=kernel, padding=padding)


class Blend(torch.nn.Module):
    """Module form of :func:`blend`: stores ``levels``, ``padding`` and ``kernel``.

    ``forward(a, b, mask)`` with the shapes of :func:`blend`.
    """

    def __init__(self, levels: int, *, padding: str = "reflect", kernel: KernelLike = None) -> None:
        super().__init__()
        if isinstance(levels, bool) or not isinstance(levels, int):
            raise TypeError(f"levels must be an int, got {type(levels).__name__}")
        if levels < 1:
            raise ValueError(f"levels must be >= 1, got {levels}")
        self.levels = levels
        self.padding = _check_padding(padding)
        _kernel_1d(kernel)
        self.kernel = kernel

    def extra_repr(self) -> str:
        return f"levels={self.levels}, padding={self.padding!r}"

    def forward(self, a: Tensor, b: Tensor, mask: Tensor) -> Tensor:
        return blend(a, b, mask, self.levels, padding=self.padding, kernel=self.kernel)
