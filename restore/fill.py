"""The classical pre-fill of the inpainting network (also the ``pushpull`` method): push–pull down a
Gaussian pyramid, then multigrid Jacobi sweeps whose stencil follows the local image orientation.

It is classical (no learned parameters), so it lives in the classical layer: :mod:`restore.classical` and the
model layer both import it from here. Everything runs in float32 whatever the autocast state: the
normalisation ``num / den`` of push–pull underflows in half precision (a far hole pixel becomes 0/0 = NaN).
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F


def _stencil_weights(stencil: float | Sequence[float] | torch.Tensor, bi: torch.Tensor,
                     p: torch.Tensor) -> torch.Tensor:
    """The Jacobi stencil at each free pixel as ``(n, 4)`` weights on the (horizontal, vertical, diagonal ↘,
    diagonal ↗) neighbour pairs, rows summing to 1. A float is the horizontal share of an axis-only stencil
    (0.5 is the isotropic 5-point Laplacian); four numbers, a ``(B, 4)`` tensor (one stencil per batch item)
    or a ``(B, 4, H, W)`` field (one per pixel) are used as given after normalising. ``bi``: each free
    pixel's batch item; ``p``: its flat ``(b, y, x)`` index (a field is read, checked and normalised there
    only: at 512² normalising the whole field cost more than the sweeps)."""
    if isinstance(stencil, (int, float)):
        stencil = (float(stencil), 1.0 - float(stencil), 0.0, 0.0)
    w = torch.as_tensor(stencil, dtype=torch.float32, device=bi.device)
    if w.dim() == 4:  # a per-pixel field (B, 4, H, W)
        if w.shape[1] != 4:
            raise ValueError("a stencil field is (B, 4, H, W) non-negative weights")
        w = torch.stack([w[:, k].reshape(-1)[p] for k in range(4)], 1)
        if bool((w < 0).any()) or bool((w.sum(1) <= 0).any()):
            raise ValueError("a stencil field is (B, 4, H, W) non-negative weights")
        return w / w.sum(1, keepdim=True)
    if w.shape[-1] != 4 or w.dim() > 2 or bool((w < 0).any()) or bool((w.sum(-1) <= 0).any()):
        raise ValueError("a stencil is four non-negative weights (horizontal, vertical, diagonal ↘, diagonal ↗)")
    w = w / w.sum(-1, keepdim=True)
    return w.expand(len(bi), 4) if w.dim() == 1 else w[bi]


#: free pixels from which a level's sweeps run as a sparse product (MKL, threaded): below it, as a gather and
#: a batched product in PyTorch's own kernels, which run small tensors inline, while every MKL call wakes its
#: thread pool under OpenMP's passive waiting (the crossover measured: docs/BENCHMARKS.md)
SPARSE_MIN = 1000


def _jacobi(f: torch.Tensor, free: torch.Tensor, iters: int,
            stencil: float | Sequence[float] | torch.Tensor = 0.5) -> torch.Tensor:
    """``iters`` Jacobi sweeps of an (anisotropic) Laplace equation on the ``free`` pixels (others stay
    fixed), with replicate borders: each free pixel becomes the weighted mean of its neighbour pairs, with
    weights ``stencil`` (see :func:`_stencil_weights`; 0.5 = the isotropic 5-point Laplacian).

    A sweep is linear in the free pixels, ``x ← S·x + b``: ``S`` holds the weights between free pixels (two
    entries per neighbour pair a row) and ``b`` what the fixed neighbours contribute, both built once, so a
    sweep is one product — sparse (``torch.addmm`` with a CSR matrix) from :data:`SPARSE_MIN` free pixels up,
    else a gather and a batched ``(1×k)·(k×C)`` product (nothing is gathered, weighed or scattered per sweep
    beyond the product itself). Replicate borders
    are neighbour indices read through a map of the padded grid to the pixels it replicates.

    Shape:
        f ``(B, C, H, W)``, free ``(B, 1, H, W)`` bool → ``(B, C, H, W)``.
    """
    if iters <= 0 or not bool(free.any()):
        return f
    b, c, h, w = f.shape
    dev = f.device
    hw, wp = h * w, w + 2
    p = free.expand(b, 1, h, w).reshape(-1).nonzero()[:, 0]  # flat (b, y, x) index of each free pixel
    n = p.numel()
    bi = torch.div(p, hw, rounding_mode="floor")
    wts = _stencil_weights(stencil, bi, p).to(f.dtype) / 2
    used = [k for k in range(4) if bool(wts[:, k].any())]  # the pairs that weigh nothing are skipped
    # each cell of the padded (h+2)×(w+2) grid → the in-image pixel it replicates
    grid = (torch.arange(-1, h + 1, device=dev).clamp(0, h - 1)[:, None] * w
            + torch.arange(-1, w + 1, device=dev).clamp(0, w - 1)[None, :]).reshape(-1)
    r = p - bi * hw
    y = torch.div(r, w, rounding_mode="floor")
    q = r + 2 * y + wp + 1  # the pixel's cell in the padded grid
    step = (1, wp, wp + 1, wp - 1)  # the (horizontal, vertical, ↘, ↗) pairs in the padded grid
    offs = torch.tensor([s * step[k] for k in used for s in (-1, 1)], device=dev)
    nb = grid[q[:, None] + offs] + (bi * hw)[:, None]  # (n, k) neighbours as flat (b, y, x) indices
    k = nb.shape[1]
    wn = wts[:, used].repeat_interleave(2, dim=1)  # each pair's weight on both its ends
    pos = torch.full((b * hw,), -1, dtype=torch.long, device=dev)
    pos[p] = torch.arange(n, device=dev)
    col = pos[nb]
    fixed = col < 0
    planes = f.transpose(0, 1).reshape(c, -1)  # (C, B·H·W): a view for one image
    rhs = (planes[:, nb] * (wn * fixed)).sum(2).t().contiguous()  # b: the fixed neighbours' share, (n, C)
    # a fixed neighbour's entry stays, pointing anywhere with weight 0: every row has k entries, so nothing
    # is compacted (and the CSR row pointers are a range)
    col = torch.where(fixed, 0, col)
    wn = wn * ~fixed
    x = planes[:, p].t().contiguous()
    if n >= SPARSE_MIN and dev.type in ("cpu", "cuda"):  # the sparse kernels exist there
        col, order = col.sort(dim=1)  # sorted within rows: MKL's product runs faster so
        crow = torch.arange(0, n * k + 1, k, dtype=torch.int32, device=dev)
        with warnings.catch_warnings():  # "sparse CSR support is in beta": its addmm is what this uses, tested
            warnings.simplefilter("ignore")
            # int32 indices: with int64 ones every product converted them first
            s = torch.sparse_csr_tensor(crow, col.int().reshape(-1), wn.gather(1, order).reshape(-1),
                                        size=(n, n), check_invariants=False)
            for _ in range(iters):
                x = torch.addmm(rhs, s, x)
    else:
        gather, w3, r3 = col.reshape(-1), wn[:, None, :].contiguous(), rhs[:, None, :]
        for _ in range(iters):
            x = torch.baddbmm(r3, w3, x.index_select(0, gather).view(n, k, c)).view(n, c)
    out = f.clone()
    out[bi, :, y, r - y * w] = x
    return out


# the shipped pre-fill's orientation guidance (chosen on training images by scripts/tune_fill.py --structure)
STRUCTURE_STRENGTH = 0.95
STRUCTURE_SIGMA = 4.0


@dataclass(frozen=True)
class FillConfig:
    """The pre-fill's settings: one object instead of a parameter per setting threaded through every layer.

    Args:
        confidence: a pyramid level keeps its own average where coverage × confidence ≥ 1.
        iters: Jacobi sweeps at full resolution; ``growth`` times more per coarser level, at most ``max_iters``.
        structure: how strongly the sweeps follow the local orientation (0 = isotropic, 1 = fully).
        structure_sigma: scale (px) of the structure tensor that gives the orientation.

    Chosen on training images by ``scripts/tune_fill.py``, never on benchmark images.
    """

    confidence: float = 32.0
    iters: int = 10
    growth: float = 3.0
    max_iters: int = 100
    structure: float = STRUCTURE_STRENGTH
    structure_sigma: float = STRUCTURE_SIGMA

    def __post_init__(self) -> None:
        if not 0.0 <= self.structure <= 1.0 or self.structure_sigma <= 0:
            raise ValueError("fill structure must be in [0, 1] and structure_sigma > 0")
        if self.confidence <= 0 or self.iters < 0 or self.growth < 1 or self.max_iters < 0:
            raise ValueError("fill confidence must be > 0, iters ≥ 0, growth ≥ 1, max_iters ≥ 0")

    @classmethod
    def from_dict(cls, d: dict[str, Any] | FillConfig | None) -> FillConfig:
        """From a config mapping (unknown keys are an error, so a typo is not silently ignored)."""
        if d is None:
            return cls()
        if isinstance(d, FillConfig):
            return d
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown fill setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(names))}")
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _gauss_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur with replicate borders. Shape: ``(B, C, H, W)`` → same."""
    r = max(1, int(3 * sigma + 0.5))
    t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    if x.device.type == "cpu" and c > 1:
        # oneDNN's depthwise 1×25 / 25×1 convolutions run several times faster channels-last, with
        # bit-identical results
        x = x.contiguous(memory_format=torch.channels_last)
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    y = F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return y.contiguous()  # per-channel work follows (unbind): planar is faster there


def structure_stencils(image: torch.Tensor, holes: torch.Tensor, *, strength: float = STRUCTURE_STRENGTH,
                       sigma: float = STRUCTURE_SIGMA) -> torch.Tensor:
    """Per-pixel smoothing stencils that follow the image's local orientation into the holes.

    The structure tensor (products of the grey image's gradients, from known pixels only) is carried into
    the holes by an isotropic push–pull fill and smoothed with a Gaussian of ``sigma``; where it is coherent
    (one dominant gradient direction) the stencil leans towards the neighbour pairs along the isophote —
    the direction in which the image does not change — so edges and lines are continued across a hole
    instead of being blurred out. ``strength`` × coherence is the share of the directional part; the rest is
    the isotropic 5-point stencil (``strength`` < 1 keeps every pixel linked to its 4-neighbours).

    Shape:
        image ``(B, C, H, W)``, holes ``(B, 1, H, W)`` → ``(B, 4, H, W)`` weights on the (horizontal,
        vertical, diagonal ↘, diagonal ↗) pairs, summing to 1.
    """
    known = 1.0 - holes
    g = image.mean(1, keepdim=True)
    # central differences where both neighbours are known; zero (and invalid) elsewhere
    gp = F.pad(g, (1, 1, 1, 1), mode="replicate")
    kp = F.pad(known, (1, 1, 1, 1), mode="replicate")
    gx = (gp[..., 1:-1, 2:] - gp[..., 1:-1, :-2]) / 2
    gy = (gp[..., 2:, 1:-1] - gp[..., :-2, 1:-1]) / 2
    valid = kp[..., 1:-1, 2:] * kp[..., 1:-1, :-2] * kp[..., 2:, 1:-1] * kp[..., :-2, 1:-1]
    tensor = torch.cat([gx * gx, gx * gy, gy * gy], dim=1) * valid
    if bool((valid < 1).any()):
        # push–pull alone: only the blurred orientation matters, and the harmonic sweeps cost time for no gain
        # on the training images (docs/INPAINTING.md)
        tensor = pyramid_fill(tensor, 1.0 - valid, smooth_iters=0)
    jxx, jxy, jyy = _gauss_blur(tensor, sigma).unbind(1)
    diff, tr = jxx - jyy, jxx + jyy
    coherence = torch.sqrt(diff * diff + 4 * jxy * jxy) / (tr + 1e-6)
    # isophote angle (y points down, like the ↘ pair at +45°)
    theta = 0.5 * torch.atan2(2 * jxy, diff) + torch.pi / 2
    phi = torch.tensor([0.0, 0.5, 0.25, 0.75], dtype=image.dtype, device=image.device) * torch.pi
    d = torch.cos(2 * (theta[:, None] - phi[None, :, None, None])).clamp_min(0)  # nearest two pairs share
    d = d / d.sum(1, keepdim=True).clamp_min(1e-6)
    iso = torch.tensor([0.5, 0.5, 0.0, 0.0], dtype=image.dtype, device=image.device)[None, :, None, None]
    s = (strength * coherence.clamp(0, 1))[:, None]
    return iso * (1 - s) + d * s


def pyramid_fill(image: torch.Tensor, holes: torch.Tensor, *, confidence: float = FillConfig.confidence,
                 smooth_iters: int = FillConfig.iters, growth: float = FillConfig.growth,
                 max_iters: int = FillConfig.max_iters,
                 stencil: float | Sequence[float] | torch.Tensor = 0.5) -> torch.Tensor:
    """Fill holes by push–pull with multigrid harmonic smoothing: a classical O(pixels) smooth fill.

    Push: normalised binomial averaging of the known pixels down a Gaussian pyramid. Pull: from the
    coarsest level up, each level keeps its own average where its coverage × ``confidence`` ≥ 1, blends in
    the upsampled coarser estimate elsewhere, then relaxes the uncertain pixels towards a harmonic
    (Laplace) fill with Jacobi sweeps — ``smooth_iters`` at full resolution, ``growth`` times more per
    coarser level (capped at ``max_iters``): a multigrid solve, so large holes converge at the coarse
    levels for little cost (the sweeps per level are capped: more gave nothing on the training images). It beats
    biharmonic on thin holes and by far on large ones, in milliseconds where biharmonic takes seconds, and
    it gives the network a sensible start, so it learns a correction instead of a fill from zeros.
    ``stencil`` is the sweeps' stencil (see :func:`_stencil_weights`): 0.5 = isotropic, the default; a
    per-pixel field (from :func:`structure_stencils`, as :func:`guided_fill` does) is resampled to each
    level by area averaging. Settings were chosen on training images by ``scripts/tune_fill.py``, never on
    benchmark images, and checked on a second slice of them (the figures: docs/INPAINTING.md).

    Shape:
        image ``(B, C, H, W)``, holes ``(B, 1, H, W)`` (1 = hole) → ``(B, C, H, W)``; known pixels unchanged.
    """
    from pyramids import pyr_down, pyr_up

    known = 1.0 - holes
    num, den = image * known, known
    stack = []
    while True:
        stack.append((num, den))
        if min(num.shape[-2:]) <= 2:
            break
        num, den = pyr_down(num, padding="replicate"), pyr_down(den, padding="replicate")
    fill = num / den.clamp_min(1e-8)
    for level, (num, den) in reversed(list(enumerate(stack[:-1]))):
        up = pyr_up(fill, size=tuple(num.shape[-2:]), padding="replicate")
        w = (den * confidence).clamp(0, 1)
        fill = num / den.clamp_min(1e-8) * w + up * (1 - w)
        iters = min(max_iters, round(smooth_iters * growth**level))
        if iters:
            st = stencil
            if isinstance(st, torch.Tensor) and st.dim() == 4 and st.shape[-2:] != num.shape[-2:]:
                st = F.interpolate(st, size=tuple(num.shape[-2:]), mode="area")  # the field at this level
            fill = _jacobi(fill, w < 1, iters, st)
    return image * known + fill * holes


def guided_fill(image: torch.Tensor, holes: torch.Tensor, *, structure: float = STRUCTURE_STRENGTH,
                structure_sigma: float = STRUCTURE_SIGMA, **fill) -> torch.Tensor:
    """:func:`pyramid_fill` whose smoothing follows the image's orientation (:func:`structure_stencils` with
    strength ``structure`` and scale ``structure_sigma``; 0 = the fixed stencil in ``fill``). The defaults
    are the shipped pre-fill's, chosen on training images by ``scripts/tune_fill.py --structure``.

    Shape:
        image ``(B, C, H, W)``, holes ``(B, 1, H, W)`` (1 = hole) → ``(B, C, H, W)``; known pixels unchanged.
    """
    if structure > 0:
        fill = {**fill, "stencil": structure_stencils(image, holes, strength=structure, sigma=structure_sigma)}
    return pyramid_fill(image, holes, **fill)




def prefill(image: torch.Tensor, holes: torch.Tensor, cfg: FillConfig | None = None) -> torch.Tensor:
    """The pre-fill with ``cfg``'s settings, computed in float32 whatever the autocast state (push–pull's
    ``num / den`` underflows to 0/0 in float16), returned in float32.

    Shape:
        image ``(B, C, H, W)``, holes ``(B, 1, H, W)`` binary (1 = hole) → ``(B, C, H, W)`` float32; known
        pixels unchanged.
    """
    cfg = cfg or FillConfig()
    with torch.autocast(image.device.type, enabled=False):
        return guided_fill(image.float(), holes.float(), structure=cfg.structure, structure_sigma=cfg.structure_sigma,
                           confidence=cfg.confidence, smooth_iters=cfg.iters, growth=cfg.growth,
                           max_iters=cfg.max_iters)
