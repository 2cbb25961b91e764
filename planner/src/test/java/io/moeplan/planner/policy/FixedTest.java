package io.moeplan.planner.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FixedTest {

  private static void assertSameAsFormatter(double value, int digits) {
    assertThat(Fixed.of(value, digits))
        .as("%s with %d digits", Double.toString(value), digits)
        .isEqualTo(String.format(Locale.ROOT, "%." + digits + "f", value));
  }

  @Test
  void writesWhatTheFormatterWritesForEdgeCases() {
    double[] values = {
      0.0,
      -0.0,
      0.0005,
      0.0015,
      1.0005,
      2.5,
      0.5,
      1.5,
      -0.0001,
      -0.0005,
      -2.5,
      0.15,
      0.25,
      0.35,
      1e-10,
      9.9995,
      99.9995,
      999.9994999,
      1e15,
      1.2345e20,
      123456789.0125,
      Double.MIN_VALUE,
      Double.MAX_VALUE,
      -Double.MAX_VALUE,
      Double.NaN,
      Double.POSITIVE_INFINITY,
      Double.NEGATIVE_INFINITY,
      4.35,
      0.045,
      1.0 / 3,
      2.0 / 3,
      0.9995,
      0.99949999
    };
    for (double value : values) {
      for (int digits = 0; digits <= 4; digits++) {
        assertSameAsFormatter(value, digits);
      }
    }
  }

  @Test
  void writesWhatTheFormatterWritesForRandomValuesOfEveryMagnitude() {
    Random random = new Random(42);
    for (int i = 0; i < 200_000; i++) {
      double magnitude = Math.pow(10, random.nextInt(16) - 8);
      double value = (random.nextDouble() * 2 - 1) * magnitude;
      if (random.nextInt(4) == 0) {
        // values on or near a rounding tie of the shortest decimal form
        value = Math.round(value * 2e3) / 2e3;
      }
      assertSameAsFormatter(value, random.nextInt(4));
    }
  }

  @Test
  void refusesDigitsOutOfRange() {
    assertThatThrownBy(() -> Fixed.of(1, -1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Fixed.of(1, 21)).isInstanceOf(IllegalArgumentException.class);
  }
}
