"""The ``texture`` inpainting method: structure from the CNN's fill, texture from the photo's own known pixels.

A PSNR-trained network fills a large hole with the conditional mean, a smooth smear. This method keeps the
network's low frequencies (the structure: edges, shading, colour) and takes the high-frequency band from
patches of the same photo:

1. ``structure`` = the CNN's fill (:func:`restore.engine.inpaint_array`; the pre-fill when no CNN is shipped).
2. Around each group of holes a crop with ``context`` known pixels is cut (memory follows the holes, as the
   CNN's crops do), and a pyramid of it is built, coarse to fine; thin holes get fewer levels.
3. A nearest-neighbour field maps every patch that touches the hole to a *source* patch whose pixels are all
   known — never one that overlaps the hole. At the coarsest level it is found from the boundary inwards
   (onion peel): ring after ring, matched on the known and already copied pixels (the network's guess counts
   little), with a bonus for continuing a neighbour's copy, so a pattern carries on in phase. Then, at each
   level, PatchMatch (Barnes et al.), vectorised over all target patches at once, refines it: candidates from
   neighbours at jumps of 8, 4, 2, 1 px, shrinking random windows and a uniform draw. Patches are compared on
   low-frequency DCT components of the 7×7 colour patch plus a guide — the structure blurred, at the centre
   and at four taps around it — so a patch is taken from where the photo looks like what the network
   predicts there.
4. Each hole pixel copies its own patch's source centre pixel (averaging the overlapping patches, as EM voting
   does, blurs the grain away), and the field is matched again against the copy (Wexler, Shechtman and
   Irani's expectation–maximisation, with the copy as the estimate) and carried to the next finer level.
5. The output inside the hole is ``blur(structure) + gain · a · (copy − blur(copy))``: the network's structure
   plus the copied grain, where ``a ≤ 1`` turns the band down wherever the copy is grainier than the known
   pixels around the hole (their local energy carried into it by push–pull).

NumPy plus one convolution per round (PyTorch, CPU); the draws come from one generator seeded by ``seed`` and
the crop's index, so the result is a function of the input and the seed. Pixels outside the hole are returned
untouched. Settings and their measurements: docs/INPAINTING.md.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from restore.errors import InputError

#: the four propagation directions (dy, dx)
_DIRS = ((0, 1), (1, 0), (0, -1), (-1, 0))
#: onion peel: ring width (px) and the weight of a structure pixel not yet replaced by a copied one
_DIAG = ((1, 1), (1, -1), (-1, 1), (-1, -1))
#: onion peel: ring width (px), the weight of a structure pixel not yet replaced by a copied one, and the bonus
#: (in the patch distance's units: squared differences of [0, 1] values) per neighbour copied with the same offset
PEEL_STEP, PEEL_TRUST, PEEL_COHERENCE, PEEL_SWEEPS = 1.0, 0.05, 0.1, 1


@dataclass(frozen=True)
class TextureConfig:
    """Settings of :func:`inpaint_texture` (chosen on held-back training images: docs/INPAINTING.md).

    Attributes:
        patch: patch side in pixels (odd), at every level.
        levels: most pyramid levels; fewer when the hole is thin (a stroke vanishes at coarse levels).
        thickness_per_level: a level is added for each doubling of the hole's thickness over this (px).
        em_iters: copy-and-match rounds per level, full resolution first (the last entry repeats for coarser
            levels).
        pm_iters: PatchMatch sweeps per round.
        dims: principal components of the patch used for matching.
        guide_weight: weight of the structure guide against the patch's components.
        guide_sigma: blur of the structure for the guide (full-resolution px): it says what colour and shading a
            patch needs, not the phase of a pattern, which the known pixels decide.
        sigma: the structure / texture split (Gaussian σ, full-resolution pixels).
        gain: amplitude of the copied texture band (1 = as in the source patches).
        match_energy: turn the copied band down where it is grainier than the known pixels around the hole.
        fine_radius: widest random-search window (px) below the coarsest level, where the field carried up
            from the coarser level is refined rather than found (the coarsest level searches the whole crop).
        context: known pixels kept around each group of holes (full resolution).
    """

    patch: int = 7
    levels: int = 4
    thickness_per_level: float = 24.0
    em_iters: tuple[int, ...] = (1, 2, 3, 4)
    pm_iters: int = 2
    dims: int = 16
    guide_weight: float = 2.0
    guide_sigma: float = 3.0
    sigma: float = 2.0
    gain: float = 1.05
    match_energy: bool = True
    fine_radius: int = 8
    context: int = 64

    def __post_init__(self) -> None:
        if self.patch < 3 or self.patch % 2 == 0:
            raise InputError(f"texture patch must be odd and at least 3, got {self.patch}")
        if self.levels < 1 or not self.em_iters or min(self.em_iters) < 1 or self.pm_iters < 1:
            raise InputError("texture levels, em_iters and pm_iters must be at least 1")
        if self.dims < 1 or self.sigma <= 0 or self.gain < 0 or self.fine_radius < 1 or self.context < self.patch:
            raise InputError("texture dims ≥ 1, sigma > 0, gain ≥ 0, fine_radius ≥ 1 and context ≥ patch are required")


def structure_fill(f: np.ndarray, holes: np.ndarray, model=None, *, device: str = "auto",
                   precision: str = "auto") -> np.ndarray:
    """The structure the texture is laid on: the CNN's fill (``model``, else the shipped default; the pre-fill
    when none is shipped).

    Shape: ``H×W×C`` float32 (C = 1 or 3), ``H×W`` bool → ``H×W×C`` float32.
    """
    from restore.catalogue import default_model
    from restore.engine import Prefill, inpaint_array

    net = model if model is not None else default_model("inpaint") or Prefill.describe()
    return inpaint_array(f, holes, net, device=device, precision=precision)


def inpaint_texture(f: np.ndarray, holes: np.ndarray, *, structure: np.ndarray | None = None, model=None,
                    device: str = "auto", precision: str = "auto", seed: int = 0,
                    config: TextureConfig | None = None) -> np.ndarray:
    """Fill the holes with the network's structure and texture copied from the image's known pixels.

    Args:
        f: the image, float32 in [0, 1]; hole pixels are never read.
        holes: True = hole; at least one known pixel.
        structure: the smooth fill to follow (``None``: :func:`structure_fill` with ``model``).
        model: the CNN for the structure (name, path or loaded model); ``None`` = the shipped default.
        device, precision: for the CNN (see :func:`restore.inpaint`).
        seed: the random draws of the search; the output is a function of the inputs and the seed.
        config: the settings (``None`` = :class:`TextureConfig`'s defaults).

    Returns:
        The filled image, float32; pixels outside ``holes`` are ``f``'s, unchanged.

    Shape:
        ``f`` ``H×W×C`` (C = 1 or 3), ``holes`` ``H×W`` → ``H×W×C``.

    Raises:
        InputError: shapes that do not match, or a mask without known pixels.
    """
    cfg = config or TextureConfig()
    if f.ndim != 3 or holes.shape != f.shape[:2]:
        raise InputError(f"texture: image {f.shape} and mask {holes.shape} do not match")
    holes = holes.astype(bool)
    if not holes.any():
        return f.copy()
    if holes.all():
        raise InputError("the mask covers the whole image: there are no known pixels to fill from")
    from restore.engine import grey_as_colour

    if grey_as_colour(f, ~holes):  # filled as grey, then copied to the three channels (no tint)
        grey = inpaint_texture(f[:, :, :1], holes, structure=None if structure is None else structure[:, :, :1],
                               model=model, device=device, precision=precision, seed=seed, config=cfg)
        return np.repeat(grey, 3, axis=2)
    f = np.ascontiguousarray(f, dtype=np.float32)
    if structure is None:
        structure = structure_fill(f, holes, model, device=device, precision=precision)
    out = f.copy()
    out[holes] = structure[holes]
    from restore.engine import hole_boxes

    for k, (y0, y1, x0, x1) in enumerate(hole_boxes(holes, cfg.context)):
        sel = holes[y0:y1, x0:x1]
        rng = np.random.default_rng([seed, k])
        res = _synthesise(out[y0:y1, x0:x1], sel, cfg, rng)
        out[y0:y1, x0:x1][sel] = res[sel]
    return out


# --- one crop -------------------------------------------------------------------------------------------------

def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    if sigma < 0.3:
        return a.copy()
    return cv2.GaussianBlur(a, (0, 0), sigma, borderType=cv2.BORDER_REFLECT).reshape(a.shape)


def _down(a: np.ndarray) -> np.ndarray:
    import cv2

    h, w = a.shape[:2]
    return cv2.resize(a, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA).reshape(
        (h + 1) // 2, (w + 1) // 2, *a.shape[2:])


def _dct_basis(p: int, c: int, dims: int) -> np.ndarray:
    """``dims`` orthonormal patch filters ``(dims, C·p·p)``: 2-D DCT-II functions of the luma in order of
    frequency, and for colour the DC and first two of each of two colour-opponent channels."""
    n = np.arange(p)
    d1 = np.cos(np.pi * (n[None, :] + 0.5) * n[:, None] / p)  # (freq, pixel)
    d1 /= np.linalg.norm(d1, axis=1, keepdims=True)
    freqs = sorted(((u, v) for u in range(p) for v in range(p)), key=lambda t: (t[0] + t[1], t[0]))
    if c == 1:
        colours, per = [np.ones(1)], [dims]
    else:
        colours = [np.ones(3) / np.sqrt(3), np.array([1.0, 0.0, -1.0]) / np.sqrt(2),
                   np.array([1.0, -2.0, 1.0]) / np.sqrt(6)]
        chroma = min(3, max(0, (dims - 1) // 3))
        per = [dims - 2 * chroma, chroma, chroma]
    rows = []
    for col, k in zip(colours, per):
        for u, v in freqs[: min(k, p * p)]:
            rows.append((col[:, None, None] * np.outer(d1[u], d1[v])[None]).ravel())
    return np.asarray(rows, np.float32)


def _peel_taps(r: int) -> tuple[np.ndarray, np.ndarray]:
    """The pixels the onion peel compares: the patch's grid at twice the spacing plus the 3×3 centre, so a
    pattern's phase is seen over twice the patch's reach (a stripe as wide as the patch's half is ambiguous)."""
    d = np.arange(-r, r + 1)
    pts = {(a, b) for a in d for b in d if max(abs(a), abs(b)) <= 1} | {(2 * a, 2 * b) for a in d for b in d}
    dy, dx = np.array(sorted(pts)).T
    return dy, dx


def _n_levels(holes: np.ndarray, cfg: TextureConfig) -> int:
    """Fewer levels for thin holes: a level is added per doubling of the thickness over
    ``thickness_per_level``, and the coarsest crop keeps room for a few patches."""
    import cv2

    dist = cv2.distanceTransform(np.pad(holes, 1).astype(np.uint8), cv2.DIST_L2, 3)
    thick = 2.0 * float(dist.max())
    n = 1 + int(np.floor(np.log2(max(thick / cfg.thickness_per_level, 1.0))))
    while n > 1 and min(holes.shape) / 2 ** (n - 1) < 4 * cfg.patch:
        n -= 1
    return max(1, min(n, cfg.levels))


def _synthesise(img: np.ndarray, holes: np.ndarray, cfg: TextureConfig, rng: np.random.Generator) -> np.ndarray:
    """Texture synthesis on one crop whose hole pixels already hold the structure.

    Shape: ``h×w×C`` float32, ``h×w`` bool → ``h×w×C`` float32 (hole pixels replaced)."""
    n = _n_levels(holes, cfg)
    imgs, masks = [img], [holes]
    for _ in range(n - 1):
        imgs.append(_down(imgs[-1]))
        masks.append(_down(masks[-1].astype(np.float32)) > 0)
    coarse = None
    for lev in range(n - 1, -1, -1):
        level = _Level(imgs[lev], masks[lev], cfg, lev, rng)
        if not level.ok:
            return img  # no patch of the crop is wholly known: the structure alone
        nnf = level.peel() if coarse is None else level.initial(coarse)
        for _ in range(cfg.em_iters[min(lev, len(cfg.em_iters) - 1)]):
            # matched on the copy itself (the structure enters through the guide): a copy consistent with its
            # sources is a fixed point, which the structure's low band, wrong where the network is, would upset
            nnf = level.search(level.vote(nnf), nnf, None if coarse is None else cfg.fine_radius)
        coarse = level.offsets(nnf)
    return level.compose(level.vote(nnf), gain=cfg.gain, match_energy=cfg.match_energy)


class _Level:
    """One pyramid level of a crop: sources, targets, features, and the search and vote on them."""

    def __init__(self, img: np.ndarray, holes: np.ndarray, cfg: TextureConfig, lev: int,
                 rng: np.random.Generator) -> None:
        import cv2

        self.img, self.holes, self.cfg, self.rng = img, holes, cfg, rng
        self.sigma, self.guide_sigma = cfg.sigma / 2 ** lev, max(cfg.guide_sigma / 2 ** lev, 1.0)
        h, w, c = img.shape
        self.h, self.w, self.c = h, w, c
        r = self.r = cfg.patch // 2
        k = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
        known = cv2.erode((~holes).astype(np.uint8), k, borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
        known[:r] = known[h - r:] = False
        known[:, :r] = known[:, w - r:] = False
        self.valid = known.ravel()  # a source: its whole patch is known and inside the crop
        self.src = np.flatnonzero(self.valid)
        self.ok = self.src.size > 0
        if not self.ok:
            return
        tgt = cv2.dilate(holes.astype(np.uint8), k) > 0
        self.tgt = np.flatnonzero(tgt.ravel())  # every patch that touches the hole
        self.ty, self.tx = np.divmod(self.tgt, w)
        self.hole_idx = np.flatnonzero(holes.ravel())
        self.low = _blur(img, self.sigma)  # the structure's low band (hole pixels hold the structure)
        self._basis()
        self.fs = self._features(img)

    # features: low-frequency DCT components of the patch (luma and two colour-opponent channels) + the blurred
    # structure around it. A fixed basis: the principal components of natural-image patches are close to it, and
    # it needs no eigen-solver per crop.
    def _basis(self) -> None:
        r, c = self.r, self.c
        self.basis = _dct_basis(self.cfg.patch, c, self.cfg.dims)  # (dims, C·p·p)
        g = _blur(self.img, self.guide_sigma)
        taps = [g]
        for dy, dx in ((-r, 0), (r, 0), (0, -r), (0, r)):
            taps.append(np.roll(g, (-dy, -dx), axis=(0, 1)))
        # the guide is the same image for targets and sources: a source is where the photo resembles the
        # structure predicted at the target; its weight is per pixel of the patch, as the patch term's
        wgt = self.cfg.guide_weight * np.sqrt(self.cfg.patch ** 2 / 5.0)
        self.guide = (wgt * np.concatenate(taps, axis=2)).reshape(self.h * self.w, -1).astype(np.float32)

    def _features(self, a: np.ndarray) -> np.ndarray:
        """``(h·w, dims + 5·C)`` features of every pixel's patch of ``a``."""
        import torch
        import torch.nn.functional as F

        r, p = self.r, self.cfg.patch
        wt = torch.from_numpy(self.basis.reshape(-1, self.c, p, p).copy())
        x = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None]
        with torch.inference_mode():
            x = F.pad(x, (r, r, r, r), mode="reflect" if min(self.h, self.w) > r else "replicate")
            y = F.conv2d(x, wt)[0]
        proj = y.numpy().reshape(len(self.basis), -1)
        return np.ascontiguousarray(np.concatenate([proj.T, self.guide], axis=1))

    # the nearest-neighbour field: flat source index per target, kept as full maps of offsets
    def initial(self, coarse: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
        """A field to start from: random sources at the coarsest level, else the coarser field doubled."""
        nnf = self.src[self.rng.integers(0, self.src.size, self.tgt.size)]
        if coarse is not None:
            oy, ox = coarse
            cy = np.minimum(self.ty // 2, oy.shape[0] - 1)
            cx = np.minimum(self.tx // 2, oy.shape[1] - 1)
            sy, sx = self.ty + 2 * oy[cy, cx], self.tx + 2 * ox[cy, cx]
            inside = (sy >= 0) & (sy < self.h) & (sx >= 0) & (sx < self.w)
            cand = np.where(inside, sy * self.w + sx, 0)
            good = inside & self.valid[cand]
            nnf = np.where(good, cand, nnf)
        return nnf

    def peel(self) -> np.ndarray:
        """The coarsest level's field, found from the boundary inwards (onion peel): first the patches around
        the hole, then ring after ring of hole pixels, each matched on raw pixels weighted by trust — known and
        already copied pixels 1, the structure not yet replaced ``PEEL_TRUST`` — plus the guide and a bonus for
        coherence, and filled with its source's centre pixel. A pattern is so continued from the boundary in
        phase, where a match on the structure alone would follow the network's guesses next to the boundary."""
        import cv2

        h, w, r, c = self.h, self.w, self.r, self.c
        dist = cv2.distanceTransform(np.pad(self.holes, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
        ring_of = np.where(self.holes, np.ceil(dist / PEEL_STEP), 0).astype(np.int64)[self.ty, self.tx]
        # padded copies, so the taps (reaching 2r) need no clipping: flat index = (y + pad)·wp + x + pad
        pad, wp = 2 * r, w + 4 * r
        est = np.pad(self.img, ((pad, pad), (pad, pad), (0, 0))).reshape(-1, c)
        src_img = est.copy()
        known = np.pad(~self.holes, pad).ravel().astype(np.float32)
        # sources whose whole footprint is known (a partial one would match on fewer pixels, hence better);
        # the ordinary sources where no such one exists
        wide = cv2.erode(known.reshape(h + 2 * pad, wp), np.ones((2 * pad + 1, 2 * pad + 1), np.uint8),
                         borderType=cv2.BORDER_CONSTANT, borderValue=0)[pad:-pad, pad:-pad].ravel() > 0
        valid = wide & self.valid if (wide & self.valid).any() else self.valid
        srcs = np.flatnonzero(valid)
        trust = np.pad(np.where(self.holes, PEEL_TRUST, 1.0), pad).ravel().astype(np.float32)
        dy, dx = _peel_taps(r)
        toff = dy * wp + dx
        to_pad = lambda q: (q // w + pad) * wp + q % w + pad  # noqa: E731
        nnf = np.zeros(self.tgt.size, np.int64)
        full = np.zeros(h * w, np.int64)
        settled = np.zeros(h * w, bool)
        dirs = _DIRS + _DIAG
        for ring in range(int(ring_of.max()) + 1):
            sel = np.flatnonzero(ring_of == ring)
            if sel.size == 0:
                continue
            ty, tx, tflat = self.ty[sel], self.tx[sel], self.tgt[sel]
            tq = to_pad(tflat)[:, None] + toff
            patch, wt = est[tq], trust[tq]  # (n, taps, C), (n, taps)
            gt = self.guide[tflat]
            nbrs = [np.clip(ty + a, 0, h - 1) * w + np.clip(tx + b, 0, w - 1) for a, b in dirs]

            def cost(cand: np.ndarray) -> np.ndarray:
                sq = to_pad(cand)[:, None] + toff
                d = patch - src_img[sq]
                out = np.einsum("np,npc->n", wt * known[sq], d * d) + ((gt - self.guide[cand]) ** 2).sum(1)
                # coherence: a bonus per settled neighbour copied with the same offset, so a copy started at the
                # boundary (where the known pixels decide) is carried on rather than re-decided on guesses
                off = cand - tflat
                for q in nbrs:
                    out -= PEEL_COHERENCE * (settled[q] & (full[q] - q == off))
                return out

            cur = srcs[self.rng.integers(0, srcs.size, sel.size)]
            best = cost(cur)

            def offer(cand: np.ndarray) -> None:
                nonlocal cur, best
                cand = np.where(valid[cand], cand, cur)
                cc = cost(cand)
                better = cc < best
                cur, best = np.where(better, cand, cur), np.where(better, cc, best)

            for _ in range(PEEL_SWEEPS):
                for jump in (1, 2, 4):
                    full[tflat] = cur
                    settled[tflat] = True
                    for ddy, ddx in dirs if jump == 1 else _DIRS:
                        ny, nx = np.clip(ty + jump * ddy, 0, h - 1), np.clip(tx + jump * ddx, 0, w - 1)
                        q = ny * w + nx
                        sy, sx = full[q] // w - (ny - ty), full[q] % w - (nx - tx)
                        ok = settled[q] & (sy >= 0) & (sy < h) & (sx >= 0) & (sx < w)
                        offer(np.where(ok, sy * w + sx, cur))
                rad = max(h, w) // 2
                while rad >= 1:
                    sy = np.clip(cur // w + self.rng.integers(-rad, rad + 1, sel.size), 0, h - 1)
                    sx = np.clip(cur % w + self.rng.integers(-rad, rad + 1, sel.size), 0, w - 1)
                    offer(sy * w + sx)
                    rad //= 2
                offer(srcs[self.rng.integers(0, srcs.size, sel.size)])
            nnf[sel] = cur
            full[tflat] = cur
            inside = self.holes[ty, tx]
            qi = to_pad(tflat[inside])
            est[qi] = src_img[to_pad(cur[inside])]  # the ring filled: trusted from now on
            trust[qi] = 1.0
        return nnf

    def _cost(self, ft: np.ndarray, cand: np.ndarray) -> np.ndarray:
        d = ft - self.fs[cand]
        cost = np.einsum("ij,ij->i", d, d)
        cost[~self.valid[cand]] = np.inf
        return cost

    def search(self, est: np.ndarray, nnf: np.ndarray, radius: int | None = None) -> np.ndarray:
        """PatchMatch: parallel propagation at jumps of 8, 4, 2, 1 px, then random search in windows halving
        from ``radius`` (``None``: half the crop) and one draw from anywhere; returns the improved field (flat
        source indices, one per target)."""
        h, w = self.h, self.w
        ft = self._features(est)[self.tgt]
        cost = self._cost(ft, nnf)
        full = np.zeros(h * w, np.int64)
        for _ in range(self.cfg.pm_iters):
            for jump in (8, 4, 2, 1):
                full[self.tgt] = nnf
                for dy, dx in _DIRS:
                    ny = np.clip(self.ty + jump * dy, 0, h - 1)
                    nx = np.clip(self.tx + jump * dx, 0, w - 1)
                    src = full[ny * w + nx]  # the neighbour's source, shifted back by the jump
                    sy, sx = src // w - (ny - self.ty), src % w - (nx - self.tx)
                    ok = (sy >= 0) & (sy < h) & (sx >= 0) & (sx < w)
                    cand = np.where(ok, sy * w + sx, nnf)
                    c = self._cost(ft, cand)
                    better = c < cost
                    nnf, cost = np.where(better, cand, nnf), np.where(better, c, cost)
            rad = max(h, w) // 2 if radius is None else radius
            sy0, sx0 = np.divmod(nnf, w)
            while rad >= 1:
                sy = np.clip(sy0 + self.rng.integers(-rad, rad + 1, nnf.size), 0, h - 1)
                sx = np.clip(sx0 + self.rng.integers(-rad, rad + 1, nnf.size), 0, w - 1)
                cand = sy * w + sx
                c = self._cost(ft, cand)
                better = c < cost
                nnf, cost = np.where(better, cand, nnf), np.where(better, c, cost)
                rad //= 2
            cand = self.src[self.rng.integers(0, self.src.size, nnf.size)]  # one draw from anywhere
            c = self._cost(ft, cand)
            better = c < cost
            nnf, cost = np.where(better, cand, nnf), np.where(better, c, cost)
        return nnf

    def offsets(self, nnf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Full ``h×w`` maps of the field's offsets (source − target; zero off the targets)."""
        oy = np.zeros(self.h * self.w, np.int64)
        ox = np.zeros(self.h * self.w, np.int64)
        sy, sx = np.divmod(nnf, self.w)
        oy[self.tgt], ox[self.tgt] = sy - self.ty, sx - self.tx
        return oy.reshape(self.h, self.w), ox.reshape(self.h, self.w)

    def vote(self, nnf: np.ndarray) -> np.ndarray:
        """Each hole pixel takes the centre pixel of its own patch's source (averaging the overlapping
        patches, as EM voting does, blurs the grain away where neighbouring patches disagree). Returns the
        ``h×w×C`` crop with the hole replaced."""
        full = np.zeros(self.h * self.w, np.int64)
        full[self.tgt] = nnf
        out = self.img.copy()
        flat = out.reshape(-1, self.c)
        flat[self.hole_idx] = flat[full[self.hole_idx]]
        return out

    def compose(self, voted: np.ndarray, gain: float = 1.0, match_energy: bool = False) -> np.ndarray:
        """The structure's low band plus the copy's high band, in the hole; known pixels as they are.
        ``match_energy``: where the copy is grainier than the known pixels around the hole lead one to expect
        (grain copied into what borders on sky), its band is turned down to the expected energy."""
        band = voted - _blur(voted, self.sigma)
        m = self.holes
        if match_energy:
            band *= self._attenuation(band)[:, :, None]
        out = self.img.copy()
        out[m] = np.clip(self.low[m] + gain * band[m], 0.0, 1.0)
        return out

    def _attenuation(self, band: np.ndarray) -> np.ndarray:
        """Per pixel ``min(1, sqrt(expected / copied))`` of the band's local energy; the expected energy is the
        known pixels' (away from the hole, whose blur holds the structure) carried into the hole by push–pull."""
        import cv2
        import torch

        from restore.fill import pyramid_fill

        s = 2.0 * max(self.sigma, 1.0)
        known_band = self.img - _blur(self.img, self.sigma)
        k = int(2 * np.ceil(2 * self.sigma) + 1)
        far = cv2.erode((~self.holes).astype(np.uint8), np.ones((k, k), np.uint8), borderType=cv2.BORDER_REPLICATE) > 0
        if not far.any():
            return np.ones(self.holes.shape, np.float32)
        e_known = _blur((known_band ** 2).sum(axis=2) * far, s)
        weight = _blur(far.astype(np.float32), s)
        e_known = np.where(weight > 1e-3, e_known / np.maximum(weight, 1e-3), 0.0).astype(np.float32)
        with torch.inference_mode():
            t = torch.from_numpy(np.ascontiguousarray(e_known))[None, None]
            hm = torch.from_numpy((weight <= 1e-3).astype(np.float32))[None, None]
            expected = pyramid_fill(t, hm, smooth_iters=0)[0, 0].numpy() if hm.any() else e_known
        copied = _blur((band ** 2).sum(axis=2), s)
        return np.minimum(1.0, np.sqrt(np.maximum(expected, 0) / np.maximum(copied, 1e-12))).astype(np.float32)
