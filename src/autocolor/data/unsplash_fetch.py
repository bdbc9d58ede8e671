"""Fetching one Unsplash photo (``autocolor data unsplash``, ``data/unsplash.py``): the request
URL with resize parameters, one HTTP GET classified for retrying (:class:`FetchError`), retries
with exponential backoff and jitter (:class:`RetryPolicy`), the gate a 429 closes for every
worker (:class:`RateGate`), and the check that the body decodes before it is written atomically.

Importing this module is cheap (no torch, NumPy, PIL or urllib until a download starts).
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from autocolor.atomic import atomic_write
from autocolor.data.unsplash_tables import DownloadRecord, PhotoRow, utc_now

DEFAULT_WIDTH = 512
DEFAULT_QUALITY = 85
MAX_IMAGE_BYTES = 64 << 20  # a resized JPEG is ~100 kB; anything this big is not what we asked for
USER_AGENT = "autocolor-unsplash-downloader/0.1 (+https://github.com/unsplash/datasets)"

# Reasons a photo failed, as written to the manifest's ``reason`` column.
NOT_FOUND = "not_found"  # HTTP 404: the photo was removed from Unsplash
REASON_TEXT = {
    NOT_FOUND: "not found (HTTP 404)",
    "http_4xx": "client error (HTTP 4xx)",
    "http_5xx": "server error (HTTP 5xx)",
    "rate_limited": "rate limited (HTTP 429)",
    "timeout": "timed out",
    "connection": "connection error",
    "truncated": "truncated body (Content-Length mismatch)",
    "not_an_image": "not a decodable image",
    "too_large": f"body larger than {MAX_IMAGE_BYTES >> 20} MiB",
    "bad_row": "bad row in the photos table",
    "interrupted": "interrupted",
}


def image_request_url(
    image_url: str, width: int = DEFAULT_WIDTH, quality: int = DEFAULT_QUALITY
) -> str:
    """``photo_image_url`` with Unsplash's dynamic resize parameters (w, fm=jpg, q) set."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(image_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k not in {"w", "fm", "q"}]
    query += [("w", str(width)), ("fm", "jpg"), ("q", str(quality))]
    return urlunsplit(parts._replace(query=urlencode(query)))


# --------------------------------------------------------------------------------------------
# One photo, retried


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Delays are seconds; tests shrink them to milliseconds."""

    attempts: int = 6  # tries per photo, the first included
    timeout: float = 30.0  # per request: connect, headers and the whole body
    backoff_base: float = 1.0  # first retry waits about this long, then 2x, 4x, ...
    backoff_max: float = 60.0
    jitter: float = 0.5  # each delay is scaled by a random factor in [1 - jitter, 1]
    retry_after_max: float = 600.0  # cap on a server's Retry-After

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Backoff before retry number ``retry`` (1 for the first retry)."""
        base = min(self.backoff_max, self.backoff_base * 2 ** max(0, retry - 1))
        return base * (1.0 - self.jitter * (rng or random).random())


class _Cancelled(Exception):
    pass


class RateGate:
    """A gate every worker passes before each request; a 429 closes it for everyone."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self._lock = threading.Lock()
        self._open_at = 0.0  # time.monotonic() when the gate reopens
        self._stop = stop or threading.Event()
        self.pauses = 0

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._open_at = max(self._open_at, time.monotonic() + max(0.0, seconds))
            self.pauses += 1

    def wait(self) -> float:
        """Block while the gate is closed; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                remaining = self._open_at - time.monotonic()
            if remaining <= 0:
                return waited
            if self._stop.wait(remaining):
                raise _Cancelled
            waited += remaining


class FetchError(Exception):
    def __init__(self, reason: str, message: str, *, retryable: bool, http_status: int = 0,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retryable = retryable
        self.http_status = http_status
        self.retry_after = retry_after


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delay-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _fetch(opener, url: str, timeout: float) -> tuple[bytes, int]:
    """GET ``url``; return (body, status) or raise FetchError, classified for retrying."""
    import http.client
    import ssl
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url, headers={"User-Agent": USER_AGENT, "Accept": "image/jpeg,image/*;q=0.8"}
    )
    deadline = time.monotonic() + timeout
    try:
        with opener.open(request, timeout=timeout) as response:
            status = response.status
            length = response.headers.get("Content-Length", "").strip()
            expected = int(length) if length.isdigit() else None
            content_type = response.headers.get_content_type()
            if expected is not None and expected > MAX_IMAGE_BYTES:
                raise FetchError("too_large", f"Content-Length {expected}", retryable=False)
            chunks: list[bytes] = []
            received = 0
            while chunk := response.read(1 << 16):
                received += len(chunk)
                chunks.append(chunk)
                if received > MAX_IMAGE_BYTES:
                    raise FetchError("too_large", f"more than {MAX_IMAGE_BYTES} bytes",
                                     retryable=False)
                if time.monotonic() > deadline:
                    raise FetchError("timeout", f"body not complete after {timeout:g} s",
                                     retryable=True)
    except FetchError:
        raise
    except http.client.IncompleteRead as error:
        raise FetchError("truncated", f"body ended early: {error!r}", retryable=True) from error
    except urllib.error.HTTPError as error:
        code = error.code
        retry_after = parse_retry_after(error.headers.get("Retry-After") if error.headers else None)
        error.close()
        message = f"HTTP {code} {error.reason}"
        if code == 404:
            raise FetchError(NOT_FOUND, message, retryable=False, http_status=code) from None
        if code == 429:
            raise FetchError("rate_limited", message, retryable=True, http_status=code,
                             retry_after=retry_after) from None
        if code >= 500 or code == 408:
            raise FetchError("http_5xx" if code >= 500 else "timeout", message, retryable=True,
                             http_status=code, retry_after=retry_after) from None
        raise FetchError("http_4xx", message, retryable=False, http_status=code) from None
    except TimeoutError as error:
        raise FetchError("timeout", f"timed out after {timeout:g} s", retryable=True) from error
    except urllib.error.URLError as error:
        cause = error.reason
        if isinstance(cause, TimeoutError):
            raise FetchError("timeout", f"timed out after {timeout:g} s",
                             retryable=True) from error
        permanent = isinstance(cause, ssl.SSLCertVerificationError) or not isinstance(
            cause, OSError)  # e.g. "unknown url type"
        raise FetchError("connection", str(cause), retryable=not permanent) from error
    except (http.client.HTTPException, ConnectionError, OSError) as error:
        raise FetchError("connection", f"{type(error).__name__}: {error}",
                         retryable=True) from error
    body = b"".join(chunks)
    if expected is not None and received != expected:
        raise FetchError("truncated", f"received {received} of {expected} bytes",
                         retryable=True, http_status=status)
    if content_type.startswith("text/"):
        raise FetchError("not_an_image", f"got {content_type} instead of an image",
                         retryable=False, http_status=status)
    return body, status


def _store_verified(body: bytes, target: Path) -> None:
    """Decode ``body`` fully (:func:`autocolor.images.load_rgb`: truncated data, non-images and
    pixel bombs fail), then write it to ``target`` through a hidden temporary name and a rename
    (:func:`autocolor.atomic.atomic_write`)."""
    from autocolor.images import ImageError, load_rgb

    try:
        if load_rgb(body, name=target.name).size == 0:
            raise FetchError("not_an_image", "empty image", retryable=False)
    except ImageError as error:
        raise FetchError("not_an_image", error.reason, retryable=False) from error
    with atomic_write(target) as handle:
        handle.write(body)


@dataclass
class DownloadContext:
    """What every worker of one run shares."""

    opener: object
    out_dir: Path
    width: int
    quality: int
    policy: RetryPolicy
    gate: RateGate
    stop: threading.Event
    rng: random.Random = field(default_factory=random.Random)


def download_one(photo: PhotoRow, ctx: DownloadContext) -> DownloadRecord:
    """Fetch ``photo`` into ``ctx.out_dir/<photo_id>.jpg``, retrying as ``ctx.policy`` says
    -> its manifest record (status "ok" or "failed"; "interrupted" when the run stops)."""
    url = image_request_url(photo.image_url, ctx.width, ctx.quality)
    record = DownloadRecord(photo.photo_id, url, "failed", page_url=photo.page_url,
                            photographer=photo.photographer)
    target = ctx.out_dir / f"{photo.photo_id}.jpg"
    policy = ctx.policy
    try:
        while True:
            ctx.gate.wait()
            record.attempts += 1
            try:
                body, status = _fetch(ctx.opener, url, policy.timeout)
                _store_verified(body, target)
            except FetchError as error:
                record.reason, record.error = error.reason, str(error)
                record.http_status = error.http_status
                if not error.retryable or record.attempts >= policy.attempts:
                    break
                delay = policy.delay(record.attempts, ctx.rng)
                if error.retry_after is not None:
                    delay = min(max(delay, error.retry_after), policy.retry_after_max)
                if error.reason == "rate_limited":
                    ctx.gate.pause(delay)  # everyone waits, not just this worker
                elif ctx.stop.wait(delay):
                    raise _Cancelled from None
                continue
            record.status, record.reason, record.error = "ok", "", ""
            record.http_status, record.bytes = status, len(body)
            record.sha256 = hashlib.sha256(body).hexdigest()
            record.file = target.name
            break
    except _Cancelled:
        record.reason, record.error = "interrupted", "interrupted before it arrived"
    record.finished_at = utc_now()
    return record
