"""Tests for the standalone `pyramids` package (torch pyramids, OpenCV parity, blending)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import pyramids
import pyramids.numpy as pnp
from pyramids import (
    PADDING_MODES,
    Blend,
    GaussianPyramid,
    LaplacianPyramid,
    LaplacianStep,
    PyrDown,
    PyrUp,
    Reconstruct,
    blend,
    gaussian_pyramid,
    laplacian_pyramid,
    max_levels,
    pyr_down,
    pyr_up,
    pyr_up_residual,
    reconstruct,
)

SETTINGS = settings(max_examples=50, deadline=None)
KERNELS = [None, (1.0, 2.0, 1.0), (1.0,), (1.0, 3.0, 5.0, 3.0, 1.0), (1.0, 2.0, 3.0, 4.0, 0.5, 1.0, 2.0)]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny tensors: thread start-up/barriers dominate, and on a loaded 2-core box a
    # 2-thread barrier can stall for a scheduler tick per op.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@contextlib.contextmanager
def strip_path_for_all_sizes():
    """Make pyr_down use its conv + border-strip path even for small images."""
    old = pyramids.core._FAST_DOWN_MIN_PIXELS
    pyramids.core._FAST_DOWN_MIN_PIXELS = 0
    try:
        yield
    finally:
        pyramids.core._FAST_DOWN_MIN_PIXELS = old


def rand(*shape: int, dtype: torch.dtype = torch.float64, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


# ---------------------------------------------------------------------------
# NumPy reference implementations (independent of the fast/strip code paths)
# ---------------------------------------------------------------------------

_NP_MODE = {"reflect": "reflect", "replicate": "edge", "zeros": "constant", "circular": "wrap"}


def _norm(kernel) -> np.ndarray:
    k = np.asarray([1, 4, 6, 4, 1] if kernel is None else kernel, dtype=np.float64)
    return k / k.sum()


def _correlate_axis(x: np.ndarray, k: np.ndarray, axis: int) -> np.ndarray:
    """Valid correlation along axis."""
    n = x.shape[axis] - len(k) + 1
    return sum(k[t] * np.take(x, np.arange(t, t + n), axis=axis) for t in range(len(k)))


def ref_down(x: np.ndarray, kernel=None, padding="reflect") -> np.ndarray:
    k = _norm(kernel)
    r = len(k) // 2
    xp = np.pad(x, [(r, r), (r, r)], mode=_NP_MODE[padding])
    y = _correlate_axis(_correlate_axis(xp, k, 0), k, 1)
    return y[::2, ::2]


def _pad_coarse(x: np.ndarray, p: int, axis: int, padding: str) -> np.ndarray:
    widths = [(0, 0), (0, 0)]
    if padding == "reflect":  # reflect-101 on the zero-inserted signal: 101 left, symmetric right
        widths[axis] = (p, 0)
        x = np.pad(x, widths, mode="reflect")
        widths[axis] = (0, p)
        return np.pad(x, widths, mode="symmetric")
    widths[axis] = (p, p)
    return np.pad(x, widths, mode=_NP_MODE[padding])


def ref_up(x: np.ndarray, size=None, kernel=None, padding="reflect") -> np.ndarray:
    """Pad the coarse image, insert zeros, correlate with 2*k per axis, crop."""
    k = _norm(kernel) * 2
    r = len(k) // 2
    h, w = x.shape
    oh, ow = size or (2 * h, 2 * w)
    p = r + 2
    y = x
    for axis, m in ((0, oh), (1, ow)):
        y = _pad_coarse(y, p, axis, padding)
        n = y.shape[axis]
        shape = list(y.shape)
        shape[axis] = 2 * n
        u = np.zeros(shape)
        idx = [slice(None), slice(None)]
        idx[axis] = slice(0, None, 2)
        u[tuple(idx)] = y
        # fine position of coarse sample 0 is 2p; output j needs fine j - r .. j + r
        start = 2 * p - r
        u = np.take(u, np.arange(start, start + m + 2 * r), axis=axis)
        y = _correlate_axis(u, k, axis)
    if padding == "reflect" and ow == 2 * w + 1:
        y[:, -1] = y[:, -2]  # cv2.pyrUp's extra column
    return y


def to_t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))[None, None]


# ---------------------------------------------------------------------------
# exact reconstruction and reference agreement (property based)
# ---------------------------------------------------------------------------


@st.composite
def image_and_levels(draw):
    h = draw(st.integers(1, 40))
    w = draw(st.integers(1, 40))
    levels = draw(st.integers(1, max_levels(h, w)))
    padding = draw(st.sampled_from(PADDING_MODES))
    b, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**16))
    return rand(b, c, h, w, seed=seed), levels, padding


@SETTINGS
@given(image_and_levels())
def test_reconstruction_is_exact(case):
    x, levels, padding = case
    pyr = laplacian_pyramid(x, levels, padding=padding)
    assert len(pyr) == levels
    assert pyr[0].shape == x.shape
    for fine, coarse in zip(pyr[:-1], pyr[1:]):
        assert coarse.shape[-2:] == ((fine.shape[-2] + 1) // 2, (fine.shape[-1] + 1) // 2)
    torch.testing.assert_close(reconstruct(pyr, padding=padding), x, rtol=0, atol=1e-12)


@pytest.mark.parametrize("padding", PADDING_MODES)
@pytest.mark.parametrize("size", [(1, 1), (1, 9), (9, 1), (2, 2), (17, 24), (33, 32)])
def test_reconstruction_float32_every_padding(padding, size):
    x = rand(2, 3, *size, dtype=torch.float32)
    levels = max_levels(*size)
    torch.testing.assert_close(reconstruct(laplacian_pyramid(x, levels, padding=padding), padding=padding), x, rtol=0, atol=1e-6)


@SETTINGS
@given(
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    padding=st.sampled_from(PADDING_MODES),
    kernel=st.sampled_from(KERNELS),
    dh=st.sampled_from([-1, 0, 1]),
    dw=st.sampled_from([-1, 0, 1]),
    seed=st.integers(0, 2**16),
)
def test_matches_numpy_reference(h, w, padding, kernel, dh, dw, seed):
    """Covers both the strip-corrected fast path (large) and the padded path (small)."""
    x = rand(h, w, seed=seed).numpy()
    want = ref_down(x, kernel, padding)
    np.testing.assert_allclose(pyr_down(to_t(x), kernel=kernel, padding=padding)[0, 0].numpy(), want, rtol=0, atol=1e-12)
    with strip_path_for_all_sizes():
        got = pyr_down(to_t(x), kernel=kernel, padding=padding)[0, 0].numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    size = (2 * h + dh if dh else 2 * h, 2 * w + dw if dw else 2 * w)
    got = pyr_up(to_t(x), size, kernel=kernel, padding=padding)[0, 0].numpy()
    np.testing.assert_allclose(got, ref_up(x, size, kernel, padding), rtol=0, atol=1e-12)


def test_reflect_up_is_reflect101_of_zero_inserted_signal():
    """The definition behind "reflect" for pyr_up, checked independently of ref_up."""
    x = rand(5, 7, seed=3).numpy()
    u = np.zeros((10, 14))
    u[::2, ::2] = x
    k = _norm(None) * 2
    want = _correlate_axis(_correlate_axis(np.pad(u, 2, mode="reflect"), k, 0), k, 1)
    np.testing.assert_allclose(pyr_up(to_t(x))[0, 0].numpy(), want, atol=1e-12)


# ---------------------------------------------------------------------------
# OpenCV parity
# ---------------------------------------------------------------------------

PARITY_SIZES = [(1, 1), (1, 6), (6, 1), (2, 3), (3, 2), (5, 5), (8, 8), (9, 14), (16, 11), (23, 30), (32, 32)]


def _cv_in(h: int, w: int, c: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).random((h, w, c) if c == 3 else (h, w), dtype=np.float32)
    return a


def _as_t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a).permute(2, 0, 1)[None] if a.ndim == 3 else torch.from_numpy(a)[None, None]


def _as_np(t: torch.Tensor) -> np.ndarray:
    return t[0].permute(1, 2, 0).numpy() if t.shape[1] == 3 else t[0, 0].numpy()


@pytest.mark.parametrize("c", [1, 3])
@pytest.mark.parametrize("hw", PARITY_SIZES)
def test_pyr_down_matches_cv2(hw, c):
    a = _cv_in(*hw, c, seed=1)
    np.testing.assert_allclose(_as_np(pyr_down(_as_t(a))), cv2.pyrDown(a), rtol=0, atol=1e-5)


@pytest.mark.parametrize("c", [1, 3])
@pytest.mark.parametrize("hw", PARITY_SIZES)
def test_pyr_up_matches_cv2_all_dstsizes(hw, c):
    h, w = hw
    a = _cv_in(h, w, c, seed=2)
    for oh in sorted({2 * h - 1, 2 * h, 2 * h + 1}):
        for ow in sorted({2 * w - 1, 2 * w, 2 * w + 1}):
            if w == 1 and ow == 3:
                continue  # cv2 leaves that column uninitialised for 1-pixel-wide input (OpenCV bug)
            want = cv2.pyrUp(a, dstsize=(ow, oh)).reshape((oh, ow) + a.shape[2:])
            got = _as_np(pyr_up(_as_t(a), (oh, ow)))
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-5, err_msg=f"{hw} -> {(oh, ow)}")


def test_laplacian_pyramid_matches_cv2_loop():
    a = _cv_in(37, 50, 3, seed=4)
    g = [a]
    for _ in range(3):
        g.append(cv2.pyrDown(g[-1]))
    want = [f - cv2.pyrUp(c, dstsize=f.shape[1::-1]) for f, c in zip(g[:-1], g[1:])] + [g[-1]]
    got = laplacian_pyramid(_as_t(a), 4)
    for gt, wt in zip(got, want):
        np.testing.assert_allclose(_as_np(gt), wt, rtol=0, atol=1e-5)


# ---------------------------------------------------------------------------
# autograd, batching, dtypes, devices
# ---------------------------------------------------------------------------


def test_gradcheck_pyr_down():
    x = rand(1, 2, 11, 10).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: pyr_down(t), (x,))
    with strip_path_for_all_sizes():
        assert torch.autograd.gradcheck(lambda t: pyr_down(t), (x,))


@pytest.mark.parametrize("padding", PADDING_MODES)
def test_large_image_strip_path(padding):
    """Above the size threshold pyr_down fixes up borders of a zero-padded conv; check it for real."""
    x = rand(1, 3, 259, 262, dtype=torch.float32, seed=9)
    assert 259 * 262 >= pyramids.core._FAST_DOWN_MIN_PIXELS
    got = pyr_down(x, padding=padding)
    for c in range(3):
        np.testing.assert_allclose(got[0, c].numpy(), ref_down(x[0, c].double().numpy(), None, padding), atol=1e-6)
    k = torch.tensor([1.0, 2.0, 3.0, 2.0, 1.0])  # tensor kernel: the conv (not slicing) strips
    np.testing.assert_allclose(
        pyr_down(x[:, :1], kernel=k.requires_grad_(), padding=padding)[0, 0].detach().numpy(),
        ref_down(x[0, 0].double().numpy(), k.tolist(), padding),
        atol=1e-6,
    )


@pytest.mark.parametrize("shape,size", [((1, 2, 3, 4), (5, 9)), ((1, 2, 6, 7), (12, 13))])
def test_gradcheck_pyr_up(shape, size):
    x = rand(*shape).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: pyr_up(t, size), (x,))


def test_gradcheck_laplacian_reconstruct_and_kernel():
    x = rand(1, 1, 7, 6).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: reconstruct(laplacian_pyramid(t, 3)), (x,))
    assert torch.autograd.gradcheck(lambda t: sum(b.square().sum() for b in laplacian_pyramid(t, 3)), (x,))
    k = torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda kk: pyr_down(x.detach(), kernel=kk), (k,))


def test_gradcheck_blend():
    a, b = rand(1, 1, 6, 5, seed=1), rand(1, 1, 6, 5, seed=2)
    m = rand(1, 1, 6, 5, seed=3).requires_grad_()
    assert torch.autograd.gradcheck(lambda mm: blend(a, b, mm, 2), (m,))


@pytest.mark.parametrize("padding", PADDING_MODES)
def test_batch_and_channel_independence(padding):
    x = rand(3, 4, 19, 22, seed=5)
    for fn in (
        lambda t: pyr_down(t, padding=padding),
        lambda t: pyr_up(t, (37, 44), padding=padding),
        lambda t: laplacian_pyramid(t, 3, padding=padding)[1],
    ):
        full = fn(x)
        for i in range(3):
            torch.testing.assert_close(fn(x[i : i + 1]), full[i : i + 1], rtol=0, atol=1e-12)
        perm = torch.tensor([2, 0, 3, 1])
        torch.testing.assert_close(fn(x[:, perm]), full[:, perm], rtol=0, atol=1e-12)
        torch.testing.assert_close(fn(x[:, 1:2]), full[:, 1:2], rtol=0, atol=1e-12)


@pytest.mark.parametrize("padding", PADDING_MODES)
def test_padding_modes_differ_only_at_borders(padding):
    x = rand(1, 3, 24, 24, seed=6)
    y, ref = pyr_down(x, padding=padding), pyr_down(x, padding="zeros")
    torch.testing.assert_close(y[..., 1:-1, 1:-1], ref[..., 1:-1, 1:-1], rtol=0, atol=1e-12)
    if padding != "zeros":
        assert not torch.allclose(y[..., 0, :], ref[..., 0, :])
        # a constant image stays constant with every mode but zeros
        const = torch.full((1, 2, 9, 7), 0.25, dtype=torch.float64)
        torch.testing.assert_close(pyr_down(const, padding=padding), torch.full((1, 2, 5, 4), 0.25, dtype=torch.float64))
        torch.testing.assert_close(pyr_up(const, (17, 15), padding=padding), torch.full((1, 2, 17, 15), 0.25, dtype=torch.float64))


@pytest.mark.parametrize("padding", PADDING_MODES[:2] + PADDING_MODES[3:])
def test_one_pixel_axis_behaves_like_constant_rows(padding):
    """Reflect-101 of a 1-pixel axis degenerates to replicate (as in OpenCV), like the others."""
    x = rand(1, 2, 1, 9)
    tall = x.expand(-1, -1, 6, -1)  # identical rows: any non-zero padding keeps them identical
    torch.testing.assert_close(pyr_down(x, padding=padding), pyr_down(tall, padding=padding)[..., :1, :], rtol=0, atol=1e-12)
    torch.testing.assert_close(pyr_up(x, padding=padding), pyr_up(tall, padding=padding)[..., :2, :], rtol=0, atol=1e-12)
    for fn in (pyr_down, pyr_up):
        torch.testing.assert_close(fn(x.mT, padding=padding), fn(x, padding=padding).mT, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype,atol", [(torch.float16, 5e-3), (torch.bfloat16, 4e-2)])
def test_half_precision(dtype, atol):
    x = rand(2, 3, 21, 18, dtype=torch.float32, seed=7)
    try:
        pyr = laplacian_pyramid(x.to(dtype), 3)
    except RuntimeError as e:  # pragma: no cover - depends on the torch build
        pytest.skip(f"{dtype} convolution not supported on CPU: {e}")
    assert all(p.dtype == dtype for p in pyr)
    ref = laplacian_pyramid(x, 3)
    for p, r in zip(pyr, ref):
        torch.testing.assert_close(p.float(), r, rtol=0, atol=atol)
    torch.testing.assert_close(reconstruct(pyr).float(), x, rtol=0, atol=atol)
    assert pyr_up(pyr[-1], (11, 9)).dtype == dtype


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    x = rand(2, 3, 37, 26, dtype=torch.float32)
    for padding in PADDING_MODES:
        pc = laplacian_pyramid(x, 4, padding=padding)
        pg = laplacian_pyramid(x.cuda(), 4, padding=padding)
        for a, b in zip(pc, pg):
            torch.testing.assert_close(b.cpu(), a, rtol=0, atol=1e-5)
        torch.testing.assert_close(reconstruct(pg, padding=padding).cpu(), x, rtol=0, atol=1e-5)


def test_noncontiguous_and_channels_last_inputs():
    x = rand(2, 3, 20, 26, seed=8)
    ref = laplacian_pyramid(x, 4)
    for variant in (x.contiguous(memory_format=torch.channels_last), x.transpose(-1, -2).contiguous().transpose(-1, -2), x[..., ::1, :]):
        for a, b in zip(laplacian_pyramid(variant, 4), ref):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    # the zero-copy view of an H×W×C array (batch stride 3) works and is not mutated
    a = np.random.default_rng(0).random((20, 26, 3))
    t = torch.from_numpy(a).permute(2, 0, 1)[None]
    before = a.copy()
    torch.testing.assert_close(pyr_down(t), pyr_down(t.contiguous()), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(a, before)


# ---------------------------------------------------------------------------
# levels
# ---------------------------------------------------------------------------


def test_max_levels_values():
    assert [max_levels(n, n) for n in (1, 2, 3, 4, 5, 8, 9, 16, 17)] == [1, 2, 3, 3, 4, 4, 5, 5, 6]
    assert max_levels(1, 40) == 7 and max_levels(40, 1) == 7 and max_levels(5, 3) == 4


@pytest.mark.parametrize("hw", [(1, 1), (1, 2), (3, 5), (16, 16), (17, 2), (40, 33)])
def test_max_levels_is_precise(hw):
    x = rand(1, 1, *hw)
    n = max_levels(*hw)
    g = gaussian_pyramid(x, n)
    assert g[-1].shape[-2:] == (1, 1)
    assert n == 1 or g[-2].shape[-2:] != (1, 1)
    with pytest.raises(ValueError, match=f"at most {n} fit"):
        gaussian_pyramid(x, n + 1)
    with pytest.raises(ValueError, match=f"at most {n} fit"):
        laplacian_pyramid(x, n + 1)


# ---------------------------------------------------------------------------
# blending
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("padding", PADDING_MODES)
def test_blend_far_from_seam_is_untouched(padding):
    levels = 4
    a, b = rand(2, 3, 24, 160, seed=1), rand(2, 3, 24, 160, seed=2)
    mask = torch.zeros(2, 1, 24, 160, dtype=torch.float64)
    mask[..., :80] = 1
    out = blend(a, b, mask, levels, padding=padding)
    # influence radius of a 4-level pyramid with the 5-tap kernel: < 4 * 2**(levels-1) = 32 px
    margin = 4 * 2 ** (levels - 1) + 2
    # with circular padding there is a second seam where the image wraps around
    lo, hi = (margin, 160 - margin) if padding == "circular" else (0, 160)
    torch.testing.assert_close(out[..., lo : 80 - margin], a[..., lo : 80 - margin], rtol=0, atol=1e-12)
    torch.testing.assert_close(out[..., 80 + margin : hi], b[..., 80 + margin : hi], rtol=0, atol=1e-12)
    # and the seam really is blended
    assert not torch.allclose(out[..., 76:84], torch.where(mask.bool(), a, b)[..., 76:84])


@pytest.mark.parametrize("padding", PADDING_MODES)
def test_blend_constant_masks(padding):
    a, b = rand(1, 3, 13, 17, seed=1), rand(1, 3, 13, 17, seed=2)
    ones = torch.ones(1, 1, 13, 17, dtype=torch.float64)
    torch.testing.assert_close(blend(a, b, ones, 4, padding=padding), a, rtol=0, atol=1e-12)
    torch.testing.assert_close(blend(a, b, ones * 0, 4, padding=padding), b, rtol=0, atol=1e-12)
    # bool mask, per-channel mask and a mask batch of 1 broadcast over the batch
    a2, b2 = a.expand(2, -1, -1, -1), b.expand(2, -1, -1, -1)
    torch.testing.assert_close(blend(a2, b2, ones.bool().expand(1, 3, -1, -1), 3, padding=padding), a2, rtol=0, atol=1e-12)


def test_blend_half_and_half_mask_is_average():
    a, b = rand(1, 2, 16, 16, seed=1), rand(1, 2, 16, 16, seed=2)
    out = blend(a, b, torch.full((1, 1, 16, 16), 0.5, dtype=torch.float64), 3)
    torch.testing.assert_close(out, (a + b) / 2, rtol=0, atol=1e-12)


def test_blend_errors():
    a = rand(1, 3, 8, 8)
    with pytest.raises(ValueError, match="same shape"):
        blend(a, rand(1, 3, 8, 9), rand(1, 1, 8, 8), 2)
    with pytest.raises(ValueError, match="mask must have shape"):
        blend(a, a, rand(1, 2, 8, 8), 2)
    with pytest.raises(TypeError, match="dtype"):
        blend(a, a.float(), rand(1, 1, 8, 8), 2)
    with pytest.raises(TypeError):
        blend(a, a, torch.ones(1, 1, 8, 8, dtype=torch.int64), 2)
    with pytest.raises(ValueError, match="at most 4 fit"):
        blend(a, a, rand(1, 1, 8, 8), 5)


# ---------------------------------------------------------------------------
# LapSRN hook and module wrappers
# ---------------------------------------------------------------------------


def test_pyr_up_residual_and_laplacian_step():
    x = rand(2, 3, 15, 20)
    pyr = laplacian_pyramid(x, 2)
    torch.testing.assert_close(pyr_up_residual(pyr[1], pyr[0]), x, rtol=0, atol=1e-12)
    torch.testing.assert_close(LaplacianStep(padding="reflect")(pyr[1], pyr[0]), x, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="batch and channels"):
        pyr_up_residual(pyr[1], pyr[0][:, :2])
    with pytest.raises(ValueError, match="invalid"):
        pyr_up_residual(pyr[1], rand(2, 3, 13, 20))


def test_modules_only_store_arguments():
    x = rand(2, 3, 12, 9)
    k = (1.0, 2.0, 1.0)
    assert torch.equal(PyrDown(kernel=k, padding="circular")(x), pyr_down(x, kernel=k, padding="circular"))
    assert torch.equal(PyrUp(padding="zeros")(x, (23, 18)), pyr_up(x, (23, 18), padding="zeros"))
    g = GaussianPyramid(3)(x)
    assert [t.shape for t in g] == [t.shape for t in gaussian_pyramid(x, 3)]
    pyr = LaplacianPyramid(3, padding="replicate")(x)
    torch.testing.assert_close(Reconstruct(padding="replicate")(pyr), x, rtol=0, atol=1e-12)
    m = torch.ones(1, 1, 12, 9, dtype=torch.float64)
    torch.testing.assert_close(Blend(3)(x, x * 0, m), x, rtol=0, atol=1e-12)
    for mod in (PyrDown(), PyrUp(), LaplacianStep(), GaussianPyramid(2), LaplacianPyramid(2), Reconstruct(), Blend(2)):
        assert list(mod.parameters()) == [] and list(mod.buffers()) == []
        assert "padding='reflect'" in repr(mod)
    with pytest.raises(ValueError, match="padding"):
        PyrDown(padding="mirror")
    with pytest.raises(ValueError, match="levels"):
        Blend(0)


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


def test_input_errors():
    x = rand(1, 1, 8, 8)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        pyr_down(rand(3, 8, 8))
    with pytest.raises(TypeError, match="floating-point"):
        pyr_down(torch.ones(1, 1, 8, 8, dtype=torch.uint8))
    with pytest.raises(TypeError, match="floating-point"):
        laplacian_pyramid(torch.ones(1, 1, 8, 8, dtype=torch.int32), 2)
    with pytest.raises(TypeError, match="torch.Tensor"):
        pyr_down(np.zeros((1, 1, 8, 8)))
    with pytest.raises(ValueError, match="empty"):
        pyr_down(torch.zeros(1, 1, 0, 8))
    with pytest.raises(ValueError, match="empty"):
        pyr_up(torch.zeros(1, 0, 4, 4))
    with pytest.raises(ValueError, match="levels must be >= 1"):
        laplacian_pyramid(x, 0)
    with pytest.raises(TypeError, match="levels must be an int"):
        gaussian_pyramid(x, 2.0)
    with pytest.raises(ValueError, match="at most 4 fit"):
        laplacian_pyramid(x, 5)
    with pytest.raises(ValueError, match="padding must be one of"):
        pyr_down(x, padding="reflect101")
    with pytest.raises(ValueError, match="padding must be one of"):
        laplacian_pyramid(x, 2, padding="constant")
    with pytest.raises(ValueError, match="kernel length must be odd"):
        pyr_down(x, kernel=[1, 1])
    with pytest.raises(ValueError, match="sums to 0"):
        pyr_down(x, kernel=[1, -2, 1])
    with pytest.raises(ValueError, match="1-D"):
        pyr_down(x, kernel=torch.ones(3, 3))
    with pytest.raises(ValueError, match="empty"):
        reconstruct([])
    with pytest.raises(TypeError):
        reconstruct(x)
    with pytest.raises(ValueError):
        max_levels(0, 4)


def test_pyr_up_size_validation():
    x = rand(1, 1, 8, 8)
    for size in [(15, 16), (16, 15), (17, 17), (15, 17)]:  # odd sizes next to double are valid
        assert pyr_up(x, size).shape[-2:] == size
    for size in [(14, 16), (18, 16), (16, 19), (16, 13), (0, 16)]:
        with pytest.raises(ValueError, match="must be 16, 15 or 17"):
            pyr_up(x, size)
    with pytest.raises(TypeError, match="pair of ints"):
        pyr_up(x, (16.0, 16))
    with pytest.raises(TypeError, match="pair of ints"):
        pyr_up(x, (16, 16, 1))


# ---------------------------------------------------------------------------
# NumPy layer
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(13, 22), (13, 22, 3), (1, 7), (9, 1, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_numpy_roundtrip(shape, dtype):
    a = (np.random.default_rng(0).random(shape) * (255 if dtype == np.uint8 else 1)).astype(dtype)
    levels = min(3, max_levels(*shape[:2]))
    pyr = pnp.laplacian_pyramid(a, levels)
    out_dtype = np.float32 if dtype == np.uint8 else dtype
    assert all(isinstance(p, np.ndarray) and p.dtype == out_dtype and p.ndim == a.ndim for p in pyr)
    rec = pnp.reconstruct(pyr)
    assert rec.shape == a.shape and rec.flags.c_contiguous
    np.testing.assert_allclose(rec, a.astype(out_dtype), rtol=0, atol=1e-4 if dtype == np.uint8 else 1e-5)
    g = pnp.gaussian_pyramid(a, levels)
    np.testing.assert_allclose(g[1], cv2.pyrDown(a.astype(np.float32)).reshape(g[1].shape), atol=1e-4)
    up = pnp.pyr_up(g[1], a.shape[:2])
    assert up.shape == a.shape
    np.testing.assert_allclose(pnp.pyr_up_residual(g[1], pyr[0]), rec, atol=1e-4)


def test_numpy_blend_and_errors():
    a = np.zeros((16, 16, 3), np.float32)
    b = np.ones((16, 16, 3), np.float32)
    out = pnp.blend(a, b, np.ones((16, 16), bool), 3)
    np.testing.assert_allclose(out, a, atol=1e-6)
    assert pnp.pyr_down(np.ones((5, 4), np.uint8) * 200).max() == pytest.approx(200)
    with pytest.raises(TypeError, match="float32, float64 or uint8"):
        pnp.pyr_down(np.zeros((4, 4), np.int16))
    with pytest.raises(ValueError, match="H×W"):
        pnp.pyr_down(np.zeros((1, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="empty"):
        pnp.pyr_down(np.zeros((0, 4), np.float32))
    # read-only / non-contiguous / big-endian inputs are fine and not modified
    ro = np.random.default_rng(1).random((8, 10)).astype(">f8")[:, ::-1]
    ro.flags.writeable = False
    np.testing.assert_allclose(pnp.pyr_down(ro), cv2.pyrDown(ro.astype(np.float64)), atol=1e-12)


# ---------------------------------------------------------------------------
# packaging
# ---------------------------------------------------------------------------


def test_public_api_and_import_isolation():
    for name in (
        "pyr_down pyr_up gaussian_pyramid laplacian_pyramid reconstruct blend pyr_up_residual "
        "max_levels PADDING_MODES PyrDown PyrUp LaplacianStep GaussianPyramid LaplacianPyramid Reconstruct Blend"
    ).split():
        assert name in pyramids.__all__ and hasattr(pyramids, name)
    assert PADDING_MODES == ("reflect", "replicate", "zeros", "circular")
    root = Path(pyramids.__file__).parent
    for f in root.glob("*.py"):
        text = f.read_text()
        assert "import restore" not in text and "from restore" not in text, f
    code = (
        "import sys, pyramids, pyramids.numpy; "
        "bad = [m for m in ('cv2', 'skimage', 'restore') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root.parent, timeout=60)


def test_kernel_cache_built_under_inference_mode_still_trains() -> None:
    """A kernel first cached inside ``torch.inference_mode`` must not break a later backward pass."""
    from pyramids import _borders, _kernels

    _kernels._weight_cached.cache_clear()
    _borders._border_index.cache_clear()
    with torch.inference_mode():
        pyr_up(pyr_down(torch.rand(1, 2, 9, 7)), size=(9, 7))
    x = torch.rand(1, 2, 9, 7, requires_grad=True)
    pyr_up(pyr_down(x), size=(9, 7)).sum().backward()
    assert x.grad is not None
