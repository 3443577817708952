"""The CNN family: one registry of architectures keyed by name; constructor kwargs are the config schema."""
from __future__ import annotations

import threading
from typing import Any, Callable

import torch
from torch import nn

from restore.models.blocks import PADDING_MODES
from restore.models.sr import SRNet
from restore.models.sr_rep import SRNetRep
from restore.models.unet import UNet, migrate_config as _migrate_unet
from restore.models.upsamplers import UPSAMPLERS, make_upsampler, supported_factors

ARCHITECTURES: dict[str, type[nn.Module]] = {"srnet": SRNet, "srnet-rep": SRNetRep, "unet": UNet}
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


class OverBudget(ValueError):
    """A network's construction registered more modules, parameters and buffers than its budget allows."""


_budget = threading.local()


def _count(*_: Any) -> None:
    left = getattr(_budget, "left", None)
    if left is None:  # another thread's build, or none bounded: not counted
        return
    _budget.left = left - 1
    if left <= 0:
        raise OverBudget("the config asks for a larger network than the file holds")


def build_bounded(arch: str, config: dict[str, Any], budget: int) -> nn.Module:
    """Build ``arch`` from ``config`` on the meta device (no memory for tensors), stopping with
    :class:`OverBudget` once more than ``budget`` modules, parameters and buffers have been registered — so a
    config from an untrusted file costs time in proportion to ``budget``, not to what it asks for.

    Raises:
        OverBudget: the budget ran out. ValueError, TypeError: the config does not build.
    """
    from torch.nn.modules import module as m

    hooks = [m.register_module_module_registration_hook(_count),
             m.register_module_parameter_registration_hook(_count),
             m.register_module_buffer_registration_hook(_count)]
    _budget.left = budget
    try:
        with torch.device("meta"):
            return create_model(arch, **config)
    finally:
        _budget.left = None
        for h in hooks:
            h.remove()


__all__ = ["ARCHITECTURES", "PADDING_MODES", "UPSAMPLERS", "OverBudget", "SRNet", "UNet", "build_bounded",
           "create_model", "make_upsampler", "migrate_config", "supported_factors"]
