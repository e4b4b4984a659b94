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
    cli(prog_name="mlpnet")
