"""Command line interface (Typer): the app, assembled from one module per command family.

Modules, one way down: ``common`` (exit codes, the usage-error group, reporter, error handling, shared options)
← ``inputs`` (finding inputs, planning outputs) ← ``videos`` (video clips among a batch's inputs) ← ``batching``
(what the batch commands share: planned outputs, resume decisions, running a batch on its engine) ← the command
modules ← this one. The command modules are ``batch_cmds`` (upscale, inpaint), ``denoise_cmd`` (denoise),
``models_cmd`` (models), ``export_cmd`` (export), ``serve_cmd`` (serve), ``bench_cmd`` (bench), ``eval_cmds``
(eval sr | inpaint), ``train_cmds`` (train sr | inpaint) and ``analyze_cmds`` (analyze checkerboard | padding);
none imports another.

Registration, the one pattern: every command module defines its command functions (each wrapped in
``common.handle_errors``), or a sub-app holding them, without touching the app, and exposes
``register(app: typer.Typer) -> None``, which adds its commands (``app.command(name, ...)(fn)``) or its sub-app
(``app.add_typer(sub_app, name=...)``). This module creates the app and calls each module's ``register`` in
the order of :data:`COMMAND_MODULES` (``restore --help`` lists the commands in that order, groups after).

Only the CLI prints and exits; the library raises. Heavy imports (torch, OpenCV, the API's model code) happen
inside commands so that ``restore --help`` is instant.

Exit codes: 0 every file ok (or skipped); 1 at least one file failed; 2 usage error
(bad option, no input found, unknown method or model).
"""
from __future__ import annotations

import warnings

import typer

from restore.cli import (
    analyze_cmds, batch_cmds, bench_cmd, denoise_cmd, eval_cmds, export_cmd, models_cmd, serve_cmd, train_cmds,
)
from restore.cli.batch_cmds import run_inpaint, run_upscale
from restore.cli.denoise_cmd import run_denoise
from restore.cli.common import EXIT_CODES_HELP, EXIT_FAILED, EXIT_OK, EXIT_USAGE, OneLineUsageErrors
from restore.cli.inputs import collect_images, plan_outputs

__all__ = ["app", "main", "run_upscale", "run_inpaint", "run_denoise", "collect_images", "plan_outputs",
           "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE"]

app = typer.Typer(
    cls=OneLineUsageErrors,
    name="restore",
    help="Image restoration: CNN super-resolution, restoration (JPEG artefacts, noise) and inpainting, with "
         "classical baselines.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    # help text is plain text: with markup on, "pip install 'restore[onnx]'" lost its "[onnx]"
    rich_markup_mode=None,
    pretty_exceptions_enable=False,  # our errors are one line; anything else is a bug and should show as one
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: the command modules, in the order their commands are registered (and listed by ``restore --help``)
COMMAND_MODULES = (batch_cmds, denoise_cmd, models_cmd, export_cmd, serve_cmd, bench_cmd, eval_cmds, train_cmds, analyze_cmds)

for _module in COMMAND_MODULES:
    _module.register(app)


def main() -> None:
    """Console-script entry point (``restore``)."""
    # Pillow's own warnings (corrupt EXIF, odd chunks) are not the user's business here and would print as
    # multi-line Python warnings; set once, process-wide, rather than per file on the reader thread
    warnings.filterwarnings("ignore", module="PIL")
    app()
