package io.moeplan.flink.input;

import io.moeplan.planner.spec.Limits;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.wire.SingleObjectCodec;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.avro.SchemaNormalization;

/**
 * Reads an {@code ExpertLoad} written with the current schema straight into a {@link RankLoad}: the
 * Avro binary body field by field, counts into {@code long[]} rows without boxing, then the
 * structural checks of {@link ExpertLoadDecoder#check}. It accepts only what it read completely and
 * found valid, and answers null for everything else (another writer schema, malformed or trailing
 * bytes, a failed check), which then takes the Avro path for its load or its exact rejection. So it
 * decides nothing on its own: a load it returns is the one the Avro path would return.
 */
final class CurrentSchemaLoadReader {

  /** Fingerprint of the schema this reader follows, the one producers of this version write. */
  static final long FINGERPRINT = SchemaNormalization.parsingFingerprint64(ExpertLoad.SCHEMA$);

  private final byte[] bytes;
  private int pos;

  private CurrentSchemaLoadReader(byte[] bytes, int pos) {
    this.bytes = bytes;
    this.pos = pos;
  }

  /** The valid load of {@code record}, or null when the Avro path must decide. */
  static RankLoad read(RawRecord record) {
    byte[] value = record.value;
    if (value == null
        || value.length < SingleObjectCodec.HEADER_LENGTH
        || value[0] != SingleObjectCodec.MAGIC[0]
        || value[1] != SingleObjectCodec.MAGIC[1]
        || littleEndianLong(value, SingleObjectCodec.MAGIC.length) != FINGERPRINT) {
      return null;
    }
    RankLoad load;
    try {
      load = new CurrentSchemaLoadReader(value, SingleObjectCodec.HEADER_LENGTH).body();
    } catch (ArrayIndexOutOfBoundsException e) {
      return null; // truncated
    }
    if (load == null || ExpertLoadDecoder.check(load, record.key) != null) {
      return null;
    }
    load.source = record;
    return load;
  }

  /** The fields in schema order; null at the first thing the Avro path must judge. */
  private RankLoad body() {
    RankLoad load = new RankLoad();
    int jobIdLength = intLength();
    if (jobIdLength < 0) {
      return null;
    }
    load.jobId = new String(bytes, pos, jobIdLength, StandardCharsets.UTF_8);
    pos += jobIdLength;
    load.rank = readInt();
    load.worldSize = readInt();
    load.iteration = readLong();
    load.planVersion = readLong();
    int[] layers = new int[0];
    long[][] counts = new long[0][];
    for (long block = blockCount(); block != 0; block = blockCount()) {
      if (block < 0 || layers.length + block > Limits.MAX_LAYERS) {
        return null;
      }
      int base = layers.length;
      layers = Arrays.copyOf(layers, base + (int) block);
      counts = Arrays.copyOf(counts, base + (int) block);
      for (int i = base; i < layers.length; i++) {
        layers[i] = readInt();
        counts[i] = longArray();
        if (counts[i] == null) {
          return null;
        }
      }
    }
    load.layers = layers;
    load.counts = counts;
    load.producedAtMillis = readLong();
    int runIdBranch = readInt();
    if (runIdBranch == 1) {
      int runIdLength = intLength();
      if (runIdLength < 0) {
        return null;
      }
      load.runId = new String(bytes, pos, runIdLength, StandardCharsets.UTF_8);
      pos += runIdLength;
    } else if (runIdBranch != 0) {
      return null;
    }
    load.attempt = readInt();
    return pos == bytes.length ? load : null;
  }

  /** An array of longs; null when it claims more items than a layer may have. */
  private long[] longArray() {
    long[] items = new long[0];
    for (long block = blockCount(); block != 0; block = blockCount()) {
      if (block < 0 || items.length + block > Limits.MAX_EXPERTS) {
        return null;
      }
      int base = items.length;
      items = Arrays.copyOf(items, base + (int) block);
      for (int i = base; i < items.length; i++) {
        items[i] = readLong();
      }
    }
    return items;
  }

  /** Items in the next array block (0 ends the array), skipping a block's byte size if given. */
  private long blockCount() {
    long count = readLong();
    if (count < 0) {
      readLong();
      return count == Long.MIN_VALUE ? -1 : -count;
    }
    return count;
  }

  /** A string length that fits the rest of the body, or -1. */
  private int intLength() {
    int length = readInt();
    return length < 0 || length > bytes.length - pos ? -1 : length;
  }

  /** Avro's zig-zag varint int: at most 5 bytes, bits beyond 32 dropped as Avro drops them. */
  private int readInt() {
    int raw = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      byte b = bytes[pos++];
      raw |= (b & 0x7F) << shift;
      if (b >= 0) {
        return (raw >>> 1) ^ -(raw & 1);
      }
    }
    throw new ArrayIndexOutOfBoundsException("varint longer than 5 bytes");
  }

  /** Avro's zig-zag varint long: at most 10 bytes. */
  private long readLong() {
    long raw = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      byte b = bytes[pos++];
      raw |= (long) (b & 0x7F) << shift;
      if (b >= 0) {
        return (raw >>> 1) ^ -(raw & 1);
      }
    }
    throw new ArrayIndexOutOfBoundsException("varint longer than 10 bytes");
  }

  private static long littleEndianLong(byte[] bytes, int offset) {
    long value = 0;
    for (int i = Long.BYTES - 1; i >= 0; i--) {
      value = (value << 8) | (bytes[offset + i] & 0xFF);
    }
    return value;
  }
}
