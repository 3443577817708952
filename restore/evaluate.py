"""Evaluation protocols and metrics: PSNR/SSIM on the Y channel (SR, the MATLAB protocol) and hole PSNR."""
from __future__ import annotations

import numpy as np


def rgb_to_y(img255: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma in [16, 235], rounded like MATLAB's ``rgb2ycbcr`` on uint8, from RGB in [0, 255]."""
    y = 16.0 + (65.481 * img255[..., 0] + 128.553 * img255[..., 1] + 24.966 * img255[..., 2]) / 255.0
    return np.round(y)


def psnr_y_np(sr255: np.ndarray, hr255: np.ndarray, shave: int) -> float:
    a, b = rgb_to_y(sr255.astype(np.float64)), rgb_to_y(hr255.astype(np.float64))
    if shave:
        a, b = a[shave:-shave, shave:-shave], b[shave:-shave, shave:-shave]
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)
