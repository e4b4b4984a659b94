"""Reading labelled files (:func:`read_csv`, the ``data.dataset: csv`` loader) and files to predict (:func:`read_rows`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...errors import DataError
from ..dataset import MNIST_INPUT, Dataset, Split
from ..holdout import check_classes_present, split_test
from . import targets
from ..spec import MISSING_TOKENS
from .options import CsvOptions, IMAGE_PIXELS, MISSING_MODES, Rows, Table, _PIXEL_NAME
from .sniff import _Layout, _column_index, _ignored, _is_number, _label_index, _schema_columns, _sniff
from .parse import _LineOf, _ids, _missing, _parse_body, _remapped

if TYPE_CHECKING:
    from ...config import DataConfig
    from ..spec import InputSpec


def read_csv(
    path: str | Path,
    label_column: str | int = "label",
    classes: Sequence[str] | None = None,
    *,
    options: CsvOptions | None = None,
    schema: dict | None = None,
    task: str = "classification",
    layout: _Layout | None = None,
) -> Table:
    """Read a labelled CSV file.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    label_column : str or int
        Shorthand for ``options.label_column`` when ``options`` is not given.
    classes : sequence of str, optional
        Class names to encode the labels with, e.g. those of the training file when
        reading the test file. A label that is not among them is an error. When omitted,
        the classes are derived from the labels (see the module docstring).
    options : CsvOptions, optional
        Delimiter, header, ignored columns, missing values.
    schema : dict, optional
        The training file's ``Table.schema``: columns are then read as they were there
        (same features, types and categories).
    task : {"classification", "regression", "multilabel", "auto"}
        What the label column(s) hold. ``auto``: one column of non-integer numbers is
        regression, integers or words are classes; several columns of 0/1 are multilabel,
        other several columns regression; the guess is said in a note.
    layout : optional
        One chunk of the file to read instead of the whole (``data.chunk_rows``, see
        :mod:`mlpnet.data.csv.chunks`); error messages still name the file's lines.

    Returns
    -------
    Table

    Raises
    ------
    DataError
        The file is missing, empty, has no label column, a ragged or bad row, no data
        rows, a missing value (unless ``options.missing`` says otherwise), or a label
        outside ``classes``; the message names the file and the line or column at fault.
    """
    path = Path(path)
    opts = options or CsvOptions(label_column=label_column)
    if opts.missing not in MISSING_MODES:
        raise ValueError(f"missing must be one of {MISSING_MODES}, got {opts.missing!r}")
    lay = layout or _sniff(path, opts)
    notes: list[str] = list(lay.notes)
    wanted = opts.label_column if isinstance(opts.label_column, (list, tuple)) else [opts.label_column]
    if schema is not None and schema.get("labels"):
        wanted = schema["labels"] if lay.header else schema["label_indices"]
    if not wanted:
        raise DataError(f"{path}: data.label_column: an empty list names no label column")
    more_idx = [_label_index(path, lay, w)[0] for w in wanted[1:]]
    weight_idx = None
    if opts.weight_column is not None:
        weight_idx = _weight_index(path, lay, opts.weight_column)
        if weight_idx in more_idx:
            raise DataError(f"{path}: data.weight_column '{lay.names[weight_idx]}' is also a label column")
    if schema is None:
        label_idx, note = _label_index(path, lay, wanted[0])
        if note:
            notes.append(note)
        if weight_idx == label_idx:
            raise DataError(f"{path}: data.weight_column '{lay.names[weight_idx]}' is also the label column")
        ignored = _ignored(path, lay, opts.ignore_columns) - {label_idx, *more_idx}
        if weight_idx is not None:
            ignored.add(weight_idx)
        feature_idx = [i for i in range(len(lay.names)) if i not in (label_idx, *more_idx) and i not in ignored]
        kinds = None
    else:
        if schema.get("labels"):
            label_idx = _label_index(path, lay, wanted[0])[0]
        elif "label" in schema:
            label_idx = _label_index(path, lay, schema["label"] if lay.header else schema["label_index"])[0]
        else:  # a model fitted on arrays: the label column is the option's (or guessed)
            label_idx, note = _label_index(path, lay, opts.label_column)
            if note:
                notes.append(note)
        feature_idx = _schema_columns(path, lay, schema, label_idx=label_idx)
        kinds = [c.get("categories") for c in schema["columns"]]
    if not feature_idx:
        raise DataError(f"{path}: no feature columns besides the label column '{lay.names[label_idx]}'")
    parsed, labels, line_of = _parse_body(path, lay, feature_idx, label_idx, kinds)
    columns = [labels] + [_parse_body(path, lay, feature_idx[:1], j, kinds[:1] if kinds else None)[1]
                          for j in more_idx]
    label_names = [lay.names[i] for i in (label_idx, *more_idx)]
    weight_cells = None if weight_idx is None else \
        _parse_body(path, lay, feature_idx[:1], weight_idx, kinds[:1] if kinds else None)[1]
    notes += parsed.notes
    mode = opts.missing if schema is None else schema.get("missing", opts.missing)
    keep, note = _missing(path, parsed, labels, line_of, mode)
    if mode != "error":  # a missing target is never filled in: its row is dropped (else targets.encode refuses it)
        for extra in columns[1:]:
            if extra.dtype.kind == "U":
                gone = np.isin(extra, MISSING_TOKENS)
                keep = ~gone if keep is None else keep & ~gone
    if note:
        notes.append(note)
    if keep is not None:
        parsed, line_of = parsed.take(keep), _remapped(line_of, keep)
        columns = [c[keep] for c in columns]
        weight_cells = None if weight_cells is None else weight_cells[keep]
        labels = columns[0]
        if len(labels) == 0 and layout is None:  # (a chunk may lose every row; the file may not)
            raise DataError(f"{path}: no rows left: every row has a missing value")
    if schema is not None and schema.get("task"):
        task = schema["task"]
    task, guess = targets.resolve_task(task, columns, label_names, classes)
    if guess:
        notes.append(guess)
    if task != "classification":
        y, names = targets.encode(path, task, columns, label_names, line_of)
    else:
        if len(columns) > 1:
            raise DataError(f"{path}: data.label_column names {len(columns)} columns; several label columns need "
                            "task: regression or multilabel")
        y, names = _encode_labels(path, labels, lay.names[label_idx], classes, line_of)
    x, features = parsed.assemble()
    image = _looks_like_images(x) if schema is None else bool(schema.get("image"))
    if image:
        x = x if x.dtype == np.uint8 else x.astype(np.uint8)
        if schema is None:
            notes.append(f"{path.name}: {IMAGE_PIXELS} pixel columns of integers 0-255, read as 28x28 grayscale "
                         "images (scaled to [0, 1], not standardized)")
    new_schema = schema or {
        "delimiter": lay.delimiter, "header": lay.header, "label": lay.names[label_idx], "label_index": label_idx,
        "n_columns": len(lay.names), "missing": mode, "image": image,
        "columns": parsed.describe(),
    }
    if schema is None and task != "classification":
        new_schema.update(task=task, labels=label_names, label_indices=[label_idx, *more_idx])
    w = None if weight_cells is None else targets.weights(path, weight_cells, lay.names[weight_idx], line_of)
    return Table(x=x, y=y, classes=names, features=features, schema=new_schema, notes=notes, task=task, w=w)


def read_rows(path: str | Path, schema: dict | None, features: Sequence[str] | None = None, *,
              positional: bool = False) -> Rows:
    """Read the feature columns of a CSV file to predict, as the training file's schema says.

    Columns are matched by name when the file has a header row (other columns, a label
    or an id, are ignored), by position when it has none (the training file's width, or
    just the feature columns). A missing value is filled with the training mean (NaN in
    the result, filled when standardizing) if the model was trained with ``data.missing``
    ``drop`` or ``mean``, else an error. A category not seen in training counts as missing.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    schema : dict or None
        ``Table.schema`` stored in the checkpoint; None for models without one (fitted on
        arrays, or older checkpoints), which record only feature names (``features``).
    features : sequence of str, optional
        Feature names, used when ``schema`` is None.
    positional : bool
        The model has no real column names (it was fitted on a bare array): the file's
        columns are read by position, whatever its header says.

    Returns
    -------
    Rows
        ``x`` float32 (n, d) (uint8 (n, 784) for image models), ids, id column name.
    """
    path = Path(path)
    lay = _sniff(path, CsvOptions(header=True), auto_header=True)
    notes: list[str] = list(lay.notes)
    if schema is None:
        schema = features_schema(features or [], positional=positional or _invented(features, lay))
        if schema["positional"] and lay.header:
            notes.append(f"{path.name}: the model was fitted without column names, so the {len(lay.names)} "
                         "columns are read by position (the header's names are not checked)")
    feature_idx = _schema_columns(path, lay, schema, predicting=True)
    kinds = [c.get("categories") for c in schema["columns"]]
    parsed, _, line_of = _parse_body(path, lay, feature_idx, None, kinds)
    notes += parsed.notes
    mode = schema.get("missing", "error")
    _, note = _missing(path, parsed, None, line_of, mode, predicting=True)
    x, _ = parsed.assemble()
    if schema.get("image"):
        x = x if x.dtype == np.uint8 else x.astype(np.uint8)
    ids, id_name = _ids(path, lay, set(feature_idx), parsed.n)
    return Rows(x=x, ids=ids, id_column=id_name, notes=notes + ([note] if note else []))


def features_schema(features: Sequence[str], *, positional: bool = False) -> dict:
    """A schema for a model that records only its numeric feature names (fitted on arrays or a DataFrame).

    With ``positional`` (no real names), a file's columns are taken by position."""
    return {"header": not positional, "positional": positional, "missing": "error", "image": False,
            "n_columns": None, "columns": [{"name": str(f), "index": None} for f in features]}


def _invented(features: Sequence[str] | None, lay: _Layout) -> bool:
    """Names ``x0, x1, ...`` that an older checkpoint invented for a bare array, and the file lacks."""
    names = list(features or [])
    return bool(names) and names == [f"x{i}" for i in range(len(names))] and not set(names) <= set(lay.names)


def read_feature_csv(path: str | Path, features: Sequence[str]) -> np.ndarray:
    """Read the named numeric feature columns of a CSV file (other columns are ignored)."""
    return read_rows(path, None, features).x


def read_pixel_rows(path: str | Path) -> Rows:
    """Rows of 784 pixels (0-255) to predict with an image model: Kaggle's ``test.csv`` and the like.

    The pixel columns are those named ``pixel*`` when there are 784 of them, else every
    column of a 784-column file, else the 784 columns after the first of a 785-column file
    (a label or id first, as in the training files).
    """
    path = Path(path)
    lay = _sniff(path, CsvOptions(header=True), auto_header=True)
    names = lay.names
    pixel = [i for i, n in enumerate(names) if _PIXEL_NAME.match(n)] if lay.header else []
    if len(pixel) != IMAGE_PIXELS:
        if len(names) == IMAGE_PIXELS:
            pixel = list(range(IMAGE_PIXELS))
        elif len(names) == IMAGE_PIXELS + 1:
            pixel = list(range(1, IMAGE_PIXELS + 1))
        else:
            raise DataError(f"{path}: this model reads 28x28 images; a CSV of them needs {IMAGE_PIXELS} pixel "
                            f"columns (0-255), this file has {len(names)} columns")
    parsed, _, line_of = _parse_body(path, lay, pixel, None, [None] * len(pixel))
    _missing(path, parsed, None, line_of, "error", predicting=True)
    x, _ = parsed.assemble()
    if x.dtype != np.uint8:
        if x.size and (x.min() < 0 or x.max() > 255 or not np.array_equal(x, np.round(x))):
            raise DataError(f"{path}: pixel values must be integers in 0..255, found {x.min():g}..{x.max():g}")
        x = x.astype(np.uint8)
    ids, id_name = _ids(path, lay, set(pixel), parsed.n)
    return Rows(x=x, ids=ids, id_column=id_name)


def load(cfg: DataConfig, seed: int, *, classes: list[str] | None = None, progress: bool = False,
         like: InputSpec | None = None, task: str = "auto") -> Dataset:
    """The labelled CSV file ``data.path`` (and ``data.test_path``): tabular features, or 28x28 images.

    ``like`` is a trained model's input description: the file's columns are then read as
    that model's were (matched by name, or by position for a model fitted on a bare array)."""
    path = Path(cfg.path)
    opts = CsvOptions.of(cfg)
    train = read_csv(path, options=opts, classes=classes, schema=model_schema(like), task=task)
    notes = list(train.notes)
    if cfg.test_path:
        test = read_csv(Path(cfg.test_path), options=opts, classes=train.classes, schema=train.schema)
        notes += test.notes
        if test.features != train.features:
            raise DataError(f"{cfg.test_path}: feature columns differ from {path} "
                            f"({len(test.features)} vs {len(train.features)} columns, or another order)")
        tr, te = Split(train.x, train.y, train.w), Split(test.x, test.y, test.w)
    else:
        tr, te = split_test(Split(train.x, train.y, train.w), cfg.test_size, seed)
    if train.task != "classification":
        kw = {"task": train.task, "classes": train.classes if train.task == "multilabel" else [],
              "targets": train.classes if train.task == "regression" else []}
        tr.y, te.y = tr.y.astype(np.float32 if train.task == "multilabel" else np.float64), \
            te.y.astype(np.float32 if train.task == "multilabel" else np.float64)
        kind = dict(MNIST_INPUT, csv=train.schema) if train.image else \
            {"kind": "table", "features": train.features, "csv": train.schema}
        return Dataset(train=tr, val=None, test=te, input=kind, notes=notes, **kw)
    if classes is None:
        check_classes_present(tr.y, train.classes, str(path))
    if train.image:
        # Pixels as in MNIST: stored uint8, scaled to [0, 1] per batch, read by predict like any image.
        return Dataset(train=tr, val=None, test=te, classes=train.classes, input=dict(MNIST_INPUT, csv=train.schema),
                       notes=notes)
    return Dataset(train=tr, val=None, test=te, classes=train.classes,
                   input={"kind": "table", "features": train.features, "csv": train.schema}, notes=notes)


def model_schema(like: InputSpec | None) -> dict | None:
    """The CSV schema to read a file for a trained model with (None: read it as new training data)."""
    if like is None:
        return None
    if like.csv:
        return like.csv
    if like.kind == "table" and like.features:
        names = like.features
        return features_schema(names, positional=bool(like.positional)
                               or names == [f"x{i}" for i in range(len(names))])
    return None


def _encode_labels(
    path: Path,
    labels: np.ndarray,
    label_column: str,
    classes: Sequence[str] | None,
    line_of: _LineOf,
) -> tuple[np.ndarray, list[str]]:
    """Map labels (ints, or strings) to class indices (n,) int64; return them with the class names."""
    keys: np.ndarray
    if labels.dtype.kind in "iu":
        keys = labels
    else:
        empty = np.flatnonzero(labels == "")
        if empty.size:
            raise DataError(f"{path}: line {line_of(int(empty[0]))}: empty label in column '{label_column}'")
        try:
            keys = labels.astype(np.int64)  # all integers: classes in numeric order
        except (ValueError, OverflowError):
            keys = labels
            distinct = np.unique(labels)
            numbers = labels.dtype.kind in "US" and all(_is_number(v) for v in distinct)
            if numbers and all(math.isfinite(float(v)) and float(v) % 1 == 0 for v in distinct):
                # "1.0" is the class 1: pandas writes integer labels as floats when the column has a gap
                keys = labels.astype(np.float64).astype(np.int64)
            elif classes is None and numbers and any(float(v) % 1 for v in distinct):
                raise DataError(f"{path}: label column '{label_column}' holds decimal numbers "
                                f"({len(distinct)} distinct values), not classes; set task: regression to predict "
                                "them, or choose the label column with data.label_column (a name, or an index)")
            elif classes is None and 2 * sum(_is_number(v) and float(v) % 1 != 0 for v in distinct) > len(distinct):
                word = next(str(v) for v in distinct if not _is_number(v))
                raise DataError(f"{path}: label column '{label_column}' holds mostly decimal numbers ({len(distinct)} "
                                f"distinct values) and words such as '{word}', not classes; to predict the numbers set "
                                "task: regression, leaving missing targets empty (with data.missing: drop), or choose "
                                "the label column with data.label_column")
    uniq, inverse = np.unique(keys, return_inverse=True)
    names = [str(u) for u in uniq]
    if classes is None:
        return inverse.astype(np.int64).reshape(-1), names
    classes = [str(c) for c in classes]
    lookup = {c: i for i, c in enumerate(classes)}
    if len(lookup) != len(classes):
        raise ValueError("classes must be distinct")
    codes = np.array([lookup.get(name, -1) for name in names], dtype=np.int64)
    if np.any(codes < 0):
        j = int(np.flatnonzero(codes < 0)[0])
        row = int(np.argmax(inverse.reshape(-1) == j))
        known = ", ".join(classes[:12]) + (", ..." if len(classes) > 12 else "")
        raise DataError(
            f"{path}: line {line_of(row)}: label '{names[j]}' is not one of the "
            f"{len(classes)} training classes ({known})"
        )
    return codes[inverse.reshape(-1)], classes


def _looks_like_images(x: np.ndarray) -> bool:
    """784 features of integers in 0..255: 28x28 grayscale pixels."""
    if x.ndim != 2 or x.shape[1] != IMAGE_PIXELS or x.shape[0] == 0:
        return False
    if x.dtype == np.uint8:
        return True
    return bool(np.isfinite(x).all() and x.min() >= 0 and x.max() <= 255 and np.array_equal(x, np.round(x)))


def _weight_index(path: Path, lay, option: str | int) -> int:
    """The index of ``data.weight_column`` (a name, or an index: 0 first, -1 last)."""
    n = len(lay.names)
    if isinstance(option, int):
        if not -n <= option < n:
            raise DataError(f"{path}: data.weight_column: index {option} is out of range for {n} columns")
        return option % n
    return _column_index(path, lay.names, option, "weight column", hint="; set data.weight_column")
