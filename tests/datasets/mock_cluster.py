"""librdkafka's mock cluster in a process of its own: a broker whose watermarks are right.

Tansu's high watermark is wrong (BROKERS.md), so the tests of "now" and of the lag run
here. The child process creates the cluster through ctypes on the librdkafka that
confluent-kafka bundles, prints its bootstrap address, and then reads commands on stdin
(``topic NAME PARTITIONS``: create a topic; end of input: exit). The mock cluster keeps
only ~5 MiB per partition: tests here stay small.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

_CHILD = textwrap.dedent(
    r"""
    import ctypes, glob, os, sys
    P, S, I, Z = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_size_t
    import confluent_kafka
    base = os.path.dirname(confluent_kafka.__file__)
    lib = ctypes.CDLL(glob.glob(os.path.join(base, "..", "confluent_kafka.libs", "librdkafka*"))[0])
    lib.rd_kafka_conf_new.restype = ctypes.c_void_p
    lib.rd_kafka_new.restype = ctypes.c_void_p
    lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
    lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
    lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_mock_topic_create.argtypes = [P, S, I, I]
    lib.rd_kafka_mock_group_initial_rebalance_delay_ms.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.rd_kafka_conf_set.argtypes = [P, S, S, S, Z]
    err = ctypes.create_string_buffer(512)
    conf = lib.rd_kafka_conf_new()
    lib.rd_kafka_conf_set(conf, b"log_level", b"0", err, 512)
    rk = lib.rd_kafka_new(0, conf, err, 512)
    mc = lib.rd_kafka_mock_cluster_new(rk, 1)
    lib.rd_kafka_mock_group_initial_rebalance_delay_ms(mc, 0)
    print(lib.rd_kafka_mock_cluster_bootstraps(mc).decode(), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if cmd and cmd[0] == "topic":
            code = lib.rd_kafka_mock_topic_create(mc, cmd[1].encode(), int(cmd[2]), 1)
            print("ok" if code == 0 else f"error {code}", flush=True)
    os._exit(0)
    """
)


class MockCluster:
    """``with MockCluster() as mc: mc.bootstrap, mc.topic("t", 2)``."""

    def __enter__(self) -> MockCluster:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.bootstrap = self.proc.stdout.readline().strip()
        if not self.bootstrap:
            raise RuntimeError("the mock cluster did not start")
        return self

    def topic(self, name: str, partitions: int) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"topic {name} {partitions}\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if answer != "ok":
            raise RuntimeError(f"mock topic {name}: {answer}")
        return name

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
