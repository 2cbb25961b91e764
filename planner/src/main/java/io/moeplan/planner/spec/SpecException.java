package io.moeplan.planner.spec;

/** A spec file or value that cannot be used; the message names the file (if any) and the field. */
public final class SpecException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception with a message that names the offending field. */
  public SpecException(String message) {
    super(message);
  }

  /** Creates the exception with a message and the parser error behind it. */
  public SpecException(String message, Throwable cause) {
    super(message, cause);
  }
}
