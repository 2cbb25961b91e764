"""Java and Python write the same bytes for the same values and read each other's.

``schemas/src/test/resources/io/moeplan/schemas/golden/<Record>.bin`` is what Java's codec
writes for the record in ``<Record>.json`` (both made by ``GoldenBytesTest``). In the JSON,
bytes are lowercase hex strings; everything else is as :mod:`moeplan.avro` represents it.
The ``written/`` fixtures are older versions' bytes, checked as ``ReleasedWriterBytesTest``
checks them.
"""

import json
from pathlib import Path

import pytest

from moeplan import avro
from moeplan.codec import codec_for, record_names

RESOURCES = Path(__file__).resolve().parents[3] / "schemas/src/test/resources/io/moeplan/schemas"
GOLDEN = RESOURCES / "golden"
WRITTEN = RESOURCES / "written"


def _from_json(schema: avro.Schema, value):
    """The Python value of ``schema`` for its golden JSON (bytes are hex strings there)."""
    if value is None:
        return None
    if isinstance(schema, avro.UnionSchema):
        branch = next(branch for branch in schema.branches if branch.type != "null")
        return _from_json(branch, value)
    if isinstance(schema, avro.RecordSchema):
        return {field.name: _from_json(field.schema, value[field.name]) for field in schema.fields}
    if isinstance(schema, avro.ArraySchema):
        return [_from_json(schema.items, item) for item in value]
    if isinstance(schema, avro.MapSchema):
        return {key: _from_json(schema.values, item) for key, item in value.items()}
    if schema.type in ("bytes", "fixed"):
        return bytes.fromhex(value)
    return value


def _golden(record: str) -> tuple[dict, bytes]:
    values = json.loads((GOLDEN / f"{record}.json").read_text(encoding="utf-8"))
    return _from_json(codec_for(record).schema, values), (GOLDEN / f"{record}.bin").read_bytes()


def test_every_record_type_has_golden_files():
    assert sorted(path.stem for path in GOLDEN.glob("*.bin")) == list(record_names())
    assert sorted(path.stem for path in GOLDEN.glob("*.json")) == list(record_names())


@pytest.mark.parametrize("record", record_names())
def test_python_writes_the_bytes_java_wrote(record):
    values, golden = _golden(record)

    assert codec_for(record).encode(values) == golden


@pytest.mark.parametrize("record", record_names())
def test_python_reads_the_bytes_java_wrote(record):
    values, golden = _golden(record)

    assert codec_for(record).decode(golden) == values


def test_golden_values_cover_the_edge_cases():
    load, _ = _golden("ExpertLoad")
    counts = [count for layer in load["layers"] for count in layer["expertCounts"]]
    assert max(counts) == 2**63 - 1 and min(counts) == -(2**63)
    assert load["iteration"] > 2**31 and not load["jobId"].isascii()
    decision, _ = _golden("PlanDecision")
    assert decision["windowIterations"] is None and decision["workers"] == 3
    assert decision["action"] == "SWITCH" and decision["migrationBytes"] < 0
    pool, _ = _golden("PlanPool")
    assert len(pool["plans"]) == 2 and pool["startLayout"] == [[0, 1, 2, 3], [3, 2, 1, 0]]
    dead_letter, _ = _golden("DeadLetter")
    assert dead_letter["key"] is None and dead_letter["value"][:4] == b"\0\0\0\0"


def _written(name: str) -> bytes:
    return (WRITTEN / f"{name}.bin").read_bytes()


def test_decodes_an_expert_load_written_with_v1():
    load = codec_for("ExpertLoad").decode(_written("ExpertLoad-v1"))

    assert load["jobId"] == "gpt-moe-v1"
    assert load["rank"] == 3
    assert load["worldSize"] == 16
    assert load["iteration"] == 4201
    assert load["planVersion"] == 7
    assert [layer["layer"] for layer in load["layers"]] == [0, 1]
    assert load["layers"][0]["expertCounts"] == [5, 0, 12, 3]
    assert load["layers"][1]["expertCounts"] == [1, 2, 3, 14]
    assert load["producedAt"] == 1764313200123
    assert load["runId"] is None, "runId, not written by v1: the default run"
    assert load["attempt"] == 0, "attempt, not written by v1"


def test_decodes_an_expert_load_written_with_v2():
    data = _written("ExpertLoad-v2")
    codec = codec_for("ExpertLoad")
    load = codec.decode(data)

    assert codec.known_fingerprints[int.from_bytes(data[2:10], "little")] == 2
    assert load["jobId"] == "gpt-moe-v2"
    assert load["iteration"] == 4201
    assert load["runId"] == "run-b"
    assert load["attempt"] == 2


def test_decodes_a_plan_decision_written_with_v1():
    decision = codec_for("PlanDecision").decode(_written("PlanDecision-v1"))

    assert decision["decisionId"] == "gpt-moe-v1/5/420"
    assert decision["action"] == "SWITCH"
    assert decision["slotToExpert"] == [1, 0, 3, 2]
    assert decision["effectiveIteration"] == 4211
    assert decision["migrationBytes"] == 1468006400
    assert decision["ranksReported"] == 16
    assert decision["reason"] == "written by the v1 schema"
    for field in ("workers", "slotsPerWorker", "windowIterations", "leadIterations", "runId"):
        assert decision[field] is None, f"{field}, not written by v1"
    assert decision["attempt"] == 0, "attempt, not written by v1"


def test_decodes_a_plan_decision_written_with_v2():
    data = _written("PlanDecision-v2")
    codec = codec_for("PlanDecision")
    decision = codec.decode(data)

    assert codec.known_fingerprints[int.from_bytes(data[2:10], "little")] == 2
    assert decision["decisionId"] == "gpt-moe-v2/5/420"
    assert decision["slotToExpert"] == [1, 0, 3, 2, 5, 4]
    assert decision["effectiveIteration"] == 4211
    assert decision["reason"] == "written by the v2 schema"
    assert decision["workers"] == 3
    assert decision["slotsPerWorker"] == 2
    assert decision["windowIterations"] == 10
    assert decision["leadIterations"] == 2
    assert decision["runId"] is None, "runId, not written by v2"
    assert decision["attempt"] == 0, "attempt, not written by v2"


def test_decodes_a_plan_decision_written_with_v3():
    data = _written("PlanDecision-v3")
    codec = codec_for("PlanDecision")
    decision = codec.decode(data)

    assert codec.known_fingerprints[int.from_bytes(data[2:10], "little")] == 3
    assert decision["decisionId"] == "gpt-moe-v3/5/420@run-b.2"
    assert decision["workers"] == 3
    assert decision["runId"] == "run-b"
    assert decision["attempt"] == 2


def test_re_encoding_an_old_version_writes_the_current_schema_with_the_defaults():
    codec = codec_for("ExpertLoad")
    load = codec.decode(_written("ExpertLoad-v1"))

    data = codec.encode(load)

    assert int.from_bytes(data[2:10], "little") == codec.fingerprint
    assert codec.decode(data) == load
