"""How fast a ×4 CNN could be on small images at best, whatever it computes (issue #18's "fast ×4 model ≥ 4×
ESPCN" target): the leanest pipeline we could write, timed beside OpenCV's ESPCN on the same LR images.

The pipeline is not the package's (it skips validation, tiling and the float32 skip) and its networks have random
weights: it measures speed only. It is the cheapest design we found — the chroma-free approach of ESPCN itself:
OpenCV's bicubic of the uint8 RGB image (SIMD, ~1 GP/s here) plus a luminance residual from a tiny network at LR,
``C`` channels and ``n`` 3×3 convolutions, run in bfloat16, 16 output phases shuffled to full size and added to
all three channels with saturation. ESPCN runs as ``restore bench`` runs it (its worker, in the peer venv with
OpenCV 4's dnn_superres) when that venv exists, before and after ours; each ratio is read within one run, since
this machine's speed drifts ±30 % between runs.

    python benchmarks/sr_ceiling.py --data ../shared/data/bench/Set5
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import restore  # noqa: F401  - first: OpenMP's passive waiting, as in every run of the package


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/bench/Set5")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sr-ceiling-") as tmp:
        _run(a, tmp)


def _run(a: argparse.Namespace, tmp: str) -> None:
    import cv2
    import torch
    import torch.nn.functional as F

    from restore.bench import default_peers_dir, dispatch, peer_python
    from restore.data import degrade, list_images, load_rgb, mod_crop

    torch.set_num_threads(a.threads)
    cv2.setNumThreads(a.threads)
    s = 4
    lrs = [np.ascontiguousarray(degrade(mod_crop(load_rgb(p), s), s)) for p in list_images([a.data])]
    out_mp = sum(lr.shape[0] * lr.shape[1] for lr in lrs) * s * s / 1e6

    def mps(fn) -> float:
        for lr in lrs:
            fn(lr)
        ts = []
        for _ in range(a.repeats):
            t = time.perf_counter()
            for lr in lrs:
                fn(lr)
            ts.append(time.perf_counter() - t)
        return out_mp / statistics.median(ts)

    def lean(ch: int, n_convs: int):
        g = torch.Generator().manual_seed(0)
        cl, bf = torch.channels_last, torch.bfloat16
        convs = [(torch.randn(ch, 3 if i == 0 else ch, 3, 3, generator=g).to(bf).contiguous(memory_format=cl),
                  torch.zeros(ch, dtype=bf)) for i in range(n_convs + 1)]
        tail = (torch.randn(16, ch, 3, 3, generator=g) * 0.01).to(bf).contiguous(memory_format=cl)

        def run(lr: np.ndarray) -> np.ndarray:
            h, w = lr.shape[:2]
            base = cv2.resize(lr, (w * s, h * s), interpolation=cv2.INTER_CUBIC)
            with torch.inference_mode():
                x = torch.from_numpy(lr).unflatten(0, (1, h)).permute(0, 3, 1, 2).to(bf)
                for wt, b in convs:
                    x = F.conv2d(x, wt, b, padding=1).relu_()
                res = F.pixel_shuffle(F.conv2d(x, tail, padding=1).float(), s)[0, 0].numpy()
            return cv2.add(base, cv2.merge([res, res, res]), dtype=cv2.CV_8U)
        return run

    work = Path(tmp)
    inputs = []
    for i, lr in enumerate(lrs):
        np.save(work / f"lr_{i}.npy", lr)
        inputs.append(str(work / f"lr_{i}.npy"))

    def espcn() -> float | None:
        """ESPCN's output MP/s as ``restore bench`` times it (its worker, in the peer venv: median per image)."""
        py, pb = peer_python(), default_peers_dir() / "ESPCN_x4.pb"
        if py is None or not pb.exists():
            return None
        res = dispatch({"task": "sr", "method": "espcn", "scale": s, "peer_model": str(pb), "inputs": inputs,
                        "outdir": str(work / "espcn"), "repeats": a.repeats, "budget_s": 5.0,
                        "threads": a.threads}, work, python=py, isolate=True)
        return None if "error" in res else out_mp / sum(res["seconds"])

    e0 = espcn()
    rows = [(f"lean Y residual, {c} ch, {n} body conv{'s' * (n != 1)}", mps(lean(c, n)))
            for c, n in ((4, 0), (8, 1), (16, 1))]
    rows.append(("restore.upscale sr-fast-x4 (auto)", mps(lambda lr: restore.upscale(lr, s, model="sr-fast-x4"))))
    e1 = espcn()
    seen = [e for e in (e0, e1) if e]
    ref = statistics.mean(seen) if seen else None
    print(f"ESPCN (OpenCV dnn_superres): {e0 and round(e0, 1)} / {e1 and round(e1, 1)} MP/s (before / after)")
    for name, v in rows:
        print(f"{name:44s} {v:7.1f} MP/s" + (f"  {v / ref:4.2f}× ESPCN" if ref else ""))


if __name__ == "__main__":
    main()
