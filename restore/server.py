"""``restore serve``: a local web page (``restore/web/``) and a small HTTP API over the library.

Routes
    ``GET /``                the page (plain HTML/CSS/JS shipped in the package; nothing from a CDN)
    ``GET /api/models``      the methods and shipped models: ``[{name, task, kind, scales, default, ...}]``
    ``POST /api/inpaint``    multipart ``image``, ``mask`` (nonzero / white = hole), optional ``method`` → PNG
    ``POST /api/upscale``    multipart ``image``, ``scale``, optional ``model`` / ``method`` / ``denoise`` → PNG
    ``POST /api/denoise``    multipart ``image``, optional ``strength`` (0–1, default 1) / ``model`` → PNG (×1)
    ``POST /api/preview``    multipart ``image`` → an 8-bit PNG of it, for formats browsers cannot show (TIFF)

Errors are ``{"error": "one line"}`` with a 4xx status (413 for an upload over the limit or an image whose
processing would pass the memory budget, 503 when the queue is full), or 500 for a bug, whose traceback goes to
the server's log, never into a response.

Safety
    * Uploads are read into memory with a running byte count, refused with 413 as soon as they pass the limit
      (the ``Content-Length`` header is checked first); nothing is spooled to disk, nothing is written.
    * Memory is bounded per request before anything is decoded: the header's width, height, channels and
      bit depth and the requested scale give an upper bound of the request's peak (:func:`request_bytes`), and
      an image over ``max_request_memory`` is refused with 413 — a few hundred KB of PNG can decode to GBs.
    * Formats are sniffed from the bytes (:func:`restore.io.decode_image`); file names only name the download.
    * ``model`` / ``method`` must be names from the catalogue: a client can never make the server open a path.
    * One request computes at a time (models are loaded once and shared, through the engine's cache), and at most
      ``max_queue`` requests are admitted (reading, waiting or computing) — so two big uploads cannot exhaust
      memory; the rest get 503 at once.
    * No CORS: a cross-origin page cannot read a response, and a POST whose ``Origin`` is another site (or
      ``null``) is refused, so a page elsewhere cannot make this machine compute. A body must arrive within
      ``read_timeout`` seconds (408), so slow clients cannot hold every admission slot. When bound to loopback, requests must name a
      loopback ``Host`` (no DNS rebinding).
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Callable
from urllib.parse import urlsplit

from fastapi import FastAPI, Request  # the `serve` extra; this module is imported only by `restore serve`
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

import numpy as np

from restore.errors import ImageWriteError, InputError, ModelError
from restore.io import DEFAULT_MAX_PIXELS

log = logging.getLogger("restore.server")

#: largest upload (the whole multipart body), bytes
DEFAULT_MAX_UPLOAD = 50 * 1024 * 1024
#: largest estimated peak memory of one request (:func:`request_bytes`), bytes
DEFAULT_MAX_REQUEST_MEMORY = 4 * 1024**3
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_MAX_PARTS = 8


@dataclass(frozen=True)
class ServeConfig:
    """Settings of the server (the ``restore serve`` options)."""

    device: str = "auto"
    precision: str = "auto"
    max_upload: int = DEFAULT_MAX_UPLOAD
    max_pixels: int = DEFAULT_MAX_PIXELS
    #: requests admitted at once (reading, queued or computing); one computes at a time
    max_queue: int = 4
    #: accepted ``Host`` names (any port); empty = any (a server bound to a public address)
    allowed_hosts: tuple[str, ...] = field(default=LOOPBACK_HOSTS)
    #: seconds a request may take to send its body (it holds an admission slot meanwhile)
    read_timeout: float = 120.0
    #: largest estimated peak memory of one request (bytes), checked from the headers before decoding
    max_request_memory: int = DEFAULT_MAX_REQUEST_MEMORY


class HTTPProblem(Exception):
    """A request the server refuses: an HTTP status and one line for ``{"error": ...}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --- multipart bodies, in memory, with the limit enforced while reading ------------------------------------

@dataclass
class Part:
    name: str
    filename: str | None
    data: bytearray = field(default_factory=bytearray)


class Form:
    """The parts of a ``multipart/form-data`` body, by field name."""

    def __init__(self, parts: list[Part]) -> None:
        self.parts = {p.name: p for p in parts}

    def file(self, name: str) -> Part:
        part = self.parts.get(name)
        if part is None or not part.data:
            raise HTTPProblem(400, f"missing file field {name!r}")
        return part

    def text(self, name: str, default: str | None = None) -> str | None:
        part = self.parts.get(name)
        if part is None:
            return default
        try:
            value = bytes(part.data).decode("utf-8").strip()
        except UnicodeDecodeError:
            raise HTTPProblem(400, f"field {name!r} is not text") from None
        return value if value else default


async def read_form(request: Any, limit: int) -> Form:
    """Parse a request's multipart body as it streams in, refusing it (413) the moment it passes ``limit`` bytes.

    Raises:
        HTTPProblem: 413 over the limit; 400 for a body that is not multipart/form-data or is malformed.
    """
    from python_multipart.exceptions import FormParserError
    from starlette.requests import ClientDisconnect
    from python_multipart.multipart import MultipartParser, parse_options_header

    kind, opts = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or not opts.get(b"boundary"):
        raise HTTPProblem(400, "send the image as multipart/form-data (a form with an 'image' file field)")
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise HTTPProblem(400, "bad Content-Length header")
        if int(length) > limit:
            raise HTTPProblem(413, f"upload of {int(length) / 2**20:.1f} MB is over the {limit / 2**20:g} MB limit")

    parts: list[Part] = []
    header: dict[str, bytearray] = {"field": bytearray(), "value": bytearray()}
    headers: dict[bytes, bytes] = {}

    def on_part_begin() -> None:
        if len(parts) >= _MAX_PARTS:
            raise HTTPProblem(400, f"more than {_MAX_PARTS} form fields")
        headers.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header["value"] += data[start:end]

    def on_header_end() -> None:
        headers[bytes(header["field"]).lower()] = bytes(header["value"])
        header["field"], header["value"] = bytearray(), bytearray()

    def on_headers_finished() -> None:
        _kind, disp = parse_options_header(headers.get(b"content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        filename = disp.get(b"filename")
        parts.append(Part(name, filename.decode("utf-8", "replace") if filename is not None else None))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1].data += data[start:end]

    total = 0
    try:
        parser = MultipartParser(opts[b"boundary"], {
            "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
            "on_header_end": on_header_end, "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
        })
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:  # a body without (or lying in) Content-Length stops here, not after the whole upload
                raise HTTPProblem(413, f"upload is over the {limit / 2**20:g} MB limit")
            parser.write(chunk)
        parser.finalize()
    except ClientDisconnect:
        raise HTTPProblem(400, "the upload was interrupted") from None
    except FormParserError as exc:  # every parser error is the body's fault (a boundary over 256 characters too)
        raise HTTPProblem(400, f"malformed multipart body ({str(exc).splitlines()[0] if str(exc) else 'parse error'})") from None
    return Form(parts)


# --- the work of each route (runs on a worker thread, one at a time) -----------------------------------------

def _download_name(filename: str | None, suffix: str) -> str:
    """``<stem><suffix>.png`` from an upload's name, reduced to safe characters (it only names the download)."""
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", (filename or "image").rsplit("/", 1)[-1].rsplit("\\", 1)[-1])
    stem = re.sub(r"[^A-Za-z0-9._ -]+", "_", stem).strip(" .") or "image"
    return f"{stem[:100]}{suffix}.png"


def _label(method: str, model: Any) -> str:
    """What ran, from the library's own resolution of a request: the network's name, else the method."""
    return method if model is None else str(getattr(model, "name", model))


def _choice(value: str | None, allowed: list[str], what: str) -> str | None:
    if value is not None and value not in allowed:
        raise HTTPProblem(400, f"unknown {what} {value!r}; choose from {', '.join(allowed)}")
    return value


def request_bytes(width: int, height: int, channels: int, sample_bytes: int, scale: int = 1) -> int:
    """An upper bound of one request's peak memory for an image of this decoded layout: the decoded array and its
    float32 working copy, then the result at ``scale`` as float32 (classical methods compute it so), in the
    input's dtype, its BGR copy for the encoder and the encoded bytes (incompressible at worst)."""
    pixels = width * height * channels
    return pixels * (sample_bytes + 4) + pixels * scale * scale * (3 * sample_bytes + 4)


def _within_budget(uploads: list[tuple[bytes, str]], scale: int, cfg: ServeConfig) -> None:
    """Refuse (413) a request whose images, by their headers, would need more than the server's per-request
    budget; the first upload is the image (processed at ``scale``), the others are read beside it (a mask).
    Uploads whose header says nothing are left to the decoder, which refuses them."""
    from restore.sniff import decoded_layout

    need, said = 0, ""
    for k, (data, what) in enumerate(uploads):
        layout = decoded_layout(data)
        if layout is None:
            continue
        w, h, c, b = layout
        need += request_bytes(w, h, c, b, scale if k == 0 else 1)
        said = said or f"{what} of {w}×{h} px, {c} channel{'s' if c > 1 else ''} of {8 * b} bit"
    if need > cfg.max_request_memory:
        what = f" at ×{scale}" if scale > 1 else ""
        raise HTTPProblem(413, f"the {said}{what} needs about {need / 1e9:.1f} GB, above this server's "
                               f"{cfg.max_request_memory / 1e9:g} GB per request")


def stated_compression(data: bytes) -> tuple[float | None, list[int] | None]:
    """What an upload states about its compression, read as a file's is, from one read of its header
    (:func:`restore.compression.file_compression`): its JPEG tables' quality (75 for a lossy WebP, ``None`` for a
    losslessly stored image or one whose header cannot be read: the decoder then says why), and a JPEG's luma
    table."""
    import io

    from PIL import Image

    from restore.compression import UNSTATED_LOSSY_QUALITY, file_compression
    from restore.io import is_lossy_data

    try:
        with Image.open(io.BytesIO(data)) as im:
            quality, table = file_compression(im)
    except (OSError, ValueError, Image.DecompressionBombError, InputError):
        quality, table = None, None
    if quality is None and is_lossy_data(data):
        return UNSTATED_LOSSY_QUALITY, table
    return quality, table


def upscale_png(image_bytes: bytes, filename: str | None, *, scale: str | None, model: str | None,
                method: str | None, denoise: str | None, cfg: ServeConfig) -> tuple[bytes, dict[str, str]]:
    """Decode, upscale and encode one upload; returns the PNG and response headers."""
    import restore
    from restore import api
    from restore.catalogue import upscale_methods
    from restore.io import decode_image, encode_image, is_lossy_data

    try:
        s = int(scale or "4")
    except ValueError:
        raise HTTPProblem(400, f"bad scale {scale!r}; choose 2, 3 or 4") from None
    if s not in api.SCALES:
        raise HTTPProblem(400, f"bad scale {scale!r}; choose 2, 3 or 4")
    names = upscale_methods()
    model = _choice(model, [n for n in names if n != "auto"], "model")
    method = _choice(method, names, "method") or "auto"
    strength = None
    if denoise is not None:
        try:
            strength = float(denoise)
        except ValueError:
            raise HTTPProblem(400, f"bad denoise {denoise!r}; a number from 0 to 1") from None
    _within_budget([(image_bytes, "image")], s, cfg)
    image, meta = decode_image(image_bytes, filename or "image", max_pixels=cfg.max_pixels)
    out_px = image.shape[0] * image.shape[1] * s * s
    if out_px > cfg.max_pixels:  # the result is held and encoded in memory too
        raise HTTPProblem(400, f"the ×{s} result would be {out_px / 1e6:.0f} MP, above this server's "
                               f"{cfg.max_pixels / 1e6:g} MP limit (restore serve --max-pixels)")
    label = _label(*api.resolve_upscale_method(method, model, s))
    if strength is None and is_lossy_data(image_bytes):
        lossy = api.model_for_lossy(s, method=method, model=model)
        if lossy is not None:
            model, label = lossy, f"{lossy} (compressed input)"
    if strength is not None:
        label = f"denoise {strength:g}"
    said, table = stated_compression(image_bytes)
    if table is not None:  # a JPEG's tables state its quality, and show an earlier compression
        from restore.batch import stated_condition

        said = stated_condition(image, meta.exif_orientation, table)[0]
    tic = time.perf_counter()
    out = restore.upscale(image, s, method=method, model=model, device=cfg.device, precision=cfg.precision,
                          denoise=strength, jpeg_quality=said)
    seconds = time.perf_counter() - tic
    return encode_image(out, "png", meta=meta, name=filename or "image"), {
        "X-Restore-Model": label, "X-Restore-Seconds": f"{seconds:.3f}", "X-Restore-Size": f"{out.shape[1]}x{out.shape[0]}",
        "Content-Disposition": f'inline; filename="{_download_name(filename, f"_x{s}")}"',
    }


def denoise_png(image_bytes: bytes, filename: str | None, *, strength: str | None, model: str | None,
                cfg: ServeConfig) -> tuple[bytes, dict[str, str]]:
    """Decode, restore at the same size (×1) and encode one upload, the model told what the upload's own header
    states about its compression; returns the PNG and response headers."""
    from restore.api import resolve_denoise_model
    from restore.batch import denoise_decoded
    from restore.catalogue import shipped_models
    from restore.io import decode_image, encode_image

    try:
        amount = float(strength or "1")
    except ValueError:
        raise HTTPProblem(400, f"bad strength {strength!r}; a number from 0 to 1") from None
    model = _choice(model, [m.name for m in shipped_models() if m.task == "sr" and m.scales == (1,)], "model")
    _within_budget([(image_bytes, "image")], 1, cfg)
    image, meta = decode_image(image_bytes, filename or "image", max_pixels=cfg.max_pixels)
    said, table = stated_compression(image_bytes)
    try:
        name = resolve_denoise_model(model, said)
    except InputError:
        raise HTTPProblem(400, "no restoration model (×1) is shipped with this server's version") from None
    tic = time.perf_counter()
    # a JPEG's tables state its quality themselves, and show an earlier compression (resolve_jpeg_condition)
    out = denoise_decoded(image, meta.exif_orientation, table, amount, jpeg_quality=said if table is None else None,
                          model=name, device=cfg.device, precision=cfg.precision)
    seconds = time.perf_counter() - tic
    stated = "stored losslessly" if said is None else f"JPEG quality {said:g}"
    return encode_image(out, "png", meta=meta, name=filename or "image"), {
        "X-Restore-Model": f"{name} (strength {amount:g}; {stated})", "X-Restore-Seconds": f"{seconds:.3f}",
        "X-Restore-Size": f"{out.shape[1]}x{out.shape[0]}",
        "X-Restore-Jpeg-Quality": "none" if said is None else f"{said:g}",
        "Content-Disposition": f'inline; filename="{_download_name(filename, "_denoised")}"',
    }


def inpaint_png(image_bytes: bytes, filename: str | None, mask_bytes: bytes, *, method: str | None,
                cfg: ServeConfig) -> tuple[bytes, dict[str, str]]:
    """Decode an image and its mask, inpaint, encode; returns the PNG and response headers."""
    import restore
    from restore import api
    from restore.catalogue import inpaint_methods
    from restore.io import decode_image, encode_image
    from restore.masks import mask_from_image

    method = _choice(method, inpaint_methods(), "method") or "auto"
    _within_budget([(image_bytes, "image"), (mask_bytes, "mask")], 1, cfg)
    image, meta = decode_image(image_bytes, filename or "image", max_pixels=cfg.max_pixels)
    mask_image, _ = decode_image(mask_bytes, "mask", max_pixels=cfg.max_pixels)
    holes = mask_from_image(mask_image, image.shape, name="mask")
    tic = time.perf_counter()
    # int8 is for super-resolution (ONNX Runtime); inpainting then runs at its own automatic precision
    precision = "auto" if cfg.precision == "int8" else cfg.precision
    out = restore.inpaint(image, holes, method=method, device=cfg.device, precision=precision)
    seconds = time.perf_counter() - tic
    label = _label(*api.resolve_inpaint_method(method))
    headers = {"X-Restore-Model": label, "X-Restore-Seconds": f"{seconds:.3f}",
               "X-Restore-Holes": str(int(holes.sum())),
               "Content-Disposition": f'inline; filename="{_download_name(filename, "_inpainted")}"'}
    return encode_image(out, "png", meta=meta, name=filename or "image"), headers


def preview_png(image_bytes: bytes, filename: str | None, *, cfg: ServeConfig) -> tuple[bytes, dict[str, str]]:
    """An upload as an 8-bit PNG for the page to show, for formats browsers do not display (TIFF, say); the
    page still sends the original bytes for processing."""
    from restore.io import decode_image, encode_image
    from restore.pixels import to_uint8

    _within_budget([(image_bytes, "image")], 1, cfg)
    image, _meta = decode_image(image_bytes, filename or "image", max_pixels=cfg.max_pixels)
    if image.dtype.kind == "f":
        image = (np.clip(np.nan_to_num(image), 0, 1) * 255 + 0.5).astype(np.uint8)
    return encode_image(to_uint8(image), "png", name=filename or "image"), {}


def models_json() -> list[dict[str, Any]]:
    """``GET /api/models``: each method and shipped model with its task and scales."""
    from restore import api
    from restore.catalogue import default_names

    defaults = default_names()
    out = []
    for m in api.list_models():
        out.append({"name": m.name, "task": m.task, "kind": m.kind, "scales": list(m.scales),
                    "default": m.name in defaults, "params": m.params, "description": m.description})
    return out


# --- the app -----------------------------------------------------------------------------------------------

class Gate:
    """Admission and the compute queue: at most ``max_queue`` requests inside, one computing at a time."""

    def __init__(self, max_queue: int) -> None:
        import anyio

        self.max_queue = max_queue
        self.inside = 0
        self.compute = anyio.CapacityLimiter(1)

    def enter(self) -> None:
        if self.inside >= self.max_queue:
            raise HTTPProblem(503, f"busy: {self.inside} requests are being served; try again shortly")
        self.inside += 1

    def leave(self) -> None:
        self.inside -= 1

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        import functools

        import anyio.to_thread

        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=self.compute)


def _page_file(name: str) -> bytes:
    return resources.files("restore").joinpath("web", name).read_bytes()


def _host_name(host_header: str) -> str:
    """``Host`` header → host name without port (``[::1]:8000`` → ``::1``)."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def create_app(cfg: ServeConfig | None = None):
    """The FastAPI application (``uvicorn.run(create_app(...))``, or an in-process test client)."""
    cfg = cfg or ServeConfig()
    gate = Gate(cfg.max_queue)
    app = FastAPI(title="restore", docs_url=None, redoc_url=None, openapi_url=None)
    page = {name: _page_file(name) for name in ("index.html", "app.js", "app.css")}
    csp = ("default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
           "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        host = _host_name(request.headers.get("host", ""))
        if cfg.allowed_hosts and host not in cfg.allowed_hosts:
            return error(403, f"host {host!r} is not served here (the server answers to {', '.join(cfg.allowed_hosts)})")
        origin = request.headers.get("origin")
        # a browser always names the page's origin on a POST ("null" from sandboxed frames and data: pages);
        # scripts like curl send none
        if request.method == "POST" and origin is not None and \
                (origin == "null" or urlsplit(origin).netloc != request.headers.get("host", "")):
            return error(403, "cross-origin requests are not accepted")
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = csp
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = (exc.errors() or [{}])[0]
        return error(400, f"bad request: {first.get('msg', 'invalid')} ({'.'.join(map(str, first.get('loc', ())))})")

    @app.exception_handler(HTTPProblem)
    async def problem(_request: Request, exc: HTTPProblem) -> JSONResponse:
        return error(exc.status, str(exc))

    @app.exception_handler(Exception)
    async def bug(_request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, MemoryError):
            return error(507, "out of memory for this image; try a smaller one")
        log.exception("request failed")  # the traceback stays in the server's log
        return error(500, f"internal error ({type(exc).__name__}); the server's log has the details")

    async def serve_file(name: str, media_type: str) -> Response:
        return Response(page[name], media_type=media_type, headers={"Cache-Control": "no-cache"})

    @app.get("/")
    async def index() -> Response:
        return await serve_file("index.html", "text/html; charset=utf-8")

    @app.get("/app.js")
    async def script() -> Response:
        return await serve_file("app.js", "text/javascript; charset=utf-8")

    @app.get("/app.css")
    async def style() -> Response:
        return await serve_file("app.css", "text/css; charset=utf-8")

    @app.get("/api/models")
    async def models() -> JSONResponse:
        return JSONResponse(models_json())

    async def compute(request: Request, work: Callable[[Form], tuple[bytes, dict[str, str]]]) -> Response:
        import anyio

        gate.enter()
        try:
            try:  # a slot is held while the body arrives: a client that trickles it gives the slot back in time
                with anyio.fail_after(cfg.read_timeout):
                    form = await read_form(request, cfg.max_upload)
            except TimeoutError:
                raise HTTPProblem(408, f"the upload took longer than {cfg.read_timeout:g} s") from None
            try:
                png, headers = await gate.run(work, form)
            except (InputError, ModelError, ImageWriteError) as exc:  # the library's one-line errors
                raise HTTPProblem(400, str(exc).splitlines()[0]) from None
            except MemoryError:
                raise HTTPProblem(507, "out of memory for this image; try a smaller one") from None
            except HTTPProblem:
                raise
            except Exception as exc:  # a bug: logged once here, answered like any other error
                log.exception("request failed")
                raise HTTPProblem(500, f"internal error ({type(exc).__name__}); the server's log has the details") from None
        finally:
            gate.leave()
        return Response(png, media_type="image/png", headers={**headers, "Cache-Control": "no-store"})

    @app.post("/api/upscale")
    async def upscale(request: Request) -> Response:
        def work(form: Form):
            image = form.file("image")
            return upscale_png(bytes(image.data), image.filename, scale=form.text("scale"),
                               model=form.text("model"), method=form.text("method"),
                               denoise=form.text("denoise"), cfg=cfg)

        return await compute(request, work)

    @app.post("/api/denoise")
    async def denoise(request: Request) -> Response:
        def work(form: Form):
            image = form.file("image")
            return denoise_png(bytes(image.data), image.filename, strength=form.text("strength"),
                               model=form.text("model"), cfg=cfg)

        return await compute(request, work)

    @app.post("/api/preview")
    async def preview(request: Request) -> Response:
        def work(form: Form):
            image = form.file("image")
            return preview_png(bytes(image.data), image.filename, cfg=cfg)

        return await compute(request, work)

    @app.post("/api/inpaint")
    async def inpaint(request: Request) -> Response:
        def work(form: Form):
            image, mask = form.file("image"), form.file("mask")
            return inpaint_png(bytes(image.data), image.filename, bytes(mask.data), method=form.text("method"),
                               cfg=cfg)

        return await compute(request, work)

    return app
