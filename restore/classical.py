"""Classical baselines: interpolation upscalers (incl. MATLAB-compatible bicubic) and inpainting.

Every function here takes and returns float32 arrays in [0, 1], shaped ``H×W×C`` (C = 1 or 3);
dtype/layout conversion is the job of :mod:`restore.api`.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from restore.errors import InputError
from restore.catalogue import CLASSICAL_INPAINT_METHODS, INPAINT_METHODS, UPSCALE_METHODS


# --- MATLAB-compatible imresize (bicubic, antialiased when shrinking) --------------------------
# Every published SR table builds its low-resolution inputs with MATLAB's imresize; its kernel
# (a = -0.5), its antialiasing (kernel stretched by 1/scale) and its symmetric border differ from
# OpenCV's INTER_CUBIC (a = -0.75, no antialiasing), which costs ~0.3 dB of comparability.

def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * (
        (ax > 1) & (ax <= 2)
    )


@lru_cache(maxsize=64)
def _resize_matrix(in_len: int, out_len: int, scale: float, antialias: bool = True):
    """Sparse (out_len × in_len) matrix of MATLAB's imresize weights along one axis."""
    import scipy.sparse as sp

    kernel_width = 4.0
    if scale < 1 and antialias:
        kernel = lambda x: scale * _cubic(scale * x)  # noqa: E731
        kernel_width = kernel_width / scale
    else:
        kernel = _cubic
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)  # output pixel centre in input coordinates (1-based)
    left = np.floor(u - kernel_width / 2.0)
    taps = int(np.ceil(kernel_width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]
    w = kernel(u[:, None] - idx)
    w /= w.sum(axis=1, keepdims=True)
    # MATLAB's symmetric border: index sequence 1..n, n..1 repeated
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len)[::-1]])
    idx = mirror[np.mod(idx - 1, 2 * in_len).astype(np.int64)]
    rows = np.repeat(np.arange(out_len), taps)
    m = sp.csr_matrix((w.ravel(), (rows, idx.ravel())), shape=(out_len, in_len))
    return m.astype(np.float32)


def imresize(image: np.ndarray, scale: float | None = None, output_shape: tuple[int, int] | None = None) -> np.ndarray:
    """MATLAB ``imresize(image, scale, 'bicubic')`` with antialiasing, on float arrays.

    Args:
        image: ``H×W`` or ``H×W×C`` float array (any range; no clipping or rounding is done).
        scale: resize factor (e.g. ``0.25`` or ``4``); the output size is ``ceil(H*scale)``.
        output_shape: ``(h, w)`` instead of ``scale``.

    Returns:
        float32 array, ``h×w[×C]``.
    """
    if image.ndim not in (2, 3):
        raise InputError(f"imresize expects H×W or H×W×C, got shape {image.shape}")
    h, w = image.shape[:2]
    if output_shape is None:
        if scale is None or scale <= 0:
            raise InputError("imresize needs a positive scale or an output_shape")
        sh = sw = float(scale)
        output_shape = (int(np.ceil(h * sh)), int(np.ceil(w * sw)))
    else:
        sh, sw = output_shape[0] / h, output_shape[1] / w
    img = np.asarray(image, dtype=np.float32)
    squeeze = img.ndim == 2
    if squeeze:
        img = img[:, :, None]
    c = img.shape[2]
    # MATLAB resizes the axis with the smaller scale first (fewer pixels to carry into the second pass)
    order = (0, 1) if sh <= sw else (1, 0)
    for axis in order:
        if axis == 0:
            m = _resize_matrix(img.shape[0], output_shape[0], sh)
            img = (m @ img.reshape(img.shape[0], -1)).reshape(output_shape[0], img.shape[1], c)
        else:
            m = _resize_matrix(img.shape[1], output_shape[1], sw)
            t = np.ascontiguousarray(img.transpose(1, 0, 2)).reshape(img.shape[1], -1)
            img = (m @ t).reshape(output_shape[1], img.shape[0], c).transpose(1, 0, 2)
    img = np.ascontiguousarray(img, dtype=np.float32)
    return img[:, :, 0] if squeeze else img


# --- interpolation upscalers ------------------------------------------------------------------

def upscale(image: np.ndarray, scale: int, method: str) -> np.ndarray:
    """Upscale a float32 ``H×W×C`` image in [0, 1] by an integer factor with a classical interpolator."""
    import cv2

    if method not in UPSCALE_METHODS:
        raise InputError(f"unknown upscale method {method!r}; choose from {', '.join(UPSCALE_METHODS)}")
    h, w = image.shape[:2]
    if method == "bicubic-matlab":
        out = imresize(image, output_shape=(h * scale, w * scale))
    else:
        interp = {
            "nearest": cv2.INTER_NEAREST,
            "bilinear": cv2.INTER_LINEAR,
            "bicubic": cv2.INTER_CUBIC,
            "lanczos": cv2.INTER_LANCZOS4,
        }[method]
        out = cv2.resize(np.ascontiguousarray(image, dtype=np.float32), (w * scale, h * scale), interpolation=interp)
    if out.ndim == 2:
        out = out[:, :, None]
    return np.clip(out, 0.0, 1.0, out=out)


# --- inpainting ---------------------------------------------------------------------------------

def inpaint(image: np.ndarray, mask: np.ndarray, method: str, *, radius: int = 3) -> np.ndarray:
    """Fill ``mask`` (H×W bool, True = hole) of a float32 ``H×W×C`` image in [0, 1] with a classical method:
    ``telea`` / ``ns`` (OpenCV) or ``biharmonic`` (scikit-image). (``pushpull``, the CNN's pre-fill, lives in
    :mod:`restore.fill` and runs through the CNN's crop path in :mod:`restore.engine`.)

    Pixels outside the hole are returned unchanged.

    Raises:
        InputError: an unknown method, or a mask with no known pixel to fill from.
    """
    if method not in CLASSICAL_INPAINT_METHODS:
        raise InputError(f"unknown classical inpaint method {method!r}; choose from {', '.join(CLASSICAL_INPAINT_METHODS)}")
    if not mask.any():
        return image.copy()
    if mask.all():
        raise InputError("the mask covers the whole image: there are no known pixels to fill from")
    if method == "biharmonic":
        from skimage.restoration import inpaint_biharmonic

        out = inpaint_biharmonic(image.astype(np.float64), mask, channel_axis=-1).astype(np.float32)
    else:
        import cv2

        flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
        # cv2.inpaint takes 8-bit images only for 3 channels; 16-bit precision is kept outside the hole
        # anyway because the caller composites, so the loss is limited to the filled pixels.
        u8 = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
        filled = cv2.inpaint(u8 if u8.shape[2] == 3 else u8[:, :, 0], mask.astype(np.uint8), radius, flag)
        out = filled.reshape(image.shape).astype(np.float32) / 255.0
    out = np.clip(out, 0.0, 1.0)
    out[~mask] = image[~mask]
    return out
