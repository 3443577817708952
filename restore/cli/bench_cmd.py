"""``restore bench``: quality, speed and memory against classical methods and peer CNNs (cheap to import: no
torch/cv2; the work is :mod:`restore.bench`)."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from restore.cli.common import EXIT_CODES_HELP, handle_errors


def register(app: typer.Typer) -> None:
    """Add ``bench`` to ``app``."""
    app.command("bench", epilog=EXIT_CODES_HELP)(bench_command)


class BenchTask(str, Enum):
    sr = "sr"
    inpaint = "inpaint"
    all = "all"


def _ints(text: str, what: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"{what} must be comma-separated integers, got {text!r}") from None


@handle_errors
def bench_command(
    task: Annotated[BenchTask, typer.Option("--task", help="sr, inpaint or all.")] = BenchTask.all,
    data: Annotated[Optional[Path], typer.Option("--data", help="Image folder for every task (else $RESTORE_BENCH_DATA: its Set5/ and BSD68/, or the folder itself; there is no default).", show_default=False)] = None,
    scales: Annotated[str, typer.Option("--scales", help="SR scales, comma-separated.")] = "2,3,4",
    device: Annotated[str, typer.Option("--device", "-d", help="Device for our models (peers run on the CPU).")] = "auto",
    repeats: Annotated[int, typer.Option("--repeats", "-r", help="Timed runs per image after one warm-up (median kept).", min=1)] = 5,
    threads: Annotated[Optional[int], typer.Option("--threads", help="Threads for every method (default: all cores).", min=1, show_default=False)] = None,
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Extra model of ours (.safetensors); repeat for several.", show_default=False)] = None,
    peers: Annotated[bool, typer.Option("--peers/--no-peers", help="Run ESPCN/FSRCNN/LapSRN (builds a cached venv once).")] = True,
    peers_dir: Annotated[Optional[Path], typer.Option("--peers-dir", help="Folder of the peer .pb files.", show_default=False)] = None,
    images: Annotated[int, typer.Option("--images", help="Inpainting: number of images (512×512 crops).", min=1)] = 8,
    masks: Annotated[str, typer.Option("--masks", help="Inpainting hole families: thin, thick, box.")] = "thin,box",
    large: Annotated[bool, typer.Option("--large/--no-large", help="SR: ×4 of a 2000×2000 image, tiled and untiled.")] = True,
    large_size: Annotated[int, typer.Option("--large-size", help="Side of the large-image run's input.", min=16)] = 2000,
    untiled: Annotated[bool, typer.Option("--untiled/--no-untiled", help="Also run the large image untiled.")] = True,
    contention: Annotated[bool, typer.Option("--contention/--no-contention", help="Default models with 1 and --threads threads, quiet and beside one busy process per core.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of the tables.")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Also write the tables (Markdown) to this file.", show_default=False)] = None,
    isolate: Annotated[bool, typer.Option("--isolate/--no-isolate", hidden=True, help="One worker process per method (clean peak-RSS figures); --no-isolate is for smoke tests.")] = True,
) -> None:
    """Quality, speed and memory of our models against classical methods and peer CNNs, as one table per task."""
    import json
    import shlex
    import sys

    from restore.bench import BenchConfig, format_tables, run_bench

    fams = [m.strip() for m in masks.split(",") if m.strip()]
    cfg = BenchConfig(task=task.value, data=data, scales=_ints(scales, "--scales"), device=device, repeats=repeats,
                      threads=threads, models=model or (), peers=peers, peers_dir=peers_dir, inpaint_images=images,
                      families=fams, large=large, large_size=large_size, untiled=untiled, contention=contention,
                      isolate=isolate)
    res = run_bench(cfg, log=lambda s: typer.echo(f"· {s}", err=True))
    # the command line as typed (under a test runner argv is someone else's)
    argv = sys.argv[1:] if Path(sys.argv[0]).name == "restore" else ["bench", "…"]
    res["command"] = "restore " + " ".join(shlex.quote(a) for a in argv)
    text = format_tables(res)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(f"`{res['command']}`\n\n{text}")
    if as_json:
        typer.echo(json.dumps(res, indent=1, default=float))
    else:
        typer.echo(text)
