"""safetensors weights: round trip with metadata, clear errors for malformed or mismatched files."""
from __future__ import annotations

import json
import struct

import pytest
import torch

from restore.errors import ModelError
from restore.models import SRNet, UNet
from restore.catalogue import read_metadata
from restore.weights import load_model, save_model


def _sr_info(**extra):
    cfg = {"base_ch": 8, "n_blocks": 1, "scale": 2, "upsampler": "pixelshuffle", "padding_mode": "zeros"}
    return {"name": "tiny-x2", "task": "sr", "arch": "srnet", "scale": 2, "config": cfg, **extra}


def test_round_trip_rebuilds_model_from_file_alone(tmp_path) -> None:
    net = SRNet(base_ch=8, n_blocks=1, scale=2)
    p = save_model(net, tmp_path / "m.safetensors", _sr_info(training={"iterations": 3}))
    meta = read_metadata(p)
    assert meta["name"] == "tiny-x2" and meta["training"]["iterations"] == 3 and meta["params"] > 0
    loaded = load_model(p, device="cpu")
    # the descriptor says what the network is, from the file alone
    assert (loaded.name, loaded.task, loaded.scale, loaded.cpu_bf16) == ("tiny-x2", "sr", 2, True)
    assert loaded.receptive_radius == net.receptive_radius and loaded.metadata["training"]["iterations"] == 3
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(loaded(x), net.eval()(x))
    assert not (tmp_path / "m.safetensors.tmp").exists()


def test_unet_round_trip(tmp_path) -> None:
    net = UNet(widths=(4, 8), n_bottleneck=1)
    info = {"name": "inp", "task": "inpaint", "arch": "unet",
            "config": {"widths": [4, 8], "n_bottleneck": 1, "upsampler": "resize-conv", "padding_mode": "reflect"}}
    loaded = load_model(save_model(net, tmp_path / "u.safetensors", info), device="cpu")
    assert loaded.module.widths == (4, 8) and loaded.task == "inpaint" and loaded.name == "inp"


def test_config_tensor_mismatch_is_a_clear_error(tmp_path) -> None:
    net = SRNet(base_ch=8, n_blocks=1, scale=2)
    info = _sr_info()
    info["config"]["base_ch"] = 16  # the metadata lies about the tensors
    p = save_model(net, tmp_path / "bad.safetensors", info)
    with pytest.raises(ModelError, match="do not match"):
        load_model(p, device="cpu")


def test_malformed_files(tmp_path) -> None:
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00\x01not a safetensors file at all")
    with pytest.raises(ModelError):
        load_model(junk, device="cpu")
    # a real safetensors header without our metadata
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    bare = tmp_path / "bare.safetensors"
    bare.write_bytes(struct.pack("<Q", len(header)) + header + b"\x00" * 4)
    with pytest.raises(ModelError, match="metadata"):
        load_model(bare, device="cpu")
    # valid header, truncated tensor data
    net = SRNet(base_ch=8, n_blocks=1, scale=2)
    p = save_model(net, tmp_path / "trunc.safetensors", _sr_info())
    p.write_bytes(p.read_bytes()[:-100])
    with pytest.raises(ModelError):
        load_model(p, device="cpu")
    with pytest.raises(ModelError, match="unknown model"):
        load_model("no-such-model", device="cpu")
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "missing.safetensors", device="cpu")


def test_written_weights_are_readable_by_others(tmp_path) -> None:
    """Saved and re-saved (metadata update) files are 0644, not the temp file's 0600."""
    import os

    from restore.weights import update_metadata

    p = save_model(SRNet(base_ch=8, n_blocks=1, scale=2), tmp_path / "m.safetensors", _sr_info())
    assert os.stat(p).st_mode & 0o777 == 0o644
    update_metadata(p, scores={"x": 1.0})
    assert os.stat(p).st_mode & 0o777 == 0o644


def test_old_unet_config_is_migrated_at_load(tmp_path) -> None:
    """Files written before the pre-fill had its own config (flat ``fill_*`` keys, no refinement branch,
    uncentred inputs) load as the network they were."""
    net = UNet(widths=(4, 8), n_bottleneck=1, refine=(), centre_inputs=False,
               fill={"confidence": 16.0, "iters": 5, "growth": 2.0, "structure": 0.9, "structure_sigma": 3.0})
    old = {"widths": [4, 8], "n_bottleneck": 1, "upsampler": "resize-conv", "padding_mode": "zeros",
           "fill_confidence": 16.0, "fill_iters": 5, "fill_growth": 2.0, "fill_horizontal": 0.5,
           "fill_structure": 0.9, "fill_structure_sigma": 3.0}
    p = save_model(net, tmp_path / "old.safetensors", {"name": "old", "task": "inpaint", "arch": "unet", "config": old})
    loaded = load_model(p, device="cpu")
    assert loaded.module.fill == net.fill and len(loaded.module.refine) == 0 and not loaded.module.centre_inputs
    x, holes = torch.rand(1, 3, 16, 16), torch.zeros(1, 1, 16, 16)
    holes[..., 4:9, 3:12] = 1
    with torch.no_grad():
        assert torch.equal(loaded(x, holes), net.eval()(x, holes))
    # a fixed anisotropic stencil without orientation guidance no longer exists: a clear error, not a guess
    bad = {**old, "fill_structure": 0.0, "fill_horizontal": 0.7}
    q = save_model(net, tmp_path / "bad.safetensors", {"name": "b", "task": "inpaint", "arch": "unet", "config": bad})
    with pytest.raises(ModelError, match="no longer supported"):
        load_model(q, device="cpu")


def test_absurd_config_and_bad_weights_are_refused_before_building(tmp_path) -> None:
    """A config asking for a huge network is caught by its tensor shapes (nothing allocated); NaN weights are
    refused at load instead of giving an all-black image."""
    net = SRNet(base_ch=8, n_blocks=1, scale=2)
    info = _sr_info()
    info["config"]["base_ch"] = 200_000
    p = save_model(net, tmp_path / "huge.safetensors", info)
    with pytest.raises(ModelError, match="more than the file holds"):
        load_model(p, device="cpu")
    with torch.no_grad():
        net.head.weight[0, 0, 0, 0] = float("nan")
    q = save_model(net, tmp_path / "nan.safetensors", _sr_info())
    with pytest.raises(ModelError, match="NaN"):
        load_model(q, device="cpu")


def test_blend_is_each_model_at_its_end_and_between_in_the_middle(tmp_path) -> None:
    from restore.weights import blend_models

    torch.manual_seed(0)
    a, b = SRNet(base_ch=8, n_blocks=1, scale=2), SRNet(base_ch=8, n_blocks=1, scale=2)
    pa = save_model(a, tmp_path / "a.safetensors", _sr_info(name="a"))
    pb = save_model(b, tmp_path / "b.safetensors", _sr_info(name="b"))
    x = torch.rand(1, 3, 12, 10)
    with torch.no_grad():
        ya, yb = a.eval()(x), b.eval()(x)
        assert torch.equal(blend_models(pa, pb, 0.0, device="cpu")(x), ya)
        assert torch.equal(blend_models(pa, pb, 1.0, device="cpu")(x), yb)
        mid = blend_models(pa, pb, 0.5, device="cpu")
        for k, v in mid.module.state_dict().items():
            torch.testing.assert_close(v, (a.state_dict()[k] + b.state_dict()[k]) / 2)
    assert mid.name == mid.metadata["name"] == "a+b@0.5" and not mid.metadata["default"]
    assert mid.metadata["blend"] == {"a": "a", "b": "b", "t": 0.5}


def test_a_blend_keeps_learned_int8_ranges_only_at_its_ends(tmp_path) -> None:
    """The activation ranges a network learned for its int8 form (restore.qat) belong to its own weights."""
    from restore.weights import blend_models

    ranges = {"head": [-0.5, 0.5]}
    pa = save_model(SRNet(base_ch=8, n_blocks=1, scale=2), tmp_path / "a.safetensors",
                    {**_sr_info(name="a"), "int8_ranges": ranges})
    pb = save_model(SRNet(base_ch=8, n_blocks=1, scale=2), tmp_path / "b.safetensors", _sr_info(name="b"))
    assert blend_models(pa, pb, 0.0, device="cpu").metadata["int8_ranges"] == ranges
    assert "int8_ranges" not in blend_models(pa, pb, 0.5, device="cpu").metadata
    assert "int8_ranges" not in blend_models(pa, pb, 1.0, device="cpu").metadata


def test_blend_refuses_different_architectures(tmp_path) -> None:
    from restore.weights import blend_models

    pa = save_model(SRNet(base_ch=8, n_blocks=1, scale=2), tmp_path / "a.safetensors", _sr_info(name="a"))
    cfg = {"base_ch": 12, "n_blocks": 1, "scale": 2, "upsampler": "pixelshuffle", "padding_mode": "zeros"}
    pb = save_model(SRNet(base_ch=12, n_blocks=1, scale=2), tmp_path / "b.safetensors", _sr_info(name="b", config=cfg))
    with pytest.raises(ModelError, match="different architectures"):
        blend_models(pa, pb, 0.5, device="cpu")
    cfg = {"base_ch": 8, "n_blocks": 0, "scale": 2, "upsampler": "pixelshuffle", "padding_mode": "zeros"}
    pc = save_model(SRNet(base_ch=8, n_blocks=0, scale=2), tmp_path / "c.safetensors", _sr_info(name="c", config=cfg))
    with pytest.raises(ModelError, match="different architectures"):  # a deeper clean model cannot be cut down
        blend_models(pa, pc, 0.5, device="cpu")


@pytest.mark.parametrize("grid", [0, 16])
def test_a_deepened_conditioned_model_computes_the_same(grid: int) -> None:
    """A JPEG-conditioned ×1 model grown by two blocks computes what it did, under every condition."""
    from restore.compression import condition_vector
    from restore.models.sr import deepen_state

    torch.manual_seed(0)
    kw = dict(base_ch=8, scale=1, unshuffle=2, cond_dim=len(condition_vector(None)), block_grid=grid)
    shallow = SRNet(n_blocks=1, **kw).eval()
    with torch.no_grad():  # a trained model: its modulation is not zero
        for p in shallow.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    deep = SRNet(n_blocks=3, **kw).eval()
    deep.load_state_dict(deepen_state(shallow.state_dict(), 3, deep.state_dict()))
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        for q in (None, 30.0, 75.0):
            c = condition_vector(q)[None]
            assert torch.allclose(deep(x, c), shallow(x, c), atol=1e-6)


def test_deepened_models_compute_the_same_and_blend_with_a_deeper_one(tmp_path) -> None:
    """A clean model blends with a real-photo model grown from it with more blocks: the shallow one gains the
    extra blocks as exact identities, so t = 0 is the shallow model and t = 1 the deep one, bit for bit."""
    from restore.models.sr import deepen_state
    from restore.weights import blend_models

    torch.manual_seed(0)
    shallow = SRNet(base_ch=8, n_blocks=1, scale=2).eval()
    deep = SRNet(base_ch=8, n_blocks=3, scale=2)
    grown = deepen_state(shallow.state_dict(), 3, deep.state_dict())
    deep.load_state_dict(grown)
    x = torch.rand(1, 3, 12, 10)
    with torch.no_grad():
        assert torch.equal(deep.eval()(x), shallow(x))  # x + 0 = x: exact, not approximately equal
        for p in deep.body[1:].parameters():
            p.add_(torch.randn_like(p) * 0.05)  # "training" moves the new blocks
    with pytest.raises(ValueError, match="shallower"):
        deepen_state(deep.state_dict(), 1, shallow.state_dict())
    pa = save_model(shallow, tmp_path / "a.safetensors", _sr_info(name="a"))
    cfg = {"base_ch": 8, "n_blocks": 3, "scale": 2, "upsampler": "pixelshuffle", "padding_mode": "zeros"}
    pb = save_model(deep, tmp_path / "b.safetensors", _sr_info(name="b", config=cfg))
    with torch.no_grad():
        want_a, want_b = shallow(x), deep(x)
        assert not torch.equal(want_a, want_b)
        assert torch.equal(blend_models(pa, pb, 0.0, device="cpu")(x), want_a)
        assert torch.equal(blend_models(pa, pb, 1.0, device="cpu")(x), want_b)
        mid = blend_models(pa, pb, 0.5, device="cpu")(x)
    assert mid.shape == want_a.shape and not torch.equal(mid, want_a) and not torch.equal(mid, want_b)
    # the blend sees as far as the deeper network: its tiles need that much context
    assert blend_models(pa, pb, 0.5, device="cpu").receptive_radius == deep.receptive_radius > shallow.receptive_radius


def test_a_module_that_is_not_one_of_ours_is_refused_with_one_line() -> None:
    from restore.models.descriptor import describe

    with pytest.raises(ModelError, match="not a restore network"):
        describe(torch.nn.Conv2d(3, 3, 3))
    with pytest.raises(ModelError, match="not a restore network"):
        load_model(torch.nn.Conv2d(3, 3, 3), device="cpu")
    d = describe(SRNet(base_ch=8, n_blocks=1, scale=3), name="mine")
    assert (d.name, d.task, d.scale) == ("mine", "sr", 3) and describe(d) is d


def test_digest_is_the_network_and_its_weights_not_the_file_name_or_other_metadata(tmp_path) -> None:
    from restore.weights import update_metadata

    net = SRNet(base_ch=8, n_blocks=1, scale=2)
    a = load_model(save_model(net, tmp_path / "a.safetensors", _sr_info()), device="cpu").digest
    assert load_model(save_model(net, tmp_path / "b.safetensors", _sr_info(description="x")), device="cpu").digest == a
    update_metadata(tmp_path / "b.safetensors", scores={"psnr": 30.0})
    assert load_model(tmp_path / "b.safetensors", device="cpu").digest == a
    with torch.no_grad():
        net.head.bias[0] += 1e-3
    assert load_model(save_model(net, tmp_path / "c.safetensors", _sr_info()), device="cpu").digest != a
