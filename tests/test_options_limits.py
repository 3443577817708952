"""Every option at its limits — absurd, negative, non-finite, huge or of the wrong type — is one usage line
(``error: …``, exit 2): never a traceback, never click's usage text and boxed panel."""
from __future__ import annotations

import pytest

from conftest import make_image
from restore.cli import app
from restore.io import write_image

BAD = {
    "upscale": [
        ("--scale", "5"), ("--scale", "0"), ("--scale", "-1"), ("--scale", "abc"), ("--scale", "2.5"),
        ("--scale", "99999999999999999999"), ("--threads", "0"), ("--threads", "-3"), ("--threads", "abc"),
        ("--threads", "99999999999999999999"), ("--max-pixels", "0"), ("--max-pixels", "-1"),
        ("--max-pixels", "1e3"), ("--max-pixels", str(10**60)), ("--workers", "0"), ("--workers", "-1"),
        ("--workers", str(10**12)), ("--batch-size", "0"), ("--batch-size", str(10**30)),
        ("--gpus-per-worker", "-1"), ("--gpus-per-worker", "inf"), ("--gpus-per-worker", "nan"),
        ("--gpus-per-worker", "abc"), ("--quality", "0"), ("--quality", "101"), ("--quality", "-5"),
        ("--quality", "1e9"), ("--denoise", "-0.1"), ("--denoise", "1.5"), ("--denoise", "nan"),
        ("--denoise", "inf"), ("--denoise", "abc"), ("--tile", "-1"), ("--tile", "abc"), ("--ray-timeout", "0"),
        ("--ray-timeout", "-1"), ("--ray-timeout", "inf"), ("--ray-timeout", "nan"), ("--ray-timeout", "abc"),
        ("--format", "gif"), ("--precision", "int4"), ("--backend", "foo"), ("--engine", "foo"), ("--nosuch", "1"),
    ],
    "inpaint": [
        ("--dilate", "-1"), ("--dilate", "abc"), ("--dilate", "1.5"), ("--threads", "0"),
        ("--threads", str(10**40)), ("--quality", "1000"), ("--workers", "0"), ("--max-pixels", "-7"),
        ("--format", "bmp"), ("--ray-timeout", "-3"),
    ],
}
CASES = [(cmd, opt, val) for cmd, pairs in BAD.items() for opt, val in pairs]


def assert_one_usage_line(r) -> None:
    assert r.exit_code == 2, (r.exit_code, r.output)
    assert "Traceback" not in r.output and "╭" not in r.output and "Usage:" not in r.output, r.output
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.output


@pytest.mark.parametrize("cmd, option, value", CASES, ids=[f"{c}{o}={v[:12]}" for c, o, v in CASES])
def test_an_option_at_its_limits_is_one_usage_line(tmp_path, runner, cmd, option, value):
    write_image(tmp_path / "a.png", make_image((8, 8, 3)))
    r = runner.invoke(app, [cmd, str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), option, value])
    assert_one_usage_line(r)
    assert option.lstrip("-") in r.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("args", [
    ["--bogus"], ["upscale"], ["upscale", "a.png"], ["models", "--nosuch"], ["analyze", "padding", "--nosuch"],
    ["serve", "--port", "99999999"], ["eval", "sr", "--scale", "9"], ["nosuchcommand"],
])
def test_usage_errors_of_every_command_are_one_line(runner, args):
    assert_one_usage_line(runner.invoke(app, args))


@pytest.mark.parametrize("value", ["0", "-2", "abc", "99999999999999999999"])
def test_restore_threads_out_of_range_is_one_usage_line(tmp_path, runner, monkeypatch, value):
    monkeypatch.setenv("RESTORE_THREADS", value)
    write_image(tmp_path / "a.png", make_image((8, 8, 3)))
    r = runner.invoke(app, ["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "--method", "bicubic"])
    assert_one_usage_line(r)
    assert "RESTORE_THREADS" in r.stderr


def test_no_arguments_still_prints_the_help(runner):
    r = runner.invoke(app, [])
    assert "Usage" in r.output and "upscale" in r.output and "error:" not in r.output
