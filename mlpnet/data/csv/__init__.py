"""CSV datasets (``data.dataset: csv``): reading, label encoding, missing values, categories, pixels.

A CSV file holds one row per sample: a label column, feature columns, and columns to
ignore (``data.ignore_columns``: an id, free text). The delimiter is detected
(``csv.Sniffer``, among comma, semicolon, tab and bar) unless ``data.delimiter`` names it;
a comma between digits in a file whose lines split evenly on semicolons is a decimal
comma (``5,1;3,5;setosa``, as Excel writes in most of Europe), read as a number with a
note, unless ``data.decimal`` says which mark the numbers use. Thousands separators
(``"1,234.5"``, or ``1.234,5`` with a decimal comma) are read as numbers too, with a note.
The first row names the columns (``data.header: false`` numbers them 0, 1, ... instead; a
first row of numbers is refused with a message naming that option). The label column is
``data.label_column``, a name or an index; when the default ``label`` is absent the last
column is used if it holds few distinct values, and a note says so.

Labels may be integers or strings: when every label is an integer the classes are those
integers in numeric order, written as strings (``"0", "1", ..., "10"``); otherwise the
distinct label strings in sorted order. A feature column whose values are mostly words is
categorical and one-hot encoded (one feature ``column=value`` per category, in sorted
order), with a note naming it when its values look like numbers (``12%``); the others are
numeric. Missing values (empty, ``NA``, ``NaN``, ``?``, ...) are an
error naming the line and column unless ``data.missing`` is ``drop`` (skip such rows) or
``mean`` (fill in the training split's mean; a missing category takes each category's
training frequency). 784 columns of integers in 0..255 (or 784 ``pixel*`` columns) are
28x28 grayscale images. Files are read as UTF-8 (a byte-order mark is ignored).

Well-formed files take a fast path through NumPy's C parser (``np.loadtxt``, which reads
the file in chunks); anything else, and every error message, goes through the ``csv``
module row by row.

The package: ``options`` (what to read and what reading gives), ``sniff`` (the head of a
file: delimiter, decimal mark, header, label and feature columns), ``parse`` (the rows),
``read`` (labelled files and files to predict). Raw rows from Python and HTTP are encoded
by :func:`mlpnet.data.spec.encode_rows`, with the schema a file gave.
"""

from .options import (DECIMALS, IMAGE_PIXELS, MAX_CATEGORIES, MISSING_MODES, MISSING_TOKENS, TABLE_SUFFIXES,
                      CsvOptions, Rows, Table)
from .read import features_schema, load, model_schema, read_csv, read_feature_csv, read_pixel_rows, read_rows

__all__ = ["CsvOptions", "DECIMALS", "IMAGE_PIXELS", "MAX_CATEGORIES", "MISSING_MODES", "MISSING_TOKENS", "Rows",
           "TABLE_SUFFIXES", "Table", "features_schema", "load", "model_schema", "read_csv",
           "read_feature_csv", "read_pixel_rows", "read_rows"]
