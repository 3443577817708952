"""Benchmarks (issue #7): quality, speed and memory of our CNNs against classical methods and peer CNNs.

What is measured, and how
    * Quality: the evaluation protocols of :mod:`restore.evaluate` — SR: HR mod-cropped, LR = MATLAB
      bicubic rounded to uint8, PSNR/SSIM on Y with ``scale`` pixels shaved; inpainting: seeded masks
      (:func:`restore.evaluate.inpaint_masks`) on 512×512 crops, PSNR over the hole pixels (RGB).
    * Speed: per image, one warm-up call and then ``repeats`` timed calls (fewer when a call is slow, so
      one image costs at most ``budget_s``); the median is kept. SR speed = output megapixels of all
      images ÷ the sum of their medians. Every method runs with the same thread count and the same inputs.
    * Memory: each method runs in its own worker process (``isolate=True``); just before its first call
      the worker resets the kernel's peak-RSS counter (``/proc/self/clear_refs`` ← 5) and afterwards reads
      ``VmHWM``, so "peak MB" is the growth of resident memory over the idle, loaded process — what the
      calls themselves needed (buffers, outputs, library workspaces), excluding the interpreter and model
      load. Where ``clear_refs`` is not writable, ``ru_maxrss`` is used and the figure says so.
    * Peers: ``cv2.resize`` (bicubic, Lanczos) on uint8 as users call it; ESPCN / FSRCNN / LapSRN through
      ``cv2.dnn_superres`` from ``opencv-contrib-python-headless<5``, which cannot share an environment
      with this project's OpenCV 5, so it lives in a cached venv (:func:`peer_python`) and this very file
      runs there as the worker (``python -P bench.py _worker job.json``): that is why this module imports
      only the standard library and NumPy at the top.

The library raises; ``restore bench`` (:mod:`restore.cli.bench_cmd`) prints.
"""
from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

#: where the peer venv lives (override with RESTORE_BENCH_PEER_VENV)
PEER_VENV = Path(os.environ.get("RESTORE_BENCH_PEER_VENV", Path.home() / ".cache" / "restore-bench" / "peers-venv"))
PEER_REQUIREMENTS = ("opencv-contrib-python-headless<5", "numpy")
#: peer SR networks: our name → (file prefix, dnn_superres name, scales shipped)
PEER_SR = {"espcn": ("ESPCN", "espcn", (2, 3, 4)), "fsrcnn": ("FSRCNN", "fsrcnn", (2, 3, 4)),
           "lapsrn": ("LapSRN", "lapsrn", (2, 4))}
CLASSICAL_SR = ("cv2-bicubic", "cv2-lanczos", "bicubic-matlab")
CLASSICAL_INPAINT = ("cv2-telea", "cv2-ns", "skimage-biharmonic")
#: hole families benchmarked by default and what they mean at 512×512
HOLE_LABELS = {"thin": "small (thin strokes)", "thick": "medium (thick strokes)", "box": "large (boxes)"}
INPAINT_SIZE = 512
#: other processes' average core use above which a run is flagged as contended
CONTENDED_CORES = 0.15
LARGE_SIZE = 2000


def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def default_bench_dir() -> Path:
    """``$RESTORE_BENCH_DATA`` or ``../shared/data/bench`` next to the checkout."""
    env = os.environ.get("RESTORE_BENCH_DATA")
    return Path(env) if env else repo_root().parent / "shared" / "data" / "bench"


def default_peers_dir() -> Path:
    env = os.environ.get("RESTORE_BENCH_PEERS")
    return Path(env) if env else repo_root().parent / "shared" / "peers" / "opencv_dnn_superres"


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
    if method == "bicubic-matlab":
        import restore

        return (lambda lr: restore.upscale(lr, s, method="bicubic-matlab")), 0
    if method == "ours":
        import torch

        import restore

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
    Runtime's CPU provider (float32), through the same tiling and conversions as the PyTorch rows."""
    import torch

    import restore
    from restore.catalogue import read_metadata

    torch.set_num_threads(int(job["threads"]))  # ONNX Runtime's session takes the same thread count
    s = int(job["scale"])
    return (lambda lr: restore.upscale(lr, s, model=job["model"], device="cpu", tile=job.get("tile"),
                                       backend="onnxruntime")), read_metadata(job["model"]).get("params")


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

    hooks = [m.register_forward_hook(hook) for m in net.module.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
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
    return {"seconds": seconds, "cpu_seconds": cpu, "runs": runs, "warmup": warmups, "outputs": outputs, "params": params,
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
    """``python -P bench.py _worker job.json``: run the job, write ``job.json.result``.

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


# --- orchestration ----------------------------------------------------------------------------------------

def peer_python(*, create: bool = False, log: Callable[[str], None] | None = None) -> Path | None:
    """The peer venv's interpreter if it works; built (once, cached) when ``create``; else ``None``."""
    py = PEER_VENV / "bin" / "python"
    if py.exists():
        ok = subprocess.run([str(py), "-c", "import cv2, numpy; cv2.dnn_superres.DnnSuperResImpl_create()"],
                            capture_output=True).returncode == 0
        if ok:
            return py
    if not create:
        return None
    if log:
        log(f"creating the peer venv at {PEER_VENV} ({', '.join(PEER_REQUIREMENTS)}); once")
    PEER_VENV.parent.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEER_VENV)], check=True, capture_output=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", *PEER_REQUIREMENTS], check=True,
                       capture_output=True)
    except subprocess.CalledProcessError as e:
        tail = (e.stderr or b"").decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise RuntimeError(f"could not build the peer venv: {tail[0]}") from None
    return py


def _worker_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[k] = str(threads)  # numpy/BLAS, oneDNN and OpenCV all see the same thread count
    return env


def _dispatch(job: dict[str, Any], work: Path, *, python: str | Path | None, isolate: bool) -> dict[str, Any]:
    """Run a job in a fresh worker process (``python``; default this interpreter) or, with ``isolate=False``
    and no other interpreter, in this process. Failures become ``{"error": ...}``, never exceptions."""
    if not isolate and python is None:
        try:
            return run_job(job)
        except Exception as e:  # a broken method must not take the whole benchmark down
            return {"error": f"{type(e).__name__}: {e}"}
    fd, name = tempfile.mkstemp(prefix="job-", suffix=".json", dir=work)
    os.close(fd)
    Path(name).write_text(json.dumps(job))
    cmd = [str(python or sys.executable), "-P", str(Path(__file__).resolve()), "_worker", name]
    p = subprocess.run(cmd, capture_output=True, text=True, env=_worker_env(int(job["threads"])))
    res_path = Path(name + ".result")
    if p.returncode != 0 or not res_path.exists():
        if p.returncode in (-9, 137):
            return {"error": "worker killed (SIGKILL: most likely out of memory)"}
        lines = [ln for ln in (p.stderr or "").strip().splitlines() if ln.strip()]
        return {"error": lines[-1] if lines else f"worker exited with {p.returncode}"}
    return json.loads(res_path.read_text())


def _list_images(folder: Path) -> list[Path]:
    from restore.evaluate import bench_images

    return bench_images(folder)


def _load_rgb(path: Path) -> np.ndarray:
    from restore.data import load_rgb

    return load_rgb(path)


def our_models(task: str, scale: int | None = None) -> list[dict[str, Any]]:
    """Shipped models of a task (and scale), the default first: ``{"name", "path", "params", "default"}``."""
    from restore.catalogue import _shipped

    out = []
    for p, m in _shipped():
        if m["task"] == task and (scale is None or m.get("scale") == scale):
            out.append({"name": m["name"], "path": str(p), "params": m.get("params"), "default": bool(m.get("default"))})
    return sorted(out, key=lambda d: (not d["default"], d["name"]))


def _extra_model(path: str, task: str) -> dict[str, Any] | None:
    """A ``--model`` file's entry if it belongs to this task (scale is checked by the caller)."""
    from restore.catalogue import read_metadata, resolve

    p = resolve(path)
    m = read_metadata(p)
    if m["task"] != task:
        return None
    return {"name": m["name"], "path": str(p), "params": m.get("params"), "default": False,
            "scale": m.get("scale"), "extra": True}


def bench_sr(data: Path, scales: Sequence[int], *, work: Path, repeats: int, threads: int, device: str,
             extra_models: Sequence[str] = (), peers_dir: Path | None, peer_py: Path | None,
             shipped: bool = True, isolate: bool = True, budget_s: float = 5.0,
             log: Callable[[str], None] = lambda s: None) -> list[dict[str, Any]]:
    """Rows of the SR table: every model of ours, the classical methods and the peers, per scale."""
    from restore.data import degrade, mod_crop
    from restore.evaluate import psnr_y_np, ssim_y_np

    files = _list_images(data)
    rows: list[dict[str, Any]] = []
    variants, auto = precision_variants()
    for s in scales:
        d = work / f"sr-x{s}"
        d.mkdir(parents=True, exist_ok=True)
        hrs, inputs = [], []
        for i, f in enumerate(files):
            hr = mod_crop(_load_rgb(f), s)
            hrs.append(hr)
            np.save(d / f"lr_{i}.npy", degrade(hr, s))
            inputs.append(str(d / f"lr_{i}.npy"))
        out_mp = sum(h.shape[0] * h.shape[1] for h in hrs) / 1e6
        methods: list[tuple[str, str, dict[str, Any], Path | None]] = []
        ours = [m for m in our_models("sr", s)] if shipped else []
        ours += [m for m in (_extra_model(p, "sr") for p in extra_models) if m and m.get("scale") == s]
        for m in ours:
            flop_px = flops_per_output_pixel(m["path"], s)  # once per model, not per variant
            for v in variants:
                spec = {"method": "ours-onnx" if v == "onnxruntime" else "ours", "model": m["path"],
                        "default": m["default"] and v == auto, "variant": v, "base": m["name"], "flop_px": flop_px}
                if v != "onnxruntime":
                    spec["precision"] = v
                methods.append((f"{m['name']} [{v}]", "ours", spec, None))
        for c in CLASSICAL_SR:
            methods.append((c, "classical", {"method": c}, None))
        if peers_dir is not None and peer_py is not None:
            for key, (prefix, _n, pscales) in PEER_SR.items():
                pb = peers_dir / f"{prefix}_x{s}.pb"
                if s in pscales and pb.is_file():
                    methods.append((prefix, "peer", {"method": key, "peer_model": str(pb)}, peer_py))
        for label, kind, spec, py in methods:
            log(f"sr ×{s}: {label}")
            job = {"task": "sr", "scale": s, "inputs": inputs, "outdir": str(d / label), "repeats": repeats,
                   "budget_s": budget_s, "threads": threads, "device": device, **spec}
            res = _dispatch(job, work, python=py, isolate=isolate)
            row: dict[str, Any] = {"task": "sr", "scale": s, "method": label, "kind": kind,
                                   "default": bool(spec.get("default")), "images": len(files), "data": str(data)}
            if "error" in res:
                rows.append({**row, "error": res["error"]})
                continue
            ps, ss = [], []
            for hr, o in zip(hrs, res["outputs"]):
                sr = np.load(o)
                ps.append(psnr_y_np(sr, hr, s))
                ss.append(ssim_y_np(sr, hr, s))
            secs, cpu = float(sum(res["seconds"])), float(sum(res["cpu_seconds"]))
            rows.append({**row, "params": res["params"], "psnr_y": float(np.mean(ps)), "ssim_y": float(np.mean(ss)),
                         "seconds": secs, "out_mp": out_mp, "mp_per_s": out_mp / secs if secs > 0 else float("inf"),
                         "cpu_seconds": cpu, "mp_per_cpu_s": out_mp / cpu if cpu > 0 else float("inf"),
                         "peak_mb": res["peak_delta_mb"], "peak_how": res["peak_how"], "threads": res["threads"],
                         "timed_runs": [len(r) for r in res["runs"]],
                         **{k: spec[k] for k in ("variant", "base", "flop_px") if k in spec}})
    _add_ratios(rows, group=("scale",), quality="psnr_y", speed="mp_per_s", higher_is_faster=True)
    _add_precision(rows, "psnr_y", "mp_per_s", threads)
    return rows


def precision_variants() -> tuple[list[str], str]:
    """The ways our models are run in the benchmark — float32, bfloat16 where this CPU has it natively, and ONNX
    Runtime (float32) when installed — and which one ``precision="auto"`` picks here."""
    import importlib.util

    from restore.devices import cpu_has_bf16

    bf16 = cpu_has_bf16()
    out = ["fp32"] + (["bf16"] if bf16 else [])
    if importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("onnx"):
        out.append("onnxruntime")
    return out, "bf16" if bf16 else "fp32"


def _add_precision(rows: list[dict[str, Any]], quality: str, speed: str, threads: int) -> None:
    """Per model of ours: each variant's quality change against its float32 run, its speed-up over it, and
    (where FLOPs are known) the achieved GFLOP/s as a share of the CPU's float32 / bfloat16 peaks."""
    peaks = cpu_peaks(threads)
    fp32 = {(r.get("scale"), r.get("holes"), r["base"]): r for r in rows
            if r.get("variant") == "fp32" and "error" not in r}
    for r in rows:
        if "variant" not in r or "error" in r:
            continue
        ref = fp32.get((r.get("scale"), r.get("holes"), r["base"]))
        if ref is not None:
            r["d_quality_vs_fp32"] = r[quality] - ref[quality]
            a, b = r[speed], ref[speed]
            r["speedup_vs_fp32"] = (a / b if speed == "mp_per_s" else b / a) if a and b else None
        if r.get("flop_px") and speed == "mp_per_s":
            r["gflops"] = r[speed] * r["flop_px"] / 1e3
            r["share_fp32_peak"] = r["gflops"] / peaks["fp32"] if peaks["fp32"] else None
            r["share_bf16_peak"] = r["gflops"] / peaks["bf16"] if peaks["bf16"] else None



def inpaint_inputs(data: Path, n_images: int, size: int = INPAINT_SIZE) -> tuple[list[np.ndarray], list[str]]:
    """The first ``n_images`` images of a folder as ``size``×``size`` RGB uint8: scaled so the short side is
    ``size`` (area when shrinking, cubic when enlarging), then centre-cropped."""
    import cv2

    out, names = [], []
    for f in _list_images(data)[:n_images]:
        img = _load_rgb(f)
        h, w = img.shape[:2]
        k = size / min(h, w)
        nh, nw = max(size, round(h * k)), max(size, round(w * k))
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC)
        y0, x0 = (nh - size) // 2, (nw - size) // 2
        out.append(np.ascontiguousarray(img[y0:y0 + size, x0:x0 + size]))
        names.append(f.name)
    return out, names


def bench_inpaint(data: Path, *, work: Path, repeats: int, threads: int, device: str, n_images: int = 8,
                  families: Sequence[str] = ("thin", "box"), size: int = INPAINT_SIZE,
                  extra_models: Sequence[str] = (), shipped: bool = True, isolate: bool = True,
                  budget_s: float = 5.0, log: Callable[[str], None] = lambda s: None) -> list[dict[str, Any]]:
    """Rows of the inpainting table: ours vs cv2 Telea / NS and scikit-image biharmonic, per hole family."""
    from restore.evaluate import inpaint_masks, psnr

    images, _names = inpaint_inputs(data, n_images, size)
    triples = inpaint_masks(images, families)
    methods: list[tuple[str, str, dict[str, Any]]] = []
    ours = list(our_models("inpaint")) if shipped else []
    ours += [m for m in (_extra_model(p, "inpaint") for p in extra_models) if m]
    variants, auto = precision_variants()
    for m in ours:
        for v in (v for v in variants if v != "onnxruntime"):  # the pre-fill solver is not exported
            methods.append((f"{m['name']} [{v}]", "ours", {"method": "ours", "model": m["path"], "precision": v,
                                                            "default": m["default"] and v == auto, "variant": v,
                                                            "base": m["name"]}))
    for c in CLASSICAL_INPAINT:
        methods.append((c, "classical", {"method": c}))
    rows: list[dict[str, Any]] = []
    for fam in families:
        d = work / f"inpaint-{fam}"
        d.mkdir(parents=True, exist_ok=True)
        sel = [(i, m) for i, f, m in triples if f == fam]
        inputs, masks = [], []
        for k, (i, m) in enumerate(sel):
            np.save(d / f"img_{k}.npy", images[i])
            np.save(d / f"mask_{k}.npy", m)
            inputs.append(str(d / f"img_{k}.npy"))
            masks.append(str(d / f"mask_{k}.npy"))
        hole_frac = float(np.mean([m.mean() for _i, m in sel]))
        for label, kind, spec in methods:
            log(f"inpaint {fam}: {label}")
            job = {"task": "inpaint", "inputs": inputs, "masks": masks, "outdir": str(d / label), "repeats": repeats,
                   "budget_s": budget_s, "threads": threads, "device": device, **spec}
            res = _dispatch(job, work, python=None, isolate=isolate)
            row: dict[str, Any] = {"task": "inpaint", "holes": fam, "hole_label": HOLE_LABELS.get(fam, fam),
                                   "hole_fraction": hole_frac, "method": label, "kind": kind,
                                   "default": bool(spec.get("default")), "images": len(sel), "size": size,
                                   "data": str(data)}
            if "error" in res:
                rows.append({**row, "error": res["error"]})
                continue
            ps = []
            for (i, m), o in zip(sel, res["outputs"]):
                a, b = np.load(o).astype(np.float64) / 255.0, images[i].astype(np.float64) / 255.0
                ps.append(psnr(a[m], b[m], 1.0))
            rows.append({**row, "params": res["params"], "psnr_hole": float(np.mean(ps)),
                         "s_per_image": float(np.mean(res["seconds"])), "s_max": float(np.max(res["seconds"])),
                         "cpu_s_per_image": float(np.mean(res["cpu_seconds"])),
                         "peak_mb": res["peak_delta_mb"], "peak_how": res["peak_how"], "threads": res["threads"],
                         "timed_runs": [len(r) for r in res["runs"]],
                         **{k: spec[k] for k in ("variant", "base") if k in spec}})
    _add_ratios(rows, group=("holes",), quality="psnr_hole", speed="s_per_image", higher_is_faster=False)
    _add_precision(rows, "psnr_hole", "s_per_image", threads)
    return rows


def _add_ratios(rows: list[dict[str, Any]], *, group: tuple[str, ...], quality: str, speed: str,
                higher_is_faster: bool) -> None:
    """Per group, each row's quality difference and speed / memory ratio to our default model (or first
    model of ours). ``speed_vs_ours`` > 1 means faster than ours whatever the unit."""
    refs: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        if r["kind"] != "ours" or "error" in r:
            continue
        k = tuple(r[g] for g in group)
        if k not in refs or (r["default"] and not refs[k]["default"]):
            refs[k] = r
    for r in rows:
        ref = refs.get(tuple(r[g] for g in group))
        if ref is None or "error" in r:
            continue
        r["ref"] = ref["method"]
        r["d_quality_vs_ours"] = r[quality] - ref[quality]
        a, b = r[speed], ref[speed]
        r["speed_vs_ours"] = (a / b if higher_is_faster else b / a) if a and b else None
        r["mem_vs_ours"] = r["peak_mb"] / ref["peak_mb"] if ref["peak_mb"] > 0 else None


def bench_threads(sr_model: str | None, ip_model: str | None, *, work: Path, threads: int, device: str,
                  repeats: int = 5, isolate: bool = True, log: Callable[[str], None] = lambda s: None
                  ) -> list[dict[str, Any]]:
    """Seconds per call with 1 and ``threads`` threads, quiet and then beside one busy process per core (a
    stand-in for another program): ×4 of a 256² image and inpainting of 512² with thick strokes."""
    import subprocess

    from restore.data import make_mask

    d = work / "threads"
    d.mkdir(parents=True, exist_ok=True)
    np.save(d / "sr.npy", synthetic_image(256, 256))
    np.save(d / "ip.npy", synthetic_image(512, 512, seed=1))
    np.save(d / "mask.npy", make_mask("thick", 512, 512, np.random.default_rng(0)) > 0)
    jobs = []
    if sr_model:
        jobs.append(("×4 of 256²", {"task": "sr", "scale": 4, "method": "ours", "model": sr_model,
                                    "inputs": [str(d / "sr.npy")]}))
    if ip_model:
        jobs.append(("inpaint 512², thick strokes", {"task": "inpaint", "method": "ours", "model": ip_model,
                                                     "inputs": [str(d / "ip.npy")], "masks": [str(d / "mask.npy")]}))
    rows = []
    for load in ("quiet", "contended"):
        busy = []
        if load == "contended":
            busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
        try:
            for label, spec in jobs:
                for n in sorted({1, threads}):
                    log(f"threads: {label}, {n} thread(s), {load}")
                    job = {**spec, "outdir": str(d / f"{label[:6]}-{n}-{load}"), "repeats": repeats,
                           "budget_s": 5.0, "threads": n, "device": device}
                    res = _dispatch(job, work, python=None, isolate=isolate)
                    row = {"task": label, "threads": n, "load": load}
                    rows.append({**row, "error": res["error"]} if "error" in res else
                                {**row, "s_per_call": float(res["seconds"][0])})
        finally:
            for p in busy:
                p.kill()
                p.wait()
    return rows


def bench_large(model: str, *, work: Path, threads: int, device: str, size: int = LARGE_SIZE, scale: int = 4,
                tiles: Sequence[int | None] = (None, 0), isolate: bool = True,
                log: Callable[[str], None] = lambda s: None) -> list[dict[str, Any]]:
    """×``scale`` of a ``size``×``size`` image with each tile setting (``None`` = default, 0 = untiled), each
    in a fresh process so its peak RSS is its own (``isolate=False`` is for smoke tests only: in a process
    that has held other arrays the memory figures mean little)."""
    rows = []
    for tile in tiles:
        log(f"large ×{scale} of {size}×{size}, tile {tile if tile is not None else 'default'}")
        job = {"task": "large", "model": model, "size": size, "scale": scale, "tile": tile, "threads": threads,
               "device": device}
        res = _dispatch(job, work, python=None, isolate=isolate)
        out_bytes = size * size * scale * scale * 3
        row = {"task": "large", "size": size, "scale": scale, "tile": tile, "model": model,
               "out_bytes": out_bytes, "target_mb": out_bytes / 2**20 + 1536.0}
        if "error" in res:
            rows.append({**row, "error": res["error"]})
            continue
        row.update({k: res[k] for k in ("seconds", "out_mp", "rss_before_mb", "peak_mb", "peak_delta_mb",
                                        "peak_how", "ru_maxrss_mb", "threads")})
        row["mp_per_s"] = res["out_mp"] / res["seconds"]
        row["meets_target"] = res["peak_mb"] < row["target_mb"]
        # memory grows linearly with the input: extrapolate the largest input that fits what was available
        per_mp = res["peak_delta_mb"] / (size * size / 1e6)
        row["growth_mb_per_input_mp"] = per_mp
        if res.get("mem_available_mb") and per_mp > 0:
            row["max_input_mp_in_available"] = res["mem_available_mb"] / per_mp
            row["mem_available_mb"] = res["mem_available_mb"]
        rows.append(row)
    return rows


def _busy_cpu_s() -> float | None:
    """CPU-seconds every process on the machine has used since boot (``/proc/stat``), or ``None``."""
    try:
        with open("/proc/stat") as fh:
            f = fh.readline().split()
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in f[1:9])
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _own_cpu_s() -> float:
    """CPU-seconds of this process and its finished children (the benchmark's own workers)."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


class _ForeignLoad:
    """Average number of cores that *other* processes kept busy while the block ran: machine-wide busy
    CPU time (``/proc/stat``) minus the benchmark's own (this process and its workers). Unlike the load
    average it does not count the benchmark itself, so it tells whether the timings were contended."""

    def __enter__(self) -> "_ForeignLoad":
        self.t, self.busy, self.own = time.perf_counter(), _busy_cpu_s(), _own_cpu_s()
        self.cores: float | None = None
        return self

    def __exit__(self, *exc: object) -> None:
        if getattr(self, "_closed", False):  # measured once: later load is not foreign
            return
        self._closed = True
        busy = _busy_cpu_s()
        wall = time.perf_counter() - self.t
        if busy is not None and self.busy is not None and wall > 0:
            self.cores = max(0.0, (busy - self.busy) - (_own_cpu_s() - self.own)) / wall


def _environment(threads: int) -> dict[str, Any]:
    import platform

    env: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine(),
                           "cpus": os.cpu_count(), "threads": threads, "numpy": np.__version__}
    try:
        with open("/proc/cpuinfo") as fh:
            env["cpu"] = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "")
    except OSError:
        pass
    try:
        from importlib.metadata import version

        env["torch"] = version("torch")
        env["opencv"] = version("opencv-python-headless")
    except Exception:  # metadata of an odd install must not break the benchmark
        pass
    try:
        with open("/proc/loadavg") as fh:
            env["loadavg_at_start"] = fh.read().split()[:3]
    except OSError:
        pass
    return env


def _preload_note() -> str | None:
    pre = os.environ.get("RESTORE_BENCH_PRELOAD")
    return f"RESTORE_BENCH_PRELOAD={pre} ran in the workers of our models (rows 'ours' and the large image)" if pre else None


def run_bench(*, task: str = "all", data: str | Path | None = None, scales: Sequence[int] = (2, 3, 4),
              device: str = "auto", repeats: int = 5, threads: int | None = None, models: Sequence[str] = (),
              peers: bool = True, peers_dir: str | Path | None = None, create_peer_venv: bool = True,
              inpaint_images: int = 8, families: Sequence[str] = ("thin", "box"), inpaint_size: int = INPAINT_SIZE,
              shipped: bool = True,
              large: bool = True, large_size: int = LARGE_SIZE, untiled: bool = True, contention: bool = False,
              isolate: bool = True, budget_s: float = 5.0, work_dir: str | Path | None = None,
              log: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Run the benchmark and return everything as one JSON-able dict (``sr``, ``inpaint``, ``large`` rows,
    ``targets``, ``notes``, ``env``). ``data`` is a folder of images used for every task; by default SR uses
    Set5 and inpainting BSD68 under :func:`default_bench_dir`."""
    from restore.errors import InputError

    if task not in ("sr", "inpaint", "all"):
        raise InputError(f"unknown task {task!r}; choose sr, inpaint or all")
    for s in scales:
        if s not in (2, 3, 4):
            raise InputError(f"unsupported scale {s!r}; choose from 2, 3, 4")
    if repeats < 1:
        raise InputError("repeats must be ≥ 1")
    threads = int(threads or os.cpu_count() or 1)
    notes: list[str] = [n for n in (_preload_note(),) if n]
    result: dict[str, Any] = {"env": {**_environment(threads), "peaks": cpu_peaks(threads)}, "repeats": repeats,
                              "notes": notes,
                              "sr": [], "inpaint": [], "large": [], "threads": []}
    bench_dir = default_bench_dir()
    tmp = tempfile.TemporaryDirectory(prefix="restore-bench-") if work_dir is None else None
    work = Path(tmp.name if tmp else work_dir)  # type: ignore[union-attr]
    work.mkdir(parents=True, exist_ok=True)
    foreign = _ForeignLoad().__enter__()
    try:
        if task in ("sr", "all"):
            sr_data = Path(data) if data else bench_dir / "Set5"
            peer_py, pdir = None, None
            if peers:
                pdir = Path(peers_dir) if peers_dir else default_peers_dir()
                if not pdir.is_dir():
                    notes.append(f"peer CNNs skipped: {pdir} not found")
                    pdir = None
                else:
                    try:
                        peer_py = peer_python(create=create_peer_venv, log=log)
                    except RuntimeError as e:
                        notes.append(f"peer CNNs skipped: {e}")
                    if peer_py is None and not any("skipped" in n for n in notes):
                        notes.append(f"peer CNNs skipped: no peer venv at {PEER_VENV}")
            result["sr"] = bench_sr(sr_data, scales, work=work, repeats=repeats, threads=threads, device=device,
                                    extra_models=models, peers_dir=pdir, peer_py=peer_py, shipped=shipped,
                                    isolate=isolate, budget_s=budget_s, log=log)
            if large:
                default4 = next((m["path"] for m in our_models("sr", 4) if m["default"] and shipped), None)
                if default4 is None:
                    default4 = next((m for m in models if (_extra_model(m, "sr") or {}).get("scale") == 4), None)
                if default4 is None:
                    notes.append("large-image run skipped: no ×4 model of ours")
                else:
                    result["large"] = bench_large(default4, work=work, threads=threads, device=device,
                                                  size=large_size, tiles=(None, 0) if untiled else (None,),
                                                  isolate=isolate, log=log)
        if task in ("inpaint", "all"):
            ip_data = Path(data) if data else bench_dir / "BSD68"
            result["inpaint"] = bench_inpaint(ip_data, work=work, repeats=repeats, threads=threads, device=device,
                                              n_images=inpaint_images, families=families, size=inpaint_size,
                                              extra_models=models, shipped=shipped, isolate=isolate,
                                              budget_s=budget_s, log=log)
        foreign.__exit__()  # the contended runs below are load we make ourselves
        if contention:
            sr4 = next((m["path"] for m in our_models("sr", 4) if m["default"]), None) if shipped else None
            ipm = next((m["path"] for m in our_models("inpaint") if m["default"]), None) if shipped else None
            sr4 = sr4 or next((m for m in models if (_extra_model(m, "sr") or {}).get("scale") == 4), None)
            ipm = ipm or next((m for m in models if _extra_model(m, "inpaint")), None)
            result["threads"] = bench_threads(sr4 if task in ("sr", "all") else None,
                                              ipm if task in ("inpaint", "all") else None, work=work,
                                              threads=threads, device=device, repeats=repeats, isolate=isolate,
                                              log=log)
    finally:
        foreign.__exit__()
        if tmp is not None:
            tmp.cleanup()
    result["env"]["foreign_load_cores"] = foreign.cores
    if not isolate:
        notes.append("methods ran in one process (isolate=False): peak MB figures are approximate")
    if foreign.cores is not None and foreign.cores > CONTENDED_CORES:
        notes.append(f"CONTENDED: other processes kept {foreign.cores:.2f} of {os.cpu_count()} cores busy on "
                     "average during the run; wall-clock figures are pessimistic")
    result["targets"] = check_targets(result)
    return result


# --- targets and tables --------------------------------------------------------------------------------

def check_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each ``{"target", "value", "met"}`` (``met`` None when it could not be measured)."""
    out: list[dict[str, Any]] = []
    sr = [r for r in result.get("sr", []) if "error" not in r]
    ours4 = [r for r in sr if r["scale"] == 4 and r["kind"] == "ours"]
    d4 = next((r for r in ours4 if r["default"]), ours4[0] if ours4 else None)
    if d4:
        out.append({"target": "×4 default SR model ≥ 2 output MP/s", "value": f"{d4['mp_per_s']:.2f} MP/s ({d4['method']})",
                    "met": d4["mp_per_s"] >= 2.0})
        if d4.get("variant") not in (None, "fp32") and d4.get("speedup_vs_fp32"):
            ok = d4["speedup_vs_fp32"] >= 2.5 and abs(d4["d_quality_vs_fp32"]) <= 0.02
            out.append({"target": "×4 default SR model at auto precision ≥ 2.5× its float32 speed, PSNR-Y within 0.02 dB",
                        "value": f"{d4['speedup_vs_fp32']:.2f}×, {d4['d_quality_vs_fp32']:+.3f} dB ({d4['method']})",
                        "met": ok})
    espcn = next((r for r in sr if r["scale"] == 4 and r["method"] == "ESPCN"), None)
    if espcn and ours4:
        # each model of ours at the precision auto picks here (the default flag marks it for the default model)
        auto = precision_variants()[1]
        cands = [r for r in ours4 if r.get("variant", auto) == auto]
        ok = [r for r in cands if r["mp_per_s"] >= 4 * espcn["mp_per_s"] and r["psnr_y"] >= espcn["psnr_y"] + 1.5]
        # shown: a model that meets it, else the one named "fast", else whichever of ours was fastest
        fast = [r for r in cands if "fast" in r["method"]]
        best = max(ok or fast or cands or ours4, key=lambda r: r["mp_per_s"])
        val = (f"{best['method']}: {best['mp_per_s']:.2f} MP/s = {best['mp_per_s'] / espcn['mp_per_s']:.2f}× "
               f"ESPCN's {espcn['mp_per_s']:.1f}, {best['psnr_y'] - espcn['psnr_y']:+.2f} dB PSNR-Y")
        out.append({"target": "fast SR model ≥ 4× ESPCN speed and ≥ +1.5 dB on ×4", "value": val, "met": bool(ok)})
    ip = [r for r in result.get("inpaint", []) if "error" not in r and r["kind"] == "ours"]
    dip = [r for r in ip if r["default"]] or ip
    if dip:
        worst = max(r["s_max"] for r in dip)
        out.append({"target": f"inpainting {dip[0]['size']}² with the default model < 0.3 s, any hole size",
                    "value": f"slowest image {worst:.3f} s (" + ", ".join(f"{r['holes']} {r['s_per_image']:.3f}" for r in dip) + " s mean)",
                    "met": worst < 0.3})
        mean_worst = max(r["s_per_image"] for r in dip)
        dq = [r["d_quality_vs_fp32"] for r in dip if r.get("d_quality_vs_fp32") is not None]
        out.append({"target": f"inpainting {dip[0]['size']}² ≤ 0.12 s per image (mean per hole family), hole PSNR "
                              "within 0.02 dB of float32",
                    "value": f"{mean_worst:.3f} s, " + ", ".join(f"{d:+.3f}" for d in dq) + " dB",
                    "met": mean_worst <= 0.12 and all(abs(d) <= 0.02 for d in dq)})
    for r in result.get("large", []):
        if r.get("tile") is None and "error" not in r:
            out.append({"target": f"×{r['scale']} of {r['size']}² peak RSS < output + 1.5 GB",
                        "value": f"{r['peak_mb']:.0f} MB peak vs {r['target_mb']:.0f} MB", "met": r["meets_target"]})
    return out


def _params(n: int | None) -> str:
    from restore.catalogue import format_params  # not at the top: the peers' worker runs this file without restore

    return format_params(n, "?")


def _fmt(v: float | None, spec: str, suffix: str = "") -> str:
    return "" if v is None else f"{v:{spec}}{suffix}"


def _precision_cells(r: dict[str, Any]) -> str:
    """ΔPSNR and speed-up against the same model's float32 run, and GFLOP/s as shares of the peaks."""
    if "variant" not in r:
        return " | | "
    g = r.get("gflops")
    share = "" if g is None else (f"{g:.0f} ({_fmt(r.get('share_fp32_peak'), '.0%')} / "
                                  f"{_fmt(r.get('share_bf16_peak'), '.0%') or '–'})")
    return (f"{_fmt(r.get('d_quality_vs_fp32'), '+.3f', ' dB')} | {_fmt(r.get('speedup_vs_fp32'), '.2f', '×')} | "
            f"{share}")


def format_tables(result: dict[str, Any]) -> str:
    """Markdown tables of a :func:`run_bench` result (what ``restore bench`` prints)."""
    env = result.get("env", {})
    lines: list[str] = []
    head = (f"CPU: {env.get('cpu', '?')}, {env.get('threads')} threads; torch {env.get('torch', '?')}, "
            f"OpenCV {env.get('opencv', '?')}; median of ≤{result.get('repeats')} timed runs after 1 warm-up per image; "
            f"other processes used {_fmt(env.get('foreign_load_cores'), '.2f') or '?'} cores on average during the run")
    lines.append(head)
    sr = result.get("sr", [])
    if sr:
        lines += ["", f"### Super-resolution — {Path(sr[0]['data']).name} ({sr[0]['images']} images)", "",
                  "| × | method | kind | params | PSNR-Y | SSIM-Y | out MP/s | MP/CPU-s | peak MB | ΔPSNR vs ours | speed vs ours | mem vs ours | ΔPSNR vs fp32 | speed vs fp32 | GFLOP/s (fp32 / bf16 peak) |",
                  "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in sr:
            name = r["method"] + (" (default)" if r.get("default") else "")
            if "error" in r:
                lines.append(f"| {r['scale']} | {name} | {r['kind']} | | | | | | | error: {r['error']} | | |")
                continue
            is_ref = r.get("ref") == r["method"]
            lines.append(
                f"| {r['scale']} | {name} | {r['kind']} | {_params(r['params'])} | {r['psnr_y']:.2f} | "
                f"{r['ssim_y']:.4f} | {r['mp_per_s']:.2f} | {r['mp_per_cpu_s']:.2f} | {r['peak_mb']:.0f} | "
                f"{'ref' if is_ref else _fmt(r.get('d_quality_vs_ours'), '+.2f', ' dB')} | "
                f"{'1×' if is_ref else _fmt(r.get('speed_vs_ours'), '.2f', '×')} | "
                f"{'1×' if is_ref else _fmt(r.get('mem_vs_ours'), '.2f', '×')} | {_precision_cells(r)} |")
    ip = result.get("inpaint", [])
    if ip:
        lines += ["", f"### Inpainting — {ip[0]['images']} images of {Path(ip[0]['data']).name} at "
                      f"{ip[0]['size']}×{ip[0]['size']}", "",
                  "| holes | hole % | method | kind | params | hole PSNR | s/image | max s | CPU-s/image | peak MB | ΔPSNR vs ours | speed vs ours | mem vs ours | ΔPSNR vs fp32 | speed vs fp32 |",
                  "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in ip:
            name = r["method"] + (" (default)" if r.get("default") else "")
            if "error" in r:
                lines.append(f"| {r['hole_label']} | | {name} | {r['kind']} | | | | | | | error: {r['error']} | | |")
                continue
            is_ref = r.get("ref") == r["method"]
            lines.append(
                f"| {r['hole_label']} | {100 * r['hole_fraction']:.1f} | {name} | {r['kind']} | {_params(r['params'])} | "
                f"{r['psnr_hole']:.2f} | {r['s_per_image']:.3f} | {r['s_max']:.3f} | {r['cpu_s_per_image']:.3f} | {r['peak_mb']:.0f} | "
                f"{'ref' if is_ref else _fmt(r.get('d_quality_vs_ours'), '+.2f', ' dB')} | "
                f"{'1×' if is_ref else _fmt(r.get('speed_vs_ours'), '.2f', '×')} | "
                f"{'1×' if is_ref else _fmt(r.get('mem_vs_ours'), '.2f', '×')} | "
                f"{_fmt(r.get('d_quality_vs_fp32'), '+.3f', ' dB')} | {_fmt(r.get('speedup_vs_fp32'), '.2f', '×')} |")
    lg = result.get("large", [])
    if lg:
        r0 = lg[0]
        lines += ["", f"### Large image — ×{r0['scale']} of {r0['size']}×{r0['size']} → "
                      f"{r0['size'] * r0['scale']}×{r0['size'] * r0['scale']} (uint8 output {r0['out_bytes'] / 2**20:.0f} MB; "
                      f"target peak < {r0['target_mb']:.0f} MB)", "",
                  "| tiling | seconds | out MP/s | RSS before MB | peak RSS MB | peak − before MB | MB per input MP | "
                  "input MP that fits* | meets target |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        for r in lg:
            how = "default tile" if r["tile"] is None else ("untiled" if r["tile"] == 0 else f"tile {r['tile']}")
            if "error" in r:
                lines.append(f"| {how} | error: {r['error']} | | | | | | | |")
                continue
            lines.append(f"| {how} | {r['seconds']:.1f} | {r['mp_per_s']:.2f} | {r['rss_before_mb']:.0f} | "
                         f"{r['peak_mb']:.0f} | {r['peak_delta_mb']:.0f} | {r['growth_mb_per_input_mp']:.0f} | "
                         f"{_fmt(r.get('max_input_mp_in_available'), '.1f')} | {'yes' if r['meets_target'] else 'no'} |")
    if lg:
        avail = next((r.get("mem_available_mb") for r in lg if r.get("mem_available_mb")), None)
        lines += ["", f"\\* peak growth extrapolated linearly to the memory available at the run "
                      f"({avail or 0:.0f} MB); a tiled run's growth is mostly its output, an untiled run's the network's "
                      "full-size feature maps"]
    th = result.get("threads", [])
    if th:
        lines += ["", "### Threads, quiet and beside a busy process per core (seconds per call)", "",
                  "| task | threads | quiet | contended |", "|---|---:|---:|---:|"]
        cells: dict[tuple[str, int], dict[str, str]] = {}
        for r in th:
            cells.setdefault((r["task"], r["threads"]), {})[r["load"]] = (
                f"error: {r['error']}" if "error" in r else f"{r['s_per_call']:.3f}")
        for (task_, n), c in cells.items():
            lines.append(f"| {task_} | {n} | {c.get('quiet', '')} | {c.get('contended', '')} |")
    tg = result.get("targets", [])
    if tg:
        lines += ["", "### Targets", ""]
        for t in tg:
            mark = "n/a" if t["met"] is None else ("met" if t["met"] else "MISSED")
            lines.append(f"- {t['target']}: {t['value']} — **{mark}**")
    notes = list(result.get("notes", []))
    how = {r.get("peak_how") for part in ("sr", "inpaint", "large") for r in result.get(part, []) if r.get("peak_how")}
    notes.append("peak MB = growth of resident memory during the calls (" + ", ".join(sorted(how)) + ")"
                 if how else "")
    peaks = env.get("peaks") or {}
    if peaks.get("how"):
        notes.append("GFLOP/s = out MP/s × the model's convolution FLOPs per output pixel (forward hooks); peaks: "
                     f"{peaks['how']} = {_fmt(peaks.get('fp32'), '.0f')} / {_fmt(peaks.get('bf16'), '.0f') or '–'} "
                     "GFLOP/s (restore.bench.cpu_peaks; nominal clock, an estimate)")
    notes.append("speed vs ours > 1 = faster than our model; mem vs ours < 1 = less memory; MP/CPU-s and CPU-s use "
                 "the worker's process CPU time (all its threads), which other load inflates less than wall time")
    lines += ["", *[f"_{n}_" for n in notes if n]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "_worker":
        sys.exit(_worker_main(sys.argv[2:]))
    sys.exit("usage: restore bench …  (this file runs directly only as a benchmark worker)")
