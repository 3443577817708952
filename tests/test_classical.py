"""Classical baselines, incl. MATLAB-compatible bicubic checked against hand-derived values."""
from __future__ import annotations

import numpy as np
import pytest

from restore.classical import CLASSICAL_INPAINT_METHODS, UPSCALE_METHODS, imresize, inpaint, upscale
from restore.errors import InputError


def test_imresize_upscale_matches_hand_computed_matlab() -> None:
    # MATLAB: imresize([0 1], 2) = [-0.09375 0.203125 0.796875 1.09375] (a = -0.5 cubic, symmetric border)
    out = imresize(np.array([[0.0, 1.0]], np.float32), output_shape=(1, 4))
    np.testing.assert_allclose(out[0], [-0.09375, 0.203125, 0.796875, 1.09375], atol=1e-6)


def test_imresize_downscale_antialiased_impulse() -> None:
    # ×1/2 stretches the kernel to 8 taps: 0.5·cubic(x/2); an impulse at (1-based) index 4 of 8 samples
    # lands on the outputs with weights -0.03515625, 0.43359375, 0.11328125, -0.01171875
    x = np.zeros((8, 8), np.float32)
    x[3, 3] = 1.0
    w = np.array([-0.03515625, 0.43359375, 0.11328125, -0.01171875])
    np.testing.assert_allclose(imresize(x, 0.5), np.outer(w, w), atol=1e-6)


def test_imresize_constant_and_shapes() -> None:
    img = np.full((10, 7, 3), 0.25, np.float32)
    for s in (0.5, 1 / 3, 0.25, 2, 3, 4):
        out = imresize(img, s)
        assert out.shape == (int(np.ceil(10 * s)), int(np.ceil(7 * s)), 3)
        np.testing.assert_allclose(out, 0.25, atol=1e-6)


@pytest.mark.parametrize("method", UPSCALE_METHODS)
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_upscale_methods(method: str, scale: int) -> None:
    img = np.random.default_rng(0).random((9, 7, 3), dtype=np.float32)
    out = upscale(img, scale, method)
    assert out.shape == (9 * scale, 7 * scale, 3) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    if method == "nearest":
        np.testing.assert_array_equal(out[::scale, ::scale], img)


@pytest.mark.parametrize("method", CLASSICAL_INPAINT_METHODS)
def test_inpaint_methods_fill_smoothly_and_keep_known(method: str) -> None:
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32) / 31
    img = np.stack([xx, yy, (xx + yy) / 2], axis=2)
    mask = np.zeros((32, 32), bool)
    mask[12:18, 10:20] = True
    damaged = img.copy()
    damaged[mask] = (1.0, 0.0, 1.0)  # what is under the hole must not leak into the fill
    out = inpaint(damaged, mask, method)
    assert np.abs(out[mask] - img[mask]).mean() < 0.05  # a smooth ramp is easy to continue
    assert np.abs(out[mask] - img[mask]).max() < 0.2


def test_unknown_methods() -> None:
    with pytest.raises(InputError, match="unknown upscale method"):
        upscale(np.zeros((4, 4, 3), np.float32), 2, "magic")
    with pytest.raises(InputError, match="unknown classical inpaint method"):
        inpaint(np.zeros((4, 4, 3), np.float32), np.ones((4, 4), bool), "magic")
    with pytest.raises(InputError, match="whole image"):
        inpaint(np.zeros((4, 4, 3), np.float32), np.ones((4, 4), bool), "telea")
