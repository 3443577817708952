"""The pre-fill's Jacobi sweeps (``restore.fill._jacobi``), level by level, in its two forms: the sparse product
(MKL, threaded) and the gather + batched product (PyTorch's own kernels); and the whole pre-fill per hole family.
This is what chose :data:`restore.fill.SPARSE_MIN`.

    python benchmarks/fill_sweeps.py --data ../shared/data/bench/BSD68 --images 4

Inputs as ``restore bench`` makes them (512² crops, its thin / thick / box masks); 2 threads unless ``--threads``;
``restore`` is imported first, so OpenMP waits passively as in every run of the package.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

import restore  # noqa: F401  - first: OpenMP's passive waiting, which is what makes MKL's calls cost a wake-up


def main() -> None:
    import torch

    from restore import fill
    from restore.bench.suites import inpaint_inputs
    from restore.evaluate import inpaint_masks

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/bench/BSD68")
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    images, _ = inpaint_inputs(Path(a.data), a.images)

    def best(fn) -> float:
        fn()
        ts = []
        for _ in range(a.repeats):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        return min(ts) * 1e3

    # the levels of one thick-stroke pre-fill: each level's (fill, free, sweeps, stencil), recorded
    calls: list[tuple] = []
    real = fill._jacobi

    def record(f, free, iters, stencil=0.5):
        calls.append((f, free, iters, stencil))
        return real(f, free, iters, stencil)

    img, mask = next((images[i], m) for i, fam, m in inpaint_masks(images, ("thick",)))
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float().div(255)
    holes = torch.from_numpy(mask)[None, None].float()
    fill._jacobi = record
    with torch.inference_mode():
        fill.prefill(x, holes)
    fill._jacobi = real
    print(f"{'level':>9} {'free px':>8} {'sweeps':>6} {'sparse ms':>10} {'gather ms':>10}")
    keep = fill.SPARSE_MIN
    with torch.inference_mode():
        for f, free, iters, st in calls:
            if not bool(free.any()):
                continue
            fill.SPARSE_MIN = 0
            sp = best(lambda: real(f, free, iters, st))
            fill.SPARSE_MIN = 1 << 62
            ga = best(lambda: real(f, free, iters, st))
            print(f"{f.shape[-2]:>4}×{f.shape[-1]:<4} {int(free.sum()):>8} {iters:>6} {sp:>10.2f} {ga:>10.2f}")
    fill.SPARSE_MIN = keep
    print(f"\nwhole pre-fill (restore.fill.prefill), SPARSE_MIN = {keep}, mean over {a.images} images:")
    with torch.inference_mode():
        for fam in ("thin", "thick", "box"):
            ms = []
            for i, _f, m in inpaint_masks(images, (fam,)):
                xi = torch.from_numpy(images[i]).permute(2, 0, 1)[None].float().div(255)
                ms.append(best(lambda: fill.prefill(xi, torch.from_numpy(m)[None, None].float())))
            print(f"  {fam:6s} {statistics.mean(ms):6.1f} ms")


if __name__ == "__main__":
    main()
