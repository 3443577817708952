"""The fast path of the pyramid ops: exact border handling without padding the whole image.

:func:`pyramids.core.pyr_down` on a large image runs the strided conv with implicit zero padding and then
recomputes the few border rows and columns exactly, from small strips extended by the padding mode
(:func:`down_fixed_borders`); :func:`pyramids.core.pyr_up` pads the coarse input (:func:`up_region`). The
reference — pad the whole image by the mode, then one conv — is :func:`down_region` over the whole output,
which the small-image path uses and the tests compare against.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor


@lru_cache(maxsize=1024)
def _border_index(start: int, stop: int, n: int, mode: str, device: torch.device) -> Tensor:
    """Source indices for positions start..stop-1 of a length-n axis extended by ``mode``.

    Extensions are periodic, so any pad width works (this is OpenCV's
    borderInterpolate); e.g. reflect-101 of a length-1 axis is constant, exactly
    like replicate.
    """
    out = []
    for i in range(start, stop):
        if mode == "replicate":
            j = min(max(i, 0), n - 1)
        elif mode == "circular":
            j = i % n
        elif mode == "reflect":  # reflect-101: dcb|abcd|cba
            p = 2 * (n - 1)
            j = 0 if p == 0 else (i % p if i % p < n else p - i % p)
        elif mode == "reflect_up":
            # pyr_up's coarse-grid equivalent of reflect-101 on the zero-inserted signal
            # (what cv2.pyrUp does): reflect-101 on the left, symmetric (dcba|abcd|dcba)
            # on the right, period 2n-1.
            p = 2 * n - 1
            t = i % p
            j = t if t < n else p - t
        else:  # pragma: no cover - validated earlier
            raise AssertionError(mode)
        out.append(j)
    with torch.inference_mode(False):  # cached: must not be an inference tensor (see _weight_cached)
        return torch.tensor(out, dtype=torch.long, device=device)


def _take(x: Tensor, dim: int, start: int, stop: int, mode: str) -> Tensor:
    """Positions start..stop-1 of x along ``dim`` (negative or past-the-end allowed)."""
    n = x.shape[dim]
    if start >= 0 and stop <= n:
        return x.narrow(dim, start, stop - start)
    if mode == "zeros":
        lo, hi = max(start, 0), min(stop, n)
        if hi <= lo:
            shape = list(x.shape)
            shape[dim] = stop - start
            return x.new_zeros(shape)
        core = x.narrow(dim, lo, hi - lo)
        pad = [0, 0, 0, 0]
        base = 0 if dim in (-1, 3) else 2
        pad[base], pad[base + 1] = lo - start, stop - hi
        return F.pad(core, pad)
    return x.index_select(dim, _border_index(start, stop, n, mode, x.device))


def _pad_full(x: Tensor, top: int, bottom: int, left: int, right: int, mode: str) -> Tensor | None:
    """Pad the whole image with F.pad (one fast copy, keeps channels-last); None if F.pad can't."""
    h, w = x.shape[-2:]
    if mode == "zeros":
        return F.pad(x, (left, right, top, bottom))
    if mode == "replicate":
        return F.pad(x, (left, right, top, bottom), mode="replicate")
    if mode == "circular" and max(top, bottom) <= h and max(left, right) <= w:
        return F.pad(x, (left, right, top, bottom), mode="circular")
    if mode == "reflect" and max(top, bottom) < h and max(left, right) < w:
        return F.pad(x, (left, right, top, bottom), mode="reflect")
    if mode == "reflect_up" and max(top, bottom, left, right) <= 1:
        # One copy: replicate-pad (a 1-pixel symmetric pad is a replicate pad), then
        # turn the first row/column into reflect-101 (s[-1] = s[1]) in place.
        xp = F.pad(x, (left, right, top, bottom), mode="replicate")
        if top and h > 1:
            xp[..., 0, :] = xp[..., 2, :]
        if left and w > 1:
            xp[..., :, 0] = xp[..., :, 2]
        return xp
    if mode == "reflect_up" and top < h and left < w and bottom <= 1 and right <= 1:
        # reflect-101 before, symmetric after; a 1-pixel symmetric pad is a replicate pad.
        x = F.pad(x, (left, 0, top, 0), mode="reflect") if top or left else x
        return F.pad(x, (0, right, 0, bottom), mode="replicate") if bottom or right else x
    return None


def _take2d(x: Tensor, rows: tuple[int, int], cols: tuple[int, int], mode: str) -> Tensor:
    """x[rows[0]:rows[1], cols[0]:cols[1]] with out-of-range positions filled by ``mode``."""
    h, w = x.shape[-2:]
    if rows[0] <= 0 and rows[1] >= h and cols[0] <= 0 and cols[1] >= w:
        xp = _pad_full(x, -rows[0], rows[1] - h, -cols[0], cols[1] - w, mode)
        if xp is not None:
            return xp
    spans = [(-2, *rows), (-1, *cols)]
    for dim, start, stop in sorted(spans, key=lambda s: s[2] - s[1]):  # narrow axis first: less to copy
        x = _take(x, dim, start, stop, mode)
    return prepare(x)


def _strip_down(xs: Tensor, k: tuple[float, ...]) -> Tensor:
    """Valid stride-2 correlation of a small strip with the separable kernel, by slicing.

    Border strips are tiny; as a handful of small elementwise ops they stay on one
    thread, whereas a oneDNN conv call always fans out (and on a loaded machine each
    thread barrier can cost a scheduler tick).
    """
    n = len(k)
    oh, ow = (xs.shape[-2] - n) // 2 + 1, (xs.shape[-1] - n) // 2 + 1

    def tap(t: int, dim: int, m: int) -> Tensor:  # samples t, t+2, ..., t+2(m-1) along dim
        v = xs.narrow(dim, t, 2 * m - 1)
        return v[..., ::2, :] if dim == -2 else v[..., ::2]

    # Shrink the axis with fewer outputs first: less work for the second pass.
    for dim, m in sorted([(-2, oh), (-1, ow)], key=lambda d: d[1]):
        acc = tap(0, dim, m) * k[0]
        for t in range(1, n):
            acc.add_(tap(t, dim, m), alpha=k[t])
        xs = acc
    return xs


def down_region(
    x: Tensor,
    w: Tensor,
    r: int,
    mode: str,
    rows: tuple[int, int],
    cols: tuple[int, int],
    k1: tuple[float, ...] | None = None,
) -> Tensor:
    """Exact pyr_down output rows[0]:rows[1], cols[0]:cols[1] (pad a strip, then conv).

    With ``k1`` (the normalised 1-D kernel) the strip is convolved by slicing.
    """
    rr, cc = (2 * rows[0] - r, 2 * (rows[1] - 1) + r + 1), (2 * cols[0] - r, 2 * (cols[1] - 1) + r + 1)
    if k1 is not None:
        xs = x
        for dim, (start, stop) in sorted(((-2, rr), (-1, cc)), key=lambda d: d[1][1] - d[1][0]):
            xs = _take(xs, dim, start, stop, mode)
        return _strip_down(xs, k1)
    return F.conv2d(_take2d(x, rr, cc, mode), w, stride=2, groups=x.shape[1])


def up_region(x: Tensor, w: Tensor, r: int, mode: str, rows: tuple[int, int], cols: tuple[int, int]) -> Tensor:
    """Exact pyr_up output rows[0]:rows[1], cols[0]:cols[1].

    Output position j (fine grid) gets coarse samples k with |j - 2k| <= r.
    """
    spans, offs = [], []
    for dim, (j0, j1) in ((-2, rows), (-1, cols)):
        ka = -((r - j0) // 2)  # ceil((j0 - r) / 2)
        kb = (j1 - 1 + r) // 2
        spans.append((dim, ka, kb + 1))
        offs.append(j0 + r - 2 * ka)
    xs = _take2d(x, spans[0][1:], spans[1][1:], mode)
    # Let conv_transpose2d crop (padding=offset, output_padding for the odd tail) when it
    # can: a sliced view of a bigger output makes the next elementwise op (the band
    # subtraction) take a slow strided path.
    full = [2 * (xs.shape[d] - 1) + w.shape[d] for d in (-2, -1)]
    extra = [full[i] - 2 * offs[i] - (j1 - j0) for i, (j0, j1) in enumerate((rows, cols))]
    if all(-1 <= e <= 0 for e in extra):
        return F.conv_transpose2d(
            xs, w, stride=2, padding=tuple(offs), output_padding=(-extra[0], -extra[1]), groups=x.shape[1]
        )
    y = F.conv_transpose2d(xs, w, stride=2, groups=x.shape[1])
    need_h, need_w = offs[0] + rows[1] - rows[0], offs[1] + cols[1] - cols[0]
    if y.shape[-2] < need_h or y.shape[-1] < need_w:  # only for a 1-tap kernel
        y = F.pad(y, (0, max(0, need_w - y.shape[-1]), 0, max(0, need_h - y.shape[-2])))
    return y[..., offs[0] : need_h, offs[1] : need_w]


def prepare(x: Tensor) -> Tensor:
    # oneDNN depthwise conv is far faster channels-last on CPU (no-op for C == 1).
    if x.device.type == "cpu" and x.shape[1] > 1:
        x = x.contiguous(memory_format=torch.channels_last)
        b, c, h, w = x.shape
        canonical = (c * h * w, 1, w * c, c)
        if x.stride() != canonical:
            # e.g. torch.from_numpy(hwc).permute(2, 0, 1)[None] has batch stride 3: same
            # memory, but oneDNN only recognises canonical strides (else ~15x slower).
            x = x.as_strided(x.shape, canonical)
    return x


def down_fixed_borders(x: Tensor, w: Tensor, r: int, mode: str, vals: tuple[float, ...] | Tensor) -> Tensor:
    """pyr_down of a large image: the strided conv with implicit zero padding, then the outputs whose window
    sticks out of the image (j < ceil(r/2) and 2j + r > n - 1) recomputed exactly from padded strips.
    Equal to ``down_region`` over the whole output, without its full-image pad copy.

    Shape:
        (B, C, H, W) → (B, C, (H+1)//2, (W+1)//2)
    """
    c, h, wd = x.shape[1:]
    oh, ow = (h + 1) // 2, (wd + 1) // 2
    k1 = tuple(v / sum(vals) for v in vals) if isinstance(vals, tuple) else None
    y = F.conv2d(x, w, stride=2, padding=r, groups=c)
    # Outputs whose window sticks out of the image: j < ceil(r/2) and 2j + r > n - 1.
    top, bottom = (r + 1) // 2, (h - 1 - r) // 2 + 1
    left, right = (r + 1) // 2, (wd - 1 - r) // 2 + 1
    if top > 0:
        y[..., :top, :] = down_region(x, w, r, mode, (0, top), (0, ow), k1)
    if bottom < oh:
        y[..., bottom:, :] = down_region(x, w, r, mode, (bottom, oh), (0, ow), k1)
    if left > 0:
        y[..., :, :left] = down_region(x, w, r, mode, (0, oh), (0, left), k1)
    if right < ow:
        y[..., :, right:] = down_region(x, w, r, mode, (0, oh), (right, ow), k1)
    return y
