"""Method names for upscale and inpaint (classical ones and shipped CNNs) and the model-table entry type.

NumPy- and torch-free, so the CLI can list choices (``restore --help``) without importing either.
"""
from __future__ import annotations

from dataclasses import dataclass, field

UPSCALE_METHODS = ("nearest", "bilinear", "bicubic", "lanczos", "bicubic-matlab")
INPAINT_METHODS = ("telea", "ns", "biharmonic", "pushpull")


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


def upscale_methods() -> list[str]:
    """Valid ``method`` names for :func:`restore.upscale`: auto, shipped SR models, classical methods."""
    from restore.weights import shipped_models

    cnn = sorted({m.name for m in shipped_models() if m.task == "sr"})
    return ["auto", *cnn, *UPSCALE_METHODS]


def inpaint_methods() -> list[str]:
    """Valid ``method`` names for :func:`restore.inpaint`: auto, shipped inpainting models, classical."""
    from restore.weights import shipped_models

    cnn = sorted({m.name for m in shipped_models() if m.task == "inpaint"})
    return ["auto", *cnn, *INPAINT_METHODS]
