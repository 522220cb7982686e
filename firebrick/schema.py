"""Typed, validated objects from YAML mappings: errors name the file, the key and the reason.

A frozen dataclass is the schema. Its field annotations say what each key
holds (int, float, str, bool, a nested dataclass, a list or tuple of those, a
dict of str to those, or `X | None`); a field without a default is required.
Unknown keys are errors too: a misspelt key silently ignored is a wrong run.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from firebrick.errors import FirebrickError

T = TypeVar("T")


class ConfigError(FirebrickError):
    """A YAML file whose content does not match its schema."""

    def __init__(self, source: str, key: str, reason: str):
        self.source, self.key, self.reason = source, key, reason
        where = f"{source}: {key}: " if key else f"{source}: "
        super().__init__(where + reason)


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """The top-level mapping of a YAML file, with file-naming errors for unreadable or malformed files."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(str(path), "", f"not valid YAML: {at}{getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(str(path), "", f"must hold a mapping of keys to values, not {type(data).__name__}")
    return data


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false"}.get(tp.__name__, tp.__name__)
    return str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, source: str, key: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        real = [o for o in options if o is not type(None)]
        if len(real) == 1:  # `X | None`: errors from inside X keep their own key
            return _convert(value, real[0], source, key)
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(value, option, source, key)
            except ConfigError as exc:
                errors.append(exc.reason)
        raise ConfigError(source, key, " or ".join(errors))
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(source, key, f"must be a mapping, not {value!r}")
        return from_mapping(tp, value, source, prefix=key)
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise ConfigError(source, key, f"must be a list, not {value!r}")
        args = typing.get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(source, key, f"must be a list of {len(args)} items, not {len(value)}")
            return tuple(_convert(v, a, source, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        items = [_convert(v, item, source, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(source, key, f"must be a mapping, not {value!r}")
        _, item = typing.get_args(tp)
        return {str(k): _convert(v, item, source, f"{key}.{k}") for k, v in value.items()}
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(source, key, f"must be true or false, not {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(source, key, f"must be an integer, not {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(source, key, f"must be a number, not {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(source, key, f"must be a string, not {value!r}")
        return value
    raise TypeError(f"schema type {tp!r} at {key} is not supported")  # a bug in a schema, not in the file


def from_mapping(cls: type[T], data: dict[str, Any], source: str, prefix: str = "") -> T:
    """An instance of the frozen dataclass `cls` from `data`; errors name `source` and the dotted key.

    The dataclass's own `__post_init__` checks values; a ValueError raised there
    becomes a ConfigError at `prefix` (raise ConfigError directly for a key inside).
    """
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    dotted = (lambda name: f"{prefix}.{name}" if prefix else name)
    for name in data:
        if name not in fields:
            raise ConfigError(source, dotted(str(name)), f"unknown key; known keys: {', '.join(fields)}")
    values = {}
    for name, field in fields.items():
        if name in data:
            values[name] = _convert(data[name], hints[name], source, dotted(name))
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(source, dotted(name), f"missing; it must be {_type_name(hints[name])}")
    try:
        return cls(**values)
    except ConfigError as exc:
        if exc.source:
            raise
        raise ConfigError(source, exc.key, exc.reason) from None  # raised inside a section, which knows no file
    except ValueError as exc:
        raise ConfigError(source, prefix, str(exc)) from None


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` laid over `base`, mappings merged key by key (a variant changes only what differs)."""
    out = dict(base)
    for key, value in override.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out
