"""Byte-level fuzzing of the decoding paths: image files, mask files and model files.

Seeds are small valid files made here (PNG 8/16-bit, gray+alpha PNG, JPEG, TIFF, WebP, a safetensors model);
each mutation flips, overwrites, inserts, deletes or truncates bytes. An input passes when the reader either
returns or raises the library's own error (``RestoreError``: one line through the CLI); anything else — another
exception type, a hang past the deadline — is a finding. Used by ``tests/test_fuzz.py`` (a short bounded run)
and ``scripts/fuzz.py`` (a long one that reports how many inputs it tried).
"""
from __future__ import annotations

import io as _io
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from restore.errors import RestoreError

KINDS = ("png", "png16", "png-la", "jpeg", "tiff", "webp", "mask", "model")


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
    out["model"] = _model_seed(folder)
    return out


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


def reader(kind: str, tmp: Path) -> Callable[[bytes], object]:
    """The library call that decodes a file of ``kind``."""
    from restore.io import read_image
    from restore.masks import load_mask
    from restore.weights import load_model

    suffix = {"jpeg": ".jpg", "tiff": ".tif", "webp": ".webp", "model": ".safetensors"}.get(kind, ".png")
    path = tmp / f"fuzz{suffix}"

    def run(data: bytes) -> object:
        path.write_bytes(data)
        if kind == "model":
            return load_model(path, device="cpu")
        if kind == "mask":
            return load_mask(path, (24, 20))
        return read_image(path, max_pixels=4_000_000)

    return run


def check(kind: str, data: bytes, tmp: Path) -> str | None:
    """None when ``data`` is read or refused with the library's error; else what went wrong."""
    from restore.sniff import native_stderr

    with native_stderr() as said:  # whatever reaches fd 2 past our own capture would show through the CLI
        try:
            reader(kind, tmp)(data)
        except RestoreError:
            pass
        except Exception as exc:  # the finding
            return f"{kind}: {type(exc).__name__}: {exc}"
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
            f = check(kind, mutate(base[kind], rng), tmp)
            if f:
                findings.append(f)
    return n, findings
