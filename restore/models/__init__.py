"""The CNN family: one registry of architectures keyed by name; constructor kwargs are the config schema."""
from __future__ import annotations

from typing import Any

from torch import nn

from restore.models.blocks import PADDING_MODES
from restore.models.sr import SRNet
from restore.models.unet import UNet
from restore.models.upsamplers import UPSAMPLERS, make_upsampler, supported_factors

ARCHITECTURES: dict[str, type[nn.Module]] = {"srnet": SRNet, "unet": UNet}


def create_model(arch: str, **overrides: Any) -> nn.Module:
    """Build a registered architecture; ``None`` overrides are dropped so CLI defaults never clobber the
    architecture's own (timm's rule)."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHITECTURES)}")
    kwargs = {k: v for k, v in overrides.items() if v is not None}
    return ARCHITECTURES[arch](**kwargs)


__all__ = ["ARCHITECTURES", "PADDING_MODES", "UPSAMPLERS", "SRNet", "UNet", "create_model", "make_upsampler",
           "supported_factors"]
