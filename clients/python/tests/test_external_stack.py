"""The client against the real thing: ``./moeplan local --external`` (a Kafka broker, the Flink job
on a MiniCluster, the pool published), and the training example run against it."""

import json
import os
import pathlib
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from moeplan import (
    DecisionReader,
    LoadPublisher,
    PublishError,
    client_config_from_properties,
    read_pool,
    windows,
)
from moeplan.codec import codec_for

CLIENT = pathlib.Path(__file__).resolve().parents[1]
ROOT = CLIENT.parents[1]
EXAMPLES = CLIENT / "examples"
JOB = "example"
F, L = 10, 2
READY = re.compile(r"^ready: bootstrap-servers=(\S+) job=(\S+)")


def free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


class Stack:
    """``./moeplan local --external`` as a child process, its output collected line by line."""

    def __init__(self, extra=(), job=JOB):
        self.lines = queue.Queue()
        self.output = []
        self.process = subprocess.Popen(
            [
                str(ROOT / "moeplan"),
                "local",
                "--external",
                "--cluster", str(EXAMPLES / "cluster-cpu-4.yaml"),
                "--model", str(EXAMPLES / "model-tiny-moe.yaml"),
                "--parallel", "tp=1,pp=1,dp=4,ep=4,slots=2",
                "--job", job,
                "--window-iterations", str(F),
                "--lead-iterations", str(L),
                "--ui-port", str(free_port()),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.bootstrap = self.wait_for(READY, 300).group(1)

    def _read(self):
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern, seconds):
        """The match of the stack's next output line matching ``pattern``, within ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:  # the time is up, or the stack exited
                raise AssertionError(
                    f"no line matching {pattern.pattern!r} within {seconds} s"
                    + (" (the stack exited)" if self.process.poll() is not None else "")
                    + ":\n" + "".join(self.output[-40:])
                )
            match = pattern.search(line.rstrip("\n"))
            if match:
                return match

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture(scope="module")
def stack():
    s = Stack()
    yield s
    s.stop()


def run_example(stack, log, *extra, job=JOB):
    return subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "train_moe.py"),
            "--bootstrap-servers", stack.bootstrap,
            "--job", job,
            "--window-iterations", str(F),
            "--lead-iterations", str(L),
            "--log", str(log),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


def events(log):
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_the_example_trains_with_moeplan_in_the_loop_and_switches_at_effective_iterations(
    stack, tmp_path
):
    with_moeplan = tmp_path / "with.jsonl"
    result = run_example(stack, with_moeplan, "--iterations", "100", "--rate", "20")
    assert result.returncode == 0, result.stdout + result.stderr
    log = events(with_moeplan)
    summary = log[-1]
    followers = summary["followers"]
    assert len(followers) == 4
    windows_decided = 100 // F - 1  # windows whose effective iteration is within the run
    for counters in followers:
        assert counters["decisions"] >= windows_decided * 2, counters
        assert counters["timeouts"] == 0 and counters["timing_mismatches"] == 0, counters
        assert counters["rejected"] == 0 and counters["other_epoch"] == 0, counters
    assert summary["loads_failed"] == 0 and summary["loads_sent"] == 100 * 4
    # every switch: at its window's effective iteration, on every rank, the same placement
    switches = [e for e in log if e["event"] == "switch"]
    by_decision = {}
    for e in switches:
        assert e["iteration"] == windows.effective_iteration(e["window"], F, L), e
        by_decision.setdefault(e["decision_id"], []).append(e)
    for decision_id, applied in by_decision.items():
        assert sorted(e["rank"] for e in applied) == [0, 1, 2, 3], decision_id
        assert len({(e["iteration"], tuple(e["after"])) for e in applied}) == 1, decision_id
    assert summary["switches"] == len(by_decision)
    # the first decision about one window (plus the lead) after the first load, plus < 1 s
    assert summary["first_decision_after_first_load_s"] < summary["window_s"] * 1.5 + 1.0, summary

    # the same seed without moeplan: the same losses, switches or not
    without = tmp_path / "without.jsonl"
    result = run_example(stack, without, "--iterations", "100", "--no-moeplan")
    assert result.returncode == 0, result.stdout + result.stderr
    losses = [e["loss"] for e in log if e["event"] == "iteration"]
    assert losses == [e["loss"] for e in events(without) if e["event"] == "iteration"]
    assert losses[-1] < losses[0] * 0.7, "the model learns"


def murmur2(data):
    """Kafka's Java partitioner hash (Utils.murmur2)."""
    m, r = 0x5BD1E995, 24
    h = (0x9747B28C ^ len(data)) & 0xFFFFFFFF
    for i in range(0, len(data) - len(data) % 4, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail = len(data) % 4
    if tail:
        rest = data[len(data) - tail :]
        if tail == 3:
            h ^= rest[2] << 16
        if tail >= 2:
            h ^= rest[1] << 8
        h ^= rest[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def test_loads_go_to_the_partition_the_java_executor_uses(stack):
    config = {"bootstrap.servers": stack.bootstrap}
    publisher = LoadPublisher(config, "partitions", 4, [0, 1])
    for rank in range(4):
        publisher.publish(rank, 0, [[1] * 8, [2] * 8])
    publisher.flush()
    consumer = Consumer({**config, "group.id": "partition-check", "enable.auto.commit": False})
    try:
        topic = consumer.list_topics("moe.expert-load", timeout=10).topics["moe.expert-load"]
        partitions = len(topic.partitions)
        assert partitions > 1
        consumer.assign(
            [TopicPartition("moe.expert-load", p, OFFSET_BEGINNING) for p in range(partitions)]
        )
        found = {}
        deadline = time.monotonic() + 30
        while len(found) < 4 and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=500, timeout=0.5):
                key = message.key().decode() if message.key() else ""
                if key.startswith("partitions/"):
                    found[key] = message.partition()
    finally:
        consumer.close()
    assert sorted(found) == [f"partitions/{rank}" for rank in range(4)]
    for key, partition in found.items():
        assert partition == (murmur2(key.encode()) & 0x7FFFFFFF) % partitions, key


def test_the_pool_reads_back_and_undecodable_decisions_are_skipped_and_described(stack):
    config = {"bootstrap.servers": stack.bootstrap}
    pool = read_pool(config, JOB, timeout=30)
    assert pool["plans"][0]["parallel"]["ep"] == 4 and pool["model"]["expertCount"] == 8
    producer = Producer(config)
    producer.produce("moe.plan-decisions", key=b"other/0", value=b"\x00\x00\x00\x00\x07junk")
    producer.produce("moe.plan-decisions", key=b"other/1", value=None)
    producer.flush(10)
    reader = DecisionReader(config)
    try:
        deadline = time.monotonic() + 30
        while reader.skipped < 2 and time.monotonic() < deadline:
            reader.poll(0.5)
        assert reader.skipped == 2
        problems = "\n".join(reader.recent_problems)
        assert "Confluent" in problems and "key other/0" in problems
        assert "a tombstone" in problems
    finally:
        reader.close()


def test_a_load_that_cannot_be_used_is_dead_lettered_with_a_reason_the_stack_prints(stack):
    config = {"bootstrap.servers": stack.bootstrap}
    publisher = LoadPublisher(config, JOB, 4, [0, 1])
    # world size 5 is not the pool's 4
    record = publisher.record(0, 0, [[1] * 8, [1] * 8])
    record["worldSize"] = 5
    producer = Producer(config)
    producer.produce("moe.expert-load", key=b"example/0", value=codec_for("ExpertLoad").encode(record))
    producer.flush(10)
    stack.wait_for(re.compile(r"dead letter INVALID_FIELD .*worldSize 5 is not the 4 ranks"), 60)


def test_a_failed_delivery_is_raised_not_dropped():
    port = free_port()  # nothing listens there
    publisher = LoadPublisher(
        {"bootstrap.servers": f"localhost:{port}", "message.timeout.ms": 1000}, "job", 2, [0]
    )
    publisher.publish(0, 0, [[1, 2]])
    with pytest.raises(PublishError, match="1 records failed"):
        publisher.flush(10)
    assert publisher.failed == 1 and "job/0" in publisher.recent_problems[0]


SECURED = re.compile(r"^secured: .* the training job connects with (\S+) ")


def test_the_example_trains_as_a_tenant_on_a_secured_stack_and_other_topics_are_refused(tmp_path):
    secured = Stack(("--secure", "--topic-prefix", "teamA"), job="teamA.example")
    try:
        client_file = None
        for line in secured.output:
            match = SECURED.search(line)
            if match:
                client_file = match.group(1)
        assert client_file and client_file.endswith("tenant-teamA.properties"), secured.output
        log = tmp_path / "secured.jsonl"
        result = run_example(
            secured,
            log,
            "--kafka-config", client_file,
            "--topic-prefix", "teamA",
            "--iterations", "40",
            "--rate", "20",
            job="teamA.example",
        )
        assert result.returncode == 0, result.stdout + result.stderr
        summary = events(log)[-1]
        assert summary["loads_failed"] == 0 and summary["loads_sent"] == 40 * 4
        for counters in summary["followers"]:
            assert counters["decisions"] >= (40 // F - 1) * 2, counters

        config = client_config_from_properties(client_file)
        password = config["sasl.password"]
        # the tenant may not read the plain topics, and is told which ACL is missing
        with pytest.raises(PermissionError, match="not authorized to READ topic 'moe.plan-decisions'"
                           " as User:tenant-teamA"):
            DecisionReader(config, timeout=20)
        # without credentials the client gets no metadata: bounded, not a hang
        with pytest.raises(Exception):
            read_pool({"bootstrap.servers": secured.bootstrap}, "teamA.example", timeout=5,
                      topic="teamA.moe.plan-pool")
        assert password not in "".join(secured.output) + result.stdout + result.stderr
    finally:
        secured.stop()
