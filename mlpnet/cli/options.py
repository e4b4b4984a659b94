"""Options shared by several commands, defined once, and the error handler every command wears."""

from __future__ import annotations

import functools
import sys
import time
import traceback
from pathlib import Path

import click

debug_option = click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
set_option = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                          help="Override a config key (dotted path, YAML value); repeatable.")
model_option = click.option("-m", "--model", "model_path", type=click.Path(path_type=Path), default=None,
                            help="Checkpoint to use.  [default: runs/latest/best.npz]")
"""The one spelling of the checkpoint a command reads (``-m``/``--model``), in every command."""


def output_option(help: str, *old: str):
    """``-o``/``--output``: what a command writes (a file or a folder), the one spelling in every command.

    Each earlier spelling in ``old`` (``--out``, ``--plots``) still works, hidden from ``--help``,
    with a one-line deprecation warning on stderr; given with a different ``-o`` it is refused.
    """

    def decorate(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            for spelling in old:
                value = kwargs.pop(_alias_dest(spelling))
                if value is None:
                    continue
                click.echo(f"warning: {spelling} is deprecated; use -o/--output", err=True)
                if kwargs["output"] is not None and kwargs["output"] != value:
                    _fail(f"error: two outputs given (-o {kwargs['output']} and {spelling} {value}); name one", 2)
                kwargs["output"] = value
            return f(*args, **kwargs)

        for spelling in old:
            wrapper = click.option(spelling, _alias_dest(spelling), type=click.Path(path_type=Path), default=None,
                                   hidden=True)(wrapper)
        return click.option("-o", "--output", "output", type=click.Path(path_type=Path), default=None,
                            help=help)(wrapper)

    return decorate


def _alias_dest(spelling: str) -> str:
    return "deprecated_" + spelling.lstrip("-").replace("-", "_")


def positional_model(f):
    """The checkpoint as a positional argument too, in every command with no other positional (all but predict)."""
    return click.argument("checkpoint_path", metavar="[MODEL]", required=False, type=click.Path(path_type=Path))(f)


def pick_model(positional: Path | None, option: Path | None) -> Path | None:
    """The checkpoint named by ``-m``/``--model`` or by the positional argument (not two different ones)."""
    if positional is not None and option is not None and positional != option:
        from ..errors import ConfigError

        raise ConfigError(f"two checkpoints given ({positional} and --model {option}); name one")
    return option or positional
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of text.")


def model_or_latest(model_path: Path | None) -> Path:
    """The checkpoint a command uses: the one named, else the latest run's, announced on stderr."""
    if model_path is not None:
        return model_path
    from ..train.rundir import default_model

    path = default_model()
    click.echo(f"using {path} (the latest run; name another with --model)", err=True)
    return path


def handle_errors(f):
    """Turn mlpnet errors into one line on stderr and a non-zero exit (tracebacks with --debug).

    Exit status: 2 for config errors, 1 for other errors, 130 for Ctrl-C, 3 for a bug.
    A closed output pipe (``mlpnet predict ... | head``) ends the command quietly.
    """

    @functools.wraps(f)
    def wrapper(*args, debug: bool = False, **kwargs):
        from ..errors import MlpnetError

        try:
            return f(*args, **kwargs)
        except MlpnetError as err:
            if debug:
                traceback.print_exc()
            _fail("error: " + str(err), err.exit_code)
        except KeyboardInterrupt:
            if debug:
                traceback.print_exc()
            _fail("interrupted", 130)
        except BrokenPipeError:
            _quiet_stdout()
            sys.exit(0)
        except OSError as err:
            if debug:
                traceback.print_exc()
            where = f"{err.filename}: " if getattr(err, "filename", None) else ""
            _fail(f"error: {where}{err.strerror or err}", 1)
        except Exception as err:  # a bug: say so in one line, keep the traceback for --debug
            if debug:
                traceback.print_exc()
            _fail(f"internal error: {type(err).__name__}: {err} (run with --debug for the traceback)", 3)

    return debug_option(wrapper)


def _fail(line: str, code: int) -> None:
    """Print ``line`` on stderr and exit with ``code``; under mpirun, end every rank (none may hang).

    When every rank fails alike (a config error), rank 0's line is the one shown: the
    others wait a few seconds first, and are ended by rank 0's exit before they print.
    """
    from ..distributed import mpi

    from ..errors import printable

    line = printable(line)  # always one line, whatever a file name or value held
    rank = mpi.launched_rank()
    if rank > 0:
        time.sleep(5.0)
        line += f" (MPI rank {rank})"
    click.echo(line, err=True)
    mpi.abort_if_parallel(code)
    sys.exit(code)


def _quiet_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so Python's exit flush does not complain."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
