package io.moeplan.flink.input;

import io.moeplan.schemas.DeadLetterReason;

/**
 * Why a record cannot be used.
 *
 * @param reason the class of problem, as on the dead-letter topic
 * @param detail a sentence naming the offending field and value
 */
public record Rejection(DeadLetterReason reason, String detail) {

  /** A field whose value is not acceptable. */
  public static Rejection invalid(String detail) {
    return new Rejection(DeadLetterReason.INVALID_FIELD, detail);
  }
}
