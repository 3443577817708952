"""The quantisation constraint of a JPEG: what its file proves about the original, applied to a restoration.

A JPEG stores each 8×8 block of its luma as DCT coefficients rounded to multiples of the quantisation table,
``k·Q``, so the original's coefficient lay within ``Q/2`` of what the file holds. A restored image whose
coefficient falls outside that interval is certainly wrong there; moving it to the interval's nearest end
is the projection onto a convex set that contains the original, which never takes the image further from it
(in luma, before rounding to the output's levels). The network already lands inside most intervals; the
projection removes what it overshoots (docs/SR_REAL_NOTES.md has what it gives).

Only the luma is constrained: it is stored at full size, so its blocks are the image's 8×8 blocks from the
origin whatever the chroma subsampling. The file's coefficients are read back from its decoded pixels
(``k = round(D/Q)``): the decoder's rounding moves them by a fraction of a level, well inside ``Q/2``. Blocks
cut by the image's right or bottom edge (padded by the encoder) are left as they are.

NumPy arrays, the element-wise steps on one thread; the matrix products run through torch, on the thread pool
the network runs on (NumPy's OpenBLAS keeps threads of its own spinning after a product, and slowed the next
image's convolutions by a fifth). Strips of :data:`STRIP` rows keep the memory to a few copies of one strip.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from restore.errors import InputError
from restore.pixels import LUMA_WEIGHTS

#: rows projected at a time (a multiple of 8)
STRIP = 1024
#: JPEG's (JFIF's) luma weights of R, G, B (restore.pixels.LUMA_WEIGHTS)
LUMA = np.array(LUMA_WEIGHTS, np.float32)


def _dct_matrix() -> np.ndarray:
    n = np.arange(8)
    c = np.sqrt(2 / 8) * np.cos(np.pi * (2 * n[None, :] + 1) * n[:, None] / 16)
    c[0] /= np.sqrt(2)
    return c  # orthonormal: JPEG's forward DCT of a block is c @ block @ c.T


#: the 2-D DCT of a block flattened row by row, as one 64×64 matrix (``kron(c, c)``): a whole plane's blocks
#: then transform in one matrix product (per-block 8×8 products cost NumPy 10× more)
_K = np.kron(_dct_matrix(), _dct_matrix()).astype(np.float32)
_KT = np.ascontiguousarray(_K.T)


def luma_table(tables: Mapping[int, Sequence[int]] | Sequence[int]) -> np.ndarray:
    """The luma quantisation table as an 8×8 array: from Pillow's ``Image.quantization`` (``{0: luma, 1:
    chroma}``, natural order) or the 64 luma entries themselves.

    >>> float(luma_table(range(1, 65))[1, 0])  # row 1, column 0: the ninth entry
    9.0

    Raises:
        InputError: not 64 entries from 1 to 65535.
    """
    t = tables.get(0, ()) if isinstance(tables, Mapping) else tables
    try:
        q = np.asarray(t, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise InputError("a JPEG quantisation table has 64 entries from 1 to 65535") from None
    if q.shape != (64,) or not np.all((q >= 1) & (q <= 65535)) or not np.all(q == np.round(q)):
        raise InputError("a JPEG quantisation table has 64 entries from 1 to 65535")
    return q.reshape(8, 8)


def _blocks(plane: Any) -> Any:
    """An ``H×W`` plane (multiples of 8; NumPy or torch) as rows of its 8×8 blocks, flattened: ``(H·W/64, 64)``."""
    h, w = plane.shape
    return plane.reshape(h // 8, 8, w // 8, 8).swapaxes(1, 2).reshape(-1, 64)


def _unblocks(rows: Any, h: int, w: int) -> Any:
    """Inverse of :func:`_blocks`."""
    return rows.reshape(h // 8, w // 8, 8, 8).swapaxes(1, 2).reshape(h, w)


def _mm(a: Any, b: np.ndarray) -> Any:
    """``a @ b``: a torch tensor's on its own device; NumPy operands (float32) through torch on the CPU, whose
    thread pool the network runs on (see the module's docstring), the result NumPy again."""
    import torch

    if isinstance(a, torch.Tensor):
        return a @ torch.from_numpy(b).to(a)
    return (torch.from_numpy(np.ascontiguousarray(a, np.float32)) @ torch.from_numpy(b)).numpy()


def _correction(result: Any, decoded: Any, q: Any) -> Any:
    """:func:`luma_correction`, on NumPy float32 planes or torch tensors (``q``: the 64 steps, of the same kind).
    The element-wise steps stay NumPy's for arrays: one thread, where torch wakes its pool for each of them."""
    n = result.shape[0] * result.shape[1] // 64
    both = _mm(_stack([_blocks(result), _blocks(decoded)]) - 128, _KT)  # one product for the two planes
    have, stored = both[:n], (both[n:] / q).round() * q
    return _unblocks(_mm(have.clip(stored - q / 2, stored + q / 2) - have, _K), *result.shape)


def _stack(parts: list) -> Any:
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    import torch

    return torch.cat(parts)


def luma_correction(result: np.ndarray, decoded: np.ndarray, table: np.ndarray) -> np.ndarray:
    """What to add to the luma of ``result`` to bring every 8×8 block's DCT coefficients into the quantisation
    intervals of ``decoded`` (both ``H×W`` luma planes on a 0–255 scale, H and W multiples of 8).

    Args:
        result: the restored luma.
        decoded: the luma of the JPEG as decoded.
        table: the 8×8 luma quantisation table (:func:`luma_table`).

    Returns:
        The correction, ``H×W`` float32: zero wherever ``result`` is already consistent with the file.

    Example:
        >>> import numpy as np
        >>> flat = np.full((8, 8), 100.0)
        >>> bump = flat.copy(); bump[0, 0] += 40
        >>> bool(np.abs(luma_correction(bump, flat, np.full((8, 8), 16.0))).max() > 1)
        True
        >>> float(np.abs(luma_correction(flat + 1, flat, np.full((8, 8), 16.0))).max())
        0.0
    """
    return _correction(np.asarray(result, np.float32), np.asarray(decoded, np.float32),
                       np.asarray(table, np.float32).reshape(64))


#: the low-frequency coefficients (row, column in the block) whose histograms tell of an earlier compression
EARLIER_POSITIONS = ((0, 1), (1, 0), (2, 0), (1, 1), (0, 2), (0, 3), (1, 2), (2, 1), (3, 0), (4, 0), (3, 1),
                     (2, 2), (1, 3), (0, 4))
#: how many of them must show a gap for the verdict "compressed before"
EARLIER_MIN_POSITIONS = 3
#: the multiples |k| of the last table counted (beyond: one bin), and the count that makes a bin "well filled"
EARLIER_BINS, EARLIER_FILLED = 40, 20


def _histograms(decoded: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Counts of ``|k| = 0 … EARLIER_BINS`` (the last bin: everything beyond) at :data:`EARLIER_POSITIONS`."""
    where = [8 * r + c for r, c in EARLIER_POSITIONS]
    basis, q = np.ascontiguousarray(_K[where].T), table.reshape(64)[where].astype(np.float32)
    counts = np.zeros((len(where), EARLIER_BINS + 1), np.int64)
    h8, w8 = decoded.shape[0] // 8 * 8, decoded.shape[1] // 8 * 8
    for y in range(0, h8, STRIP):
        luma = _luma(decoded[y:min(y + STRIP, h8), :w8], _peak(decoded))
        k = np.abs(np.round(_mm(_blocks(luma) - 128, basis) / q)).astype(np.int64)
        for i in range(len(where)):
            counts[i] += np.bincount(np.minimum(k[:, i], EARLIER_BINS), minlength=EARLIER_BINS + 1)
    return counts


def _gaps(counts: np.ndarray) -> int:
    """Positions whose histogram has a bin far below a later, well-filled one: a single compression's falls off
    steadily with |k|; quantised twice, the multiples the earlier, coarser step never lands on stay empty."""
    bins = counts[:, 1:-1]
    later = np.maximum.accumulate(np.concatenate([bins[:, 1:], bins[:, :1] * 0], 1)[:, ::-1], 1)[:, ::-1]
    return int(((later >= EARLIER_FILLED) & (bins < 0.25 * later)).any(1).sum())


def _earlier_step_quality(counts: np.ndarray, table: np.ndarray, below: float) -> float | None:
    """The IJG quality (below ``below``) whose table explains the gaps: the coarsest one for which the bins it
    could not have filled hold, per bin, under a tenth of what the others hold (within the well-filled range),
    and which fills at least two of its reachable bins at :data:`EARLIER_MIN_POSITIONS` positions; ``None``
    when none does."""
    from restore.compression import ijg_table

    where = [8 * r + c for r, c in EARLIER_POSITIONS]
    q2 = table.reshape(64)[where]
    k = np.arange(1, EARLIER_BINS)
    values = k[None, :] * q2[:, None]  # what each bin's coefficients were rounded to
    bins = counts[:, 1:-1]
    filled = bins >= EARLIER_FILLED
    # the well-filled range: up to each position's last well-filled bin
    upto = np.where(filled.any(1), EARLIER_BINS - 1 - np.argmax(filled[:, ::-1], 1), 0)
    inside = k[None, :] <= upto[:, None]
    best: tuple[int, float] | None = None
    for quality in range(1, int(np.ceil(below))):
        q1 = np.asarray(ijg_table(quality), np.float64)[where][:, None]
        # a bin the earlier step reaches: within half a last step (and the decoder's rounding) of its multiple
        reached = np.abs(values - np.round(values / q1) * q1) <= q2[:, None] / 2 + 1.5
        missed, hit = inside & ~reached, inside & reached
        if not missed.any() or not hit.any():
            continue
        # a photo fills several of the multiples the earlier step reaches at several positions; a drawing's few
        # repeated values can leave gaps that some coarse table "explains"
        spread = int(((hit & filled).sum(1) >= 2).sum()) >= EARLIER_MIN_POSITIONS
        if spread and bins[missed].mean() <= 0.1 * bins[hit].mean() and (best is None or missed.sum() > best[0]):
            best = (int(missed.sum()), float(quality))
    return None if best is None else best[1]


def earlier_compression(decoded: np.ndarray, tables: Mapping[int, Sequence[int]] | Sequence[int]
                        ) -> tuple[bool, float | None]:
    """Whether a decoded JPEG was compressed harder before, on the same block grid (a photo saved at a low
    quality, then again at a higher one), and the IJG quality of that earlier compression when its table
    explains what is seen.

    Quantised twice, the multiples ``k`` of the last table a coefficient can take skip values — the earlier,
    coarser step lands on some and never on others — so its histogram over ``|k|`` has bins far below later,
    well-filled ones, where a single compression's falls off steadily. :data:`EARLIER_MIN_POSITIONS` of the
    :data:`EARLIER_POSITIONS` showing such a gap is the verdict; the earlier quality is then the coarsest IJG
    table whose unreachable bins are (nearly) the empty ones. Chosen on training photos compressed once and
    twice (docs/SR_REAL_NOTES.md): once, at qualities 30–75, no more than one position showed a gap; twice on
    one grid, five or more, and the estimate fell within 4 of the earlier quality or was ``None``. A photo
    resized between its compressions shows none: its earlier blocks are off the grid. A drawing (text, stripes)
    can show gaps from its few repeated values; no table is taken to explain them unless it fills several
    reachable bins at several positions, so such a file is told its stated quality, without the constraint.

    Then the file's quantisation no longer bounds the original (:func:`project_to_jpeg` does not apply), and
    a model told the last quality would remove only that compression's share.

    Args:
        decoded: the JPEG's pixels as decoded, ``H×W×C`` (C = 1 or 3), in the orientation the file stores.
        tables: its quantisation tables (:func:`luma_table` takes either form).

    Returns:
        ``(compressed before, its quality or None)``.

    Example:
        >>> import numpy as np
        >>> from restore.compression import ijg_table
        >>> def decoded(coeffs):  # 4,096 blocks of DCT coefficients → a 512×512 grey image in [0, 1]
        ...     return (_unblocks(coeffs @ _K + 128, 512, 512) / 255)[:, :, None]
        >>> c = np.random.default_rng(0).laplace(0, 30, (4096, 64))
        >>> q30, q90 = np.array(ijg_table(30)), np.array(ijg_table(90))
        >>> earlier_compression(decoded(np.round(c / q90) * q90), q90)  # once, at quality 90
        (False, None)
        >>> before, quality = earlier_compression(decoded(np.round(np.round(c / q30) * q30 / q90) * q90), q90)
        >>> before, abs(quality - 30) <= 2  # at 30, then 90: found, and its quality within 2
        (True, True)
    """
    from restore.compression import quality_from_tables

    table = luma_table(tables)
    counts = _histograms(decoded, table)
    if _gaps(counts) < EARLIER_MIN_POSITIONS:
        return False, None
    return True, _earlier_step_quality(counts, table, quality_from_tables(table.ravel()))


def _peak(a: np.ndarray) -> float:
    """The value of white in an image's dtype: the integer maximum, or 1 for floats in [0, 1]."""
    return float(np.iinfo(a.dtype).max) if np.issubdtype(a.dtype, np.integer) else 1.0


def project_to_jpeg(result: np.ndarray, decoded: np.ndarray,
                    tables: Mapping[int, Sequence[int]] | Sequence[int]) -> np.ndarray:
    """Make a restoration of a decoded JPEG consistent with the file's quantisation, in place.

    Each whole 8×8 block's luma DCT coefficients are moved into the intervals the file's coefficients and
    its luma table allow (:func:`luma_correction`); the correction is added to every colour channel, which
    changes the luma by it and the colour differences not at all. Values are stored back as the engine stores
    its output (:func:`restore.pixels.store`: clipped, and rounded for integer dtypes).

    Args:
        result: the restored image, ``H×W×C`` (C = 1, grey, or 3, RGB), modified in place: uint8, uint16, or
            float in [0, 1].
        decoded: the JPEG's pixels as decoded, the same shape, in the orientation the file stores (any of those
            dtypes, its own).
        tables: the file's quantisation tables (:func:`luma_table` takes either form).

    Returns:
        ``result``.

    Shape:
        ``(H, W, C)``; the blocks start at the origin, so the arrays must be the whole decoded file.

    Raises:
        InputError: a bad table, or arrays of different shapes or channel counts other than 1 and 3.

    Example:
        >>> import numpy as np
        >>> decoded = np.full((8, 8, 3), 100, np.uint8)
        >>> restored = decoded.copy(); restored[0, 0] = 160
        >>> int(project_to_jpeg(restored, decoded, [16] * 64)[0, 0, 0]) < 160
        True
    """
    table = luma_table(tables)
    if result.shape != decoded.shape or result.ndim != 3 or result.shape[2] not in (1, 3):
        raise InputError(f"project_to_jpeg: shapes {result.shape} and {decoded.shape} (H×W×1 or H×W×3, the same)")
    from restore.pixels import store, to_float

    h8, w8 = result.shape[0] // 8 * 8, result.shape[1] // 8 * 8
    q = table.reshape(64).astype(np.float32)
    for y in range(0, h8, STRIP):
        rows = slice(y, min(y + STRIP, h8))
        out = to_float(result[rows, :w8])
        fix = _correction(_luma(out, 1.0), _luma(decoded[rows, :w8], _peak(decoded)), q) / np.float32(255)
        for c in range(out.shape[2]):  # channel by channel: a broadcast add over the last axis took 3× as long
            out[:, :, c] += fix
        store(result[rows, :w8], out)
    return result


def _luma(pixels: np.ndarray, peak: float) -> np.ndarray:
    """JPEG's luma of ``H×W×C`` pixels (C = 1: the grey itself) whose white is ``peak``, on a 0–255 scale."""
    scale = np.float32(255.0 / peak)
    if pixels.shape[2] == 1:
        return pixels[:, :, 0].astype(np.float32) * scale
    w = LUMA * scale  # a weighted sum: NumPy's matrix product would wake OpenBLAS's threads
    return pixels[:, :, 0] * w[0] + pixels[:, :, 1] * w[1] + pixels[:, :, 2] * w[2]


def project_batch(out: Any, decoded: Any, qualities: Sequence[float | None]) -> Any:
    """:func:`project_to_jpeg` for a training batch, differentiable: ``out`` and ``decoded`` ``(B, 3, H, W)``
    torch tensors in [0, 1], each sample held to the IJG luma table of its stated quality (``None``: left as it
    is). The loss then sees what ``restore denoise`` gives a JPEG file (``restore train sr --constraint``).
    Training patches are too small to show an earlier compression, as are images that small at inference.
    """
    import torch
    import torch.nn.functional as F

    from restore.compression import ijg_table

    h8, w8 = out.shape[-2] // 8 * 8, out.shape[-1] // 8 * 8
    weights = torch.from_numpy(LUMA * 255).to(out)[:, None, None]
    rows = []
    for i, q in enumerate(qualities):
        if q is None or not h8 or not w8:
            rows.append(out[i])
            continue
        fix = _correction((out[i, :, :h8, :w8] * weights).sum(0), (decoded[i, :, :h8, :w8].to(out) * weights).sum(0),
                          torch.tensor(ijg_table(int(q)), dtype=out.dtype, device=out.device))
        rows.append(out[i] + F.pad(fix / 255, (0, out.shape[-1] - w8, 0, out.shape[-2] - h8))[None])
    return torch.stack(rows)
