"""Interchangeable learned upsamplers: one registry, one constructor signature.

Every upsampler is built as ``make_upsampler(name, in_ch, out_ch, factor, padding_mode=...)`` and maps
``(B, in_ch, H, W) → (B, out_ch, H*factor, W*factor)``.

=====================  ==========  =========================================================================
name                   factors     what it is
=====================  ==========  =========================================================================
resize-conv            2, 3, 4     nearest-neighbour interpolation, then a 3×3 conv (Odena et al.'s remedy)
resize-conv-bilinear   2, 3, 4     bilinear interpolation, then a 3×3 conv
transposed-k3s2        2 (4=2×2)   ConvTranspose2d kernel 3 stride 2: uneven overlap, checkerboard-prone
transposed-k4s2        2 (4=2×2)   ConvTranspose2d kernel 4 stride 2: kernel divisible by stride, even overlap
unpool                 2, 3 (4)    max-unpooling. In the U-Net it uses the argmax indices recorded by the
                                   encoder's 2×2 max-pool (SegNet); without indices (the SR network) it is
                                   bed-of-nails zero insertion. Either way followed by a 3×3 conv.
pixelshuffle           2, 3, 4     sub-pixel conv (ESPCN) with ICNR init, checkerboard-free at start
laplacian              2 (4=2×2)   LapSRN-style: the coarse projection is upsampled with the fixed binomial
                                   ``pyramids.pyr_up`` and a band predicted from the (resize-conv upsampled)
                                   features is added. ×3 has no ×2 pyramid step: refused.
=====================  ==========  =========================================================================

A factor given in parentheses is built as two ×2 steps. A factor that is not listed raises ``ValueError``.
``ConvTranspose2d`` only supports zero padding in PyTorch; its ``padding_mode`` applies to the conv after it
(there is none) — so ``transposed-*`` ignore ``padding_mode``, which the study notes.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from restore.models.blocks import check_padding_mode, conv


def icnr_(weight: torch.Tensor, factor: int, init: Callable[[torch.Tensor], object] = nn.init.kaiming_normal_) -> None:
    """ICNR (Aitken et al. 2017): make a sub-pixel conv start as nearest-neighbour upsampling.

    The ``factor²`` output channels belonging to one final channel get the same kernel, so the pixel
    shuffle writes identical values into every phase and no checkerboard exists at initialisation.
    """
    out_ch, in_ch, kh, kw = weight.shape
    sub = torch.empty(out_ch // (factor * factor), in_ch, kh, kw)
    init(sub)
    with torch.no_grad():
        weight.copy_(sub.repeat_interleave(factor * factor, dim=0))


@functools.lru_cache(maxsize=None)
def _phase_map(factor: int) -> torch.Tensor:
    """The 0/1 matrix taking a 3×3 kernel (flattened) to its ``factor²`` phase kernels (see
    :func:`nearest_conv_phases`). Shape: ``(9, factor²·9)``, columns ordered (phase a, phase b, row, column)."""
    f = factor
    # a normal tensor even when first asked for under inference_mode: training saves it for the backward pass
    with torch.inference_mode(False):
        r = torch.zeros(f, 3, 3)  # r[a, input offset + 1, tap dy + 1]
        for a in range(f):
            for j in range(3):
                r[a, (a + j - 1) // f + 1, j] = 1
        return torch.einsum("aij,blk->jkabil", r, r).reshape(9, f * f * 9)


def nearest_conv_phases(weight: torch.Tensor, factor: int) -> torch.Tensor:
    """A 3×3 convolution applied after nearest-neighbour ×``factor`` upsampling, as ``factor²`` 3×3 kernels
    applied before it (one per output phase, for :func:`torch.nn.functional.pixel_shuffle`).

    Output pixel ``(f·i + a, f·j + b)`` reads upsampled rows ``f·i + a + dy`` (dy = −1, 0, 1), which are the
    input rows ``i + ⌊(a + dy) / f⌋`` — offsets −1, 0 or +1 — so each phase's kernel is the 3×3 kernel with
    the taps that land on the same input pixel summed. With zero padding both forms read zeros at the same
    places: the results are equal (to float rounding), and the convolution runs at the input's size on
    ``factor²`` times the channels instead of on an upsampled copy (the U-Net's last ×2 step: 18 → 7 ms at
    512² in bf16). The kernels are one small matrix product (:func:`_phase_map`), in float32 whatever the
    autocast state.

    Shape: ``(C_out, C_in, 3, 3)`` → ``(C_out·factor², C_in, 3, 3)``, phase ``a·factor + b`` of channel ``o``
    at ``o·factor² + a·factor + b``.
    """
    f = factor
    o, c = weight.shape[:2]
    # one (o·c × 9) @ (9 × f²·9) product: a 6-index einsum over the same numbers took 3× as long (0.13 against
    # 0.36 ms for the U-Net's last step), paid at every forward
    with torch.autocast(weight.device.type, enabled=False):
        k = weight.float().reshape(o * c, 9) @ _phase_map(f).to(weight.device)
    return k.view(o, c, f * f, 9).transpose(1, 2).reshape(o * f * f, c, 3, 3).to(weight.dtype)


class ResizeConv(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, factor: int, *, padding_mode: str = "zeros",
                 mode: str = "nearest") -> None:
        super().__init__()
        self.factor, self.mode = factor, mode
        self.conv = conv(in_ch, out_ch, 3, padding_mode=padding_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "nearest" and self.conv.padding_mode == "zeros":
            # the same function, computed before the upsampling (see nearest_conv_phases)
            f = self.factor
            bias = None if self.conv.bias is None else self.conv.bias.repeat_interleave(f * f)
            return F.pixel_shuffle(F.conv2d(x, nearest_conv_phases(self.conv.weight, f), bias, padding=1), f)
        if self.mode == "nearest":
            x = F.interpolate(x, scale_factor=self.factor, mode="nearest")
        else:
            x = F.interpolate(x, scale_factor=self.factor, mode=self.mode, align_corners=False)
        return self.conv(x)


class Transposed(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, factor: int, *, padding_mode: str = "zeros",
                 kernel_size: int = 4) -> None:
        super().__init__()
        if factor != 2:
            raise ValueError(f"transposed upsamplers are ×2 steps; factor {factor} is not supported")
        # output = (H-1)*2 - 2*pad + k + output_padding = 2H for (k3,p1,op1) and (k4,p1,op0)
        self.up = nn.ConvTranspose2d(in_ch, out_ch, kernel_size, stride=2, padding=1,
                                     output_padding=1 if kernel_size == 3 else 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(x)


class Unpool(nn.Module):
    """Max-unpooling (with encoder indices) or bed-of-nails zero insertion (without), then a 3×3 conv.

    With indices the input is first projected (1×1 conv) to ``out_ch`` channels, which must equal the
    channel count of the encoder features the indices came from.
    """

    needs_indices = True

    def __init__(self, in_ch: int, out_ch: int, factor: int, *, padding_mode: str = "zeros") -> None:
        super().__init__()
        if factor not in (2, 3):
            raise ValueError(f"unpool supports factors 2 and 3 (4 as two ×2 steps), not {factor}")
        self.factor = factor
        self.proj = nn.Conv2d(in_ch, out_ch, 1)
        self.conv = conv(out_ch, out_ch, 3, padding_mode=padding_mode)

    def forward(self, x: torch.Tensor, indices: torch.Tensor | None = None) -> torch.Tensor:
        x = self.proj(x)
        b, c, h, w = x.shape
        f = self.factor
        if indices is not None:
            x = F.max_unpool2d(x, indices, kernel_size=f, stride=f, output_size=(h * f, w * f))
        else:
            # bed of nails: each input pixel lands on the top-left of its f×f cell, zeros elsewhere
            up = x.new_zeros(b, c, h, f, w, f)
            up[:, :, :, 0, :, 0] = x
            x = up.view(b, c, h * f, w * f)
        return self.conv(x)


class PixelShuffleUp(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, factor: int, *, padding_mode: str = "zeros") -> None:
        super().__init__()
        self.conv = conv(in_ch, out_ch * factor * factor, 3, padding_mode=padding_mode)
        icnr_(self.conv.weight, factor)
        nn.init.zeros_(self.conv.bias)
        self.shuffle = nn.PixelShuffle(factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


class LaplacianUp(nn.Module):
    """One LapSRN step: ``pyr_up(coarse) + band`` where ``coarse = proj(x)`` and ``band`` is predicted from
    the features upsampled by nearest+conv. The fixed binomial ``pyr_up`` carries the low frequencies
    evenly, so the learned part only has to add detail."""

    def __init__(self, in_ch: int, out_ch: int, factor: int, *, padding_mode: str = "zeros") -> None:
        super().__init__()
        if factor != 2:
            raise ValueError(f"laplacian upsampling is built from ×2 pyramid steps; factor {factor} is not supported")
        self.proj = nn.Conv2d(in_ch, out_ch, 1)
        self.band = conv(in_ch, out_ch, 3, padding_mode=padding_mode)
        self.padding = {"zeros": "zeros", "reflect": "reflect", "replicate": "replicate",
                        "circular": "circular"}[padding_mode]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from pyramids import pyr_up_residual

        h, w = x.shape[-2:]
        band = self.band(F.interpolate(x, scale_factor=2, mode="nearest"))
        return pyr_up_residual(self.proj(x), band, padding=self.padding)


@dataclass(frozen=True)
class UpsamplerSpec:
    name: str
    build: Callable[..., nn.Module]
    factors: tuple[int, ...]  # natively supported
    description: str


UPSAMPLERS: dict[str, UpsamplerSpec] = {
    s.name: s
    for s in [
        UpsamplerSpec("resize-conv", lambda i, o, f, pm: ResizeConv(i, o, f, padding_mode=pm), (2, 3, 4),
                      "nearest interpolation + 3×3 conv"),
        UpsamplerSpec("resize-conv-bilinear",
                      lambda i, o, f, pm: ResizeConv(i, o, f, padding_mode=pm, mode="bilinear"), (2, 3, 4),
                      "bilinear interpolation + 3×3 conv"),
        UpsamplerSpec("transposed-k3s2", lambda i, o, f, pm: Transposed(i, o, f, padding_mode=pm, kernel_size=3),
                      (2,), "transposed conv, kernel 3 stride 2 (uneven overlap)"),
        UpsamplerSpec("transposed-k4s2", lambda i, o, f, pm: Transposed(i, o, f, padding_mode=pm, kernel_size=4),
                      (2,), "transposed conv, kernel 4 stride 2 (even overlap)"),
        UpsamplerSpec("unpool", lambda i, o, f, pm: Unpool(i, o, f, padding_mode=pm), (2, 3),
                      "max-unpooling with encoder indices (U-Net) or zero insertion (SR), + 3×3 conv"),
        UpsamplerSpec("pixelshuffle", lambda i, o, f, pm: PixelShuffleUp(i, o, f, padding_mode=pm), (2, 3, 4),
                      "sub-pixel conv with ICNR init"),
        UpsamplerSpec("laplacian", lambda i, o, f, pm: LaplacianUp(i, o, f, padding_mode=pm), (2,),
                      "pyr_up of a projection + predicted band (LapSRN step)"),
    ]
}


def supported_factors(name: str) -> tuple[int, ...]:
    """Factors ``make_upsampler`` accepts for ``name`` (native ones, plus 4 as two ×2 steps)."""
    spec = _spec(name)
    return tuple(sorted(set(spec.factors) | ({4} if 2 in spec.factors else set())))


def _spec(name: str) -> UpsamplerSpec:
    if name not in UPSAMPLERS:
        raise ValueError(f"unknown upsampler {name!r}; choose from {', '.join(UPSAMPLERS)}")
    return UPSAMPLERS[name]


class TwoStep(nn.Sequential):
    """×4 as two ×2 steps of the same upsampler (no activation between: the composition stays linear,
    like EDSR's ×4 pixel-shuffle tail)."""


def make_upsampler(name: str, in_ch: int, out_ch: int, factor: int, *, padding_mode: str = "zeros") -> nn.Module:
    """Build the registered upsampler ``name``: ``(B, in_ch, H, W) → (B, out_ch, H*factor, W*factor)``."""
    spec = _spec(name)
    check_padding_mode(padding_mode)
    if factor in spec.factors:
        return spec.build(in_ch, out_ch, factor, padding_mode)
    if factor == 4 and 2 in spec.factors:
        return TwoStep(spec.build(in_ch, in_ch, 2, padding_mode), spec.build(in_ch, out_ch, 2, padding_mode))
    raise ValueError(
        f"upsampler {name!r} does not support factor {factor} (supported: {supported_factors(name)})"
    )
