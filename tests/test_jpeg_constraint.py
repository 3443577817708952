"""The JPEG quantisation constraint and the earlier-compression check, on real JPEG files (Pillow's libjpeg)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import restore
from conftest import conditioned_model
from restore.compression import ijg_table, jpeg_luma_table
from restore.errors import InputError
from restore.io import apply_orientation, read_image
from restore.jpeg_constraint import (_K, _blocks, _luma, _unblocks, earlier_compression, luma_correction, luma_table,
                                     project_to_jpeg)

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def _photo(name: str = "astronaut") -> np.ndarray:
    """A photo with texture and edges: one of the repository's samples (astronaut 192×192, coffee 240×160)."""
    return np.asarray(Image.open(SAMPLES / f"{name}.png").convert("RGB"))


def _jpeg(rgb: np.ndarray, quality: int, **kw) -> Image.Image:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality, **kw)
    buf.seek(0)
    return Image.open(buf)


def _shrink(rgb: np.ndarray, factor: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    return np.asarray(Image.fromarray(rgb).resize((round(w * factor), round(h * factor)), Image.BICUBIC))


def _twice(rgb: np.ndarray, first: int, last: int, resize: float | None = None) -> Image.Image:
    once = np.asarray(_jpeg(rgb, first).convert("RGB"))
    return _jpeg(_shrink(once, resize) if resize else once, last)


@pytest.mark.parametrize("quality", [30, 75])
def test_pillow_writes_the_ijg_table_the_tables_are_read_from(quality):
    im = _jpeg(_photo(), quality)
    assert jpeg_luma_table(im) == ijg_table(quality)
    custom = list(range(1, 65))
    buf = io.BytesIO()
    Image.fromarray(_photo()).save(buf, "JPEG", qtables=[custom, custom])
    assert jpeg_luma_table(Image.open(buf)) == custom


def test_only_a_jpeg_whose_first_component_is_luma_has_a_luma_table(tmp_path):
    Image.fromarray(_photo()).save(tmp_path / "a.png")
    Image.fromarray(_photo()).convert("CMYK").save(tmp_path / "c.jpg", quality=80)
    Image.fromarray(_photo()).convert("L").save(tmp_path / "g.jpg", quality=80)
    assert jpeg_luma_table(tmp_path / "a.png") is None and jpeg_luma_table(tmp_path / "c.jpg") is None
    assert jpeg_luma_table(tmp_path / "g.jpg") == ijg_table(80)
    assert jpeg_luma_table(tmp_path / "missing.jpg") is None


@pytest.mark.parametrize("bad", [[0] * 64, [16] * 63, [16.5] * 64, ["x"] * 64, {1: [16] * 64}])
def test_a_malformed_table_is_an_input_error(bad):
    with pytest.raises(InputError, match="64 entries"):
        luma_table(bad)


@pytest.mark.parametrize("quality", [30, 50, 90])
def test_the_decoded_file_is_its_own_projection(quality):
    decoded = np.asarray(_jpeg(_photo(), quality).convert("RGB"))
    out = decoded.copy()
    project_to_jpeg(out, decoded, ijg_table(quality))
    np.testing.assert_array_equal(out, decoded)


def test_the_projection_never_moves_a_restoration_away_from_the_original():
    """Each coefficient's interval holds the original's (it was rounded there), and the intervals make a convex
    set: moving into it cannot take any guess further from the original. Exact for a luma plane quantised in
    float (a real encoder's integer arithmetic moves the original up to about one level off its interval)."""
    rng = np.random.default_rng(0)
    truth = _luma(_photo().astype(np.float32), 255.0)
    table = luma_table(ijg_table(50))
    q = table.reshape(64)
    stored = np.round(((_blocks(truth) - 128) @ _K.T) / q) * q
    decoded = _unblocks(stored @ _K + 128, 192, 192)
    err = lambda y: float(np.mean((y.astype(np.float64) - truth) ** 2))  # noqa: E731
    for guess in (decoded + rng.normal(0, 6, decoded.shape), 0.5 * (decoded + truth),
                  truth + rng.normal(0, 20, truth.shape), decoded + 30):
        fixed = guess + luma_correction(guess.astype(np.float32), decoded.astype(np.float32), table)
        assert err(fixed) <= err(guess) + 1e-3
        inside = np.abs((_blocks(fixed.astype(np.float32)) - 128) @ _K.T - stored) <= q / 2 + 1e-3
        assert inside.all()
    assert err(fixed) < 0.5 * err(guess)  # the uniform shift: only its DC was inside the file's steps


@pytest.mark.parametrize("quality, kept", [(50, 0.97), (90, 0.6)])
def test_the_noise_the_constraint_sees_is_removed(quality, kept):
    """Real files: luma noise on a decoded JPEG, brought back towards the original by the projection (more at a
    high quality, whose finer steps leave the noise less room)."""
    original = _photo()
    decoded = np.asarray(_jpeg(original, quality).convert("RGB"))
    noise = np.random.default_rng(0).normal(0, 6, decoded.shape[:2])[:, :, None]
    noisy = np.clip(decoded + noise, 0, 255).round().astype(np.uint8)
    fixed = project_to_jpeg(noisy.copy(), decoded, ijg_table(quality))
    err = lambda a: np.mean((_luma(a.astype(np.float32), 255.0) - _luma(original.astype(np.float32), 255.0)) ** 2)  # noqa: E731
    assert err(fixed) < kept * err(noisy)
    assert fixed.dtype == np.uint8 and fixed.shape == noisy.shape


def test_arrays_of_other_shapes_are_refused():
    with pytest.raises(InputError):
        project_to_jpeg(np.zeros((8, 8, 3)), np.zeros((8, 16, 3)), [16] * 64)
    with pytest.raises(InputError):
        project_to_jpeg(np.zeros((8, 8, 4)), np.zeros((8, 8, 4)), [16] * 64)


@pytest.mark.parametrize("first, last", [(30, 90), (50, 90), (30, 75)])
def test_an_earlier_harder_compression_on_the_same_grid_is_found_with_its_quality(first, last):
    im = _twice(_photo(), first, last)
    before, quality = earlier_compression(np.asarray(im.convert("RGB")), jpeg_luma_table(im))
    assert before and quality is not None and abs(quality - first) <= 4


@pytest.mark.parametrize("quality", [30, 50, 75])
def test_a_single_compression_is_not_taken_for_two(quality):
    im = _jpeg(_photo(), quality)
    assert earlier_compression(np.asarray(im.convert("RGB")), jpeg_luma_table(im)) == (False, None)


def test_a_photo_resized_between_its_compressions_shows_no_earlier_grid():
    im = _twice(_photo(), 30, 90, resize=0.8)
    assert earlier_compression(np.asarray(im.convert("RGB")), jpeg_luma_table(im)) == (False, None)


def _net(tmp_path: Path, scale: int = 1) -> Path:
    """A tiny conditioned model (×1 on the half-resolution image, or ×2) whose condition matters."""
    config = {"scale": scale, "cond_dim": 6, "base_ch": 8, "n_blocks": 1, **({"unshuffle": 2} if scale == 1 else {})}
    return conditioned_model(tmp_path / f"net-x{scale}.safetensors", f"net-x{scale}", config)


def test_denoise_holds_a_jpeg_to_its_tables_and_tells_a_twice_compressed_one_the_earlier_quality(tmp_path):
    model = _net(tmp_path)
    kw = {"model": str(model), "device": "cpu", "precision": "fp32"}
    once = _jpeg(_photo(), 50)
    pixels, table = np.asarray(once.convert("RGB")), jpeg_luma_table(once)
    plain = restore.denoise(pixels, jpeg_quality=50, **kw)
    held = restore.denoise(pixels, jpeg_tables=table, **kw)
    assert not np.array_equal(held, plain)
    np.testing.assert_array_equal(held, project_to_jpeg(plain.copy(), pixels, table))
    np.testing.assert_array_equal(restore.denoise(pixels, jpeg_tables=once.quantization, **kw), held)
    assert np.array_equal(restore.denoise(pixels, 0.0, jpeg_tables=table, **kw), pixels)  # strength 0: the input

    twice = _twice(_photo(), 30, 90)
    pixels, table = np.asarray(twice.convert("RGB")), jpeg_luma_table(twice)
    _, earlier = earlier_compression(pixels, table)
    # no constraint (the last compression does not bound the original), and the earlier quality told
    np.testing.assert_array_equal(restore.denoise(pixels, jpeg_tables=table, **kw),
                                  restore.denoise(pixels, jpeg_quality=earlier, **kw))
    # a quality the caller states is what the model is told
    np.testing.assert_array_equal(restore.denoise(pixels, jpeg_tables=table, jpeg_quality=90, **kw),
                                  restore.denoise(pixels, jpeg_quality=90, **kw))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_undo_turns_the_pixels_back_as_the_file_stores_them(orientation):
    a = np.arange(5 * 7 * 3).reshape(5, 7, 3)
    np.testing.assert_array_equal(apply_orientation(apply_orientation(a, orientation, undo=True), orientation), a)
    np.testing.assert_array_equal(apply_orientation(apply_orientation(a, orientation, undo=True), orientation), a)


def test_a_rotated_jpeg_is_restored_on_its_own_block_grid(tmp_path, runner):
    """EXIF orientation 6 (90° clockwise): the pixels the file stores are restored, then turned."""
    from restore.cli import app

    model = _net(tmp_path)
    stored = _photo("coffee")
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "r.jpg", quality=60, exif=exif)
    shown = read_image(tmp_path / "r.jpg")
    assert shown.shape[:2] == (240, 160)
    r = runner.invoke(app, ["denoise", str(tmp_path / "r.jpg"), "-o", str(tmp_path / "out.png"), "--model",
                            str(model), "--device", "cpu", "--precision", "fp32"])
    assert r.exit_code == 0, r.output
    kw = {"model": str(model), "device": "cpu", "precision": "fp32"}
    table = jpeg_luma_table(tmp_path / "r.jpg")
    want = apply_orientation(restore.denoise(apply_orientation(shown, 6, undo=True), jpeg_tables=table, **kw), 6)
    np.testing.assert_array_equal(read_image(tmp_path / "out.png"), want)
    assert not np.array_equal(want, restore.denoise(shown, jpeg_tables=table, **kw))  # the grid matters


def test_upscale_tells_a_twice_compressed_jpeg_the_earlier_quality_in_the_library_and_the_cli(tmp_path, runner):
    from restore.cli import app

    model = _net(tmp_path, 2)
    kw = {"model": str(model), "device": "cpu", "precision": "fp32"}
    Image.fromarray(np.asarray(_jpeg(_photo(), 30).convert("RGB"))).save(tmp_path / "twice.jpg", quality=90)
    pixels, table = read_image(tmp_path / "twice.jpg"), jpeg_luma_table(tmp_path / "twice.jpg")
    before, earlier = earlier_compression(pixels, table)
    assert before and earlier < 40
    told = restore.upscale(pixels, 2, jpeg_tables=table, **kw)
    np.testing.assert_array_equal(told, restore.upscale(pixels, 2, jpeg_quality=earlier, **kw))
    assert not np.array_equal(told, restore.upscale(pixels, 2, jpeg_quality=90, **kw))
    once = _jpeg(_photo(), 60)  # compressed once: what the file states
    pixels = np.asarray(once.convert("RGB"))
    np.testing.assert_array_equal(restore.upscale(pixels, 2, jpeg_tables=jpeg_luma_table(once), **kw),
                                  restore.upscale(pixels, 2, jpeg_quality=60, **kw))
    r = runner.invoke(app, ["upscale", str(tmp_path / "twice.jpg"), "-o", str(tmp_path / "out.png"), "--scale", "2",
                            "--model", str(model), "--device", "cpu", "--precision", "fp32"])
    assert r.exit_code == 0, r.output
    np.testing.assert_array_equal(read_image(tmp_path / "out.png"), told)


def test_a_training_batch_is_projected_as_a_file_is_and_gradients_pass():
    import torch

    from restore.jpeg_constraint import project_batch

    decoded = np.asarray(_jpeg(_photo("coffee"), 50).convert("RGB"))[:96, :96]
    noisy = np.clip(decoded / 255 + np.random.default_rng(0).normal(0, 0.03, decoded.shape), 0, 1).astype(np.float32)
    x = torch.from_numpy(decoded.copy()).permute(2, 0, 1)[None].float() / 255
    out = torch.from_numpy(noisy).permute(2, 0, 1)[None].repeat(2, 1, 1, 1).requires_grad_(True)
    held = project_batch(out, x.repeat(2, 1, 1, 1), [50, None])
    want = project_to_jpeg(noisy.copy(), decoded, ijg_table(50))
    np.testing.assert_allclose(held[0].detach().permute(1, 2, 0).clamp(0, 1).numpy(), want, atol=1e-5)
    assert torch.equal(held[1], out[1])  # no stated quality: as it is
    held.sum().backward()
    assert out.grad is not None and float(out.grad.abs().sum()) > 0


def test_train_constraint_is_recorded_and_goes_with_a_x1_jpeg_model(tmp_path, runner):
    from restore.cli import app
    from restore.train import SRTrainConfig, train_sr
    from restore.weights import read_metadata

    data = tmp_path / "data"
    data.mkdir()
    for i, name in enumerate(("astronaut", "coffee")):
        Image.fromarray(_photo(name)).save(data / f"{i}.png")
    cfg = SRTrainConfig(data=[str(data)], scales=[1], base_ch=8, n_blocks=1, iters=2, batch=2, lr_patch=16,
                        degradation="real", condition="jpeg", arch_options={"unshuffle": 2}, val_images=0,
                        inputs="jpeg", out=str(tmp_path / "run"), name="dn", device="cpu", precision="fp32",
                        constraint=True)
    (path,) = train_sr(cfg)
    assert read_metadata(path)["training"]["constraint"] == "jpeg quantisation"
    r = runner.invoke(app, ["train", "sr", "--data", str(data), "--scales", "2", "--constraint"])
    assert r.exit_code == 2 and "--constraint" in r.output


def test_a_drawing_s_repeated_values_are_not_read_as_an_earlier_quality():
    """Diagonal stripes compressed once leave gaps in the histograms (few distinct coefficients), but no table is
    taken to explain them: the file gets its stated quality (and no constraint), not a far lower one."""
    band = ((np.indices((480, 640)).sum(0) // 16) % 2 * 255).astype(np.uint8)
    im = _jpeg(np.stack([band] * 3, -1), 75)
    before, earlier = earlier_compression(np.asarray(im.convert("RGB")), jpeg_luma_table(im))
    assert earlier is None
