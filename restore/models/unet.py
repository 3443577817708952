"""U-Net encoder–decoder for inpainting: strided-conv downsampling, interchangeable upsamplers, skips."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from restore.fill import FillConfig, prefill
from restore.models.blocks import ConvAct, ResBlock, activation, check_padding_mode, conv
from restore.models.upsamplers import Unpool, make_upsampler


class DilatedResidual(nn.Module):
    """``x + act(conv_d(x))``: one dilated 3×3 convolution with a skip, the full-resolution refinement step.

    Shape: ``(B, C, H, W)`` → same.
    """

    def __init__(self, ch: int, dilation: int, *, padding_mode: str = "zeros", act: str = "lrelu") -> None:
        super().__init__()
        self.conv = conv(ch, ch, 3, dilation=dilation, padding_mode=padding_mode)
        self.act = activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.act(self.conv(x))


class UNet(nn.Module):
    """Inpainting U-Net over a classical pre-fill, with a full-resolution refinement branch.

    Input: the masked image, the mask, and the pre-fill of the holes (:func:`restore.fill.prefill`, computed in
    float32 inside the network: a network learns the correction to one particular pre-fill); all three are
    centred on 0 (``centre_inputs``). Output: pre-fill + a learned correction, composited so known pixels are
    returned untouched.

    Why these blocks: the holes are pre-filled and the mask is an input channel, so no convolution sees the
    zeros of an empty hole — the failure that partial and gated convolutions were invented for — and plain
    convolutions suffice (as in LaMa). Context across large holes comes from the encoder (strided 3×3
    convolutions) and a bottleneck of dilated residual blocks at the coarsest level; the decoder upsamples with
    the registered ``upsampler`` (``unpool`` uses indices from a 2×2 max-pool of each encoder stage). Thin holes
    are decided at full resolution, so after the decoder a chain of dilated residual convolutions
    (``refine``: their dilations) works at full resolution and full width.

    Args:
        in_ch: image channels (3); the network's real input is ``2*in_ch + 1`` channels.
        out_ch: output channels (3).
        widths: channels per level, full resolution first; ``len(widths) - 1`` downsamplings.
        upsampler: a name from ``UPSAMPLERS``.
        padding_mode: zeros | reflect | replicate | circular.
        norm: none | batch | group.  act: relu | lrelu | gelu | silu.
        n_bottleneck: dilated residual blocks at the coarsest level.
        refine: dilations of the full-resolution refinement convolutions (``()`` = none).
        centre_inputs: feed ``x - 0.5`` instead of ``x`` (``False`` only for weights trained before it).
        fill: the pre-fill's settings, a :class:`restore.fill.FillConfig` mapping.

    Shape:
        image ``(B, in_ch, H, W)``, holes ``(B, 1, H, W)`` → ``(B, out_ch, H, W)``; any H, W (padded
        internally to a multiple of ``2**(len(widths)-1)`` and cropped back).
    """

    task = "inpaint"
    #: bfloat16 inference on CPUs with native bf16 is safe: the pre-fill runs in float32, only the correction
    #: (a few grey levels) passes through bf16 convolutions
    cpu_bf16 = True

    def __init__(self, in_ch: int = 3, out_ch: int = 3, widths: Sequence[int] = (16, 32, 64, 96),
                 upsampler: str = "resize-conv", padding_mode: str = "zeros", norm: str = "none",
                 act: str = "lrelu", n_bottleneck: int = 2, refine: Sequence[int] = (1, 2, 4, 8, 4, 2, 1),
                 centre_inputs: bool = True, fill: dict[str, Any] | FillConfig | None = None) -> None:
        super().__init__()
        check_padding_mode(padding_mode)
        widths = tuple(int(w) for w in widths)
        if len(widths) < 2 or min(widths) < 1:
            raise ValueError("widths needs at least two positive levels")
        refine = tuple(int(d) for d in refine)
        if any(d < 1 for d in refine):
            raise ValueError("refine dilations must be ≥ 1")
        self.widths, self.padding_mode, self.centre_inputs = widths, padding_mode, bool(centre_inputs)
        self.fill = FillConfig.from_dict(fill)
        self.multiple = 2 ** (len(widths) - 1)
        # reflect padding needs every feature map larger than the largest dilation
        self.min_size = max(self.multiple * (2 ** max(n_bottleneck - 1, 0) + 1), max(refine, default=0) + 1)
        kw = dict(padding_mode=padding_mode, norm=norm, act=act)
        self.stem = ConvAct(2 * in_ch + 1, widths[0], 3, **kw)
        self.down = nn.ModuleList()
        self.enc = nn.ModuleList()
        for a, b in zip(widths[:-1], widths[1:]):
            self.down.append(ConvAct(a, b, 3, stride=2, **kw))
            self.enc.append(ConvAct(b, b, 3, **kw))
        self.bottleneck = nn.Sequential(*[
            ResBlock(widths[-1], dilation=2 ** i, padding_mode=padding_mode, act=act)
            for i in range(n_bottleneck)
        ])
        self.up = nn.ModuleList()
        self.fuse = nn.ModuleList()
        for a, b in zip(reversed(widths[1:]), reversed(widths[:-1])):
            self.up.append(make_upsampler(upsampler, a, b, 2, padding_mode=padding_mode))
            self.fuse.append(ConvAct(2 * b, b, 3, **kw))
        self.refine = nn.Sequential(*[DilatedResidual(widths[0], d, padding_mode=padding_mode, act=act)
                                      for d in refine])
        self.out = conv(widths[0], out_ch, 3, padding_mode=padding_mode)
        self.uses_indices = isinstance(self.up[0], Unpool)
        self._init_weights(act)

    def _init_weights(self, act: str) -> None:
        """He init matched to the activation (PyTorch's default shrinks the signal through the encoder), the
        refinement convolutions scaled down so the residual chain starts near identity, and a small non-zero
        head: a zero head gives every other layer a zero gradient until it moves (the old model's head never
        did)."""
        slope = 0.2 if act == "lrelu" else 0.0
        for name, m in self.named_modules():
            if isinstance(m, nn.Conv2d) and m is not self.out and not name.startswith("up"):
                nn.init.kaiming_normal_(m.weight, a=slope, nonlinearity="leaky_relu")
                if name.startswith("refine"):
                    m.weight.data.mul_(0.5)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.normal_(self.out.weight, std=1e-3)
        nn.init.zeros_(self.out.bias)

    def prefill(self, image: torch.Tensor, holes: torch.Tensor) -> torch.Tensor:
        """The classical pre-fill the network corrects (holes: 1 = hole, already binary), in float32.
        Shape: ``(B, C, H, W)``, ``(B, 1, H, W)`` → ``(B, C, H, W)``."""
        return prefill(image, holes, self.fill)

    def correction(self, image: torch.Tensor, holes: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
        """The learned correction to ``fill`` (runs under the caller's autocast; the result is float32)."""
        c = 0.5 if self.centre_inputs else 0.0
        x = self.stem(torch.cat([(image - c) * (1 - holes), holes - c, fill - c], dim=1))
        skips, indices = [], []
        for down, enc in zip(self.down, self.enc):
            skips.append(x)
            if self.uses_indices:
                indices.append(F.max_pool2d(x, 2, return_indices=True)[1])
            x = enc(down(x))
        x = self.bottleneck(x)
        for up, fuse in zip(self.up, self.fuse):
            skip = skips.pop()
            x = up(x, indices.pop()) if self.uses_indices else up(x)
            x = fuse(torch.cat([x, skip], dim=1))
        return self.out(self.refine(x)).float()

    def forward(self, image: torch.Tensor, holes: torch.Tensor) -> torch.Tensor:
        return self.forward_with_prefill(image, holes)[0]

    def forward_with_prefill(self, image: torch.Tensor, holes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward`, also returning the pre-fill it corrected (so a caller measuring the correction does
        not compute the pre-fill twice). Shape: as :meth:`forward`, twice."""
        h, w = image.shape[-2:]
        m = self.multiple
        ph, pw = max((-h) % m, self.min_size - h), max((-w) % m, self.min_size - w)
        if ph or pw:
            # replicate keeps the pad free of invented structure and works for any size
            image = F.pad(image, (0, pw, 0, ph), mode="replicate")
            holes = F.pad(holes, (0, pw, 0, ph), mode="replicate")
        image = image.float()
        holes = (holes > 0.5).float()
        fill = self.prefill(image, holes)
        out = fill + self.correction(image, holes, fill) * holes
        return out[..., :h, :w], fill[..., :h, :w]


def migrate_config(config: dict[str, Any]) -> dict[str, Any]:
    """A UNet config as stored by an older release → today's keyword arguments.

    Before the pre-fill had its own config object its settings were flat ``fill_*`` keys, and the network had
    no refinement branch and took uncentred inputs; those files load as what they were.
    """
    cfg = dict(config)
    flat = {k: cfg.pop(k) for k in list(cfg) if k.startswith("fill_")}
    if not flat:
        return cfg
    horizontal = float(flat.pop("fill_horizontal", 0.5))
    structure = float(flat.get("fill_structure", 0.0))
    if structure == 0 and horizontal != 0.5:
        raise ValueError("a fixed anisotropic pre-fill stencil (fill_horizontal != 0.5) is no longer supported")
    names = {"fill_confidence": "confidence", "fill_iters": "iters", "fill_growth": "growth",
             "fill_structure": "structure", "fill_structure_sigma": "structure_sigma"}
    unknown = set(flat) - set(names)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(sorted(unknown))}")
    cfg["fill"] = {"structure": 0.0, **{names[k]: v for k, v in flat.items()}}
    cfg.setdefault("refine", [])
    cfg.setdefault("centre_inputs", False)
    cfg.setdefault("padding_mode", "reflect")
    cfg.setdefault("widths", [24, 48, 96, 128])
    cfg.setdefault("n_bottleneck", 3)
    return cfg
