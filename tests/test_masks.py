"""restore.masks: thresholds, alpha, sidecars, folder matching, resolve order, dilate."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import make_image
from restore.errors import ImageReadError, InputError
from restore.masks import (MaskSource, dilate, find_mask_in_folder, find_sidecar_mask, load_mask,
                           mask_from_alpha, mask_owner_stem, resolve_mask, to_gray8)


def test_threshold_127_after_gray(write_png):
    m = np.array([[0, 126, 127, 128, 255]], np.uint8)
    p = write_png("m.png", m)
    np.testing.assert_array_equal(load_mask(p, (1, 5)), [[False, False, True, True, True]])


def test_color_mask_converted_to_gray(write_png):
    m = np.zeros((2, 2, 3), np.uint8)
    m[0, 0] = (255, 255, 255)   # white: hole
    m[0, 1] = (255, 0, 0)       # pure red: gray 76, not a hole
    m[1, 0] = (0, 255, 0)       # pure green: gray 150, hole
    got = load_mask(write_png("c.png", m), (2, 2, 3))  # full image shape accepted
    np.testing.assert_array_equal(got, [[True, False], [True, False]])


def test_16bit_mask_and_transparent_mask_file(write_png):
    m16 = np.array([[0, 65535]], np.uint16)
    np.testing.assert_array_equal(load_mask(write_png("m16.png", m16), (1, 2)), [[False, True]])
    rgba = np.full((1, 2, 4), 255, np.uint8)
    rgba[0, 0, 3] = 0  # white but fully transparent: composited onto black, not a hole
    np.testing.assert_array_equal(load_mask(write_png("ma.png", rgba), (1, 2)), [[False, True]])


def test_size_mismatch_is_input_error_unless_resize(write_png):
    m = np.zeros((10, 10), np.uint8)
    m[:5] = 255
    p = write_png("m.png", m)
    with pytest.raises(InputError, match="10×10.*20×30") as ei:
        load_mask(p, (30, 20))
    assert "\n" not in str(ei.value)
    r = load_mask(p, (30, 20), resize=True)
    assert r.shape == (30, 20) and r.dtype == bool
    assert r[:15].all() and not r[15:].any()  # nearest: stays binary, top half


def test_missing_mask_file_is_read_error(tmp_path):
    with pytest.raises(ImageReadError, match="nope.png"):
        load_mask(tmp_path / "nope.png", (4, 4))


@pytest.mark.parametrize("dtype,low,high", [(np.uint8, 127, 128), (np.uint16, 32895, 32896),
                                           (np.float32, 0.5, 0.51)])
def test_mask_from_alpha(dtype, low, high):
    img = np.zeros((1, 3, 4), dtype)
    img[0, :, 3] = [0, low, high]
    np.testing.assert_array_equal(mask_from_alpha(img), [[True, True, False]])


def test_mask_from_alpha_needs_rgba():
    with pytest.raises(InputError):
        mask_from_alpha(np.zeros((3, 3, 3), np.uint8))


def test_to_gray8_dtypes():
    assert to_gray8(np.ones((2, 2), bool)).max() == 255
    assert to_gray8(np.ones((2, 2), np.float32)).max() == 255
    with pytest.raises(InputError):
        to_gray8(np.zeros((2, 2, 5), np.uint8))


def test_sidecar_lookup(tmp_path, write_png):
    img = write_png("photo.jpg", make_image((4, 4, 3)))
    assert find_sidecar_mask(img) is None
    side = write_png("photo.mask.png", np.zeros((4, 4), np.uint8))
    assert find_sidecar_mask(img) == side
    side2 = write_png("photo_mask.bmp", np.zeros((4, 4), np.uint8))
    assert find_sidecar_mask(img) == side2           # <stem>_mask.* wins over <stem>.mask.png
    side3 = write_png("photo_mask.png", np.zeros((4, 4), np.uint8))
    assert find_sidecar_mask(img) == side3           # .png preferred among _mask.*
    side4 = write_png("photo_mask.jpg", np.zeros((4, 4), np.uint8))
    assert find_sidecar_mask(img) == side4           # the image's own extension first


def test_mask_owner_stem():
    assert mask_owner_stem("a/x_mask.png") == "x"
    assert mask_owner_stem("x.mask.png") == "x"
    assert mask_owner_stem("x.png") is None
    assert mask_owner_stem("_mask.png") is None
    assert mask_owner_stem("x_mask.txt") is None


def test_find_mask_in_folder_by_stem(tmp_path, write_png):
    img = write_png("imgs/a.jpg", make_image((4, 4, 3)))
    write_png("masks/b.png", np.zeros((4, 4), np.uint8))
    assert find_mask_in_folder(tmp_path / "masks", img) is None
    m = write_png("masks/a_mask.png", np.zeros((4, 4), np.uint8))
    assert find_mask_in_folder(tmp_path / "masks", img) == m
    exact = write_png("masks/a.png", np.zeros((4, 4), np.uint8))
    assert find_mask_in_folder(tmp_path / "masks", img) == exact  # exact stem wins
    # mask folder == image folder: the image is never its own mask
    assert find_mask_in_folder(tmp_path / "imgs", img) is None


def test_resolve_order(tmp_path, write_png):
    rgba = make_image((6, 6, 4))
    rgba[..., 3] = 255
    rgba[0, 0, 3] = 0
    img_path = write_png("x.png", rgba)

    holes, src = resolve_mask(img_path, rgba)
    assert src == MaskSource("alpha") and str(src) == "alpha channel"
    assert holes.sum() == 1 and holes[0, 0]

    side = np.zeros((6, 6), np.uint8)
    side[5, 5] = 255
    side_path = write_png("x_mask.png", side)
    holes, src = resolve_mask(img_path, rgba)
    assert src.kind == "sidecar" and src.path == side_path and holes[5, 5] and holes.sum() == 1

    explicit = write_png("other.png", np.full((6, 6), 255, np.uint8))
    holes, src = resolve_mask(img_path, rgba, explicit)
    assert src.kind == "file" and holes.all()


def test_resolve_folder_falls_back_to_sidecar_and_alpha(tmp_path, write_png):
    (tmp_path / "masks").mkdir()
    rgba = make_image((6, 6, 4))
    rgba[..., 3] = 0
    p = write_png("y.png", rgba)
    holes, src = resolve_mask(p, rgba, tmp_path / "masks")
    assert src.kind == "alpha" and holes.all()
    m = write_png("masks/y.png", np.zeros((6, 6), np.uint8))
    holes, src = resolve_mask(p, rgba, tmp_path / "masks")
    assert src == MaskSource("folder", m) and not holes.any()  # empty mask is not an error


def test_resolve_nothing_found_is_one_line(tmp_path, write_png):
    img = make_image((6, 6, 3))
    p = write_png("z.png", img)
    with pytest.raises(InputError) as ei:
        resolve_mask(p, img)
    msg = str(ei.value)
    assert "\n" not in msg and "--mask" in msg and "z_mask.png" in msg and "alpha" in msg
    opaque = np.dstack([img, np.full((6, 6), 255, np.uint8)])
    with pytest.raises(InputError):
        resolve_mask(p, opaque)  # an alpha channel with nothing transparent is no mask
    (tmp_path / "m").mkdir()
    with pytest.raises(InputError, match="z_mask"):
        resolve_mask(p, img, tmp_path / "m")


def test_resolve_size_mismatch(tmp_path, write_png):
    img = make_image((6, 8, 3))
    p = write_png("s.png", img)
    write_png("s_mask.png", np.full((3, 4), 255, np.uint8))
    with pytest.raises(InputError, match="4×3"):
        resolve_mask(p, img)
    holes, _ = resolve_mask(p, img, resize=True)
    assert holes.shape == (6, 8) and holes.all()


def test_dilate():
    m = np.zeros((11, 11), bool)
    m[5, 5] = True
    assert dilate(m, 0).sum() == 1
    d = dilate(m, 2)
    assert d.dtype == bool and d[5, 3] and d[3, 5] and d[5, 7] and not d[3, 3]  # elliptical, not square
    assert not d[5, 2]
    assert dilate(m, 0) is not m


def test_dilate_is_an_exact_disc():
    m = np.zeros((21, 21), bool)
    m[10, 10] = True
    y, x = np.mgrid[-10:11, -10:11]
    for px in (1, 2, 3, 5, 7):
        np.testing.assert_array_equal(dilate(m, px), x * x + y * y <= px * px)


def test_dilate_costs_the_same_for_any_radius():
    """A structuring element of radius N costs N² per pixel (30 s for N = 4000 on 96×128); the distance transform
    does not depend on N, and any N past the image's diagonal covers the whole image."""
    import time

    m = np.zeros((96, 128), bool)
    m[40:44, 60:64] = True
    tic = time.perf_counter()
    for px in (4000, 10**6, 10**30):
        assert dilate(m, px).all()
    assert time.perf_counter() - tic < 1.0
    assert dilate(m, 10).sum() < m.size and dilate(np.zeros((4, 4), bool), 10**9).sum() == 0
