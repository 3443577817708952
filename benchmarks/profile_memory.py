"""Large-image SR memory and time: each variant in a fresh process, peak RSS by VmHWM (reset just before the
call with /proc/self/clear_refs), on a synthetic ``size``×``size`` RGB uint8 image.

    python benchmarks/profile_memory.py --size 2000 --scale 4 --model sr-x4 \
        --variants current,tile-256,current-untiled

Variants:
    current          restore.upscale(img, scale) as shipped (default tile)
    current-untiled  restore.upscale(img, scale, tile=0)
    tile-N           restore.upscale(img, scale, tile=N)

``--model`` takes a shipped name, a .safetensors path or ``random:CH,BLOCKS,SCALE`` (as profile_sr.py).
``target_mb`` in each row is the output's size plus 1.5 GB.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_variant(variant: str, size: int, scale: int, model: str, threads: int) -> dict:
    import numpy as np
    import torch

    from restore import api
    from restore.bench import synthetic_image
    from restore.bench.worker import _PeakWindow

    torch.set_num_threads(threads)
    if model.startswith("random:"):
        sys.path.insert(0, str(HERE))
        from profile_sr import load

        net = load(model)
    else:
        net = api.load_model(model, device="cpu")
    img = synthetic_image(size, size)
    tile = None
    if variant == "current-untiled":
        tile = 0
    elif variant.startswith("tile-"):
        tile = int(variant.split("-", 1)[1])
    elif variant != "current":
        raise SystemExit(f"unknown variant {variant!r}: current, current-untiled or tile-N")
    call = lambda x: api.upscale(x, scale, model=net, device="cpu", tile=tile)  # noqa: E731
    call(img[:64, :64])  # warm-up: allocator, oneDNN primitives
    with _PeakWindow() as w:
        t = time.perf_counter()
        out = call(img)
        secs = time.perf_counter() - t
    avail = None
    try:
        avail = next(int(ln.split()[1]) / 1024 for ln in open("/proc/meminfo") if ln.startswith("MemAvailable"))
    except (OSError, StopIteration):
        pass
    return {"variant": variant, "size": size, "scale": scale, "model": model, "threads": threads, "seconds": secs,
            "out_mp_s": out.shape[0] * out.shape[1] / 1e6 / secs, "out_mb": out.nbytes / 2**20,
            "rss_before_mb": w.before, "peak_mb": w.peak, "peak_growth_mb": w.delta, "how": w.how,
            "target_mb": out.nbytes / 2**20 + 1536, "mem_available_after_mb": avail,
            "checksum": int(np.asarray(out[::97, ::89], np.int64).sum())}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=2000)
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--model", default="sr-x4")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--variants", default="current,current-untiled")
    p.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one variant in this process
    a = p.parse_args(argv)
    if a.one:
        print(json.dumps(run_variant(a.one, a.size, a.scale, a.model, a.threads)), flush=True)
        return
    for v in a.variants.split(","):
        cmd = [sys.executable, __file__, "--one", v, "--size", str(a.size), "--scale", str(a.scale),
               "--model", a.model, "--threads", str(a.threads)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            err = (r.stderr.strip().splitlines() or [f"exit {r.returncode}"])[-1]
            print(json.dumps({"variant": v, "error": err, "returncode": r.returncode}), flush=True)
        else:
            print(r.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
