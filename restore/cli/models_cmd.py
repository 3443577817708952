"""``restore models``: the methods and shipped models, as a table or (``--json``) every entry with its scores."""
from __future__ import annotations

from typing import Annotated, Any

import typer

from restore.catalogue import format_params
from restore.cli.common import EXIT_CODES_HELP, emit_json, handle_errors


def register(app: typer.Typer) -> None:
    """Add ``models`` to ``app``."""
    app.command("models", epilog=EXIT_CODES_HELP)(models)


def _headline(scores: dict[str, Any], task: str) -> str:
    """The one score a table row has room for: Set5 PSNR-Y for SR, the gain over a JPEG at quality 50 on BSD68
    for ×1 restoration, BSD68 hole PSNR per family for inpainting."""
    if task == "sr" and "BSD68_jpeg:50_gain" in scores:
        return f"BSD68 jpeg:50 {scores['BSD68_jpeg:50_gain']:+.2f}"
    if task == "sr" and "Set5_psnr_y" in scores:
        return f"Set5 {scores['Set5_psnr_y']:.2f}"
    fams = [scores.get(f"BSD68_{f}_psnr_hole") for f in ("thin", "thick", "box")]
    if task == "inpaint" and all(isinstance(v, (int, float)) for v in fams):
        return "BSD68 " + "/".join(f"{v:.1f}" for v in fams)
    return ""


@handle_errors
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print every entry with all its scores as JSON.")] = False,
) -> None:
    """List the upscaling and inpainting methods and shipped models (the defaults marked)."""
    import dataclasses

    import restore
    from restore.catalogue import default_names

    entries = restore.list_models()
    defaults = default_names()
    if as_json:
        emit_json([{**dataclasses.asdict(m), "default": m.name in defaults} for m in entries])
        return
    from rich.console import Console
    from rich.table import Table

    from rich import box

    console = Console()
    # short columns that never wrap; the description only where the terminal has room for it (a narrow
    # terminal gets the full entries from --json)
    wide = console.width >= 120
    table = Table(title="restore models (score: Set5 PSNR-Y dB; ×1: PSNR gain dB; BSD68 hole PSNR dB, thin/thick/box)",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("name", "task", "kind", "×", "params", "score") + (("about",) if wide else ()):
        table.add_column(col, no_wrap=col != "about", justify="right" if col == "params" else "left")
    for m in entries:
        kind = "default" if m.name in defaults else m.kind
        row = [m.name, m.task, kind, ",".join(str(s) for s in m.scales), format_params(m.params),
               _headline(dict(m.scores or {}), m.task)]
        table.add_row(*row, *([m.description or ""] if wide else []))
    console.print(table)
    if not wide:
        console.print("descriptions and every score: restore models --json")
