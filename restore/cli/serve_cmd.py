"""``restore serve``: the local web page (restore/server.py) on uvicorn."""
from __future__ import annotations

import logging
import os
import socket
from typing import Annotated

import typer

from restore.cli.common import (
    EXIT_CODES_HELP, EXIT_USAGE, DeviceOpt, MaxPixelsOpt, Precision, ThreadsOpt, apply_threads, error_exit,
    handle_errors,
)

_INSTALL = 'restore serve needs the web extra: pip install "restore[serve]" (FastAPI, uvicorn, python-multipart)'


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    app.command("serve", epilog=EXIT_CODES_HELP)(serve)


@handle_errors
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on. The default answers this machine only; anything else lets other machines use it (a warning is printed).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535, help="Port (0 = any free one).")] = 8000,
    device: DeviceOpt = "auto",
    precision: Annotated[Precision, typer.Option("--precision", help="CNN arithmetic, as for upscale / inpaint (int8: upscaling on ONNX Runtime, inpainting at auto).")] = Precision.auto,
    threads: ThreadsOpt = None,
    max_upload_mb: Annotated[float, typer.Option("--max-upload-mb", min=0.001, help="Largest upload, refused (413) while it is being read.")] = 50.0,
    max_pixels: MaxPixelsOpt = None,
    queue: Annotated[int, typer.Option("--queue", min=1, help="Requests admitted at once (one computes; the others wait); more get 503.")] = 4,
    max_request_mb: Annotated[float, typer.Option("--max-request-mb", min=1, max=1e9, help="Memory one request may need (MiB), estimated from the image header and the scale before decoding; more is refused (413).")] = 4096.0,
) -> None:
    """Serve a web page to paint masks, inpaint, upscale, compare and download (and its HTTP API)."""
    try:
        import uvicorn

        from restore.server import LOOPBACK_HOSTS, ServeConfig, create_app
    except ImportError as exc:
        if getattr(exc, "name", "") and exc.name.split(".")[0] in ("fastapi", "uvicorn", "python_multipart", "starlette"):
            raise error_exit(_INSTALL, EXIT_USAGE) from None
        raise
    from restore.devices import pick_device
    from restore.errors import InputError
    from restore.io import DEFAULT_MAX_PIXELS

    apply_threads(threads)
    try:
        pick_device(device)  # a bad --device is a usage error now, not on every request
    except (InputError, ValueError) as exc:
        raise error_exit(str(exc), EXIT_USAGE) from None
    loopback = host in LOOPBACK_HOSTS
    cfg = ServeConfig(device=device, precision=precision.value, max_upload=int(max_upload_mb * 2**20),
                      max_pixels=max_pixels or DEFAULT_MAX_PIXELS, max_queue=queue,
                      max_request_memory=int(max_request_mb * 2**20),
                      allowed_hosts=LOOPBACK_HOSTS if loopback else ())
    try:  # bound here, so that the URL printed is the one listening (--port 0 gets a free port)
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.create_server((host, port), family=family)
    except OSError as exc:  # the port is taken, the address is not this machine's, ...
        why = os.strerror(exc.errno) if isinstance(exc.errno, int) and exc.errno > 0 else (exc.strerror or str(exc))
        raise error_exit(f"cannot listen on {host}:{port} ({why})", EXIT_USAGE) from None
    if not loopback:
        typer.echo(f"warning: listening on {host}: anyone who can reach this machine can use the server "
                   "(there is no login); use the default --host 127.0.0.1 to keep it to this machine", err=True)
    h, p = sock.getsockname()[:2]
    typer.echo(f"restore serve: http://{f'[{h}]' if ':' in h else h}:{p}/  (Ctrl+C stops it)")
    from restore.sniff import capture_codec_messages

    capture_codec_messages(False)  # fd 2 is this process's log too (restore.sniff.capture_codec_messages)
    # a malformed upload is answered with a 400; the parser's own warning for each would only fill the log
    logging.getLogger("python_multipart").setLevel(logging.ERROR)
    server = uvicorn.Server(uvicorn.Config(create_app(cfg), log_level="warning", access_log=False))
    server.run(sockets=[sock])
