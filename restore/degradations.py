"""Synthetic degradations of photos, for training super-resolution on "real" inputs and for evaluating it.

Training (:class:`RealDegradation`, :func:`degrade_real`): real photos reach an upscaler blurred, resized
with an unknown kernel, noisy and JPEG-compressed, often more than once (a phone's pipeline, then a
messenger's). Following the published descriptions of Real-ESRGAN (a "second-order" pipeline: the same
steps applied twice) and BSRGAN (random kernels, noise types and JPEG qualities), one HR patch becomes one LR
patch by, in this order:

1. **blur** (probability ``blur_prob``): a Gaussian kernel, isotropic or (``aniso_prob``) anisotropic with a
   random angle, σ drawn from ``blur_sigma`` (HR pixels);
2. **downscale** by exactly ``scale`` with a kernel drawn from ``kernels``: ``area``, ``bilinear``,
   ``bicubic`` (OpenCV) or ``matlab`` (the antialiased bicubic of the published SR protocol);
3. **noise** (``noise_prob``): Gaussian with σ from ``noise_sigma`` grey levels, the same in every channel
   (grey noise, probability ``gray_noise_prob``) or per channel (colour noise); otherwise, with
   ``poisson_prob``, Poisson (shot) noise at a random ``poisson_scale`` (its σ grows with brightness);
4. **JPEG** (``jpeg_prob``) at a quality from ``jpeg_quality``;
5. with ``second_prob``, a **second round** of steps 1, 3 and 4 at the LR size with the milder
   ``*2`` ranges (no second resize, so the LR stays aligned with the HR);

and a share ``clean_prob`` of samples gets the published MATLAB-bicubic downscale alone, so the model does
not forget clean inputs. Every draw comes from the ``numpy.random.Generator`` passed in, so a seed gives the
same LR, bit for bit. The settings are stored in the trained weights' metadata (:meth:`RealDegradation.to_dict`).

The published SR degradation itself, :func:`degrade` (MATLAB-compatible bicubic downscale of uint8, rounded back
to uint8), is the clean share above, the LR of the paired training data and of evaluation, and the input of
the int8 calibration.

Evaluation (:data:`TEST_DEGRADATIONS`, :func:`parse_test_degradation`, :func:`make_lr`): named, reproducible
degradations applied around the published bicubic downscale — ``clean``, ``jpeg:Q``, ``noise:SIGMA``,
``blur:SIGMA``, one table entry each — and :func:`blockiness`, which measures JPEG block edges in an upscaled
output.

NumPy and OpenCV are imported by the functions that use them, so the table and :func:`degradation_help` are
read without them (the command line's help imports neither).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, Callable

from restore.errors import InputError

if TYPE_CHECKING:
    import numpy as np

KERNELS = ("area", "bilinear", "bicubic", "matlab")


@dataclass(frozen=True)
class RealDegradation:
    """The training degradation's settings (each step: a probability and a range). See the module docstring."""

    # Defaults (v2): JPEG on most samples, blur and noise on a third each, a quarter clean. The first mixture
    # (clean .15, blur .6, noise .4, second round .3) made nearly every sample a heavy combination; the net
    # grew conservative and gave up 1.5 dB on clean ×2 inputs (docs/SR_REAL_NOTES.md).
    clean_prob: float = 0.25
    blur_prob: float = 0.35
    blur_sigma: tuple[float, float] = (0.2, 2.0)
    aniso_prob: float = 0.3
    kernels: tuple[str, ...] = KERNELS
    noise_prob: float = 0.3
    noise_sigma: tuple[float, float] = (1.0, 10.0)
    gray_noise_prob: float = 0.4
    poisson_prob: float = 0.15
    poisson_scale: tuple[float, float] = (0.05, 1.5)
    jpeg_prob: float = 0.85
    jpeg_quality: tuple[int, int] = (30, 95)
    second_prob: float = 0.1
    blur2_sigma: tuple[float, float] = (0.2, 0.8)
    noise2_sigma: tuple[float, float] = (1.0, 6.0)
    jpeg2_quality: tuple[int, int] = (50, 95)
    #: every sample ends with a JPEG whose quality the trainer draws once per batch (from ``jpeg_quality``), so
    #: a batch states one quality (what a gated quantisation-aware network trains on; see
    #: :func:`degrade_real_stated`'s ``last_quality``)
    jpeg_last: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "jpeg_last", bool(self.jpeg_last))  # a settings string gives 1 / 0
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name.endswith("_prob") and not 0.0 <= float(v) <= 1.0:
                raise InputError(f"degradation {f.name} must be in [0, 1], got {v}")
            if isinstance(v, (tuple, list)) and f.name != "kernels" and (len(v) != 2 or v[0] > v[1] or v[0] < 0):
                raise InputError(f"degradation {f.name} must be a range (low, high) with 0 ≤ low ≤ high, got {v}")
        if not self.kernels or any(k not in KERNELS for k in self.kernels):
            raise InputError(f"degradation kernels must be among {', '.join(KERNELS)}, got {self.kernels}")
        for name in ("jpeg_quality", "jpeg2_quality"):
            lo, hi = getattr(self, name)
            if not 1 <= lo <= hi <= 100:
                raise InputError(f"degradation {name} must be within 1..100, got {(lo, hi)}")

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> RealDegradation:
        if not d:
            return cls()
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise InputError(f"unknown degradation setting(s): {', '.join(sorted(unknown))}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def parse_settings(text: str) -> dict[str, Any]:
    """``"clean_prob=0.1,jpeg_quality=30:95"`` → settings for :meth:`RealDegradation.from_dict`, checked.

    Raises:
        InputError: a malformed item, an unknown field or a value out of its range.
    """
    out: dict[str, Any] = {}
    for item in (t.strip() for t in text.split(",") if t.strip()):
        key, eq, val = item.partition("=")
        if not eq or not key.strip():
            raise InputError(f"bad degradation setting {item!r}; use NAME=VALUE or NAME=LOW:HIGH")
        try:
            parts = [float(v) for v in val.split(":")]
        except ValueError:
            raise InputError(f"bad value in degradation setting {item!r}") from None
        if key.strip() == "kernels":
            raise InputError("kernels cannot be set here")
        out[key.strip()] = parts[0] if len(parts) == 1 else tuple(int(v) if key.strip().endswith("quality") else v
                                                                  for v in parts)
    RealDegradation.from_dict(out)  # the checks
    return out


def degrade(hr_u8: np.ndarray, scale: int) -> np.ndarray:
    """The published SR degradation: MATLAB-compatible bicubic downscale (antialiased) of uint8 HR by ``scale``,
    rounded back to uint8.

    Shape: ``H×W×3`` uint8 → ``ceil(H/scale)×ceil(W/scale)×3`` uint8 (crop HR to a multiple of ``scale`` first,
    :func:`restore.data.mod_crop`, for an LR aligned with it).
    """
    import numpy as np

    from restore.classical import imresize

    if scale == 1:  # restoration at the same size: the image itself
        return np.array(hr_u8, dtype=np.uint8, copy=True)
    lr = imresize(hr_u8.astype(np.float32), 1.0 / scale)
    return np.clip(np.round(lr), 0, 255).astype(np.uint8)


# --- the steps (float32 H×W×3 in [0, 255] in, same out, unless said) ---------------------------------------

def gaussian_kernel(sigma_x: float, sigma_y: float | None = None, angle: float = 0.0) -> np.ndarray:
    """A normalised 2-D Gaussian kernel, anisotropic when ``sigma_y`` differs, rotated by ``angle`` (rad).
    Its radius is 3 σ of the larger axis."""
    import numpy as np

    sigma_y = sigma_x if sigma_y is None else sigma_y
    r = max(1, int(math.ceil(3 * max(sigma_x, sigma_y))))
    t = np.arange(-r, r + 1, dtype=np.float64)
    xx, yy = np.meshgrid(t, t)
    c, s = math.cos(angle), math.sin(angle)
    u, v = c * xx + s * yy, -s * xx + c * yy
    k = np.exp(-0.5 * ((u / sigma_x) ** 2 + (v / sigma_y) ** 2))
    return (k / k.sum()).astype(np.float32)


def blur(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REFLECT_101)


def downscale(img: np.ndarray, scale: int, kernel: str) -> np.ndarray:
    """Exactly ``scale`` times smaller (H and W must be multiples of ``scale``)."""
    import cv2

    h, w = img.shape[:2]
    if kernel == "matlab":
        from restore.classical import imresize

        return imresize(img, output_shape=(h // scale, w // scale))
    interp = {"area": cv2.INTER_AREA, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}[kernel]
    return cv2.resize(img, (w // scale, h // scale), interpolation=interp)


def gaussian_noise(img: np.ndarray, sigma: float, rng: np.random.Generator, gray: bool = False) -> np.ndarray:
    """Add N(0, σ²) noise (grey levels): one field for all channels when ``gray``, else one per channel."""
    import numpy as np

    shape = img.shape[:2] + (1,) if gray else img.shape
    return img + rng.normal(0.0, sigma, size=shape).astype(np.float32)


def poisson_noise(img: np.ndarray, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Shot noise: photon counts ∝ brightness. ``scale`` sets its strength (σ ≈ √(v · scale · 255/100) at level
    v), so brighter pixels get more noise."""
    import numpy as np

    v = np.clip(img, 0, 255) / 255.0
    photons = 10.0 ** rng.uniform(1.5, 3.0) / max(scale, 1e-3)  # photons at full white
    noisy = rng.poisson(v * photons).astype(np.float32) / photons
    return img + (noisy - v).astype(np.float32) * 255.0


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """Round to uint8 and JPEG-compress at ``quality`` (OpenCV's libjpeg, 4:2:0 chroma), back to float."""
    import cv2
    import numpy as np

    u8 = np.clip(np.round(img), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", u8[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 image
        raise InputError("JPEG encoding failed")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1].astype(np.float32)


def _random_blur(img: np.ndarray, rng: np.random.Generator, sigma: tuple[float, float], aniso_prob: float) -> np.ndarray:
    sx = rng.uniform(*sigma)
    if rng.random() < aniso_prob:
        return blur(img, gaussian_kernel(sx, rng.uniform(*sigma), rng.uniform(0, math.pi)))
    return blur(img, gaussian_kernel(sx))


def _random_noise(img: np.ndarray, rng: np.random.Generator, cfg: RealDegradation, sigma: tuple[float, float]) -> np.ndarray:
    if rng.random() < cfg.noise_prob:
        return gaussian_noise(img, rng.uniform(*sigma), rng, gray=rng.random() < cfg.gray_noise_prob)
    if rng.random() < cfg.poisson_prob:
        return poisson_noise(img, rng.uniform(*cfg.poisson_scale), rng)
    return img


def degrade_real(hr_u8: np.ndarray, scale: int, rng: np.random.Generator,
                 cfg: RealDegradation | None = None) -> np.ndarray:
    """One LR patch from one HR patch by the training pipeline (see the module docstring).

    Args:
        hr_u8: ``H×W×3`` uint8, H and W multiples of ``scale``.
        scale: 1 (restoration at the same size), 2, 3 or 4.
        rng: the source of every random draw (a seed gives the same LR).
        cfg: the pipeline's settings (default: :class:`RealDegradation`'s).

    Returns:
        ``(H/scale)×(W/scale)×3`` uint8.
    """
    return degrade_real_stated(hr_u8, scale, rng, cfg)[0]


def degrade_real_stated(hr_u8: np.ndarray, scale: int, rng: np.random.Generator,
                        cfg: RealDegradation | None = None,
                        last_quality: int | None = None) -> tuple[np.ndarray, int | None]:
    """:func:`degrade_real` and what the result would state as a file: the quality of its last JPEG
    compression, or ``None`` when it was last stored losslessly (no JPEG step, or noise or blur after the
    last one) — the condition of the quantisation-aware models (:mod:`restore.compression`).

    With ``last_quality``, every JPEG step of the pipeline is at that quality and a result that would end
    without one (the clean share, noise after the last JPEG) gets one: what a file stating it may have been
    through.
    """
    import numpy as np

    cfg = cfg or RealDegradation()
    h, w = hr_u8.shape[:2]
    if h % scale or w % scale:
        raise InputError(f"HR patch {w}×{h} is not a multiple of ×{scale}")
    if last_quality is not None:
        from dataclasses import replace

        q = int(last_quality)
        lr, stated = degrade_real_stated(hr_u8, scale, rng, replace(cfg, jpeg_quality=(q, q), jpeg2_quality=(q, q)))
        return (lr if stated == q else jpeg(lr.astype(np.float32), q).astype(np.uint8)), q
    if rng.random() < cfg.clean_prob:
        return (degrade(hr_u8, scale) if scale > 1 else hr_u8.copy()), None
    stated: int | None = None
    x = hr_u8.astype(np.float32)
    if rng.random() < cfg.blur_prob:
        x = _random_blur(x, rng, cfg.blur_sigma, cfg.aniso_prob)
    if scale > 1:
        x = downscale(x, scale, cfg.kernels[int(rng.integers(len(cfg.kernels)))])
    x = _random_noise(x, rng, cfg, cfg.noise_sigma)
    if rng.random() < cfg.jpeg_prob:
        stated = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
        x = jpeg(x, stated)
    if rng.random() < cfg.second_prob:
        y = x
        if rng.random() < cfg.blur_prob:
            x = _random_blur(x, rng, cfg.blur2_sigma, cfg.aniso_prob)
        x = _random_noise(x, rng, cfg, cfg.noise2_sigma)
        if x is not y:  # changed after the last JPEG: stored as it is now, it states nothing
            stated = None
        if rng.random() < cfg.jpeg_prob:
            stated = int(rng.integers(cfg.jpeg2_quality[0], cfg.jpeg2_quality[1] + 1))
            x = jpeg(x, stated)
    return np.clip(np.round(x), 0, 255).astype(np.uint8), stated


# --- evaluation ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TestDegradation:
    """A named evaluation degradation: ``kind`` (a key of :data:`TEST_DEGRADATIONS`) with its ``value``
    (0 for a kind without one). ``str()`` gives the name :func:`parse_test_degradation` reads back."""

    kind: str
    value: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in TEST_DEGRADATIONS:
            raise InputError(f"unknown degradation {self.kind!r}; use {degradation_forms()}")

    def __str__(self) -> str:
        return self.kind if not TEST_DEGRADATIONS[self.kind].value_name else f"{self.kind}:{self.value:g}"


@dataclass(frozen=True)
class DegradationKind:
    """One entry of :data:`TEST_DEGRADATIONS`: everything the parser, the error messages, the CLI help and
    :func:`make_lr` know about a kind.

    Attributes:
        value_name: the value's placeholder in ``KIND:VALUE`` (``Q``, ``SIGMA``), ``""`` for a kind without one.
        value_range: what the value may be, as the error message says it (``1-100``, ``grey levels``).
        help: what the kind does, for the CLI help.
        valid: whether a finite value ≥ 0 is allowed for this kind.
        apply: ``(hr_u8, scale, value, seed) → lr_u8``, the evaluation LR of an HR image (``H×W×3`` uint8, H and
            W multiples of ``scale``) by the published downscale with the degradation; seeded by ``seed`` alone.
    """

    value_name: str
    value_range: str
    help: str
    valid: Callable[[float], bool]
    apply: Callable[[np.ndarray, int, float, int], np.ndarray]


def _blurred_lr(hr_u8: np.ndarray, scale: int, sigma: float, seed: int) -> np.ndarray:
    import numpy as np

    hr = np.clip(np.round(blur(hr_u8.astype(np.float32), gaussian_kernel(sigma))), 0, 255).astype(np.uint8)
    return degrade(hr, scale)


def _jpeg_lr(hr_u8: np.ndarray, scale: int, quality: float, seed: int) -> np.ndarray:
    import numpy as np

    return jpeg(degrade(hr_u8, scale).astype(np.float32), int(quality)).astype(np.uint8)


def _noisy_lr(hr_u8: np.ndarray, scale: int, sigma: float, seed: int) -> np.ndarray:
    import numpy as np

    noisy = gaussian_noise(degrade(hr_u8, scale).astype(np.float32), sigma, np.random.default_rng([seed, 5150]))
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


#: The named test degradations of ``restore eval sr --degradation``, in the order the messages list them. A new
#: kind is one entry here (tests/test_degradations.py::test_every_test_degradation iterates the table).
TEST_DEGRADATIONS: dict[str, DegradationKind] = {
    "clean": DegradationKind("", "", "the published protocol", lambda v: True,
                             lambda hr, scale, v, seed: degrade(hr, scale)),
    "jpeg": DegradationKind("Q", "1-100", "JPEG of the LR at quality Q",
                            lambda v: 1 <= v <= 100 and v == int(v), _jpeg_lr),
    "noise": DegradationKind("SIGMA", "grey levels", "Gaussian colour noise on the LR, seeded per image",
                             lambda v: True, _noisy_lr),
    "blur": DegradationKind("SIGMA", "pixels", "Gaussian blur of the HR before the downscale",
                            lambda v: v > 0, _blurred_lr),
}


def _form(kind: str) -> str:
    d = TEST_DEGRADATIONS[kind]
    return f"{kind}:{d.value_name} ({d.value_range})" if d.value_name else kind


def degradation_forms() -> str:
    """The accepted ``--degradation`` forms, one line (what every parse error ends with)."""
    return ", ".join(_form(k) for k in TEST_DEGRADATIONS)


def degradation_help() -> str:
    """The CLI help of ``--degradation``: every kind of :data:`TEST_DEGRADATIONS` with its form and what it does."""
    return " | ".join(f"{_form(k)}: {d.help}" for k, d in TEST_DEGRADATIONS.items())


def parse_test_degradation(spec: str) -> TestDegradation:
    """Read a ``KIND`` or ``KIND:VALUE`` name of :data:`TEST_DEGRADATIONS` (case and surrounding space ignored):
    ``clean`` | ``jpeg:Q`` (quality 1–100) | ``noise:SIGMA`` (grey levels) | ``blur:SIGMA`` (HR pixels).

    Raises:
        InputError: anything else, with the accepted forms (:func:`degradation_forms`) in the message.
    """
    forms = degradation_forms()
    s = spec.strip().lower()
    kind, colon, val = s.partition(":")
    d = TEST_DEGRADATIONS.get(kind)
    if d is None or bool(d.value_name) != bool(colon) or (d.value_name and not val):
        raise InputError(f"unknown degradation {spec!r}; use {forms}")
    if not d.value_name:
        return TestDegradation(kind)
    try:
        v = float(val)
    except ValueError:
        raise InputError(f"bad value in degradation {spec!r}; use {forms}") from None
    if not math.isfinite(v) or v < 0 or not d.valid(v):
        raise InputError(f"bad value in degradation {spec!r}; use {forms}")
    return TestDegradation(kind, v)


def make_lr(hr_u8: np.ndarray, scale: int, deg: TestDegradation | str = "clean", seed: int = 0) -> np.ndarray:
    """The evaluation LR of an HR image: the published MATLAB-bicubic downscale (:func:`degrade`) with ``deg``
    applied as its :data:`TEST_DEGRADATIONS` entry says (blur to the HR before it; JPEG or seeded Gaussian colour
    noise to the LR after it).

    Args:
        hr_u8: ``H×W×3`` uint8, H and W multiples of ``scale``.
        scale: the downscale factor.
        deg: a :class:`TestDegradation` or its name.
        seed: the image's seed (the same seed gives the same LR).

    Returns:
        ``(H/scale)×(W/scale)×3`` uint8.
    """
    deg = parse_test_degradation(deg) if isinstance(deg, str) else deg
    return TEST_DEGRADATIONS[deg.kind].apply(hr_u8, scale, deg.value, seed)


def stated_quality(deg: TestDegradation | str) -> float | None:
    """What an input degraded by ``deg`` would state as a file: the JPEG quality for ``jpeg:Q``, ``None``
    (stored losslessly) for the others — the condition a quantisation-aware model is given in evaluation."""
    deg = parse_test_degradation(deg) if isinstance(deg, str) else deg
    return float(deg.value) if deg.kind == "jpeg" else None


def stated_tables(deg: TestDegradation | str) -> list[int] | None:
    """The luma quantisation table an input degraded by ``deg`` would state as a file (``jpeg:Q``: the IJG
    table at quality Q, which OpenCV's libjpeg writes), ``None`` for the others."""
    from restore.compression import ijg_table

    q = stated_quality(deg)
    return None if q is None else ijg_table(int(q))  # the encoder is given int(Q)


def blockiness(img: np.ndarray, period: int) -> float:
    """JPEG blocking in an image: the mean |horizontal gradient| of luma across the block edges (every
    ``period`` columns: 8 × scale for an upscaled JPEG) divided by its mean elsewhere. About 1 for an image
    without blocks; larger when block edges show.

    Shape: ``H×W×3`` (or ``H×W``), any numeric dtype on a 0–255 scale → float.
    """
    import numpy as np

    from restore.pixels import LUMA_WEIGHTS

    a = np.asarray(img, dtype=np.float64)
    y = a @ np.array(LUMA_WEIGHTS) if a.ndim == 3 else a
    if y.shape[1] <= period + 1:
        return float("nan")
    g = np.abs(np.diff(y, axis=1))  # g[:, j] is the step between columns j and j + 1
    edge = (np.arange(g.shape[1]) + 1) % period == 0
    inner = g[:, ~edge].mean()
    return float(g[:, edge].mean() / inner) if inner > 0 else float("nan")
