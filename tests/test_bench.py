"""Smoke tests of ``restore bench`` (structure only, never timings): tiny images, tiny random models,
methods run in-process; peer CNNs only where the peer venv and the peer files already exist (never built here)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import make_image
from restore import bench
from restore.bench import suites
from restore.cli import app

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two small RGB images (one odd-sized), tiny random SR (×2, ×4) and inpainting models."""
    from restore.io import write_image
    from restore.models import SRNet, UNet
    from restore.weights import save_model

    d = tmp_path_factory.mktemp("bench")
    write_image(d / "imgs" / "a.png", make_image((40, 48, 3), seed=1))
    write_image(d / "imgs" / "b.png", make_image((37, 30, 3), seed=2))
    torch.manual_seed(0)
    for s in (2, 4):  # ×4 only feeds the large-image run
        cfg = {"base_ch": 8, "n_blocks": 1, "scale": s}
        save_model(SRNet(**cfg), d / f"tiny-x{s}.safetensors",
                   {"name": f"tiny-x{s}", "task": "sr", "arch": "srnet", "scale": s, "config": cfg})
    save_model(UNet(widths=(8, 16)), d / "tiny-inpaint.safetensors",
               {"name": "tiny-inpaint", "task": "inpaint", "arch": "unet", "config": {"widths": [8, 16]}})
    return {"imgs": d / "imgs", "sr": d / "tiny-x2.safetensors", "sr4": d / "tiny-x4.safetensors",
            "inpaint": d / "tiny-inpaint.safetensors"}


def _peers_present() -> bool:
    pdir = bench.default_peers_dir()
    return pdir is not None and pdir.is_dir() and bench.peer_python(create=False) is not None


@pytest.fixture(scope="module")
def result(tiny: dict[str, Path]) -> dict:
    return bench.run_bench(bench.BenchConfig(
        task="all", data=tiny["imgs"], scales=(2,), device="cpu", repeats=1, threads=1,
        models=[str(tiny["sr"]), str(tiny["sr4"]), str(tiny["inpaint"])], shipped=False,
        peers=_peers_present(), create_peer_venv=False,
        inpaint_images=1, inpaint_size=64, families=("thin", "box"),
        large=True, large_size=24, untiled=True, isolate=False, budget_s=0.5, contention=True,
    ))


def test_sr_rows(result: dict, tiny: dict[str, Path]) -> None:
    from restore.models import SRNet

    rows = result["sr"]
    names = [r["method"] for r in rows]
    variants, _auto = bench.precision_variants()
    ours = [f"tiny-x2 [{v}]" for v in variants]
    assert names[:len(ours) + 3] == [*ours, "cv2-bicubic", "cv2-lanczos", "bicubic-matlab"]
    for r in rows:
        assert "error" not in r, r
        assert r["scale"] == 2 and r["images"] == 2
        assert 10 < r["psnr_y"] < 80 and 0 < r["ssim_y"] <= 1
        assert r["mp_per_s"] > 0 and r["peak_mb"] >= 0
        assert r["ref"] == "tiny-x2 [fp32]"
    # every way of running our model against its float32 run: same quality to a small margin, FLOPs counted
    for r in rows[:len(ours)]:
        assert abs(r["d_quality_vs_fp32"]) < 0.1 and r["speedup_vs_fp32"] > 0
        assert r["flop_px"] == pytest.approx(bench.flops_per_output_pixel(tiny["sr"], 2))
        assert r["gflops"] > 0
    assert rows[0]["d_quality_vs_fp32"] == 0
    ref = rows[0]
    assert ref["d_quality_vs_ours"] == 0 and ref["speed_vs_ours"] == pytest.approx(1.0)
    assert ref["params"] == sum(p.numel() for p in SRNet(base_ch=8, n_blocks=1, scale=2).parameters())
    if _peers_present():
        assert {"ESPCN", "FSRCNN", "LapSRN"} <= set(names)
        assert next(r for r in rows if r["method"] == "ESPCN")["params"] > 10_000


def test_flops_per_output_pixel_counts_the_convolutions(tmp_path) -> None:
    from restore.models import SRNet
    from restore.weights import save_model

    cfg = {"base_ch": 8, "n_blocks": 1, "scale": 2}
    p = save_model(SRNet(**cfg), tmp_path / "t.safetensors", {"name": "t", "task": "sr", "arch": "srnet", "scale": 2,
                                                              "config": cfg})
    # head 3→8, two body convs and the body tail 8→8, the upsampler 8→3·4: all 3×3 at LR, per output px (÷4)
    macs = 9 * (3 * 8 + 3 * 8 * 8 + 8 * 12)
    assert bench.flops_per_output_pixel(p, 2) == pytest.approx(2 * macs / 4)


def test_bicubic_matlab_matches_eval(result: dict, tiny: dict[str, Path]) -> None:
    """The bench computes quality by the evaluation protocol: same PSNR as ``eval_sr``."""
    from restore.evaluate import eval_sr

    row = next(r for r in result["sr"] if r["method"] == "bicubic-matlab")
    assert row["psnr_y"] == pytest.approx(eval_sr(tiny["imgs"], 2)["psnr_y"], abs=1e-9)


def test_inpaint_rows(result: dict) -> None:
    rows = result["inpaint"]
    assert {r["holes"] for r in rows} == {"thin", "box"}
    variants = [v for v in bench.precision_variants()[0] if not v.startswith("onnxruntime")]
    assert {r["method"] for r in rows} == {*(f"tiny-inpaint [{v}]" for v in variants), *bench.CLASSICAL_INPAINT}
    for r in rows:
        assert "error" not in r, r
        assert r["size"] == 64 and r["images"] == 1 and 0 < r["hole_fraction"] < 1
        assert r["psnr_hole"] > 5 and r["s_per_image"] > 0 and r["s_max"] >= r["s_per_image"]
        assert r["ref"] == "tiny-inpaint [fp32]"
        if "variant" in r:
            assert abs(r["d_quality_vs_fp32"]) < 0.5


def test_large_and_key_figures(result: dict) -> None:
    tiled, untiled = result["large"]
    assert tiled["tile"] is None and untiled["tile"] == 0
    for r in (tiled, untiled):
        assert "error" not in r, r
        assert r["out_mp"] == pytest.approx((24 * 4) ** 2 / 1e6) and r["peak_mb"] > 0
        assert r["peak_beyond_output_mb"] == pytest.approx(r["peak_mb"] - r["out_bytes"] / 2**20)
    # figures, never verdicts: no pass/fail against a threshold
    figures = [f["figure"] for f in result["summary"]]
    assert any("inpainting" in f for f in figures) and any("peak RSS" in f for f in figures)
    assert all(set(f) == {"figure", "value"} for f in result["summary"])
    assert "targets" not in result
    text = bench.format_tables(result)
    assert "### Key figures" in text and "target" not in text.lower()


def test_data_folder_is_the_callers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No default image folder: --data, else $RESTORE_BENCH_DATA (its Set5/ and BSD68/ where present)."""
    from restore.errors import InputError

    monkeypatch.delenv("RESTORE_BENCH_DATA", raising=False)
    with pytest.raises(InputError, match="RESTORE_BENCH_DATA"):
        bench.run_bench(bench.BenchConfig(task="sr", peers=False, large=False, isolate=False))
    (tmp_path / "Set5").mkdir()
    monkeypatch.setenv("RESTORE_BENCH_DATA", str(tmp_path))
    assert bench.bench_data(bench.BenchConfig(), "sr") == tmp_path / "Set5"
    assert bench.bench_data(bench.BenchConfig(), "inpaint") == tmp_path  # no BSD68/: the folder itself
    assert bench.bench_data(bench.BenchConfig(data=tmp_path / "x"), "inpaint") == tmp_path / "x"


def test_tables_and_json(result: dict) -> None:
    text = bench.format_tables(result)
    assert "### Super-resolution" in text and "### Inpainting" in text and "### Large image" in text
    header = next(ln for ln in text.splitlines() if ln.startswith("| × |"))
    body = [ln for ln in text.splitlines() if ln.startswith("| 2 |")]
    assert len(body) == len(result["sr"])
    assert all(ln.count("|") == header.count("|") for ln in body)
    ih = next(ln for ln in text.splitlines() if ln.startswith("| holes |"))
    ib = [ln for ln in text.splitlines() if ln.startswith(("| small", "| large"))]
    assert len(ib) == len(result["inpaint"]) and all(ln.count("|") == ih.count("|") for ln in ib)
    json.loads(json.dumps(result, default=float))  # JSON-able as --json prints it
    assert result["env"]["foreign_load_cores"] is None or result["env"]["foreign_load_cores"] >= 0


def test_worker_process_protocol(tmp_path: Path) -> None:
    """A classical job through the real worker entry point (``python -P worker.py _worker job.json``)."""
    lr = make_image((12, 10, 3))
    np.save(tmp_path / "lr.npy", lr)
    job = {"task": "sr", "method": "cv2-bicubic", "scale": 3, "inputs": [str(tmp_path / "lr.npy")],
           "outdir": str(tmp_path / "out"), "repeats": 2, "budget_s": 1.0, "threads": 1}
    res = suites.dispatch(job, tmp_path, python=None, isolate=True)
    assert "error" not in res, res
    assert len(res["seconds"]) == 1 and 1 <= len(res["runs"][0]) <= 2
    assert np.load(res["outputs"][0]).shape == (36, 30, 3)
    assert res["peak_how"].startswith(("VmHWM", "ru_maxrss"))


def test_worker_errors_are_rows(tmp_path: Path) -> None:
    res = suites.dispatch({"task": "sr", "method": "nope", "scale": 2, "inputs": [], "outdir": str(tmp_path),
                           "repeats": 1, "threads": 1}, tmp_path, python=None, isolate=False)
    assert "unknown SR method" in res["error"]


def test_cli(runner, tiny: dict[str, Path]) -> None:
    args = ["bench", "--task", "sr", "--data", str(tiny["imgs"]), "--scales", "2", "--no-peers", "--no-large",
            "-m", str(tiny["sr"]), "--repeats", "1", "--threads", "1", "--no-isolate"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "| 2 | tiny-x2" in r.output and "cv2-lanczos" in r.output
    bad = runner.invoke(app, ["bench", "--scales", "5", "--no-peers"])
    assert bad.exit_code == 1 and "unsupported scale" in bad.output
    no_data = runner.invoke(app, ["bench", "--task", "sr", "--no-peers", "--no-large"], env={"RESTORE_BENCH_DATA": ""})
    assert no_data.exit_code == 1 and "--data" in no_data.output


def test_help_is_cheap() -> None:
    """Registering the command must not import torch or OpenCV."""
    code = "import sys, restore.cli; assert 'torch' not in sys.modules and 'cv2' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_threads_rows(result: dict) -> None:
    rows = result["threads"]
    assert {(r["load"], r["threads"]) for r in rows} >= {("quiet", 1), ("contended", 1)}
    assert {r["task"] for r in rows} == {"×4 of 256²", "inpaint 512², thick strokes"}
    for r in rows:
        assert "error" not in r, r
        assert r["s_per_call"] > 0
    assert "### Threads" in bench.format_tables(result)


def test_gpu_script_code_path_runs_on_the_cpu(tmp_path) -> None:
    """benchmarks/gpu_bench.py --dry-run: the measurements a GPU run would make, on the CPU, so a mistake in
    them costs seconds here rather than scarce GPU minutes."""
    import json
    import subprocess
    import sys

    from conftest import ROOT

    out = tmp_path / "gpu.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_bench.py"), "--dry-run", "--size", "40",
                    "--out", str(out)], check=True, cwd=ROOT, timeout=300, capture_output=True)
    res = json.loads(out.read_text())
    whats = [r["what"] for r in res["rows"]]
    assert "sr-x4 fp32 restore.upscale 40²" in whats and "sr-fast-x4 bfloat16 tiles 256 batch 8" in whats
    assert any(w.startswith("inpaint") for w in whats) and all("error" not in r for r in res["rows"])
