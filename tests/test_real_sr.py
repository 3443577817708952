"""The real-photo SR models: the --denoise blend and the default for JPEG inputs (CLI and library)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from conftest import make_image
import restore
from restore import api
from restore.cli import app
from restore.errors import InputError

shipped = pytest.mark.skipif(api.real_model(4) is None or api.real_model(2) is None,
                             reason="sr-real-x2/x4 not shipped")


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "0.5", True])
def test_denoise_bounds_are_checked(bad) -> None:
    with pytest.raises(InputError, match="denoise"):
        restore.upscale(make_image((8, 8, 3)), 4, denoise=bad)


@shipped
def test_denoise_cannot_be_combined_with_a_model() -> None:
    with pytest.raises(InputError, match="denoise"):
        restore.upscale(make_image((8, 8, 3)), 4, method="bicubic", denoise=0.5)
    with pytest.raises(InputError, match="denoise"):
        restore.upscale(make_image((8, 8, 3)), 4, model="sr-x4", denoise=0.5)


@shipped
@pytest.mark.parametrize("scale", [2, 4])
def test_denoise_0_and_1_are_the_two_models_exactly(scale) -> None:
    img = make_image((20, 18, 3), seed=3)
    clean = restore.upscale(img, scale, method=f"sr-x{scale}", device="cpu")
    # the real-photo model for a lossy image (no quality given: a typical one, 75) and for a stated one
    real = restore.upscale(img, scale, method=f"sr-real-x{scale}", device="cpu", jpeg_quality=75)
    real40 = restore.upscale(img, scale, method=f"sr-real-x{scale}", device="cpu", jpeg_quality=40)
    assert not np.array_equal(clean, real) and not np.array_equal(real, real40)
    np.testing.assert_array_equal(restore.upscale(img, scale, denoise=0, device="cpu"), clean)
    np.testing.assert_array_equal(restore.upscale(img, scale, denoise=1, device="cpu"), real)
    np.testing.assert_array_equal(restore.upscale(img, scale, denoise=1, device="cpu", jpeg_quality=40), real40)
    mid = restore.upscale(img, scale, denoise=0.5, device="cpu").astype(int)
    assert not np.array_equal(mid, clean) and not np.array_equal(mid, real)


@shipped
def test_cli_uses_the_real_model_for_jpeg_and_the_clean_one_for_png(tmp_path, runner) -> None:
    from restore.io import read_image

    img = make_image((20, 24, 3), seed=5)
    Image.fromarray(img).save(tmp_path / "photo.jpg", quality=60)
    Image.fromarray(img).save(tmp_path / "still.png")
    out = tmp_path / "out"
    r = runner.invoke(app, ["upscale", str(tmp_path / "photo.jpg"), str(tmp_path / "still.png"), "-o", str(out),
                            "--device", "cpu", "-f", "png"])
    assert r.exit_code == 0, r.output
    assert "sr-real-x4" in r.output  # the choice is printed
    from restore.compression import file_quality

    jpg_in = read_image(tmp_path / "photo.jpg")
    # the CLI tells the model what the file states (its quality, read from its tables)
    np.testing.assert_array_equal(read_image(out / "photo.png"),
                                  restore.upscale(jpg_in, 4, method="sr-real-x4", device="cpu",
                                                  jpeg_quality=file_quality(tmp_path / "photo.jpg")))
    np.testing.assert_array_equal(read_image(out / "still.png"), restore.upscale(img, 4, method="sr-x4", device="cpu"))
    # --denoise 0 keeps the clean model for the JPEG too; --method overrides as well
    for extra, name in ((["--denoise", "0"], "sr-x4"), (["--method", "sr-x4"], "sr-x4")):
        o2 = tmp_path / f"o{len(extra[1])}{name}"
        r = runner.invoke(app, ["upscale", str(tmp_path / "photo.jpg"), "-o", str(o2), "--device", "cpu", "-f", "png",
                                *extra])
        assert r.exit_code == 0, r.output
        np.testing.assert_array_equal(read_image(o2 / "photo.png"),
                                      restore.upscale(jpg_in, 4, method=name, device="cpu"))


@shipped
def test_cli_denoise_usage_errors(tmp_path, runner) -> None:
    p = tmp_path / "a.jpg"
    Image.fromarray(make_image((8, 8, 3))).save(p)
    for args in (["--denoise", "1.5"], ["--denoise", "0.5", "--method", "bicubic"], ["--denoise", "0.5", "-s", "3"]):
        r = runner.invoke(app, ["upscale", str(p), "-o", str(tmp_path / "o"), *args])
        assert r.exit_code == 2, (args, r.output)
        assert "Traceback" not in r.output
