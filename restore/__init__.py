"""restore: image restoration and upsampling (CNN inpainting and super-resolution).

Public API (NumPy in, NumPy out)::

    from restore import upscale, denoise, inpaint, list_models, load_model
"""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

# OpenMP threads that wait for each other spin by default: on a machine where another process is busy, two
# spinning threads on two cores were 2.8× (SR) to 7.7× (inpainting) slower than one; passive waiting kept two
# threads faster than one under the same load (benchmarks/threads_under_load.py). libgomp reads this once, when
# torch loads it, so it can only be set before torch is imported; a value the user set is kept.
if "torch" not in sys.modules:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from restore.errors import ClippedWarning, ImageReadError, ImageWriteError, InputError, ModelError, RestoreError

if TYPE_CHECKING:
    from restore.api import denoise, inpaint, list_models, load_model, upscale

_API = ("upscale", "denoise", "inpaint", "list_models", "load_model")


def __getattr__(name: str) -> Any:
    # lazy (PEP 562): `restore --help` and other light imports of the package do not pay for NumPy
    if name in _API:
        from restore import api

        return getattr(api, name)
    raise AttributeError(f"module 'restore' has no attribute {name!r}")

__version__ = "0.1.0"
__all__ = [
    "upscale", "denoise", "inpaint", "list_models", "load_model",
    "RestoreError", "InputError", "ImageReadError", "ImageWriteError", "ModelError", "ClippedWarning",
]
