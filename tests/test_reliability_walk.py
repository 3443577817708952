"""Finding inputs never hangs or stops a batch: link loops, dangling links, FIFOs and unlistable folders are
reported per entry, whether found in a folder or named explicitly (inputs and masks)."""
from __future__ import annotations

import os

import numpy as np
import pytest
import typer

from conftest import make_image
from restore.cli import run_inpaint, run_upscale
from restore.io import read_image, write_image
from test_reliability_manifest import within


@pytest.fixture
def tree(tmp_path):
    d = tmp_path / "in"
    write_image(d / "a.png", make_image((6, 5, 3)))
    write_image(d / "sub" / "b.png", make_image((6, 5, 3), seed=1))
    (d / "x.png").symlink_to("y.png")
    (d / "y.png").symlink_to("x.png")
    (d / "gone.png").symlink_to(tmp_path / "nowhere.png")
    (d / "sub" / "loop").symlink_to("..")  # a folder loop: not followed
    os.mkfifo(d / "pipe.png")
    os.mkfifo(d / "sub" / "pipe2.jpg")
    return d


def test_recursive_scan_reports_each_bad_entry_and_goes_on(tmp_path, tree, capfd) -> None:
    code = within(60, lambda: run_upscale([tree], tmp_path / "out", scale=2, method="bicubic", recursive=True),
                  tree / "pipe.png", tree / "sub" / "pipe2.jpg")
    assert code == 1
    assert read_image(tmp_path / "out" / "a.png").shape == (12, 10, 3)
    assert read_image(tmp_path / "out" / "sub" / "b.png").shape == (12, 10, 3)
    errors = [ln for ln in capfd.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 5 and all(any(n in ln for n in ("x.png", "y.png", "gone.png", "pipe.png", "pipe2.jpg"))
                                    for ln in errors), errors
    # without -r: the same entries of the top folder, the same way
    assert within(60, lambda: run_upscale([tree], tmp_path / "flat", scale=2, method="bicubic"), tree / "pipe.png") == 1
    assert read_image(tmp_path / "flat" / "a.png").shape == (12, 10, 3)


def test_explicit_inputs_that_are_not_regular_files_fail_alone(tmp_path, tree) -> None:
    code = within(60, lambda: run_upscale([tree / "pipe.png", tree / "gone.png", tree / "x.png", tree / "a.png"],
                                          tmp_path / "out", scale=2, method="bicubic"), tree / "pipe.png")
    assert code == 1 and read_image(tmp_path / "out" / "a.png").shape == (12, 10, 3)
    assert within(60, lambda: run_inpaint(tree / "pipe.png", output=tmp_path / "o.png", method="telea"),
                  tree / "pipe.png") == 1


def test_a_fifo_as_mask_is_refused_and_a_fifo_in_a_mask_folder_is_passed_over(tmp_path, tree) -> None:
    with pytest.raises(typer.Exit) as exc:
        within(30, lambda: run_inpaint(tree / "a.png", mask=tree / "pipe.png", output=tmp_path / "o.png",
                                       method="telea"), tree / "pipe.png")
    assert exc.value.exit_code == 2
    md = tmp_path / "masks"
    md.mkdir()
    os.mkfifo(md / "a.png")
    m = np.zeros((6, 5), np.uint8)
    m[1:3, 1:3] = 255
    write_image(tree / "a_mask.png", m)  # the sidecar is used instead
    code = within(30, lambda: run_inpaint(tree / "a.png", mask=md, output=tmp_path / "o.png", method="telea"),
                  md / "a.png")
    assert code == 0 and (tmp_path / "o.png").exists()


def test_a_file_swapped_for_a_fifo_after_the_scan_fails_without_blocking(tmp_path) -> None:
    from restore.batch import InpaintJob, UpscaleJob
    from restore.errors import ImageReadError

    os.mkfifo(tmp_path / "p.png")
    with pytest.raises(ImageReadError, match="not a regular file"):
        within(10, lambda: UpscaleJob(2).read(tmp_path / "p.png"), tmp_path / "p.png")
    with pytest.raises(ImageReadError, match="not a regular file"):
        within(10, lambda: InpaintJob().read(tmp_path / "p.png"), tmp_path / "p.png")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any folder")
def test_an_unlistable_folder_is_reported_and_the_rest_done(tmp_path, tree) -> None:
    (tree / "sub").chmod(0)
    try:
        code = run_upscale([tree], tmp_path / "out", scale=2, method="bicubic", recursive=True)
    finally:
        (tree / "sub").chmod(0o755)
    assert code == 1 and (tmp_path / "out" / "a.png").exists()
