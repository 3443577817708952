"""Super-resolution network: residual body at low resolution + interchangeable upsampler + bicubic skip."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from restore.models.blocks import ResBlock, activation, check_padding_mode, conv
from restore.models.upsamplers import make_upsampler


class SRNet(nn.Module):
    """A small residual SR network (EDSR-style body, ESPCN-style tail) that predicts the residual over bicubic.

    All convolutions run at low resolution, so the cost per *output* pixel falls with ``scale²``; the
    bicubic skip lets the body learn only the missing detail, which converges an order of magnitude
    faster on a CPU budget than predicting the image.

    Args:
        in_ch, out_ch: image channels (3).
        base_ch: body width.
        n_blocks: residual blocks in the body (2 convs each).
        scale: 2, 3 or 4.
        upsampler: a name from ``UPSAMPLERS``.
        padding_mode: zeros | reflect | replicate | circular, for every convolution.
        act: activation name.

    Shape:
        ``(B, in_ch, H, W) → (B, out_ch, H*scale, W*scale)``; any H, W ≥ 1 (no padding needed).
    """

    task = "sr"

    def __init__(self, in_ch: int = 3, out_ch: int = 3, base_ch: int = 32, n_blocks: int = 6, scale: int = 4,
                 upsampler: str = "pixelshuffle", padding_mode: str = "zeros", act: str = "relu") -> None:
        super().__init__()
        check_padding_mode(padding_mode)
        if scale not in (2, 3, 4):
            raise ValueError(f"scale must be 2, 3 or 4, not {scale}")
        self.scale = scale
        self.head = conv(in_ch, base_ch, 3, padding_mode=padding_mode)
        self.body = nn.Sequential(*[ResBlock(base_ch, padding_mode=padding_mode, act=act) for _ in range(n_blocks)])
        self.body_tail = conv(base_ch, base_ch, 3, padding_mode=padding_mode)
        self.up = make_upsampler(upsampler, base_ch, out_ch, scale, padding_mode=padding_mode)
        self.multiple = 1
        # input pixels an output pixel can depend on: every conv in series (counted at input resolution,
        # an overestimate for convs after upsampling) + 2 for the bicubic skip / pyramid kernels. The tiled
        # engine uses it as the context margin, which makes tiled output equal the untiled one.
        self.receptive_radius = 2 + sum(
            m.dilation[0] * (m.kernel_size[0] // 2) for m in self.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
        )
        # start as plain bicubic: a small last layer keeps the random residual from swamping the skip
        last = [m for m in self.up.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))][-1]
        with torch.no_grad():
            last.weight.mul_(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.head(x)
        feat = feat + self.body_tail(self.body(feat))
        base = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return base + self.up(feat)
