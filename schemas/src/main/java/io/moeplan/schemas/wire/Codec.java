package io.moeplan.schemas.wire;

/** Turns values of one type into the bytes of a Kafka record key or value, and back. */
public interface Codec<T> {

  /** Encodes a value; never returns null. */
  byte[] encode(T value);

  /**
   * Decodes bytes produced by {@link #encode} (or by any compatible writer).
   *
   * @throws WireFormatException when the bytes are not a valid encoding, naming what was received
   */
  T decode(byte[] bytes);
}
