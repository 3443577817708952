"""The CNN family: one registry of architectures keyed by name; constructor kwargs are the config schema."""
from __future__ import annotations

from typing import Any, Callable

from torch import nn

from restore.models.blocks import PADDING_MODES
from restore.models.sr import SRNet
from restore.models.unet import UNet, migrate_config as _migrate_unet
from restore.models.upsamplers import UPSAMPLERS, make_upsampler, supported_factors

ARCHITECTURES: dict[str, type[nn.Module]] = {"srnet": SRNet, "unet": UNet}
#: config migrations of older weight files, per architecture (applied once, at load time)
_MIGRATIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"unet": _migrate_unet}


def migrate_config(arch: str, config: dict[str, Any]) -> dict[str, Any]:
    """A stored config → today's constructor kwargs (unchanged for architectures without a migration)."""
    fn = _MIGRATIONS.get(arch)
    return fn(config) if fn else dict(config)


def create_model(arch: str, **overrides: Any) -> nn.Module:
    """Build a registered architecture; ``None`` overrides are dropped so CLI defaults never clobber the
    architecture's own (timm's rule)."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHITECTURES)}")
    kwargs = {k: v for k, v in overrides.items() if v is not None}
    return ARCHITECTURES[arch](**kwargs)


__all__ = ["ARCHITECTURES", "PADDING_MODES", "UPSAMPLERS", "SRNet", "UNet", "create_model", "make_upsampler", "migrate_config",
           "supported_factors"]
