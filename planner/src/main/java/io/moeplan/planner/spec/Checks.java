package io.moeplan.planner.spec;

/** Field checks shared by the spec records; every message names the field and the value. */
final class Checks {
  private Checks() {}

  static int atLeast(String field, int value, int min) {
    if (value < min) {
      throw new SpecException("field '" + field + "' must be >= " + min + ", got " + value);
    }
    return value;
  }

  static long atLeast(String field, long value, long min) {
    if (value < min) {
      throw new SpecException("field '" + field + "' must be >= " + min + ", got " + value);
    }
    return value;
  }

  static int atMost(String field, int value, int max) {
    if (value > max) {
      throw new SpecException("field '" + field + "' must be <= " + max + ", got " + value);
    }
    return value;
  }

  static long atMost(String field, long value, long max) {
    if (value > max) {
      throw new SpecException("field '" + field + "' must be <= " + max + ", got " + value);
    }
    return value;
  }

  static double positive(String field, double value) {
    if (!(value > 0) || Double.isInfinite(value)) {
      throw new SpecException("field '" + field + "' must be a finite number > 0, got " + value);
    }
    return value;
  }

  static double nonNegative(String field, double value) {
    if (!(value >= 0) || Double.isInfinite(value)) {
      throw new SpecException("field '" + field + "' must be a finite number >= 0, got " + value);
    }
    return value;
  }
}
