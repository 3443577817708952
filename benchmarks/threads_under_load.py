"""Threads × load: seconds per call of ``restore.upscale`` (×4, default model, 256² input) and ``restore.inpaint``
(512², thick strokes) at each intra-op thread count, in whatever load the machine has now.

    python benchmarks/threads_under_load.py [--threads 1,2] [--repeats 5]

Run it once on a quiet machine and once beside a busy process (e.g. a training run, or
``python -c 'while True: pass' &`` per core) and compare: on a 2-core machine a second busy process makes two
intra-op threads wait on each other at every barrier.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np
import torch

import restore
from restore.bench import synthetic_image
from restore.data import make_mask


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    img_sr, img_ip = synthetic_image(256, 256), synthetic_image(512, 512, seed=1)
    mask = make_mask("thick", 512, 512, np.random.default_rng(0)) > 0
    load = os.getloadavg()[0]
    for n in (int(t) for t in a.threads.split(",")):
        torch.set_num_threads(n)
        for task, fn in (("upscale x4 256²", lambda: restore.upscale(img_sr, 4, device="cpu")),
                         ("inpaint 512² thick", lambda: restore.inpaint(img_ip, mask, device="cpu"))):
            fn()
            ts = []
            for _ in range(a.repeats):
                t0 = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t0)
            print(json.dumps({"task": task, "threads": n, "median_s": round(statistics.median(ts), 3),
                              "max_s": round(max(ts), 3), "loadavg_1min_at_start": load}), flush=True)


if __name__ == "__main__":
    main()
