"""The floor of ``restore.upscale``'s SR path on small images (issue #18): a bodyless 4-channel SRNet (head, tail,
bicubic skip, pixel shuffle) costs almost nothing to compute, so its MP/s is what tiling, conversions, the float32
skip and the shuffle leave for any model; beside it ``sr-fast-x4`` at auto precision and classical bicubic
through the same API.

    python benchmarks/sr_overhead.py --data ../shared/data/bench/Set5 --scale 4

Output MP/s over the folder's images (MATLAB-bicubic LR of each, the published protocol), median of
``--repeats`` passes after a warm-up; 2 threads unless ``--threads``. ``--save PATH.safetensors`` also writes the
bodyless net as a model file, so that ``restore bench -m PATH.safetensors`` times it in the same run as
OpenCV's ESPCN (run-to-run spread on a shared machine is ±30 %: compare within one run).
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

import restore  # first: it makes OpenMP wait passively before torch loads


def _mps(fn: Callable[[np.ndarray], object], lrs: list[np.ndarray], scale: int, repeats: int) -> float:
    out_mp = sum(lr.shape[0] * lr.shape[1] for lr in lrs) * scale * scale / 1e6
    for lr in lrs:
        fn(lr)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for lr in lrs:
            fn(lr)
        times.append(time.perf_counter() - t)
    return out_mp / statistics.median(times)


def main() -> None:
    import torch

    from restore.data import degrade, list_images, load_rgb, mod_crop
    from restore.models import SRNet

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/bench/Set5")
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save", default=None, help="also write the bodyless net here (.safetensors)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    s = a.scale
    lrs = [degrade(mod_crop(load_rgb(p), s), s) for p in list_images([a.data])]
    bodyless = SRNet(base_ch=4, n_blocks=0, scale=s).eval()
    if a.save:
        from restore.weights import save_model

        config = {"base_ch": 4, "n_blocks": 0, "scale": s, "upsampler": "pixelshuffle", "padding_mode": "zeros"}
        save_model(bodyless, a.save, {"name": f"bodyless-x{s}", "task": "sr", "arch": "srnet", "scale": s,
                                      "config": config, "description": "overhead probe: no body, random weights"})
    rows = [
        ("bodyless 4-channel SRNet, auto", lambda lr: restore.upscale(lr, s, model=bodyless, device="cpu")),
        ("bodyless 4-channel SRNet, fp32", lambda lr: restore.upscale(lr, s, model=bodyless, device="cpu", precision="fp32")),
        (f"sr-fast-x{s}, auto", lambda lr: restore.upscale(lr, s, model=f"sr-fast-x{s}", device="cpu")),
        ("bicubic (classical)", lambda lr: restore.upscale(lr, s, method="bicubic")),
    ]
    if s != 4:
        rows = [r for r in rows if "fast" not in r[0]]
    for name, fn in rows:
        print(f"{name:34s} {_mps(fn, lrs, s, a.repeats):7.1f} MP/s", flush=True)


if __name__ == "__main__":
    main()
