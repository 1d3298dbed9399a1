"""One table of parameters: the settings dataclasses (defaults from the library), the ROS
descriptors, ``--help``, config/teleop.yaml and the class-weight presets all agree with it; a
wrong type or an unknown name is refused with the parameter's name and what it allows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sqgan_ros.labels import CLASS_NAMES
from sqgan_ros.ros.parameters import (
    CLASS_WEIGHT_PREFIX,
    camera_specs,
    decoder_specs,
    encoder_specs,
    validate_params_file,
)
from sqgan_ros.ros.presets import preset_named, read_preset
from sqgan_ros.sessions.settings import EncoderSettings

REPO = Path(__file__).resolve().parents[1]
TELEOP = REPO / "config" / "teleop.yaml"
PRESETS = sorted((REPO / "config" / "class_weights").glob("*.yaml"))


def _flatten(tree: dict, prefix: str = "") -> dict:
    out: dict = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _override_lines() -> set[str]:
    """Names whose line in teleop.yaml documents an override (a comment containing 'override')."""
    names = set()
    for line in TELEOP.read_text().splitlines():
        m = re.match(r"\s+(\w+):.*#.*\boverride\b", line)
        if m:
            names.add(m.group(1))
    return names


@pytest.mark.parametrize("section, specs", [("/**/sqgan_encoder", encoder_specs),
                                            ("/**/sqgan_decoder", decoder_specs)])
def test_teleop_yaml_has_the_tables_names_and_defaults(section: str, specs) -> None:
    values = _flatten(yaml.safe_load(TELEOP.read_text())[section]["ros__parameters"])
    table = specs()
    assert sorted(values) == sorted(table), (set(values) ^ set(table))
    overrides = _override_lines()
    for name, spec in table.items():
        if name.split(".")[-1] in overrides:
            continue
        assert values[name] == spec.default and type(values[name]) is spec.kind, (
            f"{section} {name}: teleop.yaml says {values[name]!r}, the table {spec.default!r} "
            "(document an intended difference with a comment containing 'override')")


def test_defaults_come_from_the_library() -> None:
    from sqgan_ros.api import DEFAULT_MAX_OUTPUT_PIXELS
    from sqgan_ros.codec.index_rdo import IndexRDO
    from sqgan_ros.rate_control import RateControlConfig
    from sqgan_ros.video import VideoConfig

    enc, dec = encoder_specs(), decoder_specs()
    video = VideoConfig()
    assert enc["intra_interval"].default == video.intra_interval
    assert enc["refresh_fraction"].default == video.refresh_fraction
    assert enc["change_threshold"].default == video.change_threshold
    assert enc["ack_timeout_frames"].default == video.max_reference_age
    assert enc["min_image_keep_ratio"].default == RateControlConfig.min_keep
    assert (enc["rdo_lambda_semantic"].default, enc["rdo_lambda_image"].default) == \
        (IndexRDO().semantic, IndexRDO().image)
    assert dec["max_output_pixels"].default == DEFAULT_MAX_OUTPUT_PIXELS == enc["max_input_pixels"].default
    assert EncoderSettings().video_config() == video


def test_every_spec_is_valid_for_its_own_default() -> None:
    from sqgan_ros.sessions.settings import check_value

    for specs in (encoder_specs(), decoder_specs(), camera_specs()):
        for spec in specs.values():
            assert check_value(spec, spec.default) is None, spec.name
            assert spec.description and spec.allowed()


@pytest.mark.parametrize("preset", PRESETS, ids=[p.stem for p in PRESETS])
def test_presets_load_with_ros2_param_load_and_the_runner(preset: Path) -> None:
    data = yaml.safe_load(preset.read_text())
    assert list(data) == ["/**"], "ros2 param load needs the /** (or exact node name) key"
    assert validate_params_file(preset) == []
    weights = read_preset(preset)
    assert sorted(weights) == sorted(CLASS_NAMES)
    assert preset_named(weights) == preset.stem  # what the encoder's start-up line names


def test_presets_parse_like_ros2_param_load_does() -> None:
    rclpy_parameter = pytest.importorskip("rclpy.parameter", reason="rclpy not importable")
    for preset in PRESETS:
        # what ros2param's load_parameter_file does for /robot/sqgan_encoder
        params = rclpy_parameter.parameter_dict_from_yaml_file(
            str(preset), True, target_nodes=["/robot/sqgan_encoder"])
        names = set(params)
        assert names == {f"{CLASS_WEIGHT_PREFIX}{c}" for c in CLASS_NAMES}, preset


@pytest.mark.parametrize("module, node, extra", [
    ("sqgan_ros.ros.encoder_node", "sqgan_encoder", ["target_kbps", "video", "class_weights.<class>"]),
    ("sqgan_ros.ros.decoder_node", "sqgan_decoder", ["output_size", "max_output_pixels"]),
    ("sqgan_ros.ros.camera_source", "camera_source", ["source", "rate_hz"]),
])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_the_table_and_starts_no_ros(module: str, node: str, extra: list[str], flag: str) -> None:
    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = "not_a_number"  # rclpy.init would fail with this
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    out = subprocess.run([sys.executable, "-m", module, flag], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"node '{node}'" in out.stdout and out.stderr.strip() == ""
    specs = {"sqgan_encoder": encoder_specs, "sqgan_decoder": decoder_specs,
             "camera_source": camera_specs}[node]()
    for name, spec in specs.items():
        if name.startswith(CLASS_WEIGHT_PREFIX):
            continue
        line = next((ln for ln in out.stdout.splitlines() if ln.startswith(f"  {name}  ")), None)
        assert line is not None, name
        assert f"  {spec.type_name}  " in line and spec.allowed() in line, line
    for word in extra:
        assert f"  {word}  " in out.stdout


def test_without_help_a_failing_ros_start_is_an_error() -> None:
    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = "not_a_number"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    out = subprocess.run([sys.executable, "-m", "sqgan_ros.ros.camera_source", "--ros-args", "-p",
                          "source:=pattern"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 1 and "camera_source: error:" in out.stderr, out


def test_mistyped_start_parameters_are_reported() -> None:
    from sqgan_ros.ros.parameters import mistyped_overrides

    names = ["image_keep_ration", "output_size", "use_sim_time", "totally_unrelated", "class_weights.x"]
    assert mistyped_overrides(encoder_specs(), names) == ["image_keep_ration"]
    assert mistyped_overrides(decoder_specs(), ["max_output_pixel", "image_keep_ratio"]) == ["max_output_pixel"]


def test_wants_help_only_before_ros_args() -> None:
    from sqgan_ros.ros.node_main import wants_help

    assert wants_help(["prog", "-h"]) and wants_help(["prog", "--help", "--ros-args"])
    assert not wants_help(["prog"]) and not wants_help(["prog", "--ros-args", "-p", "x:=-h"])
    assert not wants_help(["-h"])  # argv[0] is the program


@pytest.mark.ros
def test_node_refuses_wrong_types_and_unknown_names_with_a_clear_reason(tiny_model_file: Path) -> None:
    """Through set_parameters_atomically: what the parameter service (``ros2 param set``) calls."""
    import rclpy
    from rclpy.parameter import Parameter

    from sqgan_ros.ros.encoder_node import EncoderNode

    context = rclpy.Context()
    rclpy.init(context=context, args=["--ros-args", "-p", f"model_file:={tiny_model_file}",
                                      "-p", "device:=cpu", "-p", "segmenter:=none",
                                      "-p", "torch_threads:=1"])
    node = None
    try:
        node = EncoderNode(context=context, start_parameter_services=False)

        def reason(name: str, value) -> str:
            result = node.set_parameters_atomically([Parameter(name, value=value)])
            assert not result.successful, (name, value)
            return result.reason

        r = reason("image_keep_ratio", "abc")
        assert r == "image_keep_ratio must be a number in (0, 1], got 'abc'"
        r = reason("encode_only_when_subscribed", 1)
        assert "encode_only_when_subscribed must be true or false" in r
        r = reason("image_keep_ration", 0.3)
        assert "'image_keep_ration'" in r and "did you mean image_keep_ratio" in r
        r = reason("class_weights.dragon", 2.0)
        assert "unknown class 'dragon'" in r and "person" in r
        r = reason("class_weights.person", 2000.0)
        assert "class_weights.person" in r and "1000" in r
        r = reason("model_file", "/elsewhere.safetensors")
        assert "model_file" in r and "read-only" in r.lower()
        assert not node.has_parameter("image_keep_ration")
        ok = node.set_parameters_atomically([Parameter("class_weights.person", value=4)])
        assert ok.successful and node.session.settings.class_weights["person"] == 4.0
        ok = node.set_parameters_atomically([Parameter("target_kbps", value=12.0)])
        assert ok.successful and "rate control to 12 kbit/s" in node.session.mode()
    finally:
        if node is not None:
            node.close()
            node.destroy_node()
        rclpy.try_shutdown(context=context)
