"""Pyramid kernels: validation of a user's 1-D kernel and the depthwise 2-D weights built from it (cached per
dtype, device and channel count; a kernel that requires grad stays a tensor so gradients reach it)."""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence, Union

import torch
from torch import Tensor

KernelLike = Union[Tensor, Sequence[float], None]

_BINOMIAL_5 = (1.0, 4.0, 6.0, 4.0, 1.0)


def _kernel_1d(kernel: KernelLike) -> tuple[float, ...] | Tensor:
    """Validate a user kernel; returns a tuple (cacheable) or a tensor (keeps autograd)."""
    if kernel is None:
        return _BINOMIAL_5
    if isinstance(kernel, Tensor):
        if kernel.ndim != 1:
            raise ValueError(f"kernel must be 1-D, got shape {tuple(kernel.shape)}")
        if kernel.is_complex():
            raise TypeError("kernel must be real")
        n = kernel.numel()
        if kernel.requires_grad:
            vals = None  # learnable kernel: keep it a tensor so gradients reach it
        else:
            vals = tuple(float(v) for v in kernel.detach().cpu().double())
    else:
        try:
            vals = tuple(float(v) for v in kernel)  # type: ignore[union-attr]
        except TypeError as e:
            raise TypeError(f"kernel must be a 1-D tensor or a sequence of numbers, got {kernel!r}") from e
        n = len(vals)
    if n % 2 != 1:
        raise ValueError(f"kernel length must be odd (centred), got {n}")
    if vals is None:
        return kernel  # type: ignore[return-value]
    if not all(abs(v) < float("inf") for v in vals):  # also rejects NaN
        raise ValueError(f"kernel must be finite, got {vals}")
    if sum(vals) == 0:
        raise ValueError("kernel sums to 0 and cannot be normalised")
    return vals


@lru_cache(maxsize=256)
def _weight_cached(vals: tuple[float, ...], up: bool, channels: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    # a cached tensor first built under inference_mode would be an inference tensor and break a later
    # backward pass that reuses it: always build the cached copy as a normal tensor
    with torch.inference_mode(False):
        k = torch.tensor(vals, dtype=torch.float64)
        return _weight_from(k, up, channels).to(dtype=dtype, device=device)


def _weight_from(k: Tensor, up: bool, channels: int) -> Tensor:
    k = k / k.sum()
    if up:
        # conv_transpose2d *convolves* (flips); flip so that pyr_up is zero-insertion
        # followed by a correlation with the same kernel as pyr_down. x2 per axis
        # restores the mean lost to the inserted zeros.
        k = k.flip(0) * 2
    k2 = torch.outer(k, k)
    return k2.expand(channels, 1, *k2.shape).contiguous()


def _weight(kernel: KernelLike, up: bool, x: Tensor) -> Tensor:
    return _weight_for(_kernel_1d(kernel), up, x)


def _weight_for(vals: tuple[float, ...] | Tensor, up: bool, x: Tensor) -> Tensor:
    if isinstance(vals, tuple):
        return _weight_cached(vals, up, x.shape[1], x.dtype, x.device)
    return _weight_from(vals.to(device=x.device, dtype=x.dtype), up, x.shape[1])
