package io.moeplan.planner.trace;

/**
 * A malformed trace file, or one without the layers asked for; the message names the file (and the
 * line, or the file's layers). An {@link IllegalArgumentException}, as the file is an argument.
 */
public final class TraceFormatException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; the message starts with {@code file:line:}. */
  public TraceFormatException(String message) {
    super(message);
  }
}
