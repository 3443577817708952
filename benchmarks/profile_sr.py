"""SR speed experiments behind benchmarks/NOTES.md. Each sub-command prints one JSON object per line.

    python benchmarks/profile_sr.py forward   --model sr-x4 --size 256         # model only: threads, layout, modes
    python benchmarks/profile_sr.py breakdown --model sr-x4 --size 500         # where restore.upscale spends time
    python benchmarks/profile_sr.py tiles     --model sr-x4 --size 500         # tile-size sweep through the API
    python benchmarks/profile_sr.py archs     --scale 4 --size 256             # random SRNets of other sizes
    python benchmarks/profile_sr.py engine    --model sr-x4 --size 500         # engine variants through the API

Engine variants (``--variants``; each output is compared with the first variant's): ``baseline``
(restore.engine as shipped: channels-last model, zero-copy NHWC tiles, float32), ``contiguous`` (model and tiles in the
contiguous NCHW format, tiles copied: what channels-last saves) and ``bf16`` (CPU autocast to bfloat16).

``--model`` takes a shipped name, a .safetensors path or ``random:CH,BLOCKS,SCALE`` (weights do not change
speed). Sizes are LR input sides (square, synthetic content). Threads default to all cores.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time
from typing import Any, Callable

import numpy as np
import torch

from restore.models.descriptor import ModelDescriptor, describe
from restore import api, engine, pixels
from restore.bench import synthetic_image


def load(spec: str) -> ModelDescriptor:
    if spec.startswith("random:"):
        from restore.models import SRNet

        ch, nb, s = (int(x) for x in spec.split(":", 1)[1].split(","))
        torch.manual_seed(0)
        net = SRNet(base_ch=ch, n_blocks=nb, scale=s).eval()
        for p in net.parameters():
            p.requires_grad_(False)
        return describe(net, name=spec)
    return api.load_model(spec, device="cpu")


#: median process CPU time of the last median_s call (less inflated by other load than wall time)
LAST_CPU = {"s": 0.0}


def median_s(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> tuple[float, list[float]]:
    for _ in range(warmup):
        fn()
    ts, cs = [], []
    for _ in range(repeats):
        c, t = time.process_time(), time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
        cs.append(time.process_time() - c)
    LAST_CPU["s"] = statistics.median(cs)
    return statistics.median(ts), ts


def emit(**kw: Any) -> None:
    print(json.dumps(kw, default=float), flush=True)


def cmd_forward(a: argparse.Namespace) -> None:
    """Model forward alone on one (1,3,n,n) input: threads × memory format × grad mode × jit × dtype."""
    net = load(a.model)
    s = net.scale
    for n in a.sizes:
        x = torch.rand(1, 3, n, n)
        for threads in a.threads:
            torch.set_num_threads(threads)
            for layout in ("contiguous", "channels_last"):
                fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
                m = net.to(memory_format=fmt)
                xi = x.contiguous(memory_format=fmt)
                for mode in a.modes:
                    ctx: Callable[[], Any]
                    f: Callable[[torch.Tensor], torch.Tensor] = m
                    if mode == "no_grad":
                        ctx = torch.no_grad
                    elif mode == "inference_mode":
                        ctx = torch.inference_mode
                    elif mode == "bf16":
                        ctx = lambda: torch.autocast("cpu", dtype=torch.bfloat16)  # noqa: E731
                    elif mode == "jit_freeze":
                        with torch.no_grad():
                            f = torch.jit.freeze(torch.jit.trace(m, xi))
                        ctx = torch.no_grad
                    else:
                        raise SystemExit(f"unknown mode {mode}")
                    with ctx(), torch.no_grad():
                        med, ts = median_s(lambda: f(xi), a.repeats)
                    emit(exp="forward", model=a.model, size=n, threads=threads, layout=layout, mode=mode,
                         ms=med * 1e3, cpu_ms=LAST_CPU["s"] * 1e3, out_mp_s=(n * s) ** 2 / 1e6 / med, runs_ms=[t * 1e3 for t in ts])
        net = net.to(memory_format=torch.contiguous_format)


@contextlib.contextmanager
def timed(obj: Any, name: str, acc: dict[str, float]):
    """Patch ``obj.name`` to accumulate its wall time in ``acc[name]``."""
    orig = getattr(obj, name)

    def wrapper(*args: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        try:
            return orig(*args, **kw)
        finally:
            acc[name] = acc.get(name, 0.0) + time.perf_counter() - t

    setattr(obj, name, wrapper)
    try:
        yield
    finally:
        setattr(obj, name, orig)


def cmd_breakdown(a: argparse.Namespace) -> None:
    """restore.upscale on a uint8 image: total vs _split, model forward, to_tensor and pixels.store (each tile
    converted into the uint8 output); ``tiling_other`` is the rest of upscale_array (slicing, clamp, copy
    out of torch), ``api_other`` the rest of restore.upscale (allocating the output)."""
    torch.set_num_threads(a.threads[0])
    net = load(a.model)
    s = net.scale
    for n in a.sizes:
        img = synthetic_image(n, n)
        call = lambda: api.upscale(img, s, model=net, device="cpu", tile=a.tile)  # noqa: E731
        call()  # warm-up
        rows = []
        for _ in range(a.repeats):
            acc: dict[str, float] = {}
            fwd = {"t": 0.0}
            orig_forward = net.forward

            def fwd_timed(*args: Any, **kw: Any) -> Any:
                t = time.perf_counter()
                try:
                    return orig_forward(*args, **kw)
                finally:
                    fwd["t"] += time.perf_counter() - t

            net.forward = fwd_timed  # type: ignore[method-assign]
            try:
                with timed(api, "_split", acc), timed(engine, "to_tensor", acc), timed(pixels, "store", acc), \
                        timed(engine, "upscale_array", acc):
                    t = time.perf_counter()
                    call()
                    total = time.perf_counter() - t
            finally:
                del net.forward
            rows.append({"total": total, "forward": fwd["t"], **acc})
        med = {k: statistics.median(r.get(k, 0.0) for r in rows) for k in rows[0]}
        med["tiling_other"] = med["upscale_array"] - med["forward"] - med.get("to_tensor", 0) - med.get("store", 0)
        med["api_other"] = med["total"] - med["upscale_array"] - med.get("_split", 0)
        emit(exp="breakdown", model=a.model, size=n, threads=a.threads[0], tile=a.tile,
             out_mp_s=(n * s) ** 2 / 1e6 / med["total"], ms={k: v * 1e3 for k, v in med.items()},
             share={k: v / med["total"] for k, v in med.items()})


def cmd_tiles(a: argparse.Namespace) -> None:
    torch.set_num_threads(a.threads[0])
    net = load(a.model)
    s = net.scale
    for n in a.sizes:
        img = synthetic_image(n, n)
        for tile in a.tiles:
            med, ts = median_s(lambda: api.upscale(img, s, model=net, device="cpu", tile=tile), a.repeats)
            emit(exp="tiles", model=a.model, size=n, tile=tile, threads=a.threads[0], s=med, cpu_s=LAST_CPU["s"],
                 out_mp_s=(n * s) ** 2 / 1e6 / med, runs_s=ts)


def cmd_archs(a: argparse.Namespace) -> None:
    """Speed of random SRNets of several widths/depths through restore.upscale and of their forward alone
    (channels-last, as the engine runs them); quality needs training."""
    torch.set_num_threads(a.threads[0])
    for spec in a.archs:
        ch, nb = (int(x) for x in spec.split(","))
        net = load(f"random:{ch},{nb},{a.scale}")
        params = sum(p.numel() for p in net.module.parameters())
        for n in a.sizes:
            img = synthetic_image(n, n)
            med, _ = median_s(lambda: api.upscale(img, a.scale, model=net, device="cpu", tile=a.tile), a.repeats)
            cpu = LAST_CPU["s"]
            with torch.inference_mode():
                m = net.to(memory_format=torch.channels_last)
                x = torch.rand(1, 3, n, n).contiguous(memory_format=torch.channels_last)
                fmed, _ = median_s(lambda: m(x), a.repeats)
            emit(exp="archs", base_ch=ch, n_blocks=nb, scale=a.scale, params=params, size=n, threads=a.threads[0],
                 api_out_mp_s=(n * a.scale) ** 2 / 1e6 / med, api_out_mp_cpu_s=(n * a.scale) ** 2 / 1e6 / cpu, forward_out_mp_s=(n * a.scale) ** 2 / 1e6 / fmed)


ENGINE_VARIANTS = {
    "baseline": {},
    "contiguous": {"contiguous": True},
    "bf16": {"bf16": True},
}


def _to_tensor_nchw(f: np.ndarray, device: torch.device) -> torch.Tensor:
    """``H×W×C`` float32 → contiguous ``(1, C, H, W)`` copy (the engine's conversion before channels-last)."""
    return torch.from_numpy(np.ascontiguousarray(f.transpose(2, 0, 1)))[None].to(device)


@contextlib.contextmanager
def engine_variant(net: ModelDescriptor, contiguous: bool = False, bf16: bool = False, **_: Any):
    """Patch restore.engine for one variant (restored on exit)."""
    saved = {k: getattr(engine, k) for k in ("to_tensor", "get_model", "autocast")}
    try:
        if contiguous:
            get_model = saved["get_model"]
            engine.get_model = lambda model, device="auto": get_model(model, device).to(
                memory_format=torch.contiguous_format)
            engine.to_tensor = _to_tensor_nchw
        if bf16:
            engine.autocast = lambda dev, dtype=None: torch.autocast("cpu", dtype=torch.bfloat16)
        yield
    finally:
        for k, v in saved.items():
            setattr(engine, k, v)
        net.to(memory_format=torch.channels_last)


def cmd_engine(a: argparse.Namespace) -> None:
    """restore.upscale end to end under engine variants; output compared with the first variant's (baseline
    by default)."""
    from restore.evaluate import psnr

    torch.set_num_threads(a.threads[0])
    net = load(a.model)
    s = net.scale
    for n in a.sizes:
        img = synthetic_image(n, n)
        ref = None
        for name in a.variants:
            with engine_variant(net, **ENGINE_VARIANTS[name]):
                call = lambda: api.upscale(img, s, model=net, device="cpu", tile=a.tile)  # noqa: E731
                med, ts = median_s(call, a.repeats)
                out = call()
            if ref is None:
                ref = out
            diff = np.abs(out.astype(np.int16) - ref).max()
            emit(exp="engine", variant=name, model=a.model, size=n, threads=a.threads[0], s=med, cpu_s=LAST_CPU["s"],
                 out_mp_s=(n * s) ** 2 / 1e6 / med, max_abs_diff_vs_baseline=int(diff),
                 psnr_vs_baseline=psnr(out, ref, 255.0), runs_s=ts)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cmd", choices=["forward", "breakdown", "tiles", "archs", "engine"])
    p.add_argument("--variants", type=lambda t: t.split(","), default=list(ENGINE_VARIANTS))
    p.add_argument("--model", default="sr-x4")
    p.add_argument("--size", dest="sizes", type=lambda t: [int(x) for x in t.split(",")], default=[256])
    p.add_argument("--threads", type=lambda t: [int(x) for x in t.split(",")], default=[torch.get_num_threads()])
    p.add_argument("--modes", type=lambda t: t.split(","), default=["no_grad", "inference_mode", "jit_freeze", "bf16"])
    p.add_argument("--tile", type=int, default=None)
    p.add_argument("--tiles", type=lambda t: [int(x) for x in t.split(",")], default=[96, 128, 192, 256, 384, 512, 0])
    p.add_argument("--archs", type=lambda t: t.split(";"), default=["16,1", "24,2", "32,2", "32,4", "48,6"])
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args(argv)
    {"forward": cmd_forward, "breakdown": cmd_breakdown, "tiles": cmd_tiles, "archs": cmd_archs,
     "engine": cmd_engine}[a.cmd](a)


if __name__ == "__main__":
    main()
