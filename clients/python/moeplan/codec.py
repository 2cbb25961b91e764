"""Avro single-object encoding of moeplan's topic values, byte-compatible with the Java codec.

A value is ``C3 01``, the 8-byte little-endian CRC-64-AVRO fingerprint of the writer
schema's Parsing Canonical Form, then the Avro binary body. Encoding always uses the newest
released schema of the record; decoding accepts every released version (the packaged copies
of ``schemas/src/main/resources/io/moeplan/schemas/released/<Record>/v<N>.avsc``) and
resolves it to the newest, so a v1 ``ExpertLoad`` decodes with ``runId`` None and
``attempt`` 0. Values are plain dicts, as described in :mod:`moeplan.avro`; a
``timestamp-millis`` field such as ``producedAt`` is an ``int`` of epoch milliseconds.

Example::

    codec = codec_for("ExpertLoad")
    data = codec.encode({"jobId": "job-a", "rank": 0, ...})
    load = codec.decode(data)
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

from moeplan.avro import (
    DatumReader,
    DatumWriter,
    InvalidData,
    RecordSchema,
    TruncatedData,
    parse_schema,
    parsing_fingerprint64,
)

__all__ = [
    "HEADER_LENGTH",
    "MAGIC",
    "BadMagic",
    "Malformed",
    "SingleObjectCodec",
    "Truncated",
    "UnknownFingerprint",
    "WireFormatError",
    "codec_for",
    "record_names",
    "released_schemas",
]

MAGIC = b"\xc3\x01"
"""The two marker bytes every single-object encoded value starts with."""

HEADER_LENGTH = len(MAGIC) + 8
"""Marker plus fingerprint."""


class WireFormatError(ValueError):
    """Bytes on the wire that cannot be decoded; the subclass says why (Java's
    ``WireFormatException``). ``kind`` is a short stable name for metrics and dead letters."""

    kind = "wire-format"


class BadMagic(WireFormatError):
    """The first bytes are not the single-object marker ``C3 01``."""

    kind = "bad-magic"


class UnknownFingerprint(WireFormatError):
    """The header names a writer schema that is not a released version of the record."""

    kind = "unknown-fingerprint"

    def __init__(self, record_name: str, fingerprint: int) -> None:
        super().__init__(
            f"unknown writer schema fingerprint 0x{fingerprint:016x} for {record_name}:"
            " not a released version of the schema"
        )
        self.fingerprint = fingerprint
        """The unsigned CRC-64-AVRO fingerprint found in the header."""


class Truncated(WireFormatError):
    """The bytes end before the header or the body is complete (or there are none)."""

    kind = "truncated"


class Malformed(WireFormatError):
    """The body does not parse as the writer schema (bad lengths, indexes, extra bytes)."""

    kind = "malformed"


_SCHEMAS = resources.files(__package__) / "schemas"


@functools.cache
def record_names() -> tuple[str, ...]:
    """The simple names of the records with released schemas, sorted."""
    return tuple(sorted(entry.name for entry in _SCHEMAS.iterdir() if entry.is_dir()))


def released_schemas(record_name: str) -> tuple[RecordSchema, ...]:
    """The released schemas of a record, v1 first; ``KeyError`` for an unknown record."""
    directory = _SCHEMAS / record_name
    versions = []
    while True:
        resource = directory / f"v{len(versions) + 1}.avsc"
        if not resource.is_file():
            break
        versions.append(parse_schema(resource.read_text(encoding="utf-8")))
    if not versions:
        raise KeyError(f"no released schema of {record_name!r}; known: {', '.join(record_names())}")
    return tuple(versions)


@functools.cache
def codec_for(record_name: str) -> SingleObjectCodec:
    """The (shared, thread-safe) codec of a record by simple name, e.g. ``"ExpertLoad"``."""
    return SingleObjectCodec(released_schemas(record_name))


class SingleObjectCodec:
    """Encodes values with the newest of a record's writer schemas and decodes any of them.

    Instances are immutable; the schemas are parsed and resolved once, at construction.
    """

    def __init__(self, writer_schemas: tuple[RecordSchema, ...] | list[RecordSchema]) -> None:
        """``writer_schemas``: the record's versions, oldest first; the last is the current."""
        if not writer_schemas:
            raise ValueError("at least one writer schema is needed")
        self.schema: RecordSchema = writer_schemas[-1]
        """The schema values are written with and resolved to."""
        self.name = self.schema.name
        """The record's simple name."""
        self.fingerprint = parsing_fingerprint64(self.schema)
        """The newest schema's fingerprint, unsigned."""
        self.known_fingerprints: dict[int, int] = {
            parsing_fingerprint64(schema): version
            for version, schema in enumerate(writer_schemas, start=1)
        }
        """Fingerprint of every decodable writer schema -> its version number (from 1)."""
        self._header = MAGIC + self.fingerprint.to_bytes(8, "little")
        self._writer = DatumWriter(self.schema)
        self._readers = {
            parsing_fingerprint64(schema): DatumReader(schema, self.schema)
            for schema in writer_schemas
        }

    def encode(self, value: dict[str, Any]) -> bytes:
        """The single-object encoding of ``value`` with the current schema.

        Fields missing from ``value`` take their schema defaults where they have one.
        Raises a ``TypeError`` or ``ValueError`` subclass (:class:`moeplan.avro.AvroTypeError`,
        :class:`moeplan.avro.AvroValueError`) naming the record and the offending field path.
        """
        out = bytearray(self._header)
        self._writer.write(value, out)
        return bytes(out)

    def decode(self, data: bytes | bytearray | memoryview | None) -> dict[str, Any]:
        """The value of single-object encoded ``data``, resolved to the current schema.

        Raises a :class:`WireFormatError`: :class:`Truncated` for None (a tombstone) or too
        few bytes, :class:`BadMagic`, :class:`UnknownFingerprint` or :class:`Malformed`.
        """
        name = self.name
        if data is None:
            raise Truncated(
                f"{name}: record value is null (a tombstone), expected {HEADER_LENGTH}+ bytes"
            )
        if not isinstance(data, bytes):
            data = bytes(data)
        if data[:2] != MAGIC:
            if len(data) < len(MAGIC) and data[:1] in (b"", MAGIC[:1]):
                raise Truncated(f"{name}: {len(data)} bytes, shorter than the header")
            raise BadMagic(_bad_magic_message(name, data))
        if len(data) < HEADER_LENGTH:
            raise Truncated(
                f"{name}: {len(data)} bytes, shorter than the {HEADER_LENGTH}-byte header"
            )
        fingerprint = int.from_bytes(data[2:HEADER_LENGTH], "little")
        reader = self._readers.get(fingerprint)
        if reader is None:
            raise UnknownFingerprint(name, fingerprint)
        try:
            value, end = reader.read(data, HEADER_LENGTH)
        except TruncatedData:
            raise Truncated(
                f"{name}: body ends early ({len(data) - HEADER_LENGTH} body bytes received)"
            ) from None
        except InvalidData as e:
            raise Malformed(f"{name}: body does not match its writer schema: {e}") from e
        if end != len(data):
            raise Malformed(f"{name}: {len(data) - end} bytes left after the record body")
        return value

    def __repr__(self) -> str:
        return (
            f"SingleObjectCodec[{self.schema.fullname}, "
            f"{len(self.known_fingerprints)} writer schemas]"
        )


def _bad_magic_message(name: str, data: bytes) -> str:
    shown = " ".join(f"{b:02X}" for b in data[:8]) or "nothing"
    if len(data) > 8:
        shown += " ..."
    message = f"{name}: expected single-object marker C3 01, received {shown} ({len(data)} bytes)"
    if len(data) >= 5 and data[0] == 0:
        schema_id = int.from_bytes(data[1:5], "big", signed=True)
        message += (
            f": looks like Confluent Schema Registry framing (magic 0x00, schema id {schema_id});"
            " moeplan expects Avro single-object encoding (C3 01 + fingerprint)"
        )
    return message
