"""The Ray engine: the same outputs as the local engine, the same resume, failures and exit codes."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import make_image
from restore.cli import app
from restore.io import read_image, write_image

pytest.importorskip("ray")


def _ls(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_ray_upscale_and_inpaint_match_local(tmp_path, runner) -> None:
    src = tmp_path / "in"
    for i in range(3):
        write_image(src / f"a{i}.png", make_image((14, 12, 3), seed=i))
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    for i in range(3):
        m = np.zeros((14, 12), np.uint8)
        m[3:7, 2 + i:6 + i] = 255
        write_image(tmp_path / "masks" / f"a{i}.png", m)
    for engine in ("local", "ray"):
        r = runner.invoke(app, ["upscale", str(src), "-o", str(tmp_path / f"up-{engine}"), "--model", "sr-fast-x4",
                                "--device", "cpu", "--engine", engine, "--workers", "2", "--batch-size", "1"])
        assert r.exit_code == 1, r.output  # the broken file fails, the others are written
        assert "upscaled 3" in r.output and "failed 1" in r.output and "broken.png" in r.output
    assert _ls(tmp_path / "up-ray") == _ls(tmp_path / "up-local") == ["a0.png", "a1.png", "a2.png"]
    for name in _ls(tmp_path / "up-local"):
        np.testing.assert_array_equal(read_image(tmp_path / "up-ray" / name), read_image(tmp_path / "up-local" / name))
    # resume: the same request skips, another one redoes
    r = runner.invoke(app, ["upscale", str(src), "-o", str(tmp_path / "up-ray"), "--model", "sr-fast-x4",
                            "--device", "cpu", "--engine", "ray"])
    assert "skipped 3" in r.output
    (src / "broken.png").unlink()
    for engine in ("local", "ray"):
        r = runner.invoke(app, ["inpaint", str(src), "--mask", str(tmp_path / "masks"), "-o",
                                str(tmp_path / f"ip-{engine}"), "--device", "cpu", "--engine", engine])
        assert r.exit_code == 0, r.output
    for name in _ls(tmp_path / "ip-local"):
        np.testing.assert_array_equal(read_image(tmp_path / "ip-ray" / name), read_image(tmp_path / "ip-local" / name))


def test_ray_address_needs_the_ray_engine(tmp_path, runner) -> None:
    write_image(tmp_path / "a.png", make_image((8, 8, 3)))
    r = runner.invoke(app, ["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "--ray-address", "x:1"])
    assert r.exit_code == 2 and "--engine ray" in r.output


def test_ray_recursive_folders_resume(tmp_path, runner) -> None:
    src = tmp_path / "in"
    write_image(src / "top.png", make_image((10, 9, 3), seed=1))
    write_image(src / "x" / "y" / "deep.png", make_image((9, 10, 3), seed=2))
    (src / "x" / "bad.png").write_bytes(b"not an image")
    base = ["upscale", str(src), "-o", str(tmp_path / "out"), "--recursive", "--method", "bicubic", "--scale", "2"]
    r = runner.invoke(app, [*base, "--engine", "ray", "--workers", "2"])
    assert r.exit_code == 1 and "upscaled 2" in r.output and "failed 1" in r.output, r.output
    r2 = runner.invoke(app, ["upscale", str(src), "-o", str(tmp_path / "local"), "--recursive", "--method", "bicubic",
                             "--scale", "2"])
    assert r2.exit_code == 1
    for rel in ("top.png", "x/y/deep.png"):
        np.testing.assert_array_equal(read_image(tmp_path / "out" / rel), read_image(tmp_path / "local" / rel))
    r = runner.invoke(app, [*base, "--engine", "ray"])
    assert "skipped 2" in r.output and r.exit_code == 1  # the bad file fails again; the others are kept
