"""The catalogue: method names (classical and shipped CNNs), the shipped models read from their safetensors
headers, precisions and backends, and the model-table entry type.

NumPy- and torch-free, so the CLI can list choices (``restore --help``) without importing either; the weights
loader (:mod:`restore.weights`) builds on it.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from restore.errors import ModelError

WEIGHTS_DIR = Path(__file__).parent / "weights"

UPSCALE_METHODS = ("nearest", "bilinear", "bicubic", "lanczos", "bicubic-matlab")
#: inpainting methods of :func:`restore.classical.inpaint` (whole image, no crops)
CLASSICAL_INPAINT_METHODS = ("telea", "ns", "biharmonic")
#: the CNN's classical pre-fill as a method of its own; it runs through the CNN's crop path (engine), so it is
#: exactly the input a network with the default pre-fill corrects
PREFILL_METHOD = "pushpull"
#: the CNN's fill for structure plus texture copied from the photo's own known pixels (restore.texture)
TEXTURE_METHOD = "texture"
INPAINT_METHODS = (*CLASSICAL_INPAINT_METHODS, PREFILL_METHOD, TEXTURE_METHOD)
#: the networks' arithmetic (restore.devices.resolve_precision); int8 = SR models quantised for ONNX Runtime
#: (restore.export.onnx_int8_bytes), with the onnxruntime backend only — what auto picks on CPUs with VNNI for
#: the models whose file declares cpu_int8 (restore.engine.auto_int8)
PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
#: what runs an SR network: auto (ONNX Runtime for int8, PyTorch otherwise: restore.engine.resolve_backend has
#: the measurements), PyTorch, or ONNX Runtime's CPU provider
BACKENDS = ("auto", "torch", "onnxruntime")


@dataclass(frozen=True)
class ModelInfo:
    """One entry of :func:`list_models`."""

    name: str
    task: str  # "sr" | "inpaint"
    kind: str  # "classical" | "cnn"
    scales: tuple[int, ...] = ()
    params: int | None = None
    scores: dict[str, float] = field(default_factory=dict)
    description: str = ""
    path: str | None = None


def format_params(n: int | None, unknown: str = "") -> str:
    """A parameter count for tables: ``292.3k``, ``1.25M``; ``–`` for none (classical), ``unknown`` for None."""
    if n is None:
        return unknown
    if n == 0:
        return "–"
    return f"{n / 1e6:.2f}M" if n >= 1_000_000 else f"{n / 1e3:.1f}k"


def real_photo_trained(meta: dict[str, Any]) -> bool:
    """Whether a model file's metadata says it was trained on the real-photo pipeline (its settings recorded
    as a dict), not on the published bicubic downscale (recorded as a description)."""
    return isinstance(meta.get("training", {}).get("degradation"), dict)


def upscale_methods() -> list[str]:
    """Valid ``method`` names for :func:`restore.upscale`: auto, shipped SR models (not the ×1 restoration
    ones: :func:`restore.denoise`), classical methods."""
    cnn = sorted({m.name for m in shipped_models() if m.task == "sr" and 1 not in m.scales})
    return ["auto", *cnn, *UPSCALE_METHODS]


def inpaint_methods() -> list[str]:
    """Valid ``method`` names for :func:`restore.inpaint`: auto, shipped inpainting models, classical."""
    cnn = sorted({m.name for m in shipped_models() if m.task == "inpaint"})
    return ["auto", *cnn, *INPAINT_METHODS]


# --- the shipped models, from their headers ------------------------------------------------------------

def parse_restore_metadata(meta: Any, name: str) -> dict[str, Any]:
    """The ``restore`` entry of a safetensors header's metadata (a JSON string) as a dict.

    Raises:
        ModelError: missing, not a string, not JSON, or not a JSON object.
    """
    if not isinstance(meta, str):
        raise ModelError(f"{name}: no 'restore' metadata; cannot tell which architecture it holds")
    try:
        info = json.loads(meta)
    except (ValueError, RecursionError):
        raise ModelError(f"{name}: 'restore' metadata is not valid JSON") from None
    if not isinstance(info, dict):
        raise ModelError(f"{name}: 'restore' metadata is not a JSON object")
    return info


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``restore`` metadata of a safetensors file (header only; no tensors read)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(8)
            if len(raw) != 8:
                raise ModelError(f"{path.name}: not a safetensors file (too short)")
            (n,) = struct.unpack("<Q", raw)
            if n > 100_000_000:
                raise ModelError(f"{path.name}: not a safetensors file (bad header length)")
            header = json.loads(fh.read(n))
    except OSError as e:
        raise ModelError(f"cannot read weights {path}: {e.strerror or e}") from None
    except (ValueError, RecursionError):  # bad JSON or bytes, or nesting deeper than the parser goes
        raise ModelError(f"{path.name}: not a safetensors file (bad header)") from None
    tables = header.get("__metadata__") if isinstance(header, dict) else None
    info = parse_restore_metadata(tables.get("restore") if isinstance(tables, dict) else None, path.name)
    for key in ("name", "task", "arch", "config"):
        if key not in info:
            raise ModelError(f"{path.name}: metadata lacks {key!r}")
    return info


@lru_cache(maxsize=1)
def _shipped() -> tuple[tuple[Path, dict[str, Any]], ...]:
    out = []
    for p in sorted(WEIGHTS_DIR.glob("*.safetensors")):
        try:
            out.append((p, read_metadata(p)))
        except ModelError:
            continue
    return tuple(out)


def shipped_models() -> list:
    """``ModelInfo`` for every model under ``restore/weights``."""
    res = []
    for p, m in _shipped():
        scales = (m["scale"],) if m.get("scale") else ()
        res.append(ModelInfo(m["name"], m["task"], "cnn", scales, m.get("params"), dict(m.get("scores", {})),
                             m.get("description", ""), str(p)))
    return res


def default_model(task: str, scale: int | None = None, *, jpeg: bool = False) -> str | None:
    """Name of the shipped default model for a task (and scale), or ``None``.

    ``jpeg``: for an input that states a JPEG quality: a default made for such inputs (its metadata's
    ``inputs`` is ``"jpeg"``) comes first; without it, such models are passed over.
    """
    general = None
    for _p, m in _shipped():
        if m["task"] == task and m.get("default") and (scale is None or m.get("scale") == scale):
            if m.get("inputs") != "jpeg":
                general = general or m["name"]
            elif jpeg:
                return m["name"]
    return general


def default_names() -> set[str]:
    """The shipped models some input gets by default: :func:`default_model` for every task, scale and kind of
    input (a JPEG file, or any other)."""
    slots = {(m["task"], m.get("scale") if m["task"] == "sr" else None) for _p, m in _shipped()}
    return {n for task, scale in slots for jpeg in (False, True) if (n := default_model(task, scale, jpeg=jpeg))}


def resolve(name_or_path: str | Path) -> Path:
    """A shipped model name or a path → the weights file."""
    s = str(name_or_path)
    for p, m in _shipped():
        if m["name"] == s:
            return p
    p = Path(s).expanduser()
    if p.suffix == ".safetensors" or p.exists():
        if not p.is_file():
            raise ModelError(f"weights file not found: {p}")
        return p
    names = ", ".join(m["name"] for _p, m in _shipped()) or "none shipped"
    raise ModelError(f"unknown model {s!r} (shipped: {names})")
