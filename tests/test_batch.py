"""The batch pipeline: order, per-item errors from each stage, bounded look-ahead, bugs propagate."""
from __future__ import annotations

import threading
import time

import pytest

from restore.batch import run_pipeline


class Bad(Exception):
    pass


def test_order_and_errors_from_every_stage() -> None:
    written = []

    def read(i):
        if i == 2:
            raise Bad("read")
        time.sleep(0.001 * (i % 3))
        return i * 10

    def process(i, d):
        if i == 4:
            raise Bad("process")
        return d + 1

    def write(i, r):
        if i == 6:
            raise Bad("write")
        time.sleep(0.002 * ((i + 1) % 2))
        written.append((i, r))

    out = list(run_pipeline(range(9), read, process, write, catch=(Bad,)))
    assert [i for i, _ in out] == list(range(9))  # input order, whatever finished first
    assert {i: str(e) for i, e in out if e} == {2: "read", 4: "process", 6: "write"}
    assert sorted(written) == [(i, i * 10 + 1) for i in range(9) if i not in (2, 4, 6)]


def test_stages_overlap_and_look_ahead_is_bounded() -> None:
    threads, ahead, lock = set(), [], threading.Lock()
    state = {"read": 0, "done": 0}

    def read(i):
        threads.add(threading.current_thread().name)
        with lock:
            state["read"] += 1
            ahead.append(state["read"] - state["done"])
        return i

    def process(i, d):
        time.sleep(0.005)
        return d

    def write(i, r):
        threads.add(threading.current_thread().name)
        with lock:
            state["done"] += 1

    assert len(list(run_pipeline(range(20), read, process, write, catch=(Bad,), depth=2))) == 20
    assert any(n.startswith("restore-read") for n in threads) and any(n.startswith("restore-write") for n in threads)
    assert max(ahead) <= 2 + 2 + 1  # reads queued + writes queued + the one computing


def test_a_bug_is_not_swallowed() -> None:
    def process(i, d):
        raise KeyError("bug")

    with pytest.raises(KeyError):
        list(run_pipeline(range(3), lambda i: i, process, lambda i, r: None, catch=(Bad,)))


def test_interrupted_batch_leaves_no_partial_file(tmp_path) -> None:
    """SIGINT in the middle of a pipelined batch: exit 130, every output either complete or absent, no temp file;
    a re-run completes the rest."""
    import os
    import signal
    import subprocess
    import sys

    from conftest import make_image
    from restore.io import read_image, write_image

    count = 24
    for i in range(count):
        write_image(tmp_path / "in" / f"a{i:02d}.png", make_image((160, 150, 3), seed=i))
    # float32: the slowest path, so the signal lands mid-batch (with int8 the batch could end before it)
    cmd = [sys.executable, "-m", "restore", "upscale", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
           "--scale", "4", "--device", "cpu", "--precision", "fp32"]
    # SIGINT at its default: a runner started in the background (nohup, `&`) hands its children SIGINT ignored,
    # and Python then never turns it into KeyboardInterrupt
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while time.time() < deadline and len(list((tmp_path / "out").glob("*.png"))) < 2:
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    p.wait(timeout=60)
    assert p.returncode == 130
    names = os.listdir(tmp_path / "out")
    assert not [n for n in names if n.endswith(".tmp")]
    for n in names:
        if n.endswith(".png"):
            assert read_image(tmp_path / "out" / n).shape == (640, 600, 3)  # complete, decodable
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and len(list((tmp_path / "out").glob("*.png"))) == count
