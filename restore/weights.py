"""Weights as safetensors with the architecture config and provenance in the file's metadata.

A file holds tensors plus one metadata entry ``"restore"``: a JSON object with at least
``{"format": 1, "name", "task", "arch", "config": {constructor kwargs}}`` and optionally ``scale``,
``params``, ``default`` (bool), ``training`` (data, iterations, hardware, wall time, command) and
``scores``. :func:`load_model` rebuilds the model from the file alone; no pickle is involved anywhere.
Listing the shipped models reads only the JSON headers, so it needs no torch.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from restore.catalogue import _shipped, parse_restore_metadata, read_metadata, resolve
from restore.errors import ModelError

FORMAT = 1
#: a weights file with more parameters than this is refused before anything is built (ours have < 2 M)
MAX_PARAMS = 100_000_000


def _data_sha256(blob: bytes) -> str:
    """sha256 of a serialised safetensors file's tensor data (the bytes after its header)."""
    (n,) = struct.unpack("<Q", blob[:8])
    return hashlib.sha256(memoryview(blob)[8 + n:]).hexdigest()


def _write(path: Path, state: dict[str, Any], info: dict[str, Any]) -> Path:
    """Write tensors + ``restore`` metadata to ``path`` atomically (temp file in the same folder, rename), the
    metadata naming the tensor data's sha256 (``tensors_sha256``)."""
    from safetensors.torch import save

    # the tensors' own digest, apart from the metadata: a file whose metadata is edited later still shows it
    # holds the same network (the data section does not change when only the header does)
    info = {**info, "tensors_sha256": _data_sha256(save(state))}
    blob = save(state, metadata={"restore": json.dumps(info, sort_keys=True)})
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would make shared weights unreadable to other users
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


#: safetensors dtypes and their sizes in bytes; any other dtype is refused
DTYPE_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
               "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
#: a file with more tensors than this is refused before anything is built (ours have < 100)
MAX_TENSORS = 4096
#: the JSON header's size limit (ours are a few kB)
MAX_HEADER = 16 << 20
#: an int anywhere in a config may reach the file's tensor count or its largest tensor dimension, or this
#: much (loop counts such as the pre-fill's sweeps are not tensor sizes)
INT_FLOOR = 1024


@dataclass(frozen=True)
class Header:
    """A validated safetensors header: each tensor's dtype and shape (in file order) and the metadata."""

    tensors: dict[str, tuple[str, tuple[int, ...]]]
    metadata: dict[str, str]
    size: int  # bytes of the header JSON

    @property
    def elements(self) -> int:
        return sum(math.prod(shape) for _, shape in self.tensors.values())


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def parse_header(raw: bytes, data_len: int, name: str) -> Header:
    """Validate a safetensors header (the JSON after the 8-byte length) against the ``data_len`` bytes that
    follow it: a JSON object of tensors with a known dtype, a shape of non-negative ints and offsets that tile
    the data exactly, plus an optional ``__metadata__`` of strings.

    Raises:
        ModelError: anything else, in one line.
    """
    def bad(why: str) -> ModelError:
        return ModelError(f"{name}: not a valid safetensors file ({why})")

    try:
        header = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise bad("header is not JSON") from None
    if not isinstance(header, dict):
        raise bad("header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise bad("__metadata__ is not a map of strings")
    if len(header) > MAX_TENSORS:
        raise bad(f"more than {MAX_TENSORS} tensors")
    tensors: dict[str, tuple[str, tuple[int, ...]]] = {}
    spans = []
    for key, t in header.items():
        if not isinstance(t, dict) or set(t) != {"dtype", "shape", "data_offsets"}:
            raise bad(f"entry {key[:40]!r} is not a tensor")
        dtype, shape, offs = t["dtype"], t["shape"], t["data_offsets"]
        if not isinstance(dtype, str) or dtype not in DTYPE_SIZES:
            raise bad(f"tensor {key[:40]!r} has an unknown dtype")
        if not isinstance(shape, list) or len(shape) > 8 or not all(_is_int(d) and 0 <= d <= MAX_PARAMS for d in shape):
            raise bad(f"tensor {key[:40]!r} has an invalid shape")
        if not isinstance(offs, list) or len(offs) != 2 or not all(_is_int(o) for o in offs) \
                or not 0 <= offs[0] <= offs[1] <= data_len:
            raise bad(f"tensor {key[:40]!r} has invalid offsets")
        n = math.prod(shape)
        if n > MAX_PARAMS or offs[1] - offs[0] != n * DTYPE_SIZES[dtype]:
            raise bad(f"tensor {key[:40]!r}: offsets disagree with its shape")
        tensors[key] = (dtype, tuple(shape))
        spans.append((offs[0], offs[1]))
    end = 0
    for a, b in sorted(spans):
        if a != end:
            raise bad("tensor data overlaps or has gaps")
        end = b
    if end != data_len:
        raise bad("tensor data does not fill the file" if end < data_len else "truncated")
    out = Header(tensors, meta, len(raw))
    if out.elements > MAX_PARAMS:
        raise ModelError(f"{name}: more than {MAX_PARAMS // 1_000_000} M parameters; not a model of this project")
    return out


def read_file(path: Path) -> tuple[Header, bytes, str]:
    """A weights file's validated header, its bytes and its digest (:func:`weights_digest`), read once (so the
    digest is of exactly the bytes loaded). The header is checked before the tensor data is read: a huge file is
    refused unread.

    Raises:
        ModelError: unreadable, not a regular file, or a malformed header.
    """
    import stat

    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused as not a regular file
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise ModelError(f"{path.name}: not a regular file")
            head = fh.read(8)
            if len(head) != 8:
                raise ModelError(f"{path.name}: not a safetensors file (too short)")
            (n,) = struct.unpack("<Q", head)
            if n > min(MAX_HEADER, st.st_size - 8):
                raise ModelError(f"{path.name}: not a safetensors file (bad header length)")
            raw = fh.read(n)
            header = parse_header(raw, st.st_size - 8 - n, path.name)
            data = head + raw + fh.read()
    except OSError as e:
        raise ModelError(f"cannot read weights {path}: {e.strerror or e}") from None
    if len(data) != st.st_size:
        raise ModelError(f"{path.name}: changed while being read")
    return header, data, weights_digest(header, data[8 + header.size:])


def weights_digest(header: Header, tensor_data: bytes) -> str:
    """sha256 of what a file computes: the architecture and config in its metadata, its tensor table and the
    tensor bytes. Other metadata (scores, descriptions, provenance) is left out, so editing it keeps the
    identity; any change to the weights or the network does not."""
    import hashlib

    try:
        meta = json.loads(header.metadata.get("restore", "null"))
    except (ValueError, RecursionError):
        meta = None
    network = {k: meta.get(k) for k in ("arch", "config")} if isinstance(meta, dict) else None
    h = hashlib.sha256(json.dumps({"network": network, "tensors": header.tensors}, sort_keys=True).encode())
    h.update(tensor_data)
    return h.hexdigest()


def _info(header: Header, name: str) -> dict[str, Any]:
    """The ``restore`` metadata, its fields' types checked."""
    info = parse_restore_metadata(header.metadata.get("restore"), name)
    for key, kind in (("name", str), ("task", str), ("arch", str), ("config", dict)):
        if key not in info:
            raise ModelError(f"{name}: metadata lacks {key!r}")
        if not isinstance(info[key], kind):
            raise ModelError(f"{name}: metadata {key!r} is not a {'string' if kind is str else 'JSON object'}")
    if info.get("scale") is not None and not (_is_int(info["scale"]) and info["scale"] in (1, 2, 3, 4)):
        raise ModelError(f"{name}: metadata 'scale' is not 1 (restoration), 2, 3 or 4")
    return info


def check_config(config: Any, header: Header, name: str) -> None:
    """Refuse a config that asks for more than the file holds, before anything is built: no int in it may
    exceed the file's tensor count or its largest tensor dimension (or ``INT_FLOOR``), no list may be longer
    than the tensor count, and floats must be finite.

    Raises:
        ModelError: the first value out of bounds.
    """
    dims = [d for _, shape in header.tensors.values() for d in shape]
    bound = max(len(header.tensors), max(dims, default=0), INT_FLOOR)

    def walk(v: Any, where: str, depth: int) -> None:
        if depth > 4:
            raise ModelError(f"{name}: config is nested too deeply ({where})")
        if isinstance(v, bool) or v is None:
            return
        if _is_int(v):
            if abs(v) > bound:
                raise ModelError(f"{name}: config {where} = {v} is more than the file holds ({len(header.tensors)} "
                                 f"tensors, none larger than {max(dims, default=0)} along any axis)")
        elif isinstance(v, float):
            if not math.isfinite(v):
                raise ModelError(f"{name}: config {where} is not finite")
        elif isinstance(v, str):
            if len(v) > 256:
                raise ModelError(f"{name}: config {where} is too long")
        elif isinstance(v, list):
            if len(v) > max(len(header.tensors), 16):
                raise ModelError(f"{name}: config {where} has more entries than the file has tensors")
            for i, x in enumerate(v):
                walk(x, f"{where}[{i}]", depth + 1)
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{where}.{k}" if where else str(k), depth + 1)
        else:
            raise ModelError(f"{name}: config {where} has an unsupported value")

    walk(config, "", 0)


def read_info(name_or_path: str | Path) -> dict[str, Any]:
    """A weights file's ``restore`` metadata after the checks :func:`load_model` makes before building anything
    (header structure, metadata types, config bounded by the tensors present); no torch needed.

    Raises:
        ModelError: unknown name, missing or malformed file, a config asking for more than the file holds.
    """
    path = resolve(name_or_path)
    header, _, _ = read_file(path)
    info = _info(header, path.name)
    check_config(info["config"], header, path.name)
    return info


def load_model(name_or_path, *, device: str = "auto"):
    """A :class:`~restore.models.descriptor.ModelDescriptor` of a network rebuilt from a weights file (a
    shipped name or a path), eval mode, on ``device``; the file's metadata is its ``metadata`` and the sha256 of
    its network and tensors its ``digest`` (:func:`weights_digest`). An ``nn.Module`` or a descriptor is
    described and moved instead.

    A weights file is untrusted input: its header is validated, and its config bounded by the tensors the file
    holds, before anything is built; the network is then built on the meta device within a budget set by the
    tensor count, and its shapes compared with the file's, before any tensor is materialised.

    Raises:
        ModelError: unknown name, missing or corrupt file, config and tensors that disagree, too many
            parameters, non-finite weights, or a module that is not one of this project's networks.
    """
    import torch
    from torch import nn

    from restore.devices import pick_device
    from restore.models import build_bounded, create_model, migrate_config
    from restore.models.descriptor import ModelDescriptor, describe

    dev = pick_device(device)
    if isinstance(name_or_path, (nn.Module, ModelDescriptor)):
        return describe(name_or_path).to(dev)
    path = resolve(name_or_path)
    header, data, digest = read_file(path)
    info = _info(header, path.name)
    if header.elements > MAX_PARAMS:
        raise ModelError(f"{path.name}: more than {MAX_PARAMS // 1_000_000} M parameters; not a model of this project")
    check_config(info["config"], header, path.name)
    try:
        config = migrate_config(info["arch"], info["config"])
        check_config(config, header, path.name)
        # on the meta device (no memory) and within a budget of module / tensor registrations set by the file's
        # tensor count: a config asking for a deeper network than the file holds stops early
        skeleton = build_bounded(info["arch"], config, 8 * len(header.tensors) + 256)
    except ModelError:
        raise
    except Exception as e:  # any failure to build from an untrusted config is the file's fault
        raise ModelError(f"{path.name}: config in metadata is invalid: {_one_line(e)}") from None
    expected = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    got = {k: shape for k, (_, shape) in header.tensors.items()}
    if expected != got:
        diff = sorted(set(expected) ^ set(got)) or [k for k in expected if expected[k] != got[k]]
        raise ModelError(f"{path.name}: tensors do not match the config in its metadata "
                         f"(first difference: {diff[0][:60]})")
    if info.get("scale") is not None and getattr(skeleton, "scale", info["scale"]) != info["scale"]:
        raise ModelError(f"{path.name}: metadata says ×{info['scale']} but the config builds ×{skeleton.scale}")
    try:
        from safetensors.torch import load as load_bytes

        state = load_bytes(data)
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise ModelError(f"{path.name}: corrupt safetensors file ({_one_line(e)})") from None
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise ModelError(f"{path.name}: weights contain NaN or infinite values ({bad[0][:60]})")
    model = create_model(info["arch"], **config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:  # a dtype that cannot be copied into the parameter
        raise ModelError(f"{path.name}: tensors do not fit the network ({_one_line(e)[:200]})") from None
    for p in model.parameters():
        p.requires_grad_(False)
    return describe(model.to(dev), name=info.get("name") or path.stem, metadata=info, digest=digest)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:300]


def blend_models(a, b, t: float, *, device: str = "auto"):
    """Two models of one architecture interpolated parameter by parameter, ``(1 − t)·a + t·b`` (``torch.lerp``:
    exactly ``a`` at 0 and ``b`` at 1), as Real-ESRGAN's ``-dn`` blends its clean and its denoising model.
    Returns a descriptor named ``a+b@t``.

    Raises:
        ModelError: the files differ in architecture or config.
    """
    import hashlib

    import torch

    from restore.models.descriptor import describe

    da, db = load_model(a, device=device), load_model(b, device=device)
    ia, ib = dict(da.metadata), dict(db.metadata)
    ca, cb = ia.get("config", {}), ib.get("config", {})
    ma = da.module
    grown = {**ca, "n_blocks": cb.get("n_blocks", 0), "cond_dim": cb.get("cond_dim", 0)}
    if ia.get("arch") == ib.get("arch") == "srnet" and ca != cb and \
            {k: v for k, v in grown.items() if v or k != "cond_dim"} == cb and \
            ca.get("n_blocks", 0) <= cb.get("n_blocks", 0) and not ca.get("cond_dim"):
        # a real-photo model grown from the clean one (deeper, and/or told the input's compression): the clean
        # model gains b's extra blocks with a zero last convolution and b's condition at zero (exactly itself),
        # so the blend scales what b added by t
        from restore.models import create_model
        from restore.models.sr import deepen_state

        grown_net = create_model("srnet", **cb).to(next(db.module.parameters()).device)
        fresh = grown_net.state_dict()
        start = deepen_state(ma.state_dict(), cb["n_blocks"], db.module.state_dict())
        grown_net.load_state_dict({**{k: v for k, v in fresh.items() if k.startswith("cond.")}, **start})
        ma, ia = grown_net.eval(), {**ia, "config": cb}
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
    # and says nothing about the weights in between; so with the activation ranges a network learned for int8
    kept = {k: v for k, v in ia.items() if k not in ("cpu_int8", "int8_ranges")}
    end = ia if t == 0 else ib if t == 1 else {}
    kept.update({k: end[k] for k in ("cpu_int8", "int8_ranges") if end.get(k)})
    # the blend's identity: the two files' bytes and the weight (a change to either file is another model)
    digest = hashlib.sha256(f"{da.digest}\n{db.digest}\n{float(t)!r}".encode()).hexdigest()
    return describe(ma, name=name, metadata={**kept, "name": name, "default": False,
                                             "blend": {"a": da.name, "b": db.name, "t": t}}, digest=digest)


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
