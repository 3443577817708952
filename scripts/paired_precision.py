"""The paired bf16-vs-fp32 check shared by scripts/check_precision.py (inpainting) and check_precision_sr.py.

From one checkpoint (weights + Adam state), ``steps`` training steps run twice on the *same* batches — under
bfloat16 autocast and in float32 — and each result is validated; one JSON line per run is printed.
"""
from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def paired_runs(base: torch.nn.Module, opt_state: dict, *, lr: float, steps: int,
                loss_of: Callable[[torch.nn.Module, int, np.random.Generator], torch.Tensor],
                validate: Callable[[torch.nn.Module], dict[str, Any]]) -> None:
    """``loss_of(net, step, rng)`` draws a batch from ``rng`` and returns its loss (the forward runs under the
    autocast set here); ``validate(net)`` measures a net in float32."""
    print(json.dumps({"run": "start", **validate(base)}), flush=True)
    for name, dtype in (("bf16", torch.bfloat16), ("fp32", None)):
        net = copy.deepcopy(base).train()
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        opt.load_state_dict(opt_state)
        for g in opt.param_groups:
            g["lr"] = lr
        rng = np.random.default_rng(12345)  # the same batches for both runs
        t = time.perf_counter()
        for step in range(steps):
            with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
                loss = loss_of(net, step, rng)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
        sec = (time.perf_counter() - t) / steps
        print(json.dumps({"run": name, "steps": steps, "s_per_step": round(sec, 3), **validate(net)}), flush=True)
