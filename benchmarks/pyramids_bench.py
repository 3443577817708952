"""Benchmark: 4-level Laplacian pyramid, this package (torch CPU) vs OpenCV vs scikit-image.

    python benchmarks/pyramids_bench.py [--size 2048] [--repeats 5] [--levels 4]

Prints the median wall time (ms) per pyramid for "build" and "build + reconstruct"
on a size×size RGB float32 image, and each method's time relative to pyramids.
OpenCV: cv2.pyrDown/pyrUp loops (the same algorithm). scikit-image:
skimage.transform.pyramid_laplacian (its own Gaussian/resize pyramid, not
invertible; "reconstruct" there is pyramid_expand + add, for timing only).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import numpy as np
import torch


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: kernel caches, oneDNN primitive creation, allocator
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python benchmarks/pyramids_bench.py", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048, help="image side in pixels (default 2048)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per method (default 5)")
    parser.add_argument("--levels", type=int, default=4, help="pyramid levels incl. residual (default 4)")
    args = parser.parse_args(argv)
    if args.size < 1 or args.repeats < 1:
        parser.error("--size and --repeats must be >= 1")

    import cv2
    import skimage
    from skimage.transform import pyramid_expand, pyramid_laplacian

    import pyramids

    levels = args.levels
    img = np.random.default_rng(0).random((args.size, args.size, 3), dtype=np.float32)
    # The natural conversion from an H×W×C array; it is channels-last in memory.
    x = torch.from_numpy(img).permute(2, 0, 1)[None]

    def torch_build() -> list[torch.Tensor]:
        return pyramids.laplacian_pyramid(x, levels)

    def torch_both() -> torch.Tensor:
        return pyramids.reconstruct(pyramids.laplacian_pyramid(x, levels))

    def cv2_build() -> list[np.ndarray]:
        g = [img]
        for _ in range(levels - 1):
            g.append(cv2.pyrDown(g[-1]))
        bands = [f - cv2.pyrUp(c, dstsize=(f.shape[1], f.shape[0])) for f, c in zip(g[:-1], g[1:])]
        return bands + [g[-1]]

    def cv2_both() -> np.ndarray:
        bands = cv2_build()
        out = bands[-1]
        for band in reversed(bands[:-1]):
            out = cv2.pyrUp(out, dstsize=(band.shape[1], band.shape[0])) + band
        return out

    def sk_build() -> list[np.ndarray]:
        return list(pyramid_laplacian(img, max_layer=levels - 1, channel_axis=-1))

    def sk_both() -> np.ndarray:
        bands = sk_build()
        out = bands[-1]
        for band in reversed(bands[:-1]):
            up = pyramid_expand(out, upscale=2, channel_axis=-1, preserve_range=True)
            out = up[: band.shape[0], : band.shape[1]] + band
        return out

    # Sanity: the torch pyramid is exact and matches OpenCV's.
    with torch.no_grad():
        err_rec = (torch_both() - x).abs().max().item()
        err_cv = max(
            float(np.abs(t[0].permute(1, 2, 0).numpy() - c).max()) for t, c in zip(torch_build(), cv2_build())
        )

    sk_repeats = max(1, args.repeats // 3)  # skimage is ~100x slower
    rows = []
    with torch.inference_mode():
        rows.append(("pyramids (torch CPU)", _median_ms(torch_build, args.repeats),
                     _median_ms(torch_both, args.repeats), args.repeats))
    rows.append(("cv2.pyrDown/pyrUp loop", _median_ms(cv2_build, args.repeats), _median_ms(cv2_both, args.repeats),
                 args.repeats))
    rows.append(("skimage pyramid_laplacian", _median_ms(sk_build, sk_repeats), _median_ms(sk_both, sk_repeats),
                 sk_repeats))

    base_b, base_r = rows[0][1], rows[0][2]
    print(
        f"{levels}-level Laplacian pyramid, {args.size}x{args.size}x3 float32, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), cv2 {cv2.__version__}, "
        f"skimage {skimage.__version__}; median ms"
    )
    header = f"{'method':<28}{'build':>10}{'build+recon':>13}{'build ratio':>13}{'b+r ratio':>11}{'runs':>6}"
    print(header)
    print("-" * len(header))
    for name, tb, tr, n in rows:
        print(f"{name:<28}{tb:>10.1f}{tr:>13.1f}{tb / base_b:>12.2f}x{tr / base_r:>10.2f}x{n:>6}")
    print("ratio = time / pyramids time (lower is faster)")
    print(f"check: max|reconstruct - x| = {err_rec:.2e}, max|pyramids - cv2| over levels = {err_cv:.2e}")


if __name__ == "__main__":
    main()
