"""Method names for upscale and inpaint (classical ones and shipped CNNs) and the model-table entry type.

NumPy- and torch-free, so the CLI can list choices (``restore --help``) without importing either.
"""
from __future__ import annotations

from dataclasses import dataclass, field

UPSCALE_METHODS = ("nearest", "bilinear", "bicubic", "lanczos", "bicubic-matlab")
#: inpainting methods of :func:`restore.classical.inpaint` (whole image, no crops)
CLASSICAL_INPAINT_METHODS = ("telea", "ns", "biharmonic")
#: the CNN's classical pre-fill as a method of its own; it runs through the CNN's crop path (engine), so it is
#: exactly the input a network with the default pre-fill corrects
PREFILL_METHOD = "pushpull"
INPAINT_METHODS = (*CLASSICAL_INPAINT_METHODS, PREFILL_METHOD)
#: the networks' arithmetic (restore.devices.resolve_precision)
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
#: what runs an SR network: PyTorch, or ONNX Runtime's CPU provider (float32; 2.3× PyTorch fp32 for sr-fast-x4 on the
#: reference CPU, slower than bf16 PyTorch for the 48-channel models: benchmarks/NOTES.md, session 5)
BACKENDS = ("torch", "onnxruntime")


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
