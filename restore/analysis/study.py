"""What both studies share: the network under study, an equal-budget training loop, and bench prediction.

Every variant of a study (one upsampler, or one padding mode) is built with the same seed, trained on the
identical sequence of batches (a NumPy generator seeded the same way) for the same number of iterations
with the same optimiser and schedule, and measured on the same bench images. Only the studied setting
differs.

SR networks are :class:`PlainSR` by default: :class:`restore.models.SRNet` *without* its bicubic skip, so the
upsampler produces the whole image and its artifacts are not hidden under a smooth bicubic base
(``bicubic_skip=True`` restores the shipped architecture). Either way the artifact probes measure the
learned branch, ``net.up(features)``, which without the skip is the output itself.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from restore.errors import InputError
from restore.models import SRNet, UNet
from restore.models.blocks import PADDING_MODES
from restore.models.upsamplers import UPSAMPLERS, supported_factors

TASKS = ("sr", "inpaint")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class StudyConfig:
    """Everything that defines a study run (recorded verbatim in the JSON).

    Args:
        task: ``sr`` (SRNet-style, ×``scale``) or ``inpaint`` (U-Net; its decoder upsamples ×2 per level).
        scale: SR factor; the study uses 2 (transposed and laplacian upsamplers are ×2 steps).
        iters: training iterations per variant (0: untrained, init only).
        batch: training batch size.
        patch: SR: LR patch side; inpainting: crop side.
        learning_rate: Adam peak learning rate (linear warm-up, cosine decay).
        seed: seed of the trained variant (weights and batch sequence).
        seeds: number of random initialisations averaged at init (seeds ``0..seeds-1``).
        base_ch, n_blocks: SR body width and residual blocks.
        widths, n_bottleneck: U-Net channels per level and dilated bottleneck blocks.
        bicubic_skip: SR only: keep SRNet's bicubic skip (default off, see the module docstring).
        upsampler: the fixed upsampler of the padding study.
        padding_mode: the fixed padding mode of the checkerboard study.
        data: training image folders.
        bench: evaluation image folder (never trained on).
        bench_limit: only the first N bench images.
    """

    task: str = "sr"
    scale: int = 2
    iters: int = 1000
    batch: int = 16
    patch: int = 32
    learning_rate: float = 1e-3
    seed: int = 0
    seeds: int = 3
    base_ch: int = 32
    n_blocks: int = 3
    widths: tuple[int, ...] = (16, 32, 64, 128)
    n_bottleneck: int = 3
    bicubic_skip: bool = False
    upsampler: str = "pixelshuffle"
    padding_mode: str = "zeros"
    data: tuple[str, ...] = ()
    bench: str | None = None
    bench_limit: int | None = None

    def check(self) -> "StudyConfig":
        """Validate the settings; returns ``self``.

        Raises:
            InputError: an unknown task, upsampler or padding mode, a bad size or count.
        """
        if self.task not in TASKS:
            raise InputError(f"unknown task {self.task!r}; choose from {', '.join(TASKS)}")
        if self.upsampler not in UPSAMPLERS:
            raise InputError(f"unknown upsampler {self.upsampler!r}; choose from {', '.join(UPSAMPLERS)}")
        if self.padding_mode not in PADDING_MODES:
            raise InputError(f"unknown padding mode {self.padding_mode!r}; choose from {', '.join(PADDING_MODES)}")
        if self.task == "sr" and self.scale not in (2, 3, 4):
            raise InputError(f"scale must be 2, 3 or 4, not {self.scale}")
        for name in ("iters", "bench_limit"):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise InputError(f"{name} must be ≥ 0, not {v}")
        for name in ("batch", "patch", "seeds", "base_ch", "n_blocks"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be ≥ 1, not {getattr(self, name)}")
        if self.task == "inpaint" and (len(self.widths) < 2 or min(self.widths) < 1):
            raise InputError(f"widths needs at least two positive levels, not {self.widths}")
        if self.iters > 0 and not self.data:
            raise InputError("training (iters > 0) needs --data")
        return self

    @property
    def factor(self) -> int:
        """The output's checkerboard period: the SR scale, or the U-Net's total upsampling 2**levels."""
        return self.scale if self.task == "sr" else 2 ** (len(self.widths) - 1)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["widths"] = list(self.widths)
        d["data"] = list(self.data)
        return d


class PlainSR(SRNet):
    """:class:`SRNet` with the bicubic skip optional: ``up(body(head(x)))`` (+ bicubic when ``skip``)."""

    def __init__(self, *args, skip: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.skip = skip

    def features(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.head(x)
        return feat + self.body_tail(self.body(feat))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.up(self.features(x))
        if self.skip:
            out = out + F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return out


def check_upsampler(cfg: StudyConfig, name: str) -> None:
    """Raise ``InputError`` when ``name`` cannot build this study's network (unknown, or wrong factor)."""
    if name not in UPSAMPLERS:
        raise InputError(f"unknown upsampler {name!r}; choose from {', '.join(UPSAMPLERS)}")
    if cfg.task == "sr" and cfg.scale not in supported_factors(name):
        raise InputError(f"upsampler {name!r} does not support ×{cfg.scale} (supported: {supported_factors(name)})")


def build_net(cfg: StudyConfig, *, upsampler: str, padding_mode: str, seed: int) -> nn.Module:
    """The study network for one variant, initialised from ``seed`` (same seed ⇒ same body weights).

    Returns:
        a :class:`PlainSR` or :class:`restore.models.UNet` in train mode, on the CPU.
    """
    check_upsampler(cfg, upsampler)
    torch.manual_seed(seed)
    if cfg.task == "sr":
        return PlainSR(base_ch=cfg.base_ch, n_blocks=cfg.n_blocks, scale=cfg.scale, upsampler=upsampler,
                       padding_mode=padding_mode, skip=cfg.bicubic_skip)
    # no full-resolution refinement: the study measures what the upsamplers and padding do
    return UNet(widths=tuple(cfg.widths), upsampler=upsampler, padding_mode=padding_mode,
                n_bottleneck=cfg.n_bottleneck, refine=())


def n_params(module: nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


def upsampler_params(net: nn.Module) -> int:
    """Parameters in the upsampler(s) alone (SR: ``net.up``; U-Net: all of ``net.up``)."""
    return n_params(net.up)


def branch_output(net: nn.Module, cfg: StudyConfig, x: torch.Tensor) -> torch.Tensor:
    """The learned branch's output for an image batch, at output resolution.

    SR: ``net.up(features)`` — the output itself without the bicubic skip. Inpainting: the U-Net's
    correction (its last conv's output, before the pre-fill is added and before compositing), on the image
    with no holes, read through a forward hook, so what is measured is what the decoder draws.

    Args:
        net: a study network.
        cfg: the study config (task).
        x: ``(B, 3, H, W)`` in [0, 1].

    Returns:
        ``(B, 3, H*s, W*s)`` for SR, ``(B, 3, H, W)`` for inpainting.
    """
    # no_grad, not inference_mode: pyramids caches its kernels, and a kernel first made in inference mode
    # would break the laplacian upsampler's backward pass in a later training step
    with torch.no_grad():
        if cfg.task == "sr":
            return net.up(net.features(x))
        got: list[torch.Tensor] = []
        handle = net.out.register_forward_hook(lambda _m, _i, o: got.append(o))
        try:
            net(x, torch.zeros_like(x[:, :1]))
        finally:
            handle.remove()
        h, w = x.shape[-2:]
        return got[0][..., :h, :w]


def with_drawing_output(net: nn.Module, cfg: StudyConfig) -> nn.Module:
    """For measuring an inpainting U-Net at init: a copy whose zero-initialised last conv gets PyTorch's default
    init (a zero conv outputs zeros, so every upsampler would trivially score 0). SR nets are returned as is."""
    if cfg.task != "inpaint":
        return net
    net = copy.deepcopy(net)
    net.out.reset_parameters()
    return net


# --- data --------------------------------------------------------------------------------------------------

def load_images(folders: Sequence[str | Path], limit: int | None = None) -> tuple[list[Path], list[np.ndarray]]:
    """uint8 RGB images of one or more folders (sorted), the first ``limit`` of them."""
    from restore.data import list_images
    from restore.io import read_rgb_u8

    paths = list_images(folders)[:limit]
    return paths, [read_rgb_u8(p) for p in paths]


def sr_sampler(images: list[np.ndarray], cfg: StudyConfig) -> Callable[[np.random.Generator], tuple[torch.Tensor, ...]]:
    """Batches of aligned (LR, HR) crops; LR by the published MATLAB-bicubic degradation.

    Raises:
        InputError: no training image has an LR side ≥ ``cfg.patch``.
    """
    from restore.data import SRPairs, mod_crop
    from restore.degradations import degrade

    s = cfg.scale
    hr = [mod_crop(im, s) for im in images]
    pairs = SRPairs({s: hr}, {s: [degrade(h, s) for h in hr]})
    if not any(min(lr.shape[:2]) >= cfg.patch for lr in pairs.lr[s]):
        raise InputError(f"no training image is large enough for an LR patch of {cfg.patch} px at ×{s}")

    def sample(rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        lr_b, hr_b = pairs.batch(s, cfg.batch, cfg.patch, rng)
        return torch.from_numpy(lr_b), torch.from_numpy(hr_b)

    return sample


def inpaint_sampler(images: list[np.ndarray], cfg: StudyConfig) -> Callable[[np.random.Generator], tuple[torch.Tensor, ...]]:
    """Batches of crops with hole masks drawn at the full image's scale (as restore.train does).

    Raises:
        InputError: no training image is at least ``cfg.patch`` on both sides.
    """
    from restore.data import random_hole_crops

    p = cfg.patch
    usable = [im for im in images if min(im.shape[:2]) >= p]
    if not usable:
        raise InputError(f"no training image is large enough for a {p} px crop")

    def sample(rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        x, m = random_hole_crops(usable, rng, batch=cfg.batch, patch=p)
        return torch.from_numpy(x), torch.from_numpy(m)

    return sample


def make_sampler(images: list[np.ndarray], cfg: StudyConfig):
    return sr_sampler(images, cfg) if cfg.task == "sr" else inpaint_sampler(images, cfg)


# --- training --------------------------------------------------------------------------------------------

@dataclass
class TrainLog:
    iters: int = 0
    seconds: float = 0.0
    final_loss: float | None = None  # mean L1 over the last 10 % of steps
    losses: list[float] = field(default_factory=list)


def train(net: nn.Module, cfg: StudyConfig, sampler: Callable, *, seed: int,
          progress: Progress | None = None, label: str = "") -> TrainLog:
    """Train ``net`` in place for ``cfg.iters`` steps on batches drawn from a generator seeded by ``seed``.

    The loss is L1 over the image (SR) or over hole pixels (inpainting); Adam, gradients clipped to norm 1.

    Returns:
        the :class:`TrainLog` (wall seconds, final loss).
    """
    from restore.loop import fit

    log = TrainLog()
    tic = time.perf_counter()

    def step_loss(model: nn.Module, rng: np.random.Generator, step: int) -> torch.Tensor:
        a, b = sampler(rng)
        if cfg.task == "sr":
            return F.l1_loss(model(a), b)
        y = model(a, b)
        return ((y - a).abs() * b).sum() / (b.sum() * a.shape[1]).clamp_min(1.0)

    def on_step(step: int, loss: float) -> None:
        log.losses.append(loss)
        if progress and (step + 1) % max(1, cfg.iters // 5) == 0:
            progress(f"{label} step {step + 1}/{cfg.iters} loss {np.mean(log.losses[-50:]):.4f} "
                     f"{time.perf_counter() - tic:.0f}s")

    # warm-up over the first 10 % (at most 100 steps); fp32, nothing written (a variant is measured, not kept)
    fit(net, step_loss, iters=cfg.iters, lr=cfg.learning_rate, seed=seed, device=torch.device("cpu"),
        warmup=max(1, min(100, cfg.iters // 10)), on_step=on_step)
    log.iters = cfg.iters
    log.seconds = time.perf_counter() - tic
    if log.losses:
        log.final_loss = float(np.mean(log.losses[-max(1, cfg.iters // 10):]))
    net.eval()
    return log


# --- bench prediction ------------------------------------------------------------------------------------

@dataclass
class BenchItem:
    """One bench prediction: output, reference and (inpainting) hole mask; images float64 in [0, 255]."""

    name: str
    output: np.ndarray
    reference: np.ndarray
    mask: np.ndarray | None = None  # True = hole (inpainting only)


def image_tensor(img_u8: np.ndarray) -> torch.Tensor:
    """uint8 H×W×3 → float (1, 3, H, W) in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(img_u8)).permute(2, 0, 1)[None].float().div(255.0)


def output_image(t: torch.Tensor) -> np.ndarray:
    """Network output (1, 3, H, W) → H×W×3 float64 in [0, 255], rounded like a saved 8-bit image."""
    return np.round(t[0].clamp(0, 1).permute(1, 2, 0).cpu().double().numpy() * 255.0)


def bench_sr(net: nn.Module | None, images: list[np.ndarray], names: list[str], scale: int) -> list[BenchItem]:
    """SR by the published protocol: HR mod-cropped, LR = MATLAB bicubic of HR; ``net=None`` is MATLAB bicubic.

    Returns:
        one :class:`BenchItem` per image (outputs at HR resolution).
    """
    from restore.classical import imresize
    from restore.data import mod_crop
    from restore.degradations import degrade

    items = []
    for name, img in zip(names, images):
        hr = mod_crop(img, scale)
        lr = degrade(hr, scale)
        if net is None:
            out = np.round(np.clip(imresize(lr.astype(np.float32), output_shape=hr.shape[:2]), 0, 255)).astype(np.float64)
        else:
            with torch.no_grad():
                out = output_image(net(image_tensor(lr)))
        items.append(BenchItem(name, out, hr.astype(np.float64)))
    return items


def bench_inpaint(net: nn.Module | None, images: list[np.ndarray], names: list[str]) -> list[BenchItem]:
    """Inpainting on the seeded thin/thick/box masks of ``restore.evaluate``; ``net=None`` is the U-Net's
    push–pull pre-fill alone (the reference every correction starts from)."""
    from restore.evaluate import inpaint_masks
    from restore.fill import pyramid_fill

    items = []
    for i, fam, m in inpaint_masks(images, ("thin", "thick", "box")):
        x = image_tensor(images[i])
        holes = torch.from_numpy(m.astype(np.float32))[None, None]
        with torch.no_grad():
            y = pyramid_fill(x, holes) if net is None else net(x, holes)
        items.append(BenchItem(f"{names[i]}:{fam}", output_image(y), images[i].astype(np.float64), m))
    return items


def bench_predict(net: nn.Module | None, cfg: StudyConfig, images: list[np.ndarray], names: list[str]) -> list[BenchItem]:
    return bench_sr(net, images, names, cfg.scale) if cfg.task == "sr" else bench_inpaint(net, images, names)


def bench_psnr(items: list[BenchItem], cfg: StudyConfig) -> float:
    """The task's standard score: SR mean PSNR-Y (scale shaved); inpainting mean hole PSNR (RGB)."""
    from restore.metrics import psnr, psnr_y

    if cfg.task == "sr":
        return float(np.mean([psnr_y(it.output, it.reference, cfg.scale) for it in items]))
    return float(np.mean([psnr(it.output[it.mask], it.reference[it.mask], 255.0) for it in items if it.mask.any()]))


def write_report(out: str | Path, stem: str, result: dict[str, Any],
                 figures: Sequence[tuple[str, Callable[[Path], Path]]],
                 markdown: Callable[[list[str]], str]) -> list[Path]:
    """Write one study's results under ``out`` (created): ``<stem>.json``, each figure (``(file name, draw)``:
    ``draw(path)`` writes it and returns the path) and ``<stem>.md``, the table that links the figures
    (``markdown(figure file names)``).

    Returns:
        the written paths: JSON, Markdown, then the figures.
    """
    import json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    js = out / f"{stem}.json"
    js.write_text(json.dumps(result, indent=1, default=float) + "\n")
    figs = [draw(out / name) for name, draw in figures]
    md = out / f"{stem}.md"
    md.write_text(markdown([f.name for f in figs]))
    return [js, md, *figs]
