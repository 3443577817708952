"""``restore export``: an SR model to ONNX (the work is :mod:`restore.export`)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from restore.cli.common import EXIT_CODES_HELP, EXIT_USAGE, describe_error, error_exit, handle_errors


def register(app: typer.Typer) -> None:
    """Add ``export`` to ``app``."""
    app.command("export", epilog=EXIT_CODES_HELP)(export_cmd)


@handle_errors
def export_cmd(
    model: Annotated[str, typer.Argument(help="A shipped SR model name (see `restore models`) or a .safetensors path.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The .onnx file to write.", show_default=False)],
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing file.")] = False,
) -> None:
    """Export an SR model to ONNX (opset 17, dynamic batch/height/width, input 'image' (N,3,H,W) RGB in [0,1],
    output clamped to [0,1]; task, scale, receptive radius and provenance in the file's metadata). Needs the onnx
    extra: pip install 'restore[onnx]'."""
    from restore.errors import InputError, ModelError
    from restore.export import export_onnx

    try:
        path = export_onnx(model, output, overwrite=overwrite)
    except (InputError, ModelError) as exc:
        raise error_exit(describe_error(exc), EXIT_USAGE) from None
    typer.echo(f"wrote {path}")
