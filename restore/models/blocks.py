"""Convolution building blocks; every convolution takes the model-wide ``padding_mode``."""
from __future__ import annotations

import torch
from torch import nn

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
ACTIVATIONS = ("relu", "lrelu", "gelu", "silu")
NORMS = ("none", "batch", "group")


def check_padding_mode(padding_mode: str) -> str:
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"unknown padding_mode {padding_mode!r}; choose from {', '.join(PADDING_MODES)}")
    return padding_mode


def conv(
    in_ch: int, out_ch: int, kernel_size: int = 3, *, stride: int = 1, dilation: int = 1,
    padding_mode: str = "zeros", bias: bool = True,
) -> nn.Conv2d:
    """A 'same' convolution (for stride 1) whose border handling is ``padding_mode``."""
    check_padding_mode(padding_mode)
    return nn.Conv2d(
        in_ch, out_ch, kernel_size, stride=stride, padding=dilation * (kernel_size // 2),
        dilation=dilation, padding_mode=padding_mode, bias=bias,
    )


def activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "lrelu":
        return nn.LeakyReLU(0.2, inplace=True)
    if name == "gelu":
        return nn.GELU()
    if name == "silu":
        return nn.SiLU(inplace=True)
    raise ValueError(f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}")


def norm_layer(name: str, ch: int) -> nn.Module:
    if name == "none":
        return nn.Identity()
    if name == "batch":
        return nn.BatchNorm2d(ch)
    if name == "group":
        return nn.GroupNorm(min(8, ch), ch)
    raise ValueError(f"unknown norm {name!r}; choose from {', '.join(NORMS)}")


class ConvAct(nn.Sequential):
    """conv → norm → activation."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3, *, stride: int = 1, dilation: int = 1,
                 padding_mode: str = "zeros", norm: str = "none", act: str = "relu") -> None:
        super().__init__(
            conv(in_ch, out_ch, kernel_size, stride=stride, dilation=dilation, padding_mode=padding_mode,
                 bias=norm == "none"),
            norm_layer(norm, out_ch),
            activation(act),
        )


class ResBlock(nn.Module):
    """x + conv(act(conv(x))), no normalisation (EDSR: batch norm hurts restoration)."""

    def __init__(self, ch: int, *, dilation: int = 1, padding_mode: str = "zeros", act: str = "relu",
                 res_scale: float = 1.0) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv(ch, ch, 3, dilation=dilation, padding_mode=padding_mode),
            activation(act),
            conv(ch, ch, 3, dilation=dilation, padding_mode=padding_mode),
        )
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # in place into the body's fresh output (a convolution's, which its backward does not keep): one pass
        # over the features instead of two or three
        r = self.body(x)
        return (r.mul_(self.res_scale) if self.res_scale != 1.0 else r).add_(x)
