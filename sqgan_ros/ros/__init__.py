"""ROS 2 side of sqgan_ros: thin rclpy nodes and the helpers they share.

Nodes (each a module with ``main()``, installed as ``lib/sqgan_ros/<name>``): ``camera_source``,
``encoder_node``, ``decoder_node``. Helpers that need no rclpy: ``image_conversion``
(sensor_msgs/Image <-> numpy) and ``frame_sources`` (video, folder, V4L2, pattern, synthetic).
Importing this package imports nothing from ROS; the node modules import rclpy themselves.
"""
