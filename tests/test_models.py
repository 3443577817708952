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
    net = UNet(widths=(4, 8, 8), upsampler=upsampler, padding_mode=padding_mode, n_bottleneck=1)
    torch.nn.init.normal_(net.out.weight, std=0.1)  # the zero-initialised head would hide the decoder
    x = torch.rand(2, 3, 21, 19)
    holes = (torch.rand(2, 1, 21, 19) > 0.7).float()
    y = net(x, holes)
    assert y.shape == x.shape
    # known pixels come back untouched, holes are filled with something else
    assert torch.equal(y * (1 - holes), x * (1 - holes))
    y.mean().backward()
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None for g in grads)
    assert net.stem[0].weight.grad.abs().sum() > 0


def test_unpool_uses_encoder_indices() -> None:
    net = UNet(widths=(4, 8), upsampler="unpool", n_bottleneck=1)
    assert net.uses_indices
    calls = []
    orig = torch.nn.functional.max_unpool2d

    def spy(*a, **k):
        calls.append(a[1].shape)
        return orig(*a, **k)

    torch.nn.functional.max_unpool2d = spy
    try:
        net(torch.rand(1, 3, 16, 16), torch.zeros(1, 1, 16, 16))
    finally:
        torch.nn.functional.max_unpool2d = orig
    assert calls, "the U-Net's unpool stage must use max-unpooling with the encoder's indices"


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
    net = UNet(widths=(4, 8, 8, 8), n_bottleneck=3, padding_mode="reflect", fill_structure=structure)
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


# axis, diagonal-leaning and mixed stencils on the (horizontal, vertical, ↘, ↗) pairs
STENCILS = [(0.5, 0.5, 0, 0), (0.8, 0.2, 0, 0), (0.2, 0.8, 0, 0), (0.1, 0.1, 0.7, 0.1), (0.1, 0.1, 0.1, 0.7)]


def _dense_jacobi(f, free, iters, stencil):
    """Reference: whole-image Jacobi sweeps with replicate borders, one (4,) stencil per batch item."""
    import torch.nn.functional as F

    st = torch.as_tensor(stencil, dtype=f.dtype)
    if st.dim() < 4:
        st = st.reshape(-1, 4)[:, :, None, None].expand(f.shape[0], 4, 1, 1)
    st = (st / st.sum(1, keepdim=True))[:, :, None] / 2  # (B, 4, 1, H|1, W|1)
    for _ in range(iters):
        p = F.pad(f, (1, 1, 1, 1), mode="replicate")
        c = p[..., 1:-1, 1:-1]
        pairs = (p[..., 1:-1, :-2] + p[..., 1:-1, 2:], p[..., :-2, 1:-1] + p[..., 2:, 1:-1],
                 p[..., :-2, :-2] + p[..., 2:, 2:], p[..., :-2, 2:] + p[..., 2:, :-2])
        avg = sum(st[:, k] * pr for k, pr in enumerate(pairs))
        f = torch.where(free, avg, c)
    return f


@pytest.mark.parametrize("shape", [(2, 3, 37, 53), (1, 3, 5, 4), (1, 1, 1, 7), (1, 3, 16, 16)])
def test_sparse_jacobi_equals_dense_sweeps(shape) -> None:
    """The gather-based sweeps update only free pixels but must equal whole-image Jacobi sweeps
    (replicate borders), including free pixels on the border, for axis, diagonal and per-item stencils."""
    from restore.models.unet import _jacobi

    g = torch.Generator().manual_seed(0)
    f = torch.rand(shape, generator=g)
    free = torch.rand((shape[0], 1, *shape[2:]), generator=g) > 0.5
    free[..., 0, 0] = True
    iso = (0.5, 0.5, 0, 0)
    torch.testing.assert_close(_jacobi(f, free, 13), _dense_jacobi(f, free, 13, iso), atol=1e-6, rtol=0)
    torch.testing.assert_close(_jacobi(f, free, 7, 0.7), _dense_jacobi(f, free, 7, (0.7, 0.3, 0, 0)),
                               atol=1e-6, rtol=0)
    for st in STENCILS:
        torch.testing.assert_close(_jacobi(f, free, 9, st), _dense_jacobi(f, free, 9, st), atol=1e-6, rtol=0)
    per_item = torch.tensor(STENCILS[-2:])[: shape[0]]
    torch.testing.assert_close(_jacobi(f, free, 9, per_item), _dense_jacobi(f, free, 9, per_item),
                               atol=1e-6, rtol=0)
    # one stencil per pixel
    field = torch.rand((shape[0], 4, *shape[2:]), generator=g) + 0.01
    torch.testing.assert_close(_jacobi(f, free, 9, field), _dense_jacobi(f, free, 9, field), atol=1e-6, rtol=0)
    assert _jacobi(f, torch.zeros_like(free), 5) is f


def test_stencil_checks() -> None:
    from restore.models.unet import _jacobi

    f, free = torch.rand(1, 3, 8, 8), torch.ones(1, 1, 8, 8, dtype=torch.bool)
    for bad in ((1, 0, 0), (-1, 1, 1, 1), (0, 0, 0, 0), torch.zeros(1, 4, 8, 8), torch.ones(1, 3, 8, 8)):
        with pytest.raises(ValueError, match="stencil"):
            _jacobi(f, free, 1, bad)
    with pytest.raises(ValueError, match="fill_structure"):
        UNet(widths=(4, 8), fill_structure=1.5)


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


def test_pyramid_fill_horizontal_share_follows_level_structure() -> None:
    """Horizontal stripes through a hole: weighting the horizontal neighbours continues them better, and
    the transposed image (vertical stripes) shows the opposite — the setting is a direction, not a blur."""
    from restore.models.unet import pyramid_fill

    rows = (torch.arange(64) // 4 % 2).float()
    img = rows[None, None, :, None].expand(1, 3, 64, 64).contiguous()
    holes = torch.zeros(1, 1, 64, 64)
    holes[..., 20:44, 20:44] = 1

    def err(x, horizontal):
        y = pyramid_fill(x, holes, stencil=horizontal)
        return float(((y - x) ** 2 * holes).sum())

    assert err(img, 0.7) < err(img, 0.5)
    vert = img.transpose(-1, -2).contiguous()
    assert err(vert, 0.7) > err(vert, 0.5)


def _stripes(kind: str) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    v = {"rows": yy, "cols": xx, "diag": yy - xx, "anti": yy + xx}[kind]
    return (v // 4 % 2).float()[None, None].expand(1, 3, 64, 64).contiguous()


@pytest.mark.parametrize("kind, pair", [("rows", 0), ("cols", 1), ("diag", 2), ("anti", 3)])
def test_structure_stencils_follow_the_stripes_into_the_hole(kind, pair) -> None:
    """Stripes through a square hole: at the hole's centre (no known pixel within 12 px) the stencil leans
    on the neighbour pair along the stripes, and the guided fill continues them better than the isotropic
    one and than the stencil across them."""
    from restore.models.unet import guided_fill, pyramid_fill, structure_stencils

    img = _stripes(kind)
    holes = torch.zeros(1, 1, 64, 64)
    holes[..., 20:44, 20:44] = 1
    st = structure_stencils(img, holes, strength=0.95, sigma=4.0)
    assert st.shape == (1, 4, 64, 64)
    torch.testing.assert_close(st.sum(1), torch.ones(1, 64, 64))
    assert int(st[0, :, 32, 32].argmax()) == pair and float(st[0, pair, 32, 32]) > 0.6

    def err(y):
        return float(((y - img) ** 2 * holes).sum())

    across = [(0.2, 0.8, 0, 0), (0.8, 0.2, 0, 0), (0.1, 0.1, 0.1, 0.7), (0.1, 0.1, 0.7, 0.1)][pair]
    guided = err(guided_fill(img, holes))
    assert guided < err(pyramid_fill(img, holes)) < err(pyramid_fill(img, holes, stencil=across))
    assert torch.equal(guided_fill(img, holes, structure=0.0), pyramid_fill(img, holes))


def test_structure_stencils_without_holes_or_structure() -> None:
    """No hole: the tensor comes from every pixel; a flat image has no orientation (isotropic stencil)."""
    from restore.models.unet import structure_stencils

    st = structure_stencils(torch.full((2, 3, 16, 20), 0.3), torch.zeros(2, 1, 16, 20))
    torch.testing.assert_close(st, torch.tensor([0.5, 0.5, 0, 0])[None, :, None, None].expand(2, 4, 16, 20))


def test_unet_structure_prefill_is_its_starting_point() -> None:
    """A fresh UNet (zero output conv) returns its pre-fill — the guided fill when fill_structure > 0 — with
    known pixels untouched."""
    from restore.models.unet import guided_fill

    net = UNet(widths=(4, 8, 8), n_bottleneck=1, fill_structure=0.9, fill_structure_sigma=3.0).eval()
    img = _stripes("diag")[..., :40, :36]
    holes = torch.zeros(1, 1, 40, 36)
    holes[..., 10:30, 8:24] = 1
    with torch.no_grad():
        y = net(img, holes)
    ref = guided_fill(img, holes, structure=0.9, structure_sigma=3.0, **net.fill)
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=0)
    keep = holes.expand_as(y) == 0
    assert torch.equal(y[keep], img[keep])
