"""The communicator the training loop talks to: one process by default, MPI under ``mpirun``.

The loop needs five things from it: which process this is (``rank``, ``size``,
``is_root``), which rows of a global batch are this rank's (``part``), summing a buffer
over all processes in place (``allreduce_``), and copying rank 0's buffer to every
process (``bcast_``). ``Comm`` does all of that for a single process at no cost, so the
loop has one code path; ``MPIComm`` does it with mpi4py.

Whether to use MPI is decided from the launcher's environment (``OMPI_COMM_WORLD_SIZE``
from Open MPI, ``PMI_SIZE`` from MPICH / Hydra) before mpi4py is imported, so a plain
``mlpnet train`` never loads MPI.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from ..errors import MlpnetError

SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE")
RANK_VARS = ("OMPI_COMM_WORLD_RANK", "PMI_RANK")
LOCAL_SIZE_VARS = ("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS")
EXTRA_HINT = 'pip install "mlpnet[mpi]"'


class Comm:
    """A single process: every collective is the identity."""

    rank = 0
    size = 1
    local_size = 1
    """Processes of this run on this machine (they share its cores)."""

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def part(self, n: int) -> tuple[int, int]:
        """This rank's rows ``[lo, hi)`` of a batch of ``n``: contiguous, sizes differing by at most one."""
        q, r = divmod(n, self.size)
        lo = self.rank * q + min(self.rank, r)
        return lo, lo + q + (self.rank < r)

    def allreduce_(self, buf: np.ndarray) -> np.ndarray:
        """Sum ``buf`` (contiguous) over all processes, in place; returns it."""
        return buf

    def bcast_(self, buf: np.ndarray, root: int = 0) -> np.ndarray:
        """Overwrite ``buf`` with ``root``'s, in place; returns it."""
        return buf

    def abort(self, code: int) -> None:
        """End every process of the run with exit status ``code`` (one process: nothing to do)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rank={self.rank}, size={self.size})"


class MPIComm(Comm):
    """``MPI.COMM_WORLD`` through mpi4py's buffer interface (no pickling on the hot path)."""

    def __init__(self, comm=None):
        from mpi4py import MPI

        self._MPI = MPI
        self._comm = comm if comm is not None else MPI.COMM_WORLD
        self.rank, self.size = self._comm.Get_rank(), self._comm.Get_size()
        self.local_size = _env_int(LOCAL_SIZE_VARS) or self.size

    def allreduce_(self, buf: np.ndarray) -> np.ndarray:
        self._comm.Allreduce(self._MPI.IN_PLACE, buf, op=self._MPI.SUM)
        return buf

    def bcast_(self, buf: np.ndarray, root: int = 0) -> np.ndarray:
        self._comm.Bcast(buf, root=root)
        return buf

    def abort(self, code: int) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        self._comm.Abort(code)


class RowsOfGlobalBatch:
    """Stands in for the training ``Generator`` in ``model.forward`` so dropout masks match one process.

    One process draws each dropout mask for the whole batch, ``(n, width)``. Here every
    rank draws that same full mask from the same generator (so all ranks' generators
    stay in step, and the next epoch's shuffle agrees) and keeps the rows ``[lo, hi)`` it
    trains on: the masks are those of a single-process run, row for row.
    """

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.lo = self.hi = self.n = 0
        self._full: dict[tuple[int, np.dtype], np.ndarray] = {}

    def rows(self, lo: int, hi: int, n: int) -> "RowsOfGlobalBatch":
        self.lo, self.hi, self.n = lo, hi, n
        return self

    def random(self, *, out: np.ndarray, dtype=np.float64) -> np.ndarray:
        """Fill ``out (hi - lo, width)`` with rows ``lo:hi`` of a fresh ``(n, width)`` draw."""
        key = (out.shape[1], np.dtype(dtype))
        full = self._full.get(key)
        if full is None or len(full) < self.n:
            full = self._full[key] = np.empty((self.n, out.shape[1]), dtype)
        self.rng.random(out=full[:self.n], dtype=dtype)
        out[...] = full[self.lo:self.hi]
        return out

    def skip_masks(self, widths: list[int], dtype) -> None:
        """Draw (and drop) the masks of a batch this rank has no rows of, to stay in step."""
        for w in widths:
            self.rows(0, 0, self.n).random(out=np.empty((0, w), dtype), dtype=dtype)


_COMM: Comm | None = None


def launched_size() -> int:
    """How many processes the MPI launcher started (1 when not under ``mpirun``)."""
    return _env_int(SIZE_VARS) or 1


def launched_rank() -> int:
    """This process's rank as the MPI launcher numbered it (0 when not under ``mpirun``)."""
    return (_env_int(RANK_VARS) or 0) if launched_size() > 1 else 0


def world() -> Comm:
    """The communicator of this process: ``MPIComm`` under ``mpirun -n K`` with K > 1, else ``Comm``.

    Raises
    ------
    MlpnetError
        Under ``mpirun`` with K > 1 when mpi4py is not installed.
    """
    global _COMM
    if _COMM is None:
        size = launched_size()
        if size <= 1:
            _COMM = Comm()
        else:
            try:
                import mpi4py  # noqa: F401
            except ImportError:
                raise MlpnetError(f"started by mpirun with {size} processes, but mpi4py is not installed; "
                                  f"{EXTRA_HINT}") from None
            _COMM = MPIComm()
    return _COMM


def abort_if_parallel(code: int) -> None:
    """After an error on this rank: end the other ranks too, so none waits forever in a collective."""
    if _COMM is not None and _COMM.size > 1:
        _COMM.abort(code)


def _env_int(names: tuple[str, ...]) -> int | None:
    for name in names:
        value = os.environ.get(name, "")
        if value.strip().isdigit():
            return int(value)
    return None
