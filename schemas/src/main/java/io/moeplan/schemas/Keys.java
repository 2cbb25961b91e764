package io.moeplan.schemas;

/** Parsing shared by the key types. */
final class Keys {

  private Keys() {}

  /** The non-negative decimal after {@code slash} in {@code key}, named {@code what} in errors. */
  static int parseIndex(String key, int slash, String what) {
    try {
      int value = Integer.parseInt(key, slash + 1, key.length(), 10);
      if (value >= 0) {
        return value;
      }
    } catch (NumberFormatException e) {
      // worded below
    }
    throw new IllegalArgumentException(
        what + " in key '" + key + "' must be a non-negative integer after the last '/'");
  }
}
