"""The manifest is the tool's own file: never written through a link or into another kind of file, never
outside the output folder, and a damaged one costs one warning, not a traceback."""
from __future__ import annotations

import os
import threading

import pytest

from conftest import make_image
from restore.cli import app, run_upscale
from restore.io import read_image, write_image
from restore.manifest import NAME


def _ok(r):
    assert "Traceback" not in r.output and (r.exception is None or isinstance(r.exception, SystemExit)), r.output
    return r


def within(seconds, fn, *fifos):
    """fn() in a thread; a call still blocked after ``seconds`` is unblocked (its FIFOs opened for writing) and
    the test fails."""
    box = []

    def go():
        try:
            box.append(("ok", fn()))
        except BaseException as e:  # handed back
            box.append(("err", e))

    t = threading.Thread(target=go, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        for f in fifos:
            os.close(os.open(f, os.O_RDWR | os.O_NONBLOCK))
        t.join(10)
        pytest.fail("blocked on a FIFO")
    kind, val = box[0]
    if kind == "err":
        raise val
    return val


@pytest.fixture
def batch(tmp_path):
    for i in range(2):
        write_image(tmp_path / "in" / f"a{i}.png", make_image((6, 5, 3), seed=i))
    (tmp_path / "out").mkdir()
    return tmp_path / "in", tmp_path / "out"


def test_a_symlinked_manifest_is_replaced_never_written_through(tmp_path, batch) -> None:
    src, out = batch
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (out / NAME).symlink_to(victim)
    assert run_upscale([src], out, scale=2, method="bicubic") == 0
    assert victim.read_text() == "precious\n"
    assert not (out / NAME).is_symlink() and (out / NAME).is_file()
    assert run_upscale([src], out, scale=2, method="bicubic") == 0  # resumes from the new file
    # a dangling link to a file outside: never created there
    (out / NAME).unlink()
    (out / NAME).symlink_to(tmp_path / "elsewhere.jsonl")
    write_image(src / "a2.png", make_image((6, 5, 3), seed=2))
    assert run_upscale([src], out, scale=2, method="bicubic") == 0
    assert not (tmp_path / "elsewhere.jsonl").exists() and not (out / NAME).is_symlink()
    assert read_image(out / "a2.png").shape == (12, 10, 3) and "a2.png" in (out / NAME).read_text()


def test_a_hard_linked_manifest_is_not_appended_to(tmp_path, batch) -> None:
    src, out = batch
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.link(victim, out / NAME)
    assert run_upscale([src], out, scale=2, method="bicubic") == 0
    assert victim.read_text() == "precious\n"
    assert os.stat(out / NAME).st_nlink == 1


def test_a_fifo_at_the_manifest_name_does_not_block(tmp_path, batch) -> None:
    src, out = batch
    os.mkfifo(out / NAME)
    assert within(30, lambda: run_upscale([src], out, scale=2, method="bicubic"), out / NAME) == 0
    assert read_image(out / "a1.png").shape == (12, 10, 3) and (out / NAME).is_file()


def test_damaged_lines_are_skipped_with_one_warning(tmp_path, batch, runner) -> None:
    src, out = batch
    args = ["upscale", str(src), "-o", str(out), "-s", "2", "-m", "bicubic"]
    assert _ok(runner.invoke(app, args)).exit_code == 0
    good = (out / NAME).read_bytes()
    (out / NAME).write_bytes(b"\xff\xfe not utf-8\n{bad json\n[1, 2]\n" + good + b'{"file": "a0.png", "requ')
    r = _ok(runner.invoke(app, args))
    assert r.exit_code == 0 and "skipped 2" in r.output, r.output
    warnings = [ln for ln in r.stderr.splitlines() if "damaged" in ln]
    assert len(warnings) == 1 and "3 damaged lines" in warnings[0], r.stderr
    # a record appended after the torn line stands on its own line
    assert _ok(runner.invoke(app, [*args[:-3], "3", "-m", "bicubic"])).exit_code == 0
    r = _ok(runner.invoke(app, [*args[:-3], "3", "-m", "bicubic"]))
    assert "skipped 2" in r.output, r.output
