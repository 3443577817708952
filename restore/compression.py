"""How compressed an input says it is: a JPEG's quantisation tables → the IJG quality they correspond to →
the condition vector of the quantisation-aware models (:class:`restore.models.sr.SRNet` with ``cond_dim``).

A JPEG file states its compression exactly: the luma table is the standard IJG table scaled by a factor that
the quality sets (``S = 5000/q`` below 50, ``200 − 2q`` above; each entry ``⌊(T·S + 50)/100⌋`` clipped to
1…255). :func:`quality_from_tables` inverts that from the table's sum, which also gives an equivalent quality
for an encoder's own tables (a camera's, Photoshop's): the one whose standard table quantises as coarsely on
average. A lossless input (PNG, TIFF, lossless WebP) has no table: its quality is ``None``, the uncompressed
condition.

The tables describe the last compression only. A photo compressed, resized and compressed again states the
second quality; the models were trained with exactly that (a second JPEG round whose quality is the one
given), so they treat the stated quality as what the file says, not as the whole story. A file resized after
compression and stored losslessly states nothing; :func:`restore.api.upscale`'s ``jpeg_quality`` (the CLI's
``--jpeg-quality``) overrides what the file says. An earlier, harder compression on the same block grid (no resize
between) leaves its mark in the decoded coefficients, which ×1 restoration reads
(:func:`restore.jpeg_constraint.earlier_compression`).

Pure Python at import (no NumPy, Pillow or torch), so the command line's help stays light.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

from restore.errors import InputError

#: the IJG standard luminance quantisation table (JPEG Annex K), the reference the quality scales
STD_LUMA = (16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
            14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
            49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99)

#: the qualities the condition vector's tent functions peak at; the last knot stands for "uncompressed"
KNOTS = (10.0, 30.0, 50.0, 70.0, 90.0, 101.0)
CLEAN = KNOTS[-1]


def ijg_table(quality: float) -> list[int]:
    """The luma table libjpeg writes at ``quality`` (1–100), as a list of 64 (order of :data:`STD_LUMA`); a
    fractional quality interpolates between libjpeg's integer ones."""
    q = min(100.0, max(1.0, float(quality)))
    if q == int(q):  # libjpeg's integer arithmetic (5000 // q below 50)
        s = 5000 // int(q) if q < 50 else 200 - 2 * int(q)
    else:
        s = 5000.0 / q if q < 50 else 200.0 - 2.0 * q
    return [min(255, max(1, int((t * s + 50) // 100))) for t in STD_LUMA]


def quality_from_tables(luma: Sequence[int]) -> float:
    """The IJG quality (1–100, fractional) whose standard luma table has the same sum as ``luma`` (64 entries,
    any order): exact for tables libjpeg made, an equivalent quality for other encoders' tables.

    >>> round(quality_from_tables(ijg_table(75)))
    75
    >>> quality_from_tables([1] * 64)
    100.0

    Raises:
        InputError: not 64 entries of 1–65535.
    """
    t = [int(v) for v in luma]
    if len(t) != 64 or min(t) < 1 or max(t) > 65535:
        raise InputError("a JPEG quantisation table has 64 entries from 1 to 65535")
    return _quality_of_sum(sum(t))


@lru_cache(maxsize=1024)
def _quality_of_sum(total: int) -> float:
    """:func:`quality_from_tables` for a table's sum (40 table builds: cached, as every image of a batch asks)."""
    if total <= 64:
        return 100.0
    # the sum falls as the quality rises: bisect on the quality (the clipping makes it step-wise, not invertible
    # in closed form)
    lo, hi = 1.0, 100.0
    for _ in range(40):
        mid = (lo + hi) / 2
        if sum(ijg_table(mid)) > total:
            lo = mid
        else:
            hi = mid
    q = (lo + hi) / 2
    if sum(ijg_table(round(q))) == total:  # a table libjpeg made: its own quality
        return float(round(q))
    return round(q, 2)


def _opened(source: Any, read: Any) -> Any:
    """``read`` of a path's image, opened (``None`` for a file Pillow cannot open), or of an open Pillow image."""
    from PIL import Image

    if not isinstance(source, (str, Path)):
        return read(source)
    try:
        with Image.open(source) as im:
            return read(im)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def jpeg_tables(source: Any) -> dict[int, list[int]] | None:
    """The quantisation tables of a JPEG (a path or an open Pillow image): ``{0: luma, 1: chroma, …}``, or
    ``None`` for anything that is not a JPEG."""
    if isinstance(source, (str, Path)):
        return _opened(source, jpeg_tables)
    tables: Mapping[int, Sequence[int]] | None = getattr(source, "quantization", None)
    if getattr(source, "format", None) != "JPEG" or not tables:
        return None
    return {int(k): [int(v) for v in t] for k, t in tables.items()}


def jpeg_luma_table(source: Any) -> list[int] | None:
    """A JPEG's luma quantisation table (64 entries, natural order), for a JPEG whose first component is luma
    (grey, or YCbCr as JFIF and cameras store colour); ``None`` for anything else — not a JPEG, or a CMYK or
    Adobe RGB-transformed one, whose first table does not quantise luma. What
    :func:`restore.jpeg_constraint.project_to_jpeg` needs."""
    if isinstance(source, (str, Path)):
        return _opened(source, jpeg_luma_table)
    return _luma_of(source, jpeg_tables(source))


def _luma_of(image: Any, tables: dict[int, list[int]] | None) -> list[int] | None:
    """:func:`jpeg_luma_table` of an open image whose tables are read already."""
    if not tables or 0 not in tables or len(tables[0]) != 64:
        return None
    # Adobe's transform flag 0 means the components are stored as they are (RGB or CMYK), not as YCbCr
    if image.mode not in ("L", "RGB") or image.info.get("adobe_transform") == 0:
        return None
    return tables[0]


#: the quality assumed for an image known to be lossy whose file states no table (a lossy WebP, or an array a
#: caller asks to treat as a real photo with ``denoise`` but gives no quality): libjpeg's and libwebp's default
UNSTATED_LOSSY_QUALITY = 75.0


def file_compression(source: Any) -> tuple[float | None, list[int] | None]:
    """What a file (a path or an open Pillow image) states about its compression, from one read of its header:
    ``(file_quality, jpeg_luma_table)`` — what a batch or the server tells a network and holds its result to.

    Raises:
        InputError: a JPEG table that is not 64 entries of 1–65535.
    """
    if isinstance(source, (str, Path)):
        from restore.io import is_lossy

        quality, table = _opened(source, file_compression) or (None, None)
        if quality is None and is_lossy(Path(source)):
            quality = UNSTATED_LOSSY_QUALITY
        return quality, table
    tables = jpeg_tables(source)
    quality = quality_from_tables(tables[0]) if tables and 0 in tables else None
    return quality, _luma_of(source, tables)


def file_quality(source: Any) -> float | None:
    """What a file says about its compression: the equivalent IJG quality of its luma table for a JPEG,
    ``None`` (uncompressed) for anything else — a PNG, a TIFF, a lossless WebP. (A lossy WebP states no table;
    it is compressed, so it gets the quality its encoder's default corresponds to,
    :data:`UNSTATED_LOSSY_QUALITY`.)"""
    return file_compression(source)[0]


def check_quality(quality: Any) -> float | None:
    """A ``jpeg_quality`` argument checked: ``None`` (uncompressed) or a number from 1 to 100.

    Raises:
        InputError: anything else.
    """
    import math

    if quality is None:
        return None
    if isinstance(quality, bool) or not isinstance(quality, (int, float)) and not hasattr(quality, "__float__"):
        raise InputError(f"jpeg_quality must be None or a number from 1 to 100, got {quality!r}")
    q = float(quality)
    if not math.isfinite(q) or not 1.0 <= q <= 100.0:
        raise InputError(f"jpeg_quality must be from 1 to 100, got {quality!r}")
    return q


def condition_weights(quality: float | None) -> list[float]:
    """The condition as tent-function weights over :data:`KNOTS` (they sum to 1): a quality between two knots
    is a blend of the two; ``None`` is the last knot (uncompressed); below the first knot, the first.

    >>> condition_weights(None)
    [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    >>> condition_weights(40)
    [0.0, 0.5, 0.5, 0.0, 0.0, 0.0]
    """
    q = CLEAN if quality is None else min(max(float(quality), KNOTS[0]), CLEAN)
    out = [0.0] * len(KNOTS)
    for i in range(len(KNOTS) - 1):
        a, b = KNOTS[i], KNOTS[i + 1]
        if a <= q <= b:
            t = (q - a) / (b - a)
            out[i], out[i + 1] = 1.0 - t, t
            break
    return out


def condition_vector(quality: float | None):
    """:func:`condition_weights` as a float32 tensor of shape ``(len(KNOTS),)``."""
    import torch

    return torch.tensor(condition_weights(quality), dtype=torch.float32)
