"""The one strict config loader: every shipped config parses; unknown keys and wrong types fail by path."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sqgan_ros.typed_config import ConfigError, from_dict, load_yaml

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Inner:
    steps: int = 1
    rate: float = 0.5


@dataclass
class Outer:
    name: str = "x"
    flag: bool = False
    size: tuple[int, int] = (256, 512)
    crop: tuple[int, int] | None = None
    names: tuple[str, ...] = ()
    paths: list[str] | None = None
    table: dict[str, tuple[int, ...]] = field(default_factory=dict)
    inner: Inner = field(default_factory=Inner)


def test_values_are_converted_to_the_annotated_types() -> None:
    cfg = from_dict(Outer, {"size": [128, 256], "crop": [64, 64], "names": ["a", "b"], "paths": ["p"],
                            "table": {"jpeg": [10, 20]}, "inner": {"steps": 3, "rate": 1}})
    assert cfg == Outer(size=(128, 256), crop=(64, 64), names=("a", "b"), paths=["p"],
                        table={"jpeg": (10, 20)}, inner=Inner(steps=3, rate=1.0))
    assert isinstance(cfg.inner.rate, float)
    assert from_dict(Outer, {"crop": None}).crop is None
    assert from_dict(Outer, {}) == Outer()


@pytest.mark.parametrize(("data", "message"), [
    ({"nmae": "y"}, r"config: unknown key\(s\) \['nmae'\]"),
    ({"inner": {"stpes": 2}}, r"inner: unknown key\(s\) \['stpes'\]"),
    ({"inner": {"steps": 1.5}}, "inner.steps: expected an integer"),
    ({"inner": {"steps": True}}, "inner.steps: expected an integer"),
    ({"inner": {"rate": "fast"}}, "inner.rate: expected a number"),
    ({"flag": 1}, "flag: expected true/false"),
    ({"name": 3}, "name: expected a string"),
    ({"size": [1, 2, 3]}, "size: expected 2 items"),
    ({"size": [128, "256"]}, r"size\[1\]: expected an integer"),
    ({"names": "ab"}, "names: expected a list"),
    ({"table": [1]}, "table: expected a mapping"),
    ({"table": {"jpeg": ["hi"]}}, r"table.jpeg\[0\]: expected an integer"),
    ({"inner": None}, "inner: expected a mapping"),
    ([1, 2], "config: expected a mapping"),
])
def test_malformed_configs_name_the_key(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_dict(Outer, data)


def test_load_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("inner: {steps: 2}\n")
    assert load_yaml(path, Outer).inner.steps == 2
    path.write_text("inner: {steps: two}\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: inner\.steps"):
        load_yaml(path, Outer)
    path.write_text("inner: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(path, Outer)
    with pytest.raises(ConfigError, match="no such config file"):
        load_yaml(tmp_path / "missing.yaml", Outer)


@pytest.mark.parametrize("path", sorted((ROOT / "config" / "train").glob("*.yaml")), ids=lambda p: p.name)
def test_every_training_config_parses(path: Path) -> None:
    from sqgan_ros.training.config import load_config

    load_config(path)


@pytest.mark.parametrize("path", sorted((ROOT / "config" / "eval").glob("*.yaml")), ids=lambda p: p.name)
def test_every_evaluation_config_parses(path: Path) -> None:
    from sqgan_ros.evaluation.sweep_config import load_config

    load_config(path)


def test_training_and_evaluation_share_the_loader_and_its_error() -> None:
    from sqgan_ros.evaluation import sweep_config
    from sqgan_ros.training import config as training_config

    assert training_config.ConfigError is ConfigError is sweep_config.ConfigError
    with pytest.raises(ConfigError, match="data.crop: expected 2 items"):
        training_config.config_from_dict({"data": {"crop": [1, 2, 3]}})
    with pytest.raises(ConfigError, match="metrics.lpips: expected true/false"):
        sweep_config.config_from_dict({"metrics": {"lpips": "yes"}})
