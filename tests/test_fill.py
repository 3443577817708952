"""The classical pre-fill (restore.fill): sparse Jacobi sweeps, push–pull, orientation-guided stencils, its
config object, and float32 under autocast."""
from __future__ import annotations

import pytest
import torch

from restore.fill import FillConfig, prefill

torch.set_num_threads(1)


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


@pytest.mark.parametrize("path", ["sparse", "gather"])
@pytest.mark.parametrize("shape", [(2, 3, 37, 53), (1, 3, 5, 4), (1, 1, 1, 7), (1, 3, 16, 16)])
def test_sparse_jacobi_equals_dense_sweeps(shape, path, monkeypatch) -> None:
    """The sweeps update only free pixels (as a sparse product, or a gather and a batched product: both
    paths) but must equal whole-image Jacobi sweeps (replicate borders), including free pixels on the border,
    for axis, diagonal, per-item and per-pixel stencils, whatever the input's memory layout."""
    from restore import fill
    from restore.fill import _jacobi

    monkeypatch.setattr(fill, "SPARSE_MIN", 0 if path == "sparse" else 1 << 62)
    g = torch.Generator().manual_seed(0)
    f = torch.rand(shape, generator=g)
    if shape[0] == 1:
        f = f.contiguous(memory_format=torch.channels_last)  # as the engine's crops are
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
    from restore.fill import _jacobi

    f, free = torch.rand(1, 3, 8, 8), torch.ones(1, 1, 8, 8, dtype=torch.bool)
    for bad in ((1, 0, 0), (-1, 1, 1, 1), (0, 0, 0, 0), torch.zeros(1, 4, 8, 8), torch.ones(1, 3, 8, 8)):
        with pytest.raises(ValueError, match="stencil"):
            _jacobi(f, free, 1, bad)
    with pytest.raises(ValueError, match="structure"):
        FillConfig(structure=1.5)
    with pytest.raises(ValueError, match="unknown fill setting"):
        FillConfig.from_dict({"horizontal": 0.5})


def test_pyramid_fill_horizontal_share_follows_level_structure() -> None:
    """Horizontal stripes through a hole: weighting the horizontal neighbours continues them better, and
    the transposed image (vertical stripes) shows the opposite — the setting is a direction, not a blur."""
    from restore.fill import pyramid_fill

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
    from restore.fill import guided_fill, pyramid_fill, structure_stencils

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
    from restore.fill import structure_stencils

    st = structure_stencils(torch.full((2, 3, 16, 20), 0.3), torch.zeros(2, 1, 16, 20))
    torch.testing.assert_close(st, torch.tensor([0.5, 0.5, 0, 0])[None, :, None, None].expand(2, 4, 16, 20))




@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_prefill_is_float32_under_autocast(dtype) -> None:
    """push–pull's num / den underflows in float16 (a 60×60 hole became 100 % NaN under CPU fp16 autocast):
    the pre-fill runs in float32 whatever the autocast state, and equals its float32 result."""
    x = torch.rand(1, 3, 96, 96)
    holes = torch.zeros(1, 1, 96, 96)
    holes[..., 18:78, 18:78] = 1
    ref = prefill(x, holes)
    with torch.autocast("cpu", dtype=dtype):
        y = prefill(x.to(dtype), holes.to(dtype))
    assert y.dtype == torch.float32 and bool(torch.isfinite(y).all())
    torch.testing.assert_close(y, prefill(x.to(dtype).float(), holes), atol=1e-6, rtol=0)
    assert ref.shape == y.shape


def test_fill_config_round_trip() -> None:
    cfg = FillConfig(iters=7, structure=0.5)
    assert FillConfig.from_dict(cfg.to_dict()) == cfg and FillConfig.from_dict(None) == FillConfig()
    for bad in ({"iters": -1}, {"growth": 0.5}, {"structure_sigma": 0}):
        with pytest.raises(ValueError):
            FillConfig.from_dict(bad)
