"""Exceptions raised by the library. The CLI turns each into one line and an exit code."""
from __future__ import annotations


class RestoreError(Exception):
    """Base class of every error the library raises on purpose."""


class InputError(RestoreError, ValueError):
    """An image, mask or argument the library cannot work with (wrong shape, dtype, size, scale...)."""


class ImageReadError(InputError):
    """A file that is missing, not an image, truncated or corrupt."""


class ImageWriteError(RestoreError, OSError):
    """An output that cannot be written (folder not writable, exists without overwrite, would overwrite an input)."""


class ModelError(RestoreError):
    """A model name that is unknown or a weights file that is malformed or does not match its config."""


class ClippedWarning(UserWarning):
    """Input values outside what the library works in (float images outside [0, 1]) were clipped."""
