"""One config value against its type hint and field metadata: coercion, ranges, choices, and how
the schema table writes types and ranges. Knows nothing of the sections (``mlpnet.config`` does)."""

from __future__ import annotations

import difflib
import math
import os
import types
import typing
from typing import Any, Literal, Union

import yaml

from .errors import ConfigError


def _schema_type(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        names = [_schema_type(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" or null" if type(None) in args else "")
    if origin is list:
        return "list of " + " or ".join(_SCHEMA_PLURAL[a] if a in _SCHEMA_PLURAL else _schema_type(a)
                                        for a in (typing.get_args(args[0]) or args))
    if origin is Literal:
        return " or ".join(repr(a) for a in args)
    return {bool: "boolean", int: "integer", float: "number", str: "string", dict: "mapping"}[hint]


_SCHEMA_PLURAL = {int: "integers", float: "numbers", str: "strings", bool: "booleans"}


def _allowed_text(meta: dict) -> str:
    if meta.get("choices"):
        return ", ".join(meta["choices"])
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is None and hi is None:
        return ""
    if hi is None:
        return f"{'>' if meta.get('lo_open') else '>='} {lo}"
    if lo is None:
        return f"{'<' if meta.get('hi_open') else '<='} {hi}"
    return f"{'(' if meta.get('lo_open') else '['}{lo}, {hi}{')' if meta.get('hi_open') else ']'}"


def _check_value(value: Any, hint: Any, meta: dict, key: str, source: str) -> Any:
    value = _coerce(value, hint, key, source)
    if meta.get("path") and value:
        if "\0" in value:  # no file system takes it, and os.path would raise ValueError
            raise ConfigError(f"{source}: {key}: a path cannot contain a NUL character")
        # Stored absolute, so a run, its checkpoint and its config work from any folder.
        return os.path.abspath(os.path.expanduser(value))
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{source}: {key}: {value!r} is not a finite number")
    items = [(f"{key}[{i}]", v) for i, v in enumerate(value)] if isinstance(value, list) else [(key, value)]
    choices = meta.get("choices")
    for key, item in items:
        if item is None:
            continue
        if choices and item not in choices:
            close = difflib.get_close_matches(str(item), choices, n=1)
            hint_text = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{source}: {key}: {item!r} is not one of {', '.join(choices)}{hint_text}")
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            lo, hi = meta.get("lo"), meta.get("hi")
            if lo is not None and (item < lo or (meta.get("lo_open") and item == lo)):
                raise ConfigError(f"{source}: {key}: {item!r} is out of range (must be {'>' if meta.get('lo_open') else '>='} {lo})")
            if hi is not None and (item > hi or (meta.get("hi_open") and item == hi)):
                raise ConfigError(f"{source}: {key}: {item!r} is out of range (must be {'<' if meta.get('hi_open') else '<='} {hi})")
    return value


def _coerce(value: Any, hint: Any, key: str, source: str) -> Any:
    """Check ``value`` against a type hint, converting only where it is lossless."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        if type(value) in args:  # 1.0 stays a float (a fraction), 5000 an int (a count)
            return value
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, key, source)
            except ConfigError as err:
                errors.append(err)
        names = " or ".join(_type_name(a) for a in args if a is not type(None))
        raise ConfigError(f"{source}: {key}: expected {names}, got {_show(value)}")
    if origin is Literal:
        if isinstance(value, str) and value in args:
            return value
        raise ConfigError(f"{source}: {key}: expected {_type_name(hint)}, got {_show(value)}")
    if origin is list:
        if isinstance(value, str) and "," in value:
            # --set model.hidden=256,128 (no brackets) means the list [256, 128].
            try:
                value = yaml.safe_load(f"[{value}]")
            except yaml.YAMLError:
                pass
        if not isinstance(value, list):
            simple = isinstance(value, (int, float, str)) and str(value).isprintable() and len(str(value)) <= 40
            example = f" (write a list, e.g. [{value}])" if simple else ""
            raise ConfigError(f"{source}: {key}: expected {_type_name(hint)}, got {_show(value)}{example}")
        return [_coerce(v, args[0], f"{key}[{i}]", source) for i, v in enumerate(value)]
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):  # YAML 1.1 reads "1e9" as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            # YAML 1.1 reads "1e-3" (no dot) as a string; accept any float literal.
            try:
                return float(value)
            except ValueError:
                pass
    elif hint is str:
        if isinstance(value, str):
            return value
    elif hint is dict:
        if isinstance(value, dict):
            return value
    else:  # pragma: no cover - every field uses one of the hints above
        raise TypeError(f"unsupported config type {hint!r}")
    raise ConfigError(f"{source}: {key}: expected {_type_name(hint)}, got {_show(value)}")


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) is Literal:
        return " or ".join(repr(a) for a in typing.get_args(hint))
    if typing.get_origin(hint) is list:
        return f"a list of {_PLURAL.get(typing.get_args(hint)[0], 'values')}"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string",
            dict: "a mapping"}.get(hint, str(hint))


_PLURAL = {int: "integers", float: "numbers", str: "strings", bool: "booleans"}


def _printable(text: str) -> str:
    """``text`` with control characters escaped, so that an error stays on one line."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
