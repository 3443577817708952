"""restore: image restoration and upsampling (CNN inpainting and super-resolution).

Public API (NumPy in, NumPy out)::

    from restore import upscale, inpaint, list_models, load_model
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from restore.errors import ImageReadError, ImageWriteError, InputError, ModelError, RestoreError

if TYPE_CHECKING:
    from restore.api import inpaint, list_models, load_model, upscale

_API = ("upscale", "inpaint", "list_models", "load_model")


def __getattr__(name: str) -> Any:
    # lazy (PEP 562): `restore --help` and other light imports of the package do not pay for NumPy
    if name in _API:
        from restore import api

        return getattr(api, name)
    raise AttributeError(f"module 'restore' has no attribute {name!r}")

__version__ = "0.1.0"
__all__ = [
    "upscale", "inpaint", "list_models", "load_model",
    "RestoreError", "InputError", "ImageReadError", "ImageWriteError", "ModelError",
]
