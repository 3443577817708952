"""Prototypes of the changes proposed for restore/api.py and restore/engine.py (those files belong to other
engineers: the benchmark measures these stand-ins, and NOTES.md gives the exact change).

* :func:`split_fast`  — ``api._split`` for uint8/uint16 in one pass (``multiply`` into float32) instead of
  ``astype`` + divide.
* :func:`merge_chunked` — ``api._merge`` converting a band of rows at a time into a preallocated output, so
  its temporaries are a few MB instead of three full-size float32 copies (clip, ×255, +0.5). Same
  arithmetic, bit-identical result.
* :func:`upscale_streaming` — ``engine.run_tiled`` + ``api._merge`` fused: tiles are blended one tile-row
  at a time in a band buffer and each finished band is converted straight into the uint8 output, so the
  full-size float32 canvas (12 bytes per output pixel) never exists. Bit-identical to ``api.upscale``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

#: elements per conversion chunk (~4 MB of float32): big enough to amortise the loop, small for the cache
CHUNK_ELEMS = 1 << 20


def split_fast(image: np.ndarray) -> tuple[np.ndarray, Any]:
    """``api._split`` for the common RGB uint8/uint16 case, one pass; other inputs fall back to ``_split``."""
    from restore import api

    if image.ndim == 3 and image.shape[2] == 3 and image.dtype in (np.uint8, np.uint16) and image.size:
        scale = np.float32(1.0 / (255.0 if image.dtype == np.uint8 else 65535.0))
        f = np.multiply(image, scale, dtype=np.float32)
        return f, api._Layout(image.dtype, False, None)
    return api._split(image)


def _convert_block(blk: np.ndarray, dtype: np.dtype) -> np.ndarray:
    blk = np.clip(blk, 0.0, 1.0)
    if dtype == np.uint8:
        return (blk * 255.0 + 0.5).astype(np.uint8)
    if dtype == np.uint16:
        return (blk * 65535.0 + 0.5).astype(np.uint16)
    return blk.astype(dtype)


def merge_chunked(f: np.ndarray, layout: Any, alpha: np.ndarray | None = None) -> np.ndarray:
    """Drop-in for ``api._merge``: same result, temporaries bounded by :data:`CHUNK_ELEMS`."""
    a = layout.alpha if alpha is None else alpha
    h, w = f.shape[:2]
    c = f.shape[2] + (a.shape[2] if a is not None else 0)
    out = np.empty((h, w) if layout.gray else (h, w, c), dtype=layout.dtype)
    step = max(1, CHUNK_ELEMS // max(1, w * c))
    for y in range(0, h, step):
        blk = f[y:y + step]
        if a is not None:
            blk = np.concatenate([blk, a[y:y + step]], axis=2)
        if layout.gray:
            blk = blk[:, :, 0]
        out[y:y + step] = _convert_block(blk, layout.dtype)
    return out


def upscale_streaming(image: np.ndarray, scale: int, model: Any, *, tile: int = 256, device: str = "cpu") -> np.ndarray:
    """RGB uint8 → RGB uint8 ×scale with the engine's tiling, feathering and margins, streamed by tile rows."""
    import torch

    from restore import api, engine

    f, layout = api._split(image)  # not split_fast: that one differs by 1 ulp, and this must be bit-identical
    dev = engine.pick_device(device)
    net = engine.get_model(model, dev)
    h, w = f.shape[:2]
    s, overlap, margin = scale, 16, engine.TILE_MARGIN
    tile = max(tile or max(h, w), 2 * margin)
    ys, xs = engine._spans(h, tile, overlap), engine._spans(w, tile, overlap)
    norm_y = np.zeros(h * s, np.float32)
    norm_x = np.zeros(w * s, np.float32)
    for (y0, y1) in ys:
        norm_y[y0 * s:y1 * s] += engine._ramp((y1 - y0) * s, overlap * s if y0 > 0 else 0, overlap * s if y1 < h else 0)
    for (x0, x1) in xs:
        norm_x[x0 * s:x1 * s] += engine._ramp((x1 - x0) * s, overlap * s if x0 > 0 else 0, overlap * s if x1 < w else 0)
    out = np.empty((h * s, w * s, 3), layout.dtype)
    band = np.zeros((0, w * s, 3), np.float32)
    band_y0 = 0  # output row of band[0]

    def flush(upto: int) -> None:
        """Rows [band_y0, upto) are final: normalise, clip and convert them into ``out``."""
        nonlocal band, band_y0
        n = upto - band_y0
        if n <= 0:
            return
        blk = band[:n]
        blk /= norm_y[band_y0:upto, None, None]
        blk /= norm_x[None, :, None]
        np.clip(blk, 0.0, 1.0, out=blk)
        out[band_y0:upto] = _convert_block(blk, layout.dtype)
        band, band_y0 = band[n:], upto

    with torch.inference_mode(), engine._autocast(dev):
        for i, (y0, y1) in enumerate(ys):
            # grow the band to cover this tile row; rows carried over from the previous row keep their sums
            need = y1 * s - band_y0
            if band.shape[0] < need:
                grown = np.zeros((need, w * s, 3), np.float32)
                grown[:band.shape[0]] = band
                band = grown
            wy = engine._ramp((y1 - y0) * s, overlap * s if y0 > 0 else 0, overlap * s if y1 < h else 0)
            for (x0, x1) in xs:
                wx = engine._ramp((x1 - x0) * s, overlap * s if x0 > 0 else 0, overlap * s if x1 < w else 0)
                py0, py1 = max(0, y0 - margin), min(h, y1 + margin)
                px0, px1 = max(0, x0 - margin), min(w, x1 + margin)
                t = engine.to_tensor(f[py0:py1, px0:px1], dev)
                y = engine.to_array(net(t))
                y = y[(y0 - py0) * s:(y0 - py0 + y1 - y0) * s, (x0 - px0) * s:(x0 - px0 + x1 - x0) * s]
                r0 = y0 * s - band_y0
                band[r0:r0 + (y1 - y0) * s, x0 * s:x1 * s] += y * (wy[:, None, None] * wx[None, :, None])
            nxt = ys[i + 1][0] * s if i + 1 < len(ys) else h * s  # rows before the next tile row are final
            flush(nxt)
    return out
