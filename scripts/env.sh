# Source this file (bash) to run sqgan_ros nodes and tests on a machine set up by
# scripts/setup.sh (ROS 2 from PyPI wheels in a virtualenv, messages built with colcon):
#
#     source scripts/env.sh
#
# It activates the virtualenv and puts the colcon install tree on the paths ROS needs:
#   PYTHONPATH           source tree first (edits take effect without a rebuild), then the
#                        install tree, which holds the generated sqgan_ros.msg
#   LD_LIBRARY_PATH      the generated typesupport libraries (loaded by path at run time)
#   AMENT_PREFIX_PATH    install tree + virtualenv (ros2 run / launch_ros find lib/sqgan_ros)
#   RMW_IMPLEMENTATION   rmw_fastrtps_cpp (the only RMW the wheels ship)
# ROS_DOMAIN_ID is left as you set it (tests pick their own unique one in test/conftest.py).
#
# Overrides: SQGAN_VENV (default <repo>/.venv), SQGAN_COLCON_BASE (default <repo>/.colcon).
# The wheels' .pth file re-executes python once with LD_LIBRARY_PATH extended by the wheels'
# own library folders (guarded by _ROS_WHEELS_BOOTSTRAP_COMPLETE), so only our own install tree
# is added here.

_sqgan_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_sqgan_venv="${SQGAN_VENV:-$_sqgan_repo/.venv}"
_sqgan_install="${SQGAN_COLCON_BASE:-$_sqgan_repo/.colcon}/install"

if [ ! -x "$_sqgan_venv/bin/python" ]; then
    echo "sqgan_ros env.sh: no virtualenv at $_sqgan_venv; run: bash scripts/setup.sh" >&2
    return 1 2>/dev/null || exit 1
fi

# shellcheck disable=SC1091
. "$_sqgan_venv/bin/activate"

_sqgan_pyver="$(python -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}")')"
_sqgan_prepend() {  # _sqgan_prepend VAR DIR: put DIR first in VAR, once
    local var="$1" dir="$2" cur
    cur="${!var:-}"
    cur=":${cur}:"
    cur="${cur//:${dir}:/:}"
    cur="${cur#:}"
    cur="${cur%:}"
    if [ -n "$cur" ]; then
        export "$var=$dir:$cur"
    else
        export "$var=$dir"
    fi
}

_sqgan_prepend AMENT_PREFIX_PATH "$_sqgan_venv"
_sqgan_prepend CMAKE_PREFIX_PATH "$_sqgan_venv"
_sqgan_prepend LD_LIBRARY_PATH "$_sqgan_venv/lib"
if [ -d "$_sqgan_install" ]; then
    _sqgan_prepend AMENT_PREFIX_PATH "$_sqgan_install"
    _sqgan_prepend CMAKE_PREFIX_PATH "$_sqgan_install"
    _sqgan_prepend LD_LIBRARY_PATH "$_sqgan_install/lib"
    _sqgan_prepend PYTHONPATH "$_sqgan_install/lib/$_sqgan_pyver/site-packages"
    _sqgan_prepend PATH "$_sqgan_install/lib/sqgan_ros"
else
    echo "sqgan_ros env.sh: no colcon install tree at $_sqgan_install (messages not built);" \
         "run: bash scripts/setup.sh" >&2
fi
_sqgan_prepend PYTHONPATH "$_sqgan_repo"

export RMW_IMPLEMENTATION="${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
export SQGAN_REPO="$_sqgan_repo"

unset -f _sqgan_prepend
unset _sqgan_repo _sqgan_venv _sqgan_install _sqgan_pyver
