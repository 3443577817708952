"""The long fuzzing run: ``python scripts/fuzz.py --inputs 20000 [--seed 1]`` mutates the seed files of every
kind (tests/fuzzing.py, loaded by its path) and prints how many inputs were tried and every finding (an
exception other than the library's own error). A hang shows as the run not finishing; a crash of the process
as a non-zero exit."""
from __future__ import annotations

import argparse
import faulthandler
import importlib.util
import json
import sys
import time
from pathlib import Path

_spec = importlib.util.spec_from_file_location("fuzzing", Path(__file__).resolve().parents[1] / "tests" / "fuzzing.py")
fuzz = importlib.util.module_from_spec(_spec)
sys.modules["fuzzing"] = fuzz
_spec.loader.exec_module(fuzz)

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    faulthandler.enable()
    t = time.perf_counter()
    tried, findings = fuzz.run(a.inputs, seed=a.seed)
    print(json.dumps({"inputs": tried, "findings": len(findings), "seconds": round(time.perf_counter() - t, 1),
                      "kinds": list(fuzz.KINDS)}))
    for f in sorted(set(findings)):
        print(f)
