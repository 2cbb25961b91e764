"""LoadPublisher.publish_times: the WorkerTimes record, its key and its checks, without a broker."""

import pytest

from moeplan.codec import codec_for
from moeplan.kafka import LoadPublisher


class _Producer:
    """Keeps what is produced; delivers nothing (no broker)."""

    def __init__(self):
        self.sent = []

    def produce(self, topic, value, key, on_delivery):
        self.sent.append((topic, key, value))

    def poll(self, timeout=0):
        return 0

    def flush(self, timeout=0):
        return 0


def _publisher():
    return LoadPublisher({}, "job-a", 4, [0, 1], producer=_Producer())


WORKERS = [
    {"worker": 0, "tokens": 4096, "active_slots": 2, "compute_seconds": 0.0031},
    {
        "worker": 1,
        "tokens": 1024,
        "active_slots": 1,
        "compute_seconds": 0.0012,
        "migrated_bytes": 734_003_200,
        "migration_seconds": 0.0005,
    },
]


def test_publishes_a_worker_times_record_under_the_layer_key():
    publisher = _publisher()

    publisher.publish_times(1, 12, WORKERS, plan_version=2, backend="cuda", executor_id="h/0")

    topic, key, value = publisher._producer.sent[0]
    assert topic == "moe.worker-times"
    assert key == b"job-a/1"
    record = codec_for("WorkerTimes").decode(value)
    assert record["executorId"] == "h/0"
    assert record["iteration"] == 12 and record["layer"] == 1 and record["planVersion"] == 2
    assert record["backend"] == "cuda"
    assert [w["tokens"] for w in record["workers"]] == [4096, 1024]
    assert record["workers"][1]["migratedBytes"] == 734_003_200
    assert record["workers"][0]["migratedBytes"] == 0
    assert record["migratedBytes"] == 734_003_200
    assert record["migrationSeconds"] == 0.0005


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tokens": -1}, "workers\\[0\\]: tokens must be >= 0, got -1"),
        ({"compute_seconds": float("nan")}, "workers\\[0\\]: computeSeconds must be finite"),
        ({"active_slots": 0}, "workers\\[0\\]: activeSlots is 0 but tokens is 4096"),
        ({"worker": 1}, "workers\\[1\\]: worker 1 is negative or listed twice"),
    ],
)
def test_refuses_bad_measurements_naming_the_field(change, message):
    workers = [dict(WORKERS[0], **change), WORKERS[1]]

    with pytest.raises(ValueError, match=message):
        _publisher().publish_times(1, 12, workers)


def test_refuses_no_workers_and_negative_positions():
    with pytest.raises(ValueError, match="workers is empty"):
        _publisher().publish_times(1, 12, [])
    with pytest.raises(ValueError, match="layer must be >= 0"):
        _publisher().publish_times(-1, 12, WORKERS)
    with pytest.raises(ValueError, match="iteration must be >= 0"):
        _publisher().publish_times(1, -3, WORKERS)
