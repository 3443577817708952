"""Inference engine: tiled == untiled, crop-around-hole, device handling."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from restore.devices import pick_device
from restore.engine import hole_boxes, inpaint_array, run_tiled, upscale_array
from restore.errors import InputError
from restore.models import SRNet, UNet


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect"])
def test_tiled_matches_untiled(padding_mode: str) -> None:
    torch.manual_seed(0)
    net = SRNet(base_ch=8, n_blocks=2, scale=2, padding_mode=padding_mode).eval()
    with torch.no_grad():  # a stronger residual than at init, so a seam would show
        for p in net.up.parameters():
            p.mul_(10)
    x = np.random.default_rng(0).random((70, 53, 3), dtype=np.float32)
    full = run_tiled(net, x, 2, tile=1000, dev=torch.device("cpu"))
    tiled = run_tiled(net, x, 2, tile=24, dev=torch.device("cpu"))
    # a margin of the receptive radius makes the tiles exact: only float rounding differs
    assert np.abs(full - tiled).max() < 1e-5
    batched = run_tiled(net, x, 2, tile=24, dev=torch.device("cpu"), batch=4)
    assert np.abs(batched - tiled).max() < 1e-5
    # too little context shows as seams: the margin is what makes tiling exact
    thin = run_tiled(net, x, 2, tile=24, dev=torch.device("cpu"), margin=1)
    assert np.abs(full - thin).max() > 1e-3


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_run_tiled_streams_into_any_dtype(dtype) -> None:
    from restore.pixels import store

    net = SRNet(base_ch=8, n_blocks=1, scale=3).eval()
    x = np.random.default_rng(3).random((40, 31, 3), dtype=np.float32)
    ref = run_tiled(net, x, 3, tile=16, dev=torch.device("cpu"))
    out = run_tiled(net, x, 3, tile=16, dev=torch.device("cpu"), out=np.empty((120, 93, 3), dtype))
    np.testing.assert_array_equal(out, store(np.empty_like(out), ref))
    gray = run_tiled(net, x, 3, tile=16, dev=torch.device("cpu"), out=np.empty((120, 93, 1), np.float32))
    np.testing.assert_allclose(gray[..., 0], ref.mean(axis=2), atol=1e-6)


def test_spans_abut_and_balance() -> None:
    from restore.engine import _spans

    for n in (1, 5, 255, 256, 257, 1000):
        for tile in (1, 64, 256):
            sp = _spans(n, tile)
            assert sp[0][0] == 0 and sp[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(sp, sp[1:]))
            lens = [b - a for a, b in sp]
            assert max(lens) <= tile and max(lens) - min(lens) <= 1


def test_upscale_array_tile_zero_is_untiled() -> None:
    """tile=0 is one pass over the whole image: the network's own output (gray runs as RGB and is averaged)."""
    torch.manual_seed(0)
    net = SRNet(base_ch=4, n_blocks=1, scale=3).eval()
    x = np.random.default_rng(1).random((9, 11, 1), dtype=np.float32)
    out = upscale_array(x, 3, net, device="cpu", tile=0, precision="fp32")
    assert out.shape == (27, 33, 1)
    with torch.no_grad():
        want = net(torch.from_numpy(np.repeat(x, 3, axis=2)).permute(2, 0, 1)[None]).clamp(0, 1)
    want = want[0].mean(dim=0, keepdim=True).permute(1, 2, 0).numpy()
    np.testing.assert_allclose(out, want, atol=1e-5)


def test_hole_boxes_merge_overlapping_and_keep_apart() -> None:
    m = np.zeros((100, 200), bool)
    m[10:12, 10:12] = True
    m[14:16, 14:16] = True  # close: merged with the first
    m[80:82, 180:182] = True  # far: its own box
    boxes = hole_boxes(m, context=5)
    assert len(boxes) == 2
    assert (5, 21, 5, 21) in boxes


def test_inpaint_array_only_touches_holes() -> None:
    net = UNet(widths=(4, 8), n_bottleneck=1).eval()
    torch.nn.init.normal_(net.out.weight, std=0.5)
    x = np.random.default_rng(2).random((40, 300, 3), dtype=np.float32)
    holes = np.zeros((40, 300), bool)
    holes[5:10, 5:10] = True
    holes[20:30, 250:290] = True
    out = inpaint_array(x, holes, net, device="cpu")
    np.testing.assert_array_equal(out[~holes], x[~holes])
    assert not np.allclose(out[holes], x[holes])


def test_devices() -> None:
    assert pick_device("cpu").type == "cpu"
    with pytest.raises(InputError, match="unknown device"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA"):
            pick_device("cuda")


def test_hole_boxes_become_one_crop_when_they_cover_most_of_it() -> None:
    m = np.zeros((100, 100), bool)
    m[10:40, 10:90] = True
    m[60:90, 10:90] = True  # apart (context 5), but together they cover most of their bounding box
    assert hole_boxes(m, context=5) == [(5, 95, 5, 95)]


def test_auto_backend_is_onnx_runtime_for_int8_only() -> None:
    """auto: ONNX Runtime runs int8; PyTorch everything else (measured faster on photograph-sized inputs)."""
    from restore.engine import is_narrow, resolve_backend
    from restore.models.descriptor import describe

    assert is_narrow(describe(SRNet(base_ch=16, n_blocks=1, scale=4)))
    assert not is_narrow(describe(SRNet(base_ch=48, n_blocks=1, scale=4)))
    assert resolve_backend("auto", "int8") == "onnxruntime"
    assert resolve_backend("auto", "auto") == resolve_backend("auto", "bf16") == "torch"
    assert resolve_backend("onnxruntime", "fp32") == "onnxruntime"
    with pytest.raises(InputError, match="unknown backend"):
        resolve_backend("tvm", "auto")


def test_onnx_runtime_version_is_made_once_per_loaded_model(monkeypatch) -> None:
    """A batch passes the same loaded model for every file: it is exported (and quantised) once, not per file."""
    pytest.importorskip("onnxruntime")
    import restore
    from restore import engine

    made = []
    real = engine.ort_model
    monkeypatch.setattr(engine, "ort_model", lambda net, int8=False: made.append(int8) or real(net, int8))
    net = restore.load_model("sr-fast-x4", device="cpu")
    img = np.zeros((20, 24, 3), np.uint8)
    for _ in range(3):
        restore.upscale(img, 4, model=net, device="cpu", backend="onnxruntime")
    assert made == [False]
    with torch.no_grad():  # weights changed in place (trained further): a new export, not stale output
        next(net.module.parameters()).mul_(1.5)
    restore.upscale(img, 4, model=net, device="cpu", backend="onnxruntime")
    assert made == [False, False]


def test_auto_precision_runs_declared_sr_models_int8_where_the_cpu_has_vnni(monkeypatch, tmp_path) -> None:
    """precision auto + backend auto: int8 on ONNX Runtime for a model whose file declares cpu_int8 (the clean
    sr-x* models) on a CPU with VNNI; PyTorch for the others (the real-photo and fast models, a blend, a bare
    module), without VNNI, on request (fp32 / bf16 / RESTORE_PRECISION / an explicit backend), for inpainting."""
    pytest.importorskip("onnxruntime")
    from restore import devices, engine
    from restore.engine import OrtSR, blended_model, sr_runner

    monkeypatch.setattr(engine, "cpu_has_vnni", lambda: True)
    cpu = torch.device("cpu")
    net, dtype = sr_runner("sr-x2", cpu)
    assert isinstance(net.module, OrtSR) and net.metadata["precision"] == "int8" and dtype is None
    # another network of sr-x2's architecture, declaring nothing: what a blend is made with
    from restore.catalogue import read_metadata, resolve
    from restore.weights import save_model

    meta = read_metadata(resolve("sr-x2"))
    info = {"name": "mate-x2", "task": "sr", "arch": "srnet", "scale": 2, "config": meta["config"]}
    mate = save_model(SRNet(**meta["config"]).eval(), tmp_path / "mate-x2.safetensors", info)
    for other in ("sr-real-x2", "sr-fast-x4", SRNet(base_ch=48, n_blocks=1, scale=2).eval(),
                  blended_model("sr-x2", str(mate), 0.5, cpu), blended_model("sr-x2", str(mate), 1.0, cpu)):
        assert not isinstance(sr_runner(other, cpu)[0].module, OrtSR)
    assert isinstance(sr_runner(blended_model("sr-x2", str(mate), 0.0, cpu), cpu)[0].module, OrtSR)  # = sr-x2
    assert not isinstance(sr_runner("sr-x2", cpu, "fp32")[0].module, OrtSR)
    assert sr_runner("sr-x2", cpu, "bf16")[1] == torch.bfloat16
    on_ort, _ = sr_runner("sr-x2", cpu, "auto", "onnxruntime")  # an explicit backend keeps its float32
    assert isinstance(on_ort.module, OrtSR) and on_ort.metadata["precision"] == "fp32"
    assert not engine.auto_int8(engine.get_model("inpaint", cpu), cpu)
    monkeypatch.setenv("RESTORE_PRECISION", "fp32")
    assert not isinstance(sr_runner("sr-x2", cpu)[0].module, OrtSR)
    monkeypatch.delenv("RESTORE_PRECISION")
    monkeypatch.setattr(engine, "cpu_has_vnni", lambda: False)
    monkeypatch.setattr(devices, "cpu_has_bf16", lambda: False)
    net, dtype = sr_runner("sr-x2", cpu)
    assert not isinstance(net.module, OrtSR) and dtype is None  # neither: float32 PyTorch, as before


def test_cpu_vnni_is_read_from_the_cpu_flags(monkeypatch, tmp_path) -> None:
    import builtins

    from restore.devices import cpu_has_vnni

    real_open = builtins.open
    for flags, want in (("fpu avx2 avx512f avx512_vnni", True), ("fpu avx2 avx_vnni", True), ("fpu avx2 fma", False)):
        f = tmp_path / "cpuinfo"
        f.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
        monkeypatch.setattr(builtins, "open", lambda p, *a, **k: real_open(f if p == "/proc/cpuinfo" else p, *a, **k))
        cpu_has_vnni.cache_clear()  # read once per process: each case reads its own file
        assert cpu_has_vnni() is want
    monkeypatch.setattr(builtins, "open", lambda *a, **k: (_ for _ in ()).throw(OSError("no such file")))
    cpu_has_vnni.cache_clear()
    assert cpu_has_vnni() is False
    monkeypatch.undo()
    cpu_has_vnni.cache_clear()  # the real CPU's answer for the tests that follow


def test_tiles_enter_with_channels_last_strides_that_padding_keeps() -> None:
    """to_tensor's view must have the standard channels-last strides: with the batch stride it had before (C),
    F.pad returned NCHW and the SR nets' grouped skip convolution ran ~3× slower."""
    import torch.nn.functional as F

    from restore.engine import to_tensor

    a = np.random.default_rng(0).random((20, 24, 3)).astype(np.float32)
    t = to_tensor(a, torch.device("cpu"))
    assert t.shape == (1, 3, 20, 24) and t.stride() == (20 * 24 * 3, 1, 24 * 3, 3)
    assert np.shares_memory(t.numpy(), a) or not a.flags.c_contiguous  # a view, no copy
    assert F.pad(t, (2, 2, 2, 2), mode="replicate").is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(t[0].permute(1, 2, 0), torch.from_numpy(a))
