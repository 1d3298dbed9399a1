"""Tools that use rclpy: the no-launch graph runner, soak, loss relay, DDS pipeline benchmark.

The nodes (``sqgan_ros.ros``) never import them; see docs/ARCHITECTURE.md.
"""
