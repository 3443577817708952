"""Model files are untrusted input: a config is bounded by the tensors the file holds before anything is built,
the header's structure is validated, and every malformed file is one ModelError (one `error:` line, exit 2)."""
from __future__ import annotations

import json
import os
import struct
import threading
import time

import pytest

from conftest import make_image
from restore.errors import ModelError
from restore.models import SRNet
from restore.weights import load_model, save_model

CFG = {"base_ch": 4, "n_blocks": 1, "scale": 2, "upsampler": "pixelshuffle", "padding_mode": "zeros"}


def _info(**config):
    return {"name": "sr-x2", "task": "sr", "arch": "srnet", "scale": 2, "config": {**CFG, **config}}


def _file(tmp_path, name="m.safetensors", **config):
    return save_model(SRNet(**CFG), tmp_path / name, _info(**config))


def _rewrite(path, edit):
    """``path`` with its header JSON passed through ``edit`` (which may return bytes to use as is)."""
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = edit(json.loads(data[8:8 + n]))
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n:])
    return path


def test_an_absurd_depth_is_refused_before_any_network_is_built(tmp_path, monkeypatch) -> None:
    """10 million blocks in a 1-block file: refused from the header, without constructing the network."""
    built = []
    real_init = SRNet.__init__

    def spy(self, *a, **kw):
        built.append(kw.get("n_blocks"))
        assert kw.get("n_blocks", 0) < 1000, "a network was built from an absurd config"
        real_init(self, *a, **kw)

    p = _file(tmp_path, n_blocks=10_000_000)
    monkeypatch.setattr(SRNet, "__init__", spy)
    start = time.perf_counter()
    with pytest.raises(ModelError, match="more than the file holds"):
        load_model(p, device="cpu")
    assert time.perf_counter() - start < 2 and built == []


def test_a_depth_below_the_int_bound_stops_within_the_build_budget(tmp_path) -> None:
    """1000 blocks passes the coarse bound; the meta-device build stops once it outgrows the file's tensors."""
    p = _file(tmp_path, n_blocks=1000)
    start = time.perf_counter()
    with pytest.raises(ModelError, match="larger network than the file holds"):
        load_model(p, device="cpu")
    assert time.perf_counter() - start < 2


def _cases(tmp_path):
    """(label, path) of malformed files, each a different way a header or its metadata can be wrong."""
    def edit_meta(fn):
        def go(h):
            h["__metadata__"]["restore"] = fn(json.loads(h["__metadata__"]["restore"]))
            return h
        return go

    def first(h):
        return next(k for k in h if k != "__metadata__")

    edits = {
        "header is a list": lambda h: [1, 2],
        "header not JSON": lambda h: b"{not json",
        "header deeply nested": lambda h: b"[" * 100_000,
        "metadata not a map": lambda h: {**h, "__metadata__": [1]},
        "metadata value not text": lambda h: {**h, "__metadata__": {"restore": 5}},
        "restore is a number": lambda h: {**h, "__metadata__": {"restore": "5"}},
        "restore deeply nested": lambda h: {**h, "__metadata__": {"restore": "[" * 100_000}},
        "config a list": edit_meta(lambda m: {**m, "config": [1]}),
        "config n_blocks huge int": edit_meta(lambda m: {**m, "config": {**m["config"], "n_blocks": 10**40}}),
        "config base_ch a float": edit_meta(lambda m: {**m, "config": {**m["config"], "base_ch": 4.5}}),
        "config unknown upsampler": edit_meta(lambda m: {**m, "config": {**m["config"], "upsampler": {}}}),
        "config scale infinite": edit_meta(lambda m: {**m, "config": {**m["config"], "scale": float("inf")}}),
        "metadata scale disagrees": edit_meta(lambda m: {**m, "scale": 4}),
        "name not text": edit_meta(lambda m: {**m, "name": 3}),
        "bad dtype": lambda h: {**h, first(h): {**h[first(h)], "dtype": "Q4"}},
        "negative dim": lambda h: {**h, first(h): {**h[first(h)], "shape": [-1, 4]}},
        "shape not ints": lambda h: {**h, first(h): {**h[first(h)], "shape": ["4"]}},
        "offsets reversed": lambda h: {**h, first(h): {**h[first(h)], "data_offsets": [8, 0]}},
        "offsets past the end": lambda h: {**h, first(h): {**h[first(h)], "data_offsets": [0, 10**12]}},
        "offsets overlap": lambda h: {**h, **{k: {**v, "data_offsets": [0, v["data_offsets"][1] - v["data_offsets"][0]]}
                                              for k, v in h.items() if k != "__metadata__"}},
        "entry not a tensor": lambda h: {**h, first(h): "x"},
        "many empty tensors": lambda h: {"__metadata__": h["__metadata__"], **{
            f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(5000)}},
    }
    out = []
    for i, (label, fn) in enumerate(edits.items()):
        out.append((label, _rewrite(_file(tmp_path, f"c{i}.safetensors"), fn)))
    p = _file(tmp_path, "long.safetensors")
    data = p.read_bytes()
    p.write_bytes(struct.pack("<Q", 2**63) + data[8:])
    out.append(("header length huge", p))
    q = _file(tmp_path, "trail.safetensors")
    q.write_bytes(q.read_bytes() + b"\0" * 16)
    out.append(("trailing bytes", q))
    r = _file(tmp_path, "cut.safetensors")
    r.write_bytes(r.read_bytes()[:-3])
    out.append(("truncated", r))
    return out


def test_every_malformed_file_is_one_model_error(tmp_path) -> None:
    for label, path in _cases(tmp_path):
        start = time.perf_counter()
        try:
            load_model(path, device="cpu")
        except ModelError as e:
            assert "\n" not in str(e), label
        else:
            pytest.fail(f"{label}: loaded")
        assert time.perf_counter() - start < 3, label


def test_a_fifo_for_a_model_file_is_refused_without_blocking(tmp_path) -> None:
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    outcome = []
    t = threading.Thread(target=lambda: outcome.append(_try(fifo)), daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():  # unblock the reader before failing
        fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail("loading a FIFO blocked")
    assert outcome == ["ModelError"]


def _try(path):
    try:
        load_model(path, device="cpu")
    except Exception as e:
        return type(e).__name__
    return "loaded"


@pytest.mark.parametrize("label", ["restore is a number", "config n_blocks huge int", "header is a list",
                                   "restore deeply nested"])
def test_cli_says_one_error_line_for_a_malformed_model(tmp_path, runner, label) -> None:
    from restore.cli import app
    from restore.io import write_image

    path = dict(_cases(tmp_path))[label]
    write_image(tmp_path / "a.png", make_image((8, 8, 3)))
    huge = _file(tmp_path, "huge.safetensors", n_blocks=10_000_000)
    for model in (path, huge):
        r = runner.invoke(app, ["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "--model", str(model)])
        assert r.exit_code == 2, r.output
        assert "Traceback" not in r.output and r.exception is None or isinstance(r.exception, SystemExit)
        assert len([ln for ln in r.stderr.splitlines() if ln.startswith("error:")]) == 1, r.output
        assert not (tmp_path / "o" / "a.png").exists()
