"""Parameter specs and validation of the teleop nodes (plain functions, plus one in-process node)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sqgan_ros.labels import CLASS_NAMES
from sqgan_ros.ros.parameters import (
    CLASS_WEIGHT_PREFIX,
    check_value,
    class_weights_from,
    decoder_specs,
    encoder_specs,
    unknown_parameters,
    validate_changes,
    validate_params_file,
)

REPO = Path(__file__).resolve().parents[1]


def test_every_class_has_a_weight_parameter_and_nothing_else() -> None:
    specs = encoder_specs()
    weights = sorted(n[len(CLASS_WEIGHT_PREFIX):] for n in specs if n.startswith(CLASS_WEIGHT_PREFIX))
    assert weights == sorted(CLASS_NAMES)
    assert all(specs[f"class_weights.{c}"].default == 1.0 for c in CLASS_NAMES)


@pytest.mark.parametrize("value", [0.0, 0.5, 5.0, 1000.0])
def test_class_weight_accepts_finite_non_negative(value: float) -> None:
    assert validate_changes(encoder_specs(), [("class_weights.person", value)]) is None


@pytest.mark.parametrize("value, words", [
    (-0.1, "in [0, 1000]"), (math.inf, "finite"), (math.nan, "finite"), ("5", "number"), (True, "number"),
])
def test_class_weight_rejects_bad_values_with_reason(value, words: str) -> None:
    reason = validate_changes(encoder_specs(), [("class_weights.person", value)])
    assert reason is not None and words in reason and "class_weights.person" in reason


def test_unknown_class_name_is_refused() -> None:
    reason = validate_changes(encoder_specs(), [("class_weights.dragon", 1.0)])
    assert reason is not None and "unknown class 'dragon'" in reason and "person" in reason


@pytest.mark.parametrize("name", ["semantic_keep_ratio", "image_keep_ratio"])
@pytest.mark.parametrize("value, ok", [(0.0, False), (1e-6, True), (1.0, True), (1.01, False),
                                       (-0.5, False), (math.nan, False)])
def test_keep_ratios_in_half_open_unit_interval(name: str, value: float, ok: bool) -> None:
    assert (validate_changes(encoder_specs(), [(name, value)]) is None) == ok


@pytest.mark.parametrize("value, ok", [(0.0, True), (25.0, True), (-1.0, False),
                                       (math.inf, False), (math.nan, False)])
def test_target_kbps(value: float, ok: bool) -> None:
    assert (validate_changes(encoder_specs(), [("target_kbps", value)]) is None) == ok


@pytest.mark.parametrize("name, value", [("model_file", "/tmp/other.safetensors"), ("device", "cpu"),
                                         ("image_topic", "x"), ("segmenter", "none"),
                                         ("qos_depth", 5)])
def test_read_only_refused_at_run_time_but_allowed_at_start(name: str, value) -> None:
    specs = encoder_specs()
    reason = validate_changes(specs, [(name, value)], running=True)
    assert reason is not None and "read-only" in reason and name in reason
    assert validate_changes(specs, [(name, value)], running=False) is None


def test_batch_is_all_or_nothing_and_names_the_culprit() -> None:
    reason = validate_changes(encoder_specs(), [("class_weights.car", 2.0), ("image_keep_ratio", 0.0)])
    assert reason is not None and "image_keep_ratio" in reason


def test_string_choices() -> None:
    enc, dec = encoder_specs(), decoder_specs()
    assert check_value(enc["device"], "gpu") is not None
    assert check_value(enc["device"], "cuda") is None
    assert check_value(enc["segmenter"], "/models/seg.onnx") is None  # user model path
    assert check_value(enc["segmenter"], "") is not None
    assert validate_changes(dec, [("output_size", "model")]) is None
    assert validate_changes(dec, [("output_size", "huge")]) is not None


def test_unknown_parameters_and_class_weight_extraction() -> None:
    specs = encoder_specs()
    assert unknown_parameters(specs, ["use_sim_time", "image_keep_ratio", "bogus",
                                      "qos_overrides./x.depth"]) == ["bogus"]
    weights = class_weights_from({"class_weights.person": 5.0, "image_keep_ratio": 0.3})
    assert weights == {"person": 5.0}


def test_shipped_config_and_presets_are_valid() -> None:
    files = [REPO / "config" / "teleop.yaml", *sorted((REPO / "config" / "class_weights").glob("*.yaml"))]
    assert len(files) >= 3, "teleop.yaml and at least two class-weight presets are expected"
    for f in files:
        assert validate_params_file(f) == [], f


def test_params_file_problems_are_reported(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(
        "/**/sqgan_encoder:\n"
        "  ros__parameters:\n"
        "    target_kbps: 20\n"
        "    image_keep_ratio: 0.0\n"
        "    class_weights:\n"
        "      dragon: 1.0\n"
        "      person: -1.0\n"
        "    bogus: 3\n"
        "sqgan_decoder:\n"
        "  ros__parameters:\n"
        "    output_size: huge\n"
    )
    problems = "\n".join(validate_params_file(f))
    for words in ("written as a float", "image_keep_ratio", "'dragon'", "class_weights.person",
                  "'bogus'", "output_size"):
        assert words in problems, words
    (tmp_path / "broken.yaml").write_text("a: [unclosed\n")
    assert validate_params_file(tmp_path / "broken.yaml")


def test_on_set_callback_and_descriptors_on_a_real_node() -> None:
    rclpy = pytest.importorskip("rclpy", reason="rclpy not importable: ROS 2 Python not installed")
    from rclpy.parameter import Parameter

    from sqgan_ros.ros.parameters import declare_parameters, make_on_set_callback

    applied: list[dict] = []
    context = rclpy.Context()
    rclpy.init(context=context, args=["--ros-args", "-p", "class_weights.car:=3.0"])
    try:
        node = rclpy.create_node("param_test_node", context=context, start_parameter_services=False)
        specs = encoder_specs()
        values = declare_parameters(node, specs)
        assert values["class_weights.car"] == 3.0
        node.add_on_set_parameters_callback(make_on_set_callback(specs, applied.append))
        desc = node.describe_parameter("image_keep_ratio")
        assert desc.floating_point_range[0].to_value == 1.0 and desc.description
        assert node.describe_parameter("model_file").read_only

        ok = node.set_parameters([Parameter("class_weights.person", value=5.0)])[0]
        assert ok.successful and applied[-1] == {"class_weights.person": 5.0}
        bad = node.set_parameters([Parameter("image_keep_ratio", value=0.0)])[0]
        assert not bad.successful and "image_keep_ratio" in bad.reason
        assert node.get_parameter("image_keep_ratio").value == 0.4
        ro = node.set_parameters([Parameter("device", value="cpu")])[0]
        assert not ro.successful and "read-only" in ro.reason.lower()
        # rclpy's own parameters pass through to rclpy: use_sim_time at run time (bag playback),
        # and the QoS override parameters declared with an overridable publisher
        count = len(applied)
        sim = node.set_parameters([Parameter("use_sim_time", value=True)])[0]
        assert sim.successful and len(applied) == count
        from rclpy.qos_overriding_options import QoSOverridingOptions
        from std_msgs.msg import String
        node.create_publisher(String, "chatter", 1, qos_overriding_options=QoSOverridingOptions.with_default_policies())
        assert node.has_parameter("qos_overrides./chatter.publisher.reliability")
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)


def test_unknown_class_override_fails_at_start() -> None:
    rclpy = pytest.importorskip("rclpy", reason="rclpy not importable: ROS 2 Python not installed")
    from sqgan_ros.ros.parameters import declare_parameters

    context = rclpy.Context()
    rclpy.init(context=context, args=["--ros-args", "-p", "class_weights.dragon:=3.0"])
    try:
        node = rclpy.create_node("param_test_node2", context=context, start_parameter_services=False)
        with pytest.raises(ValueError, match="dragon"):
            declare_parameters(node, encoder_specs())
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)
