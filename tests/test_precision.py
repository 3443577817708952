"""Reduced precision on CPU and GPU: the choice (`auto`), the paths, and what stays float32."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from restore import devices
from restore.devices import cpu_has_bf16, resolve_precision
from restore.engine import run_tiled
from restore.errors import InputError
from restore.models import SRNet, UNet
from restore.models.descriptor import describe

CPU = torch.device("cpu")
needs_bf16 = pytest.mark.skipif(not cpu_has_bf16(), reason="this CPU has no native bfloat16")


def test_auto_picks_bf16_only_where_native_and_declared_safe(monkeypatch) -> None:
    monkeypatch.delenv("RESTORE_PRECISION", raising=False)
    net = describe(SRNet(base_ch=8, n_blocks=1, scale=2)).cpu_bf16
    assert net is True  # SR nets declare bf16 safe (their skip stays float32)
    monkeypatch.setattr(devices, "cpu_has_bf16", lambda: False)
    assert resolve_precision("auto", CPU, net) is None  # emulated bf16 is slower than fp32: keep fp32
    monkeypatch.setattr(devices, "cpu_has_bf16", lambda: True)
    assert resolve_precision("auto", CPU, net) is torch.bfloat16
    assert resolve_precision("auto", CPU, False) is None  # not declared safe
    assert resolve_precision("fp32", CPU, net) is None
    assert resolve_precision("bf16", CPU, False) is torch.bfloat16  # forced
    monkeypatch.setenv("RESTORE_PRECISION", "fp32")
    assert resolve_precision("auto", CPU, net) is None
    assert resolve_precision("bf16", CPU, net) is torch.bfloat16  # an explicit choice beats the environment


@pytest.mark.parametrize("bad", ["half", "FP32", "", "int4"])
def test_bad_precision_is_an_input_error(bad) -> None:
    with pytest.raises(InputError, match="precision"):
        resolve_precision(bad, CPU)


def test_fp16_on_cpu_is_refused() -> None:
    with pytest.raises(InputError, match="fp16"):
        resolve_precision("fp16", CPU)


def _strong_net(scale: int = 2, padding_mode: str = "zeros") -> SRNet:
    torch.manual_seed(0)
    net = SRNet(base_ch=8, n_blocks=2, scale=scale, padding_mode=padding_mode).eval()
    with torch.no_grad():  # a residual that matters, so precision differences show
        for p in net.up.parameters():
            p.mul_(10)
    return net


@needs_bf16
def test_sr_skip_stays_float32_under_bf16() -> None:
    """With the body's residual removed the net is its bicubic skip: under bf16 autocast it must still equal
    the float32 result exactly (bf16 would round each output pixel to ~3 significant digits)."""
    net = _strong_net()
    with torch.no_grad():
        for p in net.up.parameters():
            p.zero_()
    x = torch.rand(1, 3, 20, 17)
    with torch.inference_mode():
        ref = net(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = net(x)
    assert low.dtype == torch.float32
    assert torch.equal(ref, low)


@needs_bf16
@pytest.mark.parametrize("padding_mode", ["zeros", "reflect"])
def test_bf16_tiled_matches_untiled_and_stays_close_to_fp32(padding_mode) -> None:
    net = _strong_net(padding_mode=padding_mode)
    x = np.random.default_rng(0).random((70, 53, 3), dtype=np.float32)
    full = run_tiled(net, x, 2, tile=1000, dev=CPU, dtype=torch.bfloat16)
    tiled = run_tiled(net, x, 2, tile=24, dev=CPU, dtype=torch.bfloat16)
    assert np.abs(full - tiled).max() < 1e-5
    fp32 = run_tiled(net, x, 2, tile=1000, dev=CPU)
    diff = np.abs(full - fp32)
    assert 0 < diff.max() < 0.05  # a real bf16 path (not silently fp32), and a close one


@needs_bf16
def test_library_precision_option_reaches_the_network() -> None:
    import restore

    img = (np.random.default_rng(1).random((24, 20, 3)) * 255).astype(np.uint8)
    net = _strong_net()
    a = restore.upscale(img, 2, model=net, device="cpu", precision="fp32")
    b = restore.upscale(img, 2, model=net, device="cpu", precision="bf16")
    assert a.shape == b.shape == (48, 40, 3)
    assert not np.array_equal(a, b)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 12
    with pytest.raises(InputError, match="precision"):
        restore.upscale(img, 2, model=net, device="cpu", precision="double")


@needs_bf16
def test_inpaint_prefill_and_composite_stay_exact_under_bf16() -> None:
    import restore

    torch.manual_seed(0)
    net = UNet(widths=(8, 16), refine=(1,)).eval()
    rng = np.random.default_rng(2)
    img = (rng.random((48, 40, 3)) * 255).astype(np.uint8)
    mask = np.zeros((48, 40), bool)
    mask[10:20, 12:25] = True
    a = restore.inpaint(img, mask, model=net, device="cpu", precision="fp32")
    b = restore.inpaint(img, mask, model=net, device="cpu", precision="bf16")
    np.testing.assert_array_equal(a[~mask], img[~mask])
    np.testing.assert_array_equal(b[~mask], img[~mask])
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 3


def test_int8_is_never_a_torch_precision() -> None:
    with pytest.raises(InputError, match="ONNX Runtime"):
        resolve_precision("int8", CPU, True)
