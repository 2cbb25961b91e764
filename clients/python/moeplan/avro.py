"""A small, dependency-free implementation of the parts of Apache Avro moeplan uses.

It parses schemas (records, enums, arrays, maps, unions, fixed, primitives, named
references and namespaces), computes the Parsing Canonical Form and its CRC-64-AVRO
("Rabin") fingerprint exactly as Avro 1.12's ``SchemaNormalization`` does, and encodes
and decodes the Avro binary format, resolving a writer schema to a reader schema.

Python values of a schema:

* record: ``dict`` keyed by field name, as spelled in the schema (camelCase);
* enum: the symbol, a ``str``;
* array: ``list`` (the encoder takes any iterable, numpy arrays and torch tensors too);
* map: ``dict`` with ``str`` keys;
* union: the value of the branch itself (``None`` for null);
* null: ``None``; boolean: ``bool``; int and long: ``int`` (the encoder also takes numpy
  and torch integer scalars, anything with ``__index__`` except ``bool``); float and
  double: ``float``; string: ``str``; bytes and fixed: ``bytes``.

Logical types are not interpreted: a ``timestamp-millis`` field is its ``int`` count of
milliseconds since the Unix epoch.
"""

from __future__ import annotations

import copy
import json
import operator
import struct
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = [
    "MAX_BYTES_LENGTH",
    "MAX_COLLECTION_ITEMS",
    "ArraySchema",
    "AvroError",
    "AvroTypeError",
    "AvroValueError",
    "DatumReader",
    "DatumWriter",
    "DecodeError",
    "EncodeError",
    "EnumSchema",
    "Field",
    "FixedSchema",
    "InvalidData",
    "MapSchema",
    "NamedSchema",
    "PrimitiveSchema",
    "RecordSchema",
    "Schema",
    "SchemaParseError",
    "SchemaResolutionError",
    "TruncatedData",
    "UnionSchema",
    "canonical_form",
    "fingerprint64",
    "parse_schema",
    "parsing_fingerprint64",
]

MAX_COLLECTION_ITEMS = 1 << 24
"""Most items one decoded array or map may hold, so a corrupt length cannot exhaust memory."""

MAX_BYTES_LENGTH = 64 << 20
"""Most bytes one decoded string or bytes value may claim."""

PRIMITIVE_TYPES = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
)

_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1


# --------------------------------------------------------------------------- errors


class AvroError(Exception):
    """Base of every error this module raises."""


class SchemaParseError(AvroError, ValueError):
    """A schema JSON that is not a valid Avro schema."""


class SchemaResolutionError(AvroError, ValueError):
    """A writer schema whose data cannot be read as the reader schema."""


class EncodeError(AvroError):
    """A value that does not fit its schema.

    ``str()`` names where: the record and the path of fields and indexes from it, e.g.
    ``ExpertLoad.layers[2].expertCounts[5]: 9223372036854775808 is out of range for long``.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.record = ""
        self._segments: list[str] = []

    def add_segment(self, segment: str) -> None:
        """Prepend one step (``.field`` or ``[index]``) to the path, innermost first."""
        self._segments.append(segment)

    @property
    def path(self) -> str:
        """The path of the offending value from the record, e.g. ``.layers[2].layer``."""
        return "".join(reversed(self._segments))

    def __str__(self) -> str:
        where = self.record + self.path
        return f"{where}: {self.detail}" if where else self.detail


class AvroTypeError(EncodeError, TypeError):
    """A value of the wrong Python type for its schema."""


class AvroValueError(EncodeError, ValueError):
    """A value of the right type but outside what its schema can hold."""


class DecodeError(AvroError, ValueError):
    """Bytes that do not decode as the writer schema."""


class TruncatedData(DecodeError):
    """The bytes end before the value does."""


class InvalidData(DecodeError):
    """The bytes cannot be the writer schema's encoding (bad length, index, varint...)."""


# --------------------------------------------------------------------------- schemas


class Schema:
    """An Avro schema; ``type`` is its Avro type name (``"record"``, ``"long"``...)."""

    type: str

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {canonical_form(self)}>"


class PrimitiveSchema(Schema):
    """A primitive type, possibly annotated with a logical type (kept, not interpreted)."""

    def __init__(self, type_name: str, logical_type: str | None = None) -> None:
        self.type = type_name
        self.logical_type = logical_type


class NamedSchema(Schema):
    """A record, enum or fixed: a type with a full name (``namespace.name``)."""

    def __init__(self, type_name: str, fullname: str, doc: str | None) -> None:
        self.type = type_name
        self.fullname = fullname
        self.doc = doc

    @property
    def name(self) -> str:
        """The simple name, without namespace."""
        return self.fullname.rpartition(".")[2]


class Field:
    """A record field; ``default`` is the Python value of the JSON default, if any."""

    def __init__(
        self, name: str, schema: Schema, has_default: bool, default: Any, doc: str | None
    ) -> None:
        self.name = name
        self.schema = schema
        self.has_default = has_default
        self.default = default
        self.doc = doc

    def __repr__(self) -> str:
        return f"<Field {self.name}: {canonical_form(self.schema)}>"


class RecordSchema(NamedSchema):
    """A record; ``fields`` is filled in after construction so a record may refer to itself."""

    def __init__(self, fullname: str, doc: str | None) -> None:
        super().__init__("record", fullname, doc)
        self.fields: tuple[Field, ...] = ()
        self.fields_by_name: dict[str, Field] = {}


class EnumSchema(NamedSchema):
    """An enum: its symbols in order, and the symbol readers use for unknown ones."""

    def __init__(
        self, fullname: str, symbols: tuple[str, ...], default: str | None, doc: str | None
    ) -> None:
        super().__init__("enum", fullname, doc)
        self.symbols = symbols
        self.default = default


class FixedSchema(NamedSchema):
    """A fixed number of bytes."""

    def __init__(self, fullname: str, size: int, doc: str | None) -> None:
        super().__init__("fixed", fullname, doc)
        self.size = size


class ArraySchema(Schema):
    """An array of ``items``."""

    def __init__(self, items: Schema) -> None:
        self.type = "array"
        self.items = items


class MapSchema(Schema):
    """A map from strings to ``values``."""

    def __init__(self, values: Schema) -> None:
        self.type = "map"
        self.values = values


class UnionSchema(Schema):
    """A union of ``branches``, which are neither unions nor repeated unnamed types."""

    def __init__(self, branches: tuple[Schema, ...]) -> None:
        self.type = "union"
        self.branches = branches


def parse_schema(source: str | bytes | Mapping | list) -> Schema:
    """Parses a schema from its JSON text or from already-loaded JSON (dict, list, str name)."""
    if isinstance(source, (bytes, bytearray)):
        source = source.decode("utf-8")
    if isinstance(source, str) and source.lstrip()[:1] in ("{", "[", '"'):
        try:
            source = json.loads(source)
        except ValueError as e:
            raise SchemaParseError(f"schema is not JSON: {e}") from e
    return _Parser().parse(source, "")


class _Parser:
    """Parses one schema document; holds the named types defined so far."""

    def __init__(self) -> None:
        self.names: dict[str, NamedSchema] = {}

    def parse(self, node: Any, namespace: str) -> Schema:
        if isinstance(node, str):
            return self._reference(node, namespace)
        if isinstance(node, list):
            return self._union(node, namespace)
        if not isinstance(node, Mapping):
            raise SchemaParseError(f"not a schema: {node!r}")
        type_name = node.get("type")
        if isinstance(type_name, (list, Mapping)):
            return self.parse(type_name, namespace)
        if type_name in PRIMITIVE_TYPES:
            logical = node.get("logicalType")
            return PrimitiveSchema(type_name, logical if isinstance(logical, str) else None)
        if type_name == "array":
            return ArraySchema(self.parse(_required(node, "items"), namespace))
        if type_name == "map":
            return MapSchema(self.parse(_required(node, "values"), namespace))
        if type_name in ("record", "error", "enum", "fixed"):
            return self._named(node, type_name, namespace)
        if isinstance(type_name, str):
            return self._reference(type_name, namespace)
        raise SchemaParseError(f"schema without a valid type: {node!r}")

    def _reference(self, name: str, namespace: str) -> Schema:
        if name in PRIMITIVE_TYPES:
            return PrimitiveSchema(name)
        candidates = [name] if "." in name else [f"{namespace}.{name}", name]
        for candidate in candidates:
            named = self.names.get(candidate.lstrip("."))
            if named is not None:
                return named
        raise SchemaParseError(f"unknown type {name!r}")

    def _union(self, node: list, namespace: str) -> UnionSchema:
        branches = tuple(self.parse(branch, namespace) for branch in node)
        seen = set()
        for branch in branches:
            if isinstance(branch, UnionSchema):
                raise SchemaParseError("a union may not directly contain a union")
            key = branch.fullname if isinstance(branch, NamedSchema) else branch.type
            if key in seen:
                raise SchemaParseError(f"union contains {key!r} twice")
            seen.add(key)
        return UnionSchema(branches)

    def _named(self, node: Mapping, type_name: str, namespace: str) -> NamedSchema:
        name = _required(node, "name")
        if not isinstance(name, str) or not name:
            raise SchemaParseError(f"{type_name} name must be a non-empty string: {name!r}")
        if "." in name:
            fullname = name
        else:
            namespace = node.get("namespace", namespace) or ""
            fullname = f"{namespace}.{name}" if namespace else name
        namespace = fullname.rpartition(".")[0]
        if fullname in self.names or fullname in PRIMITIVE_TYPES:
            raise SchemaParseError(f"type {fullname!r} is defined twice")
        doc = node.get("doc")
        if type_name == "enum":
            symbols = _required(node, "symbols")
            if not isinstance(symbols, list) or len(set(symbols)) != len(symbols):
                raise SchemaParseError(f"enum {fullname} needs distinct symbols: {symbols!r}")
            default = node.get("default")
            if default is not None and default not in symbols:
                raise SchemaParseError(f"enum {fullname} default {default!r} is no symbol")
            named: NamedSchema = EnumSchema(fullname, tuple(symbols), default, doc)
            self.names[fullname] = named
            return named
        if type_name == "fixed":
            size = _required(node, "size")
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise SchemaParseError(f"fixed {fullname} needs a size >= 0: {size!r}")
            named = FixedSchema(fullname, size, doc)
            self.names[fullname] = named
            return named
        record = RecordSchema(fullname, doc)
        self.names[fullname] = record
        fields = []
        for field_node in _required(node, "fields"):
            field_name = _required(field_node, "name")
            if field_name in record.fields_by_name:
                raise SchemaParseError(f"record {fullname} has field {field_name!r} twice")
            field_schema = self.parse(_required(field_node, "type"), namespace)
            has_default = "default" in field_node
            default = None
            if has_default:
                try:
                    default = _default_value(field_schema, field_node["default"])
                except (TypeError, ValueError) as e:
                    raise SchemaParseError(
                        f"{fullname}.{field_name}: invalid default: {e}"
                    ) from e
            field = Field(field_name, field_schema, has_default, default, field_node.get("doc"))
            fields.append(field)
            record.fields_by_name[field_name] = field
        record.fields = tuple(fields)
        return record


def _required(node: Any, key: str) -> Any:
    if not isinstance(node, Mapping) or key not in node:
        raise SchemaParseError(f"missing {key!r} in {node!r}")
    return node[key]


def _default_value(schema: Schema, value: Any) -> Any:
    """The Python value of a field default given as JSON (a union's is its first branch's)."""
    kind = schema.type
    if kind == "union":
        return _default_value(schema.branches[0], value)
    if kind == "null":
        if value is not None:
            raise ValueError(f"{value!r} is not null")
        return None
    if kind == "boolean":
        if not isinstance(value, bool):
            raise TypeError(f"{value!r} is not a boolean")
        return value
    if kind in ("int", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{value!r} is not an integer")
        return value
    if kind in ("float", "double"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise TypeError(f"{value!r} is not a number")
        return float(value)
    if kind in ("string", "enum"):
        if not isinstance(value, str):
            raise TypeError(f"{value!r} is not a string")
        return value
    if kind in ("bytes", "fixed"):
        if not isinstance(value, str):
            raise TypeError(f"{value!r} is not a string of bytes")
        return value.encode("latin-1")
    if kind == "array":
        return [_default_value(schema.items, item) for item in value]
    if kind == "map":
        return {key: _default_value(schema.values, item) for key, item in value.items()}
    result = {}
    for field in schema.fields:
        if field.name in value:
            result[field.name] = _default_value(field.schema, value[field.name])
        elif field.has_default:
            result[field.name] = copy.deepcopy(field.default)
        else:
            raise ValueError(f"record default lacks field {field.name!r}")
    return result


# ----------------------------------------------------------- canonical form, fingerprint


def canonical_form(schema: Schema) -> str:
    """The schema's Parsing Canonical Form, as Avro 1.12's ``SchemaNormalization``.

    Attributes other than name, type, fields, symbols, items, values and size are dropped
    (doc, aliases, defaults and logicalType too), names are full names, a named type is
    written in full once and by name after that, and there is no whitespace.
    """
    out: list[str] = []
    _write_canonical(schema, set(), out)
    return "".join(out)


def _write_canonical(schema: Schema, defined: set[str], out: list[str]) -> None:
    kind = schema.type
    if isinstance(schema, PrimitiveSchema):
        out.append(f'"{kind}"')
    elif isinstance(schema, UnionSchema):
        out.append("[")
        for i, branch in enumerate(schema.branches):
            if i:
                out.append(",")
            _write_canonical(branch, defined, out)
        out.append("]")
    elif isinstance(schema, ArraySchema):
        out.append('{"type":"array","items":')
        _write_canonical(schema.items, defined, out)
        out.append("}")
    elif isinstance(schema, MapSchema):
        out.append('{"type":"map","values":')
        _write_canonical(schema.values, defined, out)
        out.append("}")
    elif schema.fullname in defined:
        out.append(json.dumps(schema.fullname))
    else:
        defined.add(schema.fullname)
        out.append(f'{{"name":{json.dumps(schema.fullname)},"type":"{kind}"')
        if isinstance(schema, RecordSchema):
            out.append(',"fields":[')
            for i, field in enumerate(schema.fields):
                out.append(f'{"," if i else ""}{{"name":{json.dumps(field.name)},"type":')
                _write_canonical(field.schema, defined, out)
                out.append("}")
            out.append("]")
        elif isinstance(schema, EnumSchema):
            out.append(f',"symbols":{json.dumps(list(schema.symbols), separators=(",", ":"))}')
        else:
            out.append(f',"size":{schema.size}')
        out.append("}")


_EMPTY64 = 0xC15D213AA4D7A795


def _fingerprint_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY64 & -(fp & 1))
        table.append(fp)
    return tuple(table)


_FP_TABLE = _fingerprint_table()


def fingerprint64(data: bytes) -> int:
    """The CRC-64-AVRO ("Rabin") fingerprint of ``data``, as an unsigned 64-bit int."""
    fp = _EMPTY64
    table = _FP_TABLE
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def parsing_fingerprint64(schema: Schema) -> int:
    """The fingerprint of the schema's Parsing Canonical Form, as in single-object headers."""
    return fingerprint64(canonical_form(schema).encode("utf-8"))


# --------------------------------------------------------------------------- encoding

_Writer = Callable[[Any, bytearray], None]
_pack_float = struct.Struct("<f").pack
_pack_double = struct.Struct("<d").pack


class DatumWriter:
    """Encodes Python values of one schema to the Avro binary format.

    The schema is compiled once into nested closures; ``write`` may be called from any
    number of threads.
    """

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._write = _compile_writer(schema, {})

    def write(self, value: Any, out: bytearray) -> None:
        """Appends the encoding of ``value`` to ``out``.

        Raises :class:`AvroTypeError` or :class:`AvroValueError` naming the offending value's
        path; ``out`` may then hold a partial encoding.
        """
        try:
            self._write(value, out)
        except EncodeError as e:
            if isinstance(self.schema, NamedSchema):
                e.record = self.schema.name
            raise


def _write_long(value: Any, out: bytearray) -> None:
    if value.__class__ is not int:
        value = _as_int(value, "long")
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise AvroValueError(f"{value} is out of range for long")
    n = (value << 1) ^ (value >> 63)
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _write_int(value: Any, out: bytearray) -> None:
    if value.__class__ is not int:
        value = _as_int(value, "int")
    if not _INT_MIN <= value <= _INT_MAX:
        raise AvroValueError(f"{value} is out of range for int")
    n = (value << 1) ^ (value >> 31)
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _as_int(value: Any, kind: str) -> int:
    if isinstance(value, bool):
        raise AvroTypeError(f"{kind} expected, got bool {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise AvroTypeError(f"{kind} expected, got {type(value).__name__} {value!r}") from None


def _as_float(value: Any, kind: str) -> float:
    if value.__class__ is float:
        return value
    if isinstance(value, (str, bytes, bytearray, bool)) or not (
        hasattr(value, "__float__") or hasattr(value, "__index__")
    ):
        raise AvroTypeError(f"{kind} expected, got {type(value).__name__} {value!r}")
    return float(value)


def _write_float(value: Any, out: bytearray) -> None:
    try:
        out += _pack_float(_as_float(value, "float"))
    except OverflowError:
        raise AvroValueError(f"{value!r} is out of range for float") from None


def _write_double(value: Any, out: bytearray) -> None:
    out += _pack_double(_as_float(value, "double"))


def _write_boolean(value: Any, out: bytearray) -> None:
    if value is True:
        out.append(1)
    elif value is False:
        out.append(0)
    else:
        raise AvroTypeError(f"boolean expected, got {type(value).__name__} {value!r}")


def _write_null(value: Any, out: bytearray) -> None:
    if value is not None:
        raise AvroTypeError(f"null (None) expected, got {type(value).__name__} {value!r}")


def _write_string(value: Any, out: bytearray) -> None:
    if not isinstance(value, str):
        raise AvroTypeError(f"string expected, got {type(value).__name__} {value!r}")
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise AvroValueError(f"string is not encodable as UTF-8: {e}") from None
    _write_long(len(data), out)
    out += data


def _write_bytes(value: Any, out: bytearray) -> None:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise AvroTypeError(f"bytes expected, got {type(value).__name__} {value!r}")
    _write_long(len(value), out)
    out += value


_PRIMITIVE_WRITERS: dict[str, _Writer] = {
    "null": _write_null,
    "boolean": _write_boolean,
    "int": _write_int,
    "long": _write_long,
    "float": _write_float,
    "double": _write_double,
    "bytes": _write_bytes,
    "string": _write_string,
}


def _items(value: Any) -> list | tuple:
    """The items of an array value: a list or tuple as is, numpy/torch via ``tolist``."""
    if value.__class__ is list or value.__class__ is tuple:
        return value
    if isinstance(value, (str, bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        raise AvroTypeError(f"array expected, got {type(value).__name__} {value!r}")
    tolist = getattr(value, "tolist", None)
    return tolist() if tolist is not None else list(value)


def _compile_writer(schema: Schema, compiled: dict[int, _Writer]) -> _Writer:
    """The encoding function of ``schema``; ``compiled`` holds named types done so far."""
    if isinstance(schema, PrimitiveSchema):
        return _PRIMITIVE_WRITERS[schema.type]
    known = compiled.get(id(schema))
    if known is not None:
        return known
    if isinstance(schema, RecordSchema):
        return _record_writer(schema, compiled)
    if isinstance(schema, EnumSchema):
        return _enum_writer(schema)
    if isinstance(schema, FixedSchema):
        return _fixed_writer(schema)
    if isinstance(schema, ArraySchema):
        return _array_writer(_compile_writer(schema.items, compiled))
    if isinstance(schema, MapSchema):
        return _map_writer(_compile_writer(schema.values, compiled))
    return _union_writer(schema, compiled)


def _record_writer(schema: RecordSchema, compiled: dict[int, _Writer]) -> _Writer:
    fields: list[tuple[str, _Writer, bool, Any]] = []
    names = frozenset(schema.fields_by_name)

    def write_record(value: Any, out: bytearray) -> None:
        if not isinstance(value, Mapping):
            raise AvroTypeError(
                f"record {schema.name} (a mapping) expected, got {type(value).__name__}"
            )
        found = 0
        for name, write, has_default, default in fields:
            try:
                item = value[name]
                found += 1
            except KeyError:
                if not has_default:
                    raise AvroTypeError(f"field {name!r} of {schema.name} is missing") from None
                item = default
            try:
                write(item, out)
            except EncodeError as e:
                e.add_segment("." + name)
                raise
        if len(value) > found:
            unknown = sorted(str(key) for key in value.keys() - names)
            raise AvroTypeError(f"{schema.name} has no field(s) {', '.join(unknown)}")

    compiled[id(schema)] = write_record
    for field in schema.fields:
        fields.append(
            (field.name, _compile_writer(field.schema, compiled), field.has_default, field.default)
        )
    return write_record


def _enum_writer(schema: EnumSchema) -> _Writer:
    index = {symbol: i for i, symbol in enumerate(schema.symbols)}

    def write_enum(value: Any, out: bytearray) -> None:
        i = index.get(value) if isinstance(value, str) else None
        if i is None:
            raise AvroValueError(
                f"{value!r} is not a symbol of {schema.name} ({', '.join(schema.symbols)})"
            )
        _write_int(i, out)

    return write_enum


def _fixed_writer(schema: FixedSchema) -> _Writer:
    def write_fixed(value: Any, out: bytearray) -> None:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise AvroTypeError(f"bytes expected, got {type(value).__name__} {value!r}")
        if len(value) != schema.size:
            raise AvroValueError(f"{len(value)} bytes for fixed {schema.name} of {schema.size}")
        out += value

    return write_fixed


def _array_writer(write_item: _Writer) -> _Writer:
    def write_array(value: Any, out: bytearray) -> None:
        items = _items(value)
        if items:
            _write_long(len(items), out)
            i = 0
            try:
                for item in items:
                    write_item(item, out)
                    i += 1
            except EncodeError as e:
                e.add_segment(f"[{i}]")
                raise
        out.append(0)

    return write_array


def _map_writer(write_value: _Writer) -> _Writer:
    def write_map(value: Any, out: bytearray) -> None:
        if not isinstance(value, Mapping):
            raise AvroTypeError(f"map (a mapping) expected, got {type(value).__name__}")
        if value:
            _write_long(len(value), out)
            for key, item in value.items():
                try:
                    _write_string(key, out)
                    write_value(item, out)
                except EncodeError as e:
                    e.add_segment(f"[{key!r}]")
                    raise
        out.append(0)

    return write_map


def _union_writer(schema: UnionSchema, compiled: dict[int, _Writer]) -> _Writer:
    branches = [
        (i, branch, _compile_writer(branch, compiled)) for i, branch in enumerate(schema.branches)
    ]
    null_index = next((i for i, branch, _ in branches if branch.type == "null"), None)

    def write_union(value: Any, out: bytearray) -> None:
        if value is None and null_index is not None:
            out.append(null_index << 1)
            return
        for exact in (True, False):
            for i, branch, write in branches:
                if _matches(branch, value, exact):
                    _write_long(i, out)
                    write(value, out)
                    return
        names = ", ".join(_type_name(branch) for branch in schema.branches)
        raise AvroTypeError(f"no branch of union [{names}] takes {type(value).__name__} {value!r}")

    return write_union


def _type_name(schema: Schema) -> str:
    return schema.name if isinstance(schema, NamedSchema) else schema.type


def _is_integer(value: Any) -> bool:
    return not isinstance(value, bool) and hasattr(value, "__index__")


def _matches(schema: Schema, value: Any, exact: bool) -> bool:
    """Whether a union branch takes ``value``; not ``exact``: also ints for float branches."""
    kind = schema.type
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("int", "long"):
        return _is_integer(value)
    if kind in ("float", "double"):
        if _is_integer(value):
            return not exact
        return not isinstance(value, (str, bytes, bytearray, bool)) and hasattr(value, "__float__")
    if kind == "string":
        return isinstance(value, str)
    if kind == "bytes":
        return isinstance(value, (bytes, bytearray, memoryview))
    if kind == "fixed":
        return isinstance(value, (bytes, bytearray, memoryview)) and len(value) == schema.size
    if kind == "enum":
        return isinstance(value, str) and value in schema.symbols
    if kind == "record":
        return isinstance(value, Mapping) and (
            not exact or all(key in schema.fields_by_name for key in value)
        )
    if kind == "map":
        return isinstance(value, Mapping)
    return isinstance(value, Iterable) and not isinstance(value, (str, bytes, bytearray, Mapping))


# --------------------------------------------------------------------------- decoding

_Reader = Callable[[bytes, int], tuple[Any, int]]
_unpack_float = struct.Struct("<f").unpack_from
_unpack_double = struct.Struct("<d").unpack_from


class DatumReader:
    """Decodes the Avro binary encoding of ``writer_schema`` into values of ``reader_schema``.

    Reader fields the writer lacks take their defaults, writer fields the reader lacks are
    skipped, and numbers are promoted (int to long, float or double; long to float or
    double; float to double), as the Avro specification's schema resolution says. The
    schemas are resolved once, here; a pair that cannot be resolved raises
    :class:`SchemaResolutionError` (for a union branch, only when data of it is read).
    """

    def __init__(self, writer_schema: Schema, reader_schema: Schema | None = None) -> None:
        self.writer_schema = writer_schema
        self.reader_schema = writer_schema if reader_schema is None else reader_schema
        self._read = _resolve(writer_schema, self.reader_schema, {})

    def read(self, data: bytes, pos: int = 0) -> tuple[Any, int]:
        """Decodes one value from ``data`` at ``pos``; returns it and the position after it.

        Raises :class:`TruncatedData` when ``data`` ends early and :class:`InvalidData` when
        it cannot be the writer schema's encoding.
        """
        try:
            return self._read(data, pos)
        except (IndexError, struct.error):
            raise TruncatedData(f"data ends early ({len(data) - pos} bytes)") from None


def _read_long(data: bytes, pos: int) -> tuple[int, int]:
    b = data[pos]
    n = b & 0x7F
    shift = 7
    while b & 0x80:
        pos += 1
        b = data[pos]
        n |= (b & 0x7F) << shift
        shift += 7
        if shift > 63 and b > 1:
            raise InvalidData("invalid long encoding: more than 64 bits")
    return (n >> 1) ^ -(n & 1), pos + 1


def _read_int(data: bytes, pos: int) -> tuple[int, int]:
    value, pos = _read_long(data, pos)
    if not _INT_MIN <= value <= _INT_MAX:
        raise InvalidData(f"invalid int encoding: {value} is out of range")
    return value, pos


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    length, pos = _read_long(data, pos)
    if length < 0:
        raise InvalidData(f"negative length {length}")
    if length > MAX_BYTES_LENGTH:
        raise InvalidData(f"length {length} exceeds the limit of {MAX_BYTES_LENGTH} bytes")
    end = pos + length
    if end > len(data):
        raise IndexError("length beyond the data")
    return end, pos


def _read_bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    end, pos = _read_length(data, pos)
    return bytes(data[pos:end]), end


def _read_string(data: bytes, pos: int) -> tuple[str, int]:
    end, pos = _read_length(data, pos)
    try:
        return str(data[pos:end], "utf-8"), end
    except UnicodeDecodeError as e:
        raise InvalidData(f"string is not UTF-8: {e}") from None


def _read_null(data: bytes, pos: int) -> tuple[None, int]:
    return None, pos


def _read_boolean(data: bytes, pos: int) -> tuple[bool, int]:
    b = data[pos]
    if b > 1:
        raise InvalidData(f"invalid boolean byte {b}")
    return b == 1, pos + 1


def _read_float(data: bytes, pos: int) -> tuple[float, int]:
    return _unpack_float(data, pos)[0], pos + 4


def _read_double(data: bytes, pos: int) -> tuple[float, int]:
    return _unpack_double(data, pos)[0], pos + 8


def _promoted(read: _Reader, convert: Callable[[Any], Any]) -> _Reader:
    def read_promoted(data: bytes, pos: int) -> tuple[Any, int]:
        value, pos = read(data, pos)
        return convert(value), pos

    return read_promoted


def _bytes_to_string(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidData(f"bytes read as a string are not UTF-8: {e}") from None


_PRIMITIVE_READERS: dict[str, _Reader] = {
    "null": _read_null,
    "boolean": _read_boolean,
    "int": _read_int,
    "long": _read_long,
    "float": _read_float,
    "double": _read_double,
    "bytes": _read_bytes,
    "string": _read_string,
}

_PROMOTIONS: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("int", "long"): int,
    ("int", "float"): float,
    ("int", "double"): float,
    ("long", "float"): float,
    ("long", "double"): float,
    ("float", "double"): float,
    ("string", "bytes"): lambda value: value.encode("utf-8"),
    ("bytes", "string"): _bytes_to_string,
}


def _names_match(writer: NamedSchema, reader: NamedSchema) -> bool:
    return writer.fullname == reader.fullname or writer.name == reader.name


def _resolvable(writer: Schema, reader: Schema) -> bool:
    """Whether data of ``writer`` can be read as ``reader`` at all (shallowly)."""
    if isinstance(writer, UnionSchema) or isinstance(reader, UnionSchema):
        return True
    if writer.type != reader.type:
        return (writer.type, reader.type) in _PROMOTIONS
    if isinstance(writer, NamedSchema):
        return _names_match(writer, reader)
    return True


def _resolve(writer: Schema, reader: Schema, resolved: dict[tuple[int, int], _Reader]) -> _Reader:
    """The decoding function reading ``writer``'s encoding as ``reader`` values."""
    if isinstance(writer, UnionSchema):
        return _writer_union_reader(writer, reader, resolved)
    if isinstance(reader, UnionSchema):
        for exact in (True, False):
            for branch in reader.branches:
                if (writer.type == branch.type) == exact and _resolvable(writer, branch):
                    return _resolve(writer, branch, resolved)
        raise SchemaResolutionError(
            f"no branch of the reader's union takes the writer's {_type_name(writer)}"
        )
    if not _resolvable(writer, reader):
        raise SchemaResolutionError(
            f"writer's {_type_name(writer)} cannot be read as {_type_name(reader)}"
        )
    if isinstance(writer, PrimitiveSchema):
        read = _PRIMITIVE_READERS[writer.type]
        if writer.type == reader.type:
            return read
        return _promoted(read, _PROMOTIONS[writer.type, reader.type])
    known = resolved.get((id(writer), id(reader)))
    if known is not None:
        return known
    if isinstance(writer, RecordSchema):
        return _record_reader(writer, reader, resolved)
    if isinstance(writer, EnumSchema):
        return _enum_reader(writer, reader)
    if isinstance(writer, FixedSchema):
        if writer.size != reader.size:
            raise SchemaResolutionError(
                f"fixed {writer.name} has size {writer.size} written, {reader.size} read"
            )
        return _fixed_reader(writer.size)
    if isinstance(writer, ArraySchema):
        return _array_reader(_resolve(writer.items, reader.items, resolved))
    return _map_reader(_resolve(writer.values, reader.values, resolved))


def _record_reader(
    writer: RecordSchema, reader: RecordSchema, resolved: dict[tuple[int, int], _Reader]
) -> _Reader:
    steps: list[tuple[str | None, _Reader]] = []
    defaults: list[tuple[str, Any, bool]] = []

    def read_record(data: bytes, pos: int) -> tuple[dict, int]:
        record = {}
        for name, read in steps:
            value, pos = read(data, pos)
            if name is not None:
                record[name] = value
        for name, default, mutable in defaults:
            record[name] = copy.deepcopy(default) if mutable else default
        return record, pos

    resolved[id(writer), id(reader)] = read_record
    for field in writer.fields:
        target = reader.fields_by_name.get(field.name)
        if target is None:
            steps.append((None, _resolve(field.schema, field.schema, resolved)))
        else:
            steps.append((field.name, _resolve(field.schema, target.schema, resolved)))
    for field in reader.fields:
        if field.name not in writer.fields_by_name:
            if not field.has_default:
                raise SchemaResolutionError(
                    f"{reader.name}.{field.name} is not written and has no default"
                )
            mutable = not isinstance(field.default, (type(None), bool, int, float, str, bytes))
            defaults.append((field.name, field.default, mutable))
    return read_record


def _enum_reader(writer: EnumSchema, reader: EnumSchema) -> _Reader:
    symbols = tuple(
        symbol if symbol in reader.symbols else reader.default for symbol in writer.symbols
    )
    count = len(symbols)

    def read_enum(data: bytes, pos: int) -> tuple[str, int]:
        i, pos = _read_int(data, pos)
        if not 0 <= i < count:
            raise InvalidData(f"enum index {i} out of range for {writer.name} ({count} symbols)")
        symbol = symbols[i]
        if symbol is None:
            raise InvalidData(f"{writer.symbols[i]} is no symbol of the reader's {reader.name}")
        return symbol, pos

    return read_enum


def _fixed_reader(size: int) -> _Reader:
    def read_fixed(data: bytes, pos: int) -> tuple[bytes, int]:
        end = pos + size
        if end > len(data):
            raise IndexError("fixed beyond the data")
        return bytes(data[pos:end]), end

    return read_fixed


def _block_count(data: bytes, pos: int, total: int) -> tuple[int, int]:
    """Reads an array or map block header: its item count (0 at the end) and the position."""
    count, pos = _read_long(data, pos)
    if count < 0:
        count = -count
        _, pos = _read_long(data, pos)  # the block's size in bytes, for skipping
    if total + count > MAX_COLLECTION_ITEMS:
        raise InvalidData(
            f"collection of {total + count} items exceeds the limit of {MAX_COLLECTION_ITEMS}"
        )
    return count, pos


def _array_reader(read_item: _Reader) -> _Reader:
    def read_array(data: bytes, pos: int) -> tuple[list, int]:
        items: list = []
        count, pos = _block_count(data, pos, 0)
        while count:
            for _ in range(count):
                item, pos = read_item(data, pos)
                items.append(item)
            count, pos = _block_count(data, pos, len(items))
        return items, pos

    return read_array


def _map_reader(read_value: _Reader) -> _Reader:
    def read_map(data: bytes, pos: int) -> tuple[dict, int]:
        entries: dict = {}
        total = 0
        count, pos = _block_count(data, pos, 0)
        while count:
            for _ in range(count):
                key, pos = _read_string(data, pos)
                entries[key], pos = read_value(data, pos)
            total += count
            count, pos = _block_count(data, pos, total)
        return entries, pos

    return read_map


def _writer_union_reader(
    writer: UnionSchema, reader: Schema, resolved: dict[tuple[int, int], _Reader]
) -> _Reader:
    branches: list[_Reader] = []
    for branch in writer.branches:
        try:
            branches.append(_resolve(branch, reader, resolved))
        except SchemaResolutionError as e:
            branches.append(_unreadable(str(e)))
    count = len(branches)

    def read_union(data: bytes, pos: int) -> tuple[Any, int]:
        i, pos = _read_long(data, pos)
        if not 0 <= i < count:
            raise InvalidData(f"union index {i} out of range ({count} branches)")
        return branches[i](data, pos)

    return read_union


def _unreadable(reason: str) -> _Reader:
    def read_unreadable(data: bytes, pos: int) -> tuple[Any, int]:
        raise InvalidData(f"written union branch cannot be read: {reason}")

    return read_unreadable
