package io.moeplan.planner.policy;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;

/**
 * Fixed-point text of a double, as {@code String.format(Locale.ROOT, "%.<digits>f", value)} writes
 * it, at a fraction of its cost: the decision reasons are written once per decision, and the
 * formatter's pattern parsing and locale lookups cost more than the selector's search at small
 * shapes. Like the formatter, it rounds the shortest decimal form of the value ({@link
 * Double#toString}) half up, and keeps the sign of negative values that round to zero.
 */
public final class Fixed {
  private Fixed() {}

  /** {@code value} with {@code digits} (0 to 20) digits after the point. */
  public static String of(double value, int digits) {
    if (digits < 0 || digits > 20) {
      throw new IllegalArgumentException("digits must be in 0..20, got " + digits);
    }
    if (Double.isNaN(value) || Double.isInfinite(value)) {
      return String.format(Locale.ROOT, "%." + digits + "f", value);
    }
    boolean negative = value < 0 || (value == 0 && 1 / value < 0);
    String plain =
        new BigDecimal(Double.toString(Math.abs(value)))
            .setScale(digits, RoundingMode.HALF_UP)
            .toPlainString();
    return negative ? "-" + plain : plain;
  }
}
