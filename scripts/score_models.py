"""Evaluate the shipped models by `restore eval`'s protocols and record the scores in their metadata.

    python scripts/score_models.py --bench path/to/bench [--skip-inpaint] [--only NAME ...]

Writes ``scores`` into each ``restore/weights/*.safetensors`` and prints a Markdown table for the README: SR
models on the clean protocol (and real-photo models also under the degradations of ``restore eval sr
--degradation``), ×1 restoration models by ``restore eval denoise`` (PSNR and gain over the degraded input).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from restore.evaluate import eval_denoise, eval_inpaint, eval_sr
from restore.catalogue import WEIGHTS_DIR, read_metadata, real_photo_trained
from restore.weights import update_metadata

#: the named degradations a real-photo model (and a ×1 restoration model) is also scored on
REAL_DEGRADATIONS = ("jpeg:50", "jpeg:75", "noise:10")
X1_DEGRADATIONS = ("jpeg:30", "jpeg:50", "jpeg:75", "noise:10", "clean")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True, help="folder holding Set5/, Set14/, BSD68/")
    ap.add_argument("--skip-inpaint", action="store_true")
    ap.add_argument("--only", action="append", help="score only this model (repeatable)")
    args = ap.parse_args()
    bench = Path(args.bench)
    rows = []
    for p in sorted(WEIGHTS_DIR.glob("*.safetensors")):
        meta = read_metadata(p)
        if args.only and meta["name"] not in args.only:
            continue
        if meta["task"] == "sr" and meta["scale"] == 1:
            # a ×1 restoration model: PSNR (RGB) of its output and its gain over the degraded input
            scores = {}
            # a model made for JPEG files is only ever given them
            degs = [d for d in X1_DEGRADATIONS if meta.get("inputs") != "jpeg" or d.startswith("jpeg:")]
            for ds in ("Set14", "BSD68"):
                for deg in degs:
                    r = eval_denoise(bench / ds, model=str(p), device="cpu", degradation=deg)
                    scores[f"{ds}_{deg}_psnr"] = round(r["psnr"], 3)
                    if r["gain"] is not None:
                        scores[f"{ds}_{deg}_gain"] = round(r["gain"], 3)
            update_metadata(p, scores=scores)
            print(json.dumps({meta["name"]: scores}))
        elif meta["task"] == "sr":
            s = meta["scale"]
            scores = {}
            if real_photo_trained(meta):  # its figures on degraded inputs too
                for ds in ("Set14", "BSD68"):
                    for deg in REAL_DEGRADATIONS:
                        r = eval_sr(bench / ds, s, model=str(p), device="cpu", degradation=deg)
                        scores[f"{ds}_{deg}_psnr_y"] = round(r["psnr_y"], 3)
                        scores[f"{ds}_{deg}_blockiness"] = round(r["blockiness"], 3)
            for ds in ("Set5", "Set14", "BSD68"):
                r = eval_sr(bench / ds, s, model=str(p), device="cpu")
                b = eval_sr(bench / ds, s, method="bicubic-matlab")
                scores[f"{ds}_psnr_y"] = round(r["psnr_y"], 3)
                scores[f"{ds}_ssim_y"] = round(r["ssim_y"], 4)
                rows.append((meta["name"], ds, s, r["psnr_y"], r["ssim_y"], b["psnr_y"], b["ssim_y"]))
            update_metadata(p, scores=scores)
            print(json.dumps({meta["name"]: scores}))
        elif meta["task"] == "inpaint" and not args.skip_inpaint:
            r = eval_inpaint(bench / "BSD68", methods=(meta["name"], "telea", "ns", "biharmonic"), device="cpu")
            res = r["results"][meta["name"]]
            scores = {f"BSD68_{fam}_psnr_hole": round(v["psnr_hole"], 3) for fam, v in res.items()}
            # what the network itself adds over its pre-fill (same crops, same code path), and the margin
            # over the best classical method of each family
            scores.update({f"BSD68_{fam}_gain_over_prefill": round(v["gain_over_prefill"], 3)
                           for fam, v in res.items()})
            for fam, v in res.items():
                best = max(r["results"][c][fam]["psnr_hole"] for c in ("telea", "ns", "biharmonic"))
                scores[f"BSD68_{fam}_gain_over_best_classical"] = round(v["psnr_hole"] - best, 3)
            update_metadata(p, scores=scores)
            print(json.dumps({meta["name"]: scores}))
    print("\n| model | data | scale | PSNR-Y | SSIM-Y | bicubic PSNR-Y | bicubic SSIM-Y |"
          "\n|---|---|---|---|---|---|---|")
    for name, ds, s, p_, s_, bp, bs in rows:
        print(f"| {name} | {ds} | ×{s} | {p_:.2f} | {s_:.4f} | {bp:.2f} | {bs:.4f} |")


if __name__ == "__main__":
    main()
