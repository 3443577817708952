"""The public library API: ``upscale``, ``denoise``, ``inpaint``, ``list_models``, ``load_model``.

Arrays in and out are NumPy: ``H×W`` (gray), ``H×W×2`` (gray + alpha), ``H×W×3`` (RGB) or ``H×W×4`` (RGBA);
dtype uint8, uint16 or
float (values in [0, 1]). Outputs keep the input's dtype and channel layout. Importing this module does
not import torch: the CNN path imports it when first used.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from restore import classical
from restore.errors import ClippedWarning, InputError
from restore.catalogue import PREFILL_METHOD, TEXTURE_METHOD, ModelInfo, inpaint_methods, upscale_methods
from restore.pixels import store, to_float

#: Largest output an untiled classical upscale may produce (pixels); the CNN path is tiled.
MAX_PIXELS = 1 << 28
SCALES = (2, 3, 4)


def list_models() -> list[ModelInfo]:
    """Every method and shipped model, classical ones first."""
    from restore.catalogue import shipped_models

    out = [
        ModelInfo(m, "sr", "classical", SCALES, None, {}, "interpolation") for m in classical.UPSCALE_METHODS
    ]
    about = {PREFILL_METHOD: "the CNN's pre-fill: orientation-guided push-pull",
             TEXTURE_METHOD: "the CNN's structure + texture from the photo's own patches (PatchMatch)"}
    out += [ModelInfo(m, "inpaint", "hybrid" if m == TEXTURE_METHOD else "classical", (), None, {},
                      about.get(m, "classical inpainting"))
            for m in classical.INPAINT_METHODS]
    return out + shipped_models()


def load_model(name_or_path: str | Path, *, device: str = "auto"):
    """Build a CNN from a shipped model name or a ``.safetensors`` path (config read from its metadata).

    Returns:
        A :class:`restore.models.descriptor.ModelDescriptor`: the ``module`` with its ``name``, ``task``,
        ``scale``, ``receptive_radius``, ``cpu_bf16`` and the file's ``metadata``; call it like the module.
    """
    from restore.weights import load_model as _load

    return _load(name_or_path, device=device)


# --- array plumbing -------------------------------------------------------------------------------

@dataclass
class _Layout:
    dtype: np.dtype
    gray: bool
    alpha: np.ndarray | None


def _split(image: np.ndarray, what: str = "image") -> tuple[np.ndarray, _Layout]:
    """Validate and convert to float32 ``H×W×C`` (C = 1 or 3) in [0, 1], with alpha set aside."""
    if not isinstance(image, np.ndarray):
        raise InputError(f"{what} must be a NumPy array, got {type(image).__name__}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (2, 3, 4)):
        raise InputError(f"{what} must be H×W, H×W×2 (gray + alpha), H×W×3 or H×W×4, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"{what} is empty (shape {image.shape})")
    dt = image.dtype
    if not (dt in (np.uint8, np.uint16) or np.issubdtype(dt, np.floating)):
        raise InputError(f"{what} dtype must be uint8, uint16 or float in [0, 1], got {dt}")
    if np.issubdtype(dt, np.floating) and not np.isfinite(image).all():
        raise InputError(f"{what} contains NaN or infinite values")
    if np.issubdtype(dt, np.floating) and image.size:
        lo, hi = float(image.min()), float(image.max())
        if lo < 0.0 or hi > 1.0:
            warnings.warn(f"{what} has float values outside [0, 1] (min {lo:.4g}, max {hi:.4g}); they are clipped",
                          ClippedWarning, stacklevel=3)
    f = to_float(image)
    if f.ndim == 2:
        f = f[:, :, None]
    gray = f.shape[2] <= 2
    alpha = None
    if f.shape[2] in (2, 4):  # the last channel is alpha
        alpha, f = f[:, :, -1:], f[:, :, :-1]
    return np.ascontiguousarray(f), _Layout(dt, gray, alpha)


def _empty(h: int, w: int, layout: _Layout, alpha: bool) -> np.ndarray:
    """An uninitialised output in the input's dtype and channel layout."""
    if layout.gray:
        return np.empty((h, w, 2) if alpha else (h, w), layout.dtype)
    return np.empty((h, w, 4 if alpha else 3), layout.dtype)


def _merge(f: np.ndarray, layout: _Layout, alpha: np.ndarray | None = None) -> np.ndarray:
    """Inverse of :func:`_split`: back to the input's dtype and channel layout (converted in chunks)."""
    a = layout.alpha if alpha is None else alpha
    out = _empty(f.shape[0], f.shape[1], layout, a is not None)
    if layout.gray and a is None:
        return store(out, f[:, :, 0])
    c = 1 if layout.gray else 3
    store(out[:, :, :c], f)
    if a is not None:
        store(out[:, :, c:], a)
    return out


def _fill_invisible(f: np.ndarray, invisible: np.ndarray) -> np.ndarray:
    """The colour under fully transparent pixels is arbitrary (often black) but an interpolator or a CNN
    mixes it into the visible pixels beside them (dark or ringing outlines around every hole). Replace it by
    a smooth fill from the visible pixels (push–pull, :func:`restore.fill.pyramid_fill`) before upscaling;
    the visible colours are unchanged. Shape: ``H×W×C`` float32, ``H×W`` bool → ``H×W×C``."""
    if not invisible.any() or invisible.all():
        return f
    import torch

    from restore.fill import pyramid_fill

    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(f.transpose(2, 0, 1)))[None]
        m = torch.from_numpy(invisible.astype(np.float32))[None, None]
        out = pyramid_fill(x, m, smooth_iters=0)[0].numpy().transpose(1, 2, 0)
    return np.ascontiguousarray(np.clip(out, 0.0, 1.0), dtype=np.float32)


def _default_cnn(task: str, scale: int | None = None) -> str | None:
    from restore.catalogue import default_model

    return default_model(task, scale)


# --- upscale -----------------------------------------------------------------------------------------

def real_model(scale: int) -> str | None:
    """The shipped real-photo SR model for a scale (``sr-real-x<scale>``: trained on blur, noise and JPEG),
    or ``None``."""
    from restore.catalogue import shipped_models

    name = f"sr-real-x{scale}"
    return name if any(m.name == name for m in shipped_models()) else None


def model_for_lossy(scale: int, *, method: str = "auto", model: Any = None, denoise: float | None = None) -> str | None:
    """The rule for a JPEG or lossy-WebP input, decided here once for the CLI and the web server: with the
    automatic choice (``method="auto"``, no ``model``, no ``denoise``) it gets the real-photo model of its scale
    (the clean one sharpens compression blocks); ``None`` = keep the request as it is."""
    if method != "auto" or model is not None or denoise is not None:
        return None
    return real_model(scale)


def denoise_model(scale: int, denoise: float, *, method: str = "auto", model: Any = None, device: str = "auto"):
    """The SR network for a ``denoise`` strength: the clean default model and the real-photo model of the scale
    blended weight by weight, ``(1 − denoise)·clean + denoise·real`` (cached); a gated real-photo model
    (anchored to the clean one, :class:`restore.models.sr.SRNet`) itself, which :func:`upscale` runs at that
    strength.

    Raises:
        InputError: ``denoise`` not a number in [0, 1]; a ``model``/``method`` given as well (the strength
            picks the model); no real-photo model shipped for the scale.
    """
    import math

    if isinstance(denoise, bool) or not isinstance(denoise, (int, float, np.floating, np.integer)) \
            or not math.isfinite(float(denoise)) or not 0.0 <= float(denoise) <= 1.0:
        raise InputError(f"denoise must be a number from 0 to 1, got {denoise!r}")
    if model is not None or method != "auto":
        raise InputError("denoise chooses the model itself (it blends sr-x<scale> and sr-real-x<scale>); "
                         "drop method/model, or drop denoise")
    clean, real = _default_cnn("sr", scale), real_model(scale)
    if clean is None or real is None:
        raise InputError(f"denoise: no real-photo model is shipped for ×{scale}")
    if float(denoise) == 0.0:  # the clean model itself, run as it always runs (int8 where it declares it)
        return clean
    from restore.engine import blended_model, get_model

    loaded = get_model(real, device)
    if getattr(loaded.module, "gated", False):
        # anchored to the clean model itself: the strength moves it along what it learned (upscale applies it)
        return loaded
    return blended_model(clean, real, float(denoise), device=device)


def resolve_upscale_method(method: str = "auto", model: Any = None, scale: int = 4) -> tuple[str, Any]:
    """What an upscale request runs, decided in one place (the CLI asks here too): ``(method, None)`` for a
    classical method, or ``(method, model)`` with the CNN — a name, a path or a loaded model. ``auto`` is the
    shipped default CNN of the scale, else ``bicubic``.

    Raises:
        InputError: an unknown method name.
    """
    if model is not None:
        return method, model
    if method == "auto":
        name = _default_cnn("sr", scale)
        return ("bicubic", None) if name is None else (method, name)
    if method in classical.UPSCALE_METHODS:
        return method, None
    if method not in upscale_methods():
        raise InputError(f"unknown upscale method {method!r}; choose from {', '.join(upscale_methods())}")
    return method, method


def upscale(
    image: np.ndarray,
    scale: int = 4,
    *,
    method: str = "auto",
    model: Any = None,
    device: str = "auto",
    tile: int | None = None,
    denoise: float | None = None,
    precision: str = "auto",
    backend: str = "auto",
    ensemble: bool = False,
    jpeg_quality: float | None = None,
    jpeg_tables: Any = None,
) -> np.ndarray:
    """Upscale an image by 2, 3 or 4.

    Args:
        image: ``H×W``, ``H×W×2`` (gray + alpha), ``H×W×3`` (RGB) or ``H×W×4`` (RGBA); uint8, uint16 or
            float in [0, 1].
        scale: 2, 3 or 4.
        method: ``"auto"`` (the shipped CNN for this scale, else bicubic), a shipped model name, or a
            classical method: nearest, bilinear, bicubic, lanczos, bicubic-matlab.
        model: a model name, a ``.safetensors`` path or an already loaded model; overrides ``method``.
        device: ``auto | cpu | cuda | mps`` for the CNN path.
        tile: tile size in input pixels for the CNN path (``None`` = chosen per device; ``0`` = untiled).
        denoise: ``None``, or a strength in [0, 1] between the clean model (``sr-x<scale>``, 0, exactly) and
            the real-photo model (``sr-real-x<scale>``, 1: made for JPEG-compressed photos), as Real-ESRGAN's
            ``-dn``: the quantisation-aware real-photo model moves its weights that share of the way from the
            clean ones to what it learned for ``jpeg_quality`` — taken as 75
            (:data:`restore.compression.UNSTATED_LOSSY_QUALITY`) when none is given, since asking for it says
            the image is lossy. The default (``auto``, no ``denoise``) is the clean model, the best for clean or
            losslessly stored images; for an array decoded from a JPEG pass its ``jpeg_quality`` with
            ``denoise=1``, or ``model="sr-real-x<scale>"`` (the CLI does this by itself for such files).
        precision: ``auto | fp32 | bf16 | fp16 | int8`` for the CNN path. ``auto`` on a CPU: the clean SR models
            (``sr-x2/3/4``, whose files declare ``cpu_int8``) run quantised to int8 by ONNX Runtime where the CPU has
            VNNI and ONNX Runtime is installed (:func:`restore.engine.auto_int8`; its speed and cost:
            docs/BENCHMARKS.md), other networks in bfloat16 on CPUs with native bf16, float32 otherwise;
            float16 on CUDA.
            ``fp32`` / ``bf16`` force PyTorch at that precision, ``int8`` the quantised model.
        backend: ``auto`` (ONNX Runtime for int8, PyTorch otherwise), ``torch`` or ``onnxruntime`` (CPU only,
            needs the ``onnx`` extra; float32 unless ``precision="int8"``, also with ``precision="auto"``;
            :func:`restore.engine.resolve_backend` says why).
        ensemble: for the CNN path, average the network's outputs over the 8 flips and rotations of the
            input (self-ensemble: 8 forward passes for a small PSNR gain; tiling stays exact). Ignored by
            classical methods.
        jpeg_quality: what the image's file states about its compression: the quality (1–100) of its last
            JPEG compression (:func:`restore.compression.file_quality` reads it from a file's quantisation
            tables), or ``None`` for an image stored losslessly. An array carries no file format, so this is
            the caller's to say; the CLI and the web server pass what the file says. The quantisation-aware
            real-photo models (``sr-real-x2`` / ``sr-real-x4``) are told it; other models ignore it.
        jpeg_tables: the quantisation tables of the JPEG file the image was decoded from (as :func:`denoise`
            takes them): ``jpeg_quality`` then defaults to what they state — or to an earlier, harder
            compression's quality when the pixels show one on the same grid (:func:`resolve_jpeg_condition`;
            the pixels as the file stores them, unrotated).

    Returns:
        The upscaled image, ``(H*scale)×(W*scale)`` with the input's dtype and channels. Alpha is
        upscaled with plain bicubic interpolation.

    Raises:
        InputError: a bad image, scale, method, ``jpeg_tables`` or ``denoise`` (out of range, combined with a
            model, or no real-photo model for the scale).
    """
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or int(scale) not in SCALES:
        raise InputError(f"unsupported scale {scale!r}; choose 2, 3 or 4")
    scale = int(scale)
    from restore.compression import check_quality

    jpeg_quality = check_quality(jpeg_quality)
    f, layout = _split(image)
    jpeg_quality = resolve_jpeg_condition(f, jpeg_tables, jpeg_quality)[0]
    h, w = f.shape[:2]
    strength = 1.0
    if denoise is not None:
        model = denoise_model(scale, denoise, method=method, model=model, device=device)
        if getattr(getattr(model, "module", None), "gated", False):
            strength = float(denoise)
            if jpeg_quality is None:  # asked to treat it as a real photo, with nothing stated: a typical one
                from restore.compression import UNSTATED_LOSSY_QUALITY

                jpeg_quality = UNSTATED_LOSSY_QUALITY
    method, model = resolve_upscale_method(method, model, scale)
    if model is None and h * w * scale * scale > MAX_PIXELS:
        raise InputError(
            f"output of {h * scale}×{w * scale} px exceeds the {MAX_PIXELS // 1_000_000} MP limit of "
            "classical upscaling; use a CNN model (tiled)"
        )
    alpha = None
    if layout.alpha is not None:
        alpha = classical.upscale(layout.alpha, scale, "bicubic")
        f = _fill_invisible(f, layout.alpha[:, :, 0] <= 0)
    if model is not None:
        from restore.engine import upscale_array

        # tiles are converted straight into the final array: no full-size float32 canvas
        res = _empty(h * scale, w * scale, layout, alpha is not None)
        c = 1 if layout.gray else 3
        colour = res[:, :, None] if res.ndim == 2 else res[:, :, :c]
        upscale_array(f, scale, model, device=device, tile=tile, precision=precision, backend=backend, out=colour,
                      ensemble=ensemble, jpeg_quality=jpeg_quality, strength=strength)
        if alpha is not None:
            store(res[:, :, c:], alpha)
        return res
    return _merge(classical.upscale(f, scale, method), layout, alpha)


# --- denoise -----------------------------------------------------------------------------------------

def resolve_denoise_model(model: Any = None, jpeg_quality: float | None = None) -> Any:
    """The ×1 restoration model for an input: ``model`` if given, else the shipped default for what the input
    states — the model made for JPEG files (``denoise-jpeg-x1``) when it states a JPEG quality, the general one
    (``denoise-x1``: noise, and a clean input left as it is) otherwise, or when no JPEG one is shipped.

    Raises:
        InputError: none given and none shipped.
    """
    if model is not None:
        return model
    from restore.catalogue import default_model

    name = default_model("sr", 1, jpeg=jpeg_quality is not None)
    if name is None:
        raise InputError("no restoration model (×1) is shipped")
    return name


def resolve_jpeg_condition(image: np.ndarray, jpeg_tables: Any = None, jpeg_quality: float | None = None
                           ) -> tuple[float | None, bool]:
    """What a network given a decoded JPEG is told, and whether a ×1 restoration's result is held to the file's
    quantisation: ``(quality, constrain)`` (:func:`denoise`; :func:`upscale` takes the quality alone).

    Without tables: ``(jpeg_quality, False)``. With them: the quality ``jpeg_quality`` (if given) or the one the
    tables state — or, when the pixels show an earlier, harder compression on the same grid
    (:func:`restore.jpeg_constraint.earlier_compression`), that compression's estimated quality, the lower of
    the two; the constraint holds unless there was such an earlier compression (it bounds only the last).

    Args:
        image: the decoded pixels, ``H×W×C`` (C = 1 or 3; uint8, uint16 or float in [0, 1]), as the file
            stores them.
        jpeg_tables: the file's quantisation tables, or ``None``.
        jpeg_quality: a quality the caller states instead (checked already).

    Raises:
        InputError: malformed tables.
    """
    if jpeg_tables is None:
        return jpeg_quality, False
    from restore.compression import quality_from_tables
    from restore.jpeg_constraint import earlier_compression, luma_table

    table = luma_table(jpeg_tables)
    before, earlier = earlier_compression(image, table)
    if jpeg_quality is None:
        jpeg_quality = quality_from_tables(table.ravel())
        if earlier is not None:
            jpeg_quality = min(jpeg_quality, earlier)
    return jpeg_quality, not before


def denoise(
    image: np.ndarray,
    strength: float = 1.0,
    *,
    jpeg_quality: float | None = None,
    jpeg_tables: Any = None,
    model: Any = None,
    device: str = "auto",
    tile: int | None = None,
    precision: str = "auto",
    backend: str = "auto",
) -> np.ndarray:
    """Restore an image at its own size: JPEG blocks and ringing, and noise, removed (it does not sharpen).

    Args:
        image: as :func:`upscale` takes it.
        strength: from 0 (the image unchanged, exactly) to 1 (the network's output): ``image + strength ·
            (restored − image)``, pixel by pixel.
        jpeg_quality: the quality (1–100) of the image's last JPEG compression as its file states it, or
            ``None`` for an image stored losslessly (see :func:`upscale`; the CLI and the web server pass what
            the file says). The model removes as much as that compression leaves, and noise whatever it says.
        jpeg_tables: the quantisation tables of the JPEG file the image was decoded from, as Pillow reads them
            (``Image.open(path).quantization``; :func:`restore.compression.jpeg_tables`), or its 64 luma
            entries. Given, the result is also kept consistent with what the file proves
            (:func:`restore.jpeg_constraint.project_to_jpeg`: each 8×8 luma block within the quantisation step
            of the file's), and ``jpeg_quality`` defaults to the tables' quality — unless the pixels show an
            earlier, harder compression on the same grid: then no constraint, and the quality of that one
            (:func:`resolve_jpeg_condition`). Only for the file's pixels as decoded, uncropped and in the
            orientation it stores them (the CLI and the web server take care of that for a file's EXIF rotation).
        model: the ×1 restoration model (a name, a path or a loaded model); default: the shipped one for what
            ``jpeg_quality`` says (:func:`resolve_denoise_model`).
        device, tile, precision, backend: as :func:`upscale` (``tile`` in pixels).

    Returns:
        The restored image: same shape, dtype and channels; alpha is returned as given.

    Raises:
        InputError: a bad image, ``strength`` outside [0, 1], a bad ``jpeg_quality`` or ``jpeg_tables``, a
            model that is not a ×1 restoration model, or none shipped.

    Example:
        >>> import numpy as np, restore
        >>> img = np.full((16, 16, 3), 128, np.uint8)
        >>> bool((restore.denoise(img, 0.0) == img).all())
        True
    """
    import math

    from restore.compression import check_quality

    if isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 1:  # H×W×1 in, H×W×1 out
        return denoise(image[:, :, 0], strength, jpeg_quality=jpeg_quality, jpeg_tables=jpeg_tables, model=model,
                       device=device, tile=tile, precision=precision, backend=backend)[:, :, None]
    if isinstance(strength, bool) or not isinstance(strength, (int, float, np.floating, np.integer)) \
            or not math.isfinite(float(strength)) or not 0.0 <= float(strength) <= 1.0:
        raise InputError(f"strength must be a number from 0 to 1, got {strength!r}")
    jpeg_quality = check_quality(jpeg_quality)
    f, layout = _split(image)
    jpeg_quality, constrain = resolve_jpeg_condition(f, jpeg_tables, jpeg_quality)
    model = resolve_denoise_model(model, jpeg_quality)
    if float(strength) == 0.0:
        return image.copy()
    from restore.engine import upscale_array

    h, w = f.shape[:2]
    alpha = layout.alpha
    res = _empty(h, w, layout, alpha is not None)
    c = 1 if layout.gray else 3
    colour = res[:, :, None] if res.ndim == 2 else res[:, :, :c]
    upscale_array(f, 1, model, device=device, tile=tile, precision=precision, backend=backend, out=colour,
                  jpeg_quality=jpeg_quality, strength=float(strength))
    if constrain:
        from restore.jpeg_constraint import project_to_jpeg

        project_to_jpeg(colour, f, jpeg_tables)
    if alpha is not None:
        res[:, :, c:] = image[:, :, c:]
    return res


# --- inpaint -----------------------------------------------------------------------------------------

def _check_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The one place a mask is validated and binarised: ``H×W`` (or ``H×W×1``), bool or numeric, finite;
    nonzero = hole. Returns a bool ``H×W`` array."""
    if not isinstance(mask, np.ndarray):
        raise InputError(f"mask must be a NumPy array, got {type(mask).__name__}")
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[:, :, 0]
    if mask.ndim != 2:
        raise InputError(f"mask must be H×W, got shape {mask.shape}")
    if mask.shape != shape:
        raise InputError(f"mask is {mask.shape[1]}×{mask.shape[0]} but the image is {shape[1]}×{shape[0]}")
    if not (mask.dtype == bool or np.issubdtype(mask.dtype, np.integer) or np.issubdtype(mask.dtype, np.floating)):
        raise InputError(f"mask dtype must be bool, integer or float, got {mask.dtype}")
    if np.issubdtype(mask.dtype, np.floating) and not np.isfinite(mask).all():
        raise InputError("mask contains NaN or infinite values")
    return mask != 0


def resolve_inpaint_method(method: str = "auto", model: Any = None) -> tuple[str, Any]:
    """What an inpainting request runs, decided in one place: ``(method, None)`` for a classical method, or
    ``(method, model)`` with the CNN to run — a name, a path, a loaded module, or for ``pushpull`` the pre-fill
    as a model (:class:`restore.engine.Prefill`, so it runs on the CNN's crops). ``auto`` is the shipped
    default CNN, else ``telea``.

    Raises:
        InputError: an unknown method name.
    """
    if model is not None:
        return method, model
    if method == PREFILL_METHOD:
        from restore.engine import Prefill

        return method, Prefill.describe()  # through the CNN's crop path: exactly the input the default network corrects
    if method == "auto":
        name = _default_cnn("inpaint")
        return ("telea", None) if name is None else (method, name)
    if method == TEXTURE_METHOD:
        return method, None  # its structure CNN (the default one) is loaded by restore.texture when it runs
    if method in classical.INPAINT_METHODS:
        return method, None
    if method not in inpaint_methods():
        raise InputError(f"unknown inpaint method {method!r}; choose from {', '.join(inpaint_methods())}")
    return method, method


def inpaint(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    method: str = "auto",
    model: Any = None,
    device: str = "auto",
    precision: str = "auto",
) -> np.ndarray:
    """Fill the holes of an image.

    Args:
        image: ``H×W``, ``H×W×2`` (gray + alpha), ``H×W×3`` (RGB) or ``H×W×4`` (RGBA); uint8, uint16 or
            float in [0, 1].
        mask: ``H×W``; nonzero = hole (the OpenCV / IOPaint convention).
        method: ``"auto"`` (the shipped CNN, else telea), a shipped model name, telea, ns, biharmonic,
            pushpull (the CNN's classical pre-fill alone, run on the same crops as the CNN), or texture (the
            CNN's fill for structure, texture copied from the image's known pixels: :mod:`restore.texture`).
        model: a model name, a ``.safetensors`` path or a loaded model; overrides ``method`` (with
            ``method="texture"`` it is the CNN that gives the structure).
        device: ``auto | cpu | cuda | mps`` for the CNN path.
        precision: ``auto | fp32 | bf16 | fp16`` for the CNN path (as :func:`upscale`; the pre-fill and the
            composite stay float32).

    Returns:
        The inpainted image, same shape and dtype. Pixels outside the hole are bit-identical to the
        input; alpha is returned as given.

    Raises:
        InputError: a bad image or mask (shape, dtype, NaN), an unknown method, or a mask that covers the
            whole image (nothing to fill from).
    """
    if isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 1:  # H×W×1 in, H×W×1 out
        return inpaint(image[:, :, 0], mask, method=method, model=model, device=device, precision=precision)[:, :, None]
    f, layout = _split(image)
    holes = _check_mask(mask, f.shape[:2])
    method, model = resolve_inpaint_method(method, model)
    if not holes.any():
        return image.copy()
    if holes.all():
        raise InputError("the mask covers the whole image: there are no known pixels to fill from")
    if method == TEXTURE_METHOD:  # ``model``, if given, is the CNN whose fill gives the structure
        from restore.texture import inpaint_texture

        filled = inpaint_texture(f, holes, model=model, device=device, precision=precision)
    elif model is not None:
        from restore.engine import inpaint_array

        filled = inpaint_array(f, holes, model, device=device, precision=precision)
    else:
        if f.shape[0] * f.shape[1] > MAX_PIXELS:
            raise InputError(f"image exceeds the {MAX_PIXELS // 1_000_000} MP limit")
        filled = classical.inpaint(f, holes, method)
    out = _merge(filled, layout)
    # bit-identical outside the hole, whatever rounding the float round trip did
    result = image.copy()
    result[holes] = out[holes]
    return result
