"""Inference engine: model cache (blends and ONNX Runtime sessions too), exact tiled SR (abutting tiles, each cut
with the network's receptive radius of real context), crop-around-hole inpainting.

The contract every network follows here (as spandrel's): input ``(B, C, H, W)`` float in [0, 1], RGB; the
engine cuts tiles or crops with enough context, runs under ``torch.inference_mode`` at the resolved precision
(:mod:`restore.devices`), keeps the valid part and clamps.
"""
from __future__ import annotations

import threading
import weakref
from functools import lru_cache
from typing import Any, Callable

import numpy as np
import torch

from restore.devices import INT8_TORCH_ERROR, autocast, cpu_has_vnni, env_precision, pick_device, resolve_precision
from restore.errors import InputError, ModelError
from restore.catalogue import BACKENDS
from restore.models.descriptor import ModelDescriptor, describe
from restore.pixels import store

#: default SR tile (input pixels per side) and context margin around it; a speed setting only (tiled output equals
#: untiled). The CPU tiles come from benchmarks/tune_tiles.py: narrow networks (first layer ≤ NARROW_WIDTH
#: channels) get their own; the figures behind them are in docs/BENCHMARKS.md
DEFAULT_TILE = {"cpu": 384, "cuda": 512, "mps": 384}
NARROW_CPU_TILE, NARROW_WIDTH = 256, 16
#: ONNX Runtime's tile: larger than PyTorch's, as each new input shape costs it a re-plan (docs/BENCHMARKS.md)
ORT_TILE = 512
TILE_MARGIN = 16
#: inpainting runs on crops around the holes; a crop larger than this (pixels) is processed in pieces
MAX_INPAINT_PIXELS = {"cpu": 4_000_000, "cuda": 16_000_000, "mps": 8_000_000}
INPAINT_CONTEXT = 96
#: separate hole crops are replaced by their bounding box when they cover at least this fraction of it
MERGE_FRACTION = 0.5


_cache_lock = threading.Lock()


@lru_cache(maxsize=8)
def _cached_model(key: str, device: str) -> ModelDescriptor:
    from restore.weights import load_model

    return load_model(key, device=device).to(memory_format=torch.channels_last)


def get_model(model: Any, device: str | torch.device = "auto") -> ModelDescriptor:
    """A ready (eval, on device, channels-last) network's descriptor from a name, a path, a module or a
    descriptor; names and paths are loaded once and cached."""
    dev = pick_device(device)
    if isinstance(model, (torch.nn.Module, ModelDescriptor)):
        net = describe(model)
        if _ready(net.module, dev):  # a batch passes the same loaded model for every file: nothing to move
            return net
        # channels-last: oneDNN's convolutions run fastest in it on CPU (docs/BENCHMARKS.md); eval mode, or it
        # would be moved again on every call
        net = net.to(dev, memory_format=torch.channels_last)
        net.module.eval()
        return net
    with _cache_lock:
        return _cached_model(str(model), str(dev))


def _ready(module: torch.nn.Module, dev: torch.device) -> bool:
    """Already on ``dev`` in eval mode with channels-last convolution weights (what ``get_model`` makes)."""
    if module.training:
        return False
    for p in module.parameters():
        if p.device.type != dev.type or (dev.index is not None and p.device.index != dev.index):
            return False
        if p.dim() == 4 and not p.is_contiguous(memory_format=torch.channels_last):
            return False
    return True


@lru_cache(maxsize=4)
def _cached_blend(a: str, b: str, t: float, device: str) -> ModelDescriptor:
    from restore.weights import blend_models

    return blend_models(a, b, t, device=device).to(memory_format=torch.channels_last)


def blended_model(a: str, b: str, t: float, device: str | torch.device = "auto") -> ModelDescriptor:
    """``(1 − t)·a + t·b`` weight by weight (:func:`restore.weights.blend_models`), cached like named models."""
    dev = pick_device(device)
    with _cache_lock:
        return _cached_blend(a, b, float(t), str(dev))


class OrtSR(torch.nn.Module):
    """An SR network exported to ONNX (:func:`restore.export.onnx_bytes`, or quantised to int8 by
    :func:`restore.export.cached_int8_bytes`) and run by ONNX Runtime's CPU provider, as the module of the
    network's own descriptor (:func:`ort_model`), so tiling and conversion are the same code path as for PyTorch.

    Shape: ``(B, 3, H, W)`` → ``(B, 3, H·s, W·s)`` float32, already clamped.
    """

    def __init__(self, net: ModelDescriptor, int8: bool = False) -> None:
        super().__init__()
        try:
            import onnxruntime as ort
        except ImportError:
            raise InputError("the onnxruntime backend needs ONNX Runtime: pip install 'restore[onnx]'") from None
        from restore.export import cached_int8_bytes, onnx_bytes

        so = ort.SessionOptions()
        so.intra_op_num_threads = torch.get_num_threads()
        so.inter_op_num_threads = 1
        data = cached_int8_bytes(net) if int8 else onnx_bytes(net)
        self.session = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.session.run(["output"], {"image": np.ascontiguousarray(x.float().cpu().numpy())})[0]
        return torch.from_numpy(y)


def ort_model(net: ModelDescriptor, int8: bool = False) -> ModelDescriptor:
    """``net`` run by ONNX Runtime, in float32 or quantised to int8; same contract."""
    return net.with_module(OrtSR(net, int8), cpu_bf16=False,
                           metadata={**net.metadata, "backend": "onnxruntime", "precision": "int8" if int8 else "fp32"})


#: ONNX Runtime versions of loaded networks, by the torch module they were made from (a batch passes the same
#: loaded descriptor for every file: exporting, quantising and planning once, not once per file)
_ort_versions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _ort_for(net: ModelDescriptor, int8: bool) -> ModelDescriptor:
    # the parameters' version counters move with every in-place change: weights trained further since are redone
    weights = tuple(p._version for p in net.module.parameters())
    with _cache_lock:
        versions = {k: v for k, v in _ort_versions.get(net.module, {}).items() if k[1] == weights}
        if (int8, weights) not in versions:
            versions[(int8, weights)] = ort_model(net, int8)
        _ort_versions[net.module] = versions
        return versions[(int8, weights)]


def is_narrow(net: ModelDescriptor) -> bool:
    """A narrow network (first convolution ≤ :data:`NARROW_WIDTH` channels, as ``sr-fast-x4``): overhead- and
    memory-bound in PyTorch on CPU, where smaller tiles and ONNX Runtime pay."""
    first = next((m for m in net.module.modules() if isinstance(m, torch.nn.Conv2d)), None)
    return first is not None and first.out_channels <= NARROW_WIDTH


def resolve_backend(backend: str, precision: str) -> str:
    """``auto`` → ``onnxruntime`` for int8 (ONNX Runtime's quantised model), ``torch`` otherwise (whether
    ``precision="auto"`` means int8 is :func:`auto_int8`'s to say, in :func:`sr_runner`). Float32 stays on
    PyTorch: float32 ONNX Runtime only wins for narrow networks on tiny inputs (docs/BENCHMARKS.md). Other values
    are returned as they are.

    Raises:
        InputError: an unknown backend, or int8 asked of PyTorch.
    """
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if precision == "int8" and backend == "torch":
        raise InputError(INT8_TORCH_ERROR)
    if backend != "auto":
        return backend
    return "onnxruntime" if precision == "int8" else "torch"


def auto_int8(net: ModelDescriptor, dev: torch.device) -> bool:
    """Whether ``precision="auto"`` (with ``backend="auto"``) runs an SR network as int8 on ONNX Runtime: for a
    model whose file declares ``cpu_int8`` in its metadata, on a CPU with int8 dot products
    (:func:`restore.devices.cpu_has_vnni`), with ONNX Runtime installed.

    A file declares it where int8 was measured to cost nothing a user could see: PSNR-Y within 0.05 dB of float32
    on the held-back training images (``scripts/declare_int8.py --max-loss``; the shipped files lose 0.005–0.041)
    and flat areas nearly untouched (quantised activations give each output phase its own offset on a flat
    field, so some pixels round one grey level off in a periodic pattern: ``benchmarks/flat_fields.py``). The
    bicubic skip, the upsampler's convolution and the add feeding it stay float32
    (:func:`restore.export.float_skip_nodes`, :func:`restore.export.float_tail_nodes`). The measurements are in
    the file's metadata and in docs/BENCHMARKS.md. A model without the declaration (trained, blended, or another
    architecture) follows :func:`restore.devices.resolve_precision`'s rule.
    """
    if dev.type != "cpu" or net.task != "sr" or isinstance(net.module, OrtSR):
        return False
    return bool(net.metadata.get("cpu_int8")) and cpu_has_vnni() and _have_onnxruntime()


@lru_cache(maxsize=1)
def _have_onnxruntime() -> bool:
    """ONNX Runtime is installed (looked up once: every SR call asks, and without it the lookup scans sys.path)."""
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def sr_runner(model: Any, dev: torch.device, precision: str = "auto", backend: str = "auto",
              scale: int | None = None) -> tuple[ModelDescriptor, torch.dtype | None]:
    """What runs an SR model: the descriptor (PyTorch, or its ONNX Runtime version) and the dtype to autocast
    to (``None`` = float32, and always for ONNX Runtime). ``precision="auto"`` with ``backend="auto"`` is int8
    on ONNX Runtime where :func:`auto_int8` says so; otherwise :func:`resolve_backend` and
    :func:`restore.devices.resolve_precision` decide. The model is checked (an SR model, of ``scale`` when
    given) before any ONNX export or quantisation is paid for.

    Raises:
        InputError: an unknown precision or backend, a combination that cannot run, or the wrong scale.
        ModelError: not a super-resolution model.
    """
    loaded = get_model(model, dev)  # once: a batch calls this for every file
    if loaded.task != "sr":
        raise ModelError(f"model {loaded.name!r} is not a super-resolution model")
    if scale is not None and loaded.scale != scale:
        raise InputError(f"model {loaded.name!r} upscales ×{loaded.scale}, not ×{scale}")
    if env_precision(precision) == "auto" and backend == "auto" and auto_int8(loaded, dev):
        precision = "int8"
    backend = resolve_backend(backend, precision)
    int8 = precision == "int8"
    net = loaded if backend == "torch" else backend_model(loaded, backend, dev, int8=int8)
    return net, (None if int8 else resolve_precision(precision, dev, net.cpu_bf16))


def backend_model(model: Any, backend: str, dev: torch.device, *, int8: bool = False) -> ModelDescriptor:
    """``model`` (name, path or module) ready to run on ``backend`` (``torch`` | ``onnxruntime``; ``auto`` is
    resolved by :func:`resolve_backend` first).

    Raises:
        InputError: an unknown backend, onnxruntime off the CPU or not installed.
    """
    if backend not in BACKENDS or backend == "auto":
        raise InputError(f"unknown backend {backend!r}; choose torch or onnxruntime")
    if backend == "torch":
        return get_model(model, dev)
    if dev.type != "cpu":
        raise InputError("the onnxruntime backend runs on the CPU; use --device cpu or the torch backend")
    net = describe(model) if isinstance(model, (torch.nn.Module, ModelDescriptor)) else None
    if net is not None and isinstance(net.module, OrtSR):
        return net
    # loaded (and cached by name) as for the torch backend, so load errors are the same
    return _ort_for(get_model(model if net is None else net, dev), int8)


def to_tensor(f: np.ndarray, device: torch.device) -> torch.Tensor:
    """``H×W×C`` float32 → ``(1, C, H, W)`` in channels-last memory format: a view of the (contiguous)
    HWC array, since HWC is NHWC's layout, and the layout oneDNN's convolutions run fastest in."""
    # the batch axis is added before the permute, so its stride is H·W·C: added after, it would be C, an odd
    # stride with which F.pad returns NCHW and the SR nets' skip convolution runs several times slower
    return torch.from_numpy(np.ascontiguousarray(f)).unflatten(0, (1, f.shape[0])).permute(0, 3, 1, 2).to(device)


def to_array(t: torch.Tensor) -> np.ndarray:
    """``(1, C, H, W)`` → ``H×W×C`` float32 clamped to [0, 1]."""
    return t[0].float().clamp_(0, 1).permute(1, 2, 0).cpu().numpy()


def _spans(n: int, tile: int) -> list[tuple[int, int]]:
    """Abutting spans covering ``[0, n)``, as few as fit in ``tile`` and of near-equal length (equal sizes
    batch together, and no sliver tile pays a whole margin for a few pixels)."""
    k = -(-n // max(1, tile))
    bounds = [round(i * n / k) for i in range(k + 1)]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def run_tiled(model: ModelDescriptor | torch.nn.Module, x: np.ndarray, scale: int, tile: int, dev: torch.device, *,
              margin: int | None = None, batch: int | None = None, out: np.ndarray | None = None,
              dtype: torch.dtype | None = None) -> np.ndarray:
    """Run an SR model over abutting tiles of ``x`` (``H×W×3`` float32) and write each result into ``out``.

    Each tile is cut with ``margin`` pixels of real context on every side (default: the model's receptive
    radius), so the part kept is exactly what the untiled network computes — no seams and no feathered
    overlap to recompute. Results are converted straight into ``out`` (any dtype :func:`restore.pixels.store`
    takes; one channel = the mean of RGB), so memory is the output plus a tile (times ``batch``).
    Same-size tiles run ``batch`` at a time (default 8 on GPU, where one call per tile would starve it;
    1 on CPU). ``dtype``: the reduced precision to autocast to (:func:`resolve_precision`; ``None`` = float32).

    Shape:
        ``x (H, W, 3)`` → ``out (H*scale, W*scale, C)``, C = 3 or 1; float32 ``(H*scale, W*scale, 3)`` if
        ``out`` is not given.
    """
    h, w = x.shape[:2]
    s = scale
    desc = describe(model)
    margin = desc.receptive_radius if margin is None else margin
    g = desc.grid  # context windows start on the network's grid (and end on it, or at the image's end)
    if batch is None:
        batch = 8 if dev.type == "cuda" else 1
    if out is None:
        out = np.empty((h * s, w * s, 3), np.float32)
    if out.shape[:2] != (h * s, w * s) or out.shape[2] not in (1, 3):
        raise ValueError(f"run_tiled: out has shape {out.shape}, needs ({h * s}, {w * s}, 1 or 3)")
    # group tiles by their input shape (with context) so same-size tiles can share one forward pass
    groups: dict[tuple[int, int], list[tuple[int, int, int, int, int, int]]] = {}
    for (y0, y1) in _spans(h, tile):
        for (x0, x1) in _spans(w, tile):
            py0, py1 = max(0, y0 - margin) // g * g, min(h, -(-(y1 + margin) // g) * g)
            px0, px1 = max(0, x0 - margin) // g * g, min(w, -(-(x1 + margin) // g) * g)
            groups.setdefault((py1 - py0, px1 - px0), []).append((y0, y1, x0, x1, py0, px0))
    with torch.inference_mode(), autocast(dev, dtype):
        for (th, tw), specs in groups.items():
            for i in range(0, len(specs), batch):
                chunk = specs[i:i + batch]
                ts = [to_tensor(_on_grid(x[py0:py0 + th, px0:px0 + tw], desc.multiple), dev)
                      for (*_, py0, px0) in chunk]
                # torch.cat returns NCHW whatever its inputs: restore channels-last for the convolutions
                t = ts[0] if len(ts) == 1 else torch.cat(ts).contiguous(memory_format=torch.channels_last)
                res = model(t).float().clamp_(0, 1).permute(0, 2, 3, 1).cpu().numpy()
                for r, (y0, y1, x0, x1, py0, px0) in zip(res, chunk):
                    r = r[(y0 - py0) * s:(y1 - py0) * s, (x0 - px0) * s:(x1 - px0) * s]
                    if out.shape[2] == 1:
                        r = r.mean(axis=2, keepdims=True)
                    store(out[y0 * s:y1 * s, x0 * s:x1 * s], r)
    return out


def _on_grid(a: np.ndarray, g: int) -> np.ndarray:
    """A tile padded at its end (edge values) to multiples of ``g`` (the network's ``multiple``), as the network
    pads the image's end itself: the network (or its ONNX export) then only ever sees whole unshuffle cells."""
    ph, pw = -a.shape[0] % g, -a.shape[1] % g
    return np.pad(a, ((0, ph), (0, pw), (0, 0)), mode="edge") if ph or pw else a


class SelfEnsemble(torch.nn.Module):
    """The mean of an SR network's outputs over the 8 flips and rotations of its input (each output turned
    back), as EDSR's "+" models. A dihedral transform keeps every pixel's neighbourhood within the same
    radius, so the receptive radius, and with it exact tiling, is the network's own. Costs 8 forward passes.

    Shape: ``(B, 3, H, W)`` → ``(B, 3, H·s, W·s)`` float32.
    """

    def __init__(self, net: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        acc = None
        for k in range(4):
            for flip in (False, True):
                t = torch.rot90(x, k, (2, 3))
                t = t.flip(3) if flip else t
                # a rotated / flipped view is not channels-last: make it so for the convolutions
                y = self.net(t.contiguous(memory_format=torch.channels_last)).float()
                y = torch.rot90(y.flip(3) if flip else y, -k, (2, 3))
                acc = y if acc is None else acc.add_(y)
        return acc.div_(8)


def ensembled(net: ModelDescriptor) -> ModelDescriptor:
    """``net`` averaged over the 8 flips and rotations (:class:`SelfEnsemble`); same contract.

    Raises:
        InputError: a network that knows the JPEG block grid (its ``grid`` coarser than its ``multiple``):
            flips and rotations move the grid under it.
    """
    if net.grid != net.multiple:
        raise InputError(f"ensemble: {net.name} knows where the JPEG blocks are, which flips and rotations "
                         "would move; run it without ensemble")
    return net.with_module(SelfEnsemble(net.module), metadata={**net.metadata, "ensemble": 8})


class ConditionedSR(torch.nn.Module):
    """A quantisation-aware SR network (``cond_dim`` > 0) with its condition fixed — the quality the input
    states (:mod:`restore.compression`), ``None`` for uncompressed — and its ``strength``: for a gated network,
    the share of its learned change it applies (its weights move); otherwise (a ×1 restoration model)
    ``x + strength·(net(x) − x)``, pointwise in the input, so tiling stays exact. The condition's scales and
    shifts are folded into the convolutions (:meth:`restore.models.sr.SRNet.folded`). Its forward takes the
    image alone, so ONNX export and the tiled engine see an ordinary network.

    Shape: as the network's.
    """

    def __init__(self, net: torch.nn.Module, quality: float | None, strength: float = 1.0) -> None:
        super().__init__()
        from restore.compression import condition_vector

        cond = condition_vector(quality)[None].to(next(net.parameters()).device)
        if getattr(net, "gated", False):  # the condition and the strength set its weights, once
            net, strength = net.specialised(cond, strength), 1.0
        if getattr(net, "cond_dim", 0) and hasattr(net, "folded"):  # and no modulation left to run
            net = net.folded(cond) or net
        self.net, self.quality, self.strength = net, quality, float(strength)
        self.register_buffer("cond", cond)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net(x, self.cond.expand(x.shape[0], -1)) if getattr(self.net, "cond_dim", 0) else self.net(x)
        if self.strength != 1.0:  # between the input and the output as strength 1 gives it (clamped)
            y = torch.lerp(x.float(), y.float().clamp(0, 1), self.strength)
        return y


#: the conditioned versions of loaded networks, by module (a batch asks for the same few qualities again)
_conditioned: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def with_condition(model: Any, quality: float | None, dev: torch.device, strength: float = 1.0) -> Any:
    """``model`` told what its input states (``quality``: :func:`restore.compression.check_quality`) and, for a
    ×1 restoration model, at ``strength``; a network without a condition gets only the strength (a blind
    model ignores the quality). Returned as it was when there is nothing to change."""
    net = get_model(model, dev)
    if not getattr(net.module, "cond_dim", 0) and strength == 1.0:
        return model
    key = (quality, float(strength))
    with _cache_lock:
        versions = _conditioned.setdefault(net.module, {})
        if key not in versions:
            note = {"jpeg_quality": quality} if getattr(net.module, "cond_dim", 0) else {}
            if strength != 1.0:
                note["strength"] = strength
            versions[key] = net.with_module(ConditionedSR(net.module, quality, strength),
                                            metadata={**net.metadata, **note})
        return versions[key]


def grey_as_colour(f: np.ndarray, known: np.ndarray | None = None) -> bool:
    """Whether an ``H×W×3`` image is grey stored as colour: its three channels equal at every pixel (of ``known``,
    ``H×W`` bool, if given: an inpainting's hole pixels are never read), as a black and white photo saved as RGB,
    or its JPEG decoded. The networks run it as grey — their three output channels averaged into one — and the
    result is copied to the three channels: a colour network's channels differ on a grey input by a few levels
    (the ×1 model's by up to 6 on Set14's grey photos), which would tint it."""
    if f.ndim != 3 or f.shape[2] != 3:
        return False
    step = max(1, f.shape[0] // 16)
    # a look at a few rows first: a colour image almost always shows it there
    for rows in (slice(None, None, step), slice(None)):
        a = f[rows]
        off = (a[:, :, 0] != a[:, :, 1]) | (a[:, :, 1] != a[:, :, 2])
        if (off & known[rows] if known is not None else off).any():
            return False
    return True


def upscale_array(f: np.ndarray, scale: int, model: Any, *, device: str = "auto", tile: int | None = None,
                  out: np.ndarray | None = None, precision: str = "auto", backend: str = "auto",
                  ensemble: bool = False, jpeg_quality: float | None = None, strength: float = 1.0) -> np.ndarray:
    """Upscale float32 ``H×W×C`` (C = 1 or 3) in [0, 1] with an SR model into ``out`` (float32 if not
    given; any dtype :func:`restore.pixels.store` takes); gray runs as RGB and is averaged back, and so does grey
    stored as colour (:func:`grey_as_colour`), copied back to its three channels.
    ``precision``: see :func:`resolve_precision` (ONNX Runtime runs float32, or int8); ``backend``: see
    :func:`resolve_backend`; ``ensemble``: average over the 8 flips and rotations (:class:`SelfEnsemble`);
    ``jpeg_quality`` and ``strength``: see :func:`with_condition` (scale 1 is restoration at the same size)."""
    dev = pick_device(device)
    model = with_condition(model, jpeg_quality, dev, strength)
    net, dtype = sr_runner(model, dev, precision, backend, scale)
    if ensemble:
        net = ensembled(net)
    h, w, c = f.shape
    x = np.repeat(f, 3, axis=2) if c == 1 else f
    if out is None:
        out = np.empty((h * scale, w * scale, c), np.float32)
    grey = out.shape[2] == 3 and grey_as_colour(f)
    dst = out[:, :, :1] if grey else out
    if tile is None:
        if isinstance(net.module, OrtSR):
            tile = ORT_TILE  # fewer input shapes: ONNX Runtime re-plans per shape
        else:
            tile = NARROW_CPU_TILE if dev.type == "cpu" and is_narrow(net) else DEFAULT_TILE.get(dev.type, 256)
            # a body on the pixel-unshuffled input sees 1/multiple² of a tile: as many cells as an SR model's
            # (a ×1 model at 768 px ran 1.25× its 384-px speed, the context margin being a smaller share)
            tile *= net.multiple
    if tile < 0:
        raise InputError("tile must be ≥ 0 (0 = untiled)")
    if tile == 0:
        tile = max(h, w)
    tile = max(tile, 2 * TILE_MARGIN)
    while True:
        try:
            run_tiled(net, x, scale, tile, dev, out=dst, dtype=dtype)
            break
        except torch.cuda.OutOfMemoryError:
            # retry with smaller tiles rather than fail: the output is the same up to rounding
            torch.cuda.empty_cache()
            if tile <= 64:
                raise
            tile //= 2
    if grey:
        out[:, :, 1:] = out[:, :, :1]
    return out


# --- inpainting --------------------------------------------------------------------------------------------

def hole_boxes(holes: np.ndarray, context: int) -> list[tuple[int, int, int, int]]:
    """Boxes ``(y0, y1, x0, x1)`` around groups of holes, each grown by ``context`` pixels and merged
    where they overlap, so each box holds its holes and the context the network needs."""
    import cv2

    h, w = holes.shape
    n, _lab, stats, _c = cv2.connectedComponentsWithStats(holes.astype(np.uint8), connectivity=8)
    boxes = []
    for i in range(1, n):
        x, y, bw, bh = stats[i, :4]
        boxes.append([max(0, y - context), min(h, y + bh + context), max(0, x - context), min(w, x + bw + context)])
    merged = True
    while merged:
        merged = False
        out: list[list[int]] = []
        for b in boxes:
            for o in out:
                if b[0] < o[1] and o[0] < b[1] and b[2] < o[3] and o[2] < b[3]:
                    o[:] = [min(o[0], b[0]), max(o[1], b[1]), min(o[2], b[2]), max(o[3], b[3])]
                    merged = True
                    break
            else:
                out.append(list(b))
        boxes = out
    if len(boxes) > 1:
        # many crops cost more than one that holds them all when they cover most of it (per-call overhead,
        # and each crop is padded to the network's multiple): then run the bounding box once
        y0, y1 = min(b[0] for b in boxes), max(b[1] for b in boxes)
        x0, x1 = min(b[2] for b in boxes), max(b[3] for b in boxes)
        if sum((b[1] - b[0]) * (b[3] - b[2]) for b in boxes) >= MERGE_FRACTION * (y1 - y0) * (x1 - x0):
            boxes = [[y0, y1, x0, x1]]
    return [tuple(b) for b in boxes]  # type: ignore[misc]


class Prefill(torch.nn.Module):
    """The classical pre-fill as an inpainting "model": the ``pushpull`` method, and a CNN's own input when
    given that CNN (``Prefill(net)``), so both run through the same crops of :func:`inpaint_array` and a
    network's gain over its pre-fill is measured on identical inputs.

    Shape: image ``(B, C, H, W)``, holes ``(B, 1, H, W)`` → ``(B, C, H, W)`` float32.
    """

    task = "inpaint"

    def __init__(self, of: ModelDescriptor | None = None) -> None:
        super().__init__()
        from restore.fill import FillConfig

        self.fill = getattr(of.module if of is not None else None, "fill", None) or FillConfig()

    @classmethod
    def describe(cls, of: ModelDescriptor | None = None) -> ModelDescriptor:
        """The pre-fill (of ``of``, else the default one) as a network descriptor."""
        return describe(cls(of), name=f"{of.name} pre-fill" if of is not None else "pushpull")

    def forward(self, image: torch.Tensor, holes: torch.Tensor) -> torch.Tensor:
        from restore.fill import prefill

        return prefill(image, (holes > 0.5).float(), self.fill)


def inpaint_array(f: np.ndarray, holes: np.ndarray, model: Any, *, device: str = "auto",
                  precision: str = "auto") -> np.ndarray:
    """Inpaint float32 ``H×W×C`` (C = 1 or 3) with a CNN (or :class:`Prefill`), one crop around each group of
    holes (as IOPaint's crop strategy), so cost follows the holes, not the image. Known pixels are returned
    untouched; grey stored as colour (:func:`grey_as_colour`) is filled as grey. ``precision``: see
    :func:`resolve_precision`."""
    dev = pick_device(device)
    net = get_model(model, dev)
    dtype = resolve_precision(precision, dev, net.cpu_bf16)
    if net.task != "inpaint":
        raise ModelError(f"model {net.name!r} is not an inpainting model")
    gray, grey = f.shape[2] == 1, grey_as_colour(f, ~holes)
    x = np.repeat(f, 3, axis=2) if gray else f
    out = x.copy()
    limit = MAX_INPAINT_PIXELS.get(dev.type, 4_000_000)
    with torch.inference_mode(), autocast(dev, dtype):
        for (y0, y1, x0, x1) in hole_boxes(holes, INPAINT_CONTEXT):
            if (y1 - y0) * (x1 - x0) > limit:
                raise InputError(
                    f"a hole region of {x1 - x0}×{y1 - y0} px exceeds the {limit // 1_000_000} MP inpainting "
                    "limit on this device; split the mask or use a smaller image"
                )
            crop = to_tensor(out[y0:y1, x0:x1], dev)
            m = torch.from_numpy(holes[y0:y1, x0:x1].astype(np.float32))[None, None].to(dev)
            res = to_array(net(crop, m))
            sel = holes[y0:y1, x0:x1]
            out[y0:y1, x0:x1][sel] = res[sel]
    if grey:
        return np.repeat(out.mean(axis=2, keepdims=True), 3, axis=2)
    return out.mean(axis=2, keepdims=True) if gray else out
