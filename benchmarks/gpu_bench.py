"""One short GPU run: throughput of the ×4 models by precision, with and without
``torch.compile`` and tile batching, one inpainting pass, peak GPU memory; results to a JSON file.

    bash benchmarks/gpu.sh            # = python benchmarks/gpu_bench.py --out benchmarks/results/gpu.json

On a machine without CUDA every GPU measurement is skipped with a line saying so and the file records that;
``--dry-run`` runs the very same measurement code on the CPU at a small size (the test suite does), so a
mistake shows up before GPU minutes are spent. Each measurement is bounded (a 1024² input,
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


def measure(dev: torch.device, size: int, precisions: tuple[str, ...], compile_: bool, res: dict) -> None:
    """The GPU run's measurements on ``dev``: the same code on CUDA and, as a dry run, on the CPU."""
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    img = synthetic_image(size, size)
    x = img.astype(np.float32) / 255.0
    out_mp = (size * 4) ** 2 / 1e6
    low = torch.float16 if dev.type == "cuda" else torch.bfloat16  # fp16 has no fast CPU kernels
    for name in ("sr-x4", "sr-fast-x4"):
        for prec in precisions:
            t = _time(lambda: restore.upscale(img, 4, model=name, device=dev.type, precision=prec))
            res["rows"].append({"what": f"{name} {prec} restore.upscale {size}²", "mp_s": round(out_mp / t, 1)})
            print(res["rows"][-1], flush=True)
        net = restore.load_model(name, device=dev.type).to(memory_format=torch.channels_last)
        for batch in (1, 8):
            t = _time(lambda: run_tiled(net, x, 4, 256, dev, batch=batch, dtype=low))
            res["rows"].append({"what": f"{name} {low} tiles 256 batch {batch}".replace("torch.", ""),
                                "mp_s": round(out_mp / t, 1)})
            print(res["rows"][-1], flush=True)
        if compile_:
            try:
                compiled = net.with_module(torch.compile(net.module))
                t = _time(lambda: run_tiled(compiled, x, 4, 256, dev, batch=8, dtype=low))
                res["rows"].append({"what": f"{name} {low} torch.compile tiles 256 batch 8".replace("torch.", ""),
                                    "mp_s": round(out_mp / t, 1)})
            except Exception as exc:  # compile support varies by install; say why and go on
                res["rows"].append({"what": f"{name} torch.compile", "error": f"{type(exc).__name__}: {exc}"[:200]})
            print(res["rows"][-1], flush=True)
    ip = synthetic_image(min(512, 4 * size), min(512, 4 * size), seed=1)
    mask = np.zeros(ip.shape[:2], bool)
    h, w = mask.shape
    mask[h * 2 // 5:h * 3 // 5, w * 3 // 10:w * 7 // 10] = True
    t = _time(lambda: restore.inpaint(ip, mask, device=dev.type))
    sync()
    res["rows"].append({"what": f"inpaint {h}×{w} box, default model", "seconds": round(t, 4)})
    if dev.type == "cuda":
        res["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/results/gpu.json")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--dry-run", action="store_true",
                    help="Run the GPU code path on the CPU (small, no torch.compile) to catch mistakes first.")
    a = ap.parse_args()
    res: dict = {"torch": torch.__version__, "python": platform.python_version(),
                 "cuda": torch.cuda.is_available(), "rows": [], "notes": []}
    if a.dry_run:
        res["notes"].append("dry run of the GPU code path on the CPU: not GPU figures")
        measure(torch.device("cpu"), a.size, ("fp32", "bf16"), False, res)
    elif not torch.cuda.is_available():
        res["notes"].append("no CUDA device: every GPU measurement skipped")
        print("no CUDA device: GPU measurements skipped (run with --dry-run to exercise them on the CPU)")
    else:
        res["gpu"] = torch.cuda.get_device_name(torch.device("cuda"))
        measure(torch.device("cuda"), a.size, ("fp32", "fp16", "bf16"), True, res)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
