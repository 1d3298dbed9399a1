"""The one strict config loader: YAML / plain dicts -> typed dataclasses, unknown keys an error.

Used by the training config (``sqgan_ros.training.config``), the evaluation config
(``sqgan_ros.evaluation.sweep_config``) and the data config (``sqgan_ros.data.config``)::

    @dataclass
    class Section:
        size: tuple[int, int] = (256, 512)
        crop: tuple[int, int] | None = None
        names: tuple[str, ...] = ()

    from_dict(Section, {"size": [128, 256]})        # Section(size=(128, 256), crop=None, names=())
    from_dict(Section, {"szie": [128, 256]})        # ConfigError: unknown key(s) ['szie']; known: ...
    from_dict(Section, {"size": [128, "256"]})      # ConfigError: size[1]: expected an integer, got '256'

The field annotations are the schema: ``bool``, ``int``, ``float`` (ints accepted), ``str``,
``X | None``, ``tuple[T, ...]``, ``tuple[A, B]`` (exact length), ``list[T]``, ``dict[str, T]``,
``Any`` and nested dataclasses. Keys that are not fields, values of the wrong type (``true`` is
not a number, ``1.5`` is not an integer) and lists of the wrong length raise :class:`ConfigError`
naming the key path. Ranges and cross-field rules stay with each config's own ``validate``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["ConfigError", "from_dict", "load_yaml"]

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration is malformed (unknown key, wrong type, bad value)."""


def _where(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _convert(value: Any, tp: Any, where: str) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"{where}: unsupported union {tp!r} in a config dataclass")
        return _convert(value, inner[0], where)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        key_type, item_type = args or (str, Any)
        if key_type is str and not all(isinstance(k, str) for k in value):
            raise ConfigError(f"{where}: keys must be strings, got {sorted(map(repr, value))}")
        return {k: _convert(v, item_type, _where(where, str(k))) for k, v in value.items()}
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{where}: expected {len(args)} items, got {len(value)}")
            return tuple(_convert(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        items = [_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    raise TypeError(f"{where}: unsupported field type {tp!r} in a config dataclass")


def from_dict(cls: type[T], data: Any, where: str = "") -> T:
    """Build dataclass ``cls`` from a parsed YAML mapping; missing keys keep their defaults.

    Args:
        cls: a dataclass whose field annotations are the schema.
        data: the mapping (e.g. ``yaml.safe_load`` output).
        where: key path of ``data`` in the whole config, for error messages ("" = top level).

    Raises:
        ConfigError: ``data`` is not a mapping, has an unknown key or a value of the wrong type.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(str(k) for k in set(data) - set(names))
    if unknown:
        raise ConfigError(f"{where or 'config'}: unknown key(s) {unknown}; known: {sorted(names)}")
    return cls(**{k: _convert(v, hints[k], _where(where, k)) for k, v in data.items()})


def load_yaml(path: str | Path, cls: type[T]) -> T:
    """Read a YAML file into dataclass ``cls`` (an empty file gives the defaults).

    Raises:
        ConfigError: the file is missing, is not YAML, or does not fit ``cls`` (message names the file).
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no such config file: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    try:
        return from_dict(cls, {} if data is None else data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
