"""End-to-end CLI tests (classical methods only: fast, no trained weights needed)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, SAMPLES, make_image
from restore.cli import app, collect_images, plan_outputs
from restore.io import read_image, write_image


def run(runner, *args: object):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def error_lines(result) -> list[str]:
    return [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """in/a.png (RGB), in/b.jpg (gray), in/bad.png (corrupt), in/notes.txt."""
    d = tmp_path / "in"
    write_image(d / "a.png", make_image((10, 12, 3)))
    write_image(d / "b.jpg", make_image((8, 6)))
    (d / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (d / "notes.txt").write_text("not an image")
    return d


# --------------------------------------------------------------------------- general


def _ls(folder) -> list[str]:
    """The visible files of a folder, sorted (the batch's hidden manifest aside)."""
    return sorted(f for f in os.listdir(folder) if not f.startswith("."))


def test_help_lists_commands_and_exit_codes(runner):
    r = run(runner, "--help")
    assert r.exit_code == 0
    for word in ("upscale", "inpaint", "models", "Exit codes"):
        assert word in r.stdout


def test_inpaint_help_explains_masks(runner):
    out = " ".join(run(runner, "inpaint", "--help").stdout.split())
    assert "127" in out and "sidecar" in out and "alpha" in out


def test_help_does_not_import_torch_opencv_or_numpy():
    code = (
        "import sys\n"
        "from restore.cli import main\n"
        "sys.argv = ['restore', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in ('torch', 'cv2', 'numpy') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    for args in (["--help"], ["upscale", "--help"], ["inpaint", "--help"]):
        r = subprocess.run([sys.executable, "-c", code.replace("'--help'", ", ".join(map(repr, args)))],
                           capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert r.returncode == 0, r.stderr
        assert f"restore {args[0] if len(args) > 1 else ''}".strip() in r.stdout


def test_models_table(runner):
    r = run(runner, "models")
    assert r.exit_code == 0
    assert "bicubic" in r.stdout and "telea" in r.stdout and "classical" in r.stdout


def test_models_table_reads_at_80_columns_and_marks_defaults():
    code = "from restore.cli import main; import sys; sys.argv = ['restore', 'models']; main()"
    env = {**os.environ, "COLUMNS": "80"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(ln) for ln in lines) <= 80
    header = next(ln for ln in lines if ln.split()[:2] == ["name", "task"])
    assert all(w in header.split() for w in ("name", "task", "kind", "params", "score"))
    rows = {ln.split()[0]: ln for ln in lines if ln.split() and ln.split()[0] in ("inpaint", "sr-x4", "sr-fast-x4")}
    assert "default" in rows["inpaint"] and "default" in rows["sr-x4"] and "default" not in rows["sr-fast-x4"]
    assert "BSD68" in rows["inpaint"] and "Set5" in rows["sr-x4"]
    assert "…" not in r.stdout


def test_models_json(runner):
    import json

    r = run(runner, "models", "--json")
    entries = {e["name"]: e for e in json.loads(r.stdout)}
    assert entries["inpaint"]["default"] and "BSD68_thin_gain_over_prefill" in entries["inpaint"]["scores"]


# --------------------------------------------------------------------------- upscale


def test_batch_with_corrupt_and_non_image(runner, photos, tmp_path):
    out = tmp_path / "out"
    r = run(runner, "upscale", photos, "-o", out, "--scale", 2, "--method", "bicubic")
    assert r.exit_code == 1
    assert read_image(out / "a.png").shape == (20, 24, 3)
    assert read_image(out / "b.jpg").shape == (16, 12)
    assert not (out / "bad.png").exists() and not (out / "notes.txt").exists()
    errs = error_lines(r)
    assert len(errs) == 1 and "bad.png" in errs[0]
    assert "upscaled 2" in r.stdout and "failed 1" in r.stdout and "ignored 1 non-image" in r.stdout
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]


def test_resume_skips_existing_and_overwrite_redoes(runner, photos, tmp_path):
    (photos / "bad.png").unlink()
    out = tmp_path / "out"
    assert run(runner, "upscale", photos, "-o", out, "-s", 2, "-m", "nearest").exit_code == 0
    before = (out / "a.png").stat().st_mtime_ns
    r = run(runner, "upscale", photos, "-o", out, "-s", 2, "-m", "nearest")
    assert r.exit_code == 0 and "upscaled 0" in r.stdout and "skipped 2" in r.stdout
    assert (out / "a.png").stat().st_mtime_ns == before
    r = run(runner, "upscale", photos, "-o", out, "-s", 3, "-m", "nearest", "--overwrite")
    assert r.exit_code == 0 and "upscaled 2" in r.stdout
    assert read_image(out / "a.png").shape == (30, 36, 3)


def test_recursive_mirrors_tree_and_ignores_output_inside_input(runner, tmp_path):
    src = tmp_path / "tree"
    write_image(src / "top.png", make_image((4, 4, 3)))
    write_image(src / "x" / "y" / "deep.png", make_image((4, 4, 3)))
    write_image(src / ".hidden" / "h.png", make_image((4, 4, 3)))
    out = src / "big"  # inside the input: must not be taken as input on a re-run
    r = run(runner, "upscale", src, "-o", out, "-s", 2, "-m", "bicubic", "-r")
    assert r.exit_code == 0, r.output
    assert (out / "top.png").exists() and (out / "x" / "y" / "deep.png").exists()
    assert not (out / ".hidden").exists()
    r = run(runner, "upscale", src, "-o", out, "-s", 2, "-m", "bicubic", "-r")
    assert "skipped 2" in r.stdout and not (out / "big").exists()
    # without -r only the top level
    r = run(runner, "upscale", src, "-o", tmp_path / "flat", "-s", 2, "-m", "bicubic")
    assert _ls(tmp_path / "flat") == ["top.png"]


def test_format_and_suffix(runner, photos, tmp_path):
    (photos / "bad.png").unlink()
    out = tmp_path / "o"
    r = run(runner, "upscale", photos / "a.png", photos / "b.jpg", "-o", out, "-s", 2, "-m", "bicubic",
            "--format", "webp", "--suffix", "_big")
    assert r.exit_code == 0
    assert _ls(out) == ["a_big.webp", "b_big.webp"]


def test_output_in_input_folder_gets_suffix_never_overwrites(runner, photos):
    (photos / "bad.png").unlink()
    a_before = (photos / "a.png").read_bytes()
    r = run(runner, "upscale", photos, "-o", photos, "-s", 2, "-m", "bicubic")
    assert r.exit_code == 0
    assert (photos / "a_x2.png").exists() and (photos / "b_x2.jpg").exists()
    assert (photos / "a.png").read_bytes() == a_before
    # an explicit empty suffix would overwrite the inputs: refused, reported, inputs intact
    r = run(runner, "upscale", photos / "a.png", "-o", photos, "-s", 2, "-m", "bicubic", "--suffix", "")
    assert r.exit_code == 1 and "input" in error_lines(r)[0]
    assert (photos / "a.png").read_bytes() == a_before


def test_single_file_to_output_file(runner, photos, tmp_path):
    r = run(runner, "upscale", photos / "a.png", "-o", tmp_path / "res" / "big.tiff", "-s", 4, "-m", "lanczos")
    assert r.exit_code == 0
    assert read_image(tmp_path / "res" / "big.tiff").shape == (40, 48, 3)


@pytest.mark.parametrize(
    "args",
    [
        ["--scale", "5"],
        ["--method", "nosuch"],
        ["--format", "gif"],
    ],
)
def test_usage_errors_exit_2(runner, photos, tmp_path, args):
    r = run(runner, "upscale", photos, "-o", tmp_path / "o", *args)
    assert r.exit_code == 2
    assert not (tmp_path / "o").exists()


def test_no_input_found_exit_2(runner, tmp_path):
    (tmp_path / "empty").mkdir()
    r = run(runner, "upscale", tmp_path / "empty", "-o", tmp_path / "o")
    assert r.exit_code == 2 and "no image" in error_lines(r)[0]
    r = run(runner, "upscale", tmp_path / "missing", "-o", tmp_path / "o")
    assert r.exit_code == 2 and "missing" in error_lines(r)[0]


def test_plan_detects_colliding_outputs(tmp_path):
    imgs = [(tmp_path / "a" / "x.png", Path("x.png")), (tmp_path / "b" / "x.png", Path("x.png"))]
    plan = plan_outputs(imgs, tmp_path / "out")
    assert len(plan.jobs) == 1 and len(plan.problems) == 1


def test_collect_images_counts_non_images(photos):
    images, others = collect_images([photos])
    assert [p.name for p, _ in images] == ["a.png", "b.jpg", "bad.png"]
    assert [p.name for p in others] == ["notes.txt"]


def test_samples_upscale_only_photos(runner, tmp_path):
    r = run(runner, "upscale", SAMPLES, "-o", tmp_path / "o", "-s", 2, "-m", "nearest")
    assert r.exit_code == 0
    names = _ls(tmp_path / "o")
    assert "chelsea_holes.png" in names and "masks" not in names and len(names) >= 3


# --------------------------------------------------------------------------- inpaint


@pytest.fixture
def scene(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """An RGB image with a square hole mask."""
    img = make_image((16, 16, 3))
    m = np.zeros((16, 16), np.uint8)
    m[5:9, 5:9] = 255
    write_image(tmp_path / "maskfile.png", m)
    return write_image(tmp_path / "pic.png", img), m


def test_inpaint_with_mask_default_output_name(runner, scene, tmp_path):
    pic, m = scene
    r = run(runner, "inpaint", pic, "--mask", tmp_path / "maskfile.png", "-m", "telea")
    assert r.exit_code == 0, r.output
    out = read_image(tmp_path / "pic_inpainted.png")
    src = read_image(pic)
    outside = m == 0
    np.testing.assert_array_equal(out[outside], src[outside])


def test_inpaint_with_sidecar(runner, scene, tmp_path):
    pic, m = scene
    write_image(tmp_path / "pic_mask.png", m)
    r = run(runner, "inpaint", pic, "-o", tmp_path / "o.png", "-m", "ns", "--dilate", 1)
    assert r.exit_code == 0, r.output
    assert "sidecar" in r.stderr
    assert read_image(tmp_path / "o.png").shape == (16, 16, 3)


def test_inpaint_from_alpha_gives_opaque_rgb(runner, tmp_path):
    rgba = np.dstack([make_image((16, 16, 3)), np.full((16, 16), 255, np.uint8)])
    rgba[4:8, 4:8, 3] = 0
    p = write_image(tmp_path / "holes.png", rgba)
    r = run(runner, "inpaint", p, "-m", "telea")
    assert r.exit_code == 0, r.output
    assert read_image(tmp_path / "holes_inpainted.png").shape == (16, 16, 3)


def test_inpaint_without_any_mask_is_one_line_error(runner, scene, tmp_path):
    pic, _ = scene
    r = run(runner, "inpaint", pic, "-m", "telea")
    assert r.exit_code == 1
    errs = error_lines(r)
    assert len(errs) == 1 and "--mask" in errs[0] and "alpha" in errs[0]
    assert not (tmp_path / "pic_inpainted.png").exists()


def test_inpaint_mask_size_mismatch_and_resize(runner, scene, tmp_path):
    pic, _ = scene
    small = np.zeros((8, 8), np.uint8)
    small[2:4, 2:4] = 255
    mp = write_image(tmp_path / "small.png", small)
    r = run(runner, "inpaint", pic, "--mask", mp, "-m", "telea")
    assert r.exit_code == 1 and "8×8" in error_lines(r)[0]
    r = run(runner, "inpaint", pic, "--mask", mp, "-m", "telea", "--resize-mask")
    assert r.exit_code == 0


def test_inpaint_empty_mask_copies_with_warning(runner, scene, tmp_path):
    pic, _ = scene
    mp = write_image(tmp_path / "empty.png", np.zeros((16, 16), np.uint8))
    r = run(runner, "inpaint", pic, "--mask", mp, "-o", tmp_path / "copy.png", "-m", "telea")
    assert r.exit_code == 0 and "warning" in r.stderr and "empty" in r.stderr
    np.testing.assert_array_equal(read_image(tmp_path / "copy.png"), read_image(pic))


@pytest.mark.parametrize("method", ["auto", "pushpull", "telea", "biharmonic"])
def test_inpaint_mask_covering_everything_is_one_line_error(runner, scene, tmp_path, method):
    """Nothing to fill from: one line and exit 1, no all-black output written."""
    pic, _ = scene
    mp = write_image(tmp_path / "all.png", np.full((16, 16), 255, np.uint8))
    r = run(runner, "inpaint", pic, "--mask", mp, "-o", tmp_path / "x.png", "-m", method)
    assert r.exit_code == 1
    errs = error_lines(r)
    assert len(errs) == 1 and "whole image" in errs[0]
    assert not (tmp_path / "x.png").exists()


def test_inpaint_folder_with_sidecars_skips_mask_files(runner, tmp_path):
    d = tmp_path / "batch"
    m = np.zeros((12, 12), np.uint8)
    m[3:6, 3:6] = 255
    for name in ("one", "two"):
        write_image(d / f"{name}.png", make_image((12, 12, 3)))
        write_image(d / f"{name}_mask.png", m)
    write_image(d / "nomask.png", make_image((12, 12, 3)))
    r = run(runner, "inpaint", d, "-o", tmp_path / "out", "-m", "telea")
    assert r.exit_code == 1  # nomask.png failed, others done
    assert _ls(tmp_path / "out") == ["one.png", "two.png"]
    errs = error_lines(r)
    assert len(errs) == 1 and "nomask.png" in errs[0]


def test_inpaint_folder_with_mask_folder_and_single_mask(runner, tmp_path):
    d, md = tmp_path / "imgs", tmp_path / "masks"
    m = np.zeros((12, 12), np.uint8)
    m[3:6, 3:6] = 255
    for name in ("a", "b"):
        write_image(d / f"{name}.jpg", make_image((12, 12, 3)))
    write_image(md / "a.png", m)
    write_image(md / "b_mask.png", m)
    r = run(runner, "inpaint", d, "--mask", md, "-o", tmp_path / "o1", "-m", "telea")
    assert r.exit_code == 0, r.output
    assert _ls(tmp_path / "o1") == ["a.png", "b.png"]  # JPEG inputs: PNG, so the outside stays exact
    r = run(runner, "inpaint", d, "--mask", md / "a.png", "-o", tmp_path / "o2", "-m", "telea")
    assert r.exit_code == 0 and _ls(tmp_path / "o2") == ["a.png", "b.png"]


def test_inpaint_folder_needs_output(runner, tmp_path):
    write_image(tmp_path / "d" / "a.png", make_image((4, 4, 3)))
    r = run(runner, "inpaint", tmp_path / "d", "-m", "telea")
    assert r.exit_code == 2 and "-o" in error_lines(r)[0]


def test_inpaint_samples(runner, tmp_path):
    r = run(runner, "inpaint", SAMPLES / "chelsea_holes.png", "-o", tmp_path / "c.png", "-m", "telea")
    assert r.exit_code == 0, r.output
    r = run(runner, "inpaint", SAMPLES / "astronaut.png", "--mask", SAMPLES / "masks" / "astronaut.png",
            "-o", tmp_path / "a.png", "-m", "telea")
    assert r.exit_code == 0, r.output


def test_rerun_into_input_folder_resumes(runner, photos):
    (photos / "bad.png").unlink()
    assert run(runner, "upscale", photos, "-o", photos, "-s", 2, "-m", "bicubic").exit_code == 0
    r = run(runner, "upscale", photos, "-o", photos, "-s", 2, "-m", "bicubic")
    assert r.exit_code == 0 and "skipped 2" in r.stdout, r.output
    assert _ls(photos) == ["a.png", "a_x2.png", "b.jpg", "b_x2.jpg", "notes.txt"]


def test_inpaint_batch_into_input_folder(runner, tmp_path):
    d = tmp_path / "d"
    m = np.zeros((8, 8), np.uint8)
    m[2:4, 2:4] = 255
    write_image(d / "a.png", make_image((8, 8, 3)))
    write_image(d / "a_mask.png", m)
    for _ in range(2):
        r = run(runner, "inpaint", d, "-o", d, "-m", "telea")
        assert r.exit_code == 0, r.output
    assert _ls(d) == ["a.png", "a_inpainted.png", "a_mask.png"]


def test_memory_and_os_errors_are_one_line(runner, photos, tmp_path, monkeypatch):
    import restore.api
    import restore.cli as cli

    def oom(*a, **k):
        raise MemoryError()

    monkeypatch.setattr(restore.api, "upscale", oom)
    r = run(runner, "upscale", photos / "a.png", photos / "b.jpg", "-o", tmp_path / "o", "-s", 2, "-m", "bicubic")
    assert r.exit_code == 1 and len(error_lines(r)) == 2 and "memory" in error_lines(r)[0]

    def disk_full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli.batch_cmds, "run_upscale", disk_full)
    r = run(runner, "upscale", photos, "-o", tmp_path / "o")
    assert r.exit_code == 1 and error_lines(r) == ["error: No space left on device"]


# --------------------------------------------------------------------------- usage errors, said once


def test_model_sets_the_scale_and_a_disagreeing_scale_is_a_usage_error(runner, photos, tmp_path):
    r = run(runner, "upscale", photos / "a.png", "-o", tmp_path / "o2", "--model", "sr-fast-x4")
    assert r.exit_code == 0, r.output
    assert read_image(tmp_path / "o2" / "a.png").shape == (40, 48, 3)  # ×4 without --scale
    r = run(runner, "upscale", photos / "a.png", "-o", tmp_path / "o3", "--model", "sr-fast-x4", "--scale", "2")
    assert r.exit_code == 2 and len(error_lines(r)) == 1 and "×4" in error_lines(r)[0]
    assert not (tmp_path / "o3").exists()


@pytest.mark.parametrize("args, message", [
    (["--model", "inpaint"], "not a super-resolution model"),
    (["--model", "sr-fast-x4", "--device", "cuda"], "cuda"),
    (["--tile", "-5"], "tile"),
])
def test_batch_usage_errors_are_said_once_with_exit_2(runner, photos, tmp_path, args, message):
    import torch

    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("a GPU is present")
    r = run(runner, "upscale", photos, "-o", tmp_path / "out", *args)
    assert r.exit_code == 2, r.output
    assert message in r.output and r.output.count(message) == 1
    assert not any((tmp_path / "out").glob("*.png"))


def test_one_output_file_for_several_inputs_is_a_usage_error(runner, photos, tmp_path):
    r = run(runner, "upscale", photos / "a.png", photos / "b.jpg", "-o", tmp_path / "x.png", "-m", "nearest")
    assert r.exit_code == 2 and "x.png" in error_lines(r)[0]
    assert not (tmp_path / "x.png").exists()


def test_inpaint_with_an_sr_model_is_a_usage_error(runner, scene, tmp_path):
    pic, _ = scene
    r = run(runner, "inpaint", pic, "--mask", tmp_path / "maskfile.png", "--model", "sr-x2", "-o", tmp_path / "o.png")
    assert r.exit_code == 2 and "not an inpainting model" in r.output
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("cmd", [["eval", "sr"], ["eval", "inpaint"], ["train", "sr"], ["train", "inpaint"]])
def test_missing_data_folder_is_a_usage_error(runner, tmp_path, cmd):
    r = runner.invoke(app, [*cmd, "--data", str(tmp_path / "nowhere")])
    assert r.exit_code == 2 and "nowhere" in r.output and "Traceback" not in r.output


def test_folder_scan_skips_this_tools_outputs_beside_their_source(runner, tmp_path):
    """`restore inpaint d/a.png` writes d/a_inpainted.png; a later `restore upscale d/` must still see one image
    (and a file that only looks like an output, with no source beside it, is an input)."""
    d = tmp_path / "d"
    write_image(d / "a.png", make_image((12, 12, 3)))
    write_image(d / "b_x4.png", make_image((12, 12, 3)))  # no b.png: an ordinary input
    m = np.zeros((12, 12), np.uint8)
    m[3:6, 3:6] = 255
    write_image(tmp_path / "m.png", m)
    assert run(runner, "inpaint", d / "a.png", "--mask", tmp_path / "m.png", "-m", "telea").exit_code == 0
    assert (d / "a_inpainted.png").exists()
    r = run(runner, "upscale", d, "-o", tmp_path / "out", "-m", "nearest", "--scale", "2")
    assert r.exit_code == 0, r.output
    assert _ls(tmp_path / "out") == ["a.png", "b_x4.png"]


def test_inpaint_has_upscales_output_options(runner, scene, tmp_path):
    """--suffix and --format, as upscale has them (the overwrite-an-input message advises --suffix)."""
    pic, _ = scene
    mk = tmp_path / "maskfile.png"
    r = run(runner, "inpaint", pic, "--mask", mk, "-m", "telea", "--suffix", "_filled", "--format", "jpg")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "pic_filled.jpg").exists()
    r = run(runner, "inpaint", pic, "--mask", mk, "-m", "telea", "-o", tmp_path)  # into its own folder
    assert r.exit_code == 0, r.output
    assert (tmp_path / "pic_inpainted.png").exists()
    r = run(runner, "inpaint", pic, "--mask", mk, "-m", "telea", "-o", tmp_path, "--suffix", "")
    assert r.exit_code == 1 and "would overwrite an input" in r.output and "--suffix" in r.output


def test_tiny_tile_warns_once(runner, photos, tmp_path):
    r = run(runner, "upscale", photos, "-o", tmp_path / "o", "--model", "sr-fast-x4", "--tile", "16")
    assert r.exit_code == 1  # bad.png in the folder
    assert r.stderr.count("--tile 16 is below") == 1


def test_threads_option_and_environment(tmp_path, runner, monkeypatch) -> None:
    import torch

    from conftest import make_image
    from restore.io import write_image

    src = write_image(tmp_path / "a.png", make_image((8, 8, 3)))
    before = torch.get_num_threads()
    try:
        r = runner.invoke(app, ["upscale", str(src), "-o", str(tmp_path / "o"), "--method", "bicubic", "--threads", "1"])
        assert r.exit_code == 0, r.output
        assert torch.get_num_threads() == 1
        monkeypatch.setenv("RESTORE_THREADS", "0")
        r = runner.invoke(app, ["upscale", str(src), "-o", str(tmp_path / "o2"), "--method", "bicubic"])
        assert r.exit_code == 2 and "RESTORE_THREADS" in r.output and not (tmp_path / "o2").exists()
    finally:
        torch.set_num_threads(before)


def test_openmp_threads_wait_passively_unless_the_user_says_otherwise() -> None:
    import subprocess
    import sys

    code = "import os, restore; print(os.environ.get('OMP_WAIT_POLICY'))"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "PASSIVE"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**env, "OMP_WAIT_POLICY": "ACTIVE"}, check=True)
    assert out.stdout.strip() == "ACTIVE"


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_gray_alpha_stays_gray_alpha_through_upscale_and_inpaint(tmp_path, runner, dtype) -> None:
    from conftest import make_image
    from restore.io import read_image, write_image

    gray = make_image((16, 20), dtype)
    alpha = np.full((16, 20), np.iinfo(dtype).max, dtype)
    alpha[4:8, 5:9] = 0
    src = write_image(tmp_path / "la.png", np.dstack([gray, alpha]))
    r = runner.invoke(app, ["upscale", str(src), "-o", str(tmp_path / "up"), "--scale", "2", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    up = read_image(tmp_path / "up" / "la.png")
    assert up.shape == (32, 40, 2) and up.dtype == dtype
    r = runner.invoke(app, ["inpaint", str(src), "-o", str(tmp_path / "filled.png"), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    filled = read_image(tmp_path / "filled.png")
    assert filled.shape == (16, 20) and filled.dtype == dtype  # the holes came from alpha: opaque gray out
    np.testing.assert_array_equal(filled[alpha > 0], gray[alpha > 0])


def test_codec_messages_do_not_leak_past_our_one_line(tmp_path) -> None:
    """libpng prints its own 'libpng error: …' to file descriptor 2; only our line (which quotes it) may show."""
    import subprocess
    import sys

    from PIL import Image

    from conftest import make_image

    Image.fromarray(make_image((64, 64, 3))).save(tmp_path / "ok.png")
    data = bytearray((tmp_path / "ok.png").read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside IDAT: a CRC error
    (tmp_path / "bad.png").write_bytes(bytes(data))
    r = subprocess.run([sys.executable, "-m", "restore", "upscale", str(tmp_path / "bad.png"), "-o",
                        str(tmp_path / "out"), "--method", "bicubic"], capture_output=True, text=True)
    assert r.returncode == 1
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    assert not any(ln.startswith("libpng") for ln in lines), lines
    assert sum("bad.png" in ln for ln in lines) == 1


def test_out_of_range_float_tiff_is_clipped_with_one_warning(tmp_path, runner) -> None:
    from restore.io import write_image

    for i in range(2):
        a = np.full((6, 7, 3), 0.5, np.float32)
        a[0, 0] = 1.7
        a[1, 1] = -0.2
        write_image(tmp_path / "in" / f"f{i}.tif", a)
    r = runner.invoke(app, ["upscale", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--method", "bicubic",
                            "--scale", "2"])
    assert r.exit_code == 0, r.output
    warn = [ln for ln in r.output.splitlines() if ln.startswith("warning:")]
    assert len(warn) == 1 and "outside [0, 1]" in warn[0] and "clipped" in warn[0]
    assert "Traceback" not in r.output and "ClippedWarning" not in r.output


def test_library_warns_about_clipping() -> None:
    import restore
    from restore.errors import ClippedWarning

    with pytest.warns(ClippedWarning, match="outside"):
        restore.upscale(np.full((4, 4), 2.0, np.float32), 2, method="bicubic")


def test_resume_knows_what_made_each_output(tmp_path, runner) -> None:
    from conftest import make_image
    from restore.io import read_image, write_image

    for i in range(2):
        write_image(tmp_path / "in" / f"a{i}.png", make_image((6, 5, 3), seed=i))
    out = tmp_path / "out"
    base = ["upscale", str(tmp_path / "in"), "-o", str(out), "--method", "bicubic"]
    assert runner.invoke(app, [*base, "--scale", "2"]).exit_code == 0
    r = runner.invoke(app, [*base, "--scale", "2"])
    assert "skipped 2" in r.output  # same request: resume
    r = runner.invoke(app, [*base, "--scale", "4"])
    assert r.exit_code == 0 and "upscaled 2" in r.output and "another request" in r.output
    assert read_image(out / "a0.png").shape == (24, 20, 3)
    # an output the manifest knows nothing about (made by hand) is left alone, as before
    write_image(tmp_path / "in" / "a2.png", make_image((6, 5, 3), seed=2))
    write_image(out / "a2.png", make_image((1, 1, 3)))
    r = runner.invoke(app, [*base, "--scale", "3"])
    assert "upscaled 2" in r.output and "skipped 1" in r.output
    assert read_image(out / "a2.png").shape == (1, 1, 3)
    assert (out / ".restore-manifest.jsonl").exists()
    # inpainting: another --dilate is another request
    img = make_image((20, 20, 3))
    write_image(tmp_path / "p" / "x.png", img)
    m = np.zeros((20, 20), np.uint8)
    m[5:9, 5:9] = 255
    write_image(tmp_path / "p" / "x_mask.png", m)
    ib = ["inpaint", str(tmp_path / "p" / "x.png"), "-o", str(tmp_path / "f.png"), "--method", "telea"]
    assert runner.invoke(app, ib).exit_code == 0
    assert "skipped 1" in runner.invoke(app, ib).output
    r = runner.invoke(app, [*ib, "--dilate", "2"])
    assert "inpainted 1" in r.output and "another request" in r.output


def test_animated_gif_uses_its_first_frame_and_says_so(tmp_path, runner) -> None:
    from PIL import Image

    from conftest import make_image
    from restore.io import read_image

    frames = [Image.fromarray(make_image((12, 10, 3), seed=i)) for i in range(3)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    r = runner.invoke(app, ["upscale", str(tmp_path / "anim.gif"), "-o", str(tmp_path / "o"), "--method", "bicubic",
                            "--scale", "2"])
    assert r.exit_code == 0, r.output
    assert "3 frames" in r.output and "first" in r.output
    out = read_image(tmp_path / "o" / "anim.png")  # GIF is read, not written: PNG keeps it lossless
    first = np.asarray(Image.open(tmp_path / "anim.gif").convert("RGB"))
    assert out.shape == (24, 20, 3)
    np.testing.assert_array_equal(read_image(tmp_path / "anim.gif"), first)


def test_engine_ray_without_ray_is_one_usage_line(tmp_path, runner, monkeypatch) -> None:
    import sys

    from conftest import make_image
    from restore.io import write_image

    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    write_image(tmp_path / "a.png", make_image((8, 8, 3)))
    r = runner.invoke(app, ["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "--engine", "ray"])
    assert r.exit_code == 2 and "restore[cluster]" in r.output and not (tmp_path / "o").exists()
