"""Image quality metrics, one home for every caller (evaluation, training validation, the study, the bench).

PSNR and SSIM on Y follow the published SR protocol: BT.601 luma as MATLAB's ``rgb2ycbcr`` gives it for uint8
(in [16, 235], rounded), with ``shave`` border pixels removed on every side; SSIM with the 11×11 Gaussian window
(σ = 1.5) of the SR literature's MATLAB code. NumPy only (scikit-image for SSIM, imported when used).
"""
from __future__ import annotations

import numpy as np

__all__ = ["psnr", "psnr_from_mse", "psnr_y", "rgb_to_y", "shave_border", "ssim_y"]


def rgb_to_y(img255: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma in [16, 235], rounded like MATLAB's ``rgb2ycbcr`` on uint8.

    Args:
        img255: RGB on the 0–255 scale, any numeric dtype.

    Returns:
        The luma, float (float64 for float64 or integer input).

    Shape: ``...×3`` → ``...``.
    """
    y = 16.0 + (65.481 * img255[..., 0] + 128.553 * img255[..., 1] + 24.966 * img255[..., 2]) / 255.0
    return np.round(y)


def shave_border(a: np.ndarray, shave: int) -> np.ndarray:
    """``a`` without ``shave`` pixels on each side (a view; ``a`` itself for 0). Shape: ``H×W[×C]``."""
    return a[shave:-shave, shave:-shave] if shave else a


def psnr_from_mse(mse: float, peak: float) -> float:
    """PSNR in dB of a mean squared error at signal peak ``peak``; ``inf`` for an MSE of 0."""
    return float("inf") if mse == 0 else float(10.0 * np.log10(peak**2 / mse))


def psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    """PSNR in dB between two arrays of one shape (computed in float64), ``inf`` when they are equal.

    Args:
        a, b: the arrays, on a scale whose maximum is ``peak`` (1.0 for [0, 1], 255.0 for 8 bit).
        peak: the signal peak.
    """
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return psnr_from_mse(mse, peak)


def psnr_y(sr255: np.ndarray, hr255: np.ndarray, shave: int) -> float:
    """PSNR on Y (:func:`rgb_to_y`) of two RGB images on the 0–255 scale, ``shave`` border pixels removed.

    Shape: ``H×W×3`` twice (any numeric dtype) → float (dB).
    """
    a = shave_border(rgb_to_y(sr255.astype(np.float64)), shave)
    b = shave_border(rgb_to_y(hr255.astype(np.float64)), shave)
    return psnr(a, b, 255.0)


def ssim_y(sr255: np.ndarray, hr255: np.ndarray, shave: int) -> float:
    """SSIM on Y (:func:`rgb_to_y`) of two RGB images on the 0–255 scale, ``shave`` border pixels removed, with
    the 11×11 Gaussian window (σ = 1.5) and population covariances, as the SR literature's MATLAB code.

    Shape: ``H×W×3`` twice (any numeric dtype; at least 7×7 after the shave) → float.
    """
    from skimage.metrics import structural_similarity

    a = shave_border(rgb_to_y(sr255.astype(np.float64)), shave)
    b = shave_border(rgb_to_y(hr255.astype(np.float64)), shave)
    return float(structural_similarity(a, b, data_range=255.0, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False))
