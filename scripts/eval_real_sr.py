"""The real-photo tables: PSNR-Y (and blockiness) of bicubic, ``sr-x<s>``, a blind real-photo control and the
quantisation-aware ``sr-real-x<s>`` under each named test degradation, per benchmark set and scale — the protocol
of ``restore eval sr --degradation D`` (``restore.evaluate.eval_sr``: a conditioned model is told what the
degraded image would state as a file), in one process; and the ×1 table of ``restore eval denoise``.

    python scripts/eval_real_sr.py --data path/to/Set14 --data path/to/BSD68 --scales 4,2 \\
        [--blind path/to/blind-x{s}.safetensors] [--x1 auto] --out benchmarks/results/eval_real_sr

``--real PATTERN`` / ``--blind PATTERN`` name the models (``{s}`` = scale). Writes ``OUT.json`` (every figure)
and ``OUT.md`` (the tables, with the minimums checked).
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from restore.evaluate import eval_denoise, eval_sr

DEGRADATIONS = ("jpeg:50", "jpeg:75", "noise:10", "clean")
DEGRADATIONS_X1 = ("jpeg:30", "jpeg:50", "jpeg:75", "noise:10", "clean")
#: the ×4 minimums over bicubic, per set (JPEG), and against sr-x4 (the rest)
X4_OVER_BICUBIC = {("BSD68", "jpeg:50"): 0.6, ("Set14", "jpeg:50"): 0.75, ("BSD68", "jpeg:75"): 0.7,
                   ("Set14", "jpeg:75"): 0.9}
X4_AGAINST_CLEAN = {"noise:10": -0.2, "clean": -0.05}
#: the ×1 minimums: gain over the degraded input (PSNR, RGB)
X1_GAIN = {"jpeg:30": 1.2, "jpeg:50": 1.0, "jpeg:75": 0.6, "noise:10": 3.0}
#: a clean input is the original itself (its PSNR is infinite, so no gain can be taken): "does no harm" is
#: read as changing it by under one grey level RMS, PSNR of the result against it ≥ 20·log10(255) ≈ 48.13 dB
X1_CLEAN_PSNR = 20 * math.log10(255.0)


def target(data: str, deg: str, real: float, clean: float, bicubic: float) -> tuple[str, bool]:
    """The ×4 minimum for the real-photo model under ``deg`` on ``data`` and whether it holds."""
    if (data, deg) in X4_OVER_BICUBIC:
        m = X4_OVER_BICUBIC[(data, deg)]
        return f"≥ bicubic + {m}", real >= bicubic + m
    if deg in X4_AGAINST_CLEAN:
        m = X4_AGAINST_CLEAN[deg]
        return f"≥ sr-x4 − {-m}", real >= clean + m
    return "", True


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", action="append", required=True)
    ap.add_argument("--scales", default="4,2", help="comma-separated; empty for the ×1 table alone")
    ap.add_argument("--real", default="sr-real-x{s}")
    ap.add_argument("--blind", default=None, help="a blind real-photo model to compare with ({s} = scale)")
    ap.add_argument("--x1", default=None, help="also the ×1 table of this restoration model (auto: the shipped "
                    "one for what each degraded input states, as restore denoise chooses)")
    ap.add_argument("--out", default="benchmarks/results/eval_real_sr")
    a = ap.parse_args()
    rows: list[dict] = []
    md: list[str] = []
    for data in a.data:
        name = Path(data).name
        for s in (int(x) for x in a.scales.split(",") if x.strip()):
            methods = [("bicubic", {"method": "bicubic-matlab"}), (f"sr-x{s}", {"model": f"sr-x{s}"})]
            if a.blind:
                methods.append(("blind", {"model": a.blind.format(s=s)}))
            methods.append((f"sr-real-x{s}", {"model": a.real.format(s=s)}))
            x4 = s == 4
            md += ["", f"### {name} ×{s} — PSNR-Y / blockiness", "",
                   "| degradation | " + " | ".join(n for n, _ in methods) + f" | real − bicubic | real − sr-x{s} |"
                   + (" real − blind |" if a.blind else "") + (" minimum | met |" if x4 else ""),
                   "|---|" + "---|" * len(methods) + "---:|---:|" + ("---:|" if a.blind else "")
                   + ("---|---|" if x4 else "")]
            for deg in DEGRADATIONS:
                res = {}
                for label, kw in methods:
                    r = eval_sr(data, s, device="cpu", degradation=deg, **kw)
                    res[label] = r
                    rows.append({"data": name, "scale": s, "degradation": deg, "method": label,
                                 "model": r["method"], "psnr_y": r["psnr_y"], "ssim_y": r["ssim_y"],
                                 "blockiness": r["blockiness"], "images": r["images"]})
                    print(json.dumps(rows[-1]), flush=True)
                b, c, q = res["bicubic"]["psnr_y"], res[f"sr-x{s}"]["psnr_y"], res[f"sr-real-x{s}"]["psnr_y"]
                cells = " | ".join(f"{res[n]['psnr_y']:.2f} / {res[n]['blockiness']:.2f}" for n, _ in methods)
                line = f"| {deg} | {cells} | {q - b:+.2f} | {q - c:+.2f} |"
                if a.blind:
                    line += f" {q - res['blind']['psnr_y']:+.2f} |"
                if x4:
                    t, ok = target(name, deg, q, c, b)
                    line += f" {t} | {'yes' if ok else '**no**'} |"
                md.append(line)
        if a.x1:
            md += ["", f"### {name} ×1 (`restore eval denoise`) — PSNR (RGB) / blockiness", "",
                   "| degradation | model | input | restored | gain | minimum | met |",
                   "|---|---|---|---|---:|---|---|"]
            for deg in DEGRADATIONS_X1:
                r = eval_denoise(data, model=None if a.x1 == "auto" else a.x1, device="cpu", degradation=deg)
                rows.append({"data": name, "scale": 1, "degradation": deg, "method": "x1", "model": r["method"],
                             **{k: r[k] for k in ("psnr", "psnr_input", "gain", "psnr_y", "psnr_y_input",
                                                  "blockiness", "blockiness_input", "images")}})
                print(json.dumps(rows[-1]), flush=True)
                if deg in X1_GAIN:
                    m = X1_GAIN[deg]
                    gain, need, ok = f"{r['gain']:+.2f}", f"gain ≥ {m:+.2f}", r["gain"] >= m
                else:  # clean: the input is the original
                    gain, need, ok = "—", f"PSNR ≥ {X1_CLEAN_PSNR:.2f}", r["psnr"] >= X1_CLEAN_PSNR
                md.append(f"| {deg} | {r['method']} | {r['psnr_input']:.2f} / {r['blockiness_input']:.2f} | "
                          f"{r['psnr']:.2f} / {r['blockiness']:.2f} | {gain} | {need} | {'yes' if ok else '**no**'} |")
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    out.with_suffix(".md").write_text("\n".join(md).lstrip() + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
