"""Build the demo images in ``samples/`` from pictures bundled with scikit-image (no download).

    python scripts/make_samples.py

Writes small PNGs (longest side <= 256 px):

* ``samples/<stem>.png``        photos to upscale or inpaint (RGB, and one gray);
* ``samples/masks/<stem>.png``  a hole mask per photo (white = hole): random strokes and boxes
  from a fixed seed, so reruns give identical files. Kept in a subfolder so that
  ``restore upscale samples/ -o out/`` (non-recursive) upscales only the photos;
* ``samples/chelsea_holes.png`` RGBA with transparent holes, for ``restore inpaint
  samples/chelsea_holes.png`` without ``--mask``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from skimage import data

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from restore.io import write_image  # noqa: E402

SAMPLES = ROOT / "samples"
SEED = 1234
MAX_SIDE = 256

# name -> loader; all of these ship inside scikit-image's wheel (skimage/data/*.png)
PHOTOS = {
    "astronaut": (data.astronaut, 192),
    "coffee": (data.coffee, 240),
    "camera": (data.camera, 192),  # gray
}


def shrink(image: np.ndarray, side: int) -> np.ndarray:
    """Downscale so the longest side is ``side`` (INTER_AREA: no aliasing)."""
    h, w = image.shape[:2]
    f = min(side, MAX_SIDE) / max(h, w)
    return cv2.resize(image, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)


def make_mask(shape: tuple[int, int], rng: np.random.Generator, strokes: int = 4, boxes: int = 2) -> np.ndarray:
    """uint8 mask, 255 = hole: thick random strokes (scratches) and a few boxes (missing blocks)."""
    h, w = shape
    m = np.zeros((h, w), np.uint8)
    for _ in range(strokes):
        pts = np.stack([rng.integers(0, w, 4), rng.integers(0, h, 4)], axis=1).astype(np.int32)
        cv2.polylines(m, [pts], isClosed=False, color=255, thickness=int(rng.integers(3, 9)))
    for _ in range(boxes):
        bw, bh = int(rng.integers(w // 12, w // 6)), int(rng.integers(h // 12, h // 6))
        x, y = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
        m[y:y + bh, x:x + bw] = 255
    return m


def main() -> None:
    rng = np.random.default_rng(SEED)
    for name, (load, side) in PHOTOS.items():
        img = shrink(load(), side)
        write_image(SAMPLES / f"{name}.png", img, overwrite=True)
        write_image(SAMPLES / "masks" / f"{name}.png", make_mask(img.shape[:2], rng), overwrite=True)

    cat = shrink(data.chelsea(), 224)
    holes = make_mask(cat.shape[:2], rng, strokes=3, boxes=1) > 0
    alpha = np.where(holes, 0, 255).astype(np.uint8)
    rgba = np.dstack([cat, alpha])
    rgba[holes, :3] = 0  # what an editor's eraser leaves: no colour left under the hole
    write_image(SAMPLES / "chelsea_holes.png", rgba, overwrite=True)

    total = sum(p.stat().st_size for p in SAMPLES.rglob("*.png"))
    print(f"wrote {len(list(SAMPLES.rglob('*.png')))} files, {total / 1024:.0f} KiB, in {SAMPLES}")


if __name__ == "__main__":
    main()
