"""Training loops for the SR and inpainting networks (CPU or CUDA with AMP), resumable from checkpoints.

Checkpoints (for resuming) hold only tensors and plain values and are loaded with
``torch.load(weights_only=True)``, so no pickle code runs; shipped weights are written as safetensors.
"""
from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from restore.data import SRPairs, list_images, load_rgb, make_mask, augment, MASK_FAMILIES
from restore.engine import pick_device
from restore.models import SRNet, UNet
from restore.models.unet import STRUCTURE_SIGMA, STRUCTURE_STRENGTH
from restore.weights import save_model


def _cosine(step: int, total: int, lr: float, warmup: int = 100, floor: float = 0.02) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def _hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    n = torch.get_num_threads()
    return f"{os.cpu_count()}-core {platform.processor() or platform.machine()} CPU, {n} thread{'s' * (n != 1)}"


def _log_interval(state: dict, loss_avg: float, tic: float, validate: Callable[[], dict[str, float]] | None,
                  net: nn.Module, opt: torch.optim.Optimizer, best_path: Path, ckpt: Path,
                  progress: Callable[[dict], None] | None) -> float:
    """End of a validation interval, shared by both training loops: add the wall time, validate and keep
    the best weights, write the resumable checkpoint, report. Returns the new interval's start time."""
    state["wall"] += time.time() - tic
    tic = time.time()
    rec = {"step": state["step"], "loss": loss_avg, "wall_s": round(state["wall"], 1)}
    if validate is not None:
        v = validate()
        rec["val"] = v
        score = float(np.mean(list(v.values())))
        if score > state["best"]:
            state["best"] = score
            state["best_val"] = {"step": state["step"], **v}
            torch.save({"model": net.state_dict()}, best_path)
    state["history"].append(rec)
    torch.save({"model": net.state_dict(), "opt": opt.state_dict(), "state": json.dumps(state)}, ckpt)
    if progress:
        progress(rec)
    return tic


def split_validation(paths: list[Path], n_val: int) -> tuple[list[Path], list[Path]]:
    """Hold back every k-th image (deterministic) for validation, so checkpoints are never chosen on a
    benchmark set."""
    if n_val <= 0 or len(paths) < 2 * n_val:
        return paths, []
    k = len(paths) // n_val
    val = paths[::k][:n_val]
    vs = set(val)
    return [p for p in paths if p not in vs], val


def psnr_y(sr: torch.Tensor, hr: torch.Tensor, shave: int) -> float:
    """PSNR on BT.601 Y (rounded to 8 bit, as MATLAB's rgb2ycbcr) of [0,1] RGB tensors (1, 3, H, W)."""
    from restore.evaluate import psnr_y_np

    a = (sr[0].clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round()
    b = (hr[0].permute(1, 2, 0).cpu().numpy() * 255).round()
    return psnr_y_np(a, b, shave)


# --- super-resolution ----------------------------------------------------------------------------------

class MultiScaleSR(nn.Module):
    """SRNets for several scales sharing one body (MDSR-style): one run trains ×2, ×3 and ×4 at once, and
    each scale's exported model is the shared body plus its own upsampler."""

    def __init__(self, scales: Sequence[int], **cfg) -> None:
        super().__init__()
        self.nets = nn.ModuleDict({str(s): SRNet(scale=s, **cfg) for s in scales})
        first = self.nets[str(scales[0])]
        for s in scales[1:]:  # share every parameter except the upsampler
            n = self.nets[str(s)]
            n.head, n.body, n.body_tail = first.head, first.body, first.body_tail

    def forward(self, x: torch.Tensor, scale: int) -> torch.Tensor:
        return self.nets[str(scale)](x)


@dataclass
class SRTrainConfig:
    data: list[str]
    scales: list[int] = field(default_factory=lambda: [2, 3, 4])
    base_ch: int = 48
    n_blocks: int = 6
    upsampler: str = "pixelshuffle"
    padding_mode: str = "zeros"
    iters: int = 10000
    batch: int = 16
    lr_patch: int = 48
    lr: float = 1e-3
    seed: int = 0
    val_images: int = 10
    val_every: int = 500
    device: str = "auto"
    out: str = "runs/sr"
    name: str = "sr"
    default: bool = False


def train_sr(cfg: SRTrainConfig, *, resume: bool = False, progress: Callable[[dict], None] | None = None) -> list[Path]:
    """Train (or resume) a multi-scale SR network; returns the exported ``.safetensors`` paths, one per scale.

    The best validation checkpoint (mean PSNR-Y over scales on held-back training images) is exported.
    """
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    device = pick_device(cfg.device)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = list_images(cfg.data)
    train_paths, val_paths = split_validation(paths, cfg.val_images)
    t0 = time.time()
    pairs = SRPairs.build(train_paths, cfg.scales)
    val = SRPairs.build(val_paths, cfg.scales) if val_paths else None
    arch = dict(base_ch=cfg.base_ch, n_blocks=cfg.n_blocks, upsampler=cfg.upsampler, padding_mode=cfg.padding_mode)
    net = MultiScaleSR(cfg.scales, **arch).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    state = {"step": 0, "best": -1.0, "wall": 0.0, "history": []}
    ckpt = out / "checkpoint.pt"
    if resume and ckpt.exists():
        ck = torch.load(ckpt, map_location=device, weights_only=True)
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        state = json.loads(ck["state"])
        rng = np.random.default_rng([cfg.seed, state["step"]])
    best_path = out / "best.pt"

    def validate() -> dict[str, float]:
        net.eval()
        res = {}
        with torch.inference_mode():
            for s in cfg.scales:
                ps = []
                for lr_img, hr_img in zip(val.lr[s], val.hr[s]):
                    x = torch.from_numpy(lr_img).permute(2, 0, 1)[None].float().div(255).to(device)
                    y = torch.from_numpy(hr_img).permute(2, 0, 1)[None].float().div(255)
                    ps.append(psnr_y(net(x, s).float().cpu(), y, s))
                res[f"x{s}"] = float(np.mean(ps))
        net.train()
        return res

    net.train()
    tic = time.time()
    loss_avg = 0.0
    while state["step"] < cfg.iters:
        step = state["step"]
        s = cfg.scales[step % len(cfg.scales)]
        lr_b, hr_b = pairs.batch(s, cfg.batch, cfg.lr_patch, rng)
        x = torch.from_numpy(lr_b).to(device)
        y = torch.from_numpy(hr_b).to(device)
        for g in opt.param_groups:
            g["lr"] = _cosine(step, cfg.iters, cfg.lr)
        with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
            loss = F.l1_loss(net(x, s).float(), y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        # clipping keeps an unnormalised net from the rare exploding step (seen at lr 2e-3 without it)
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        loss_avg = 0.98 * loss_avg + 0.02 * float(loss.detach()) if step else float(loss.detach())
        state["step"] = step + 1
        if state["step"] % cfg.val_every == 0 or state["step"] == cfg.iters:
            tic = _log_interval(state, loss_avg, tic, validate if val is not None else None, net, opt, best_path,
                                ckpt, progress)
    # export the best validated weights (or the last ones without validation)
    if best_path.exists():
        net.load_state_dict(torch.load(best_path, map_location=device, weights_only=True)["model"])
    written = []
    for s in cfg.scales:
        single = SRNet(scale=s, **arch)
        single.load_state_dict(net.nets[str(s)].state_dict())
        info = {
            "name": f"{cfg.name}-x{s}", "task": "sr", "arch": "srnet", "scale": s,
            "config": {**arch, "scale": s}, "default": cfg.default,
            "description": f"SRNet {cfg.base_ch}ch×{cfg.n_blocks} blocks, {cfg.upsampler}, ×{s}",
            "training": {
                "data": [str(d) for d in cfg.data], "train_images": len(train_paths),
                "val_images": [p.name for p in val_paths], "iterations": state["step"],
                "batch": cfg.batch, "lr_patch": cfg.lr_patch, "lr": cfg.lr, "seed": cfg.seed,
                "scales_shared_body": cfg.scales, "hardware": _hardware(device),
                "wall_s": round(state["wall"], 1), "best_val_psnr_y": state.get("best_val"),
                "degradation": "MATLAB bicubic (antialiased), uint8",
            },
        }
        written.append(save_model(single, out / f"{cfg.name}-x{s}.safetensors", info))
    (out / "history.json").write_text(json.dumps(state["history"], indent=1))
    return written


# --- inpainting ------------------------------------------------------------------------------------------

@dataclass
class InpaintTrainConfig:
    data: list[str]
    widths: list[int] = field(default_factory=lambda: [12, 24, 48, 96])
    upsampler: str = "resize-conv"
    padding_mode: str = "zeros"
    n_bottleneck: int = 2
    fill_confidence: float = 32.0
    fill_iters: int = 10
    fill_growth: float = 3.0
    fill_horizontal: float = 0.5
    fill_structure: float = STRUCTURE_STRENGTH
    fill_structure_sigma: float = STRUCTURE_SIGMA
    iters: int = 2000
    batch: int = 8
    patch: int = 128
    lr: float = 5e-4
    seed: int = 0
    val_images: int = 10
    val_every: int = 250
    device: str = "auto"
    out: str = "runs/inpaint"
    name: str = "inpaint"
    default: bool = False
    families: list[str] = field(default_factory=lambda: list(MASK_FAMILIES))


def _inpaint_batch(images: list[np.ndarray], cfg: InpaintTrainConfig, rng: np.random.Generator):
    """Crops with holes drawn at the full image's scale (so a hole means the same size in training and in
    evaluation on whole images), then cropped together; crops with < 1 % hole are redrawn."""
    xs, ms = [], []
    while len(xs) < cfg.batch:
        img = images[int(rng.integers(len(images)))]
        h, w = img.shape[:2]
        p = cfg.patch
        if h < p or w < p:
            continue
        fam = cfg.families[int(rng.integers(len(cfg.families)))]
        mask = make_mask(fam, h, w, rng)
        y, x = int(rng.integers(h - p + 1)), int(rng.integers(w - p + 1))
        mc = mask[y : y + p, x : x + p]
        if not 0.01 <= mc.mean() <= 0.6:  # a crop that is almost all hole teaches nothing
            continue
        a, m = augment([img[y : y + p, x : x + p], mc], rng)
        xs.append(a)
        ms.append(m)
    x = np.stack(xs).transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    m = np.stack(ms)[:, None].astype(np.float32)
    return x, m


def validation_masks(images: list[np.ndarray], families: Sequence[str], seed: int = 1234) -> list[tuple[int, str, np.ndarray]]:
    """Deterministic (image index, family, mask) triples: one mask per family per image."""
    out = []
    for i, img in enumerate(images):
        for j, fam in enumerate(families):
            rng = np.random.default_rng([seed, i, j])
            out.append((i, fam, make_mask(fam, img.shape[0], img.shape[1], rng)))
    return out


def hole_psnr(out: np.ndarray, ref: np.ndarray, mask: np.ndarray) -> float:
    """PSNR (RGB, [0,1]) over hole pixels only."""
    d = (out[mask] - ref[mask]).astype(np.float64)
    mse = float(np.mean(d**2)) if d.size else 0.0
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def train_inpaint(cfg: InpaintTrainConfig, *, resume: bool = False,
                  progress: Callable[[dict], None] | None = None) -> Path:
    """Train (or resume) the inpainting U-Net; exports the best validation checkpoint as safetensors."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    device = pick_device(cfg.device)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = list_images(cfg.data)
    train_paths, val_paths = split_validation(paths, cfg.val_images)
    images = [load_rgb(p) for p in train_paths]
    val_imgs = [load_rgb(p) for p in val_paths]
    val_set = validation_masks(val_imgs, cfg.families)
    arch = dict(widths=tuple(cfg.widths), upsampler=cfg.upsampler, padding_mode=cfg.padding_mode,
                n_bottleneck=cfg.n_bottleneck, fill_confidence=cfg.fill_confidence, fill_iters=cfg.fill_iters,
                fill_growth=cfg.fill_growth, fill_horizontal=cfg.fill_horizontal,
                fill_structure=cfg.fill_structure, fill_structure_sigma=cfg.fill_structure_sigma)
    net = UNet(**arch).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    state = {"step": 0, "best": -1.0, "wall": 0.0, "history": []}
    ckpt, best_path = out / "checkpoint.pt", out / "best.pt"
    if resume and ckpt.exists():
        ck = torch.load(ckpt, map_location=device, weights_only=True)
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        state = json.loads(ck["state"])
        rng = np.random.default_rng([cfg.seed, state["step"]])

    def validate(prefill_only: bool = False) -> dict[str, float]:
        net.eval()
        res: dict[str, list[float]] = {f: [] for f in cfg.families}
        with torch.inference_mode():
            for i, fam, m in val_set:
                ref = val_imgs[i].astype(np.float32) / 255.0
                x = torch.from_numpy(ref).permute(2, 0, 1)[None].to(device)
                mk = torch.from_numpy(m.astype(np.float32))[None, None].to(device)
                y = net.prefill(x, mk) if prefill_only else net(x, mk)
                y = y[0].permute(1, 2, 0).clamp(0, 1).cpu().numpy()
                y = np.round(y * 255) / 255
                res[fam].append(hole_psnr(y, ref, m))
        net.train()
        return {f: float(np.mean(v)) for f, v in res.items()}

    if val_set and "prefill_val" not in state:
        # the pre-fill alone: what the network's learned correction is measured against
        state["prefill_val"] = validate(prefill_only=True)
        if progress:
            progress({"step": 0, "prefill_val": state["prefill_val"]})
    net.train()
    tic = time.time()
    loss_avg = 0.0
    while state["step"] < cfg.iters:
        step = state["step"]
        xb, mb = _inpaint_batch(images, cfg, rng)
        x, m = torch.from_numpy(xb).to(device), torch.from_numpy(mb).to(device)
        for g in opt.param_groups:
            g["lr"] = _cosine(step, cfg.iters, cfg.lr)
        with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
            y = net(x, m).float()
        # the output is composited, so only hole pixels carry a loss. MSE is what PSNR measures; the L1
        # term keeps gradients alive on the many small errors once the large ones are fitted.
        n = (m.sum() * x.shape[1]).clamp_min(1.0)
        d = (y - x) * m
        loss = d.square().sum() / n + 0.1 * d.abs().sum() / n
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        # clipping keeps an unnormalised net from the rare exploding step (seen at lr 2e-3 without it)
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        loss_avg = 0.98 * loss_avg + 0.02 * float(loss.detach()) if step else float(loss.detach())
        state["step"] = step + 1
        if state["step"] % cfg.val_every == 0 or state["step"] == cfg.iters:
            tic = _log_interval(state, loss_avg, tic, validate if val_set else None, net, opt, best_path, ckpt,
                                progress)
    if best_path.exists():
        net.load_state_dict(torch.load(best_path, map_location=device, weights_only=True)["model"])
    info = {
        "name": cfg.name, "task": "inpaint", "arch": "unet", "config": {**arch, "widths": list(cfg.widths)},
        "default": cfg.default,
        "description": f"U-Net {'/'.join(map(str, cfg.widths))}, {cfg.upsampler}, push-pull pre-fill",
        "training": {
            "data": [str(d) for d in cfg.data], "train_images": len(train_paths),
            "val_images": [p.name for p in val_paths], "iterations": state["step"], "batch": cfg.batch,
            "patch": cfg.patch, "lr": cfg.lr, "seed": cfg.seed, "mask_families": cfg.families,
            "hardware": _hardware(device), "wall_s": round(state["wall"], 1),
            "best_val_hole_psnr": state.get("best_val"),
            "prefill_val_hole_psnr": state.get("prefill_val"),
        },
    }
    path = save_model(net, out / f"{cfg.name}.safetensors", info)
    (out / "history.json").write_text(json.dumps(state["history"], indent=1))
    return path
