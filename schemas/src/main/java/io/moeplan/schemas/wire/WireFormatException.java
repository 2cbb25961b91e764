package io.moeplan.schemas.wire;

/** Bytes on the wire that cannot be decoded; the subclass says why. */
public abstract sealed class WireFormatException extends RuntimeException
    permits WireFormatException.BadMagic,
        WireFormatException.UnknownFingerprint,
        WireFormatException.Truncated,
        WireFormatException.Malformed {

  private WireFormatException(String message, Throwable cause) {
    super(message, cause);
  }

  /** A short, stable name of the failure class, for metrics and dead-letter reasons. */
  public abstract String kind();

  /** The first bytes are not the single-object marker 0xC3 0x01. */
  public static final class BadMagic extends WireFormatException {
    BadMagic(String message) {
      super(message, null);
    }

    @Override
    public String kind() {
      return "bad-magic";
    }
  }

  /** The header names a writer schema this reader has never been told about. */
  public static final class UnknownFingerprint extends WireFormatException {
    private final long fingerprint;

    UnknownFingerprint(String recordName, long fingerprint) {
      super(
          String.format(
              "unknown writer schema fingerprint 0x%016x for %s: not a released version of the"
                  + " schema",
              fingerprint, recordName),
          null);
      this.fingerprint = fingerprint;
    }

    /** The CRC-64-AVRO fingerprint found in the header. */
    public long fingerprint() {
      return fingerprint;
    }

    @Override
    public String kind() {
      return "unknown-fingerprint";
    }
  }

  /** The bytes end before the header or the body is complete. */
  public static final class Truncated extends WireFormatException {
    Truncated(String message, Throwable cause) {
      super(message, cause);
    }

    @Override
    public String kind() {
      return "truncated";
    }
  }

  /**
   * The body does not parse as the writer schema (bad lengths, union or enum indexes, extra bytes).
   */
  public static final class Malformed extends WireFormatException {
    Malformed(String message, Throwable cause) {
      super(message, cause);
    }

    @Override
    public String kind() {
      return "malformed";
    }
  }
}
