"""``mlpnet.config.schema_rows``: the one table every key's docs are generated from."""

from __future__ import annotations

from dataclasses import fields, is_dataclass

from mlpnet import config


def _dotted_keys(cls, prefix=""):
    for f in fields(cls):
        hint = config._hints(cls)[f.name]
        if is_dataclass(hint):
            yield from _dotted_keys(hint, prefix + f.name + ".")
        else:
            yield prefix + f.name


def test_schema_rows_cover_every_key_once_in_declaration_order():
    rows = config.schema_rows()
    assert [r["key"] for r in rows] == list(_dotted_keys(config.Config))
    assert all(set(r) == {"key", "type", "default", "allowed", "help"} for r in rows)


def test_every_key_has_one_line_help():
    for row in config.schema_rows():
        assert row["help"].strip(), row["key"]
        assert "\n" not in row["help"], row["key"]


def test_schema_defaults_are_the_defaults_a_config_gets():
    cfg = config.Config().to_dict()
    for row in config.schema_rows():
        node = cfg
        for part in row["key"].split("."):
            node = node[part]
        assert row["default"] == node, row["key"]


def test_schema_types_and_allowed_read_from_the_field_metadata():
    rows = {r["key"]: r for r in config.schema_rows()}
    assert rows["optimizer.name"]["allowed"] == ", ".join(config.OPTIMIZERS)
    assert rows["optimizer.name"]["type"] == "string"
    assert rows["model.hidden"]["type"] == "list of integers"
    assert rows["model.dropout"]["allowed"] == "[0, 1)"
    assert rows["optimizer.lr"]["allowed"] == "> 0"
    assert rows["data.image_size"]["type"] == "integer or null"
    assert rows["data.augment.hflip"]["type"] == "boolean" and rows["data.augment.hflip"]["allowed"] == ""
