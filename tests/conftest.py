"""Shared fixtures: small deterministic images, files on disk, a CLI runner."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"


def make_image(shape: tuple[int, ...], dtype: type = np.uint8, seed: int = 0) -> np.ndarray:
    """A smooth-ish random image (gradients + noise) so lossy codecs stay close to it."""
    rng = np.random.default_rng(seed)
    h, w = shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = (xx / max(w - 1, 1) + yy / max(h - 1, 1)) / 2
    chans = shape[2] if len(shape) == 3 else 1
    f = np.stack([np.roll(base, 3 * c, axis=1) for c in range(chans)], axis=2)
    f = np.clip(f + rng.normal(0, 0.02, f.shape), 0, 1).astype(np.float32)
    if len(shape) == 2:
        f = f[:, :, 0]
    if dtype == np.uint8:
        return (f * 255 + 0.5).astype(np.uint8)
    if dtype == np.uint16:
        return (f * 65535 + 0.5).astype(np.uint16)
    return f.astype(dtype)


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory) -> None:
    """Derived files (the int8 models) go to a folder of the test session, not the user's cache (and the
    subprocesses that run the CLI inherit it)."""
    import os

    os.environ["RESTORE_CACHE_DIR"] = str(tmp_path_factory.mktemp("restore-cache"))


@pytest.fixture
def rgb() -> np.ndarray:
    return make_image((24, 32, 3))


@pytest.fixture
def runner():
    from typer.testing import CliRunner

    return CliRunner()


@pytest.fixture
def write_png(tmp_path: Path):
    """write_png(name, array) -> Path: an image file under tmp_path (parents created)."""
    from restore.io import write_image

    def _write(name: str, array: np.ndarray) -> Path:
        return write_image(tmp_path / name, array, overwrite=True)

    return _write


def conditioned_model(path: Path, name: str, config: dict, seed: int = 0) -> Path:
    """A tiny quantisation-aware SR model whose condition matters (its zero initialisation replaced), saved as a
    default model of its scale."""
    import torch

    from restore.models import create_model
    from restore.weights import save_model

    torch.manual_seed(seed)
    net = create_model("srnet", **config).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.1)
        torch.nn.init.normal_(net.cond.weight, std=0.5)
    return save_model(net, path, {"name": name, "task": "sr", "arch": "srnet", "scale": config["scale"],
                                  "config": config, "default": True})
