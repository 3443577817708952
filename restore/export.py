"""ONNX export of the SR networks, so other runtimes (ONNX Runtime, chaiNNer, anything that reads ONNX) can run
them.

The graph is the network's own contract: input ``image`` ``(N, 3, H, W)`` float32 RGB in [0, 1], any H and W
(dynamic axes); output ``output`` ``(N, 3, H·s, W·s)`` float32, clamped to [0, 1]. No tiling or padding is
inside: a caller tiles a large image with :attr:`receptive_radius` pixels of context per side, as
:func:`restore.engine.run_tiled` does. The file's ``metadata_props`` carry ``task``, ``scale``,
``receptive_radius``, ``name`` and the weights' whole ``restore`` metadata (config, training provenance,
scores) as JSON.

Opset :data:`OPSET` (the convolution, pad, pixel-shuffle (``DepthToSpace``) and clip operators all date from
opset 11 or earlier; 17 is what ONNX Runtime ≥ 1.13 and every current tool read).
"""
from __future__ import annotations

import contextlib
import io as _io
import json
import logging
import warnings
from pathlib import Path
from typing import Any

from restore.errors import InputError, ModelError

OPSET = 17


def onnx_bytes(net: Any) -> bytes:
    """A loaded SR network (a descriptor, or a module of this project) as an ONNX model, serialised (see the
    module docstring); its metadata goes with it.

    Raises:
        InputError: not a super-resolution model.
        ModelError: the onnx package is missing.
    """
    import torch

    from restore.models.descriptor import describe

    net = describe(net)
    info = dict(net.metadata)
    if net.task != "sr":
        raise InputError(f"{net.name}: only super-resolution models are exported to ONNX")
    module = net.module

    class Contract(torch.nn.Module):
        """The network plus the clamp of the inference contract."""

        def __init__(self) -> None:
            super().__init__()
            self.net = module

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x).clamp(0, 1)

    wrapped = Contract().eval()
    buf = _io.BytesIO()
    example = torch.rand(1, 3, 32, 32)
    try:
        # the TorchScript exporter (dynamo=False): it handles dynamic H/W of this plain conv graph directly and
        # needs only the onnx package; its constant-folding notes are noise here
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(wrapped, (example,), buf, input_names=["image"], output_names=["output"],
                              dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                                            "output": {0: "batch", 2: "out_height", 3: "out_width"}},
                              opset_version=OPSET, dynamo=False)
        import onnx
    except ImportError as exc:  # torch's exporter needs the onnx package
        raise ModelError(f"ONNX export needs the onnx package ({exc}); pip install 'restore[onnx]'") from None
    proto = fold_constants(onnx.load_from_string(buf.getvalue()))
    meta = {"task": "sr", "scale": str(net.scale), "receptive_radius": str(net.receptive_radius),
            "name": net.name, "input": "image (N, 3, H, W) float32 RGB in [0, 1]",
            "output": "output (N, 3, H*scale, W*scale) float32 in [0, 1]",
            "restore": json.dumps(info, sort_keys=True)}
    for k, v in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    proto.producer_name = "restore"
    proto.doc_string = f"{net.name}: {info.get('description', '')}"
    return proto.SerializeToString()


def fold_constants(proto: Any) -> Any:
    """``proto`` with every value that depends on constants only computed once and stored as an initializer.

    The TorchScript exporter writes the replicate padding's pad widths as a small shape-computing subgraph
    (ConstantOfShape, Concat, Reshape, Slice, Transpose, Cast) although they are constants; runtimes that plan
    a graph from static shapes, as OpenCV's DNN module does, refuse it. Folded, the graph is convolutions,
    element-wise operators, one Pad with constant widths and one DepthToSpace.
    """
    import onnx
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator

    g = proto.graph
    const = {i.name for i in g.initializer}
    foldable = []
    for node in g.node:
        if all(not i or i in const for i in node.input):
            foldable.append(node)
            const.update(node.output)
    folded_out = {o for n in foldable for o in n.output}
    needed = sorted({i for n in g.node if n not in foldable for i in n.input if i in folded_out}
                    | {o.name for o in g.output if o.name in folded_out})
    computed = [n for n in foldable if n.op_type != "Constant"]
    if not computed or not needed:
        return proto
    sub = onnx.helper.make_model(
        onnx.helper.make_graph(foldable, "constants", [], [onnx.helper.make_tensor_value_info(n, 0, None)
                                                           for n in needed], initializer=list(g.initializer)),
        opset_imports=proto.opset_import)
    values = ReferenceEvaluator(sub).run(None, {})
    keep = [n for n in g.node if n not in foldable]
    del g.node[:]
    g.node.extend(keep)
    g.initializer.extend(numpy_helper.from_array(v, name) for name, v in zip(needed, values))
    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    live = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(live)
    return proto


#: scikit-image's bundled photographs (read offline, deterministic, never a benchmark set): what the int8
#: activation ranges are calibrated on
CALIBRATION_IMAGES = ("astronaut", "coffee", "chelsea", "rocket", "camera")


def calibration_inputs(scale: int, crop: int = 192, jpeg_quality: float | None = None) -> list[Any]:
    """Inputs for int8 calibration: four ``crop``² corners of each of :data:`CALIBRATION_IMAGES`, downscaled
    by the published MATLAB-bicubic degradation, or at ×1 (a restoration model) compressed at the stated
    ``jpeg_quality`` when there is one (what that model is given: its activations' ranges are those of JPEG
    inputs); ``(1, 3, crop/scale, crop/scale)`` float32 in [0, 1]."""
    import numpy as np
    import skimage.data

    from restore.degradations import degrade, jpeg

    out = []
    c = crop // scale * scale
    for name in CALIBRATION_IMAGES:
        img = getattr(skimage.data, name)()
        img = np.repeat(img[:, :, None], 3, axis=2) if img.ndim == 2 else img[:, :, :3]
        h, w = img.shape[:2]
        for y, x in ((0, 0), (0, w - c), (h - c, 0), (h - c, w - c)):
            lr = degrade(np.ascontiguousarray(img[y:y + c, x:x + c]), scale)
            if scale == 1 and jpeg_quality is not None:
                lr = jpeg(lr, int(round(jpeg_quality)))
            out.append(lr.transpose(2, 0, 1)[None].astype(np.float32) / 255)
    return out


def float_skip_nodes(proto: Any, parameters: set[str]) -> list[str]:
    """The nodes of an exported SR graph that carry the bicubic skip: each convolution whose weight is not one
    of the network's ``parameters`` (the skip's fixed kernel), what feeds it from the input, and the node that
    adds its output to the body's. Left in float32 by :func:`onnx_int8_bytes`, as autocast leaves them in
    bf16: the skip carries the whole image, and an 8-bit quantiser on it rounds every output pixel."""
    producer = {o: n for n in proto.graph.node for o in n.output}
    skip = [n for n in proto.graph.node if n.op_type == "Conv" and len(n.input) > 1 and n.input[1] not in parameters]
    out: list[str] = []
    todo = list(skip)
    while todo:  # the skip convolutions and everything upstream of them that is not a network layer
        n = todo.pop()
        if n.name in out:
            continue
        out.append(n.name)
        todo += [producer[i] for i in n.input if i in producer]
    # the add that joins the skip: the skip convolution's output, or at ×1 the image itself
    outs = {o for n in skip for o in n.output} | {i.name for i in proto.graph.input}
    out += [n.name for n in proto.graph.node if n.op_type == "Add" and outs & set(n.input)]
    return out


def float_tail_nodes(proto: Any, parameters: set[str]) -> list[str]:
    """The last convolution of an exported SR graph's residual branch (each convolution with a weight among the
    network's ``parameters`` whose output reaches the graph's output through no other such convolution: the
    upsampler's) and each add that feeds it (the body's global residual). Left in float32 by
    :func:`onnx_int8_bytes`: with them int8, the branch's end is a per-tensor 8-bit tensor on either side of that
    convolution — its input as wide as the body's widest channels, its output a residual of ±100 grey levels at
    edges, so about 0.8 level a step — and on a flat field each output phase's rounding error is one constant,
    snapped to whole steps, that no neighbouring pixel averages away: one pixel in scale² a level off."""
    params = set(parameters)
    producer = {o: n for n in proto.graph.node for o in n.output}
    layer = {n.name for n in proto.graph.node if n.op_type == "Conv" and len(n.input) > 1 and n.input[1] in params}
    last: list[str] = []
    todo, seen = [producer[o.name] for o in proto.graph.output if o.name in producer], set()
    while todo:  # upstream from the output, stopping at the first network layer on each path
        n = todo.pop()
        if n.name in seen:
            continue
        seen.add(n.name)
        if n.name in layer:
            last.append(n.name)
            continue
        todo += [producer[i] for i in n.input if i in producer]
    feeds = [producer[n.input[0]].name for n in proto.graph.node if n.name in last
             and n.input[0] in producer and producer[n.input[0]].op_type == "Add"]
    return last + [f for f in feeds if f not in last]


def learned_range_tensors(proto: Any, ranges: dict[str, list[float]]) -> dict[str, list[float]]:
    """The ONNX tensors of an exported SRNet graph that quantisation-aware training rounded
    (:class:`restore.qat.QuantAware`), each with the range it learned (``ranges``, by point): the head
    convolution's output (and, with a block grid, the add of its bias), each block's first convolution and the
    ReLU after it, its second convolution and the add that closes it, and the body tail's output. Found by the
    network's parameter names, whatever the wrappers around it are called."""
    import re

    consumers: dict[str, list[Any]] = {}
    for n in proto.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    out: dict[str, list[float]] = {}

    def after(tensor: str, op: str) -> Any:
        return next((c for c in consumers.get(tensor, []) if c.op_type == op), None)

    for n in proto.graph.node:
        if n.op_type != "Conv" or len(n.input) < 2:
            continue
        w, y = n.input[1], n.output[0]
        if re.search(r"(^|\.)head\.weight$", w) and "head" in ranges:
            out[y] = ranges["head"]
            grid = after(y, "Add")
            if grid is not None and "head_grid" in ranges:
                out[grid.output[0]] = ranges["head_grid"]
        elif re.search(r"(^|\.)body_tail\.weight$", w) and "tail" in ranges:
            out[y] = ranges["tail"]
        elif m := re.search(r"(^|\.)body\.(\d+)\.body\.(\d+)\.weight$", w):
            i, first = m.group(2), m.group(3) == "0"
            relu = after(y, "Relu") if first else None
            if first and relu is not None and f"act{i}" in ranges:
                out[y] = out[relu.output[0]] = ranges[f"act{i}"]
            elif not first and f"res{i}" in ranges:
                out[y] = ranges[f"res{i}"]
                add = after(y, "Add")
                if add is not None and f"add{i}" in ranges:
                    out[add.output[0]] = ranges[f"add{i}"]
    return out


def _need_onnxruntime() -> None:
    """Raise :class:`ModelError` (one line, the install hint) when ONNX Runtime or onnx is missing."""
    try:
        import onnx  # noqa: F401
        import onnxruntime.quantization  # noqa: F401
    except ImportError as exc:
        raise ModelError(f"int8 needs ONNX Runtime's quantisation tools ({exc}); pip install 'restore[onnx]'") from None


def onnx_int8_bytes(net: Any, fp32: bytes | None = None) -> bytes:
    """The network as int8 ONNX: ONNX Runtime's static quantisation (QDQ, per-channel int8 weights, uint8
    activations — the VNNI-friendly U8S8 layout), activation ranges calibrated on :func:`calibration_inputs`
    by ONNX Runtime's percentile method (a few outlier activations do not stretch the 8-bit range as they do
    min/max's). Float32 stay the bicubic skip and the add that joins it (:func:`float_skip_nodes`), and the
    residual branch's last convolution with the add that feeds it (:func:`float_tail_nodes`, one convolution
    in fifteen for the shipped networks: without it flat areas get a pattern of one-level dots). Chosen on the
    held-back training images and flat grey fields; what each choice cost is in docs/BENCHMARKS.md. ``fp32``:
    the network's :func:`onnx_bytes`, when the caller has them.

    Raises:
        ModelError: onnx / onnxruntime missing.
    """
    import tempfile

    import numpy as np

    from restore.models.descriptor import describe

    _need_onnxruntime()
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    net = describe(net)
    proto = onnx.load_from_string(fp32 if fp32 is not None else onnx_bytes(net))
    params = {f"net.{k}" for k, _ in net.module.named_parameters()}
    keep_float = float_skip_nodes(proto, params)
    keep_float += [n for n in float_tail_nodes(proto, params) if n not in keep_float]

    # a network trained for its int8 form (restore.qat) is rounded to the ranges it learned; the few tensors
    # outside them (the input image, the block-grid bias) are constant in range: one small input calibrates them
    learned = learned_range_tensors(proto, net.metadata.get("int8_ranges") or {})
    overrides = {t: [{"rmin": np.float32(lo), "rmax": np.float32(hi)}] for t, (lo, hi) in learned.items()}
    inputs = ([np.linspace(0, 1, 3 * 64 * 64, dtype=np.float32).reshape(1, 3, 64, 64)] if learned else
              calibration_inputs(net.scale, jpeg_quality=net.metadata.get("jpeg_quality")))

    class Reader:  # ONNX Runtime's CalibrationDataReader protocol
        def __init__(self) -> None:
            self.it = iter(inputs)

        def get_next(self) -> dict[str, Any] | None:
            x = next(self.it, None)
            return None if x is None else {"image": x}

    with tempfile.TemporaryDirectory(prefix="restore-int8-") as tmp:
        src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(proto.SerializeToString())
        # its advice to pre-process the model first (shape inference) goes to the root logger, and is noise here
        quiet = _DropAdvice()
        logging.getLogger().addFilter(quiet)
        try:
            with contextlib.redirect_stdout(_io.StringIO()):  # the percentile calibration prints its progress
                quantize_static(str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                                calibrate_method=CalibrationMethod.Percentile, nodes_to_exclude=keep_float,
                                extra_options={"TensorQuantOverrides": overrides} if overrides else {})
        finally:
            logging.getLogger().removeFilter(quiet)
        return dst.read_bytes()


#: bump when what :func:`onnx_int8_bytes` makes changes (calibration set, method, excluded nodes): old cache
#: entries are then never read again
INT8_RECIPE = "int8-qdq-u8s8-percentile-skipfp32-tailfp32-x1skip-x1jpegcal-learnedranges-v4"


def cache_dir() -> Path:
    """Where derived files (quantised models) are kept between runs: ``$RESTORE_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/restore``, else ``~/.cache/restore``."""
    import os

    env = os.environ.get("RESTORE_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "restore"


def cached_int8_bytes(net: Any) -> bytes:
    """:func:`onnx_int8_bytes`, kept in :func:`cache_dir` under a hash of the float32 graph (weights and
    metadata), ONNX Runtime's version and :data:`INT8_RECIPE`: calibrating takes seconds, which a one-photo
    run should not pay each time. Nothing is fetched: the file is made here from the shipped weights, and
    made again (silently) when the cache cannot be read or written, or holds something that is not ONNX.

    Raises:
        ModelError: onnx / onnxruntime missing.
    """
    import hashlib

    _need_onnxruntime()
    import onnx
    import onnxruntime

    from restore.models.descriptor import describe

    net = describe(net)
    fp32 = onnx_bytes(net)
    key = hashlib.sha256(fp32 + f"|{onnxruntime.__version__}|{INT8_RECIPE}".encode()).hexdigest()[:32]
    path = cache_dir() / "onnx" / f"{key}.onnx"
    try:
        data = path.read_bytes()
        onnx.load_from_string(data)  # a damaged file is made again, not handed to ONNX Runtime
        return data
    except Exception:  # noqa: BLE001 - unreadable or not an ONNX model: a cache miss
        pass
    data = onnx_int8_bytes(net, fp32)
    try:
        from restore.io import _atomic_write

        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, data, True)
    except OSError:  # a read-only home: the next run calibrates again
        pass
    return data


class _DropAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-process" not in record.getMessage()


def export_onnx(model: Any, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``model`` (a shipped SR model name or a ``.safetensors`` path) as ONNX to ``out``, atomically.

    Raises:
        InputError: not a super-resolution model (the inpainting network's pre-fill is an iterative solver
            whose sweep count follows the image size; it is not exported), or ``out`` exists without
            ``overwrite``.
        ModelError: an unreadable model file.
    """
    from restore.io import _atomic_write
    from restore.weights import load_model

    out = Path(out)
    if out.suffix.lower() != ".onnx":
        raise InputError(f"{out}: the output file must end in .onnx")
    if out.exists() and not overwrite:
        raise InputError(f"{out} exists; pass --overwrite to replace it")
    net = load_model(model, device="cpu")
    data = onnx_bytes(net)
    out.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(out, data, overwrite)
    return out


def onnx_metadata(path: str | Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file as a dict."""
    import onnx

    return {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
