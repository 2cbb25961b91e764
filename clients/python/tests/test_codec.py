"""The single-object codec: fingerprints equal Java's, and every failure has its kind."""

import pytest

from moeplan import avro
from moeplan.codec import (
    BadMagic,
    Malformed,
    SingleObjectCodec,
    Truncated,
    UnknownFingerprint,
    WireFormatError,
    codec_for,
    record_names,
    released_schemas,
)

# Avro 1.12.1 SchemaNormalization.parsingFingerprint64 of every released .avsc, from Java.
JAVA_FINGERPRINTS = {
    ("DeadLetter", 1): 0x2D994BD8E66661AE,
    ("ExpertLoad", 1): 0x27E1971881DDB068,
    ("ExpertLoad", 2): 0xBB24A33529D730D3,
    ("PlanDecision", 1): 0x56E09D69A014DFFD,
    ("PlanDecision", 2): 0xE24BF9A1034D0E81,
    ("PlanDecision", 3): 0xC56C25395F49DA72,
    ("PlanDecision", 4): 0xF4209C08814325E1,
    ("ModelFit", 1): 0xC8B94D9A1C341569,
    ("PlanPool", 1): 0x6935D4E0DFC7AE5C,
    ("PlanPool", 2): 0x5149EE147E2F7435,
    ("WorkerTimes", 1): 0x4CD8971AF89BB490,
    ("WorkerTimes", 2): 0x1789AB772CE9CD1F,
}

# SchemaNormalization.toParsingForm, from Java: no doc, default or logicalType survives.
JAVA_CANONICAL_FORMS = {
    ("ExpertLoad", 2): (
        '{"name":"io.moeplan.schemas.ExpertLoad","type":"record","fields":['
        '{"name":"jobId","type":"string"},{"name":"rank","type":"int"},'
        '{"name":"worldSize","type":"int"},{"name":"iteration","type":"long"},'
        '{"name":"planVersion","type":"long"},{"name":"layers","type":{"type":"array",'
        '"items":{"name":"io.moeplan.schemas.LayerLoad","type":"record","fields":['
        '{"name":"layer","type":"int"},{"name":"expertCounts","type":{"type":"array",'
        '"items":"long"}}]}}},{"name":"producedAt","type":"long"},'
        '{"name":"runId","type":["null","string"]},{"name":"attempt","type":"int"}]}'
    ),
    ("DeadLetter", 1): (
        '{"name":"io.moeplan.schemas.DeadLetter","type":"record","fields":['
        '{"name":"sourceTopic","type":"string"},{"name":"partition","type":"int"},'
        '{"name":"offset","type":"long"},{"name":"key","type":["null","bytes"]},'
        '{"name":"value","type":["null","bytes"]},{"name":"reason","type":{'
        '"name":"io.moeplan.schemas.DeadLetterReason","type":"enum","symbols":["UNDECODABLE",'
        '"UNKNOWN_SCHEMA","INVALID_FIELD","DUPLICATE","OUT_OF_ORDER","NO_POOL","OTHER"]}},'
        '{"name":"detail","type":"string"},{"name":"deadLetteredAt","type":"long"}]}'
    ),
}


def test_every_released_version_is_known():
    versions = {
        (record, version)
        for record in record_names()
        for version in range(1, len(released_schemas(record)) + 1)
    }
    assert versions == set(JAVA_FINGERPRINTS)


@pytest.mark.parametrize(("record", "version"), sorted(JAVA_FINGERPRINTS))
def test_fingerprints_equal_javas(record, version):
    schema = released_schemas(record)[version - 1]

    assert avro.parsing_fingerprint64(schema) == JAVA_FINGERPRINTS[record, version]
    assert codec_for(record).known_fingerprints[JAVA_FINGERPRINTS[record, version]] == version


@pytest.mark.parametrize(("record", "version"), sorted(JAVA_CANONICAL_FORMS))
def test_canonical_forms_equal_javas(record, version):
    schema = released_schemas(record)[version - 1]

    assert avro.canonical_form(schema) == JAVA_CANONICAL_FORMS[record, version]


def test_the_empty_fingerprint_is_the_specs():
    assert avro.fingerprint64(b"") == 0xC15D213AA4D7A795


def test_the_codec_writes_with_the_newest_version():
    codec = codec_for("PlanDecision")

    assert codec.fingerprint == JAVA_FINGERPRINTS["PlanDecision", 4]
    assert codec.schema is codec_for("PlanDecision").schema
    assert codec.encode(_decision())[:10] == b"\xc3\x01" + codec.fingerprint.to_bytes(8, "little")


def test_an_unknown_record_is_a_key_error():
    with pytest.raises(KeyError, match="ExpertLoads"):
        codec_for("ExpertLoads")


def _load(**changes):
    load = {
        "jobId": "job-a",
        "rank": 1,
        "worldSize": 4,
        "iteration": 17,
        "planVersion": 0,
        "layers": [{"layer": layer, "expertCounts": [layer, 2, 3]} for layer in range(3)],
        "producedAt": 1764313200123,
        "runId": None,
        "attempt": 0,
    }
    load.update(changes)
    return load


def _decision():
    return codec_for("PlanDecision").decode(
        codec_for("PlanDecision").encode(
            {
                "decisionId": "j/1/2",
                "jobId": "j",
                "layer": 1,
                "window": 2,
                "windowFirstIteration": 20,
                "windowLastIteration": 29,
                "effectiveIteration": 31,
                "action": "KEEP",
                "slotToExpert": [0, 1],
                "planVersion": 1,
                "poolVersion": 1,
                "predictedCurrentSeconds": 0.5,
                "predictedNewSeconds": 0.5,
                "migrationBytes": 0,
                "migrationSeconds": 0.0,
                "ranksReported": 4,
                "reason": "keep",
            }
        )
    )


LOADS = codec_for("ExpertLoad")


def _raises(data, kind: type[WireFormatError], match: str) -> WireFormatError:
    with pytest.raises(kind, match=match) as raised:
        LOADS.decode(data)
    return raised.value


def test_none_is_a_truncated_tombstone():
    error = _raises(None, Truncated, r"^ExpertLoad: record value is null \(a tombstone\)")
    assert error.kind == "truncated"


def test_empty_bytes_are_truncated():
    _raises(b"", Truncated, r"^ExpertLoad: 0 bytes, shorter than the header$")


def test_a_lone_marker_byte_is_truncated():
    _raises(b"\xc3", Truncated, r"^ExpertLoad: 1 bytes, shorter than the header$")


def test_a_header_cut_short_is_truncated():
    _raises(b"\xc3\x01\x00\x01", Truncated, "4 bytes, shorter than the 10-byte header")


def test_other_first_bytes_are_bad_magic():
    error = _raises(
        b'{"jobId": "a"}',
        BadMagic,
        r"^ExpertLoad: expected single-object marker C3 01, "
        r"received 7B 22 6A 6F 62 49 64 22 \.\.\. \(14 bytes\)$",
    )
    assert error.kind == "bad-magic"
    _raises(b"\x01", BadMagic, r"received 01 \(1 bytes\)$")


def test_confluent_framing_is_named():
    _raises(
        b"\x00\x00\x00\x01\x2a\x02",
        BadMagic,
        r"received 00 00 00 01 2A 02 \(6 bytes\): looks like Confluent Schema Registry framing "
        r"\(magic 0x00, schema id 298\); moeplan expects Avro single-object encoding "
        r"\(C3 01 \+ fingerprint\)$",
    )


def test_an_unknown_fingerprint_is_named_in_hex():
    data = b"\xc3\x01" + (0xFEDCBA9876543210).to_bytes(8, "little") + b"\x00"

    error = _raises(data, UnknownFingerprint, "0xfedcba9876543210 for ExpertLoad")

    assert error.fingerprint == 0xFEDCBA9876543210
    assert error.kind == "unknown-fingerprint"


def test_a_body_cut_short_is_truncated():
    data = LOADS.encode(_load())

    for end in (10, 11, len(data) - 1):
        _raises(data[:end], Truncated, rf"body ends early \({end - 10} body bytes received\)")


def test_trailing_bytes_are_malformed():
    error = _raises(LOADS.encode(_load()) + b"\x00\x00", Malformed, "2 bytes left after")
    assert error.kind == "malformed"


_LONG = avro.DatumWriter(avro.parse_schema('"long"'))


def _varints(*values: int) -> bytes:
    out = bytearray()
    for value in values:
        _LONG.write(value, out)
    return bytes(out)


def test_a_huge_array_length_claim_is_malformed_without_allocating():
    header = LOADS.encode(_load())[:10]
    # jobId "job-a", rank 1, worldSize 4, iteration 17, planVersion 0, then 2^40 layers
    body = _varints(5) + b"job-a" + _varints(1, 4, 17, 0, 1 << 40)

    _raises(header + body, Malformed, "exceeds the limit of 16777216")


def test_a_negative_or_huge_string_length_is_malformed():
    header = LOADS.encode(_load())[:10]
    for length, match in ((-1, "negative length -1"), (1 << 30, "exceeds the limit of 67108864")):
        _raises(header + _varints(length), Malformed, match)


def test_an_over_long_varint_is_malformed():
    header = LOADS.encode(_load())[:10]

    _raises(header + _varints(5) + b"job-a" + b"\xff" * 11, Malformed, "more than 64 bits")


def test_an_invalid_union_index_is_malformed():
    data = bytearray(LOADS.encode(_load()))
    data[-2] = 4  # the runId union index: branch 2 of 2

    _raises(bytes(data), Malformed, "union index 2 out of range")


def test_the_codec_decodes_bytearrays_and_memoryviews():
    data = LOADS.encode(_load())

    assert LOADS.decode(bytearray(data)) == _load()
    assert LOADS.decode(memoryview(data)) == _load()


def test_missing_fields_with_defaults_are_filled_when_encoding():
    load = _load()
    del load["runId"], load["attempt"]

    assert LOADS.decode(LOADS.encode(load)) == _load()


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"rank": "1"}, TypeError, r"^ExpertLoad\.rank: int expected, got str '1'$"),
        ({"rank": True}, TypeError, r"^ExpertLoad\.rank: int expected, got bool True$"),
        ({"rank": 2**31}, ValueError, r"^ExpertLoad\.rank: 2147483648 is out of range for int$"),
        ({"jobId": None}, TypeError, r"^ExpertLoad\.jobId: string expected, got NoneType"),
        ({"runId": 5}, TypeError, r"^ExpertLoad\.runId: no branch of union \[null, string\]"),
        ({"layers": 3}, TypeError, r"^ExpertLoad\.layers: array expected, got int 3$"),
        ({"layers": [1]}, TypeError, r"^ExpertLoad\.layers\[0\]: record LayerLoad"),
        (
            {"layers": [{"layer": 0, "expertCounts": [1, 2**63]}]},
            ValueError,
            r"^ExpertLoad\.layers\[0\]\.expertCounts\[1\]: 9223372036854775808 is out of range",
        ),
        ({"layers": [{"layer": 0}]}, TypeError, r"^ExpertLoad\.layers\[0\]: field 'expertCounts'"),
        ({"ranks": 3}, TypeError, r"^ExpertLoad: ExpertLoad has no field\(s\) ranks$"),
    ],
)
def test_encoding_errors_name_the_field(changes, error, message):
    with pytest.raises(error, match=message) as raised:
        LOADS.encode(_load(**changes))
    assert isinstance(raised.value, avro.EncodeError)


def test_a_misspelt_field_with_a_default_is_not_dropped_silently():
    load = _load(runid="run-b")
    del load["runId"]

    with pytest.raises(avro.AvroTypeError, match=r"^ExpertLoad: .* has no field\(s\) runid$"):
        LOADS.encode(load)


def test_numpy_and_torch_integers_encode_like_ints():
    numpy = pytest.importorskip("numpy")
    expected = LOADS.encode(_load())
    layers = [
        {"layer": numpy.int64(layer), "expertCounts": numpy.array([layer, 2, 3], dtype=numpy.int32)}
        for layer in range(3)
    ]

    assert LOADS.encode(_load(rank=numpy.int16(1), layers=layers)) == expected
    torch = pytest.importorskip("torch")
    layers = [{"layer": layer, "expertCounts": torch.tensor([layer, 2, 3])} for layer in range(3)]
    assert LOADS.encode(_load(rank=torch.tensor(1), layers=layers)) == expected


def test_a_codec_of_explicit_schemas_knows_only_those():
    codec = SingleObjectCodec(released_schemas("ExpertLoad")[1:])

    assert codec.known_fingerprints == {JAVA_FINGERPRINTS["ExpertLoad", 2]: 1}
    with pytest.raises(UnknownFingerprint):
        codec.decode(b"\xc3\x01" + JAVA_FINGERPRINTS["ExpertLoad", 1].to_bytes(8, "little"))
