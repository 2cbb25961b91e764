"""The Avro schema parser, binary encoding and schema resolution beyond moeplan's records."""

import pytest

from moeplan import avro

SHAPES = avro.parse_schema(
    """
    {"type": "record", "name": "Shape", "namespace": "test.shapes", "fields": [
      {"name": "id", "type": {"type": "fixed", "name": "Id", "size": 4}},
      {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
      {"name": "tags", "type": {"type": "map", "values": "string"}},
      {"name": "scale", "type": ["null", "long", "double"]},
      {"name": "flag", "type": "boolean"},
      {"name": "ratio", "type": "float"},
      {"name": "other", "type": ["null", "Kind", "test.shapes.Id"]},
      {"name": "next", "type": ["null", "Shape"]}
    ]}
    """
)


def _shape(**changes):
    shape = {
        "id": b"\x00\x01\x02\x03",
        "kind": "B",
        "tags": {"colour": "grün", "": ""},
        "scale": None,
        "flag": True,
        "ratio": 0.5,
        "other": "A",
        "next": None,
    }
    shape.update(changes)
    return shape


def _round_trip(value, writer=SHAPES, reader=None):
    out = bytearray()
    avro.DatumWriter(writer).write(value, out)
    decoded, end = avro.DatumReader(writer, reader).read(bytes(out))
    assert end == len(out)
    return decoded


def test_named_types_namespaces_and_recursion_round_trip():
    shape = _shape(next=_shape(scale=3, other=b"abcd", next=_shape(scale=2.5)))

    assert _round_trip(shape) == shape


def test_the_canonical_form_uses_full_names_once():
    assert avro.canonical_form(SHAPES).count('"name":"test.shapes.Kind","type":"enum"') == 1
    assert ',"test.shapes.Kind","test.shapes.Id"]' in avro.canonical_form(SHAPES)
    assert '["null","test.shapes.Shape"]' in avro.canonical_form(SHAPES)


def test_a_union_takes_the_exact_type_before_a_promotion():
    long_or_double = avro.parse_schema('["null", "double", "long"]')

    assert type(_round_trip(3, long_or_double)) is int
    assert _round_trip(3.5, long_or_double) == 3.5
    assert type(_round_trip(3, avro.parse_schema('["null", "double"]'))) is float


def test_resolution_promotes_skips_and_fills_defaults():
    writer = avro.parse_schema(
        """{"type": "record", "name": "R", "fields": [
          {"name": "a", "type": "int"},
          {"name": "gone", "type": {"type": "array", "items": "string"}},
          {"name": "b", "type": "long"}, {"name": "c", "type": "float"},
          {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["X", "Y", "Z"]}}]}"""
    )
    reader = avro.parse_schema(
        """{"type": "record", "name": "ns.R", "fields": [
          {"name": "e",
           "type": {"type": "enum", "name": "E", "symbols": ["X", "Q"], "default": "Q"}},
          {"name": "a", "type": ["null", "long"]}, {"name": "b", "type": "double"},
          {"name": "c", "type": "double"},
          {"name": "new", "type": {"type": "array", "items": "int"}, "default": [1, 2]}]}"""
    )
    value = {"a": 7, "gone": ["x", "y"], "b": 2**40, "c": 0.25, "e": "Z"}

    first = _round_trip(value, writer, reader)
    first["new"].append(3)

    assert first == {"a": 7, "b": float(2**40), "c": 0.25, "e": "Q", "new": [1, 2, 3]}
    assert _round_trip(value, writer, reader)["new"] == [1, 2], "defaults are not shared"


def test_a_reader_field_without_default_the_writer_lacks_cannot_be_resolved():
    writer = avro.parse_schema('{"type": "record", "name": "R", "fields": []}')
    reader = avro.parse_schema(
        '{"type": "record", "name": "R", "fields": [{"name": "x", "type": "int"}]}'
    )

    with pytest.raises(avro.SchemaResolutionError, match=r"R\.x is not written and has no default"):
        avro.DatumReader(writer, reader)


def test_arrays_written_in_blocks_with_byte_sizes_decode():
    longs = avro.parse_schema('{"type": "array", "items": "long"}')
    # a block of -2 items (2 items and their size, 2 bytes), a block of 1 item, the end
    data = bytes([3, 4, 2, 4, 2, 6, 0])

    assert avro.DatumReader(longs).read(data) == ([1, 2, 3], 7)


@pytest.mark.parametrize(
    "schema",
    [
        '{"type": "record", "name": "R", "fields": [{"name": "x", "type": "Missing"}]}',
        '["int", "int"]',
        '["null", ["int"]]',
        '{"type": "enum", "name": "E", "symbols": ["A", "A"]}',
        '{"type": "record", "name": "R", "fields": [{"name": "x", "type": "int", "default": "1"}]}',
        '{"type": "wat"}',
    ],
)
def test_invalid_schemas_are_rejected(schema):
    with pytest.raises(avro.SchemaParseError):
        avro.parse_schema(schema)
