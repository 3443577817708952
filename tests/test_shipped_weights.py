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


SR_WEIGHTS = [p for p in WEIGHTS if json.loads(_header_and_data(p)[0]["__metadata__"]["restore"])["task"] == "sr"]


@pytest.mark.parametrize("path", SR_WEIGHTS, ids=[p.name for p in SR_WEIGHTS])
def test_an_sr_file_says_what_its_training_made_it(path: Path) -> None:
    """The description is the trainer's (restore.train.describe_sr) for the file's network and training, so a
    re-run of its documented command writes the same one."""
    from restore.train import describe_sr

    meta = json.loads(_header_and_data(path)[0]["__metadata__"]["restore"])
    tr, cfg = meta["training"], meta["config"]
    clean = tr.get("anchor", f"{tr['init']}-x{meta['scale']}") if cfg.get("gated") else None
    assert meta["description"] == describe_sr(meta["arch"], cfg, real=isinstance(tr["degradation"], dict),
                                              inputs=meta.get("inputs", "any"), clean=clean)


def test_saved_files_name_their_tensors_and_keep_the_name_through_metadata_edits(tmp_path) -> None:
    from restore.models import SRNet
    from restore.weights import save_model, update_metadata

    p = save_model(SRNet(base_ch=4, n_blocks=1, scale=2), tmp_path / "t.safetensors",
                   {"name": "t", "task": "sr", "arch": "srnet", "scale": 2,
                    "config": {"base_ch": 4, "n_blocks": 1, "scale": 2}})
    header, data = _header_and_data(p)
    first = json.loads(header["__metadata__"]["restore"])["tensors_sha256"]
    assert first == hashlib.sha256(data).hexdigest()
    update_metadata(p, scores={"x": 1.0})
    header, data = _header_and_data(p)
    assert json.loads(header["__metadata__"]["restore"])["tensors_sha256"] == first == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("header", [b"[1, 2]", b'{"__metadata__": [1]}', b'{"__metadata__": {"restore": 5}}',
                                    b"[" * 100_000 + b"]" * 100_000, b'{"__metadata__": {"restore": "[1]"}}',
                                    b"\xff\xfe"])
def test_metadata_of_a_malformed_header_is_one_model_error(tmp_path, header) -> None:
    from restore.catalogue import read_metadata
    from restore.errors import ModelError

    p = tmp_path / "bad.safetensors"
    p.write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(ModelError):
        read_metadata(p)
