"""The ``mlpnet`` command group. It only registers commands; each lives in its own module.

Library modules are imported inside the commands, not at the top, so that
``mlpnet --help`` starts without loading NumPy.
"""

from __future__ import annotations

import click

from .. import __version__
from .evaluate import evaluate
from .export import export
from .info import info
from .predict import predict
from .serve import serve
from .sweep import sweep
from .train import train


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="mlpnet")
def cli() -> None:
    """Train, evaluate and use multilayer perceptrons on NumPy.

    \b
    mlpnet train                      train the default MNIST model
    mlpnet train -c configs/fashion-mnist.yaml --set train.epochs=5
    mlpnet evaluate                   metrics of the latest run, class by class
    mlpnet predict my-digit.png       read your own image
    mlpnet serve                      draw in the browser, watch the network answer
    """


for command in (train, evaluate, predict, info, serve, export, sweep):
    cli.add_command(command)


def main() -> None:
    _restore_ctrl_c()
    _stop_safely_on_sigterm()
    cli(prog_name="mlpnet")


def _restore_ctrl_c() -> None:
    """Make SIGINT stop mlpnet safely (as Ctrl-C does) even if it was started with SIGINT ignored.

    A shell starts background jobs (``mlpnet train &`` in a script) with SIGINT ignored, and
    Python then leaves it ignored: ``kill -INT`` would do nothing, and the only way left to
    stop the run would be one that skips the safe stop (checkpoint kept, resume command printed).
    """
    import signal

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _stop_safely_on_sigterm() -> None:
    """Make SIGTERM stop mlpnet as Ctrl-C does: the last epoch kept, the resume command printed, the
    temporary files (``data.chunk_cache``) deleted.

    Schedulers, ``docker stop`` and ``kill`` send SIGTERM, whose default ends the process at once,
    skipping all of that. A second SIGTERM ends it at once. ``mlpnet serve`` installs uvicorn's
    own handler (drain, then stop), which replaces this one."""
    import signal

    def stop(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise KeyboardInterrupt

    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, stop)
