"""The shape of the code: no import cycles, no module over 600 lines, and
`restore --help` without torch."""
from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_no_import_cycles() -> None:
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "import_cycles.py")], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_no_module_over_600_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in [*ROOT.glob("restore/**/*.py"), *ROOT.glob("pyramids/**/*.py")]
            if (n := len(p.read_text().splitlines())) > 600}
    assert not long, long


def test_help_imports_neither_torch_nor_the_web_stack() -> None:
    code = ("import sys; from restore.cli import app; "
            "bad = [m for m in ('torch', 'cv2', 'fastapi', 'uvicorn', 'ray') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)
