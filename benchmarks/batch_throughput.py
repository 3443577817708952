"""Batch throughput of ``restore upscale`` against its compute alone.

    python benchmarks/batch_throughput.py --data path/to/BSD68 --scale 4 [--threads 2]

1. compute only: every image decoded first, then ``restore.upscale`` timed alone, image after image;
2. the batch: ``restore.cli.run_upscale`` into a fresh folder (decode → compute → PNG encode and atomic write,
   pipelined by restore/batch.py), timed from the first file to the summary, model already loaded;
and prints output MP/s of both, their ratio and the batch's peak RSS growth.
"""
from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import torch

import restore
from restore.cli import run_upscale
from restore.io import read_image


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="a folder of images (e.g. BSD68)")
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    files = sorted(p for p in Path(a.data).iterdir() if p.suffix.lower() in (".png", ".jpg", ".bmp", ".tif"))
    images = [read_image(p) for p in files]
    restore.upscale(images[0][:64, :64], a.scale)  # load the model, warm up
    out_mp = sum(im.shape[0] * im.shape[1] for im in images) * a.scale ** 2 / 1e6
    t = time.perf_counter()
    for im in images:
        restore.upscale(im, a.scale)
    compute = time.perf_counter() - t
    del images
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        code = run_upscale([Path(a.data)], Path(d) / "out", scale=a.scale)
        batch = time.perf_counter() - t
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"images": len(files), "out_mp": round(out_mp, 1), "threads": a.threads, "exit": code,
                      "compute_s": round(compute, 2), "batch_s": round(batch, 2),
                      "compute_mp_s": round(out_mp / compute, 2), "batch_mp_s": round(out_mp / batch, 2),
                      "batch_share_of_compute_throughput": round(compute / batch, 3),
                      "peak_rss_mb": round(rss1 / 1024), "peak_rss_growth_in_batch_mb": round((rss1 - rss0) / 1024)}))


if __name__ == "__main__":
    main()
