"""The one training loop: Adam, a linear warm-up then one cosine cycle, autocast (gradient scaling for float16 on
CUDA), gradient clipping, DDP under torchrun, validation with the best weights kept, a resumable checkpoint
(:mod:`restore.checkpoint`: safetensors, no pickle), and optionally a moving average of the weights. Used by the
SR training (:mod:`restore.train`), the inpainting training (:mod:`restore.train_inpaint`) and the study.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from restore.checkpoint import load_checkpoint, save_checkpoint
from restore.distributed import World


def _cosine(step: int, total: int, lr: float, warmup: int = 100, floor: float = 0.02) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


#: where a checkpoint keeps the weights' moving average (``fit``'s ``ema``), beside the live weights
EMA_PREFIX = "ema::"


def _log_interval(state: dict, loss_avg: float, tic: float, validate: Callable[[], dict[str, float]] | None,
                  net: nn.Module, opt: torch.optim.Optimizer, best_path: Path, ckpt: Path,
                  progress: Callable[[dict], None] | None, score_keys: Sequence[str] | None = None,
                  ema: dict[str, torch.Tensor] | None = None) -> float:
    """End of a validation interval, shared by both training loops (the wall time already added): validate
    and keep the best weights, write the resumable checkpoint, report. Returns the new interval's start time.
    With ``ema`` (the weights' moving average) those are the weights validated and kept as the best."""
    rec = {"step": state["step"], "loss": loss_avg, "wall_s": round(state["wall"], 1)}
    if "train_hole_psnr" in state:
        rec["train_hole_psnr"] = state["train_hole_psnr"]
    live = {k: v.clone() for k, v in net.state_dict().items()} if ema is not None else None
    if validate is not None:
        if ema is not None:
            net.load_state_dict(ema)
        v = validate()
        rec["val"] = v
        # an output equal to its target scores an infinite PSNR; capped, one such set cannot outvote the others
        score = float(np.mean([min(v[k], 100.0) for k in (score_keys or v)]))
        if score > state["best"]:
            state["best"] = score
            state["best_val"] = {"step": state["step"], **v}
            save_checkpoint(best_path, net.state_dict())
        if live is not None:
            net.load_state_dict(live)
    state["history"].append(rec)
    weights = net.state_dict() if ema is None else {**net.state_dict(), **{EMA_PREFIX + k: v for k, v in ema.items()}}
    save_checkpoint(ckpt, weights, opt.state_dict(), state)
    if progress:
        progress(rec)
    return tic


def fit(net: nn.Module, step_loss: Callable[[nn.Module, np.random.Generator, int], torch.Tensor], *,
        iters: int, lr: float, seed: int, world: World | None = None, device: torch.device | None = None,
        amp: torch.dtype | None = None, warmup: int = 100, out: Path | None = None, resume: bool = False,
        val_every: int = 0, validate: Callable[[], dict[str, float]] | None = None,
        score_keys: Sequence[str] | None = None, unused_parameters: bool = False,
        on_start: Callable[[dict], None] | None = None, on_step: Callable[[int, float], None] | None = None,
        before_log: Callable[[dict], None] | None = None,
        progress: Callable[[dict], None] | None = None, ema: float = 0.0) -> dict:
    """The one training loop (SR, inpainting and the study's variants): Adam, linear warm-up then cosine decay
    of the learning rate, autocast at ``amp`` with gradient scaling where it is float16 on CUDA, gradients
    clipped to norm 1 (keeps an unnormalised net from the rare exploding step), DDP under torchrun.

    Args:
        net: the network, on its device; trained in place. After the loop it holds the best validated weights
            when ``out`` has them (rank 0), else the last ones.
        step_loss: ``(model, rng, step) → loss``: draws a batch from ``rng`` and returns the scalar loss of
            ``model`` (``net``, or its DDP wrapper) on it; runs under autocast.
        iters, lr, warmup: steps, peak learning rate, warm-up steps.
        seed: the batch stream (:meth:`World.rng`; one process: ``np.random.default_rng(seed)``).
        out: run folder for ``checkpoint.safetensors`` (resumable: weights, optimiser, state) and
            ``best.safetensors`` (:mod:`restore.checkpoint`: no pickle); None =
            nothing written (the study's variants).
        resume: continue from ``out/checkpoint.safetensors`` when it exists.
        val_every: with ``out`` given and > 0: every this many steps (and at the end), on rank 0,
            ``before_log(state)``, ``validate()``, keep the best by the mean of ``score_keys`` (all keys by
            default), checkpoint, ``progress(record)``. Without ``out`` (or with 0) none of these run.
        world: the run's processes (:class:`World`: DDP under torchrun); default one process, whatever the
            environment says.
        on_start: called with the state after a resume, before the first step (e.g. a baseline validation).
        on_step: called with ``(step, loss)`` after every step.
        ema: 0, or the decay of an exponential moving average of the weights (e.g. 0.999: about the last
            thousand steps), which is what is validated, kept as the best and so exported; the live weights
            train on. Kept in the checkpoint, so a resumed run continues it.

    Returns:
        the run state: ``step``, ``wall`` (seconds, up to the last interval), ``best``, ``best_val``,
        ``history`` (one record per interval), and whatever the hooks stored.
    """
    world = world or World(single=True)
    device = device or next(net.parameters()).device
    model = world.wrap(net, unused=unused_parameters)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    scaler = torch.amp.GradScaler("cuda", enabled=amp is torch.float16 and device.type == "cuda")
    state: dict = {"step": 0, "best": -1.0, "wall": 0.0, "history": []}
    ckpt = best_path = None
    saved_ema: dict[str, torch.Tensor] = {}
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        ckpt, best_path = out / "checkpoint.safetensors", out / "best.safetensors"
        if resume and ckpt.exists():
            weights, opt_state, state = load_checkpoint(ckpt)
            saved_ema = {k[len(EMA_PREFIX):]: v for k, v in weights.items() if k.startswith(EMA_PREFIX)}
            weights = {k: v for k, v in weights.items() if not k.startswith(EMA_PREFIX)}
            net.load_state_dict(weights)
            opt.load_state_dict(opt_state)
            if state.get("best_keys") != (list(score_keys) if score_keys else None):
                state["best"] = -1.0  # chosen by other scores before: the best is chosen again from here
    state["best_keys"] = list(score_keys) if score_keys else None
    # the moving average starts from the weights the run starts (or resumes) from
    shadow = None
    if ema:
        shadow = {k: v.detach().clone() for k, v in net.state_dict().items()}
        for k, v in saved_ema.items():
            shadow[k].copy_(v)
        live = {k: v for k, v in net.state_dict().items() if v.is_floating_point()}
        averages, weights = [shadow[k] for k in live], list(live.values())
    rng = world.rng(seed, state["step"])
    if on_start is not None:
        on_start(state)
    net.train()
    tic = time.time()
    loss_avg = 0.0
    while state["step"] < iters:
        step = state["step"]
        for g in opt.param_groups:
            g["lr"] = _cosine(step, iters, lr, warmup)
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            loss = step_loss(model, rng, step)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        if shadow is not None:
            with torch.no_grad():
                torch._foreach_lerp_(averages, weights, 1.0 - ema)
        value = float(loss.detach())
        loss_avg = 0.98 * loss_avg + 0.02 * value if step else value
        state["step"] = step + 1
        if on_step is not None:
            on_step(step, value)
        if world.main and ckpt is not None and val_every and (state["step"] % val_every == 0 or state["step"] == iters):
            state["wall"] += time.time() - tic
            tic = time.time()
            if before_log is not None:
                before_log(state)
            tic = _log_interval(state, loss_avg, tic, validate, net, opt, best_path, ckpt, progress, score_keys,
                                shadow)
    if world.main and best_path is not None and best_path.exists():
        net.load_state_dict(load_checkpoint(best_path)[0])
    return state
