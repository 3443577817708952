"""Resume by content: a request is its settings plus the sha256 of the weights and of the mask; an interrupted
run leaves an intent, never an output the manifest vouches for wrongly; identical concurrent runs do not fail;
only recorded outputs count as derived."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import make_image
from restore.cli import app, run_upscale
from restore.io import read_image, write_image
from restore.models import SRNet
from restore.weights import save_model


def _ok(r):
    assert "Traceback" not in r.output and (r.exception is None or isinstance(r.exception, SystemExit)), r.output
    return r


def _sr_x2(path, seed):
    torch.manual_seed(seed)
    net = SRNet(base_ch=4, n_blocks=1, scale=2)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    cfg = {"base_ch": 4, "n_blocks": 1, "scale": 2, "upsampler": "pixelshuffle", "padding_mode": "zeros"}
    return save_model(net, path, {"name": "sr-x2", "task": "sr", "arch": "srnet", "scale": 2, "config": cfg})


def test_other_weights_under_the_same_name_are_another_request(tmp_path, runner) -> None:
    write_image(tmp_path / "a.png", make_image((10, 12, 3)))
    m1, m2 = _sr_x2(tmp_path / "one.safetensors", 1), _sr_x2(tmp_path / "other_x2.safetensors", 2)
    base = ["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "--device", "cpu", "--precision", "fp32"]
    assert _ok(runner.invoke(app, [*base, "--model", str(m1)])).exit_code == 0
    first = read_image(tmp_path / "o" / "a.png")
    r = _ok(runner.invoke(app, [*base, "--model", str(m1)]))
    assert "skipped 1" in r.output
    r = _ok(runner.invoke(app, [*base, "--model", str(m2)]))
    assert r.exit_code == 0 and "upscaled 1" in r.output and "another request" in r.output, r.output
    assert not np.array_equal(read_image(tmp_path / "o" / "a.png"), first)
    # the same file edited in place is other weights too
    _sr_x2(m2, 3)
    assert "upscaled 1" in _ok(runner.invoke(app, [*base, "--model", str(m2)])).output


def test_an_edited_mask_at_the_same_path_is_another_request(tmp_path, runner) -> None:
    write_image(tmp_path / "p.png", make_image((20, 20, 3)))
    m = np.zeros((20, 20), np.uint8)
    m[4:8, 4:8] = 255
    write_image(tmp_path / "m.png", m)
    args = ["inpaint", str(tmp_path / "p.png"), "--mask", str(tmp_path / "m.png"), "-o", str(tmp_path / "f.png"),
            "--method", "telea"]
    assert _ok(runner.invoke(app, args)).exit_code == 0
    assert "skipped 1" in _ok(runner.invoke(app, args)).output
    m[12:16, 12:16] = 255
    write_image(tmp_path / "m.png", m, overwrite=True)
    r = _ok(runner.invoke(app, args))
    assert "inpainted 1" in r.output, r.output
    # a sidecar edited in place too
    write_image(tmp_path / "s" / "q.png", make_image((20, 20, 3)))
    write_image(tmp_path / "s" / "q_mask.png", m)
    side = ["inpaint", str(tmp_path / "s" / "q.png"), "-o", str(tmp_path / "g.png"), "--method", "telea"]
    assert _ok(runner.invoke(app, side)).exit_code == 0
    m[0:3, 0:3] = 255
    write_image(tmp_path / "s" / "q_mask.png", m, overwrite=True)
    assert "inpainted 1" in _ok(runner.invoke(app, side)).output


class Stop(KeyboardInterrupt):
    """What a Ctrl-C at one step of one file's write looks like to the batch."""


@pytest.mark.parametrize("step", ["intent", "written", "recorded"])
def test_an_interruption_at_any_step_never_leaves_a_stale_output_kept(tmp_path, monkeypatch, step) -> None:
    from restore.cli import batch_cmds

    for i in range(4):
        write_image(tmp_path / "in" / f"a{i}.png", make_image((6, 5, 3), seed=i))
    out = tmp_path / "out"
    calls = []

    def fault(s):
        calls.append(s)
        if s == step and calls.count(step) == 3:  # the third file, at this step
            raise Stop()

    monkeypatch.setattr(batch_cmds, "checkpoint", fault)
    with pytest.raises(KeyboardInterrupt):
        run_upscale([tmp_path / "in"], out, scale=2, method="bicubic")
    monkeypatch.setattr(batch_cmds, "checkpoint", lambda s: None)
    # another request: every output is redone, whatever the interruption left behind
    assert run_upscale([tmp_path / "in"], out, scale=3, method="bicubic") == 0
    assert all(read_image(out / f"a{i}.png").shape == (18, 15, 3) for i in range(4))
    # and the same request again after an interruption of that one: complete and consistent
    monkeypatch.setattr(batch_cmds, "checkpoint", fault)
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        run_upscale([tmp_path / "in"], out, scale=2, method="bicubic", overwrite=True)
    monkeypatch.setattr(batch_cmds, "checkpoint", lambda s: None)
    assert run_upscale([tmp_path / "in"], out, scale=2, method="bicubic") == 0
    assert all(read_image(out / f"a{i}.png").shape == (12, 10, 3) for i in range(4))


def test_an_output_left_with_only_an_intent_is_redone(tmp_path) -> None:
    """What a kill between the rename and the record leaves (5 written, 4 recorded): redone, not kept."""
    write_image(tmp_path / "in" / "a.png", make_image((6, 5, 3)))
    out = tmp_path / "out"
    assert run_upscale([tmp_path / "in"], out, scale=2, method="bicubic") == 0
    lines = (out / ".restore-manifest.jsonl").read_text().splitlines()
    # keep only the intent of a scale-3 request, over the scale-2 output
    intent = json.loads(lines[0])
    intent["request"]["scale"] = 3
    (out / ".restore-manifest.jsonl").write_text(json.dumps(intent) + "\n")
    assert run_upscale([tmp_path / "in"], out, scale=2, method="bicubic") == 0
    assert json.loads((out / ".restore-manifest.jsonl").read_text().splitlines()[-1])["request"]["scale"] == 2
    assert "pending" not in json.loads((out / ".restore-manifest.jsonl").read_text().splitlines()[-1])


def test_two_identical_runs_at_once_both_succeed(tmp_path, monkeypatch, runner) -> None:
    """The second run finds each output already written by the first, for the same request: done, not a failure."""
    from restore.cli import batch_cmds

    for i in range(3):
        write_image(tmp_path / "in" / f"a{i}.png", make_image((6, 5, 3), seed=i))
    args = ["upscale", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-s", "2", "-m", "bicubic"]
    other, started = [], []

    def race(step):
        if step == "intent" and not started:  # the other run plans after this one and finishes first
            started.append(True)
            other.append(runner.invoke(app, args))

    monkeypatch.setattr(batch_cmds, "checkpoint", race)
    r = _ok(runner.invoke(app, args))
    assert other and other[0].exit_code == 0, other[0].output if other else ""
    assert r.exit_code == 0 and "failed 0" in r.output and "skipped 3" in r.output, r.output
    assert all(read_image(tmp_path / "out" / f"a{i}.png").shape == (12, 10, 3) for i in range(3))
    # a concurrent run of another request is still a conflict
    monkeypatch.setattr(batch_cmds, "checkpoint", lambda s: None)
    args4 = ["upscale", str(tmp_path / "in"), "-o", str(tmp_path / "out4"), "-s", "2", "-m", "bicubic"]
    started.clear()

    def race4(step):
        if step == "intent" and not started:
            started.append(True)
            runner.invoke(app, [*args4[:-1], "nearest"])

    monkeypatch.setattr(batch_cmds, "checkpoint", race4)
    r = _ok(runner.invoke(app, args4))
    assert r.exit_code == 1 and "already exists" in r.output


def test_a_users_own_file_named_like_an_output_is_an_input(tmp_path, runner) -> None:
    d = tmp_path / "d"
    write_image(d / "a.png", make_image((8, 8, 3)))
    write_image(d / "a_x4.png", make_image((8, 8, 3), seed=5))  # the user's, not the tool's
    r = _ok(runner.invoke(app, ["upscale", str(d), "-o", str(tmp_path / "o"), "-s", "2", "-m", "nearest"]))
    assert r.exit_code == 0 and sorted(p.name for p in (tmp_path / "o").glob("*.png")) == ["a.png", "a_x4.png"]
    # the tool's own output beside its source (recorded in that folder's manifest) is not an input
    write_image(d / "b.png", make_image((8, 8, 3)))
    r = _ok(runner.invoke(app, ["upscale", str(d / "b.png"), "-o", str(d), "-s", "2", "-m", "nearest"]))
    assert r.exit_code == 0
    assert (d / "b_x2.png").exists()
    r = _ok(runner.invoke(app, ["upscale", str(d), "-o", str(tmp_path / "o2"), "-s", "2", "-m", "nearest"]))
    assert sorted(p.name for p in (tmp_path / "o2").glob("*.png")) == ["a.png", "a_x4.png", "b.png"]
