"""Devices and arithmetic: which device runs the networks and in which precision. The lowest layer of the
package that imports torch (the engine, the weights loader and training build on it; it imports none of them)."""
from __future__ import annotations

import functools
import os

import torch

from restore.errors import InputError
from restore.catalogue import PRECISIONS

DEVICES = ("auto", "cpu", "cuda", "mps")


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` → CUDA if available, else CPU (MPS only when asked for: its conv coverage is incomplete)."""
    if isinstance(device, torch.device):
        return device
    if device not in DEVICES:
        raise InputError(f"unknown device {device!r}; choose from {', '.join(DEVICES)}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("device 'cuda' requested but no CUDA GPU is available")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InputError("device 'mps' requested but MPS is not available")
    return torch.device(device)


def cpu_has_bf16() -> bool:
    """Whether oneDNN has native bfloat16 kernels on this CPU (AVX512-BF16 / AMX)."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@functools.lru_cache(maxsize=1)
def cpu_has_vnni() -> bool:
    """Whether this is an x86 CPU with int8 dot-product instructions (AVX512-VNNI, AVX-VNNI or AMX-INT8), on
    which ONNX Runtime's quantised convolutions run fast (``/proc/cpuinfo``, read once: every SR call asks; False
    where it cannot be read: ARM and other systems were not measured)."""
    try:
        with open("/proc/cpuinfo") as fh:
            flags = next((ln.split(":", 1)[1].split() for ln in fh if ln.startswith("flags")), [])
    except OSError:
        return False
    return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & set(flags))


def env_precision(precision: str) -> str:
    """``precision`` with ``auto`` replaced by ``$RESTORE_PRECISION`` when that is set (auto, fp32, bf16, fp16).

    Raises:
        InputError: an unknown name, here or in the environment.
    """
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    env = os.environ.get("RESTORE_PRECISION", "auto").lower() or "auto"
    if env not in PRECISIONS or env == "int8":  # int8 is chosen with the backend, not here
        raise InputError(f"RESTORE_PRECISION={env!r}; choose from auto, fp32, bf16, fp16")
    return env


_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
#: int8 asked of PyTorch (here, and by the engine's backend choice)
INT8_TORCH_ERROR = ("int8 runs super-resolution models on ONNX Runtime only: use --backend auto or onnxruntime "
                    "(library: backend=\"auto\")")


def precision_dtype(precision: str, dev: torch.device, cpu_bf16: bool = False) -> torch.dtype | None:
    """The precision → dtype mapping (``None`` = float32), the one used for inference and for training.

    Args:
        precision: ``auto`` (float16 on CUDA; bfloat16 on a CPU with native bf16 kernels when ``cpu_bf16``;
            float32 elsewhere), ``fp32``, ``bf16`` or ``fp16`` (forced, on any device).
        dev: the device the network runs on.
        cpu_bf16: whether ``auto`` may choose bfloat16 on a CPU (the model declares it safe; training passes True).

    Raises:
        InputError: an unknown name, or ``int8`` (ONNX Runtime's, never a torch dtype).
    """
    if precision == "int8":
        raise InputError(INT8_TORCH_ERROR)
    if precision not in ("auto", "fp32", "bf16", "fp16"):
        raise InputError(f"unknown precision {precision!r}; choose auto, bf16, fp16 or fp32")
    if precision == "auto":
        if dev.type == "cuda":
            return torch.float16
        if dev.type == "cpu" and cpu_bf16 and cpu_has_bf16():
            return torch.bfloat16
        return None
    return _DTYPES.get(precision)


def resolve_precision(precision: str, dev: torch.device, cpu_bf16: bool = False) -> torch.dtype | None:
    """The reduced dtype a network runs in (``None`` = float32): :func:`precision_dtype` after the checks of
    inference.

    ``auto``: float16 on CUDA; bfloat16 on a CPU whose oneDNN has native bf16 kernels (AVX512-BF16 / AMX), for
    a model whose descriptor says it is safe (``cpu_bf16``: what needs precision — the SR nets' bicubic skip, the
    inpainting pre-fill — stays float32 inside them); float32 elsewhere, where emulated bf16 is slower than
    float32. ``fp32`` / ``bf16`` / ``fp16`` force one; ``int8`` is ONNX Runtime's (the engine's onnxruntime
    backend), never a torch dtype. ``RESTORE_PRECISION`` (same values) replaces ``auto``
    from the environment, e.g. to check a result against full precision.

    Raises:
        InputError: an unknown name, or fp16 on a CPU (no fast kernels there).
    """
    precision = env_precision(precision)
    if precision == "fp16" and dev.type == "cpu":
        raise InputError("fp16 is not supported on CPU; use bf16 or fp32")
    return precision_dtype(precision, dev, cpu_bf16)


def autocast(dev: torch.device, dtype: torch.dtype | None):
    """Autocast to ``dtype`` on ``dev`` (disabled for ``None``)."""
    kind = dev.type if dev.type in ("cuda", "cpu") else "cpu"
    if dtype is None:
        return torch.autocast(kind, enabled=False)
    return torch.autocast(kind, dtype=dtype)


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    import platform

    try:
        with open("/proc/cpuinfo") as fh:
            name = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "")
            if name:
                return name
    except OSError:  # not Linux
        pass
    return platform.processor() or platform.machine()


def hardware_note(device: torch.device | str = "cpu") -> str:
    """The hardware a training run or a timing was measured on, for metadata and reports: the GPU's name, or
    the CPU model with its cores and torch's threads; and torch's version."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return f"{torch.cuda.get_device_name(dev)}, torch {torch.__version__}"
    n = torch.get_num_threads()
    return f"{cpu_model()} ({os.cpu_count()} cores), {n} thread{'s' * (n != 1)}, torch {torch.__version__}"
