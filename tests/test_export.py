"""ONNX export: parity with PyTorch in ONNX Runtime, dynamic sizes, metadata, errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

pytest.importorskip("onnx")

from conftest import make_image
from restore.cli import app
from restore.export import export_onnx, onnx_metadata
from restore.errors import InputError
from restore.models import SRNet
from restore.weights import load_model, save_model


def _tiny(tmp_path, scale=3):
    torch.manual_seed(0)
    net = SRNet(base_ch=8, n_blocks=1, scale=scale)
    with torch.no_grad():
        for p in net.up.parameters():
            p.mul_(10)
    cfg = {"base_ch": 8, "n_blocks": 1, "scale": scale, "upsampler": "pixelshuffle", "padding_mode": "zeros"}
    return save_model(net, tmp_path / "tiny.safetensors",
                      {"name": "tiny", "task": "sr", "arch": "srnet", "scale": scale, "config": cfg,
                       "training": {"iterations": 7}})


def test_onnx_matches_pytorch_at_several_sizes(tmp_path) -> None:
    ort = pytest.importorskip("onnxruntime")
    src = _tiny(tmp_path)
    out = export_onnx(src, tmp_path / "tiny.onnx")
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    net = load_model(src, device="cpu")
    for shape in ((1, 3, 17, 29), (2, 3, 40, 8)):  # not the export's example size: the axes are dynamic
        x = np.random.default_rng(0).random(shape, dtype=np.float32)
        y = sess.run(["output"], {"image": x})[0]
        with torch.inference_mode():
            ref = net(torch.from_numpy(x)).clamp(0, 1).numpy()
        assert y.shape == (shape[0], 3, shape[2] * 3, shape[3] * 3)
        assert np.abs(y - ref).max() < 1e-4


def test_onnx_graph_has_no_shape_computations(tmp_path) -> None:
    """The exported graph is convolutions, element-wise operators, one Pad with constant widths and one
    DepthToSpace: no shape-computing subgraph that a static-shape runtime (OpenCV's DNN) refuses."""
    onnx = pytest.importorskip("onnx")
    proto = onnx.load(str(export_onnx(_tiny(tmp_path), tmp_path / "tiny.onnx")))
    ops = {n.op_type for n in proto.graph.node}
    assert ops <= {"Conv", "Add", "Mul", "Relu", "Pad", "DepthToSpace", "Clip", "Cast"}, ops
    (pad,) = [n for n in proto.graph.node if n.op_type == "Pad"]
    assert pad.input[1] in {i.name for i in proto.graph.initializer}


def test_onnx_runs_in_opencv_dnn_as_in_pytorch(tmp_path) -> None:
    pytest.importorskip("onnx")
    import cv2

    src = _tiny(tmp_path, scale=2)
    dnn = cv2.dnn.readNetFromONNX(str(export_onnx(src, tmp_path / "tiny.onnx")))
    x = np.random.default_rng(1).random((1, 3, 23, 31), dtype=np.float32)
    dnn.setInput(x)
    y = dnn.forward()
    with torch.inference_mode():
        ref = load_model(src, device="cpu")(torch.from_numpy(x)).clamp(0, 1).numpy()
    assert y.shape == ref.shape and np.abs(y - ref).max() < 1e-4


def test_onnx_metadata_carries_the_contract_and_provenance(tmp_path) -> None:
    meta = onnx_metadata(export_onnx(_tiny(tmp_path, scale=2), tmp_path / "m.onnx"))
    assert meta["task"] == "sr" and meta["scale"] == "2" and meta["name"] == "tiny"
    assert int(meta["receptive_radius"]) == load_model(tmp_path / "tiny.safetensors", device="cpu").receptive_radius
    assert json.loads(meta["restore"])["training"]["iterations"] == 7


def test_export_errors(tmp_path, runner) -> None:
    src = _tiny(tmp_path)
    with pytest.raises(InputError, match=".onnx"):
        export_onnx(src, tmp_path / "m.bin")
    export_onnx(src, tmp_path / "m.onnx")
    with pytest.raises(InputError, match="overwrite"):
        export_onnx(src, tmp_path / "m.onnx")
    with pytest.raises(InputError, match="super-resolution"):
        export_onnx("inpaint", tmp_path / "i.onnx")
    r = runner.invoke(app, ["export", "no-such-model", "-o", str(tmp_path / "x.onnx")])
    assert r.exit_code == 2 and "Traceback" not in r.output
    r = runner.invoke(app, ["export", str(src), "-o", str(tmp_path / "m.onnx"), "--overwrite"])
    assert r.exit_code == 0, r.output


def test_onnxruntime_backend_matches_torch_fp32_tiled_or_not(tmp_path) -> None:
    pytest.importorskip("onnxruntime")
    import restore

    src = _tiny(tmp_path, scale=2)
    img = (np.random.default_rng(1).random((40, 33, 3)) * 255).astype(np.uint8)
    ref = restore.upscale(img, 2, model=str(src), device="cpu", precision="fp32", tile=0)
    ort = restore.upscale(img, 2, model=str(src), device="cpu", backend="onnxruntime", tile=0)
    tiled = restore.upscale(img, 2, model=str(src), device="cpu", backend="onnxruntime", tile=16)
    assert np.abs(ref.astype(int) - ort.astype(int)).max() <= 1
    assert np.abs(tiled.astype(int) - ort.astype(int)).max() <= 1
    with pytest.raises(InputError, match="backend"):
        restore.upscale(img, 2, model=str(src), device="cpu", backend="tensorrt")


def test_cli_backend_option(tmp_path, runner) -> None:
    pytest.importorskip("onnxruntime")
    from restore.io import read_image, write_image

    src = write_image(tmp_path / "a.png", (np.random.default_rng(2).random((12, 10, 3)) * 255).astype(np.uint8))
    r = runner.invoke(app, ["upscale", str(src), "-o", str(tmp_path / "o"), "--model", "sr-fast-x4",
                            "--backend", "onnxruntime", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    assert read_image(tmp_path / "o" / "a.png").shape == (48, 40, 3)
    r = runner.invoke(app, ["upscale", str(src), "-o", str(tmp_path / "o2"), "--backend", "nope"])
    assert r.exit_code == 2


def test_int8_on_onnx_runtime_is_close_to_float32_and_refused_elsewhere(runner, tmp_path) -> None:
    """--precision int8: the model quantised by ONNX Runtime's tools (calibrated on scikit-image's bundled
    photographs) stays within a few grey levels of float32; on the torch backend, and for inpainting, it is a
    one-line usage error."""
    pytest.importorskip("onnxruntime")
    import restore
    from restore.cli import app
    from restore.export import calibration_inputs

    assert len(calibration_inputs(4)) == 20 and calibration_inputs(4)[0].shape == (1, 3, 48, 48)
    img = make_image((40, 48, 3))
    a = restore.upscale(img, 4, model="sr-fast-x4", device="cpu", precision="int8")  # backend auto: ORT
    b = restore.upscale(img, 4, model="sr-fast-x4", device="cpu", precision="fp32")
    d = np.abs(a.astype(int) - b)
    assert a.shape == b.shape and a.dtype == np.uint8
    assert 0 < d.mean() < 2.0 and d.max() <= 16  # quantised: not identical, and not far
    with pytest.raises(restore.InputError, match="ONNX Runtime"):
        restore.upscale(img, 4, model="sr-fast-x4", device="cpu", precision="int8", backend="torch")
    src = tmp_path / "a.png"
    from restore.io import write_image

    write_image(src, img)
    r = runner.invoke(app, ["upscale", str(src), "-o", str(tmp_path / "o"), "--precision", "int8", "--backend", "torch"])
    assert r.exit_code == 2 and "--backend auto or onnxruntime" in r.output
    r = runner.invoke(app, ["inpaint", str(src), "--precision", "int8"])
    assert r.exit_code == 2 and "super-resolution" in r.output


def test_int8_keeps_the_bicubic_skip_in_float32_and_is_cached(monkeypatch, tmp_path) -> None:
    """The skip convolution (it carries the whole image) reads the float input, not a dequantised one, and the
    add joining it is float; so are the upsampler's convolution and the add feeding it (flat fields), and no
    multiply by one is left; the quantised model is kept in the cache and read back, not calibrated again."""
    pytest.importorskip("onnxruntime")
    import onnx

    from restore import export
    from restore.weights import load_model

    monkeypatch.setenv("RESTORE_CACHE_DIR", str(tmp_path / "cache"))
    net = load_model("sr-x2", device="cpu")
    data = export.cached_int8_bytes(net)
    g = onnx.load_from_string(data).graph
    producer = {o: n for n in g.node for o in n.output}
    params = {f"net.{k}" for k, _ in net.module.named_parameters()}
    convs = [n for n in g.node if n.op_type == "Conv"]
    floats = [n for n in convs if producer.get(n.input[1]) is None or producer[n.input[1]].op_type != "DequantizeLinear"]
    skip = [n for n in floats if n.input[1] not in params]
    assert len(skip) == 1 and producer[skip[0].input[0]].op_type != "DequantizeLinear"
    tail = [n for n in floats if n.input[1] in params]
    assert [n.input[1] for n in tail] == ["net.up.conv.weight"] and producer[tail[0].input[0]].op_type == "Add"
    body = [n for n in convs if n not in floats]
    assert len(body) == sum(1 for k in params if k.endswith("weight")) - 1  # every other layer is int8
    assert all(producer[n.input[0]].op_type == "DequantizeLinear" for n in body)
    assert not [n for n in g.node if n.op_type == "Mul"]  # res_scale 1 was exported as a multiply
    join = [n for n in g.node if n.op_type == "Add" and skip[0].output[0] in n.input]
    assert len(join) == 1  # a float add (the body's residual dequantised), its sum not requantised
    assert not [n for n in g.node if n.op_type == "QuantizeLinear" and join[0].output[0] in n.input]
    assert len(list((tmp_path / "cache" / "onnx").glob("*.onnx"))) == 1
    monkeypatch.setattr(export, "onnx_int8_bytes", lambda net, fp32=None: (_ for _ in ()).throw(AssertionError("recalibrated")))
    assert export.cached_int8_bytes(net) == data
    monkeypatch.undo()
    monkeypatch.setenv("RESTORE_CACHE_DIR", str(tmp_path / "cache"))
    (cached,) = (tmp_path / "cache" / "onnx").glob("*.onnx")
    cached.write_bytes(data[: len(data) // 3])  # damaged: made again and replaced
    assert export.cached_int8_bytes(net) == data and cached.read_bytes() == data
    (tmp_path / "ro").write_text("a file where the cache folder would be")
    monkeypatch.undo()
    monkeypatch.setenv("RESTORE_CACHE_DIR", str(tmp_path / "ro"))
    assert export.cached_int8_bytes(net) == data  # cannot be cached: made again, the same


def test_int8_recipe_graph_passes(tmp_path) -> None:
    """What onnx_int8_bytes finds in the float graph: no multiply by a residual scale of one (int8 would run it
    as a requantising pass over the whole feature map, for nothing); the nodes kept float at the branch's end are
    the upsampler's convolution and the add feeding it."""
    pytest.importorskip("onnxruntime")
    import onnx

    from restore.export import float_tail_nodes, onnx_bytes

    net = load_model(_tiny(tmp_path), device="cpu")
    graph = onnx.load_from_string(onnx_bytes(net))
    assert not [n for n in graph.graph.node if n.op_type == "Mul"]
    nodes = {n.name: n for n in graph.graph.node}
    tail = [nodes[k] for k in float_tail_nodes(graph, {f"net.{k}" for k, _ in net.module.named_parameters()})]
    assert [(n.op_type, n.input[1]) for n in tail] == [("Conv", "net.up.conv.weight"), ("Add", tail[1].input[1])]
    assert tail[1].output[0] == tail[0].input[0]


def test_auto_int8_costs_little_psnr_on_a_photograph(monkeypatch) -> None:
    """The default on a VNNI CPU (int8, skip in float32) against float32 PyTorch, on a photograph
    downscaled by the published protocol: within 0.03 dB PSNR-Y (Set5 / Set14: 0.012 / 0.011 dB)."""
    pytest.importorskip("onnxruntime")
    import restore
    from restore import engine
    from restore.data import mod_crop
    from restore.degradations import degrade
    from restore.metrics import psnr_y

    monkeypatch.setattr(engine, "cpu_has_vnni", lambda: True)
    import skimage.data

    hr = mod_crop(skimage.data.immunohistochemistry(), 4)  # bundled offline; not one of the calibration images
    lr = degrade(hr, 4)
    auto = restore.upscale(lr, 4, model="sr-x4", device="cpu")
    fp32 = restore.upscale(lr, 4, model="sr-x4", device="cpu", precision="fp32")
    assert not np.array_equal(auto, fp32)  # it did run quantised
    assert abs(psnr_y(auto, hr, 4) - psnr_y(fp32, hr, 4)) < 0.03


def test_int8_keeps_flat_fields_within_a_grey_level_but_for_a_few_pixels(monkeypatch) -> None:
    """The default on a VNNI CPU on flat grey fields (levels 0, 15, …, 255, as benchmarks/flat_fields.py): a
    quantised body gives each output phase a small offset and its activations a little noise, which round some
    pixels one level off and, rarely, one two levels off (docs/BENCHMARKS.md) — never more."""
    pytest.importorskip("onnxruntime")
    import restore
    from restore import engine

    monkeypatch.setattr(engine, "cpu_has_vnni", lambda: True)
    off, two, total = [], 0, 0
    for v in range(0, 256, 15):
        out = restore.upscale(np.full((40, 40, 3), v, np.uint8), 4, model="sr-x4", device="cpu")
        err = np.abs(out[32:-32, 32:-32].astype(int) - v)  # the border context cut off (any precision has it)
        assert err.max() <= 2
        off.append(np.mean(err > 0))
        two, total = two + int(np.sum(err > 1)), total + err.size
    assert np.mean(off) < 0.15 and two / total < 1e-4


def test_int8_x1_model_joins_the_image_in_float32() -> None:
    """A ×1 model's skip is the image itself: the add that joins it stays float32 (quantised, it would round
    every output pixel to the add's 8-bit grid), as the bicubic skip's does at ×2–×4."""
    pytest.importorskip("onnxruntime")
    import onnx

    from restore.export import float_skip_nodes, onnx_bytes

    net = load_model("denoise-x1", device="cpu")
    graph = onnx.load_from_string(onnx_bytes(net))
    keep = set(float_skip_nodes(graph, {f"net.{k}" for k, _ in net.module.named_parameters()}))
    joins = [n.name for n in graph.graph.node if n.op_type == "Add" and "image" in n.input]
    assert joins and set(joins) <= keep
