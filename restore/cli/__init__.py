"""Command line interface (Typer): the app assembled from its parts.

``common`` (exit codes, the app object, reporter, error handling, shared options) ← ``inputs`` (finding inputs,
planning outputs) ← ``batch_cmds`` (upscale, inpaint), ``info_cmds`` (models, eval, train, export), ``serve_cmd`` (serve),
``bench_cmd`` (bench) and ``analyze_cmds`` (analyze) ← this module, which assembles them.

Only the CLI prints and exits; the library raises. Heavy imports (torch, OpenCV, the API's
model code) happen inside commands so that ``restore --help`` is instant.

Exit codes: 0 every file ok (or skipped); 1 at least one file failed; 2 usage error
(bad option, no input found, unknown method or model).
"""
from __future__ import annotations

import warnings

from restore.cli import batch_cmds, info_cmds, serve_cmd  # noqa: F401  (importing them registers their commands on `app`)
from restore.cli.analyze_cmds import analyze_app
from restore.cli.bench_cmd import bench_command
from restore.cli.batch_cmds import run_inpaint, run_upscale
from restore.cli.common import EXIT_CODES_HELP, EXIT_FAILED, EXIT_OK, EXIT_USAGE, _handle_errors, app
from restore.cli.inputs import collect_images, plan_outputs

__all__ = ["app", "main", "run_upscale", "run_inpaint", "collect_images", "plan_outputs",
           "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE"]

app.command("bench", epilog=EXIT_CODES_HELP)(_handle_errors(bench_command))
app.add_typer(analyze_app, name="analyze")


def main() -> None:
    """Console-script entry point (``restore``)."""
    # Pillow's own warnings (corrupt EXIF, odd chunks) are not the user's business here and would print as
    # multi-line Python warnings; set once, process-wide, rather than per file on the reader thread
    warnings.filterwarnings("ignore", module="PIL")
    app()
