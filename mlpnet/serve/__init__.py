"""``mlpnet serve``: an HTTP API and a drawing page for a checkpoint (needs ``mlpnet[serve]``).

Nothing here imports Starlette or uvicorn at import time: :func:`serve` does, and says
which extra to install when they are missing.
"""

from .server import serve

__all__ = ["serve"]
