"""Tools that need no ROS (benchmark, process helper, link harness); the runtime never imports them.

See docs/ARCHITECTURE.md for the layers; tools that use rclpy live in ``sqgan_ros.ros.tools``.
"""
