package io.moeplan.flink.input;

import io.moeplan.schemas.DeadLetterReason;
import io.moeplan.schemas.wire.WireFormatException;

/**
 * Why a record cannot be used.
 *
 * @param reason the class of problem, as on the dead-letter topic
 * @param detail a sentence naming the offending field and value
 */
public record Rejection(DeadLetterReason reason, String detail) {

  /** A value that did not decode: an unknown writer schema, or bytes that are not a record. */
  public static Rejection undecodable(WireFormatException e) {
    return new Rejection(
        e instanceof WireFormatException.UnknownFingerprint
            ? DeadLetterReason.UNKNOWN_SCHEMA
            : DeadLetterReason.UNDECODABLE,
        e.getMessage());
  }

  /** A field whose value is not acceptable. */
  public static Rejection invalid(String detail) {
    return new Rejection(DeadLetterReason.INVALID_FIELD, detail);
  }
}
