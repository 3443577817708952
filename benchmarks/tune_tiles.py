"""Measure the CPU tile size per SR model: ``restore.upscale`` MP/s of one image at each tile, per precision.

    python benchmarks/tune_tiles.py [--size 1024] [--tiles 128,192,256,384,512,768] [--threads 2] [--repeats 3]

Prints one Markdown table per model (output MP/s, median of ``--repeats`` after a warm-up; best tile marked).
Re-run it on a new machine and set ``restore.engine.CPU_TILE`` from what it prints; tiled output equals
untiled output at any tile (the context margin is the network's receptive radius), so the tile is a speed
setting only.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import restore
from restore.bench import synthetic_image
from restore.devices import cpu_has_bf16
from restore.catalogue import shipped_models


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024, help="input side (pixels)")
    ap.add_argument("--tiles", default="128,192,256,384,512,768")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--models", default="", help="comma-separated names (default: every shipped SR model)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    tiles = [int(t) for t in a.tiles.split(",")]
    names = a.models.split(",") if a.models else [m.name for m in shipped_models() if m.task == "sr"]
    precisions = ["fp32"] + (["bf16"] if cpu_has_bf16() else [])
    img = synthetic_image(a.size, a.size)
    print(f"input {a.size}², {a.threads} threads, median of {a.repeats} after a warm-up; output MP/s\n")
    for name in names:
        net = restore.load_model(name, device="cpu")
        s = net.scale
        out_mp = (a.size * s) ** 2 / 1e6
        print(f"| {name} | " + " | ".join(f"tile {t}" for t in tiles) + " |")
        print("|---|" + "---:|" * len(tiles))
        for prec in precisions:
            res = []
            for t in tiles:
                restore.upscale(img, s, model=net, device="cpu", tile=t, precision=prec)  # warm-up
                times = []
                for _ in range(a.repeats):
                    t0 = time.perf_counter()
                    restore.upscale(img, s, model=net, device="cpu", tile=t, precision=prec)
                    times.append(time.perf_counter() - t0)
                res.append(out_mp / statistics.median(times))
            best = int(np.argmax(res))
            cells = [f"**{v:.1f}**" if i == best else f"{v:.1f}" for i, v in enumerate(res)]
            print(f"| {prec} | " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    main()
