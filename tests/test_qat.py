"""Quantisation-aware training (restore.qat): the rounding it simulates, the network it trains, the CLI option."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from restore.compression import KNOTS, condition_vector
from restore.models import create_model
from restore.qat import QuantAware, RangeQuant, fake_quant_weight


def _x1_net(seed: int = 0):
    torch.manual_seed(seed)
    net = create_model("srnet", base_ch=8, n_blocks=2, scale=1, unshuffle=2, cond_dim=len(KNOTS), block_grid=16)
    with torch.no_grad():  # a trained-looking network: every layer and the condition away from their zero start
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return net.eval()


def test_weights_round_per_output_channel_to_127_steps_each_side():
    w = torch.randn(4, 3, 3, 3) * torch.tensor([0.01, 0.1, 1.0, 10.0]).view(-1, 1, 1, 1)
    w.requires_grad_(True)
    q = fake_quant_weight(w)
    step = w.detach().abs().amax(dim=(1, 2, 3)) / 127
    k = q.detach() / step.view(-1, 1, 1, 1)
    assert torch.allclose(k, k.round(), atol=1e-3) and float(k.abs().max()) <= 127 + 1e-3
    # each channel's largest weight is kept; the rest move by at most half a step
    assert torch.allclose(q.detach().abs().amax(dim=(1, 2, 3)), w.detach().abs().amax(dim=(1, 2, 3)))
    assert bool(((q - w).abs() <= step.view(-1, 1, 1, 1) / 2 + 1e-6).all())
    q.sum().backward()  # straight through: the gradient of the rounding is taken as 1
    assert torch.equal(w.grad, torch.ones_like(w))


@pytest.mark.parametrize("relu", [False, True])
def test_an_activation_takes_at_most_256_levels_and_keeps_zero(relu):
    x = torch.randn(2, 8, 16, 16) * 3
    if relu:
        x = x.relu()
    y = RangeQuant(relu)(x)
    assert len(torch.unique(y)) <= 256
    assert float((y - x).abs().median()) < float(x.abs().max()) / 255
    z = RangeQuant(relu)(torch.zeros(1, 1, 4, 4))
    assert torch.equal(z, torch.zeros_like(z))


def test_quant_aware_computes_the_folded_network_rounded():
    net = _x1_net()
    qa = QuantAware(net).eval()
    x = torch.rand(2, 3, 32, 32)
    c = condition_vector(50)[None].expand(2, -1)
    with torch.no_grad():
        ref, out = net(x, c), qa(x, c)
    err = (out - ref).abs()
    assert 0 < float(err.max()) < 0.02  # rounded, and only by what 8 bits cost
    # one condition per fold: a batch of two conditions is each row on its own
    mixed = torch.stack([condition_vector(30), condition_vector(75)])
    with torch.no_grad():
        both = qa(x, mixed)
        one = qa(x[1:], mixed[1:])
    assert torch.allclose(both[1:], one, atol=1e-6)
    assert not torch.allclose(both[:1], qa(x[:1], mixed[1:]), atol=1e-6)


def test_quant_aware_trains_the_wrapped_network_and_exports_it():
    net = _x1_net()
    qa = QuantAware(net).train()
    x = torch.rand(2, 3, 32, 32)
    qa(x, condition_vector(40)[None].expand(2, -1)).square().mean().backward()
    for name in ("head.weight", "body.0.body.0.weight", "cond.weight", "grid_bias", "up.conv.weight"):
        g = net.get_parameter(name).grad
        assert g is not None and float(g.abs().sum()) > 0, name
    assert qa.export() is net
    assert not any(n.startswith("_plain") for n, _ in qa.named_parameters())


def test_quant_aware_runs_an_upscaler_with_its_skip_and_upsampler_in_float():
    torch.manual_seed(0)
    net = create_model("srnet", base_ch=8, n_blocks=1, scale=2).eval()
    qa = QuantAware(net)
    assert qa._float == {"up.conv.weight"}
    x = torch.rand(1, 3, 12, 10)
    qa.train()(x)  # the ranges from one batch
    with torch.no_grad():
        out, ref = qa.eval()(x), net(x)
    assert out.shape == ref.shape == (1, 3, 24, 20)
    assert 0 < float((out - ref).abs().max()) < 0.05


def test_quant_aware_refuses_a_gated_network():
    gated = create_model("srnet", base_ch=8, n_blocks=1, scale=2, cond_dim=len(KNOTS), gated=True)
    with pytest.raises(ValueError, match="gated"):
        QuantAware(gated)


def test_train_qat_is_recorded_and_refused_where_it_cannot_run(tmp_path, runner):
    from restore.cli import app
    from restore.train import SRTrainConfig, train_sr
    from restore.weights import load_model, read_metadata

    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(data / f"{i}.png")
    cfg = SRTrainConfig(data=[str(data)], scales=[1], base_ch=8, n_blocks=1, iters=2, batch=2, lr_patch=16,
                        degradation="real", condition="jpeg", arch_options={"unshuffle": 2, "block_grid": 16},
                        degradation_settings={"jpeg_last": 1}, val_images=0, inputs="jpeg",
                        out=str(tmp_path / "run"), name="dn", device="cpu", precision="fp32", qat=True)
    (path,) = train_sr(cfg)
    assert "qat" in read_metadata(path)["training"]
    assert type(load_model(path).module).__name__ == "SRNet"  # shipped as the plain architecture
    r = runner.invoke(app, ["train", "sr", "--data", str(data), "--scales", "2,4", "--qat"])
    assert r.exit_code == 2 and "--qat" in r.output


def test_x1_int8_calibration_is_on_photos_compressed_at_the_stated_quality():
    from restore.degradations import jpeg
    from restore.export import calibration_inputs

    clean = calibration_inputs(1, crop=32)
    q40 = calibration_inputs(1, crop=32, jpeg_quality=40)
    assert len(q40) == len(clean) and q40[0].shape == clean[0].shape == (1, 3, 32, 32)
    want = jpeg(clean[0][0].transpose(1, 2, 0) * 255, 40).transpose(2, 0, 1)[None] / 255
    np.testing.assert_allclose(q40[0], want, atol=1e-6)
    assert not np.allclose(q40[0], clean[0])
    # an upscaler's calibration inputs are its LR photos whatever quality is given
    np.testing.assert_array_equal(calibration_inputs(2, crop=32, jpeg_quality=40)[0], calibration_inputs(2, crop=32)[0])


def test_the_int8_export_rounds_to_the_ranges_training_learned():
    """A network trained for int8 records the range of each rounded activation; the export gives ONNX Runtime
    exactly those (no calibration of its own on them), on the tensors QuantAware rounds."""
    pytest.importorskip("onnxruntime")
    import onnx
    from onnx import numpy_helper

    from restore.engine import with_condition
    from restore.export import onnx_int8_bytes
    from restore.models.descriptor import describe

    net = _x1_net()
    qa = QuantAware(net).train()
    with torch.no_grad():
        for _ in range(3):
            qa(torch.rand(2, 3, 32, 32), condition_vector(50)[None].expand(2, -1))
    ranges = qa.int8_ranges()
    assert set(ranges) == {"head", "head_grid", "act0", "act1", "res0", "res1", "add0", "add1", "tail"}
    assert all(lo <= 0 <= hi and hi > lo for lo, hi in ranges.values())
    assert all(ranges[k][0] == 0 for k in ("act0", "act1"))  # ReLU outputs start at 0
    desc = describe(net, name="t", metadata={"int8_ranges": ranges})
    proto = onnx.load_from_string(onnx_int8_bytes(with_condition(desc, 50, torch.device("cpu"))))
    init = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    scales = {n.input[0]: float(init[n.input[1]]) for n in proto.graph.node
              if n.op_type == "QuantizeLinear" and init[n.input[1]].size == 1}
    want = sorted(round((hi - lo) / 255, 7) for lo, hi in ranges.values())
    got = sorted(round(s, 7) for t, s in scales.items() if "Squeeze" not in t and "Gather" not in t
                 and "Transpose" not in t)
    assert got == pytest.approx(want, rel=1e-5)
