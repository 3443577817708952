"""Weights as safetensors with the architecture config and provenance in the file's metadata.

A file holds tensors plus one metadata entry ``"restore"``: a JSON object with at least
``{"format": 1, "name", "task", "arch", "config": {constructor kwargs}}`` and optionally ``scale``,
``params``, ``default`` (bool), ``training`` (data, iterations, hardware, wall time, command) and
``scores``. :func:`load_model` rebuilds the model from the file alone; no pickle is involved anywhere.
Listing the shipped models reads only the JSON headers, so it needs no torch.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from restore.catalogue import _shipped, read_metadata, resolve
from restore.errors import ModelError

FORMAT = 1
#: a weights file with more parameters than this is refused before anything is built (ours have < 2 M)
MAX_PARAMS = 100_000_000


def _write(path: Path, state: dict[str, Any], info: dict[str, Any]) -> Path:
    """Write tensors + ``restore`` metadata to ``path`` atomically (temp file in the same folder, rename)."""
    from safetensors.torch import save_file

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(state, tmp, metadata={"restore": json.dumps(info, sort_keys=True)})
        # after writing: save_file recreates the file, so a mode set on mkstemp's 0600 file does not survive,
        # and 0600 would make shared weights unreadable to other users
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _shipped.cache_clear()
    return path


def save_model(model, path: str | Path, info: dict[str, Any]) -> Path:
    """Write ``model``'s tensors and ``info`` (name, task, arch, config, ...) atomically as safetensors."""
    info = {"format": FORMAT, **info}
    info.setdefault("params", sum(p.numel() for p in model.parameters()))
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return _write(path, state, info)


def load_model(name_or_path, *, device: str = "auto"):
    """A :class:`~restore.models.descriptor.ModelDescriptor` of a network rebuilt from a weights file (a
    shipped name or a path), eval mode, on ``device``; the file's metadata is its ``metadata``. An ``nn.Module``
    or a descriptor is described and moved instead.

    Raises:
        ModelError: unknown name, missing or corrupt file, config and tensors that disagree, too many
            parameters, non-finite weights, or a module that is not one of this project's networks.
    """
    import torch
    from torch import nn

    from restore.devices import pick_device
    from restore.models import create_model, migrate_config
    from restore.models.descriptor import ModelDescriptor, describe

    dev = pick_device(device)
    if isinstance(name_or_path, (nn.Module, ModelDescriptor)):
        return describe(name_or_path).to(dev)
    path = resolve(name_or_path)
    info = read_metadata(path)
    try:
        from safetensors.torch import load_file

        state = load_file(str(path))
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise ModelError(f"{path.name}: corrupt safetensors file ({e})") from None
    try:
        config = migrate_config(info["arch"], info["config"])
        # built on the meta device first: no memory is allocated, so a config that asks for an absurd network
        # is refused by its shapes and size before anything is built for real
        with torch.device("meta"):
            skeleton = create_model(info["arch"], **config)
    except (TypeError, ValueError) as e:
        raise ModelError(f"{path.name}: config in metadata is invalid: {e}") from None
    expected = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    if expected != got:
        diff = sorted(set(expected) ^ set(got)) or [k for k in expected if expected[k] != got[k]]
        raise ModelError(f"{path.name}: tensors do not match the config in its metadata (first difference: {diff[0]})")
    if sum(v.numel() for v in state.values()) > MAX_PARAMS:
        raise ModelError(f"{path.name}: more than {MAX_PARAMS // 1_000_000} M parameters; not a model of this project")
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise ModelError(f"{path.name}: weights contain NaN or infinite values ({bad[0]})")
    model = create_model(info["arch"], **config)
    model.load_state_dict(state, strict=True)
    for p in model.parameters():
        p.requires_grad_(False)
    return describe(model.to(dev), name=info.get("name") or path.stem, metadata=info)


def blend_models(a, b, t: float, *, device: str = "auto"):
    """Two models of one architecture interpolated parameter by parameter, ``(1 − t)·a + t·b`` (``torch.lerp``:
    exactly ``a`` at 0 and ``b`` at 1), as Real-ESRGAN's ``-dn`` blends its clean and its denoising model.
    Returns a descriptor named ``a+b@t``.

    Raises:
        ModelError: the files differ in architecture or config.
    """
    import torch

    from restore.models.descriptor import describe

    da, db = load_model(a, device=device), load_model(b, device=device)
    ia, ib = dict(da.metadata), dict(db.metadata)
    ca, cb = ia.get("config", {}), ib.get("config", {})
    ma = da.module
    if ia.get("arch") == ib.get("arch") == "srnet" and ca.get("n_blocks", 0) < cb.get("n_blocks", 0) and \
            {**ca, "n_blocks": 0} == {**cb, "n_blocks": 0}:
        # a deeper real-photo model grown from the clean one: the clean model gains b's extra blocks with a zero
        # last convolution (exactly itself), so the blend scales those blocks' contribution by t
        from restore.models import create_model
        from restore.models.sr import deepen_state

        deeper = create_model("srnet", **cb).to(next(db.module.parameters()).device)
        deeper.load_state_dict(deepen_state(ma.state_dict(), cb["n_blocks"], db.module.state_dict()))
        ma, ia = deeper.eval(), {**ia, "config": cb}
    if not ia.get("arch") or (ia.get("arch"), ia.get("config")) != (ib.get("arch"), ib.get("config")):
        raise ModelError(f"cannot blend {da.name!r} and {db.name!r}: different architectures")
    sb = db.module.state_dict()
    with torch.no_grad():
        for k, v in ma.state_dict().items():
            if v.is_floating_point():
                v.copy_(torch.lerp(v, sb[k], t))
    name = f"{da.name}+{db.name}@{t:g}"
    # described from the blended module itself: a deeper blend sees further (receptive radius) than ``a``
    # the int8 declaration (restore.engine.auto_int8) was measured on a's and b's own weights: it holds at the
    # ends, where the blend is one of them weight for weight (so denoise 0 / 1 run exactly as the two models do),
    # and says nothing about the weights in between
    kept = {k: v for k, v in ia.items() if k != "cpu_int8"}
    end = ia if t == 0 else ib if t == 1 else {}
    if end.get("cpu_int8"):
        kept["cpu_int8"] = end["cpu_int8"]
    return describe(ma, name=name, metadata={**kept, "name": name, "default": False,
                                             "blend": {"a": da.name, "b": db.name, "t": t}})


def update_metadata(path: str | Path, **fields: Any) -> Path:
    """Merge ``fields`` into a weights file's ``restore`` metadata (e.g. measured scores), atomically."""
    from safetensors.torch import load_file

    path = Path(path)
    info = read_metadata(path)
    for k, v in fields.items():
        if isinstance(v, dict) and isinstance(info.get(k), dict):
            info[k] = {**info[k], **v}
        else:
            info[k] = v
    state = load_file(str(path))
    return _write(path, state, info)
