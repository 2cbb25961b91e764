package io.moeplan.planner.trace;

/** A malformed trace file; the message names the file and line. */
public final class TraceFormatException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; the message starts with {@code file:line:}. */
  public TraceFormatException(String message) {
    super(message);
  }
}
