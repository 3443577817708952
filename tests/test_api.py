"""Library API: dtype/layout round trips, unmasked pixels bit-identical, CNN path through a weights file."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from restore import InputError, inpaint, list_models, upscale
from restore.models import SRNet, UNet
from restore.weights import save_model

from conftest import make_image

LAYOUTS = [(12, 10), (12, 10, 3), (12, 10, 4)]
DTYPES = [np.uint8, np.uint16, np.float32]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", LAYOUTS)
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_upscale_keeps_dtype_and_layout(shape, dtype, scale) -> None:
    img = make_image(shape, dtype)
    out = upscale(img, scale, method="bicubic")
    assert out.dtype == img.dtype
    assert out.shape == (shape[0] * scale, shape[1] * scale, *shape[2:])


def test_upscale_16bit_keeps_precision() -> None:
    img = make_image((8, 8, 3), np.uint16)
    out = upscale(img, 2, method="nearest")
    np.testing.assert_array_equal(out[::2, ::2], img)  # no trip through 8 bits


def test_alpha_is_upscaled_separately() -> None:
    img = make_image((8, 8, 4), np.uint8)
    img[..., 3] = 200
    out = upscale(img, 2, method="lanczos")
    assert (out[..., 3] == 200).all()


@pytest.mark.parametrize("method", ["telea", "ns", "biharmonic", "pushpull"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", LAYOUTS)
def test_inpaint_unmasked_pixels_bit_identical(shape, dtype, method) -> None:
    img = make_image((24, 20, *shape[2:]), dtype)
    mask = np.zeros((24, 20), np.uint8)
    mask[8:14, 5:12] = 255
    out = inpaint(img, mask, method=method)
    assert out.dtype == img.dtype and out.shape == img.shape
    keep = mask == 0
    np.testing.assert_array_equal(out[keep], img[keep])


def test_inpaint_empty_mask_is_a_copy() -> None:
    img = make_image((8, 8, 3))
    out = inpaint(img, np.zeros((8, 8), bool))
    np.testing.assert_array_equal(out, img)
    assert out is not img


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: upscale(np.zeros((4, 4, 3), np.uint8), 5), "scale"),
        (lambda: upscale(np.zeros((4, 4, 5), np.uint8), 2), "shape"),
        (lambda: upscale(np.zeros((0, 4, 3), np.uint8), 2), "empty"),
        (lambda: upscale(np.zeros((4, 4, 3), np.int32), 2), "dtype"),
        (lambda: upscale(np.full((4, 4, 3), np.nan, np.float32), 2), "NaN"),
        (lambda: upscale(np.zeros((4, 4, 3), np.uint8), 2, method="magic"), "unknown"),
        (lambda: upscale([[0]], 2), "NumPy"),
        (lambda: inpaint(np.zeros((4, 4, 3), np.uint8), np.ones((5, 4))), "mask"),
        (lambda: inpaint(np.zeros((4, 4, 3), np.uint8), np.ones((4, 4)), method="magic"), "unknown"),
    ],
)
def test_bad_input_raises_input_error(call, match) -> None:
    with pytest.raises(InputError, match=match):
        call()


def test_list_models_has_classical_methods() -> None:
    names = {m.name for m in list_models()}
    assert {"bicubic", "bicubic-matlab", "telea", "biharmonic"} <= names


def test_cnn_path_through_weights_file(tmp_path) -> None:
    torch.manual_seed(0)
    sr = SRNet(base_ch=8, n_blocks=1, scale=2)
    p = save_model(sr, tmp_path / "sr.safetensors", {
        "name": "t", "task": "sr", "arch": "srnet", "scale": 2,
        "config": {"base_ch": 8, "n_blocks": 1, "scale": 2}})
    img = make_image((10, 12), np.uint8)  # gray runs as RGB and comes back gray
    out = upscale(img, 2, model=str(p), device="cpu")
    assert out.shape == (20, 24) and out.dtype == np.uint8
    with pytest.raises(InputError, match="×2"):
        upscale(img, 3, model=str(p), device="cpu")

    un = UNet(widths=(4, 8), n_bottleneck=1)
    q = save_model(un, tmp_path / "in.safetensors", {
        "name": "u", "task": "inpaint", "arch": "unet", "config": {"widths": [4, 8], "n_bottleneck": 1}})
    img = make_image((20, 22, 3), np.uint16)
    mask = np.zeros((20, 22), bool)
    mask[5:9, 3:15] = True
    out = inpaint(img, mask, model=str(q), device="cpu", precision="fp32")
    # 16 bit all the way: the fill is the float pipeline's, rounded once to 16 bit (not to 8 bit on the way)
    ref = inpaint(img.astype(np.float32) / 65535, mask, model=str(q), device="cpu", precision="fp32")
    assert out.dtype == np.uint16
    np.testing.assert_allclose(out[mask].astype(np.float64), ref[mask] * 65535, atol=1.0)
    assert len(np.unique(out[mask] % 257)) > 1  # not 8-bit values scaled up


@pytest.mark.parametrize("method", ["bicubic", "lanczos", "sr-fast-x4"])
def test_rgba_hidden_colour_does_not_bleed_into_visible_edges(method) -> None:
    """A uniform colour with transparent holes whose hidden RGB is black: every upscaled pixel that is at
    least half opaque keeps the colour the same image gets without holes (within a few levels), instead of
    a dark outline round each hole. (Compared with the hole-free upscale, so a method's own border effects
    do not count.)"""
    img = np.zeros((40, 48, 4), np.uint8)
    img[..., :3] = (200, 120, 40)
    img[..., 3] = 255
    opaque = img.copy()
    for y, x in ((8, 8), (20, 30), (30, 10)):
        img[y:y + 6, x:x + 7] = 0  # transparent, and black underneath
    out = upscale(img, 4, method=method, device="cpu")
    ref = upscale(opaque, 4, method=method, device="cpu")
    vis = out[..., 3] >= 128
    err = np.abs(out[..., :3].astype(int) - ref[..., :3])[vis]
    assert err.max() <= 3, f"visible pixels off the colour by up to {err.max()} levels"
    assert np.abs(ref[..., :3].astype(int) - (200, 120, 40))[16:-16, 16:-16].max() <= 3
    # nothing changes when there is no transparent pixel
    np.testing.assert_array_equal(upscale(opaque, 2, method="nearest")[::2, ::2], opaque)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_gray_alpha_arrays_keep_their_layout(dtype) -> None:
    from conftest import make_image

    gray = make_image((12, 10), dtype)
    alpha = np.zeros_like(gray)
    alpha[:, 5:] = gray.max()
    la = np.dstack([gray, alpha])
    up = upscale(la, 2, method="bicubic")
    assert up.shape == (24, 20, 2) and up.dtype == dtype
    # the gray is upscaled as gray (away from the transparent half, whose hidden colour is filled in first)
    np.testing.assert_array_equal(up[:, 14:, 0], upscale(gray, 2, method="bicubic")[:, 14:])
    mask = np.zeros((12, 10), bool)
    mask[3:6, 2:7] = True
    filled = inpaint(la, mask, method="telea")
    assert filled.shape == la.shape and filled.dtype == dtype
    np.testing.assert_array_equal(filled[:, :, 1], alpha)  # alpha returned as given


@pytest.mark.parametrize("task", ["upscale", "denoise", "inpaint"])
def test_grey_stored_as_colour_stays_grey(task) -> None:
    """An RGB image whose channels are equal (a black-and-white photo saved as colour) is restored as grey and
    comes back grey: exactly the grey image's result in each channel, where a colour network would tint it."""
    import restore

    g = make_image((40, 36), np.uint8, seed=3)
    rgb = np.repeat(g[:, :, None], 3, axis=2)
    holes = np.zeros(g.shape, bool)
    holes[10:20, 12:22] = True
    run = {"upscale": lambda a: restore.upscale(a, 4, model="sr-fast-x4"),
           "denoise": lambda a: restore.denoise(a, jpeg_quality=40),
           "inpaint": lambda a: restore.inpaint(a, holes, model="inpaint")}[task]
    out, grey = run(rgb), run(g)
    assert out.shape[2] == 3
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], grey)
    # and a colour image one level off grey in one pixel is still a colour image
    tinted = rgb.copy()
    tinted[5, 5, 1] ^= 1
    out = run(tinted)
    assert not np.array_equal(out[:, :, 0], out[:, :, 1])


def test_a_grey_photo_with_colour_in_its_holes_is_filled_as_grey() -> None:
    """Inpainting reads no hole pixel, so colour painted over the holes does not make a grey photo a colour one."""
    import restore

    g = make_image((40, 36), np.uint8, seed=4)
    holes = np.zeros(g.shape, bool)
    holes[10:20, 12:22] = True
    marked = np.repeat(g[:, :, None], 3, axis=2)
    marked[holes] = (255, 0, 0)
    for method in ("texture", None):
        out = restore.inpaint(marked, holes, method=method) if method else restore.inpaint(marked, holes)
        np.testing.assert_array_equal(out[:, :, 0], out[:, :, 1])
        np.testing.assert_array_equal(out[:, :, 1], out[:, :, 2])
