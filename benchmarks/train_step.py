"""One SR training step, timed by part (data, forward, backward, optimiser), for each arithmetic and memory
layout, and for the plain and the collapsible-block network — interleaved in one process, so the ratios hold
on a machine whose speed drifts.

    python benchmarks/train_step.py --data path/to/train [--steps 12] [--threads 2]

Prints one line per variant: milliseconds per part and steps per second (a three-scale shared body, batch
16 of 48-px LR patches, the cycle ×2, ×3, ×4 as `restore train sr` runs it).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", action="append", required=True)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from restore.data import SRPairs, list_images
    from restore.train import MultiScaleSR

    pairs = SRPairs.build(list_images(args.data)[:60], [2, 3, 4])
    variants = [("srnet", torch.float32, False), ("srnet", torch.bfloat16, False), ("srnet", torch.bfloat16, True),
                ("srnet-rep", torch.bfloat16, True)]
    nets = {}
    for arch, _, cl in variants:
        if (arch, cl) not in nets:
            torch.manual_seed(0)
            net = MultiScaleSR([2, 3, 4], arch, base_ch=48, n_blocks=6)
            nets[(arch, cl)] = net.to(memory_format=torch.channels_last if cl else torch.contiguous_format)
    opts = {k: torch.optim.Adam(n.parameters(), 1e-4) for k, n in nets.items()}
    results: dict[tuple, list[dict]] = {}
    for _ in range(args.rounds):
        for arch, dtype, cl in variants:
            net, opt = nets[(arch, cl)], opts[(arch, cl)]
            rng = np.random.default_rng(0)
            parts = {"data": 0.0, "forward": 0.0, "backward": 0.0, "optimiser": 0.0}
            for i in range(args.steps + 3):
                s = (2, 3, 4)[i % 3]
                t0 = time.perf_counter()
                lr, hr = pairs.batch(s, 16, 48, rng)
                x, y = torch.from_numpy(lr), torch.from_numpy(hr)
                if cl:
                    x = x.contiguous(memory_format=torch.channels_last)
                t1 = time.perf_counter()
                with torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32):
                    loss = F.l1_loss(net(x, s).float(), y)
                t2 = time.perf_counter()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                t3 = time.perf_counter()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                opt.step()
                t4 = time.perf_counter()
                if i >= 3:  # the first steps of each variant warm oneDNN's kernel caches
                    for k, a, b in (("data", t0, t1), ("forward", t1, t2), ("backward", t2, t3), ("optimiser", t3, t4)):
                        parts[k] += (b - a) / args.steps
            results.setdefault((arch, dtype, cl), []).append(parts)
    for (arch, dtype, cl), runs in results.items():
        best = min(runs, key=lambda p: sum(p.values()))
        total = sum(best.values())
        cols = "  ".join(f"{k} {1000 * v:6.1f}" for k, v in best.items())
        print(f"{arch:10s} {str(dtype).replace('torch.', ''):8s} {'channels-last' if cl else 'NCHW':13s} "
              f"ms: {cols}  total {1000 * total:6.1f}  → {1 / total:.2f} steps/s")


if __name__ == "__main__":
    main()
