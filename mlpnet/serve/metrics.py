"""Prometheus metrics of ``mlpnet serve`` (``GET /metrics``), shared by all worker processes.

With several workers every process writes its counts into files of one folder
(prometheus-client's multiprocess mode) and ``/metrics``, answered by whichever worker
gets it, adds them up; the folder is made by :func:`mlpnet.serve.server.serve` before the
workers start. With one process (or an app built by :func:`~mlpnet.serve.app.create_app`
in a test) the counts live in that process's own registry.
"""

from __future__ import annotations

import os

try:
    import prometheus_client
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
    from prometheus_client import multiprocess as prom_multiprocess
except ImportError as err:  # the optional extra is not installed
    raise ImportError(f'mlpnet.serve.metrics needs {err.name}: pip install "mlpnet[serve]"') from None

CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus-client's own variable: set by the parent before the workers start, read at their import."""

ROUTES = ("/", "/predict", "/batch_predict", "/health", "/model", "/metrics", "/openapi.json", "/docs",
          "/favicon.ico")
"""The ``route`` label's values (plus ``/static`` and ``other``): a fixed set, whatever paths clients try."""
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096)


def route_of(path: str) -> str:
    """The ``route`` label for a request path."""
    if path in ROUTES:
        return path
    return "/static" if path.startswith("/static/") else "other"


class Metrics:
    """The server's metrics: requests by route and status, latency, batch sizes, model info.

    Parameters
    ----------
    model : dict
        Labels of the ``mlpnet_model_info`` gauge (file name, architecture, input kind, classes).
    multiprocess_dir : str, optional
        The folder the workers share; None keeps the counts in this process.
    """

    def __init__(self, model: dict[str, str], multiprocess_dir: str | None = None):
        self.multiprocess_dir = multiprocess_dir
        if multiprocess_dir:
            if os.environ.get(MULTIPROC_ENV) != multiprocess_dir:
                raise RuntimeError(f"{MULTIPROC_ENV} must be {multiprocess_dir} before prometheus_client is imported")
            own = None  # values go to the shared files; /metrics reads them all back
        else:
            own = CollectorRegistry()
        self.registry = own
        self.requests = Counter("mlpnet_requests", "HTTP requests answered, by route, method and status.",
                                ["route", "method", "status"], registry=own)
        self.latency = Histogram("mlpnet_request_duration_seconds",
                                 "Time from the request's arrival at the app to the last byte of its answer.",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=own)
        self.batch = Histogram("mlpnet_batch_size", "Inputs (images or rows) per forward pass of the network.",
                               buckets=BATCH_BUCKETS, registry=own)
        info = Gauge("mlpnet_model_info", "The served checkpoint (value 1); its description in the labels.",
                     list(model), registry=own, multiprocess_mode="max")
        info.labels(**model).set(1)

    def collect(self) -> bytes:
        """The Prometheus text exposition of every worker's counts."""
        if self.multiprocess_dir:
            registry = CollectorRegistry()
            prom_multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)
        else:
            registry = self.registry
        return prometheus_client.generate_latest(registry)

