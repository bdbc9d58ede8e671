"""The HTTP API: ``GET /health`` and ``POST /v1/colorize``, on FastAPI.

One :class:`~autocolor.infer.colorizer.Colorizer` (one model in memory) serves every request
through one worker thread (:mod:`autocolor.serve.worker`). A request is admitted before its body
is read (503 + Retry-After when ``max_queue`` are in), its body is read into memory under the
size limit (413; nothing goes to disk: the multipart parser's spool never rolls over), its
options and the photo's header are checked (400, 413, 415) before it waits, then the worker
colours it as ``autocolor colorize`` would (:func:`autocolor.serve.job.colorize`).

Every error is JSON ``{"error": "one line"}``; an unexpected one is logged with its traceback
and answered 500 with one line, never the traceback.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
import zipfile
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import python_multipart  # noqa: F401 - Starlette's form parser; a missing one is named at start
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException, MultiPartParser

from autocolor import __version__
from autocolor.errors import first_line
from autocolor.image_output import OUTPUT_FORMATS, OUTPUT_SUFFIXES, result_name
from autocolor.images import ImageError, PixelLimitError
from autocolor.serve import job
from autocolor.serve.config import ServeConfig
from autocolor.serve.worker import QueueFull, Ticket, Worker

if TYPE_CHECKING:
    from autocolor.credentials import ContentCredentials
    from autocolor.infer.colorizer import Colorizer

LOGGER = logging.getLogger("autocolor.serve")
# Text fields are small (the hints JSON is the largest); a bigger one is a mistake or an attack.
MAX_FIELD_BYTES = 1024 * 1024


class ApiError(Exception):
    """An answer other than 200: ``{"error": message}`` with ``status`` and ``headers``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.message = message
        self.headers = headers or {}
        super().__init__(message)


class ErrorBody(BaseModel):
    error: str  # one line, never a traceback


class QueueState(BaseModel):
    admitted: int  # requests in (uploading, waiting or being coloured)
    max_queue: int
    completed: int
    rejected: int  # answered 503 because the queue was full


class Health(BaseModel):
    status: str
    version: str
    model: str  # as named on the command line ("default") or the weights file's name
    model_sha256: str | None  # of the weights file that runs
    backend: str
    render_size: int
    queue: QueueState


class _InMemoryParser(MultiPartParser):
    """Starlette's multipart parser with a spool as large as the whole body may be, so that an
    upload never rolls over to a temporary file on disk."""

    def __init__(self, request: Request, stream: AsyncGenerator[bytes, None], limit: int) -> None:
        super().__init__(request.headers, stream, max_files=len(job.FILE_FIELDS),
                         max_fields=len(job.TEXT_FIELDS), max_part_size=MAX_FIELD_BYTES)
        self.spool_max_size = limit + 1


async def _limited(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise ApiError(413, f"the upload is larger than the limit of {limit:,} bytes "
                                "(--max-upload-mb)")
        yield chunk


@dataclass
class Form:
    fields: dict[str, str]  # text fields
    files: dict[str, bytes]  # file fields' contents
    image_name: str  # the photo's file name as the client sent it (may be empty)


async def read_form(request: Request, limit: int) -> Form:
    """The multipart form, in memory.

    Raises:
        ApiError: 413 over ``limit`` bytes (by Content-Length before reading, else while
            reading), 400 for a body that is not a multipart form or repeats a field.
    """
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise ApiError(400, "send the photo as multipart/form-data in the field 'image'")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise ApiError(413, f"the upload ({int(length):,} bytes) is larger than the limit of "
                            f"{limit:,} bytes (--max-upload-mb)")
    try:
        form = await _InMemoryParser(request, _limited(request, limit), limit).parse()
    except MultiPartException as error:
        raise ApiError(400, f"bad multipart form: {error.message}") from None
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    image_name = ""
    try:
        for name, value in form.multi_items():
            if name in fields or name in files:
                raise ApiError(400, f"the form field {name!r} is given more than once")
            if isinstance(value, UploadFile):
                if name not in job.FILE_FIELDS:
                    raise ApiError(400, f"unexpected file in the form field {name!r}; files go "
                                        f"in {' and '.join(job.FILE_FIELDS)}")
                files[name] = await value.read()
                if name == "image":
                    image_name = value.filename or ""
            elif name in job.FILE_FIELDS:
                raise ApiError(400, f"the form field {name!r} must be a file")
            else:
                fields[name] = value
    finally:
        await form.close()
    if "image" not in files:
        raise ApiError(400, "no photo: send it as a file in the form field 'image'")
    return Form(fields, files, image_name)


def zip_answer(name: str, content: bytes, confidence: bytes) -> bytes:
    """The answer to ``confidence=true``: a zip of the result (``name``) and its confidence map
    (``<stem>-confidence.png``), stored uncompressed (both are compressed images already)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(name, content)
        archive.writestr(f"{Path(name).stem.removesuffix('-color')}-confidence.png", confidence)
    return buffer.getvalue()


def _image_error(error: ImageError) -> ApiError:
    if isinstance(error, PixelLimitError):
        return ApiError(413, f"{error} (--max-pixels)")
    return ApiError(415, str(error))


def _error_response(error: ApiError) -> JSONResponse:
    return JSONResponse({"error": error.message}, status_code=error.status, headers=error.headers)


class _HeldResponse(Response):
    """A response that frees its request's admission once it has been sent (or failed to be):
    the answer's bytes count against the memory bound until then."""

    def __init__(self, ticket: Ticket, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ticket = ticket

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[override]
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._ticket.drop()


_ERRORS = {
    400: "a bad option or form: unknown field, render_size/saturation/format/hints/restore/"
         "confidence out of range, hints off the photo, confidence from a model without one",
    408: "the upload took longer than --timeout",
    413: "the upload is over --max-upload-mb, or the photo over --max-pixels (from its header)",
    415: "the file is not an image Pillow can read (or is empty, truncated or corrupt)",
    503: "the queue is full, or the answer was not ready within --timeout; see Retry-After",
}

def create_app(config: ServeConfig, colorizer: Colorizer,
               credentials: ContentCredentials | None = None) -> FastAPI:
    """The API around one loaded ``colorizer`` (:meth:`Colorizer.from_pretrained
    <autocolor.infer.colorizer.Colorizer.from_pretrained>` with ``config.max_pixels``);
    ``credentials`` (:class:`autocolor.credentials.ContentCredentials`) sign every answer."""
    worker = Worker(config.max_queue)
    xmp = colorizer.xmp(provenance=config.provenance)
    provenance = colorizer.provenance

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        worker.shutdown()

    app = FastAPI(title="autocolor", version=__version__, lifespan=lifespan,
                  description="Colours black-and-white photos at full resolution. Every answer "
                              "carries an XMP packet saying a trained model coloured it.")
    app.state.worker = worker
    app.state.colorizer = colorizer

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return _error_response(error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code,
                            headers=getattr(error, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid request')}"},
                            status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        LOGGER.error("unexpected error on %s %s", request.method, request.url.path,
                     exc_info=error)
        line = first_line(error)
        return JSONResponse({"error": f"internal error: {line}"}, status_code=500)

    @app.get("/health", response_model=Health, summary="the server, its model and its queue")
    async def health() -> Health:
        return Health(
            status="ok", version=__version__,
            model=provenance.model_name if provenance else str(colorizer.model_name),
            model_sha256=provenance.model_sha256 if provenance else None,
            backend=colorizer.backend.name, render_size=colorizer.render_size,
            queue=QueueState(admitted=worker.admitted, max_queue=worker.max_queue,
                             completed=worker.completed, rejected=worker.rejected))

    @app.post(
        "/v1/colorize",
        summary="colour one photo",
        description="Answers with the coloured photo at its full size: the same pixels as "
                    "`autocolor colorize` with the same options, EXIF/ICC/alpha kept, with the "
                    "XMP provenance mark.",
        response_class=Response,
        openapi_extra={"requestBody": {"required": True, "content": {
            "multipart/form-data": {"schema": job.form_schema()}}}},
        responses={200: {"content": {media: {} for media in OUTPUT_FORMATS.values()},
                         "description": "the coloured photo"},
                   **{status: {"model": ErrorBody, "description": text}
                      for status, text in _ERRORS.items()}},
    )
    async def colorize(request: Request) -> Response:
        started = time.monotonic()
        try:
            ticket = worker.admit()
        except QueueFull as full:
            raise ApiError(503, str(full), {"Retry-After": str(full.retry_after_s)}) from None
        handed_over = False
        try:
            try:
                form = await asyncio.wait_for(
                    read_form(request, config.max_upload_bytes), config.timeout_s)
            except TimeoutError:
                raise ApiError(408, f"the upload took longer than {config.timeout_s:g} s "
                                    "(--timeout)") from None
            try:
                options = job.parse_options(form.fields)
            except job.OptionError as error:
                raise ApiError(400, str(error)) from None
            try:
                for name, data in form.files.items():  # the header only: no pixels decoded
                    job.check_header(data, config.max_pixels, name)
            except ImageError as error:
                raise _image_error(error) from None

            def work() -> tuple[bytes, str, bytes | None]:
                return job.colorize(colorizer, form.files["image"], options, config.max_pixels,
                                    form.files.get("reference"), xmp, credentials,
                                    form.image_name)

            remaining = config.timeout_s - (time.monotonic() - started)
            try:
                content, fmt, confidence = await worker.run(ticket, work,
                                                            max(remaining, 0.001))
            except TimeoutError:
                raise ApiError(503, f"not coloured within {config.timeout_s:g} s (--timeout); "
                                    "the server is busy",
                               {"Retry-After": str(worker.retry_after())}) from None
            except ImageError as error:
                raise _image_error(error) from None
            except ValueError as error:  # hints off the photo, among others
                raise ApiError(400, first_line(error)) from None
            form.files.clear()  # the upload is no longer needed while the answer is sent
            name = result_name(form.image_name, OUTPUT_SUFFIXES[fmt][0])
            media_type = OUTPUT_FORMATS[fmt]
            if confidence is not None:  # the result and its map, side by side in a zip
                content = zip_answer(name, content, confidence)
                name, media_type = f"{Path(name).stem}.zip", "application/zip"
            disposition = f'inline; filename="{name}"'
            handed_over = True
            return _HeldResponse(ticket, content=content, media_type=media_type,
                                 headers={"Content-Disposition": disposition})
        finally:
            if not handed_over:
                ticket.drop()

    return app
