"""restore: image restoration and upsampling (CNN inpainting and super-resolution).

Public API (NumPy in, NumPy out)::

    from restore import upscale, inpaint, list_models, load_model
"""
from __future__ import annotations

from restore.api import inpaint, list_models, load_model, upscale
from restore.errors import ImageReadError, ImageWriteError, InputError, ModelError, RestoreError

__version__ = "0.1.0"
__all__ = [
    "upscale", "inpaint", "list_models", "load_model",
    "RestoreError", "InputError", "ImageReadError", "ImageWriteError", "ModelError",
]
