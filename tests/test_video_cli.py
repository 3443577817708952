"""Video clips through `restore upscale` / `restore inpaint`: one output per clip, resumable, recorded,
a bad clip one line that does not stop the batch."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from restore.cli import app  # noqa: E402
from restore.io import write_image  # noqa: E402
from restore.video import probe  # noqa: E402


def _clip(path: Path, frames: int = 4, w: int = 48, h: int = 32) -> Path:
    rng = np.random.default_rng(0)
    base = (rng.random((h, w + frames, 3)) * 255).astype(np.uint8)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=12)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(frames):
            for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(base[:, i:i + w]), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def test_upscale_a_folder_of_clips_and_images_resumes(tmp_path, runner) -> None:
    src = tmp_path / "in"
    src.mkdir()
    _clip(src / "a.mp4")
    write_image(src / "b.png", np.zeros((8, 8, 3), np.uint8))
    out = tmp_path / "out"
    args = ["upscale", str(src), "-o", str(out), "--scale", "2", "--method", "bicubic"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    info = probe(out / "a.mp4")
    assert (info.width, info.height) == (96, 64) and info.frames == 4
    assert (out / "b.png").exists()
    r = runner.invoke(app, args)
    assert r.exit_code == 0 and "skipped 2" in r.output
    r = runner.invoke(app, [*args[:-2], "--scale", "3", "--method", "bicubic"])  # another request: redone
    assert r.exit_code == 0 and probe(out / "a.mp4").width == 144


def test_inpaint_a_clip_with_one_mask(tmp_path, runner) -> None:
    clip = _clip(tmp_path / "c.mp4")
    mask = np.zeros((32, 48), np.uint8)
    mask[10:20, 15:30] = 255
    write_image(tmp_path / "m.png", mask)
    r = runner.invoke(app, ["inpaint", str(clip), "--mask", str(tmp_path / "m.png"), "--method", "telea",
                            "-o", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert probe(tmp_path / "o" / "c.mp4").frames == 4
    r = runner.invoke(app, ["inpaint", str(clip), "-o", str(tmp_path / "o2")])
    assert r.exit_code == 2 and "needs --mask" in r.output


def test_a_broken_clip_fails_alone(tmp_path, runner) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "bad.mp4").write_bytes(_clip(tmp_path / "ok.mp4").read_bytes()[:600])
    write_image(src / "b.png", np.zeros((8, 8, 3), np.uint8))
    r = runner.invoke(app, ["upscale", str(src), "-o", str(tmp_path / "out"), "--scale", "2", "--method", "bicubic"])
    assert r.exit_code == 1
    assert (tmp_path / "out" / "b.png").exists() and not (tmp_path / "out" / "bad.mp4").exists()
    assert "bad.mp4" in r.output and "Traceback" not in r.output
