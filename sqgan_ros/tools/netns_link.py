"""Two network namespaces joined by a rate-limited veth pair: the thin link of the link harness.

::

    netns <robot>                                 netns <operator>
      lo (127.0.0.1)                                lo (127.0.0.1)
      <robot>-v 10.231.0.1/30 ==== veth ==== <operator>-v 10.231.0.2/30
        egress: tbf rate R                            egress: tbf rate R
        [iptables: drop UDP with probability p]       [iptables: drop UDP with probability p]

Only the addresses above, inside namespaces this module creates, are used; IPv6 is disabled on
the link so that no router/neighbour solicitations ride on it. Everything is removed by
:meth:`NetnsLink.teardown` (idempotent; deleting a namespace deletes its end of the veth).

Token bucket (``tc qdisc ... tbf``): ``burst`` (the bucket) must hold the largest frame the
link carries (MTU 1500 + 14 B Ethernet header), otherwise such a packet can never pass; a
larger bucket would let a whole second of traffic through at line rate. The queue behind the
bucket is set with ``limit`` = max(rate x ``latency_ms``, one full-size frame) bytes, not with
tc's ``latency`` (which adds the bucket to the queue: rate x latency + burst, i.e. 1.05 s of
queue at 16 kbit/s). Packets that do not fit are dropped (tail drop), so an over-budget stream
shows up as lost packets, not as a queue whose delay grows without bound: the longest wait is
limit / rate (0.76 s at 16 kbit/s, where one 1514 B frame alone takes that long; 0.38 s at 32,
0.25 s at 64). The qdisc counts Ethernet frames (IP packet + 14 B), so the IP-level ceiling is
a little below ``rate``.

Loss: ``netem`` does not exist on this kernel, so random loss is an iptables ``statistic mode
random`` DROP rule on each namespace's OUTPUT chain for UDP (both directions; discovery, data,
acks alike, as on a radio link). Dropped packets never reach the qdisc or the interface
counters.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LinkConfig", "NetnsLink", "namespaces_problem", "ETH_HEADER_BYTES"]

ETH_HEADER_BYTES = 14
ROBOT_ADDR = "10.231.0.1"
OPERATOR_ADDR = "10.231.0.2"


@dataclass(frozen=True)
class LinkConfig:
    """The emulated link.

    Args:
        kbps: tbf rate in kbit/s (1000 bit/s), each direction; 0 = no rate limit.
        loss: probability that a UDP packet is dropped, each direction, in [0, 1).
        burst_bytes: tbf bucket size (>= MTU + Ethernet header).
        latency_ms: queue behind the bucket, in ms at ``kbps`` (at least one full-size frame).
        mtu: MTU of the veth pair.
    """

    kbps: float = 32.0
    loss: float = 0.0
    burst_bytes: int = 1600
    latency_ms: float = 250.0
    mtu: int = 1500

    @property
    def queue_limit_bytes(self) -> int:
        """The tbf ``limit``: bytes queued behind the bucket (see module docstring)."""
        return max(self.mtu + ETH_HEADER_BYTES, round(self.kbps * 1000 / 8 * self.latency_ms / 1000))

    def __post_init__(self) -> None:
        if not self.kbps >= 0:
            raise ValueError(f"kbps must be >= 0, got {self.kbps!r}")
        if not 0.0 <= self.loss < 1.0:
            raise ValueError(f"loss must be in [0, 1), got {self.loss!r}")
        if self.burst_bytes < self.mtu + ETH_HEADER_BYTES:
            raise ValueError(f"burst_bytes {self.burst_bytes} is below MTU {self.mtu} + "
                             f"{ETH_HEADER_BYTES}: full-size packets could never pass")
        if not self.latency_ms > 0:
            raise ValueError(f"latency_ms must be > 0, got {self.latency_ms!r}")


def namespaces_problem() -> str | None:
    """Why namespaces cannot be made here (None when they can): root, ``ip``, ``tc``, netns."""
    if os.geteuid() != 0:
        return "not root (network namespaces and veth pairs need CAP_NET_ADMIN)"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return f"no '{tool}' command (iproute2 not installed)"
    name = f"sqprobe{os.getpid()}"
    try:
        res = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, timeout=10)
        if res.returncode != 0:
            return f"'ip netns add' fails: {res.stderr.strip() or res.returncode}"
        res = subprocess.run(["ip", "netns", "exec", name, "ip", "link", "add", "name", "sqpa", "type", "veth",
                              "peer", "name", "sqpb"], capture_output=True, text=True, timeout=10)
        if res.returncode != 0:
            return f"veth pairs not permitted: {res.stderr.strip() or res.returncode}"
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
    return None


def _run(cmd: list[str]) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {res.stderr.strip() or res.returncode}")


class NetnsLink:
    """Create, inspect and remove the two namespaces and their link.

    Args:
        config: rate, loss and queue settings.
        tag: suffix that makes the names unique (default: this process id).
    """

    def __init__(self, config: LinkConfig, tag: str | None = None) -> None:
        self.config = config
        tag = tag or str(os.getpid())
        self.robot = f"sqr{tag}"
        self.operator = f"sqo{tag}"
        self.ifaces = {self.robot: f"sqr{tag}v"[:15], self.operator: f"sqo{tag}v"[:15]}
        self.addrs = {self.robot: ROBOT_ADDR, self.operator: OPERATOR_ADDR}
        self.loss_method = "none"
        self._made: list[str] = []

    def exec_prefix(self, ns: str) -> list[str]:
        """Command prefix that runs a program inside namespace ``ns``."""
        return ["ip", "netns", "exec", ns]

    def _in(self, ns: str, *cmd: str) -> None:
        _run(self.exec_prefix(ns) + list(cmd))

    def setup(self) -> None:
        """Create namespaces, veth, addresses, routes, tbf and the loss rules."""
        cfg = self.config
        try:
            for ns in (self.robot, self.operator):
                _run(["ip", "netns", "add", ns])
                self._made.append(ns)
            r_if, o_if = self.ifaces[self.robot], self.ifaces[self.operator]
            self._in(self.robot, "ip", "link", "add", r_if, "mtu", str(cfg.mtu), "type", "veth",
                     "peer", "name", o_if, "netns", self.operator)
            self._in(self.operator, "ip", "link", "set", o_if, "mtu", str(cfg.mtu))
            for ns in (self.robot, self.operator):
                iface = self.ifaces[ns]
                for key in ("all", "default", "lo"):
                    self._in(ns, "sysctl", "-q", "-w", f"net.ipv6.conf.{key}.disable_ipv6=1")
                self._in(ns, "ip", "link", "set", "lo", "up")
                self._in(ns, "ip", "addr", "add", f"{self.addrs[ns]}/30", "dev", iface)
                self._in(ns, "ip", "link", "set", iface, "up")
                # DDS discovery multicast (239.255.0.1) leaves through the link
                self._in(ns, "ip", "route", "add", "224.0.0.0/4", "dev", iface)
                if cfg.kbps > 0:
                    self._in(ns, "tc", "qdisc", "add", "dev", iface, "root", "tbf",
                             "rate", f"{cfg.kbps:g}kbit", "burst", str(cfg.burst_bytes),
                             "limit", str(cfg.queue_limit_bytes))
            if cfg.loss > 0:
                if shutil.which("iptables") is None:
                    raise RuntimeError("--loss needs iptables (statistic match); not installed")
                for ns in (self.robot, self.operator):
                    self._in(ns, "iptables", "-A", "OUTPUT", "-o", self.ifaces[ns], "-p", "udp",
                             "-m", "statistic", "--mode", "random", "--probability",
                             f"{cfg.loss:.4f}", "-j", "DROP")
                self.loss_method = "iptables statistic random DROP on OUTPUT (UDP, both directions)"
        except BaseException:
            self.teardown()
            raise

    def teardown(self) -> None:
        """Remove both namespaces (and with them the veth, qdiscs and rules). Idempotent."""
        for ns in (self.operator, self.robot):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)
        self._made.clear()

    def counters(self) -> dict[str, dict[str, int]]:
        """Interface counters of both ends: ``{ns: {tx_bytes, tx_packets, rx_bytes, ...}}``.

        Read with ``ip netns exec`` (sysfs shows the namespace's own interfaces there).
        """
        out: dict[str, dict[str, int]] = {}
        keys = ("tx_bytes", "tx_packets", "rx_bytes", "rx_packets", "tx_dropped")
        for ns, iface in self.ifaces.items():
            files = [str(Path("/sys/class/net") / iface / "statistics" / k) for k in keys]
            res = subprocess.run(self.exec_prefix(ns) + ["cat", *files], capture_output=True,
                                 text=True, timeout=10)
            values = res.stdout.split()
            if res.returncode != 0 or len(values) != len(keys):
                raise RuntimeError(f"cannot read the counters of {iface} in {ns}: {res.stderr.strip()}")
            stats = {k: int(v) for k, v in zip(keys, values)}
            out[ns] = stats
        return out

    def qdisc_stats(self) -> dict[str, str]:
        """``tc -s qdisc`` of both ends (sent, dropped, overlimits), as text."""
        out = {}
        for ns, iface in self.ifaces.items():
            res = subprocess.run(self.exec_prefix(ns) + ["tc", "-s", "qdisc", "show", "dev", iface],
                                 capture_output=True, text=True, timeout=10)
            out[ns] = " ".join(res.stdout.split())
        return out
