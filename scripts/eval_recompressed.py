"""What the quantisation-aware models do when a file's tables understate its damage: a photo compressed at
quality ``--first``, resized by ``--resize`` and stored again — as JPEG at ``--second`` (the tables state the
second quality only) or losslessly (they state nothing). Restored at ×1 (``restore.denoise``) with what the file
states, with the first quality given by hand (``--jpeg-quality``), and as uncompressed; PSNR (RGB) against the
original resized the same way.

    python scripts/eval_recompressed.py --data path/to/BSD68 [--model denoise-x1] [--limit 20]
"""
from __future__ import annotations

import argparse
import json

import numpy as np


def main() -> None:
    import cv2

    import restore
    from restore.degradations import jpeg
    from restore.evaluate import bench_images
    from restore.io import read_rgb_u8
    from restore.metrics import psnr

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", default=None)
    ap.add_argument("--first", type=int, default=40)
    ap.add_argument("--second", type=int, default=90)
    ap.add_argument("--resize", type=float, default=0.75)
    ap.add_argument("--limit", type=int, default=None)
    a = ap.parse_args()
    res: dict[str, list[float]] = {}
    for f in bench_images(a.data)[:a.limit]:
        hr = read_rgb_u8(f)
        size = (round(hr.shape[1] * a.resize), round(hr.shape[0] * a.resize))
        shrink = lambda x: cv2.resize(x, size, interpolation=cv2.INTER_AREA)  # noqa: E731
        truth = np.clip(np.round(shrink(hr.astype(np.float32))), 0, 255).astype(np.uint8)
        once = shrink(jpeg(hr.astype(np.float32), a.first))
        inputs = {"stored losslessly": (np.clip(np.round(once), 0, 255).astype(np.uint8), None),
                  f"stored as JPEG q{a.second}": (jpeg(once, a.second).astype(np.uint8), a.second)}
        for kind, (x, stated) in inputs.items():
            res.setdefault(f"{kind}: input", []).append(psnr(x, truth, 255.0))
            for label, q in ((f"as stated ({stated or 'uncompressed'})", stated), (f"--jpeg-quality {a.first}",
                                                                                     a.first)):
                out = restore.denoise(x, model=a.model, jpeg_quality=q, device="cpu", precision="fp32")
                res.setdefault(f"{kind}: {label}", []).append(psnr(out, truth, 255.0))
    table = {k: round(float(np.mean(v)), 3) for k, v in res.items()}
    print(json.dumps({"first": a.first, "second": a.second, "resize": a.resize,
                      "images": len(next(iter(res.values()))), "psnr": table}, indent=1))


if __name__ == "__main__":
    main()
