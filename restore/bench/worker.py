"""The benchmark worker: one method over a list of inputs, timed, with its peak memory (see :mod:`restore.bench`).

This file also runs by path in the peer venv (``python -P worker.py _worker job.json``), where ``restore`` is
not installed: it imports only the standard library and NumPy at the top, and the library only inside the
jobs of our own models.
"""
from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

#: peer SR networks: our name → (file prefix, dnn_superres name, scales shipped)
PEER_SR = {"espcn": ("ESPCN", "espcn", (2, 3, 4)), "fsrcnn": ("FSRCNN", "fsrcnn", (2, 3, 4)),
           "lapsrn": ("LapSRN", "lapsrn", (2, 4))}
CLASSICAL_SR = ("cv2-bicubic", "cv2-lanczos", "bicubic-matlab")
CLASSICAL_INPAINT = ("cv2-telea", "cv2-ns", "skimage-biharmonic")
#: hole families benchmarked by default and what they mean at 512×512
HOLE_LABELS = {"thin": "small (thin strokes)", "thick": "medium (thick strokes)", "box": "large (boxes)"}
INPAINT_SIZE = 512
LARGE_SIZE = 2000


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def default_bench_dir() -> Path | None:
    """``$RESTORE_BENCH_DATA`` (a folder of images, or one holding ``Set5/`` and ``BSD68/``), else None: the
    benchmark images are the caller's to name, nothing is assumed about the checkout's surroundings."""
    env = os.environ.get("RESTORE_BENCH_DATA")
    return Path(env) if env else None


def default_peers_dir() -> Path | None:
    """``$RESTORE_BENCH_PEERS`` (the folder of OpenCV's dnn_superres ``.pb`` files), else None (peers skipped)."""
    env = os.environ.get("RESTORE_BENCH_PEERS")
    return Path(env) if env else None


# --- memory probes (Linux /proc; stdlib only so the peer venv can use them) ----------------------------

def _status_mb(key: str) -> float | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def rss_mb() -> float:
    """Current resident set size (MB)."""
    v = _status_mb("VmRSS")
    return v if v is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) to the current RSS; False where not permitted."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return _status_mb("VmHWM") is not None
    except OSError:
        return False


def peak_mb() -> float:
    """Peak RSS since the last :func:`reset_peak` (VmHWM), else since the process started (ru_maxrss)."""
    v = _status_mb("VmHWM")
    return v if v is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class _PeakWindow:
    """``with _PeakWindow() as w: ...`` → ``w.before`` (RSS at entry), ``w.peak`` and ``w.delta`` (MB)."""

    def __enter__(self) -> "_PeakWindow":
        self.clean = reset_peak()
        self.before = rss_mb()
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak = peak_mb()
        self.delta = max(0.0, self.peak - self.before)
        self.how = "VmHWM after clear_refs" if self.clean else "ru_maxrss (process lifetime)"


# --- timing --------------------------------------------------------------------------------------------

def time_call(fn: Callable[[], Any], repeats: int, budget_s: float,
              cpu: list[float] | None = None) -> tuple[Any, float, list[float], float]:
    """One warm-up call, then up to ``repeats`` timed calls (fewer when one call is slow, so the timed
    calls take about ``budget_s`` at most, but at least one). Returns (output, median, times, warm-up);
    the median process CPU time of the timed calls is appended to ``cpu`` when given (a figure that other
    load on the machine inflates less than wall time, at one thread)."""
    t = time.perf_counter()
    out = fn()
    warm = time.perf_counter() - t
    n = max(1, min(repeats, int(budget_s / max(warm, 1e-6))))
    times, cpus = [], []
    for _ in range(n):
        c, t = time.process_time(), time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    if cpu is not None:
        cpu.append(statistics.median(cpus))
    return out, statistics.median(times), times, warm


def _set_threads(n: int) -> None:
    try:
        import cv2

        cv2.setNumThreads(n)
    except ImportError:
        pass
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


# --- the worker: one method over a list of inputs ---------------------------------------------------------

def _make_sr_fn(job: dict[str, Any]) -> tuple[Callable[[np.ndarray], np.ndarray], int | None]:
    """The callable for one SR method (RGB uint8 LR → RGB uint8 SR) and its parameter count."""
    method, s = job["method"], int(job["scale"])
    if method in PEER_SR:
        import cv2

        sr = cv2.dnn_superres.DnnSuperResImpl_create()
        sr.readModel(job["peer_model"])
        sr.setModel(PEER_SR[method][1], s)
        # dnn_superres takes BGR; the swap is a view-free copy done outside the timed call
        return (lambda bgr: sr.upsample(bgr)), _peer_params(job["peer_model"])
    if method == "cv2-bicubic" or method == "cv2-lanczos":
        import cv2

        interp = cv2.INTER_CUBIC if method == "cv2-bicubic" else cv2.INTER_LANCZOS4
        return (lambda lr: cv2.resize(lr, (lr.shape[1] * s, lr.shape[0] * s), interpolation=interp)), 0
    import restore  # here, not at the top: the peers' jobs run this file where restore is not installed

    if method == "bicubic-matlab":
        return (lambda lr: restore.upscale(lr, s, method="bicubic-matlab")), 0
    if method == "ours":
        import torch

        torch.set_num_threads(int(job["threads"]))
        net = restore.load_model(job["model"], device=job.get("device", "auto"))
        params = sum(p.numel() for p in net.module.parameters())
        dev, tile, prec = job.get("device", "auto"), job.get("tile"), job.get("precision", "auto")
        return (lambda lr: restore.upscale(lr, s, model=net, device=dev, tile=tile, precision=prec)), params
    if method == "ours-onnx":
        return _make_ort_fn(job)
    raise ValueError(f"unknown SR method {method!r}")


def _make_ort_fn(job: dict[str, Any]) -> tuple[Callable[[np.ndarray], np.ndarray], int | None]:
    """Our model through ``restore.upscale(..., backend="onnxruntime")``: exported to ONNX and run by ONNX
    Runtime's CPU provider (float32, or int8 for the ``onnxruntime-int8`` variant), through the same tiling and
    conversions as the PyTorch rows."""
    import torch

    import restore
    from restore.catalogue import read_metadata

    torch.set_num_threads(int(job["threads"]))  # ONNX Runtime's session takes the same thread count
    s = int(job["scale"])
    prec = "int8" if job.get("variant") == "onnxruntime-int8" else "fp32"
    params = read_metadata(job["model"]).get("params")
    return (lambda lr: restore.upscale(lr, s, model=job["model"], device="cpu", tile=job.get("tile"),
                                       backend="onnxruntime", precision=prec)), params


def flops_per_output_pixel(model: str | Path, scale: int) -> float:
    """Multiply-adds × 2 of the model's convolutions per output pixel, counted with forward hooks on a 64² input
    (every Conv2d / ConvTranspose2d: 2 · output elements · in/groups · kh · kw; the fixed bicubic skip, ~1 %
    of an SR net's work, is left out)."""
    import torch

    from restore.weights import load_model

    net = load_model(model, device="cpu")
    total = [0.0]

    def hook(m: torch.nn.Module, _inp: Any, out: torch.Tensor) -> None:
        kh, kw = m.kernel_size
        cin = m.in_channels if isinstance(m, torch.nn.Conv2d) else m.out_channels
        total[0] += 2.0 * out.numel() * (cin / m.groups) * kh * kw

    convs = (torch.nn.Conv2d, torch.nn.ConvTranspose2d)
    hooks = [m.register_forward_hook(hook) for m in net.module.modules() if isinstance(m, convs)]
    with torch.inference_mode():
        net(torch.zeros(1, 3, 64, 64))
    for h in hooks:
        h.remove()
    return total[0] / (64 * 64 * scale * scale)


def cpu_peaks(threads: int) -> dict[str, Any]:
    """Nominal peak GFLOP/s of ``threads`` cores: cores × the MHz /proc/cpuinfo reports × FLOP per cycle — float32:
    64 with AVX-512 (two 512-bit FMA pipes × 16 lanes × 2), 32 with AVX2/FMA; bfloat16: twice float32 with
    AVX512-BF16 (``vdpbf16ps``: two products per float32 lane), 1024 per cycle with AMX-BF16. An estimate: it
    ignores turbo clocks and cores that split 512-bit work in two."""
    flags: set[str] = set()
    mhz = None
    try:
        with open("/proc/cpuinfo") as fh:
            for ln in fh:
                if ln.startswith("flags") and not flags:
                    flags = set(ln.split(":", 1)[1].split())
                elif ln.startswith("cpu MHz") and mhz is None:
                    mhz = float(ln.split(":", 1)[1])
    except (OSError, ValueError):
        pass
    if not mhz:
        return {"fp32": None, "bf16": None, "how": "clock unknown"}
    per32 = 64 if "avx512f" in flags else (32 if "fma" in flags else 8)
    per16 = 1024 if "amx_bf16" in flags else (2 * per32 if "avx512_bf16" in flags else None)
    ghz = mhz / 1000
    return {"fp32": threads * ghz * per32, "bf16": threads * ghz * per16 if per16 else None,
            "how": f"{threads} cores × {ghz:.2f} GHz × {per32} FLOP/cycle (fp32)"
                   + (f", × {per16} (bf16)" if per16 else ", no native bf16")}


def _make_inpaint_fn(job: dict[str, Any]) -> tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], int | None]:
    """The callable for one inpainting method (RGB uint8, bool mask → RGB uint8) and its parameter count."""
    method = job["method"]
    if method in ("cv2-telea", "cv2-ns"):
        import cv2

        flag = cv2.INPAINT_TELEA if method == "cv2-telea" else cv2.INPAINT_NS
        return (lambda img, m: cv2.inpaint(img, m.view(np.uint8), 3, flag)), 0
    if method == "skimage-biharmonic":
        from skimage.restoration import inpaint_biharmonic

        return (lambda img, m: inpaint_biharmonic(img, m, channel_axis=-1)), 0
    if method == "ours":
        import torch

        import restore

        torch.set_num_threads(int(job["threads"]))
        net = restore.load_model(job["model"], device=job.get("device", "auto"))
        params = sum(p.numel() for p in net.module.parameters())
        dev, prec = job.get("device", "auto"), job.get("precision", "auto")
        return (lambda img, m: restore.inpaint(img, m, model=net, device=dev, precision=prec)), params
    raise ValueError(f"unknown inpainting method {method!r}")


def _peer_params(pb: str) -> int | None:
    """Parameters of a frozen TF graph as OpenCV's importer sees them (sum of every layer's blobs)."""
    import cv2

    try:
        net = cv2.dnn.readNetFromTensorflow(pb)
    except cv2.error:
        return None
    n = 0
    for name in net.getLayerNames():
        try:  # building some layers standalone (DepthToSpace) fails; they hold no weights
            n += sum(int(np.prod(b.shape)) for b in net.getLayer(net.getLayerId(name)).blobs)
        except cv2.error:
            continue
    return n


def _to_u8(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.uint8:
        return a
    return np.clip(np.asarray(a, np.float64) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Run one method of one task over the job's inputs; outputs are written next to ``job['outdir']``.

    Job keys: task (sr | inpaint | large), method, inputs (.npy paths), masks (inpaint), outdir, repeats,
    budget_s, threads, plus model/device/tile (ours), scale (sr/large), peer_model (peers), size (large).
    """
    threads = int(job.get("threads") or os.cpu_count() or 1)
    _set_threads(threads)
    task = job["task"]
    if task == "large":
        return _run_large(job)
    out_dir = Path(job["outdir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    if task == "sr":
        fn, params = _make_sr_fn(job)
        bgr = job["method"] in PEER_SR
        inputs = [np.load(p) for p in job["inputs"]]
        if bgr:
            inputs = [np.ascontiguousarray(x[:, :, ::-1]) for x in inputs]
        calls = [(lambda x=x: fn(x)) for x in inputs]
    elif task == "inpaint":
        fn2, params = _make_inpaint_fn(job)
        inputs = [np.load(p) for p in job["inputs"]]
        masks = [np.load(p) for p in job["masks"]]
        calls = [(lambda x=x, m=m: fn2(x, m)) for x, m in zip(inputs, masks)]
        bgr = False
    else:
        raise ValueError(f"unknown task {task!r}")
    _set_threads(threads)  # again: model loading may have imported torch
    seconds, runs, warmups, outputs, cpu = [], [], [], [], []  # type: ignore[var-annotated]
    with _PeakWindow() as win:
        for i, call in enumerate(calls):
            out, med, times, warm = time_call(call, int(job["repeats"]), float(job.get("budget_s", 5.0)), cpu)
            out = _to_u8(out)
            if bgr:
                out = out[:, :, ::-1]
            path = out_dir / f"{job['method']}_{i}.npy"
            np.save(path, np.ascontiguousarray(out))
            del out
            outputs.append(str(path))
            seconds.append(med)
            runs.append(times)
            warmups.append(warm)
    return {"seconds": seconds, "cpu_seconds": cpu, "runs": runs, "warmup": warmups, "outputs": outputs,
            "params": params,
            "threads": threads, "rss_before_mb": win.before, "peak_mb": win.peak, "peak_delta_mb": win.delta,
            "peak_how": win.how}


def synthetic_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A deterministic RGB uint8 test image with edges, gradients and texture (content does not change a
    CNN's speed, but it keeps the output plausible)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    f = np.empty((h, w, 3), np.float32)
    for c in range(3):
        f[:, :, c] = 0.5 + 0.25 * np.sin(xx / (17.0 + 5 * c)) * np.cos(yy / (23.0 + 3 * c))
    f += ((xx // 97 + yy // 131) % 2)[:, :, None] * 0.2 - 0.1
    f += rng.normal(0, 0.03, f.shape).astype(np.float32)
    return np.clip(f * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _run_large(job: dict[str, Any]) -> dict[str, Any]:
    """×s upscale of one size×size image with the given tile (0 = untiled): time and peak RSS."""
    import torch

    import restore

    threads = int(job["threads"])
    torch.set_num_threads(threads)
    s, size, tile = int(job["scale"]), int(job["size"]), job.get("tile")
    dev = job.get("device", "auto")
    net = restore.load_model(job["model"], device=dev)
    img = synthetic_image(size, size)
    restore.upscale(img[:64, :64], s, model=net, device=dev, tile=tile)  # warm-up: model, oneDNN, allocator
    avail = _meminfo_mb("MemAvailable")
    with _PeakWindow() as win:
        t = time.perf_counter()
        out = restore.upscale(img, s, model=net, device=dev, tile=tile)
        secs = time.perf_counter() - t
    return {"seconds": secs, "out_shape": list(out.shape), "out_bytes": int(out.nbytes),
            "out_mp": out.shape[0] * out.shape[1] / 1e6, "threads": threads, "tile": tile,
            "rss_before_mb": win.before, "peak_mb": win.peak, "peak_delta_mb": win.delta, "peak_how": win.how,
            "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, "mem_available_mb": avail}


def _meminfo_mb(key: str) -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            return next((int(ln.split()[1]) / 1024.0 for ln in fh if ln.startswith(key + ":")), None)
    except OSError:
        return None


def _worker_main(argv: Sequence[str]) -> int:
    """``python -P worker.py _worker job.json``: run the job, write ``job.json.result``.

    ``$RESTORE_BENCH_PRELOAD`` (a Python file) runs first in the workers of our own models (not classical
    methods or peers, which it must not disturb): the hook that lets a monkeypatching script measure a
    proposed change to the library without editing it."""
    job_path = Path(argv[0])
    job = json.loads(job_path.read_text())
    pre = os.environ.get("RESTORE_BENCH_PRELOAD")
    if pre and (job.get("method") == "ours" or job.get("task") == "large"):
        import runpy

        runpy.run_path(pre, run_name="restore_bench_preload")
    res = run_job(job)
    Path(str(job_path) + ".result").write_text(json.dumps(res))
    return 0



def precision_variants() -> tuple[list[str], str]:
    """The ways our models are run in the benchmark — float32, bfloat16 where this CPU has it natively, and ONNX
    Runtime (float32) when installed — and which one ``precision="auto"`` picks here."""
    import importlib.util

    from restore.devices import cpu_has_bf16

    bf16 = cpu_has_bf16()
    out = ["fp32"] + (["bf16"] if bf16 else [])
    if importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("onnx"):
        out += ["onnxruntime", "onnxruntime-int8"]
    return out, "bf16" if bf16 else "fp32"


def auto_variant(model: str | Path, torch_auto: str) -> str:
    """The variant ``precision="auto"`` runs ``model`` as on this machine: ``onnxruntime-int8`` where the engine
    quantises it by default (:func:`restore.engine.auto_int8`), else ``torch_auto`` (from
    :func:`precision_variants`)."""
    import torch

    from restore.engine import auto_int8, get_model

    return "onnxruntime-int8" if auto_int8(get_model(str(model), "cpu"), torch.device("cpu")) else torch_auto


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "_worker":
        sys.exit(_worker_main(sys.argv[2:]))
    sys.exit("usage: restore bench …  (this file runs directly only as a benchmark worker)")
