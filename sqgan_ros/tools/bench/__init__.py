"""``sqgan-bench``: the one codec benchmark (speed table, per-stage breakdown, DDS pipelines).

* :mod:`.codec`: speed and memory per preset and device, each in a fresh process;
* :mod:`.breakdown`: one model's network / API timings and bytes per frame at several keep ratios;
* :mod:`.cli`: the command line; ``--ros`` adds ``sqgan_ros.ros.tools.bench_pipelines``.
"""
