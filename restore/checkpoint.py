"""Training checkpoints as safetensors: the network's tensors, the optimiser's tensors and the run state (JSON in
the header's metadata), so a resumable run can be kept — and committed — without pickle.

Layout: tensor ``model.<name>`` for each entry of the network's state dict, ``opt.<param index>.<name>`` for each
tensor of the optimiser's per-parameter state; the metadata entry ``restore_checkpoint`` holds the optimiser's
param groups, its non-tensor per-parameter values and the run state. Written through a temporary file and a
rename, so an interruption never leaves half a checkpoint.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

KEY = "restore_checkpoint"


def save_checkpoint(path: str | Path, model: dict[str, torch.Tensor], optimizer: dict[str, Any] | None = None,
                    state: dict[str, Any] | None = None) -> Path:
    """Write a network's state dict (and optionally an optimiser's and a JSON-able run state) atomically.

    Args:
        path: the ``.safetensors`` file to write.
        model: ``module.state_dict()``; a tensor shared by several names is stored once.
        optimizer: ``optimizer.state_dict()``, or None.
        state: plain values (the training loop's step, wall time, history…), or None.

    Returns:
        ``path``.
    """
    from safetensors.torch import save_file

    path = Path(path)
    # a tensor shared by several names (a multi-scale body) is stored once; the other names are aliases
    tensors: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    first: dict[tuple, str] = {}
    for k, v in model.items():
        key = (v.data_ptr(), tuple(v.shape), tuple(v.stride()), v.dtype)
        if key in first:
            aliases[f"model.{k}"] = first[key]
        else:
            first[key] = f"model.{k}"
            tensors[f"model.{k}"] = v.detach().cpu().contiguous()
    meta: dict[str, Any] = {"state": state, "aliases": aliases}
    if optimizer is not None:
        scalars: dict[str, dict[str, Any]] = {}
        for idx, per in optimizer["state"].items():
            for name, v in per.items():
                if isinstance(v, torch.Tensor):
                    tensors[f"opt.{idx}.{name}"] = v.detach().cpu().contiguous()
                else:
                    scalars.setdefault(str(idx), {})[name] = v
        meta["optimizer"] = {"param_groups": optimizer["param_groups"], "scalars": scalars}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={KEY: json.dumps(meta)})
    os.chmod(tmp, 0o644)  # save_file creates the file private; a run folder is shared like any other file
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu"
                    ) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None, dict[str, Any] | None]:
    """``(model state dict, optimiser state dict or None, run state or None)`` of a :func:`save_checkpoint` file."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    with safe_open(str(path), framework="pt") as fh:
        meta = json.loads((fh.metadata() or {})[KEY])
    tensors = load_file(str(path), device=str(device))
    for name, target in (meta.get("aliases") or {}).items():
        tensors[name] = tensors[target]
    model = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    opt = None
    if meta.get("optimizer") is not None:
        per: dict[int, dict[str, Any]] = {}
        for k, v in tensors.items():
            if k.startswith("opt."):
                _, idx, name = k.split(".", 2)
                per.setdefault(int(idx), {})[name] = v
        for idx, values in meta["optimizer"]["scalars"].items():
            per.setdefault(int(idx), {}).update(values)
        opt = {"state": per, "param_groups": meta["optimizer"]["param_groups"]}
    return model, opt, meta.get("state")
