"""moeplan's Kafka topics from a training job: expert loads (and measured times) out, decisions
and the pool in.

Built on Debian's ``python3-confluent-kafka``. Every record goes out as Avro single-object
encoding under the key and on the partition the Java executor uses (``jobId/rank`` and Kafka's
murmur2 partitioner), and nothing is dropped silently: a failed delivery and a record skipped on
reading are counted, logged with topic, key or offset, and kept in :attr:`recent_problems`.
"""

import logging
import math
import os
import socket
import time
import uuid
from collections import deque

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from . import keys
from .codec import WireFormatError, codec_for

LOG = logging.getLogger("moeplan")

EXPERT_LOAD_TOPIC = "moe.expert-load"
PLAN_POOL_TOPIC = "moe.plan-pool"
PLAN_DECISIONS_TOPIC = "moe.plan-decisions"
DEAD_LETTER_TOPIC = "moe.expert-load.dlq"
WORKER_TIMES_TOPIC = "moe.worker-times"

# Kafka's Java producer hashes keys with murmur2; librdkafka's default (CRC32) would put a rank's
# loads on another partition than the Java executor does.
_PARTITIONER = "murmur2_random"
_RECENT_PROBLEMS = 10


class PublishError(RuntimeError):
    """Records could not be delivered; the message names how many and the latest failure."""


class _Problems:
    def __init__(self):
        self.recent = deque(maxlen=_RECENT_PROBLEMS)

    def add(self, problem):
        self.recent.append(problem)
        LOG.warning(problem)


def _with_required(config, required, purpose):
    """``config`` with ``required`` settings in force; a user value that is replaced is logged."""
    merged = dict(config)
    for name, value in required.items():
        given = merged.get(name)
        if given is not None and str(given) != str(value):
            LOG.warning(
                "Kafka setting %s=%s replaced by %s: %s", name, given, value, purpose[name]
            )
        merged[name] = value
    return merged


class LoadPublisher:
    """Publishes each rank's expert token counts, one ``ExpertLoad`` per rank and iteration, and
    optionally what the job measured, one ``WorkerTimes`` per layer and iteration
    (:meth:`publish_times`), from which the job calibrates its performance model.

    ``config`` holds librdkafka settings (``bootstrap.servers``, security, ...); ``world_size`` is
    the job's rank count; ``layers`` the MoE layers each rank reports by default (with pipeline
    stages, pass each rank's stage's layers to :meth:`publish`). ``run_id`` and ``attempt`` name
    the epoch: a new ``run_id`` for a new run from iteration 0 under a used job id, ``attempt``
    one higher for every resume from a checkpoint.

    Delivery failures are counted in :attr:`failed`, logged, and raised by :meth:`flush`.
    """

    def __init__(
        self,
        config,
        job_id,
        world_size,
        layers,
        run_id=None,
        attempt=0,
        topic=EXPERT_LOAD_TOPIC,
        producer=None,
        times_topic=WORKER_TIMES_TOPIC,
    ):
        keys.require_epoch(run_id, attempt)
        if world_size < 1:
            raise ValueError(f"world_size must be >= 1, got {world_size}")
        self.job_id = keys.require_job_id(job_id)
        self.world_size = world_size
        self.layers = [int(layer) for layer in layers]
        if not self.layers:
            raise ValueError("layers must name at least one MoE layer")
        self.run_id = run_id
        self.attempt = attempt
        self.topic = topic
        self.times_topic = times_topic
        self._codec = codec_for("ExpertLoad")
        self._times_codec = codec_for("WorkerTimes")
        self._problems = _Problems()
        self.sent = 0
        self.delivered = 0
        self.failed = 0
        self._failed_reported = 0
        self._principal = "User:" + str(config.get("sasl.username", "ANONYMOUS"))
        self._producer = producer or Producer(
            _with_required(
                {"linger.ms": 2, "acks": "all", **config},
                {"partitioner": _PARTITIONER},
                {"partitioner": "loads must land on the partition the Java executor uses"},
            )
        )

    @property
    def recent_problems(self):
        """The latest delivery failures, oldest first (at most 10)."""
        return list(self._problems.recent)

    def record(self, rank, iteration, counts, plan_version=0, layers=None):
        """The ``ExpertLoad`` dict :meth:`publish` sends (validated, not sent)."""
        layers = self.layers if layers is None else [int(layer) for layer in layers]
        rows = _rows(counts)
        if len(rows) != len(layers):
            raise ValueError(
                f"counts has {len(rows)} rows, expected one per layer of {layers}"
            )
        if not 0 <= rank < self.world_size:
            raise ValueError(f"rank {rank} outside 0..{self.world_size - 1}")
        if iteration < 0:
            raise ValueError(f"iteration must be >= 0, got {iteration}")
        experts = len(rows[0])
        for layer, row in zip(layers, rows):
            if len(row) != experts or not row:
                raise ValueError(
                    f"layer {layer} has {len(row)} expert counts, layer {layers[0]} has {experts}"
                )
            for expert, count in enumerate(row):
                if count < 0:
                    raise ValueError(f"layer {layer} expert {expert}: count {count} is negative")
        return {
            "jobId": self.job_id,
            "rank": int(rank),
            "worldSize": self.world_size,
            "iteration": int(iteration),
            "planVersion": int(plan_version),
            "layers": [
                {"layer": layer, "expertCounts": row} for layer, row in zip(layers, rows)
            ],
            "producedAt": int(time.time() * 1000),
            "runId": self.run_id,
            "attempt": self.attempt,
        }

    def publish(self, rank, iteration, counts, plan_version=0, layers=None):
        """Sends rank ``rank``'s counts of ``iteration``.

        ``counts`` has one row per layer (``layers``, default the publisher's), each the tokens the
        rank routed to every expert: a list of lists, a numpy array or a torch tensor.
        ``plan_version`` is what the rank's :class:`~moeplan.follower.DecisionFollower` reports
        (:meth:`~moeplan.follower.DecisionFollower.plan_version`).
        """
        record = self.record(rank, iteration, counts, plan_version, layers)
        key = keys.rank_key(self.job_id, rank)
        value = self._codec.encode(record)
        self._produce(key, value)

    def times_record(
        self, layer, iteration, workers, plan_version=0, backend="cuda", executor_id=None
    ):
        """The ``WorkerTimes`` dict :meth:`publish_times` sends (validated, not sent)."""
        if layer < 0:
            raise ValueError(f"layer must be >= 0, got {layer}")
        if iteration < 0:
            raise ValueError(f"iteration must be >= 0, got {iteration}")
        rows = []
        seen = set()
        for index, worker in enumerate(workers):
            row = {
                "worker": int(worker["worker"]),
                "tokens": int(worker["tokens"]),
                "activeSlots": int(worker["active_slots"]),
                "computeSeconds": float(worker["compute_seconds"]),
                "migratedBytes": int(worker.get("migrated_bytes", 0)),
                "migrationSeconds": float(worker.get("migration_seconds", 0.0)),
            }
            at = f"workers[{index}]"
            if row["worker"] < 0 or row["worker"] in seen:
                raise ValueError(f"{at}: worker {row['worker']} is negative or listed twice")
            seen.add(row["worker"])
            for name in ("tokens", "activeSlots", "migratedBytes"):
                if row[name] < 0:
                    raise ValueError(f"{at}: {name} must be >= 0, got {row[name]}")
            for name in ("computeSeconds", "migrationSeconds"):
                if not (math.isfinite(row[name]) and row[name] >= 0):
                    raise ValueError(f"{at}: {name} must be finite and >= 0, got {row[name]}")
            if row["tokens"] > 0 and row["activeSlots"] == 0:
                raise ValueError(f"{at}: activeSlots is 0 but tokens is {row['tokens']}")
            rows.append(row)
        if not rows:
            raise ValueError("workers is empty")
        return {
            "jobId": self.job_id,
            "executorId": executor_id or f"{socket.gethostname()}/{os.getpid()}",
            "iteration": int(iteration),
            "layer": int(layer),
            "planVersion": int(plan_version),
            "backend": backend,
            "workers": rows,
            "migratedBytes": sum(row["migratedBytes"] for row in rows),
            "migrationSeconds": max(row["migrationSeconds"] for row in rows),
            "producedAt": int(time.time() * 1000),
        }

    def publish_times(
        self, layer, iteration, workers, plan_version=0, backend="cuda", executor_id=None
    ):
        """Sends what this process measured of ``layer`` in ``iteration``, for the job to
        calibrate its performance model (``moe.worker-times``, one record per layer and
        iteration).

        ``workers`` holds one mapping per expert-parallel worker this process measured:
        ``worker``, ``tokens`` (token assignments its slots computed), ``active_slots`` (slots
        that got tokens), ``compute_seconds`` (its expert compute, forward and backward, e.g.
        from CUDA events), and for the iteration a switch took effect ``migrated_bytes`` and
        ``migration_seconds`` (what it received for the switch and how long that took).
        ``backend`` names the hardware class; ``executor_id`` (default host/pid) tells this
        process's records apart from another's.
        """
        record = self.times_record(layer, iteration, workers, plan_version, backend, executor_id)
        value = self._times_codec.encode(record)
        key = keys.layer_key(self.job_id, layer)
        self._produce(key, value, self.times_topic)

    def _produce(self, key, value, topic=None):
        deadline = time.monotonic() + 30
        while True:
            try:
                self._producer.produce(
                    topic or self.topic, value=value, key=key.encode(), on_delivery=self._delivered
                )
                break
            except BufferError:
                # the local queue is full: serve deliveries until there is room, bounded
                if time.monotonic() > deadline:
                    raise PublishError(
                        f"the producer's queue stayed full for 30 s (sending {key}); "
                        "is the broker reachable?"
                    ) from None
                self._producer.poll(0.1)
        self.sent += 1
        self._producer.poll(0)

    def poll(self, timeout=0.0):
        """Serves delivery reports (counting failures) and sends what is batched; returns soon."""
        self._producer.poll(timeout)

    def _delivered(self, error, message):
        if error is None:
            self.delivered += 1
            return
        self.failed += 1
        key = message.key().decode(errors="replace") if message.key() else None
        problem = f"send to {message.topic()} with key {key} failed: {error}"
        if error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
            problem += (
                f": not authorized to WRITE topic '{message.topic()}' as {self._principal}; a"
                f" platform team grants it with: kafka-acls.sh --add --allow-principal"
                f" {self._principal} --operation Write --topic {message.topic()}"
            )
        self._problems.add(problem)

    def flush(self, timeout=30.0):
        """Waits until every record sent is delivered or failed; raises :class:`PublishError` when
        any failed since the last flush or some are still undelivered after ``timeout``."""
        failed_before = self._failed_reported
        left = self._producer.flush(timeout)
        self._failed_reported = self.failed
        if left:
            raise PublishError(f"{left} records not delivered within {timeout} s")
        if self.failed > failed_before:
            raise PublishError(
                f"{self.failed - failed_before} records failed: {self._problems.recent[-1]}"
            )

    def close(self, timeout=30.0):
        """Flushes (raising as :meth:`flush` does)."""
        self.flush(timeout)


def _rows(counts):
    """Rows of ints from a list of lists, a numpy array or a torch tensor."""
    if hasattr(counts, "tolist"):
        counts = counts.tolist()
    return [[int(c) for c in row] for row in counts]


class DecisionReader:
    """Reads every partition of the decisions topic from the beginning, as a follower's source.

    No consumer group offsets are used (a restarted rank reads the compacted topic again). Records
    that are not decisions (tombstones, undecodable bytes) are skipped, counted in
    :attr:`skipped` and logged with their partition and offset.
    """

    def __init__(self, config, topic=PLAN_DECISIONS_TOPIC, timeout=30.0):
        self.topic = topic
        self._codec = codec_for("PlanDecision")
        self._problems = _Problems()
        self.skipped = 0
        self._consumer = _assigned_consumer(config, topic, timeout)

    @property
    def recent_problems(self):
        """The latest skipped records, described, oldest first (at most 10)."""
        return list(self._problems.recent)

    def poll(self, timeout):
        """The decisions that arrive within ``timeout`` seconds (possibly none), decoded."""
        out = []
        for message in self._consumer.consume(num_messages=500, timeout=max(0.0, timeout)):
            decision = _decode(message, self._codec, self._skip)
            if decision is not None:
                out.append(decision)
        return out

    def caught_up(self):
        """Whether every partition has been read to the end it had when asked."""
        return _caught_up(self._consumer)

    def _skip(self, message, reason):
        self.skipped += 1
        self._problems.add(_describe(message, reason))

    def close(self):
        """Closes the consumer."""
        self._consumer.close()


def read_pool(config, job_id, timeout=60.0, topic=PLAN_POOL_TOPIC):
    """The latest pool of ``job_id`` on the compacted pool topic, as a decoded ``PlanPool`` dict.

    Reads the topic to its end; raises TimeoutError when no pool of the job arrived within
    ``timeout`` seconds. Records of the job that do not decode are skipped and logged.
    """
    keys.require_job_id(job_id)
    codec = codec_for("PlanPool")
    consumer = _assigned_consumer(config, topic, timeout)
    skipped = []

    def skip(message, reason):
        if message.key() == job_id.encode():
            skipped.append(_describe(message, reason))
            LOG.warning(skipped[-1])

    latest = None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for message in consumer.consume(num_messages=100, timeout=0.2):
                pool = _decode(message, codec, skip)
                if pool is not None and pool["jobId"] == job_id:
                    latest = pool
            if latest is not None and _caught_up(consumer):
                return latest
    finally:
        consumer.close()
    raise TimeoutError(
        f"no plan pool for job '{job_id}' on topic '{topic}' within {timeout} s"
        + (f" ({len(skipped)} records skipped: {skipped[-1]})" if skipped else "")
        + " (publish one with ./moeplan pool publish, or start ./moeplan local --external)"
    )


def _assigned_consumer(config, topic, timeout):
    consumer = Consumer(
        _with_required(
            config,
            {
                "group.id": f"moeplan-reader-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
            },
            {
                "group.id": "the reader assigns partitions itself and commits no offsets",
                "enable.auto.commit": "the reader keeps no committed offsets",
                "enable.auto.offset.store": "the reader keeps no committed offsets",
            },
        )
    )
    metadata = consumer.list_topics(topic, timeout=timeout)
    described = metadata.topics.get(topic)
    if described is not None and described.error is not None and described.error.code() in (
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
    ):
        consumer.close()
        principal = "User:" + str(config.get("sasl.username", "ANONYMOUS"))
        raise PermissionError(
            f"not authorized to READ topic '{topic}' as {principal} on"
            f" {config.get('bootstrap.servers')}: the broker has no ACL allowing it; a platform"
            f" team grants it with: kafka-acls.sh --add --allow-principal {principal}"
            f" --operation Read --topic {topic}"
        )
    if described is None or described.error is not None or not described.partitions:
        consumer.close()
        raise ValueError(f"topic '{topic}' does not exist on the broker")
    consumer.assign(
        [TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(described.partitions)]
    )
    return consumer


def _caught_up(consumer):
    for partition in consumer.assignment():
        low, high = consumer.get_watermark_offsets(partition, timeout=10, cached=False)
        position = consumer.position([partition])[0].offset
        # before the first fetch the position is a logical offset (negative)
        if high > low and position < high:
            return False
    return True


def _decode(message, codec, skip):
    if message.error() is not None:
        if message.error().code() != KafkaError._PARTITION_EOF:
            LOG.warning("reading %s: %s", message.topic(), message.error())
        return None
    if message.value() is None:
        skip(message, "a tombstone")
        return None
    try:
        return codec.decode(message.value())
    except WireFormatError as error:
        skip(message, f"not a {codec.name}: {error}")
        return None


def _describe(message, reason):
    key = message.key().decode(errors="replace") if message.key() is not None else None
    return (
        f"skipped the record at {message.topic()} partition {message.partition()} "
        f"offset {message.offset()} (key {key}): {reason}"
    )
