"""What a file states about its compression (restore.compression), the conditioned networks that are told it,
and restoration at ×1 (restore.denoise)."""
from __future__ import annotations

import importlib.util
import io

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import make_image
import restore
from restore.compression import (
    KNOTS, check_quality, condition_vector, condition_weights, file_quality, ijg_table, jpeg_tables,
    quality_from_tables,
)
from restore.errors import InputError
from restore.models import create_model


def _photo(seed: int = 0, size: tuple[int, int] = (64, 80)) -> np.ndarray:
    """Smooth structure plus grain: compresses like a photo (a flat or random image does not)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size[0], 0:size[1]].astype(np.float32)
    base = 128 + 60 * np.sin(x / 7.0)[..., None] * np.cos(y / 11.0)[..., None] * np.array([1.0, 0.6, -0.4])
    return np.clip(base + rng.normal(0, 6, size + (3,)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("quality", [10, 30, 50, 75, 90, 95, 100])
@pytest.mark.parametrize("encoder", ["pillow", "opencv"])
def test_the_quality_a_jpeg_was_written_at_is_read_back_from_its_tables(tmp_path, quality, encoder) -> None:
    import cv2

    img = _photo()
    path = tmp_path / f"q{quality}.jpg"
    if encoder == "pillow":
        Image.fromarray(img).save(path, quality=quality)
    else:
        cv2.imwrite(str(path), img[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert file_quality(path) == pytest.approx(quality, abs=0.5)


def test_custom_tables_give_an_equivalent_quality_and_lossless_files_none(tmp_path) -> None:
    img = _photo(1)
    # an encoder's own tables (as a camera writes): every step 1.5x the standard q50 table's
    luma = [min(255, round(v * 1.5)) for v in ijg_table(50)]
    Image.fromarray(img).save(tmp_path / "custom.jpg", qtables=[luma, luma])
    q = file_quality(tmp_path / "custom.jpg")
    assert 25 < q < 45  # coarser than q50: a lower equivalent quality
    assert quality_from_tables(luma) == q
    Image.fromarray(img).save(tmp_path / "still.png")
    Image.fromarray(img).save(tmp_path / "still.tif")
    Image.fromarray(img).save(tmp_path / "lossless.webp", lossless=True)
    for name in ("still.png", "still.tif", "lossless.webp"):
        assert file_quality(tmp_path / name) is None, name
    assert jpeg_tables(tmp_path / "still.png") is None
    assert file_quality(tmp_path / "missing.jpg") is None  # unreadable: states nothing (reading it fails later)


def test_quality_is_monotonic_in_the_table_and_bad_tables_are_refused() -> None:
    qs = [quality_from_tables(ijg_table(q)) for q in range(1, 101)]
    assert all(a <= b for a, b in zip(qs, qs[1:]))
    for bad in ([0] * 64, [1] * 63, [70000] * 64):
        with pytest.raises(InputError):
            quality_from_tables(bad)


@pytest.mark.parametrize("bad", [0, 101, float("nan"), "75", True])
def test_jpeg_quality_arguments_are_checked(bad) -> None:
    with pytest.raises(InputError, match="jpeg_quality"):
        check_quality(bad)
    with pytest.raises(InputError, match="jpeg_quality"):
        restore.upscale(make_image((8, 8, 3)), 2, method="bicubic", jpeg_quality=bad)


def test_condition_weights_interpolate_between_knots() -> None:
    for q in (5, 10, 23.5, 50, 77, 99, 100, None):
        w = condition_weights(q)
        assert len(w) == len(KNOTS) and sum(w) == pytest.approx(1) and min(w) >= 0
        assert sum(1 for v in w if v > 0) <= 2
    assert condition_weights(None)[-1] == 1 and condition_weights(100)[-1] > 0.9
    assert condition_weights(5) == condition_weights(10)


def test_a_condition_added_to_clean_weights_changes_nothing_until_trained() -> None:
    torch.manual_seed(0)
    plain = create_model("srnet", base_ch=8, n_blocks=2, scale=2).eval()
    cond = create_model("srnet", base_ch=8, n_blocks=2, scale=2, cond_dim=len(KNOTS)).eval()
    cond.load_state_dict({**cond.state_dict(), **plain.state_dict()})
    x = torch.rand(2, 3, 12, 10)
    c = torch.stack([torch.tensor(condition_weights(30)), torch.tensor(condition_weights(None))])
    assert torch.equal(cond(x, c), plain(x))
    with torch.no_grad():
        cond.cond.weight.normal_()
    y = cond(x, c)
    assert not torch.equal(y[0], plain(x)[0])  # trained, the condition changes the output
    # each image of a batch gets its own condition
    assert torch.allclose(cond(x[:1], c[:1]), y[:1], atol=1e-6)


def _x1_model(cond_dim: int = len(KNOTS)) -> torch.nn.Module:
    torch.manual_seed(1)
    net = create_model("srnet", base_ch=8, n_blocks=1, scale=1, unshuffle=4, cond_dim=cond_dim).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net


@pytest.mark.parametrize("shape", [(37, 41, 3), (8, 5, 3), (30, 30)])
def test_x1_restoration_tiles_exactly_on_any_size(shape) -> None:
    img = make_image(shape, seed=2)
    net = _x1_model()
    whole = restore.denoise(img, model=net, jpeg_quality=40, tile=0, device="cpu", precision="fp32")
    tiled = restore.denoise(img, model=net, jpeg_quality=40, tile=12, device="cpu", precision="fp32")
    assert whole.shape == img.shape and whole.dtype == img.dtype
    np.testing.assert_array_equal(whole, tiled)


def test_denoise_strength_is_a_pointwise_blend_and_zero_is_the_identity() -> None:
    img = make_image((24, 20, 3), seed=4)
    net = _x1_model()
    np.testing.assert_array_equal(restore.denoise(img, 0.0, model=net), img)
    f = lambda s: restore.denoise(img.astype(np.float32) / 255, s, model=net, device="cpu",  # noqa: E731
                                  precision="fp32", jpeg_quality=50)
    full, half = f(1.0), f(0.5)
    assert np.abs(full - img / 255).max() > 1e-3
    np.testing.assert_allclose(half, (img / 255 + full) / 2, atol=1e-5)
    # the condition reaches the network
    assert not np.array_equal(f(1.0), restore.denoise(img.astype(np.float32) / 255, 1.0, model=net,
                                                      device="cpu", precision="fp32", jpeg_quality=90))


def test_denoise_keeps_layouts_and_alpha() -> None:
    net = _x1_model()
    rgba = make_image((16, 18, 4), seed=5)
    out = restore.denoise(rgba, model=net, device="cpu")
    assert out.shape == rgba.shape
    np.testing.assert_array_equal(out[:, :, 3], rgba[:, :, 3])
    assert restore.denoise(make_image((16, 18, 1), seed=6), model=net).shape == (16, 18, 1)
    assert restore.denoise(make_image((16, 18, 2), seed=6), model=net).shape == (16, 18, 2)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "1", True])
def test_denoise_strength_is_checked(bad) -> None:
    with pytest.raises(InputError, match="strength"):
        restore.denoise(make_image((8, 8, 3)), bad, model=_x1_model())


def test_denoise_refuses_an_upscaling_model() -> None:
    with pytest.raises(InputError, match="×1"):
        restore.denoise(make_image((8, 8, 3)), model=create_model("srnet", base_ch=4, n_blocks=1, scale=2))


def test_x1_restoration_runs_on_onnx_runtime_with_its_condition() -> None:
    pytest.importorskip("onnxruntime")
    img = make_image((21, 19, 3), seed=7)
    net = _x1_model()
    a = restore.denoise(img, 0.7, model=net, jpeg_quality=50, device="cpu", backend="onnxruntime")
    b = restore.denoise(img, 0.7, model=net, jpeg_quality=50, device="cpu", precision="fp32")
    assert np.abs(a.astype(int) - b).max() <= 1


def test_blend_of_a_clean_and_a_conditioned_model_is_each_at_its_ends(tmp_path) -> None:
    from restore.weights import blend_models, save_model

    torch.manual_seed(3)
    clean = create_model("srnet", base_ch=8, n_blocks=2, scale=2)
    real = create_model("srnet", base_ch=8, n_blocks=2, scale=2, cond_dim=len(KNOTS))
    with torch.no_grad():
        for p in real.parameters():
            p.add_(0.05 * torch.randn_like(p))
    cfg = dict(base_ch=8, n_blocks=2, scale=2, upsampler="pixelshuffle", padding_mode="zeros")
    a = save_model(clean, tmp_path / "a.safetensors", {"name": "a", "task": "sr", "arch": "srnet", "scale": 2,
                                                        "config": cfg})
    b = save_model(real, tmp_path / "b.safetensors", {"name": "b", "task": "sr", "arch": "srnet", "scale": 2,
                                                       "config": {**cfg, "cond_dim": len(KNOTS)}})
    img = make_image((14, 12, 3), seed=8)
    run = lambda m, q: restore.upscale(img, 2, model=m, device="cpu", precision="fp32", jpeg_quality=q)  # noqa: E731
    for q in (None, 40):
        np.testing.assert_array_equal(run(blend_models(a, b, 0.0, device="cpu"), q), run(str(a), q))
        np.testing.assert_array_equal(run(blend_models(a, b, 1.0, device="cpu"), q), run(str(b), q))


def test_training_with_the_condition_records_it_and_the_degradation_states_the_last_jpeg(tmp_path) -> None:
    from restore.degradations import RealDegradation, degrade_real, degrade_real_stated
    from restore.train import SRTrainConfig, train_sr
    from restore.weights import read_metadata

    hr = _photo(2, (48, 48))
    always = RealDegradation(clean_prob=0, jpeg_prob=1, second_prob=0, jpeg_quality=(40, 40))
    lr, q = degrade_real_stated(hr, 2, np.random.default_rng(0), always)
    assert q == 40 and lr.shape == (24, 24, 3)
    assert np.array_equal(lr, degrade_real(hr, 2, np.random.default_rng(0), always))  # the same draws
    never = RealDegradation(clean_prob=0, jpeg_prob=0, second_prob=0)
    assert degrade_real_stated(hr, 1, np.random.default_rng(0), never)[1] is None
    data = tmp_path / "data"
    data.mkdir()
    for i in range(4):
        Image.fromarray(_photo(i, (64, 64))).save(data / f"{i}.png")
    cfg = SRTrainConfig(data=[str(data)], scales=[1], base_ch=8, n_blocks=1, iters=3, batch=2, lr_patch=16,
                        degradation="real", condition="jpeg", arch_options={"unshuffle": 4, "block_grid": 16},
                        val_images=0, inputs="jpeg", out=str(tmp_path / "run"), name="dn", device="cpu",
                        precision="fp32")
    (path,) = train_sr(cfg)
    meta = read_metadata(path)
    assert meta["scale"] == 1 and meta["config"]["cond_dim"] == len(KNOTS) and meta["config"]["unshuffle"] == 4
    assert meta["config"]["block_grid"] == 16 and meta["inputs"] == "jpeg"
    assert meta["training"]["condition"]["kind"] == "jpeg"
    assert restore.denoise(make_image((10, 9, 3)), model=str(path), jpeg_quality=30).shape == (10, 9, 3)
    with pytest.raises(InputError, match="condition"):
        train_sr(SRTrainConfig(data=[str(data)], condition="jpeg", out=str(tmp_path / "x")))


def test_a_file_quality_reaches_the_network_through_the_tables(tmp_path) -> None:
    """What the file says and what the caller passes are the same condition."""
    img = _photo(3, (32, 40))
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=35)
    (tmp_path / "a.jpg").write_bytes(buf.getvalue())
    q = file_quality(tmp_path / "a.jpg")
    net = _x1_model()
    decoded = np.asarray(Image.open(tmp_path / "a.jpg").convert("RGB"))
    assert np.array_equal(restore.denoise(decoded, model=net, jpeg_quality=q),
                          restore.denoise(decoded, model=net, jpeg_quality=35))


def _gated_pair(tmp_path, **extra):
    """A clean ×2 model and a gated real-photo model anchored to it (trained weights: perturbed), as files;
    ``extra``: the gated one's further options (``block_grid``)."""
    from restore.weights import save_model

    torch.manual_seed(5)
    cfg = dict(base_ch=8, n_blocks=2, scale=2, upsampler="pixelshuffle", padding_mode="zeros")
    clean = create_model("srnet", **cfg)
    gated = create_model("srnet", **cfg, cond_dim=len(KNOTS), gated=True, **extra)
    gated.load_state_dict({**gated.state_dict(), **clean.state_dict()})
    gated.freeze_clean()
    with torch.no_grad():
        for name, p in gated.named_parameters():
            if name != "gate":
                p.add_(0.05 * torch.randn_like(p))
    info = lambda n, c: {"name": n, "task": "sr", "arch": "srnet", "scale": 2, "config": c}  # noqa: E731
    a = save_model(clean, tmp_path / "clean.safetensors", info("clean", cfg))
    b = save_model(gated, tmp_path / "gated.safetensors",
                   info("gated", {**cfg, "cond_dim": len(KNOTS), "gated": True, **extra}))
    return a, b


@pytest.mark.parametrize("extra", [{}, {"block_grid": 16}], ids=["plain", "block-grid"])
def test_a_gated_model_is_its_clean_model_exactly_for_uncompressed_inputs(tmp_path, extra) -> None:
    a, b = _gated_pair(tmp_path, **extra)
    img = make_image((19, 23, 3), seed=9)
    run = lambda m, q, **kw: restore.upscale(img, 2, model=str(m), device="cpu", precision="fp32",  # noqa: E731
                                             jpeg_quality=q, **kw)
    clean = run(a, None)
    np.testing.assert_array_equal(run(b, None), clean)
    jpeg40 = run(b, 40)
    assert np.abs(jpeg40.astype(int) - clean).max() > 0  # a stated quality moves it
    np.testing.assert_array_equal(jpeg40, run(b, 40, tile=8))  # exact tiling
    assert not np.array_equal(jpeg40, run(b, 80))


def test_a_gated_model_fixed_at_a_condition_is_the_same_network(tmp_path) -> None:
    from restore.compression import condition_vector

    _, b = _gated_pair(tmp_path)
    net = restore.load_model(str(b), device="cpu").module
    x = torch.rand(1, 3, 11, 13)
    for q, strength in ((50, 1.0), (30, 0.4), (None, 1.0)):
        c = condition_vector(q)[None]
        torch.testing.assert_close(net.specialised(c, strength)(x, c), net(x, c, strength=strength))
    c = condition_vector(50)[None]
    assert torch.equal(net(x, c, strength=0.0), net(x))  # strength 0: the clean network, exactly


def test_a_gated_model_runs_on_onnx_runtime(tmp_path) -> None:
    pytest.importorskip("onnxruntime")
    _, b = _gated_pair(tmp_path)
    img = make_image((17, 15, 3), seed=10)
    a1 = restore.upscale(img, 2, model=str(b), device="cpu", backend="onnxruntime", jpeg_quality=45)
    a2 = restore.upscale(img, 2, model=str(b), device="cpu", precision="fp32", jpeg_quality=45)
    assert np.abs(a1.astype(int) - a2).max() <= 1


def test_the_last_quality_is_what_every_sample_states() -> None:
    from restore.degradations import RealDegradation, degrade_real_stated

    hr = _photo(4, (32, 32))
    cfg = RealDegradation(jpeg_last=True)
    for seed in range(12):
        lr, q = degrade_real_stated(hr, 2, np.random.default_rng(seed), cfg, last_quality=55)
        assert q == 55 and lr.shape == (16, 16, 3)


def test_untrained_x1_network_starts_at_the_identity() -> None:
    # a zero last layer: the residual over the input is 0 until training moves it
    net = create_model("srnet", base_ch=8, n_blocks=1, scale=1, unshuffle=2, cond_dim=len(KNOTS)).eval()
    x = torch.rand(1, 3, 13, 11)
    assert torch.equal(net(x, condition_vector(30)[None]), x)


def test_gated_training_from_gated_weights_keeps_their_anchor(tmp_path) -> None:
    from restore.train import SRTrainConfig, train_sr
    from restore.weights import load_model

    from restore.catalogue import read_metadata
    from restore.weights import update_metadata

    a, b = _gated_pair(tmp_path)
    update_metadata(b, training={"init": "clean"})  # trained from clean-x2
    b.rename(tmp_path / "g-x2.safetensors")
    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        Image.fromarray(_photo(i, (48, 48))).save(data / f"{i}.png")
    cfg = SRTrainConfig(data=[str(data)], scales=[2], init=str(tmp_path / "g"), degradation="real",
                        condition="jpeg", gated=True, iters=2, batch=2, lr_patch=8, val_images=0,
                        out=str(tmp_path / "run"), name="g2", device="cpu", precision="fp32")
    (path,) = train_sr(cfg)
    clean, trained = load_model(str(a)).module, load_model(str(path)).module
    for name, p in clean.named_parameters():  # still the clean model it was first anchored to
        assert torch.equal(getattr(trained.clean, name.replace(".", "__")), p), name
    x = torch.rand(1, 3, 9, 10)
    assert torch.equal(trained(x, condition_vector(None)[None]), clean(x))
    meta = read_metadata(path)  # and says so: the anchor's name, not the weights it went on from
    assert meta["training"]["anchor"] == "clean-x2" and "the clean clean-x2 exactly" in meta["description"]


@pytest.mark.parametrize("config", [dict(scale=1, unshuffle=2), dict(scale=4), dict(scale=2, padding_mode="reflect"),
                                    dict(scale=1, unshuffle=2, block_grid=16), dict(scale=4, block_grid=8)])
def test_a_network_fixed_at_a_condition_folds_its_modulation_into_its_convolutions(config) -> None:
    torch.manual_seed(3)
    net = create_model("srnet", base_ch=8, n_blocks=3, cond_dim=len(KNOTS), **config).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    x = torch.rand(2, 3, 14, 11)
    for q in (None, 20, 50, 95):
        c = condition_vector(q)[None]
        plain = net.folded(c)
        assert plain.cond_dim == 0 and not hasattr(plain, "cond")
        torch.testing.assert_close(plain(x), net(x, c.expand(2, -1)), atol=2e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="gated"):
        create_model("srnet", base_ch=8, n_blocks=1, scale=2, cond_dim=len(KNOTS), gated=True).folded(c)


@pytest.mark.parametrize("config", [dict(scale=1, unshuffle=2), dict(scale=2)])
def test_a_block_grid_network_knows_the_position_within_the_grid_and_tiles_exactly(config) -> None:
    torch.manual_seed(4)
    net = create_model("srnet", base_ch=8, n_blocks=2, cond_dim=len(KNOTS), block_grid=16, **config).eval()
    x = torch.rand(1, 3, 80, 80)
    c = condition_vector(40)[None]
    if config["scale"] == 1:  # the zero-initialised grid bias and last layer: the identity at first
        assert torch.equal(net(x, c), x)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    s = config["scale"]
    out = net(x, c)

    def shifted(d: int) -> torch.Tensor:  # the image moved by d pixels, compared away from every edge
        return net(torch.roll(x, (d, d), (2, 3)), c)[..., (d + 24) * s:(d + 48) * s, (d + 24) * s:(d + 48) * s]

    inner = out[..., 24 * s:48 * s, 24 * s:48 * s]
    torch.testing.assert_close(shifted(16), inner)  # a whole period: the same blocks, the same output
    assert (shifted(4) - inner).abs().max() > 1e-4  # a part of one: other positions in the blocks
    img = make_image((37, 45, 3), seed=3)
    kw = dict(model=net, jpeg_quality=40, device="cpu", precision="fp32")
    run = restore.denoise if s == 1 else (lambda im, **k: restore.upscale(im, s, **k))
    whole = run(img, tile=0, **kw)
    np.testing.assert_array_equal(whole, run(img, tile=20, **kw))
    if importlib.util.find_spec("onnxruntime"):  # the exported graph keeps the grid's sizes dynamic
        ort = run(img, model=net, jpeg_quality=40, device="cpu", backend="onnxruntime")
        assert np.abs(ort.astype(int) - whole).max() <= 1
    if s > 1:  # flips and rotations would move the grid under it
        with pytest.raises(InputError, match="ensemble"):
            restore.upscale(img, s, ensemble=True, **kw)


@pytest.mark.parametrize("args, needle", [(["--inputs", "jpeg"], "--inputs"), (["--inputs", "png"], "--inputs"),
                                          (["--block-grid", "16"], "--block-grid")])
def test_jpeg_only_training_options_need_the_condition(tmp_path, runner, args, needle) -> None:
    from restore.cli import app

    r = runner.invoke(app, ["train", "sr", "--data", str(tmp_path), "--out", str(tmp_path / "run"), *args])
    assert r.exit_code == 2 and needle in r.output and "Traceback" not in r.output
    assert not (tmp_path / "run").exists()


def test_a_model_told_its_condition_is_ready_to_run_as_loaded() -> None:
    """A conditioned network fixed at a quality is cached per quality and left as get_model leaves a network —
    eval mode, channels-last weights — so a batch runs it as it is instead of moving it again for every file."""
    from restore.engine import _ready, get_model, with_condition

    cpu = torch.device("cpu")
    fixed = with_condition("denoise-jpeg-x1", 50, cpu)
    assert with_condition("denoise-jpeg-x1", 50, cpu) is fixed
    loaded = get_model(fixed, cpu)
    assert not loaded.module.training and _ready(loaded.module, cpu)
