"""Fuzzing of what reads untrusted bytes: image files, mask files, model files, an output folder's manifest and
the web server's multipart form parser.

Seeds are small valid files made here (PNG 8/16-bit, gray+alpha PNG, JPEG, TIFF, WebP, a safetensors model);
each mutation flips, overwrites, inserts, deletes or truncates bytes. The model loader has a second, structured
mutator (``model-struct``: :func:`mutate_model`) that edits the safetensors header as JSON — metadata values,
config fields, the tensor table's dtypes, shapes and offsets — so the mutations reach past the JSON parser. An
input passes when the reader either returns or raises the library's own error (``RestoreError``; for model
files ``ModelError``: one line through the CLI) within ``DEADLINE`` seconds; anything else — another exception
type, a slow input — is a finding. A damaged manifest must never raise (its bad lines are skipped with a
warning, and a record can still be appended); a mutated upload must never be answered with a 5xx. Used by
``tests/test_fuzz.py`` (a short bounded run) and ``scripts/fuzz.py`` (a long one that reports how many inputs it
tried).
"""
from __future__ import annotations

import io as _io
import json
import struct
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from restore.errors import ModelError, RestoreError

KINDS = ("png", "png16", "png-la", "jpeg", "tiff", "webp", "mask", "model", "model-struct", "manifest", "form")
#: the multipart boundary of the form seed (the request's Content-Type names it; the body is what is mutated)
BOUNDARY = "fuzzboundary7MA4YWxkTrZu0gW"
#: seconds one input may take to be read or refused (a tiny model loads in a few ms)
DEADLINE = 5.0


def seeds(folder: Path) -> dict[str, bytes]:
    """One small valid file per kind (written under ``folder``, returned as bytes)."""
    from PIL import Image

    from restore.io import write_image

    rng = np.random.default_rng(0)
    img = (rng.random((24, 20, 3)) * 255).astype(np.uint8)
    out: dict[str, bytes] = {}
    write_image(folder / "a.png", img, overwrite=True)
    out["png"] = (folder / "a.png").read_bytes()
    write_image(folder / "b.png", (img.astype(np.uint16) * 257), overwrite=True)
    out["png16"] = (folder / "b.png").read_bytes()
    write_image(folder / "c.png", np.dstack([img[:, :, 0], img[:, :, 1]]), overwrite=True)
    out["png-la"] = (folder / "c.png").read_bytes()
    for kind, fmt in (("jpeg", "JPEG"), ("tiff", "TIFF"), ("webp", "WEBP")):
        buf = _io.BytesIO()
        Image.fromarray(img).save(buf, format=fmt)
        out[kind] = buf.getvalue()
    m = np.zeros((24, 20), np.uint8)
    m[5:12, 4:9] = 255
    write_image(folder / "m.png", m, overwrite=True)
    out["mask"] = (folder / "m.png").read_bytes()
    out["model"] = out["model-struct"] = _model_seed(folder)
    out["manifest"] = _manifest_seed(folder)
    out["form"] = _form_seed(out["png"])
    return out


def _manifest_seed(folder: Path) -> bytes:
    from restore.manifest import NAME as MANIFEST_NAME, Manifest

    d = folder / "manifest-seed"
    d.mkdir(exist_ok=True)
    m = Manifest()
    for name, scale in (("a.png", 2), ("b.png", 4)):
        (d / name).write_bytes(b"x")
        m.begin(d / name, {"op": "upscale", "scale": scale, "weights_sha256": "0" * 64})
        m.record(d / name, {"op": "upscale", "scale": scale, "weights_sha256": "0" * 64})
    return (d / MANIFEST_NAME).read_bytes()


def _form_seed(png: bytes) -> bytes:
    part = "--{b}\r\nContent-Disposition: form-data; name=\"{n}\"{f}\r\n{t}\r\n"
    body = part.format(b=BOUNDARY, n="image", f='; filename="a.png"', t="Content-Type: image/png\r\n").encode()
    body += png + b"\r\n"
    for n, v in (("scale", "2"), ("method", "nearest")):
        body += part.format(b=BOUNDARY, n=n, f="", t="").encode() + v.encode() + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


def _model_seed(folder: Path) -> bytes:
    from restore.models import SRNet
    from restore.weights import save_model

    cfg = {"base_ch": 4, "n_blocks": 1, "scale": 2}
    save_model(SRNet(**cfg), folder / "m.safetensors",
               {"name": "fuzz", "task": "sr", "arch": "srnet", "scale": 2, "config": cfg})
    return (folder / "m.safetensors").read_bytes()


def mutate(data: bytes, rng: np.random.Generator, max_ops: int = 4) -> bytes:
    """``data`` with 1…``max_ops`` random edits (bit flips, byte overwrites with interesting values, inserted or
    deleted runs, truncation)."""
    b = bytearray(data)
    for _ in range(int(rng.integers(1, max_ops + 1))):
        if not b:
            break
        op = int(rng.integers(0, 6))
        i = int(rng.integers(0, len(b)))
        if op == 0:
            b[i] ^= 1 << int(rng.integers(0, 8))
        elif op == 1:
            b[i] = int(rng.choice([0, 1, 0x7F, 0x80, 0xFF]))
        elif op == 2:
            b[i:i] = bytes(rng.integers(0, 256, int(rng.integers(1, 16)), dtype=np.uint8))
        elif op == 3:
            del b[i:i + int(rng.integers(1, 64))]
        elif op == 4:
            del b[i:]
        else:  # a 32-bit field set to something large (sizes, lengths)
            b[i:i + 4] = int(rng.choice([0xFFFFFFFF, 0x7FFFFFFF, 0x10000, 0])).to_bytes(4, "big")
    return bytes(b)


#: values a structured mutation puts where the loader expects something else (sizes, depths, types)
_ODD: tuple = (0, -1, 1, 3, 7, 2**31, 2**63, 10**7, 10**30, 1.5, float("nan"), float("inf"), "x", "", None, True,
               [], {}, [10**6] * 3, {"a": {"b": {"c": {"d": {"e": [1]}}}}}, "F32", [2, 2], [0, 10**12])


def mutate_model(data: bytes, rng: np.random.Generator, max_ops: int = 3) -> bytes:
    """A safetensors file with 1…``max_ops`` edits made to its header as JSON: a config or metadata field set
    to an odd value, a tensor's dtype, shape or offsets changed, entries removed, duplicated or replaced, the
    header or metadata replaced by another JSON type or by deeply nested text, the length prefix or the data
    cut; now and then a byte mutation on top."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    meta = json.loads(header["__metadata__"]["restore"])

    def odd() -> object:
        return _ODD[int(rng.integers(0, len(_ODD)))]

    raw_meta: str | None = None
    for _ in range(int(rng.integers(1, max_ops + 1))):
        names = [k for k in header if k != "__metadata__"]
        key = names[int(rng.integers(0, len(names)))] if names else None
        op = int(rng.integers(0, 10))
        if op in (0, 1) and isinstance(meta, dict) and isinstance(meta.get("config"), dict):
            cfg = meta["config"]
            field = list(cfg)[int(rng.integers(0, len(cfg)))] if cfg and op == 0 else str(odd())
            cfg[field] = odd()
        elif op == 2 and isinstance(meta, dict):
            meta[("name", "task", "arch", "scale", "config")[int(rng.integers(0, 5))]] = odd()
        elif op == 3 and key is not None and isinstance(header[key], dict):
            header[key]["dtype"] = str(rng.choice(["F16", "BF16", "I64", "U8", "BOOL", "F8_E4M3", "Q4", "f32"]))
        elif op == 4 and key is not None and isinstance(header[key], dict):
            shape = list(header[key].get("shape") or [1])
            i = int(rng.integers(0, len(shape) + 1))
            shape[i:i + int(rng.integers(0, 2))] = [odd() if rng.random() < 0.5 else int(rng.integers(0, 10**6))]
            header[key]["shape"] = shape
        elif op == 5 and key is not None and isinstance(header[key], dict):
            header[key]["data_offsets"] = odd() if rng.random() < 0.3 else \
                [int(x) for x in rng.integers(-2, len(body) + 64, 2)]
        elif op == 6 and key is not None:
            r = rng.random()
            if r < 0.4:
                del header[key]
            elif r < 0.7:
                header[f"{key}.copy"] = header[key]
            else:
                header[key] = odd()
        elif op == 7:
            raw_meta = ("[" * 100_000) if rng.random() < 0.5 else json.dumps(odd())
        elif op == 8:
            if rng.random() < 0.5:
                header["__metadata__"] = odd()
            else:
                header = {"__metadata__": header["__metadata__"], **{f"t{i}": {"dtype": "F32", "shape": [0],
                          "data_offsets": [0, 0]} for i in range(int(rng.integers(1, 5000)))}}
        else:
            body = body[:int(rng.integers(0, len(body) + 1))] if rng.random() < 0.5 else body + bytes(8)
    if isinstance(header.get("__metadata__"), dict):
        header["__metadata__"]["restore"] = raw_meta if raw_meta is not None else json.dumps(meta)
    text = json.dumps(header).encode()
    length = len(text) if rng.random() < 0.9 else int(rng.choice([0, len(text) - 1, len(text) + 1, 2**63]))
    out = struct.pack("<Q", length % 2**64) + text + body
    return mutate(out, rng, 2) if rng.random() < 0.2 else out


def reader(kind: str, tmp: Path) -> Callable[[bytes], object]:
    """The library call that decodes a file of ``kind``."""
    from restore.io import read_image
    from restore.masks import load_mask
    from restore.weights import load_model

    suffix = ".safetensors" if kind.startswith("model") else \
        {"jpeg": ".jpg", "tiff": ".tif", "webp": ".webp"}.get(kind, ".png")
    path = tmp / f"fuzz{suffix}"

    if kind == "manifest":
        return _manifest_reader(tmp)
    if kind == "form":
        return _form_reader()

    def run(data: bytes) -> object:
        path.write_bytes(data)
        if kind.startswith("model"):
            return load_model(path, device="cpu")
        if kind == "mask":
            return load_mask(path, (24, 20))
        return read_image(path, max_pixels=4_000_000)

    return run


def _manifest_reader(tmp: Path) -> Callable[[bytes], object]:
    """Read a damaged manifest, then append to it: neither may raise."""
    from restore.manifest import NAME as MANIFEST_NAME, Manifest

    d = tmp / "manifest-fuzz"
    d.mkdir(exist_ok=True)
    (d / "a.png").write_bytes(b"x")

    def run(data: bytes) -> object:
        (d / MANIFEST_NAME).write_bytes(data)
        m = Manifest(warn=lambda _msg: None)
        m.request_of(d / "a.png")
        m.record(d / "a.png", {"op": "upscale", "scale": 2})
        return Manifest(warn=lambda _msg: None).request_of(d / "a.png")

    return run


_client = None


def _form_reader() -> Callable[[bytes], object]:
    """POST the bytes as a multipart upscale request: any answer but a 5xx passes."""
    global _client
    if _client is None:
        from fastapi.testclient import TestClient

        from restore.server import ServeConfig, create_app
        from restore.sniff import capture_codec_messages

        capture_codec_messages(False)  # as `restore serve` runs: fd 2 is the server's log
        _client = TestClient(create_app(ServeConfig(device="cpu")), base_url="http://127.0.0.1:8000",
                             raise_server_exceptions=False)
        # a mutation that loses the method field asks for the default CNN: load it before the clock runs
        from restore.io import encode_image

        _client.post("/api/upscale", files={"image": ("a.png", encode_image(np.zeros((8, 8, 3), np.uint8)))},
                     data={"scale": "2"})

    def run(data: bytes) -> object:
        r = _client.post("/api/upscale", content=data,
                         headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
        if r.status_code >= 500:
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:200]}")
        return r.status_code

    return run


def check(kind: str, data: bytes, tmp: Path) -> str | None:
    """None when ``data`` is read or refused with the library's error (``ModelError`` for a model file) within
    ``DEADLINE``; else what went wrong."""
    from restore.sniff import native_stderr

    # a manifest and an upload are never refused with an exception: damage is skipped, bad forms are a 4xx
    ours: type[BaseException] | tuple = ModelError if kind.startswith("model") else \
        () if kind in ("manifest", "form") else RestoreError
    read = reader(kind, tmp)  # set up (a server, a model) before the clock runs
    start = time.perf_counter()
    # the server holds fd 2 itself (as `restore serve` runs it): a capture here would wait on its worker thread
    capture = nullcontext([]) if kind == "form" else native_stderr()
    with capture as said:  # whatever reaches fd 2 past our own capture would show through the CLI
        try:
            read(data)
        except ours:
            pass
        except BaseException as exc:  # the finding (a Rust panic is a BaseException)
            if isinstance(exc, KeyboardInterrupt):
                raise
            return f"{kind}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    took = time.perf_counter() - start
    if took > DEADLINE:
        return f"{kind}: took {took:.1f} s"
    stray = [ln for ln in said if ln.strip()]
    return f"{kind}: printed to stderr: {stray[0]}" if stray else None


def run(n: int, seed: int = 0, kinds: tuple[str, ...] = KINDS) -> tuple[int, list[str]]:
    """``n`` mutated inputs, spread over ``kinds``; returns (inputs tried, findings)."""
    rng = np.random.default_rng(seed)
    findings: list[str] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        base = seeds(tmp)
        for i in range(n):
            kind = kinds[i % len(kinds)]
            data = mutate_model(base[kind], rng) if kind == "model-struct" else mutate(base[kind], rng)
            f = check(kind, data, tmp)
            if f:
                findings.append(f)
    return n, findings
