"""The changes proposed for restore/api.py and restore/engine.py, applied by monkeypatching so that the whole
benchmark can measure them without editing those files:

    RESTORE_BENCH_PRELOAD=benchmarks/proposed.py restore bench --out benchmarks/results/bench_proposed.md

Each can be switched off with RESTORE_PROPOSED="-merge,-cl,-overlap0" (names below).

* merge    — api._merge converts in row chunks (proto.merge_chunked): bit-identical, −2 GB at 8000².
* cl       — models in channels-last memory format, NHWC tensors made from the NumPy HWC arrays without a copy.
* overlap0 — SR tiles abut (overlap 0): the 16-px margin already exceeds the SRNet's 15-px receptive radius,
             so feathering only recomputed pixels.
* single   — an image that fits in one tile skips the canvas, the feathering weights and the two
             normalising divisions (weights are all 1 there, so the result is bit-identical).
"""
from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proto import merge_chunked  # noqa: E402

off = {x.strip().lstrip("-") for x in os.environ.get("RESTORE_PROPOSED", "").split(",") if x.strip().startswith("-")}

from restore import api, engine  # noqa: E402

import torch  # noqa: E402

if "merge" not in off:
    api._merge = merge_chunked

if "cl" not in off:
    _get_model = engine.get_model

    def get_model_cl(model, device="auto"):
        return _get_model(model, device).to(memory_format=torch.channels_last)

    def to_tensor_cl(f: np.ndarray, device: torch.device) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(f)).permute(2, 0, 1)[None].to(device)

    engine.get_model = get_model_cl
    engine.to_tensor = to_tensor_cl

if "overlap0" not in off:
    engine.run_tiled = functools.partial(engine.run_tiled, overlap=0)

if "single" not in off:
    _run_tiled = engine.run_tiled

    def run_tiled_single(model, x, scale, tile, dev, **kw):
        h, w = x.shape[:2]
        if h > tile or w > tile:
            return _run_tiled(model, x, scale, tile, dev, **kw)
        with torch.inference_mode(), engine._autocast(dev):
            y = model(engine.to_tensor(x, dev))
            return y[0].float().clamp_(0, 1).permute(1, 2, 0).cpu().numpy()

    engine.run_tiled = run_tiled_single
