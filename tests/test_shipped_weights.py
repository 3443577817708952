"""The shipped weight files: their tensors are the ones their metadata names (``tensors_sha256``, the sha256 of
the file's tensor data), so a metadata rewrite provably left the network alone; and each records where it came
from."""
from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest

WEIGHTS = sorted((Path(__file__).resolve().parents[1] / "restore" / "weights").glob("*.safetensors"))


def _header_and_data(path: Path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n]), raw[8 + n:]


@pytest.mark.parametrize("path", WEIGHTS, ids=[p.name for p in WEIGHTS])
def test_tensors_are_the_ones_the_metadata_names(path: Path) -> None:
    header, data = _header_and_data(path)
    meta = json.loads(header["__metadata__"]["restore"])
    assert meta["tensors_sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("path", WEIGHTS, ids=[p.name for p in WEIGHTS])
def test_every_shipped_file_records_its_training(path: Path) -> None:
    header, _ = _header_and_data(path)
    tr = json.loads(header["__metadata__"]["restore"])["training"]
    assert tr["command"].startswith("restore train ") and tr["iterations"] > 0
    assert all(d.startswith("DATA/") for d in tr["data"])
