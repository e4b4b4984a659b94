"""Training on a CSV file too big for memory (``data.chunk_rows``): read a chunk of rows at a time, never whole.

Before training, two passes over the file:

1. **Schema.** Every chunk is read as a file of its own, and what the chunks say is merged:
   a column must read as numbers in every chunk or as words in every chunk (else a
   one-line error names it); the categories of a word column and the classes are the
   union over the chunks, ordered as reading the whole file orders them; the rows are
   counted and the held-out rows chosen.
2. **Statistics.** Every chunk is read with the merged schema: the training rows' feature
   means and standard deviations (:class:`~mlpnet.data.spec.Moments`), the targets'
   (regression) and the class counts (``train.class_weight: balanced``). The validation
   rows, at most ``data.val_max`` of a fractional ``data.val_size``, are kept in memory.

Each epoch then reads the chunks in an order drawn from the run's generator and shuffles
the rows within each chunk (:func:`mlpnet.data.batching.epoch_batches`), so a resumed run
repeats it; the test split is read a chunk at a time too.

Held-out rows are chosen by a hash of each row's number and the seed, so no pass needs
them all: a row is a test row when its first hash falls below ``data.test_size`` (about
that fraction of the rows, not exactly), and the validation rows are the ``data.val_size``
others with the smallest second hash (exactly as many as in memory). Neither split is
stratified by class, as it is when the whole file is read.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError
from .csv import CsvOptions, Table, model_schema, read_csv
from .csv.parse import check_categories
from .csv.sniff import _is_number
from .csv.chunks import Chunks
from .dataset import MNIST_INPUT, Dataset, Split
from .holdout import holdout_count, validation_size
from .spec import Moments, Standardizer
from .transforms import class_weights, target_stats as fit_target_stats

if TYPE_CHECKING:
    from ..config import DataConfig
    from .spec import InputSpec

TRAIN, VAL, TEST = 0, 1, 2


@dataclass
class _Reading:
    """What every pass after the schema pass reads chunks with, and what it does to their rows."""

    opts: CsvOptions
    schema: dict
    classes: list[str] | None
    task: str
    seed: int
    test_size: float | None
    """None: the file holds no test rows (``data.test_path`` names them)."""
    starts: list[int]
    """The number of each chunk's first row (rows dropped by ``data.missing: drop`` not counted)."""
    val: np.ndarray = field(default_factory=lambda: np.arange(0, dtype=np.uint64))
    """The row numbers of the validation rows, sorted."""
    scaler: Standardizer | None = None
    targets: dict | None = None
    per_class: np.ndarray | None = None

    cache: Path | None = None
    """A folder holding each chunk of the training file parsed (``data.chunk_cache``), or None."""
    cleanup: Callable[[], object] = lambda: None
    """Deletes the cache folder (at the latest when the process ends)."""

    def table(self, chunks: Chunks, i: int) -> Table:
        return read_csv(chunks.path, options=self.opts, classes=self.classes, schema=self.schema, task=self.task,
                        layout=chunks.read(i))

    def rows(self, chunks: Chunks, i: int, role: int | None) -> Split | None:
        """The rows of chunk ``i`` whose role is ``role`` (None: every row) as the network reads them;
        from the cache when it holds the chunk, else parsed from the file. None when there are none."""
        if self.cache is not None and role is not None:
            x, y = (np.load(self.cache / f"{i}.{role}.{k}.npy") for k in ("x", "y"))
            w = np.load(self.cache / f"{i}.{role}.w.npy") if (self.cache / f"{i}.{role}.w.npy").exists() else None
        else:
            t = self.table(chunks, i)
            keep = slice(None) if role is None else self.roles(self.starts[i], len(t.y)) == role
            x, y, w = t.x[keep], t.y[keep], None if t.w is None else t.w[keep]
        return self.split(x, y, w) if len(y) else None

    def store(self, i: int, t: Table, roles: np.ndarray) -> None:
        """Keep the training and test rows of chunk ``i``, parsed, in the cache folder."""
        for role in (TRAIN, TEST):
            keep = roles == role
            for k, a in (("x", t.x), ("y", t.y), ("w", t.w)):
                if a is not None:
                    np.save(self.cache / f"{i}.{role}.{k}.npy", a[keep])

    def roles(self, first: int, n: int) -> np.ndarray:
        """``TRAIN``, ``VAL`` or ``TEST`` for rows ``first .. first + n - 1`` of the file."""
        rows = np.arange(first, first + n, dtype=np.uint64)
        role = np.full(n, TRAIN, np.int8)
        if self.test_size is not None:
            role[_uniform(rows, self.seed, 1) < self.test_size] = TEST
        role[np.isin(rows, self.val)] = VAL
        return role

    def split(self, x: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> Split:
        """Rows as the network reads them: features standardized, targets standardized (regression),
        class weights applied."""
        if self.scaler is not None:
            x = self.scaler.apply(x)
        if self.task == "regression":
            y = ((y - self.targets["mean"]) / self.targets["std"]).astype(np.float32)
        elif self.task == "multilabel":
            y = y.astype(np.float32)
        elif self.per_class is not None:
            cw = self.per_class[y].astype(np.float32)
            w = cw if w is None else w * cw
        return Split(x, y, w)


class StreamSplit:
    """A split read from the file a chunk at a time: its length, and its rows chunk by chunk (:meth:`parts`).

    ``x``, ``y`` and ``w`` are empty arrays of the rows' shapes and types (what batch buffers
    are allocated from), never the rows themselves."""

    def __init__(self, chunks: Chunks, reading: _Reading, role: int | None, n: int, like: Split,
                 counts: np.ndarray | None = None):
        self.chunks, self.reading, self.role, self.n = chunks, reading, role, n
        self.x, self.y, self.w = like.x, like.y, like.w
        self.counts = counts
        """Rows per class (classification), for ``train.class_weight: balanced``."""

    def __len__(self) -> int:
        return self.n

    @property
    def n_chunks(self) -> int:
        return len(self.chunks)

    def parts(self, order: Sequence[int] | None = None) -> Iterator[Split]:
        """This split's rows of each chunk, in file order or in the chunk ``order`` given; empty parts are skipped."""
        for i in range(len(self.chunks)) if order is None else order:
            rows = self.reading.rows(self.chunks, int(i), self.role)
            if rows is not None:
                yield rows

    def close(self) -> None:
        """Delete the parsed chunks kept on disk (``data.chunk_cache``); reading again parses the file."""
        self.reading.cleanup()
        self.reading.cache = None

    def weigh_classes(self, class_weight: str | dict) -> str:
        """Weigh each training row by its class (``train.class_weight``) as chunks are read; returns the note."""
        per_class, note = class_weights(self.counts, self.reading.classes, class_weight)
        if not (per_class * self.counts).any():
            raise DataError("train.class_weight: every training row has weight 0")
        self.reading.per_class = per_class
        if self.w is None:
            self.w = np.empty(0, np.float32)
        return note

    def __repr__(self) -> str:
        return f"StreamSplit(n={self.n}, {len(self.chunks)} chunks of {self.chunks.rows} rows of {self.chunks.path.name})"


def load(cfg: DataConfig, seed: int, *, classes: list[str] | None = None, like: InputSpec | None = None,
         task: str = "auto", stats: dict | None = None, target_stats: dict | None = None) -> Dataset:
    """The CSV file ``data.path`` (and ``data.test_path``) as a dataset whose training and test splits
    are read ``data.chunk_rows`` rows at a time; the validation split is in memory.

    ``classes``, ``like``, ``stats`` and ``target_stats`` describe a trained model (evaluate):
    the file is then read as that model's training file was, and standardized with its statistics."""
    path = Path(cfg.path)
    opts = CsvOptions.of(cfg)
    chunks = Chunks.open(path, opts, cfg.chunk_rows)
    notes = list(chunks.head.notes)
    schema, classes, task, starts = _schema_pass(chunks, opts, model_schema(like), classes, task, notes)
    n = starts[-1]
    reading = _Reading(opts, schema, classes if task == "classification" else None, task, seed,
                       None if cfg.test_path else cfg.test_size, starts[:-1])
    reading.val, n_held, note = _pick_val(n, seed, reading.test_size, cfg.val_size, cfg.val_max)
    test_chunks, n_test = None, n_held
    if cfg.test_path:
        test_chunks = Chunks.open(cfg.test_path, opts, cfg.chunk_rows)
        n_test = _schema_pass(test_chunks, opts, schema, reading.classes, task, notes)[3][-1]
    if note:
        notes.append(note)
    if not cfg.test_path and not n_held:
        raise DataError(f"data.test_size: {cfg.test_size} of {n} rows holds out no test rows")
    n_train = n - len(reading.val) - n_held
    if cfg.chunk_cache and like is None:
        reading.cache = Path(tempfile.mkdtemp(prefix="mlpnet-chunks-"))
        reading.cleanup = weakref.finalize(reading, shutil.rmtree, reading.cache, ignore_errors=True)
    first, val, counts, moments, ymoments = _stats_pass(chunks, reading, like is None, notes)
    image = bool(schema.get("image"))
    if not image:
        reading.scaler = Standardizer(stats["mean"], stats["std"]) if stats else moments.standardizer()
        if reading.scaler.mean.shape != (first.x.shape[1],):
            raise DataError(f"the data has {first.x.shape[1]} features but the model was trained on "
                            f"{reading.scaler.mean.shape[0]}")
    if task == "regression":
        reading.targets = target_stats or fit_target_stats(ymoments.mean, ymoments.std)
    elif task == "classification" and like is None:
        absent = [c for c, k in zip(classes, counts) if not k]
        if absent:  # (every class is seen in some row: its rows were all held out)
            raise DataError(f"{path}: class '{absent[0]}' has no training rows: its rows all fell in the test or "
                            "validation split, which data.chunk_rows picks by a hash of the row number, not "
                            "stratified; choose another seed, or read the file whole (data.chunk_rows: null)")
    empty = reading.split(first.x[:0], first.y[:0], None if first.w is None else first.w[:0])
    train = StreamSplit(chunks, reading, TRAIN, n_train, empty, counts)
    test = StreamSplit(test_chunks, reading, None, n_test, empty) if test_chunks else \
        StreamSplit(chunks, reading, TEST, n_test, empty)
    notes.append(f"data.chunk_rows: {path.name} is read {cfg.chunk_rows} rows at a time ({len(chunks)} chunks, "
                 f"{n} rows): {n_train} to train on, {len(val.y)} validation rows held in memory, {n_test} test rows"
                 + ("" if cfg.test_path else " (held-out rows picked by a hash of their number and the seed, "
                                             "not stratified)"))
    spec = dict(MNIST_INPUT, csv=schema) if image else {"kind": "table", "features": first.features, "csv": schema}
    ds = Dataset(train=train, val=reading.split(val.x, val.y, val.w) if len(val.y) else None, test=test,
                 classes=classes if task != "regression" else [], input=spec, notes=notes, task=task,
                 targets=classes if task == "regression" else [], target_stats=reading.targets or {})
    if reading.scaler is not None:
        ds.input.mean, ds.input.std = reading.scaler.mean, reading.scaler.std
    return ds


def _schema_pass(chunks: Chunks, opts: CsvOptions, known: dict | None, classes: list[str] | None, task: str,
                 notes: list[str]) -> tuple[dict, list[str], str, list[int]]:
    """Read every chunk as a file of its own and merge what they say (see the module docstring).

    With ``known`` (a trained model's schema, or the training file's for ``data.test_path``)
    the chunks are read with it and only counted. Returns the schema, the classes (or target
    or label columns), the task and the number of each chunk's first row (plus the total)."""
    merged, found, starts, seen, columns = None, set(), [0], _Notes(), classes
    heads: dict[str, dict] = {}  # task -> the schema of the first chunk read as that task
    open_kind: set[int] = set()  # columns whose kind no chunk has shown yet (every value missing so far)
    for lay in chunks.scan():
        t = read_csv(chunks.path, options=opts, classes=classes, schema=known, task=task, layout=lay)
        seen.add(t.notes)
        starts.append(starts[-1] + len(t.y))
        if not len(t.y):
            continue  # every row dropped (data.missing: drop): the chunk says nothing
        heads.setdefault(t.task, t.schema)
        if t.task == "classification":
            found.update(t.classes)
        else:
            columns = t.classes  # the target or label columns' names
        if known is None:
            merged = _merge(chunks, merged, t, lay.line0, open_kind)
    notes += seen.lines(chunks.records)
    if starts[-1] == 0:
        raise DataError(f"{chunks.path}: no rows left: every row has a missing value")
    if known is not None:
        return known, list(columns if classes is None else classes), next(iter(heads)), starts
    # Each chunk guesses a task: a column of decimals anywhere is regression (whole numbers in some
    # chunks do not make it classes), as reading the whole file would guess.
    final = "regression" if "regression" in heads else next(iter(heads))
    for col in merged["columns"]:
        if "categories" in col:
            check_categories(chunks.path, col["name"], col["categories"], starts[-1])
    schema = dict(heads[final], columns=merged["columns"])
    return schema, list(_class_order(found) if final == "classification" else columns), final, starts


def _merge(chunks: Chunks, merged: dict | None, t: Table, line0: int, open_kind: set[int]) -> dict:
    """Fold a chunk's schema into what the chunks before it said: the same column types (a column
    whose every value is missing in a chunk takes the type of the others), categories united."""
    if merged is None:
        merged = dict(t.schema, columns=[dict(c) for c in t.schema["columns"]])
        open_kind.update(p for p, c in enumerate(merged["columns"]) if _all_missing(t, c))
        return merged
    where = f"{chunks.path}: the chunk of rows from line {line0 + 1}"
    if bool(t.schema.get("image")) != bool(merged.get("image")):
        raise DataError(f"{where} reads as {'28x28 images' if t.schema.get('image') else 'a table'}, and the "
                        f"rows before it as {'images' if merged.get('image') else 'a table'} (data.chunk_rows reads "
                        "every chunk alike); 784 columns of pixels must be integers 0-255 in every row")
    for p, (col, new) in enumerate(zip(merged["columns"], t.schema["columns"])):
        if _all_missing(t, new):
            continue
        if p in open_kind:
            col.pop("categories", None)
            col.update({k: v for k, v in new.items() if k == "categories"})
            open_kind.discard(p)
            continue
        if ("categories" in col) != ("categories" in new):
            word = next((c for c in new.get("categories", ()) if not _is_number(c)), "")
            kind = f"words (categories, such as '{word}')"
            raise DataError(f"{where}: column '{col['name']}' holds {kind if 'categories' in new else 'numbers'} "
                            f"here but {'words' if 'categories' in col else 'numbers'} in the rows before; with "
                            "data.chunk_rows every chunk must agree: fix the column, or list it in "
                            "data.ignore_columns")
        if "categories" in col:
            col["categories"] = sorted(set(col["categories"]) | set(new["categories"]))
    return merged


def _all_missing(t: Table, col: dict) -> bool:
    """Whether every value of a numeric column ``col`` is missing in the chunk ``t`` (it then shows no type)."""
    if "categories" in col or t.image:
        return False
    x = t.x[:, t.features.index(col["name"])]
    return x.dtype.kind == "f" and bool(np.isnan(x).all())


class _Notes:
    """The chunks' notes, each said once: a note several chunks give alike once, a note counting rows
    or values (missing, dropped) with its counts summed over the chunks."""

    _NUMBER = re.compile(r"\d+")
    _SUMMED = ("missing or unseen values", "dropped ")

    def __init__(self) -> None:
        self.kinds: dict[str, list] = {}  # the note, its numbers hidden -> [its first text, summed numbers, chunks]

    def add(self, notes: list[str]) -> None:
        for note in notes:
            head, sep, rest = note.partition(": ")  # "file.csv: ..." (a file's name may hold digits)
            numbers = [int(v) for v in self._NUMBER.findall(rest)]
            kind = self.kinds.setdefault(head + sep + self._NUMBER.sub("#", rest), [note, [0] * len(numbers), 0])
            kind[1] = [a + b for a, b in zip(kind[1], numbers)]
            kind[2] += 1

    def lines(self, rows: int) -> list[str]:
        """The notes to show; ``rows`` is how many rows the file holds."""
        out = []
        for note, numbers, chunks in self.kinds.values():
            head, sep, rest = note.partition(": ")
            if chunks > 1 and any(s in rest for s in self._SUMMED):
                summed = iter(numbers)
                rest = self._NUMBER.sub(lambda m: str(next(summed)), rest)
                rest = re.sub(r"(dropped \d+ of )\d+( rows)", rf"\g<1>{rows}\g<2>", rest)  # of the file's rows
                note = f"{head}{sep}{rest} (summed over the {chunks} chunks that say so)"
            out.append(note)
        return out


def _class_order(names: set[str]) -> list[str]:
    """Classes as reading the whole file orders them: integers in numeric order, else sorted strings."""
    try:
        return [str(v) for v in sorted({int(c) for c in names})]
    except ValueError:
        return sorted(names)


_BLOCK = 1 << 20


def _pick_val(n: int, seed: int, test_size: float | None, val_size: int | float,
              cap: int) -> tuple[np.ndarray, int, str | None]:
    """The validation rows (their numbers, sorted), the number of test rows, and a note if the size was clipped.

    Works on row numbers alone, a block at a time: no file is read."""
    n_test = 0
    if test_size is not None:
        for lo in range(0, n, _BLOCK):
            n_test += int((_uniform(np.arange(lo, min(n, lo + _BLOCK), dtype=np.uint64), seed, 1) < test_size).sum())
    rest = n - n_test
    size, note = validation_size(rest, val_size, cap)
    k = holdout_count(rest, size, cap)
    if k >= rest:
        raise DataError(f"data.val_size: {val_size} holds out {k} of {rest} rows and leaves no training rows")
    best_u, best_rows = np.empty(0), np.empty(0, np.uint64)
    for lo in range(0, n if k else 0, _BLOCK):
        rows = np.arange(lo, min(n, lo + _BLOCK), dtype=np.uint64)
        if test_size is not None:
            rows = rows[_uniform(rows, seed, 1) >= test_size]
        best_u = np.concatenate([best_u, _uniform(rows, seed, 2)])
        best_rows = np.concatenate([best_rows, rows])
        if len(best_u) > k:
            keep = np.argpartition(best_u, k - 1)[:k]
            best_u, best_rows = best_u[keep], best_rows[keep]
    return np.sort(best_rows), n_test, note


def _stats_pass(chunks: Chunks, reading: _Reading, fit: bool, notes: list[str]):
    """Read every chunk with the merged schema: the training rows' feature and target moments (when
    ``fit``), their class counts, the validation rows, and an empty table of the rows' shapes; keep
    each chunk parsed in ``reading.cache`` (a full disk turns the cache off, with a note)."""
    moments, ymoments = Moments(), Moments()
    counts = np.zeros(len(reading.classes or ()), np.int64)
    val, first = [], None
    for i in range(len(chunks)):
        t = reading.table(chunks, i)
        role = reading.roles(reading.starts[i], len(t.y))
        if reading.cache is not None:
            try:
                reading.store(i, t, role)
            except OSError as err:
                shutil.rmtree(reading.cache, ignore_errors=True)
                notes.append(f"data.chunk_cache: cannot keep the parsed chunks in {reading.cache} ({err.strerror}); "
                             "every epoch reads the CSV file again")
                reading.cache = None
        train = role == TRAIN
        if fit and not t.image:
            moments.update(t.x[train])
        if fit and reading.task == "regression":
            ymoments.update(t.y[train])
        if reading.task == "classification":
            counts += np.bincount(t.y[train], minlength=len(counts))
        if (role == VAL).any():
            val.append(_rows(t, role == VAL))
        if first is None:
            first = t
            first.x, first.y, first.w = t.x[:0], t.y[:0], None if t.w is None else t.w[:0]
    if fit and moments.n is None and not first.image:
        raise DataError(f"{chunks.path}: no training rows")
    rows = Table(x=np.concatenate([v.x for v in val]) if val else first.x,
                 y=np.concatenate([v.y for v in val]) if val else first.y, classes=first.classes,
                 features=first.features, w=np.concatenate([v.w for v in val]) if val and first.w is not None else None)
    return first, rows, counts, moments, ymoments


def _rows(t: Table, keep: np.ndarray) -> Table:
    return Table(x=t.x[keep], y=t.y[keep], classes=t.classes, features=t.features,
                 w=None if t.w is None else t.w[keep])


def _uniform(rows: np.ndarray, seed: int, stream: int) -> np.ndarray:
    """A uniform number in [0, 1) for each row number (uint64), from ``seed`` and ``stream`` alone.

    SplitMix64's finalizer over the row number plus a key drawn from the seed: the same row
    gets the same number whatever chunk it is read in, and no pass needs the rows' numbers all at once."""
    key = np.random.SeedSequence([seed, 3, stream]).generate_state(1, np.uint64)[0]
    z = rows + key
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)
