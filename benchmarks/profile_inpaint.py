"""Inpainting speed experiments behind benchmarks/NOTES.md (one JSON object per line).

    python benchmarks/profile_inpaint.py --model inpaint --size 512

For a ``size``² RGB image with a box hole and with thin strokes: restore.inpaint end to end (the engine
runs the model channels-last), the network forward alone (contiguous vs channels-last, fp32 vs bf16
autocast, 1 vs 2 threads), and the share of the push-pull pre-fill (``pyramid_fill``) inside the forward.
``--model random:W1,W2,...`` builds an untrained U-Net of those widths (weights do not change speed).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any, Callable

import numpy as np
import torch

from restore.models.descriptor import ModelDescriptor, describe
from restore import api
from restore.bench import synthetic_image


def load(spec: str) -> ModelDescriptor:
    if spec.startswith("random:"):
        from restore.models import UNet

        torch.manual_seed(0)
        net = UNet(widths=tuple(int(x) for x in spec.split(":", 1)[1].split(","))).eval()
        for p in net.parameters():
            p.requires_grad_(False)
        return describe(net, name=spec)
    return api.load_model(spec, device="cpu")


def median_s(fn: Callable[[], Any], repeats: int) -> float:
    fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="inpaint")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args(argv)
    net = load(a.model)
    n = a.size
    img = synthetic_image(n, n)
    box = np.zeros((n, n), bool)
    box[n // 4: n // 4 + int(0.4 * n), n // 3: n // 3 + int(0.4 * n)] = True
    from restore.data import make_mask

    thin = make_mask("thin", n, n, np.random.default_rng(0))
    for threads in (int(t) for t in a.threads.split(",")):
        torch.set_num_threads(threads)
        for name, m in (("box", box), ("thin", thin)):
            s = median_s(lambda: api.inpaint(img, m, model=net, device="cpu"), a.repeats)
            print(json.dumps({"exp": "api", "holes": name, "hole_frac": float(m.mean()), "threads": threads, "s": s}), flush=True)
        x = torch.rand(1, 3, n, n)
        hm = torch.from_numpy(box.astype(np.float32))[None, None]
        for layout in ("contiguous", "channels_last"):
            fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
            mnet = net.to(memory_format=fmt)
            xi, hi = x.contiguous(memory_format=fmt), hm.contiguous(memory_format=fmt)
            for dtype in ("fp32", "bf16"):
                ctx = torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bf16")
                with torch.inference_mode(), ctx:
                    s = median_s(lambda: mnet(xi, hi), a.repeats)
                print(json.dumps({"exp": "forward", "threads": threads, "layout": layout, "dtype": dtype, "s": s}),
                      flush=True)
        net = net.to(memory_format=torch.contiguous_format)
        from restore.fill import pyramid_fill

        with torch.inference_mode():
            s = median_s(lambda: pyramid_fill(x, hm), a.repeats)
        print(json.dumps({"exp": "pyramid_fill", "threads": threads, "s": s}), flush=True)


if __name__ == "__main__":
    main()
