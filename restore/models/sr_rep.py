"""SRNet trained through collapsible linear blocks (SESR / ECBSR style re-parameterisation).

Every 3×3 convolution of the body is, during training, a linear block: a 3×3 convolution into ``expand``
channels, a 1×1 back, and an identity skip where the widths match. A linear block is one 3×3 convolution
in disguise, so it is collapsed into that convolution's kernel at every forward pass (SESR's trick): the
network runs one convolution per layer, as the plain one does, and only the optimiser sees the extra
parameters. ``export()`` writes the collapsed kernels into a plain :class:`~restore.models.sr.SRNet` of the
same config — the shipped file is that network, at its speed.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from restore.models.sr import SRNet

_PAD = {"reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def collapse_linear_block(w_ex: torch.Tensor, b_ex: torch.Tensor, w_sq: torch.Tensor, b_sq: torch.Tensor,
                          identity: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The one 3×3 convolution equal to ``conv1x1(w_sq, b_sq) ∘ conv3x3(w_ex, b_ex)`` (+ the input itself).

    Exact for every padding mode: the 1×1 convolution acts on each pixel after the 3×3 one has padded.

    Shape:
        ``w_ex (E, C, 3, 3)``, ``b_ex (E,)``, ``w_sq (O, E, 1, 1)``, ``b_sq (O,)`` → ``(O, C, 3, 3)``, ``(O,)``.
    """
    sq = w_sq[:, :, 0, 0]
    w = torch.einsum("oe,eckl->ockl", sq, w_ex)
    b = sq @ b_ex + b_sq
    if identity:
        eye = torch.zeros_like(w)
        idx = torch.arange(w.shape[0], device=w.device)
        eye[idx, idx, 1, 1] = 1.0
        w = w + eye
    return w, b


class CollapsibleConv(nn.Module):
    """A 3×3 'same' convolution trained as a linear block (:func:`collapse_linear_block`) and run collapsed.

    Shape: ``(B, C, H, W)`` → ``(B, O, H, W)``.
    """

    def __init__(self, in_ch: int, out_ch: int, expand: int, padding_mode: str = "zeros") -> None:
        super().__init__()
        self.expand = nn.Conv2d(in_ch, expand, 3)
        self.squeeze = nn.Conv2d(expand, out_ch, 1)
        self.in_channels, self.out_channels = in_ch, out_ch  # as nn.Conv2d's (the FiLM layout reads them)
        self.identity = in_ch == out_ch
        if self.identity:
            # start near the identity: the block's learned part begins small, as a residual would
            with torch.no_grad():
                self.squeeze.weight.mul_(0.1)
        self.padding_mode = padding_mode

    def kernel(self) -> tuple[torch.Tensor, torch.Tensor]:
        return collapse_linear_block(self.expand.weight, self.expand.bias, self.squeeze.weight, self.squeeze.bias,
                                     self.identity)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w, b = self.kernel()
        if self.padding_mode == "zeros":
            return F.conv2d(x, w, b, padding=1)
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode=_PAD[self.padding_mode]), w, b)


class SRNetRep(SRNet):
    """:class:`SRNet` whose head, body and body tail train as collapsible linear blocks; same constructor,
    same receptive radius, exported as a plain SRNet (``export()``, ``export_arch``).

    Args:
        expand: the width of each linear block's hidden layer (SESR uses 256 for 16-channel layers).
        the rest: as :class:`SRNet` (not ``gated``: its frozen clean copy is of the plain weights).
    """

    export_arch = "srnet"

    def __init__(self, in_ch: int = 3, out_ch: int = 3, base_ch: int = 32, n_blocks: int = 6, scale: int = 4,
                 upsampler: str = "pixelshuffle", padding_mode: str = "zeros", act: str = "relu",
                 expand: int = 128, cond_dim: int = 0, unshuffle: int = 1, block_grid: int = 0,
                 luma_residual: bool = False) -> None:
        extra = dict(cond_dim=cond_dim, unshuffle=unshuffle, block_grid=block_grid, luma_residual=luma_residual)
        super().__init__(in_ch, out_ch, base_ch, n_blocks, scale, upsampler, padding_mode, act, **extra)
        self.plain_config = dict(in_ch=in_ch, out_ch=out_ch, base_ch=base_ch, n_blocks=n_blocks, scale=scale,
                                 upsampler=upsampler, padding_mode=padding_mode, act=act, **extra)
        pm = padding_mode
        for parent in [self, *self.body.modules()]:
            for name, child in list(parent.named_children()):
                if (isinstance(child, nn.Conv2d) and child.kernel_size == (3, 3) and child.dilation == (1, 1)
                        and (parent is not self or name in ("head", "body_tail"))):
                    setattr(parent, name, CollapsibleConv(child.in_channels, child.out_channels, expand, pm))

    def export(self) -> SRNet:
        """The plain SRNet that computes what this network computes (to float rounding), in eval mode."""
        plain = SRNet(**self.plain_config)
        blocks = {n: m for n, m in self.named_modules() if isinstance(m, CollapsibleConv)}
        state = {k: t for k, t in self.state_dict().items() if k.rsplit(".", 2)[0] not in blocks}
        with torch.no_grad():
            for name, mod in blocks.items():
                state[f"{name}.weight"], state[f"{name}.bias"] = mod.kernel()
        plain.load_state_dict(state)
        return plain.eval()
