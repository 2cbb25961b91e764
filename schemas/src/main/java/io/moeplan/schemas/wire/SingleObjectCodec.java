package io.moeplan.schemas.wire;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.SystemLimitException;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;

/**
 * Avro single-object encoding of one generated record type: {@code C3 01}, the 8-byte little-endian
 * CRC-64-AVRO fingerprint of the writer schema, then the binary body.
 *
 * <p>Encoding always uses the current schema. Decoding accepts any released writer schema (see
 * {@link ReleasedSchemas}) and resolves it to the current one, so readers keep working while
 * producers upgrade. Instances are immutable and thread-safe.
 */
public final class SingleObjectCodec<T extends SpecificRecord> implements Codec<T> {

  /** The two marker bytes every single-object encoded record starts with. */
  public static final byte[] MAGIC = {(byte) 0xC3, (byte) 0x01};

  /** Marker plus fingerprint. */
  public static final int HEADER_LENGTH = MAGIC.length + Long.BYTES;

  /** Most items one decoded array or map may claim, so a corrupt length cannot exhaust memory. */
  public static final int MAX_COLLECTION_ITEMS = 1 << 24;

  /** Most bytes one decoded string or bytes field may claim. */
  public static final int MAX_BYTES_LENGTH = 64 << 20;

  static {
    // Avro reads these limits once, when SystemLimitException is first used; an operator's own
    // -D settings win.
    if (System.getProperty(SystemLimitException.MAX_COLLECTION_LENGTH_PROPERTY) == null) {
      System.setProperty(
          SystemLimitException.MAX_COLLECTION_LENGTH_PROPERTY,
          Integer.toString(MAX_COLLECTION_ITEMS));
    }
    for (String property :
        new String[] {
          SystemLimitException.MAX_BYTES_LENGTH_PROPERTY,
          SystemLimitException.MAX_STRING_LENGTH_PROPERTY
        }) {
      if (System.getProperty(property) == null) {
        System.setProperty(property, Integer.toString(MAX_BYTES_LENGTH));
      }
    }
  }

  private final Class<T> type;
  private final Schema schema;
  private final byte[] header;
  private final SpecificDatumWriter<T> writer;
  private final Map<Long, DatumReader<T>> readers;

  private SingleObjectCodec(Class<T> type, Schema schema, List<Schema> writerSchemas) {
    this.type = type;
    this.schema = schema;
    this.header = header(SchemaNormalization.parsingFingerprint64(schema));
    SpecificData data = SpecificData.getForClass(type);
    this.writer = new SpecificDatumWriter<>(schema, data);
    Map<Long, DatumReader<T>> byFingerprint = new HashMap<>();
    for (Schema writerSchema : writerSchemas) {
      byFingerprint.put(
          SchemaNormalization.parsingFingerprint64(writerSchema),
          new SpecificDatumReader<>(writerSchema, schema, data));
    }
    byFingerprint.putIfAbsent(
        SchemaNormalization.parsingFingerprint64(schema),
        new SpecificDatumReader<>(schema, schema, data));
    this.readers = Map.copyOf(byFingerprint);
  }

  /** A codec for a generated record class that reads all of its released versions. */
  public static <T extends SpecificRecord> SingleObjectCodec<T> forRecord(Class<T> type) {
    Schema schema = SpecificData.get().getSchema(type);
    return new SingleObjectCodec<>(type, schema, ReleasedSchemas.of(schema.getName()));
  }

  /** A codec that reads exactly the given writer schemas (and the current one). */
  public static <T extends SpecificRecord> SingleObjectCodec<T> forRecord(
      Class<T> type, List<Schema> writerSchemas) {
    return new SingleObjectCodec<>(type, SpecificData.get().getSchema(type), writerSchemas);
  }

  /** The schema values are written with and resolved to. */
  public Schema schema() {
    return schema;
  }

  /** Fingerprints of every writer schema this codec decodes. */
  public java.util.Set<Long> knownFingerprints() {
    return readers.keySet();
  }

  @Override
  public byte[] encode(T value) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    out.writeBytes(header);
    BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
    try {
      writer.write(value, encoder);
      encoder.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot encode " + type.getSimpleName(), e);
    }
    return out.toByteArray();
  }

  @Override
  public T decode(byte[] bytes) {
    if (bytes == null) {
      throw new WireFormatException.Truncated(
          schema.getName()
              + ": record value is null (a tombstone), expected "
              + HEADER_LENGTH
              + "+ bytes",
          null);
    }
    if (bytes.length < MAGIC.length || bytes[0] != MAGIC[0] || bytes[1] != MAGIC[1]) {
      if (bytes.length < MAGIC.length && startsLikeMagic(bytes)) {
        throw new WireFormatException.Truncated(
            schema.getName() + ": " + bytes.length + " bytes, shorter than the header", null);
      }
      throw new WireFormatException.BadMagic(
          String.format(
              "%s: expected single-object marker C3 01, received %s (%d bytes)",
              schema.getName(), hexPrefix(bytes), bytes.length));
    }
    if (bytes.length < HEADER_LENGTH) {
      throw new WireFormatException.Truncated(
          String.format(
              "%s: %d bytes, shorter than the %d-byte header",
              schema.getName(), bytes.length, HEADER_LENGTH),
          null);
    }
    long fingerprint =
        ByteBuffer.wrap(bytes, MAGIC.length, Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).getLong();
    DatumReader<T> reader = readers.get(fingerprint);
    if (reader == null) {
      throw new WireFormatException.UnknownFingerprint(schema.getName(), fingerprint);
    }
    BinaryDecoder decoder =
        DecoderFactory.get()
            .binaryDecoder(bytes, HEADER_LENGTH, bytes.length - HEADER_LENGTH, null);
    T value;
    try {
      value = reader.read(null, decoder);
    } catch (EOFException e) {
      throw new WireFormatException.Truncated(
          String.format(
              "%s: body ends early (%d body bytes received)",
              schema.getName(), bytes.length - HEADER_LENGTH),
          e);
    } catch (IOException | RuntimeException e) {
      // Avro reports corrupt lengths, indexes and limits with assorted runtime exceptions
      throw new WireFormatException.Malformed(
          schema.getName() + ": body does not match its writer schema: " + e, e);
    }
    try {
      if (!decoder.isEnd()) {
        throw new WireFormatException.Malformed(
            String.format(
                "%s: %d bytes left after the record body", schema.getName(), trailing(decoder)),
            null);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return value;
  }

  private static int trailing(BinaryDecoder decoder) throws IOException {
    int count = 0;
    while (!decoder.isEnd()) {
      decoder.readFixed(new byte[1]);
      count++;
    }
    return count;
  }

  private static boolean startsLikeMagic(byte[] bytes) {
    return bytes.length == 0 || bytes[0] == MAGIC[0];
  }

  private static String hexPrefix(byte[] bytes) {
    StringBuilder hex = new StringBuilder();
    for (int i = 0; i < Math.min(bytes.length, 8); i++) {
      if (i > 0) {
        hex.append(' ');
      }
      hex.append(String.format("%02X", bytes[i]));
    }
    return bytes.length > 8 ? hex + " ..." : hex.length() == 0 ? "nothing" : hex.toString();
  }

  private static byte[] header(long fingerprint) {
    return ByteBuffer.allocate(HEADER_LENGTH)
        .order(ByteOrder.LITTLE_ENDIAN)
        .put(MAGIC)
        .putLong(fingerprint)
        .array();
  }

  @Override
  public String toString() {
    return "SingleObjectCodec[" + schema.getFullName() + ", " + readers.size() + " writer schemas]";
  }
}
