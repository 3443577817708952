"""Temporally consistent filling of a fixed hole (a logo, watermark or timestamp burnt into every frame).

Filling each frame on its own makes the hole flicker: the network sees slightly different context every frame
and invents slightly different content. Two things make a video's fill better than any single frame's:

1. Where the camera moves, what is behind the hole is visible in other frames. The global translation between
   consecutive frames is estimated on the known pixels only — a masked normalised cross-correlation
   (:func:`skimage.registration.phase_cross_correlation` with masks, so the static hole cannot pull the estimate
   to zero) at a coarse scale, refined to a fraction of a pixel by Lucas–Kanade steps on the known pixels.
   Chaining the steps places every frame in one coordinate system; each hole pixel is then copied (bilinear)
   from the nearest frame in time, within ``window`` frames before or after, in which that spot lay outside the
   hole — provided the ring of known pixels around the hole agrees with that frame once aligned (so a moving
   object, a zoom or parallax cannot paste the wrong content).
2. What no frame of the window shows is filled by the image inpainter (the CNN), given the frame with the seen
   part already filled, and then blended with the previous frame's fill moved by the camera's motion (an
   exponential moving average, ``blend`` being the new frame's weight), so a static hole stays stable.

A frame whose known pixels do not match the previous frame after alignment starts a new shot: frames of other
shots are never used. Memory is ``2·window + 1`` frames, whatever the clip's length.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from restore.pixels import LUMA_WEIGHTS

#: Largest side of the images the motion is estimated on (coarse search, then refinement).
COARSE_SIDE = 256
FINE_SIDE = 640


@dataclass
class TemporalStats:
    """How the hole pixels of a video were filled.

    Attributes:
        frames: frames filled.
        hole_pixels: hole pixels over all frames.
        from_other_frames: of those, copied from another frame where the camera's motion showed them.
        from_network: filled by the image inpainter (then blended with the previous frame's fill).
        cuts: shot changes detected (the history is not carried across them).
    """

    frames: int = 0
    hole_pixels: int = 0
    from_other_frames: int = 0
    from_network: int = 0
    cuts: int = 0

    @property
    def seen_fraction(self) -> float:
        """The share of hole pixels taken from other frames."""
        return self.from_other_frames / self.hole_pixels if self.hole_pixels else 0.0


def _gray(image: np.ndarray) -> np.ndarray:
    g = image.astype(np.float32)
    g = g @ np.array(LUMA_WEIGHTS, np.float32) if g.ndim == 3 else g
    return g / (65535.0 if image.dtype == np.uint16 else 255.0)


def _resize(a: np.ndarray, s: float) -> np.ndarray:
    if s == 1.0:
        return a
    h, w = a.shape[:2]
    return cv2.resize(a, (max(8, round(w * s)), max(8, round(h * s))), interpolation=cv2.INTER_AREA)


def _shift(a: np.ndarray, d: np.ndarray, border: float = 0.0) -> np.ndarray:
    """``out(x) = a(x + d)`` (``d`` = (dy, dx)), bilinear; outside ``a`` = ``border``."""
    m = np.array([[1, 0, d[1]], [0, 1, d[0]]], np.float64)
    return cv2.warpAffine(a, m, (a.shape[1], a.shape[0]), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border)


def _lucas_kanade(prev: np.ndarray, cur: np.ndarray, known: np.ndarray, d: np.ndarray,
                  iters: int = 4) -> tuple[np.ndarray, float]:
    """Refine ``d`` so that ``cur(x) ≈ prev(x + d)`` on known pixels; returns ``d`` and the mean absolute
    residual there (``inf`` when too few pixels overlap)."""
    p = cv2.GaussianBlur(prev, (0, 0), 1.0)
    c = cv2.GaussianBlur(cur, (0, 0), 1.0)
    kf = known.astype(np.float32)
    res = np.inf
    for _ in range(iters):
        pw = _shift(p, d)
        valid = known & (_shift(kf, d) > 0.99)
        valid[:2], valid[-2:], valid[:, :2], valid[:, -2:] = False, False, False, False
        if valid.sum() < 64:
            return d, np.inf
        gx = cv2.Sobel(pw, cv2.CV_32F, 1, 0, ksize=3) / 8.0
        gy = cv2.Sobel(pw, cv2.CV_32F, 0, 1, ksize=3) / 8.0
        r = (c - pw)[valid]
        gx, gy = gx[valid], gy[valid]
        a = np.array([[gy @ gy, gy @ gx], [gx @ gy, gx @ gx]], np.float64)
        b = np.array([gy @ r, gx @ r], np.float64)
        res = float(np.abs(r).mean())
        if abs(np.linalg.det(a)) < 1e-9:
            break
        step = np.linalg.solve(a, b)
        d = d + step
        if np.abs(step).max() < 0.01:
            break
    pw = _shift(prev, d)
    valid = known & (_shift(kf, d) > 0.99)
    if valid.sum() >= 64:
        res = float(np.abs(cur - pw)[valid].mean())
    return d, res


class MotionEstimator:
    """Global translation between consecutive frames, on the pixels outside a fixed hole."""

    def __init__(self, known: np.ndarray) -> None:
        h, w = known.shape
        self.fine = min(1.0, FINE_SIDE / max(h, w))
        self.coarse = min(1.0, COARSE_SIDE / max(h, w))
        self.known_f = _resize(known.astype(np.float32), self.fine) > 0.999
        self.known_c = _resize(known.astype(np.float32), self.coarse) > 0.999

    def prepare(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = _resize(_gray(image), self.fine)
        return g, _resize(g, self.coarse / self.fine)

    def estimate(self, prev: tuple[np.ndarray, np.ndarray], cur: tuple[np.ndarray, np.ndarray]
                 ) -> tuple[np.ndarray, float]:
        """``(d, residual)``: ``cur(x) ≈ prev(x + d)`` in full-resolution pixels (``d`` = (dy, dx)), and the
        mean absolute difference of the known pixels after alignment (0–1 scale)."""
        from skimage.registration import phase_cross_correlation

        out = phase_cross_correlation(prev[1], cur[1], reference_mask=self.known_c, moving_mask=self.known_c)
        shift = np.asarray(out[0] if isinstance(out, tuple) else out, np.float64)
        d, _ = _lucas_kanade(prev[1], cur[1], self.known_c, shift, iters=3)
        d = d / self.coarse * self.fine  # to the fine scale
        d, res = _lucas_kanade(prev[0], cur[0], self.known_f, d)
        return d / self.fine, res


@dataclass
class _Entry:
    frame: Any
    pos: np.ndarray
    shot: int
    pyr: tuple[np.ndarray, np.ndarray] = field(repr=False)


class TemporalFiller:
    """Fill a fixed hole through a stream of frames (see the module docstring).

    Push frames in order with :meth:`push`; each call returns the frames that are ready (a frame is ready
    once ``window`` later frames are known), as ``(frame, filled image)`` pairs in order; :meth:`finish`
    returns the rest. Pixels outside the hole are returned bit-identical.

    Args:
        holes: bool ``H×W``, True = hole, the same for every frame.
        fill: ``fill(image, holes) -> image``: the single-image inpainter for what no frame shows.
        window: how many frames before and after a frame may lend it pixels.
        blend: the weight of the current frame's inpainted pixels against the previous frame's fill (1 = no
            smoothing).
        cut_threshold: mean absolute difference (0–1) of the aligned known pixels above which a new shot starts.
        seam_tolerance: mean absolute difference (0–1) allowed on the ring around the hole between a frame and
            an aligned other frame before that frame may lend pixels.
    """

    def __init__(self, holes: np.ndarray, fill: Callable[[np.ndarray, np.ndarray], np.ndarray], *,
                 window: int = 12, blend: float = 0.3, cut_threshold: float = 0.12,
                 seam_tolerance: float = 0.08) -> None:
        self.holes = np.asarray(holes, bool)
        self.known = ~self.holes
        self.fill = fill
        self.window = max(0, int(window))
        self.blend = float(blend)
        self.cut_threshold = cut_threshold
        self.seam_tolerance = seam_tolerance
        self.stats = TemporalStats()
        h, w = self.holes.shape
        ys, xs = np.nonzero(self.holes)
        m = 8
        self.box = (max(0, ys.min() - m), min(h, ys.max() + 1 + m), max(0, xs.min() - m), min(w, xs.max() + 1 + m)) \
            if ys.size else (0, 0, 0, 0)
        y0, y1, x0, x1 = self.box
        self.hole_r = self.holes[y0:y1, x0:x1]
        ring = cv2.dilate(self.holes.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))) > 0
        self.ring_r = ring[y0:y1, x0:x1] & ~self.hole_r
        gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        self.grid = (gy, gx)
        self.known_f = self.known.astype(np.float32)
        self.motion = MotionEstimator(self.known)
        self.buf: deque[_Entry] = deque()
        self.cur = 0
        self.shot = 0
        self.prev_out: tuple[np.ndarray, np.ndarray, int] | None = None  # (image, pos, shot)

    def push(self, frame: Any) -> list[tuple[Any, np.ndarray]]:
        """Add the next frame (any object with an ``image`` attribute, ``H×W×3``); returns the ready ones."""
        pyr = self.motion.prepare(frame.image)
        if self.buf:
            last = self.buf[-1]
            d, res = self.motion.estimate(last.pyr, pyr)
            if not np.isfinite(res) or res > self.cut_threshold:
                self.shot += 1
                self.stats.cuts += 1
                pos = np.zeros(2)
            else:
                pos = last.pos + d
        else:
            pos = np.zeros(2)
        self.buf.append(_Entry(frame, pos, self.shot, pyr))
        out = []
        while len(self.buf) - 1 - self.cur >= self.window:
            out.append(self._emit())
        return out

    def finish(self) -> list[tuple[Any, np.ndarray]]:
        """The frames still held back (the last ``window``)."""
        out = []
        while self.cur < len(self.buf):
            out.append(self._emit())
        return out

    def _sample(self, image: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``image(x + d)`` on the hole's box, and where that sample is made of known pixels only."""
        my, mx = self.grid[0] + np.float32(d[0]), self.grid[1] + np.float32(d[1])
        vals = cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        ok = cv2.remap(self.known_f, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0.99
        return vals.astype(np.float32), ok

    def _emit(self) -> tuple[Any, np.ndarray]:
        e = self.buf[self.cur]
        image = e.frame.image
        y0, y1, x0, x1 = self.box
        scale = 65535.0 if image.dtype == np.uint16 else 255.0
        region = image[y0:y1, x0:x1].astype(np.float32)
        need = self.hole_r.copy()
        # other frames of the shot, nearest in time first (the past first on ties: already final)
        others = sorted((i for i in range(len(self.buf)) if i != self.cur and self.buf[i].shot == e.shot),
                        key=lambda i: (abs(i - self.cur), i > self.cur))
        for i in others:
            o = self.buf[i]
            d = e.pos - o.pos
            if abs(d[0]) < 1 and abs(d[1]) < 1:
                continue  # a sub-pixel move: every sample of a hole pixel touches the hole
            vals, ok = self._sample(o.frame.image, d)
            take = need & ok
            if not take.any():
                continue
            ring = self.ring_r & ok
            if ring.sum() >= 16 and np.abs(vals[ring] - region[ring]).mean() / scale > self.seam_tolerance:
                continue  # the frames disagree around the hole: not the same surface there
            region[take] = vals[take]
            need &= ~take
            if not need.any():
                break
        seen = int(self.hole_r.sum() - need.sum())
        self.stats.frames += 1
        self.stats.hole_pixels += int(self.hole_r.sum())
        self.stats.from_other_frames += seen
        if need.any():
            work = image.copy()
            work[y0:y1, x0:x1][self.hole_r] = _to_dtype(region[self.hole_r], image.dtype)
            mask = np.zeros_like(self.holes)
            mask[y0:y1, x0:x1] = need
            filled = np.asarray(self.fill(work, mask))[y0:y1, x0:x1].astype(np.float32)
            new = filled[need]
            if self.prev_out is not None and self.prev_out[2] == e.shot and self.blend < 1.0:
                d = e.pos - self.prev_out[1]
                d = np.where(np.abs(d) < 0.2, 0.0, d)  # no resampling (and no blur) for a still camera
                if d.any():
                    prev_vals, _ = self._sample(self.prev_out[0], d)
                    inside = cv2.remap(np.ones(self.holes.shape, np.float32), self.grid[1] + np.float32(d[1]),
                                       self.grid[0] + np.float32(d[0]), cv2.INTER_LINEAR,
                                       borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0.99
                else:
                    prev_vals = self.prev_out[0][y0:y1, x0:x1].astype(np.float32)
                    inside = np.ones_like(need)
                old, ok = prev_vals[need], inside[need]
                new[ok] = self.blend * new[ok] + (1.0 - self.blend) * old[ok]
            region[need] = new
            self.stats.from_network += int(need.sum())
        out = image.copy()
        out[y0:y1, x0:x1][self.hole_r] = _to_dtype(region[self.hole_r], image.dtype)
        self.prev_out = (out, e.pos, e.shot)
        self.cur += 1
        if self.cur > self.window:
            self.buf.popleft()
            self.cur -= 1
        return e.frame, out


def _to_dtype(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    hi = 65535.0 if dtype == np.uint16 else 255.0
    return np.clip(np.rint(values), 0, hi).astype(dtype)
