"""ONNX Runtime int8 against float32 ONNX Runtime and PyTorch (issue #18): speed and PSNR cost.

    python benchmarks/ort_int8.py --calib ../shared/data/train/bsds400 --bench ../shared/data/bench/Set5

Each SR model is exported (:func:`restore.export.onnx_bytes`) and quantised statically with ONNX Runtime's tools
(QDQ, per-channel int8 weights, uint8 activations: the VNNI-friendly U8S8 layout), calibrated on LR crops of
*training* images (never the benchmark set), and as ``--precision int8`` runs it (:func:`restore.export.onnx_int8_bytes`:
calibrated on scikit-image's bundled photographs, which ship with a dependency). Speed: output MP/s of one ``--size``² LR image, median of ``--repeats`` after a warm-up. Quality:
PSNR-Y of whole images of ``--bench`` by the published protocol (MATLAB bicubic LR, ``scale`` px shaved).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def _session(path: Path, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def _run(sess, lr_u8: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(lr_u8.transpose(2, 0, 1)[None].astype(np.float32) / 255)
    y = sess.run(["output"], {"image": x})[0][0]
    return np.round(np.clip(y, 0, 1).transpose(1, 2, 0) * 255)


class _Calibration:
    """LR crops of training images for the activation ranges (ONNX Runtime's CalibrationDataReader protocol)."""

    def __init__(self, folder: Path, n: int, scale: int, crop: int = 192) -> None:
        from restore.data import degrade, list_images, load_rgb

        self.items = []
        for p in list_images([folder])[:n]:
            img = load_rgb(p)
            h, w = img.shape[:2]
            c = min(crop, h, w) // scale * scale
            hr = img[(h - c) // 2:(h - c) // 2 + c, (w - c) // 2:(w - c) // 2 + c]
            lr = degrade(hr, scale)
            self.items.append({"image": lr.transpose(2, 0, 1)[None].astype(np.float32) / 255})
        self.it = iter(self.items)

    def get_next(self):
        return next(self.it, None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="sr-fast-x4,sr-x4")
    ap.add_argument("--calib", type=Path, default=Path("../shared/data/train/bsds400"))
    ap.add_argument("--calib-images", type=int, default=16)
    ap.add_argument("--bench", type=Path, default=Path("../shared/data/bench/Set5"))
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    import restore
    from restore.bench import synthetic_image
    from restore.data import degrade, mod_crop
    from restore.evaluate import bench_images, psnr_y_np
    from restore.export import onnx_bytes, onnx_int8_bytes
    from restore.io import read_image
    from restore.weights import load_model

    torch.set_num_threads(a.threads)
    bench = [read_image(p)[:, :, :3] for p in bench_images(a.bench)]
    img = synthetic_image(a.size, a.size)
    print(f"{a.size}² LR input, {a.threads} threads, median of {a.repeats}; PSNR-Y on {a.bench.name} "
          f"({len(bench)} images); int8 calibrated on {a.calib_images} crops of {a.calib.name}\n")
    print("| model | variant | output MP/s | PSNR-Y | Δ vs ORT fp32 |")
    print("|---|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.models.split(","):
            net = load_model(name, device="cpu")
            s = net.scale
            fp32 = Path(tmp) / f"{name}.onnx"
            fp32.write_bytes(onnx_bytes(net))
            variants = {"ORT fp32": fp32}
            lib = Path(tmp) / f"{name}.lib.int8.onnx"
            lib.write_bytes(onnx_int8_bytes(net))  # what --precision int8 runs: calibrated on skimage's photos
            variants["ORT int8 (restore's calibration)"] = lib
            q = Path(tmp) / f"{name}.train.int8.onnx"
            quantize_static(str(fp32), str(q), _Calibration(a.calib, a.calib_images, s),
                            quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.Percentile)
            variants[f"ORT int8 (calibrated on {a.calib.name})"] = q
            rows = {}
            for label, path in variants.items():
                sess = _session(path, a.threads)
                _run(sess, img)
                ts = []
                for _ in range(a.repeats):
                    t = time.perf_counter()
                    _run(sess, img)
                    ts.append(time.perf_counter() - t)
                ps = []
                for hr in bench:
                    hr = mod_crop(hr, s)
                    ps.append(psnr_y_np(_run(sess, degrade(hr, s)), hr.astype(np.float64), s))
                rows[label] = ((a.size * s) ** 2 / 1e6 / statistics.median(ts), float(np.mean(ps)))
            for prec in ("fp32", "auto"):  # PyTorch through the library, as users run it
                restore.upscale(img, s, model=name, device="cpu", precision=prec)
                ts = []
                for _ in range(a.repeats):
                    t = time.perf_counter()
                    restore.upscale(img, s, model=name, device="cpu", precision=prec)
                    ts.append(time.perf_counter() - t)
                ps = [psnr_y_np(restore.upscale(degrade(mod_crop(hr, s), s), s, model=name, device="cpu",
                                                precision=prec).astype(np.float64),
                                mod_crop(hr, s).astype(np.float64), s) for hr in bench]
                rows[f"torch {prec}"] = ((a.size * s) ** 2 / 1e6 / statistics.median(ts), float(np.mean(ps)))
            ref = rows["ORT fp32"][1]
            for label, (mps, p) in rows.items():
                print(f"| {name} | {label} | {mps:.1f} | {p:.3f} | {p - ref:+.3f} |", flush=True)


if __name__ == "__main__":
    main()
