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


def _closed_port() -> int:
    import socket

    with socket.socket() as s:  # bound and released: nothing listens there now
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_ray_address_is_one_usage_line_within_the_timeout(tmp_path, runner) -> None:
    import time

    write_image(tmp_path / "a.png", make_image((8, 8, 3)))
    tic = time.perf_counter()
    r = runner.invoke(app, ["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "--method", "bicubic",
                            "--engine", "ray", "--ray-address", f"127.0.0.1:{_closed_port()}", "--ray-timeout", "5"])
    assert time.perf_counter() - tic < 30
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot join Ray at 127.0.0.1:"), r.stderr
    assert not list(tmp_path.glob("o/*.png"))


def test_a_silent_address_is_given_up_after_the_timeout() -> None:
    """A port that accepts connections but never answers as Ray would keep Ray's client waiting for minutes:
    the probe passes, and the join is abandoned after the timeout."""
    import socket
    import threading
    import time

    from restore.cluster import _init_within, check_reachable
    from restore.errors import InputError

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        address = f"127.0.0.1:{server.getsockname()[1]}"
        check_reachable(address, 2.0)  # TCP answers

        class HangingRay:
            never = threading.Event()

            def init(self, **_kwargs) -> None:
                self.never.wait(60)

        tic = time.perf_counter()
        with pytest.raises(TimeoutError, match="within 0.5 s"):
            _init_within(HangingRay(), 0.5, address=address)
        assert time.perf_counter() - tic < 5
        HangingRay.never.set()
    with pytest.raises(InputError, match="one line|Connection refused|refused"):
        check_reachable(f"127.0.0.1:{_closed_port()}", 2.0)


@pytest.mark.parametrize("address, expected", [
    ("10.0.0.1:6380", ("10.0.0.1", 6380)), ("head", ("head", 6379)), ("ray://head:10002", ("head", 10002)),
    ("ray://head", ("head", 10001)), ("[::1]:7000", ("::1", 7000)), ("auto", None), ("local", None),
])
def test_ray_addresses_are_parsed_for_the_probe(address, expected) -> None:
    from restore.cluster import _host_port

    assert _host_port(address) == expected


def test_a_bad_ray_port_is_one_line(tmp_path, runner) -> None:
    write_image(tmp_path / "a.png", make_image((8, 8, 3)))
    r = runner.invoke(app, ["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "--method", "bicubic",
                            "--engine", "ray", "--ray-address", "127.0.0.1:99999"])
    assert r.exit_code == 2 and r.stderr.startswith("error: --ray-address 127.0.0.1:99999: bad port"), r.stderr
