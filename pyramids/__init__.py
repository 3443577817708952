"""Gaussian / Laplacian image pyramids in PyTorch: batched, any device, differentiable.

Matches ``cv2.pyrDown`` / ``cv2.pyrUp`` with the default kernel and reflect
padding; ``reconstruct(laplacian_pyramid(x, L))`` returns ``x`` up to float
rounding for any size. Standalone: depends on torch only (``pyramids.numpy``
adds a NumPy front end).

Tensors are (B, C, H, W). ``levels`` always counts the tensors returned,
including the input (``levels=1`` → ``[x]``); see :func:`max_levels`.
"""

from __future__ import annotations

from .blend import Blend, blend
from .core import (
    PADDING_MODES,
    GaussianPyramid,
    LaplacianPyramid,
    LaplacianStep,
    PyrDown,
    PyrUp,
    Reconstruct,
    gaussian_pyramid,
    laplacian_pyramid,
    max_levels,
    pyr_down,
    pyr_up,
    pyr_up_residual,
    reconstruct,
)

__all__ = [
    "PADDING_MODES",
    "pyr_down",
    "pyr_up",
    "pyr_up_residual",
    "gaussian_pyramid",
    "laplacian_pyramid",
    "reconstruct",
    "blend",
    "max_levels",
    "PyrDown",
    "PyrUp",
    "LaplacianStep",
    "GaussianPyramid",
    "LaplacianPyramid",
    "Reconstruct",
    "Blend",
]
