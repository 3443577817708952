"""Inference engine: device choice, padding, tiling with feathered overlap, crop-around-hole."""
from __future__ import annotations

import torch


def pick_device(device: str | torch.device = "auto") -> torch.device:
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    return torch.device(device)
