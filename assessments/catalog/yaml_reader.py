"""Reading the YAML of catalogues, risk rules and platform facts, stricter than ``yaml.safe_load``:

* only ``true``/``false`` are booleans (YAML 1.2). Under YAML 1.1, ``equals: yes`` or ``value: no``
  would silently become booleans; here they stay the strings the author meant.
* a key repeated in one mapping is an error instead of silently keeping the last value.
* every mapping remembers its line, so an error can name it.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from .model import CatalogError


class YamlMapping(dict):
    """A YAML mapping that remembers its 1-based line, for error messages."""

    line: int | None = None


class _Loader(yaml.SafeLoader):
    pass


_BOOL_TAG = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> YamlMapping:
    loader.flatten_mapping(node)
    result = YamlMapping()
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in result
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "found an unhashable key",
                key_node.start_mark) from None
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}",
                key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path, name: str) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{name}: cannot read file: {exc}", file=name) from exc
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        where = f" at line {line}, column {mark.column + 1}" if mark else ""
        raise CatalogError(f"{name}: YAML syntax error{where}: {problem}", file=name, line=line) from exc
    except yaml.YAMLError as exc:
        raise CatalogError(f"{name}: YAML error: {exc}", file=name) from exc
