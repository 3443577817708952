"""What a loaded network is, for the engine (spandrel's descriptor idea): the module and its contract in one
small object, so nothing downstream guesses with ``getattr`` or reads attributes pasted onto the module.

The inference contract of every network here: input ``(B, 3, H, W)`` float in [0, 1], RGB, channels-last on
CPU; an SR network returns ``(B, 3, H·scale, W·scale)``; an inpainting network takes ``(image, holes)`` with
holes ``(B, 1, H, W)`` (1 = hole) and returns ``(B, 3, H, W)``. The engine pads or cuts tiles / crops with
``receptive_radius`` pixels of context, runs under ``torch.inference_mode`` at the resolved precision, keeps
the valid part and clamps.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from torch import nn

from restore.errors import ModelError

TASKS = ("sr", "inpaint")


@dataclass(frozen=True, eq=False)
class ModelDescriptor:
    """A network and what the engine needs to know to run it.

    Attributes:
        module: the ``nn.Module`` (eval mode; call the descriptor, or the module, to run it).
        name: shipped name, file stem, or a description (``sr-x4+sr-real-x4@0.5`` for a blend).
        task: ``"sr"`` or ``"inpaint"``.
        scale: the SR factor; 1 for inpainting.
        receptive_radius: input pixels an output pixel can depend on: the context the engine cuts around a
            tile or crop, which makes tiled output equal untiled output.
        cpu_bf16: bfloat16 on CPU keeps its quality (what needs precision stays float32 inside it), so
            ``precision="auto"`` may use it on CPUs with native bf16.
        metadata: the weights file's ``restore`` metadata (config, training, scores); empty for a module built
            in code.
        digest: sha256 of the weights file's network and tensors (of both files' and the weight, for a blend):
            what the weights are, whatever the file is called; empty for a module built in code.
        grid: an SR network whose body runs on a coarser grid (a ×1 model's pixel-unshuffle), or that knows
            the JPEG block grid: tiles start on multiples of it, so every tile sees the grid the whole image
            does.
        multiple: the network pads the image's end to a multiple of it (a ×1 model's pixel-unshuffle); a
            tile's end is padded alike.
    """

    module: nn.Module
    name: str
    task: str
    scale: int = 1
    receptive_radius: int = 16
    cpu_bf16: bool = False
    metadata: Mapping[str, Any] = field(default_factory=dict)
    digest: str = ""
    grid: int = 1
    multiple: int = 1

    def __call__(self, *inputs: Any) -> Any:
        return self.module(*inputs)

    def to(self, *args: Any, **kwargs: Any) -> ModelDescriptor:
        """The same network moved like ``nn.Module.to`` (device, dtype, ``memory_format``); a new descriptor."""
        return replace(self, module=self.module.to(*args, **kwargs))

    def with_module(self, module: nn.Module, **changes: Any) -> ModelDescriptor:
        """The same contract around another module (a blend, an ONNX Runtime session), with ``changes``."""
        return replace(self, module=module, **changes)


def describe(model: nn.Module | ModelDescriptor, *, name: str | None = None,
             metadata: Mapping[str, Any] | None = None, digest: str = "") -> ModelDescriptor:
    """The descriptor of a network: returned as is for a descriptor; for a module, read from what its class
    declares (``task``, and ``scale``, ``receptive_radius``, ``cpu_bf16`` where it has them) — the one place that
    does.

    Raises:
        ModelError: the module declares no task this project runs (not one of its networks).
    """
    if isinstance(model, ModelDescriptor):
        return model
    if not isinstance(model, nn.Module):
        raise ModelError(f"not a model: {type(model).__name__}")
    task = getattr(model, "task", None)
    if task not in TASKS:
        raise ModelError(f"{type(model).__name__} is not a restore network: it declares no task "
                         f"({' or '.join(TASKS)})")
    meta = dict(metadata or {})
    return ModelDescriptor(
        module=model.eval(),
        name=name or str(meta.get("name") or type(model).__name__),
        task=task,
        scale=int(getattr(model, "scale", 1)) if task == "sr" else 1,
        receptive_radius=int(getattr(model, "receptive_radius", 16)),
        cpu_bf16=bool(getattr(model, "cpu_bf16", False)),
        metadata=meta,
        digest=digest,
        grid=int(getattr(model, "grid", getattr(model, "multiple", 1))) if task == "sr" else 1,
        multiple=int(getattr(model, "multiple", 1)) if task == "sr" else 1,
    )
