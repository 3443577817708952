"""Training of the inpainting U-Net on random crops with thin / thick / box holes, validated against its own
pre-fill on held-back images (the loop is :func:`restore.loop.fit`)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from restore.data import MASK_FAMILIES, hole_crops, list_images, make_mask
from restore.devices import hardware_note, precision_dtype
from restore.distributed import World
from restore.io import read_rgb_u8
from restore.models import UNet
from restore.loop import fit
from restore.train import portable_data, split_validation
from restore.weights import save_model


@dataclass
class InpaintTrainConfig:
    data: list[str]
    widths: list[int] = field(default_factory=lambda: [16, 32, 64, 96])
    upsampler: str = "resize-conv"
    padding_mode: str = "zeros"
    n_bottleneck: int = 2
    refine: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 4, 2, 1])
    fill: dict = field(default_factory=dict)  # FillConfig settings; empty = the shipped pre-fill's
    iters: int = 12000
    batch: int = 8
    patch: int = 160
    lr: float = 1e-3
    seed: int = 0
    val_images: int = 24
    val_masks: int = 2  # masks per family per validation image
    val_every: int = 500
    device: str = "auto"
    precision: str = "auto"
    out: str = "runs/inpaint"
    name: str = "inpaint"
    default: bool = False
    families: list[str] = field(default_factory=lambda: list(MASK_FAMILIES))


def inpaint_loss(y: torch.Tensor, x: torch.Tensor, m: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """Mean over the batch of each crop's log hole-MSE: minus its hole PSNR (up to a constant), so every crop
    counts by its *relative* improvement. A loss pooled over all hole pixels is dominated by large boxes,
    whose centres are unpredictable and whose gradient is mostly noise, and thin strokes barely count; here
    a thin stroke whose error drops 10 % weighs as much as a box whose error drops 10 %. ``eps`` (40 dB)
    keeps flat crops with near-zero error from dominating.

    Shape: ``y, x (B, C, H, W)``, ``m (B, 1, H, W)`` → scalar (float32).
    """
    return log_mse_loss(hole_mse(y, x, m), eps)


def log_mse_loss(mse: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """:func:`inpaint_loss` from each crop's hole MSE (``(B,)`` → scalar)."""
    return torch.log(mse + eps).mean()


def hole_mse(y: torch.Tensor, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Each crop's mean squared error over its hole pixels (float32). Shape: ``(B, C, H, W)`` ×2,
    ``(B, 1, H, W)`` → ``(B,)``."""
    d = ((y.float() - x.float()) * m).square().sum(dim=(1, 2, 3))
    return d / (m.sum(dim=(1, 2, 3)) * x.shape[1]).clamp_min(1.0)


def validation_masks(images: list[np.ndarray], families: Sequence[str], per_family: int = 1,
                     seed: int = 1234) -> list[tuple[int, str, np.ndarray]]:
    """Deterministic (image index, family, mask) triples: ``per_family`` masks per family per image."""
    out = []
    for i, img in enumerate(images):
        for j, fam in enumerate(families):
            for k in range(per_family):
                rng = np.random.default_rng([seed, i, j, k] if k else [seed, i, j])
                out.append((i, fam, make_mask(fam, img.shape[0], img.shape[1], rng)))
    return out


def hole_psnr(out: np.ndarray, ref: np.ndarray, mask: np.ndarray) -> float:
    """PSNR (RGB, [0,1]) over hole pixels only."""
    d = (out[mask] - ref[mask]).astype(np.float64)
    mse = float(np.mean(d**2)) if d.size else 0.0
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def validate_inpaint(net: UNet, images: list[np.ndarray], masks: list[tuple[int, str, np.ndarray]], *,
                     device: torch.device | str = "cpu", amp: torch.dtype | None = None,
                     prefill_only: bool = False) -> dict[str, float]:
    """Mean hole PSNR per mask family of ``net`` (or of its pre-fill alone) on whole images, outputs rounded to
    8 bit; with the network, also ``correction_rms``: how far it moves its pre-fill inside the holes, in grey
    levels (a dead network stays near 0). ``masks``: :func:`validation_masks`. Leaves ``net`` in train mode."""
    device = torch.device(device)
    net.eval()
    res: dict[str, list[float]] = {}
    rms: list[float] = []
    with torch.inference_mode(), torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
        for i, fam, m in masks:
            ref = images[i].astype(np.float32) / 255.0
            x = torch.from_numpy(ref).permute(2, 0, 1)[None].to(device)
            mk = torch.from_numpy(m.astype(np.float32))[None, None].to(device)
            if prefill_only:
                y = net.prefill(x, mk)
            else:
                y, pre = net.forward_with_prefill(x, mk)
                rms.append(float((y - pre)[mk.expand_as(y) > 0].square().mean().sqrt()) * 255)
            y = np.round(y[0].permute(1, 2, 0).clamp(0, 1).cpu().numpy() * 255) / 255
            res.setdefault(fam, []).append(hole_psnr(y, ref, m))
    net.train()
    v = {f: float(np.mean(r)) for f, r in res.items()}
    if rms:
        v["correction_rms"] = float(np.mean(rms))
    return v


def train_inpaint(cfg: InpaintTrainConfig, *, resume: bool = False,
                  progress: Callable[[dict], None] | None = None) -> Path | None:
    """Train (or resume) the inpainting U-Net; exports the best validation checkpoint as safetensors.

    Validation measures the network and its own pre-fill on the same held-back images and masks; the
    checkpoint with the best mean hole PSNR over the families is kept, and the per-family gain of the network
    over its pre-fill is recorded in the exported file's metadata.
    """
    from restore.fill import FillConfig

    fill = FillConfig.from_dict(cfg.fill).to_dict()  # bad settings fail before any image is read
    world = World()
    torch.manual_seed(cfg.seed)
    device = world.device(cfg.device)
    amp = precision_dtype(cfg.precision, device, cpu_bf16=True)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = list_images(cfg.data)
    train_paths, val_paths = split_validation(paths, cfg.val_images)
    images = [read_rgb_u8(p) for p in train_paths]
    val_imgs = [read_rgb_u8(p) for p in val_paths]
    val_set = validation_masks(val_imgs, cfg.families, cfg.val_masks)
    arch = dict(widths=list(cfg.widths), upsampler=cfg.upsampler, padding_mode=cfg.padding_mode,
                n_bottleneck=cfg.n_bottleneck, refine=list(cfg.refine), centre_inputs=True, fill=fill)
    net = UNet(**arch).to(device)

    def validate(prefill_only: bool = False) -> dict[str, float]:
        return validate_inpaint(net, val_imgs, val_set, device=device, amp=amp, prefill_only=prefill_only)

    pre_val: dict[str, float] = {}  # the pre-fill's validation: what each network score is compared with

    def baseline(state: dict) -> None:
        if world.main and val_set and "prefill_val" not in state:
            # the pre-fill alone: what the network's learned correction is measured against
            state["prefill_val"] = validate(prefill_only=True)
            if progress:
                progress({"step": 0, "prefill_val": state["prefill_val"]})
        pre_val.update(state.get("prefill_val") or {})

    def validate_and_score() -> dict[str, float]:
        v = validate()
        for f in cfg.families:
            v[f"gain_{f}"] = round(v[f] - pre_val[f], 4)
        return v

    fam_loss: dict[str, float] = {}

    def step_loss(model: nn.Module, rng: np.random.Generator, step: int) -> torch.Tensor:
        xb, mb, fams = hole_crops(images, rng, batch=cfg.batch, patch=cfg.patch, families=cfg.families)
        x, m = torch.from_numpy(xb).to(device), torch.from_numpy(mb).to(device)
        y = model(x, m)  # float32: the pre-fill runs in float32 and the correction is cast back
        mse = hole_mse(y, x, m)
        per_crop = mse.detach().tolist()
        for f in set(fams):  # the training hole PSNR per mask family (moving average)
            v = float(-10 * np.log10(np.mean([e for e, q in zip(per_crop, fams) if q == f]) + 1e-10))
            fam_loss[f] = 0.98 * fam_loss[f] + 0.02 * v if f in fam_loss else v
        return log_mse_loss(mse)  # = inpaint_loss(y, x, m), keeping the per-crop errors for the log

    def before_log(state: dict) -> None:
        state["train_hole_psnr"] = {f: round(v, 3) for f, v in fam_loss.items()}

    state = fit(net, step_loss, iters=cfg.iters, lr=cfg.lr, seed=cfg.seed, world=world, device=device, amp=amp,
                out=out, resume=resume, val_every=cfg.val_every, validate=validate_and_score if val_set else None,
                score_keys=cfg.families, on_start=baseline, before_log=before_log, progress=progress)
    world.close()
    if not world.main:
        return None
    best = state.get("best_val") or {}
    pre = state.get("prefill_val") or {}
    info = {
        "name": cfg.name, "task": "inpaint", "arch": "unet", "config": arch,
        "default": cfg.default,
        "description": f"U-Net {'/'.join(map(str, cfg.widths))} + full-resolution refinement, {cfg.upsampler}, "
                       "on the orientation-guided push-pull pre-fill",
        "training": {
            "data": [portable_data(d) for d in cfg.data], "train_images": len(train_paths),
            "val_images": [p.name for p in val_paths], "val_masks_per_family": cfg.val_masks,
            "iterations": state["step"], "batch": cfg.batch, "patch": cfg.patch, "lr": cfg.lr, "seed": cfg.seed,
            "mask_families": cfg.families, "loss": "mean per-crop log hole MSE",
            "precision": str(amp).replace("torch.", "") if amp else "float32", "world_size": world.size,
            "hardware": hardware_note(device), "wall_s": round(state["wall"], 1),
            "best_val_hole_psnr": best or None,
            "prefill_val_hole_psnr": pre or None,
            "val_gain_over_prefill": {f: round(best[f] - pre[f], 4) for f in cfg.families if f in best and f in pre},
        },
    }
    path = save_model(net, out / f"{cfg.name}.safetensors", info)
    (out / "history.json").write_text(json.dumps(state["history"], indent=1))
    return path
