"""One short GPU run (issue #16, item 4): throughput of the ×4 models by precision, with and without
``torch.compile`` and tile batching, one inpainting pass, peak GPU memory; results to a JSON file.

    bash benchmarks/gpu.sh            # = python benchmarks/gpu_bench.py --out benchmarks/results/gpu.json

On a machine without CUDA every GPU measurement is skipped with a line saying so and the file records that, so
the script can be exercised on CPU before GPU minutes are spent. Each measurement is bounded (a 1024² input,
3 timed runs), so the whole run takes a few minutes.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

import restore
from restore.bench import synthetic_image
from restore.engine import run_tiled


def _time(fn, repeats: int = 3) -> float:
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/results/gpu.json")
    ap.add_argument("--size", type=int, default=1024)
    a = ap.parse_args()
    res: dict = {"torch": torch.__version__, "python": platform.python_version(),
                 "cuda": torch.cuda.is_available(), "rows": [], "notes": []}
    if not torch.cuda.is_available():
        res["notes"].append("no CUDA device: every GPU measurement skipped")
        print("no CUDA device: GPU measurements skipped (the script ran; CPU check below)")
        img = synthetic_image(64, 64)
        t = _time(lambda: restore.upscale(img, 4, device="cpu"))
        res["rows"].append({"what": "cpu sanity: sr-x4 ×4 of 64²", "seconds": round(t, 4)})
    else:
        dev = torch.device("cuda")
        res["gpu"] = torch.cuda.get_device_name(dev)
        img = synthetic_image(a.size, a.size)
        x = img.astype(np.float32) / 255.0
        out_mp = (a.size * 4) ** 2 / 1e6
        for name in ("sr-x4", "sr-fast-x4"):
            for prec in ("fp32", "fp16", "bf16"):
                t = _time(lambda: restore.upscale(img, 4, model=name, device="cuda", precision=prec))
                res["rows"].append({"what": f"{name} {prec} restore.upscale {a.size}²", "mp_s": round(out_mp / t, 1)})
                print(res["rows"][-1], flush=True)
            net = restore.load_model(name, device="cuda").to(memory_format=torch.channels_last)
            for batch in (1, 8):
                t = _time(lambda: run_tiled(net, x, 4, 256, dev, batch=batch, dtype=torch.float16))
                res["rows"].append({"what": f"{name} fp16 tiles 256 batch {batch}", "mp_s": round(out_mp / t, 1)})
                print(res["rows"][-1], flush=True)
            try:
                compiled = net.with_module(torch.compile(net.module))
                t = _time(lambda: run_tiled(compiled, x, 4, 256, dev, batch=8, dtype=torch.float16))
                res["rows"].append({"what": f"{name} fp16 torch.compile tiles 256 batch 8",
                                    "mp_s": round(out_mp / t, 1)})
            except Exception as exc:  # compile support varies by install; say why and go on
                res["rows"].append({"what": f"{name} torch.compile", "error": f"{type(exc).__name__}: {exc}"[:200]})
            print(res["rows"][-1], flush=True)
        ip = synthetic_image(512, 512, seed=1)
        mask = np.zeros((512, 512), bool)
        mask[200:300, 150:350] = True
        t = _time(lambda: restore.inpaint(ip, mask, device="cuda"))
        res["rows"].append({"what": "inpaint 512² box, default model", "seconds": round(t, 4)})
        res["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
