"""The CNN family: every upsampler × padding mode × scale builds, runs forward and backward."""
from __future__ import annotations

import pytest
import torch

from restore.models import PADDING_MODES, UPSAMPLERS, SRNet, UNet, create_model, make_upsampler, supported_factors

torch.set_num_threads(1)


@pytest.mark.parametrize("padding_mode", PADDING_MODES)
@pytest.mark.parametrize("name", list(UPSAMPLERS))
@pytest.mark.parametrize("factor", [2, 3, 4])
def test_upsampler_shapes_and_grad(name: str, factor: int, padding_mode: str) -> None:
    if factor not in supported_factors(name):
        with pytest.raises(ValueError, match="does not support factor"):
            make_upsampler(name, 4, 3, factor, padding_mode=padding_mode)
        return
    up = make_upsampler(name, 4, 3, factor, padding_mode=padding_mode)
    x = torch.rand(2, 4, 7, 9, requires_grad=True)
    y = up(x)
    assert y.shape == (2, 3, 7 * factor, 9 * factor)
    y.square().mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("padding_mode", PADDING_MODES)
@pytest.mark.parametrize("upsampler", list(UPSAMPLERS))
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_srnet_every_combination(upsampler: str, scale: int, padding_mode: str) -> None:
    if scale not in supported_factors(upsampler):
        with pytest.raises(ValueError):
            SRNet(scale=scale, upsampler=upsampler, padding_mode=padding_mode)
        return
    net = SRNet(base_ch=8, n_blocks=1, scale=scale, upsampler=upsampler, padding_mode=padding_mode)
    x = torch.rand(2, 3, 11, 13)  # odd sizes on purpose
    y = net(x)
    assert y.shape == (2, 3, 11 * scale, 13 * scale)
    y.mean().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


@pytest.mark.parametrize("padding_mode", PADDING_MODES)
@pytest.mark.parametrize("upsampler", list(UPSAMPLERS))
def test_unet_every_combination(upsampler: str, padding_mode: str) -> None:
    net = UNet(widths=(4, 8, 8), upsampler=upsampler, padding_mode=padding_mode, n_bottleneck=1, refine=(1, 2))
    torch.nn.init.normal_(net.out.weight, std=0.1)  # the near-zero head would hide the decoder
    x = torch.rand(2, 3, 21, 19)
    holes = (torch.rand(2, 1, 21, 19) > 0.7).float()
    y = net(x, holes)
    assert y.shape == x.shape
    # known pixels come back untouched, holes are filled with something else
    assert torch.equal(y * (1 - holes), x * (1 - holes))
    y.mean().backward()
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None for g in grads)
    assert net.stem[0].weight.grad.abs().sum() > 0 and net.refine[0].conv.weight.grad.abs().sum() > 0


def test_unpool_uses_encoder_indices() -> None:
    """The U-Net's unpool stage receives the argmax indices of the encoder's 2×2 max-pool, and its output
    depends on them (moving each maximum to another corner of its block changes the result)."""
    torch.manual_seed(0)
    net = UNet(widths=(4, 8), upsampler="unpool", n_bottleneck=1).eval()
    net.out.reset_parameters()  # the last conv starts at zero; give the correction a voice
    assert net.uses_indices
    seen = []
    x, holes = torch.rand(1, 3, 16, 16), torch.zeros(1, 1, 16, 16)
    holes[..., 4:12, 4:12] = 1
    handle = net.up[0].register_forward_pre_hook(lambda _m, args: seen.append(args))
    with torch.no_grad():
        y = net(x, holes)
    handle.remove()
    feat, idx = seen[0]
    assert idx is not None and idx.dtype == torch.int64
    assert idx.shape[-2:] == feat.shape[-2:] and int(idx.max()) < (2 * feat.shape[-2]) * (2 * feat.shape[-1])

    def other_corner(_m, args):  # each index moved to another position of its 2×2 block
        f, i = args
        w = 2 * f.shape[-1]
        row, col = i // w, i % w
        return f, (row ^ 1) * w + col

    handle = net.up[0].register_forward_pre_hook(other_corner)
    with torch.no_grad():
        moved = net(x, holes)
    handle.remove()
    assert not torch.allclose(moved, y)


def test_sr_unpool_without_indices_is_bed_of_nails() -> None:
    up = make_upsampler("unpool", 1, 1, 2)
    with torch.no_grad():
        up.proj.weight.fill_(1.0)
        up.proj.bias.zero_()
        up.conv.weight.zero_()
        up.conv.weight[0, 0, 1, 1] = 1.0  # identity conv
        up.conv.bias.zero_()
    y = up(torch.ones(1, 1, 3, 3))
    assert torch.equal(y[0, 0, ::2, ::2], torch.ones(3, 3))
    assert y[0, 0, 1::2].abs().sum() == 0 and y[0, 0, :, 1::2].abs().sum() == 0


def test_pixelshuffle_icnr_starts_checkerboard_free() -> None:
    up = make_upsampler("pixelshuffle", 4, 3, 2)
    y = up(torch.rand(1, 4, 8, 8))
    # every 2×2 cell holds one value: ICNR makes the sub-pixel conv a nearest-neighbour upsampler
    assert torch.allclose(y[..., ::2, ::2], y[..., 1::2, 1::2])
    assert torch.allclose(y[..., ::2, ::2], y[..., ::2, 1::2])


def test_create_model_drops_none_overrides() -> None:
    net = create_model("srnet", scale=2, base_ch=None, upsampler=None)
    assert net.scale == 2 and net.head.out_channels == SRNet().head.out_channels
    with pytest.raises(ValueError, match="unknown architecture"):
        create_model("nope")
    with pytest.raises(ValueError, match="unknown upsampler"):
        create_model("srnet", upsampler="magic")
    with pytest.raises(ValueError, match="padding_mode"):
        create_model("srnet", padding_mode="mirror")


@pytest.mark.parametrize("structure", [0.0, 0.95])
def test_unet_tiny_and_odd_inputs(structure) -> None:
    net = UNet(widths=(4, 8, 8, 8), n_bottleneck=3, padding_mode="reflect", refine=(1, 4), fill={"structure": structure})
    g = torch.Generator().manual_seed(0)
    for h, w in [(1, 1), (5, 3), (33, 70)]:
        x = torch.rand(1, 3, h, w)
        for holes in (torch.ones(1, 1, h, w), (torch.rand(1, 1, h, w, generator=g) > 0.5).float()):
            y = net(x, holes)
            assert y.shape == (1, 3, h, w) and bool(torch.isfinite(y).all())


def test_onnx_export(tmp_path) -> None:
    pytest.importorskip("onnx")
    net = SRNet(base_ch=8, n_blocks=1, scale=2).eval()
    torch.onnx.export(net, (torch.rand(1, 3, 16, 16),), str(tmp_path / "m.onnx"), dynamo=False)
    assert (tmp_path / "m.onnx").stat().st_size > 0




def test_srnet_bicubic_skip_equals_interpolate() -> None:
    import torch.nn.functional as F

    for scale in (2, 3, 4):
        net = SRNet(base_ch=4, n_blocks=1, scale=scale).eval()
        x = torch.rand(1, 3, 11, 9)
        with torch.no_grad():
            feat = net.head(x)
            feat = feat + net.body_tail(net.body(feat))
            ref = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False) + net.up(feat)
            torch.testing.assert_close(net(x), ref, atol=1e-5, rtol=0)


def test_unet_starts_from_its_prefill() -> None:
    """With its head zeroed, a UNet returns its pre-fill (float32, the same settings it was built with), with
    known pixels untouched; the fresh head is small but not zero, so every layer gets a gradient at step 0."""
    from restore.fill import FillConfig, prefill

    net = UNet(widths=(4, 8, 8), n_bottleneck=1, fill={"structure": 0.9, "structure_sigma": 3.0}).eval()
    assert net.fill == FillConfig(structure=0.9, structure_sigma=3.0)
    assert float(net.out.weight.detach().abs().mean()) > 0
    torch.nn.init.zeros_(net.out.weight)
    yy, xx = torch.meshgrid(torch.arange(40), torch.arange(36), indexing="ij")
    img = ((yy - xx) // 4 % 2).float()[None, None].expand(1, 3, 40, 36).contiguous()
    holes = torch.zeros(1, 1, 40, 36)
    holes[..., 10:30, 8:24] = 1
    with torch.no_grad():
        y = net(img, holes)
    torch.testing.assert_close(y, prefill(img, holes, net.fill), atol=1e-6, rtol=0)
    keep = holes.expand_as(y) == 0
    assert torch.equal(y[keep], img[keep])


def _astronaut_batch(n: int = 4, size: int = 48):
    """A fixed batch of real-image crops with thin-stroke holes (scikit-image's bundled photo: no network)."""
    import numpy as np
    from skimage import data as skdata

    from restore.data import make_mask

    img = skdata.astronaut()[::2, ::2].astype(np.float32) / 255.0
    rng = np.random.default_rng(0)
    xs, ms = [], []
    for i in range(n):
        y, x = 40 + 50 * i, 60 + 30 * i
        xs.append(img[y:y + size, x:x + size])
        ms.append(make_mask("thin", size, size, rng) | make_mask("thin", size, size, rng))
    x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).contiguous()
    return x, torch.from_numpy(np.stack(ms)[:, None].astype(np.float32))


def test_unet_learns_beyond_its_prefill_on_a_fixed_batch() -> None:
    """A dead network cannot pass this: a few hundred steps of the real loss on one fixed batch must take the
    network clearly above its own pre-fill there (hole PSNR): a head that stays at zero, a gradient that does
    not reach the network or a loss that ignores the holes all fail it. (Measured: +19 dB after 300 steps;
    a network that does not train: +0.00.)"""
    from restore.train_inpaint import inpaint_loss

    torch.manual_seed(0)
    x, m = _astronaut_batch()
    net = UNet(widths=(8, 16), n_bottleneck=1, refine=(1, 2, 1))

    def hole_psnr(y):
        mse = float(((y - x) * m).square().sum() / (m.sum() * 3))
        return -10 * torch.log10(torch.tensor(mse)).item()

    with torch.no_grad():
        base = hole_psnr(net.prefill(x, m))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(200):
        loss = inpaint_loss(net(x, m), x, m)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        gain = hole_psnr(net(x, m)) - base
    assert gain > 2.0, f"the network gained only {gain:+.2f} dB over its pre-fill on a batch it trained on"


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_unet_under_cpu_autocast_is_finite_and_close(dtype) -> None:
    """Half-precision autocast (CUDA AMP uses float16, CPU training bfloat16): the pre-fill stays float32, so
    a hole far from any known pixel is not 0/0 = NaN, and the output stays close to the float32 one."""
    net = UNet(widths=(8, 16), n_bottleneck=1, refine=(1, 2)).eval()
    torch.nn.init.normal_(net.out.weight, std=0.01)
    x = torch.rand(1, 3, 96, 96)
    holes = torch.zeros(1, 1, 96, 96)
    holes[..., 18:78, 18:78] = 1  # 60×60: its centre is 30 px from known pixels
    with torch.no_grad():
        ref = net(x, holes)
        with torch.autocast("cpu", dtype=dtype):
            y = net(x, holes)
    assert y.dtype == torch.float32 and bool(torch.isfinite(y).all())
    assert float((y - ref).abs().max()) < 0.02


@pytest.mark.parametrize("factor", [2, 3, 4])
@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
def test_resize_conv_is_the_conv_of_the_upsampled_input(factor: int, padding_mode: str) -> None:
    """resize-conv computes its convolution before the upsampling where that is the same function (nearest,
    zero padding: restore.models.upsamplers.nearest_conv_phases); it must equal the textbook form everywhere,
    borders included, and so must its gradient."""
    import torch.nn.functional as F

    from restore.models.upsamplers import ResizeConv

    torch.manual_seed(factor)
    m = ResizeConv(6, 5, factor, padding_mode=padding_mode)
    x = torch.randn(2, 6, 7, 9, requires_grad=True)
    y = m(x)
    ref = m.conv(F.interpolate(x, scale_factor=factor, mode="nearest"))
    torch.testing.assert_close(y, ref, atol=2e-6, rtol=0)
    g = torch.randn_like(y)
    got = torch.autograd.grad(y, [x, m.conv.weight], g)
    want = torch.autograd.grad(ref, [x, m.conv.weight], g)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-5)


def test_sr_skip_join_in_place_keeps_values_and_gradients() -> None:
    """SRNet adds its residual in place into the float32 skip (no widening copy): the output and every
    parameter's gradient must equal the out-of-place sum's."""
    import torch.nn.functional as F

    torch.manual_seed(0)
    net = SRNet(base_ch=8, n_blocks=1, scale=2)
    x = torch.rand(2, 3, 9, 11)

    def reference(n: SRNet, x: torch.Tensor) -> torch.Tensor:
        feat = n.head(x)
        feat = feat + n.body_tail(n.body(feat))
        base = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), n.skip_kernel, groups=3)
        return n.up.shuffle(n.up.conv(feat) + base)

    y, ref = net(x), reference(net, x)
    torch.testing.assert_close(y, ref)
    g = torch.randn_like(y)
    params = list(net.parameters())
    for a, b in zip(torch.autograd.grad(y, params, g), torch.autograd.grad(reference(net, x), params, g)):
        torch.testing.assert_close(a, b)


# BT.601 colour differences (MATLAB's rgb2ycbcr rows, without offsets): an equal step in R, G and B leaves them
_CB = torch.tensor([-37.797, -74.203, 112.0]).view(1, 3, 1, 1) / 255
_CR = torch.tensor([112.0, -93.786, -18.214]).view(1, 3, 1, 1) / 255
_Y = torch.tensor([65.481, 128.553, 24.966]).view(1, 3, 1, 1) / 255


@pytest.mark.parametrize("upsampler", ["pixelshuffle", "resize-conv"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_a_luma_residual_moves_luma_only(scale: int, upsampler: str) -> None:
    """With ``luma_residual`` the output's colour differences are the bicubic skip's, whatever the weights."""
    torch.manual_seed(0)
    net = SRNet(base_ch=8, n_blocks=1, scale=scale, upsampler=upsampler, luma_residual=True).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.2 * torch.randn_like(p))
        x = torch.rand(1, 3, 9, 11)
        y = net(x)
        bicubic = torch.nn.functional.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
    for w in (_CB, _CR):
        torch.testing.assert_close((y * w).sum(1), (bicubic * w).sum(1), atol=2e-5, rtol=0)
    assert ((y - bicubic) * _Y).sum(1).abs().mean() > 1e-3  # and it does move luma


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_rgb_weights_become_a_luma_residual_with_the_same_luma(scale: int) -> None:
    """``luma_residual_state`` turns an RGB-residual network into the luma-residual one whose luma is the same."""
    from restore.models.sr import luma_residual_state

    torch.manual_seed(1)
    rgb = SRNet(base_ch=8, n_blocks=1, scale=scale).eval()
    with torch.no_grad():
        for p in rgb.parameters():
            p.add_(0.2 * torch.randn_like(p))
    luma = SRNet(base_ch=8, n_blocks=1, scale=scale, luma_residual=True).eval()
    luma.load_state_dict(luma_residual_state(rgb.state_dict(), scale))
    x = torch.rand(2, 3, 10, 7)
    with torch.no_grad():
        a, b = rgb(x), luma(x)
    torch.testing.assert_close((a * _Y).sum(1), (b * _Y).sum(1), atol=2e-5, rtol=0)
    assert (a - b).abs().max() > 1e-2  # the colours are no longer the RGB network's


def test_a_luma_residual_needs_rgb_and_a_scale() -> None:
    with pytest.raises(ValueError, match="luma residual"):
        SRNet(scale=1, unshuffle=2, luma_residual=True)
    with pytest.raises(ValueError, match="luma residual"):
        SRNet(in_ch=1, out_ch=1, luma_residual=True)


def test_luma_conversion_covers_a_resize_conv_and_refuses_a_transposed_upsampler() -> None:
    from restore.models.sr import luma_residual_state

    torch.manual_seed(2)
    rgb = SRNet(base_ch=8, n_blocks=1, scale=2, upsampler="resize-conv").eval()
    luma = SRNet(base_ch=8, n_blocks=1, scale=2, upsampler="resize-conv", luma_residual=True).eval()
    luma.load_state_dict(luma_residual_state(rgb.state_dict(), 2))
    x = torch.rand(1, 3, 9, 8)
    with torch.no_grad():
        torch.testing.assert_close((rgb(x) * _Y).sum(1), (luma(x) * _Y).sum(1), atol=2e-5, rtol=0)
    with pytest.raises(ValueError, match="ends in one convolution"):
        luma_residual_state(SRNet(base_ch=8, n_blocks=1, scale=2, upsampler="transposed-k4s2").state_dict(), 2)
