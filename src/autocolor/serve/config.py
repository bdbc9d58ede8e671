"""The server's settings (``autocolor serve``'s options), with why each default is what it is."""

from __future__ import annotations

from dataclasses import dataclass

from autocolor.images import SHARED_MAX_PIXELS

# The largest render size a request may ask for: the network's memory grows with its square
# (2048 x 1536 renders hold ~1.3 GB of activations in the bins head on the CPU).
MAX_RENDER_SIZE = 2048


@dataclass(frozen=True)
class ServeConfig:
    """What ``autocolor serve`` runs with.

    Memory bound: at most ``max_queue`` requests are admitted at once (uploading, waiting, being
    coloured, or sending their answer); each holds at most ``max_upload_mb`` of request body
    (then its answer, about as large), only the one in the worker holds decoded pixels (about
    40 bytes per pixel while colouring, so ``max_pixels`` bounds it), and one model is loaded.
    So: max_queue x max_upload_mb + 40 B x max_pixels + the model. The defaults: 16 x 50 MB +
    1.6 GB + ~0.1 GB, about 2.5 GB.
    """

    host: str = "127.0.0.1"  # loopback: serving every interface (0.0.0.0) must be asked for
    port: int = 8000
    model: str = "default"  # installed weights name or a .safetensors/.onnx path
    backend: str = "auto"  # ONNX Runtime on the CPU when the model has an ONNX file beside it
    max_upload_mb: float = 50.0  # the whole request body: a 12 MP 8-bit TIFF is 36 MB
    # As the web app: every client's photo shares this process's memory, so less than the
    # command line's 100 MP.
    max_pixels: int = SHARED_MAX_PIXELS
    # Requests admitted at once, the one being coloured included; more get 503 + Retry-After.
    # A photo takes ~0.5 s on 2 cores, so 16 is a few seconds of work: a client that waits
    # longer is better told to come back.
    max_queue: int = 16
    timeout_s: float = 120.0  # from admission to the answer; a request over it gets 503/408
    provenance: bool = True  # the XMP mark on every answer (see autocolor.provenance)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    def check(self) -> None:
        """Raises ValueError naming the first bad setting."""
        if not 0 < self.port < 65536:
            raise ValueError(f"--port must be 1-65535, got {self.port}")
        for name in ("max_upload_mb", "max_pixels", "max_queue", "timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"--{name.replace('_', '-').removesuffix('-s')} must be "
                                 f"positive, got {getattr(self, name)}")
