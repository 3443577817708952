"""What a JPEG's own tables add to ×1 restoration: ``restore.denoise`` told only the quality the file states
(the network alone) against ``restore.denoise`` given the file's tables — the quantisation constraint, and for a
file compressed harder before on the same grid, the earlier quality instead (``restore.api.resolve_jpeg_condition``).
Photos compressed once, twice on one grid, and twice with a resize between (Pillow's libjpeg, 4:2:0); PSNR (RGB)
gain over the decoded file, against the original (resized as the file was).

    python scripts/eval_jpeg_constraint.py --data path/to/photos            # every image of the folders
    python scripts/eval_jpeg_constraint.py --held-back DATA/bsds400 DATA/t91   # the 16 held-back training images
"""
from __future__ import annotations

import argparse
import io
import json

import numpy as np

#: (first quality, resize between or None, last quality or None): once, twice on one grid, twice resized
CASES = [(30, None, None), (50, None, None), (75, None, None), (90, None, None),
         (30, None, 90), (50, None, 90), (30, None, 75),
         (30, 0.8, 90), (50, 0.8, 75), (90, 0.8, 50), (75, 0.8, 75)]


def main() -> None:
    from PIL import Image

    import restore
    from restore.compression import file_quality, jpeg_luma_table
    from restore.data import list_images
    from restore.io import read_rgb_u8
    from restore.metrics import psnr
    from restore.train import split_validation

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", nargs="*", default=[], help="folders of photos: every image")
    ap.add_argument("--held-back", nargs="*", default=[], help="training folders: the 16 images a run holds back")
    ap.add_argument("--model", default=None)
    a = ap.parse_args()
    files = list_images(a.data) if a.data else []
    if a.held_back:
        files += split_validation(list_images(a.held_back), 16)[1]

    def jpeg(rgb: np.ndarray, quality: int) -> Image.Image:
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
        buf.seek(0)
        return Image.open(buf)

    def shrink(rgb: np.ndarray, f: float) -> np.ndarray:
        h, w = rgb.shape[:2]
        return np.asarray(Image.fromarray(rgb).resize((round(w * f), round(h * f)), Image.BICUBIC))

    rows = []
    for first, resize, last in CASES:
        gains = []
        for f in files:
            original = truth = read_rgb_u8(f)
            im = jpeg(original, first)
            if last is not None:
                once = np.asarray(im.convert("RGB"))
                if resize:
                    once, truth = shrink(once, resize), shrink(original, resize)
                im = jpeg(once, last)
            pixels = np.asarray(im.convert("RGB"))
            kw = {"model": a.model, "device": "cpu", "precision": "fp32", "tile": 0}
            alone = restore.denoise(pixels, jpeg_quality=file_quality(im), **kw)
            tables = restore.denoise(pixels, jpeg_tables=jpeg_luma_table(im), **kw)
            base = psnr(pixels, truth, 255.0)
            gains.append((psnr(alone, truth, 255.0) - base, psnr(tables, truth, 255.0) - base))
        g = np.mean(gains, 0)
        name = f"q{first}" + (f" > ×{resize}" if resize else "") + (f" > q{last}" if last else "")
        rows.append({"case": name, "images": len(files), "gain_network_alone": round(float(g[0]), 3),
                     "gain_with_tables": round(float(g[1]), 3), "tables_add": round(float(g[1] - g[0]), 3)})
        print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main()
