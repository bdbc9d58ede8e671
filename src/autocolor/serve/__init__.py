"""``autocolor serve``: colouring over HTTP (FastAPI + uvicorn, the ``serve`` extra)."""
