"""The ``texture`` inpainting method (restore/texture.py) and the texture measures of ``eval inpaint``."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

import restore
from restore.errors import InputError
from restore.evaluate import hf_energy, swd_patches
from restore.texture import TextureConfig, _Level, inpaint_texture


def _grain(h: int = 96, w: int = 96, seed: int = 0) -> np.ndarray:
    """A textured uint8 RGB image: smooth colour ramps plus fine grain."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([0.3 + 0.3 * x, 0.4 + 0.2 * y, 0.5 - 0.2 * x], axis=2)
    img = base + 0.08 * rng.standard_normal((h, w, 1))
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def _box(h: int, w: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def _hole_psnr(a: np.ndarray, b: np.ndarray, m: np.ndarray) -> float:
    d = a.astype(np.float64)[m] - b.astype(np.float64)[m]
    return 10 * np.log10(255.0 ** 2 / max(float(np.mean(d * d)), 1e-12))


def test_texture_is_a_method_everywhere() -> None:
    from restore.api import list_models, resolve_inpaint_method
    from restore.catalogue import inpaint_methods

    assert "texture" in inpaint_methods()
    assert resolve_inpaint_method("texture") == ("texture", None)  # no CNN for the CLI to load for it
    entry = [m for m in list_models() if m.name == "texture"]
    assert len(entry) == 1 and entry[0].task == "inpaint"


def test_known_pixels_untouched_and_hole_filled() -> None:
    img = _grain()
    m = _box(96, 96, 30, 70, 20, 60)
    out = restore.inpaint(img, m, method="texture")
    assert out.dtype == img.dtype and out.shape == img.shape
    assert np.array_equal(out[~m], img[~m])
    assert not np.array_equal(out[m], img[m])


def test_deterministic_for_a_seed() -> None:
    f = _grain().astype(np.float32) / 255
    m = _box(96, 96, 30, 70, 20, 60)
    s = np.where(m[:, :, None], 0.5, f).astype(np.float32)  # a flat structure: the texture alone decides
    a = inpaint_texture(f, m, structure=s, seed=3)
    b = inpaint_texture(f, m, structure=s, seed=3)
    c = inpaint_texture(f, m, structure=s, seed=4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    img = _grain()
    assert np.array_equal(restore.inpaint(img, m, method="texture"), restore.inpaint(img, m, method="texture"))


def test_no_patch_is_taken_from_the_hole() -> None:
    img = _grain()
    m = _box(96, 96, 28, 68, 28, 68)
    img[32:64, 32:64] = (255, 0, 255)  # a colour found only under the hole
    out = restore.inpaint(img, m, method="texture").astype(int)
    magenta = (out[..., 0] - out[..., 1] > 120) & (out[..., 2] - out[..., 1] > 120)
    assert not magenta[m].any()
    # and the field itself: every source patch lies wholly in the known pixels
    f = img.astype(np.float32) / 255
    f[m] = 0.5
    rng = np.random.default_rng(0)
    level = _Level(f, m, TextureConfig(), 3.0, rng)
    nnf = level.search(f, level.initial(None))
    r = level.r
    sy, sx = np.divmod(nnf, 96)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            assert not m[sy + dy, sx + dx].any()


@pytest.mark.parametrize("pattern", ["stripes", "checker"])
def test_periodic_texture_comes_back_in_phase(pattern: str) -> None:
    h = w = 128
    y, x = np.mgrid[0:h, 0:w]
    if pattern == "stripes":
        g = 0.5 + 0.35 * np.sign(np.sin(2 * np.pi * (x + 0.5) / 8))
    else:
        g = 0.5 + 0.35 * (((x // 6) + (y // 6)) % 2 * 2 - 1)
    img = np.clip(np.round(np.repeat(g[:, :, None], 3, axis=2) * 255), 0, 255).astype(np.uint8)
    m = _box(h, w, 44, 84, 44, 84)
    tex = restore.inpaint(img, m, method="texture")
    cnn = restore.inpaint(img, m)
    # as textured as the truth
    ratio = hf_energy(tex, m) / hf_energy(img, m)
    assert 0.6 < ratio < 1.3
    # in phase: the fill's fine band follows the truth's (a shifted copy would anti-correlate)
    band = lambda a: (a - cv2.GaussianBlur(a, (0, 0), 2.0))[m].ravel()  # noqa: E731
    corr = np.corrcoef(band(tex[..., 0].astype(np.float64)), band(img[..., 0].astype(np.float64)))[0, 1]
    assert corr > 0.8
    assert _hole_psnr(tex, img, m) > _hole_psnr(cnn, img, m) + 3.0
    # and with the full amplitude, the pattern itself comes back
    f = img.astype(np.float32) / 255
    full = inpaint_texture(f, m, structure=cnn.astype(np.float32) / 255, config=TextureConfig(gain=1.0))
    assert 0.85 < hf_energy(full, m) / hf_energy(f, m) < 1.15


def test_flat_image_stays_flat() -> None:
    img = np.full((80, 80, 3), 117, np.uint8)
    m = _box(80, 80, 20, 60, 20, 60)
    out = restore.inpaint(img, m, method="texture")
    assert np.abs(out.astype(int) - 117).max() <= 1


def test_empty_and_full_masks_behave_like_other_methods() -> None:
    img = _grain(48, 48)
    empty = np.zeros((48, 48), bool)
    assert np.array_equal(restore.inpaint(img, empty, method="texture"), img)
    with pytest.raises(InputError):
        restore.inpaint(img, np.ones((48, 48), bool), method="texture")
    with pytest.raises(InputError):
        restore.inpaint(img, np.ones((40, 48), bool), method="texture")


def test_sixteen_bit_gray_and_alpha_layouts() -> None:
    m = _box(64, 64, 16, 48, 16, 48)
    rgb16 = _grain(64, 64).astype(np.uint16) * 257 + 3
    out = restore.inpaint(rgb16, m, method="texture")
    assert out.dtype == np.uint16 and np.array_equal(out[~m], rgb16[~m])
    assert out[m].std() > 500  # textured in 16-bit units, not a flat fill
    rgba = np.concatenate([_grain(64, 64), np.full((64, 64, 1), 200, np.uint8)], axis=2)
    out = restore.inpaint(rgba, m, method="texture")
    assert out.shape == (64, 64, 4) and np.array_equal(out[..., 3], rgba[..., 3])
    gray = _grain(64, 64)[..., 1]
    out = restore.inpaint(gray, m, method="texture")
    assert out.shape == (64, 64) and np.array_equal(out[~m], gray[~m])
    ga = np.stack([gray, np.full_like(gray, 255)], axis=2)
    out = restore.inpaint(ga, m, method="texture")
    assert out.shape == (64, 64, 2) and np.array_equal(out[..., 1], ga[..., 1])
    f = _grain(64, 64).astype(np.float32) / 255
    out = restore.inpaint(f, m, method="texture")
    assert out.dtype == np.float32 and np.array_equal(out[~m], f[~m])


def test_bad_settings_raise() -> None:
    with pytest.raises(InputError):
        TextureConfig(patch=4)
    with pytest.raises(InputError):
        TextureConfig(em_iters=())
    with pytest.raises(InputError):
        inpaint_texture(np.zeros((8, 8, 3), np.float32), np.zeros((7, 8), bool))


def test_hf_and_swd_measures() -> None:
    img = _grain(96, 96)
    m = _box(96, 96, 20, 76, 20, 76)
    flat = img.copy()
    flat[m] = img[m].mean(axis=0).astype(np.uint8)
    assert hf_energy(img, m) > 0 and hf_energy(flat, m) < 1e-6 * hf_energy(img, m) + 1e-9
    assert swd_patches(img, img, m) == 0.0
    assert swd_patches(flat, img, m) > 1.0
    assert np.isnan(hf_energy(img, _box(96, 96, 10, 14, 10, 90)))  # nothing left after the 3-px erosion


def test_eval_inpaint_reports_hf_and_swd(tmp_path) -> None:
    from restore.evaluate import eval_inpaint
    from restore.io import write_image

    write_image(tmp_path / "a.png", _grain(64, 80))
    r = eval_inpaint(tmp_path, methods=("telea", "texture"), families=("box",), limit=1)
    for name in ("telea", "texture"):
        row = r["results"][name]["box"]
        assert row["hf"] is not None and row["swd"] is not None
    assert r["results"]["texture"]["box"]["hf"] > r["results"]["telea"]["box"]["hf"]


def test_cli_inpaint_and_eval_take_texture(runner, tmp_path) -> None:
    from restore.cli import app
    from restore.io import read_image, write_image

    img = _grain(64, 80)
    m = _box(64, 80, 16, 48, 20, 60)
    write_image(tmp_path / "a.png", img)
    write_image(tmp_path / "a_mask.png", m.astype(np.uint8) * 255)
    out = tmp_path / "out" / "a.png"
    r = runner.invoke(app, ["inpaint", str(tmp_path / "a.png"), "--mask", str(tmp_path / "a_mask.png"),
                            "-o", str(out), "-m", "texture"])
    assert r.exit_code == 0, r.output
    res = read_image(out)
    assert np.array_equal(res[~m], img[~m]) and np.array_equal(res, restore.inpaint(img, m, method="texture"))
    data = tmp_path / "data"
    data.mkdir()
    write_image(data / "b.png", img)
    r = runner.invoke(app, ["eval", "inpaint", "--data", str(data), "--masks", "box", "-m", "texture", "-m", "telea"])
    assert r.exit_code == 0, r.output
    assert "hf" in r.output and "swd" in r.output and "texture" in r.output


def test_the_page_lists_texture() -> None:
    from restore.server import models_json

    assert any(m["name"] == "texture" and m["task"] == "inpaint" for m in models_json())
