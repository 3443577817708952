"""Training data: image folders, paired SR crops with the MATLAB bicubic degradation
(:func:`restore.degradations.degrade`), hole-mask generators. Images are read by :func:`restore.io.read_rgb_u8`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from restore.degradations import degrade
from restore.errors import InputError


def list_images(folders: Sequence[str | Path]) -> list[Path]:
    """Image files (extensions of :data:`restore.io.IMAGE_EXTENSIONS`) of one or more folders, recursively, and
    files named directly, sorted so runs are deterministic.

    Raises:
        InputError: a path that does not exist, or no image at all.
    """
    from restore.io import IMAGE_EXTENSIONS

    files: list[Path] = []
    for f in folders:
        p = Path(f)
        if p.is_file():
            files.append(p)
        elif p.is_dir():
            files.extend(q for q in p.rglob("*") if q.suffix.lower() in IMAGE_EXTENSIONS)
        else:
            raise InputError(f"training data not found: {p}")
    if not files:
        raise InputError(f"no images in {', '.join(map(str, folders))}")
    return sorted(files)


def mod_crop(img: np.ndarray, s: int) -> np.ndarray:
    h, w = img.shape[:2]
    return img[: h - h % s, : w - w % s]


def augment(arrays: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """The same random flip / 90° rotation (8 dihedral variants) applied to every array."""
    k, flip = int(rng.integers(4)), bool(rng.integers(2))
    out = []
    for a in arrays:
        a = np.rot90(a, k)
        if flip:
            a = a[:, ::-1]
        out.append(np.ascontiguousarray(a))
    return out


def rescaled(img: np.ndarray, factor: float) -> np.ndarray:
    """``img`` (uint8 ``H×W×C``) shrunk by ``factor`` in (0, 1] with the MATLAB bicubic (antialiased), uint8.

    >>> rescaled(np.zeros((100, 60, 3), np.uint8), 0.7).shape
    (70, 42, 3)
    """
    from restore.classical import imresize

    if not 0.0 < factor <= 1.0:
        raise InputError(f"a rescale factor must be in (0, 1], got {factor}")
    if factor == 1.0:
        return img
    return np.clip(np.round(imresize(img.astype(np.float32), factor)), 0, 255).astype(np.uint8)


@dataclass
class SRPairs:
    """HR images and their LR versions for each scale, held in memory (the sets are small)."""

    hr: dict[int, list[np.ndarray]]
    lr: dict[int, list[np.ndarray]]

    @classmethod
    def build(cls, paths: Sequence[Path], scales: Sequence[int], rescale: Sequence[float] = ()) -> "SRPairs":
        """Each image, and a copy of it shrunk by each factor of ``rescale`` (all below 1), as HR images.

        The shrunk copies (:func:`rescaled`) are VDSR's scale augmentation: more detail per pixel, and less of a
        photo's grain and compression noise in the targets."""
        hr: dict[int, list[np.ndarray]] = {s: [] for s in scales}
        lr: dict[int, list[np.ndarray]] = {s: [] for s in scales}
        from restore.io import read_rgb_u8

        for p in paths:
            img = read_rgb_u8(p)
            for im in [img, *(rescaled(img, f) for f in rescale)]:
                for s in scales:
                    h = mod_crop(im, s)
                    hr[s].append(h)
                    lr[s].append(degrade(h, s))
        return cls(hr, lr)

    def batch(self, scale: int, batch: int, lr_patch: int, rng: np.random.Generator,
              degrade_fn: Callable[[np.ndarray, int, np.random.Generator], Any] | None = None,
              stated: list | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Random aligned crops: LR ``(B, 3, p, p)`` and HR ``(B, 3, p*s, p*s)``, float32 in [0, 1].

        With ``degrade_fn(hr_patch, scale, rng) → lr_patch`` (e.g. :func:`restore.degradations.degrade_real`)
        each LR patch is made from its (augmented) HR patch on the fly instead of cut from the stored LR. With
        ``stated`` (a list), ``degrade_fn`` returns ``(lr_patch, what it states)``
        (:func:`restore.degradations.degrade_real_stated`) and the second items are appended to ``stated``."""
        lrs, hrs = [], []
        n = len(self.lr[scale])
        tries = 0
        while len(lrs) < batch:
            tries += 1
            if tries > 1000 and not lrs and not any(min(lr.shape[:2]) >= lr_patch for lr in self.lr[scale]):
                raise InputError(f"no training image is at least {lr_patch * scale} px on each side; use a smaller --patch")
            i = int(rng.integers(n))
            lr, hr = self.lr[scale][i], self.hr[scale][i]
            lh, lw = lr.shape[:2]
            if lh < lr_patch or lw < lr_patch:
                continue
            y, x = int(rng.integers(lh - lr_patch + 1)), int(rng.integers(lw - lr_patch + 1))
            b = hr[y * scale : (y + lr_patch) * scale, x * scale : (x + lr_patch) * scale]
            if degrade_fn is None:
                a, b = augment([lr[y : y + lr_patch, x : x + lr_patch], b], rng)
            else:
                (b,) = augment([b], rng)
                a = degrade_fn(b, scale, rng)
                if stated is not None:
                    a, q = a
                    stated.append(q)
            lrs.append(a)
            hrs.append(b)
        to = lambda xs: np.stack(xs).transpose(0, 3, 1, 2).astype(np.float32) / 255.0  # noqa: E731
        return to(lrs), to(hrs)


# --- hole masks ------------------------------------------------------------------------------------------

MASK_FAMILIES = ("thin", "thick", "box")


def stroke_mask(h: int, w: int, rng: np.random.Generator, *, width: tuple[int, int], strokes: tuple[int, int],
                vertices: tuple[int, int] = (4, 10), max_len: float = 0.25) -> np.ndarray:
    """Random free-form brush strokes (polylines with round joints), as in DeepFill / LaMa's masks."""
    import cv2

    m = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(strokes[0], strokes[1] + 1))):
        x, y = float(rng.integers(w)), float(rng.integers(h))
        bw = int(rng.integers(width[0], width[1] + 1))
        for _ in range(int(rng.integers(vertices[0], vertices[1] + 1))):
            ang = rng.uniform(0, 2 * np.pi)
            ln = rng.uniform(0.05, max_len) * max(h, w)
            nx = float(np.clip(x + ln * np.cos(ang), 0, w - 1))
            ny = float(np.clip(y + ln * np.sin(ang), 0, h - 1))
            cv2.line(m, (int(x), int(y)), (int(nx), int(ny)), 1, bw)
            cv2.circle(m, (int(nx), int(ny)), bw // 2, 1, -1)
            x, y = nx, ny
    return m.astype(bool)


def box_mask(h: int, w: int, rng: np.random.Generator, *, boxes: tuple[int, int] = (1, 3),
             size: tuple[float, float] = (0.15, 0.4)) -> np.ndarray:
    m = np.zeros((h, w), bool)
    for _ in range(int(rng.integers(boxes[0], boxes[1] + 1))):
        bh = int(rng.uniform(*size) * h)
        bw = int(rng.uniform(*size) * w)
        y, x = int(rng.integers(0, max(h - bh, 1))), int(rng.integers(0, max(w - bw, 1)))
        m[y : y + bh, x : x + bw] = True
    return m


def make_mask(family: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """One hole mask (True = hole) of a family: thin strokes, thick strokes or boxes; sized relative to the
    image so the families mean the same on a crop and on a full image."""
    s = max(h, w) / 256.0
    if family == "thin":
        return stroke_mask(h, w, rng, width=(max(1, int(3 * s)), max(2, int(8 * s))), strokes=(2, 5))
    if family == "thick":
        return stroke_mask(h, w, rng, width=(max(2, int(12 * s)), max(3, int(28 * s))), strokes=(1, 4))
    if family == "box":
        return box_mask(h, w, rng)
    raise InputError(f"unknown mask family {family!r}; choose from {', '.join(MASK_FAMILIES)}")


# --- training batches ---------------------------------------------------------------------------------------

def hole_crops(images: list[np.ndarray], rng: np.random.Generator, *, batch: int, patch: int,
               families: Sequence[str], max_tries: int = 1000) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Crops with holes drawn at the full image's scale (so a hole means the same size in training and in
    evaluation on whole images), families taken in turn. Each crop is placed around a random hole pixel, so it
    always holds some hole; crops that are more than 60 % hole (nothing to fill from) are redrawn, at most
    ``max_tries`` times in all.

    Returns ``x (B, 3, p, p)`` float32 in [0, 1], ``m (B, 1, p, p)`` float32 (1 = hole), and each crop's family.
    """
    xs, ms, fams = [], [], []
    p = patch
    tries = 0
    while len(xs) < batch:
        tries += 1
        if tries > max_tries:
            if not any(im.shape[0] >= p and im.shape[1] >= p for im in images):
                raise InputError(f"no training image is at least {p}×{p} px; use a smaller --patch")
            raise InputError(f"could not draw a training batch in {max_tries} tries: the masks do not fit --patch {p}")
        img = images[int(rng.integers(len(images)))]
        h, w = img.shape[:2]
        if h < p or w < p:
            continue
        fam = families[len(xs) % len(families)]
        mask = make_mask(fam, h, w, rng)
        ys, xs_ = np.nonzero(mask)
        if ys.size == 0:
            continue
        k = int(rng.integers(ys.size))
        y = int(np.clip(ys[k] - rng.integers(p), 0, h - p))
        x = int(np.clip(xs_[k] - rng.integers(p), 0, w - p))
        mc = mask[y : y + p, x : x + p]
        if not 0.0 < mc.mean() <= 0.6:
            continue
        a, m = augment([img[y : y + p, x : x + p], mc], rng)
        xs.append(a)
        ms.append(m)
        fams.append(fam)
    xb = np.stack(xs).transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    mb = np.stack(ms)[:, None].astype(np.float32)
    return xb, mb, fams


def random_hole_crops(images: list[np.ndarray], rng: np.random.Generator, *, batch: int,
                      patch: int) -> tuple[np.ndarray, np.ndarray]:
    """Crops at random places with a hole mask of a random family drawn at the full image's scale (the study's
    sampler: unlike :func:`hole_crops` a crop is not centred on a hole); crops with under 1 % or over 60 % hole
    are redrawn, up to 50 tries per crop, then taken as they come rather than loop forever. ``images`` must be
    at least ``patch`` on both sides.

    Returns ``x (B, 3, p, p)`` float32 in [0, 1] and ``m (B, 1, p, p)`` float32 (1 = hole).
    """
    p = patch
    xs, ms = [], []
    tries = 0
    while len(xs) < batch:
        img = images[int(rng.integers(len(images)))]
        h, w = img.shape[:2]
        mask = make_mask(MASK_FAMILIES[int(rng.integers(len(MASK_FAMILIES)))], h, w, rng)
        y, x = int(rng.integers(h - p + 1)), int(rng.integers(w - p + 1))
        mc = mask[y : y + p, x : x + p]
        tries += 1
        if not 0.01 <= mc.mean() <= 0.6 and tries < 50 * batch:
            continue
        a, m = augment([img[y : y + p, x : x + p], mc], rng)
        xs.append(a)
        ms.append(m)
    return np.stack(xs).transpose(0, 3, 1, 2).astype(np.float32) / 255.0, np.stack(ms)[:, None].astype(np.float32)
