"""The upsampler / padding study (`restore analyze`): metrics on known patterns, the real property that an
uneven transposed conv makes a checkerboard where resize-conv makes none, and both commands end to end on
tiny data in fast mode (a few iterations, tiny networks)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from restore.analysis.checkerboard import (
    checkerboard_mask, checkerboard_share, interior, phase_means, phase_spread, probe_image,
)
from restore.analysis.padding import border_distance
from restore.analysis.study import StudyConfig
from restore.errors import InputError
from restore.io import write_image
from restore.models.blocks import PADDING_MODES
from restore.models.upsamplers import UPSAMPLERS

torch.set_num_threads(1)

# fast mode: the smallest networks that still run every code path
TINY_SR = ["--base-ch", "8", "--blocks", "1", "--batch", "2", "--patch", "12", "--threads", "1", "-q"]
TINY_UNET = ["--task", "inpaint", "--widths", "4,8", "--bottleneck", "1", "--batch", "1", "--patch", "32",
             "--threads", "1", "-q"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    """Training and bench folders of small images from scikit-image (bench never overlaps training)."""
    from skimage import data as skdata

    root = tmp_path_factory.mktemp("study")
    for folder, names in (("train", ["astronaut", "coffee", "chelsea"]), ("bench", ["rocket", "immunohistochemistry"])):
        for name in names:
            img = getattr(skdata, name)()[::6, ::6]
            write_image(root / folder / f"{name}.png", np.ascontiguousarray(img))
    return root / "train", root / "bench"


# --- metrics ----------------------------------------------------------------------------------------------

def test_phase_spread_measures_a_planted_checkerboard() -> None:
    yy, xx = np.mgrid[0:32, 0:32]
    pattern = np.where((yy + xx) % 2 == 0, 0.1, -0.1)
    flat = np.full((32, 32), 0.5)
    assert phase_spread(flat, 2, normalise="rms")["score"] == 0.0
    r = phase_spread(flat + pattern, 2, normalise="rms")
    # phase means ±0.1 around 0.5: std 0.1, rms sqrt(0.25 + 0.01)
    assert r["spread"] == pytest.approx(0.1) and r["range"] == pytest.approx(0.2)
    assert r["score"] == pytest.approx(0.1 / np.sqrt(0.26))
    assert phase_spread(np.zeros((8, 8)), 2, normalise="rms")["score"] == 0.0  # guarded, not nan


def test_detrending_ignores_smooth_content_but_keeps_the_pattern() -> None:
    yy, xx = np.mgrid[0:40, 0:40].astype(float)
    ramp = 0.01 * xx + 0.02 * yy
    assert np.ptp(phase_means(ramp, 2)) < 1e-12  # a gradient alone is no checkerboard
    assert phase_spread(ramp, 2, normalise="std")["score"] < 1e-12
    stripes = np.where(xx % 2 == 0, 0.05, -0.05)
    pm = phase_means(ramp + stripes, 2)
    assert np.allclose(pm - pm.mean(), [[0.05, -0.05], [0.05, -0.05]])


def test_spectral_share() -> None:
    yy, xx = np.mgrid[0:16, 0:24]
    cb = np.where((yy + xx) % 2 == 0, 1.0, 0.0)
    assert checkerboard_share(cb, 2) == pytest.approx(1.0)
    assert checkerboard_share(np.full((16, 24), 3.0), 2) == 0.0
    smooth = probe_image("smooth", 64, 64)
    assert checkerboard_share(smooth, 2) < 0.01
    assert checkerboard_mask(12, 12, 3).sum() == 8
    with pytest.raises(InputError):
        checkerboard_mask(10, 12, 3)


def test_interior_and_border_distance() -> None:
    y = np.arange(3 * 20 * 21, dtype=float).reshape(3, 20, 21)
    c = interior(y, 3, 2)  # margin rounded up to 4, size cut to a multiple of 2
    assert c.shape == (3, 12, 12) and c[0, 0, 0] == y[0, 4, 4]
    with pytest.raises(InputError):
        interior(y, 10, 2)
    d = border_distance(5, 7)
    assert d[0].max() == 0 and d[2, 3] == 2 and d.max() == 2


# --- the real property: transposed k3s2 vs resize-conv at init -----------------------------------------------

def test_transposed_k3s2_checkerboards_at_init_where_resize_conv_does_not() -> None:
    from restore.analysis.checkerboard import checkerboard_study

    cfg = StudyConfig(iters=0, seeds=3, base_ch=8, n_blocks=1)
    result, _ = checkerboard_study(cfg, ["resize-conv", "transposed-k3s2"])
    k3 = result["results"]["transposed-k3s2"]["init"]["constant"]
    rc = result["results"]["resize-conv"]["init"]["constant"]
    # averaged over the seeds; nearest + conv maps a constant to a constant, the uneven overlap cannot
    assert k3["score"] > rc["score"]
    assert rc["score"] < 1e-6 and k3["score"] > 100 * max(rc["score"], 1e-9)
    assert len(k3["seeds"]) == 3 and k3["share"] > 0.5


# --- the commands end to end ----------------------------------------------------------------------------

def test_cli_checkerboard_sr(tiny, tmp_path, runner) -> None:
    from restore.cli import app

    train, bench = tiny
    out = tmp_path / "cb"
    r = runner.invoke(app, ["analyze", "checkerboard", "--data", str(train), "--bench", str(bench), "--iters", "3",
                            "--seeds", "2", "--out", str(out), "--json", *TINY_SR])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert {p.name for p in out.iterdir()} == {"checkerboard.json", "checkerboard.md", "checkerboard_probes.png",
                                                "checkerboard_scores.png"}
    assert json.loads((out / "checkerboard.json").read_text())["results"].keys() == res["results"].keys()
    assert list(res["results"]) == list(UPSAMPLERS)  # both transposed variants included
    assert res["config"]["iters"] == 3 and res["init_seeds"] == [0, 1] and res["bench_images"] == 2
    for name, rec in res["results"].items():
        assert {"params", "upsampler_params", "init", "trained"} <= rec.keys()
        for stage in ("init", "trained"):
            for probe in ("constant", "smooth"):
                assert {"score", "spread", "range", "share"} <= rec[stage][probe].keys()
        assert np.isfinite(rec["trained"]["psnr"]) and rec["trained"]["iters"] == 3
    table = (out / "checkerboard.md").read_text()
    assert "| upsampler |" in table and "PSNR" in table
    assert all(f"| `{n}` |" in table for n in UPSAMPLERS)
    assert (out / "checkerboard_probes.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_checkerboard_init_only_needs_no_data(tmp_path, runner) -> None:
    from restore.cli import app

    out = tmp_path / "cb0"
    r = runner.invoke(app, ["analyze", "checkerboard", "--iters", "0", "--seeds", "1", "-u", "resize-conv",
                            "-u", "transposed-k3s2", "--out", str(out), *TINY_SR])
    assert r.exit_code == 0, r.output
    assert "| `transposed-k3s2` |" in r.stdout and "trained" not in r.stdout.splitlines()[0]
    assert (out / "checkerboard.json").exists()
    # existing results are never replaced without --overwrite (the committed study lives in reports/)
    before = (out / "checkerboard.json").read_bytes()
    r = runner.invoke(app, ["analyze", "checkerboard", "--iters", "0", "--seeds", "1", "-u", "resize-conv",
                            "--out", str(out), *TINY_SR])
    assert r.exit_code == 1 and "--overwrite" in r.output and "Traceback" not in r.output
    assert (out / "checkerboard.json").read_bytes() == before
    r = runner.invoke(app, ["analyze", "checkerboard", "--iters", "0", "--seeds", "1", "-u", "resize-conv",
                            "--out", str(out), "--overwrite", *TINY_SR])
    assert r.exit_code == 0 and (out / "checkerboard.json").read_bytes() != before


def test_cli_padding_sr(tiny, tmp_path, runner) -> None:
    from restore.cli import app

    train, bench = tiny
    out = tmp_path / "pad"
    r = runner.invoke(app, ["analyze", "padding", "--data", str(train), "--bench", str(bench), "--iters", "2",
                            "--band", "4", "--out", str(out), "--json", *TINY_SR])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert list(res["results"]) == list(PADDING_MODES) and res["band"] == 4
    for rec in list(res["results"].values()) + [res["reference"]]:
        assert rec["gap"] == pytest.approx(rec["psnr_interior"] - rec["psnr_band"])
        assert len(rec["mae_by_distance"]) == res["max_distance"] and rec["n_band"] > 0
    for rec in res["results"].values():
        assert rec["excess_gap"] == pytest.approx(rec["gap"] - res["reference"]["gap"])
        assert len(rec["mae_ratio_by_distance"]) == res["max_distance"]
    assert {p.name for p in out.iterdir()} == {"padding.json", "padding.md", "padding_profile.png",
                                                "padding_corners.png"}
    table = (out / "padding.md").read_text()
    assert all(f"| `{m}` |" in table for m in PADDING_MODES) and "bicubic" in table


def test_cli_inpaint_task(tiny, tmp_path, runner) -> None:
    from restore.cli import app

    train, bench = tiny
    r = runner.invoke(app, ["analyze", "checkerboard", "--data", str(train), "--iters", "1", "--seeds", "1",
                            "-u", "resize-conv", "-u", "unpool", "--out", str(tmp_path / "cb"), "--json", *TINY_UNET])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["factor"] == 2 and res["results"]["unpool"]["trained"]["psnr"] is None  # no bench given
    r = runner.invoke(app, ["analyze", "padding", "--data", str(train), "--bench", str(bench), "--iters", "1",
                            "-m", "zeros", "-m", "reflect", "--out", str(tmp_path / "pad"), "--json", *TINY_UNET])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert list(res["results"]) == ["zeros", "reflect"] and res["reference"]["name"] == "push-pull pre-fill"


@pytest.mark.parametrize("args, message", [
    (["checkerboard", "-u", "bogus"], "unknown upsampler"),
    (["checkerboard", "--scale", "3", "-u", "transposed-k3s2"], "does not support ×3"),
    (["checkerboard", "--iters", "2"], "needs --data"),
    (["padding"], "--bench"),
    (["padding", "--bench", "nowhere", "--band", "0"], "band"),
])
def test_cli_errors_are_one_line(args, message, tmp_path, runner) -> None:
    from restore.cli import app

    r = runner.invoke(app, ["analyze", *args, "--out", str(tmp_path / "x"), *TINY_SR])
    assert r.exit_code == 1
    assert message in r.output and "Traceback" not in r.output
    assert not (tmp_path / "x").exists()


def test_analyze_import_is_cheap() -> None:
    code = "import sys, restore.cli.analyze_cmds; print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
