package io.moeplan.planner.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class RobustFitTest {
  private static final double[] PRIOR = {1, 1};

  @Test
  void cleanDataIsFitExactlyAndNothingIsRejected() {
    double[][] x = {{1, 0}, {1, 1}, {1, 2}, {1, 3}, {1, 4}};
    double[] y = {2, 5, 8, 11, 14};

    RobustFit.Result fit = RobustFit.fit(x, y, 5, PRIOR, 4, 3);

    assertThat(fit.coefficients()[0]).isCloseTo(2, within(1e-6));
    assertThat(fit.coefficients()[1]).isCloseTo(3, within(1e-6));
    assertThat(fit.kept()).isEqualTo(5);
    assertThat(fit.rejected()).isZero();
  }

  @Test
  void anOutlierIsRejectedAndTheRestFitExactly() {
    double[][] x = {{1, 0}, {1, 1}, {1, 2}, {1, 3}, {1, 4}, {1, 5}, {1, 6}};
    double[] y = {2, 5.01, 7.99, 11, 100, 17.02, 19.98};

    RobustFit.Result fit = RobustFit.fit(x, y, 7, PRIOR, 4, 3);

    assertThat(fit.rejected()).isEqualTo(1);
    assertThat(fit.coefficients()[0]).isCloseTo(2, within(0.05));
    assertThat(fit.coefficients()[1]).isCloseTo(3, within(0.02));
  }

  @Test
  void onlyTheFirstNRowsAreUsed() {
    double[][] x = {{1}, {2}, {3}, {1000}};
    double[] y = {2, 4, 6, -5};

    RobustFit.Result fit = RobustFit.fit(x, y, 3, new double[] {7}, 4, 3);

    assertThat(fit.coefficients()[0]).isCloseTo(2, within(1e-6));
    assertThat(fit.kept()).isEqualTo(3);
  }

  @Test
  void fewerRowsThanCoefficientsStillFit() {
    RobustFit.Result fit =
        RobustFit.fit(new double[][] {{0, 0}}, new double[] {0}, 1, new double[] {3, 4}, 4, 3);

    assertThat(fit.coefficients()[0]).isCloseTo(3, within(1e-6));
    assertThat(fit.coefficients()[1]).isCloseTo(4, within(1e-6));
    assertThat(fit.kept()).isEqualTo(1);

    RobustFit.Result one =
        RobustFit.fit(new double[][] {{1, 2}}, new double[] {5}, 1, new double[] {0, 0}, 4, 3);
    assertThat(one.coefficients()[0] + 2 * one.coefficients()[1]).isCloseTo(5, within(1e-6));
  }

  @Test
  void coefficientsAreClampedToZero() {
    double[][] x = {{1}, {2}, {3}};
    double[] y = {-1, -2, -3};

    assertThat(RobustFit.fit(x, y, 3, new double[] {1}, 4, 3).coefficients()).containsExactly(0);
  }

  @Test
  void badInputsAreRefusedByName() {
    double[][] x = {{1, 0}, {1, 1}};
    double[] y = {1, 2};
    assertThatThrownBy(() -> RobustFit.fit(x, y, 0, PRIOR, 4, 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("n >= 1");
    assertThatThrownBy(() -> RobustFit.fit(x, y, 3, PRIOR, 4, 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("x has 2 rows");
    assertThatThrownBy(() -> RobustFit.fit(x, new double[] {1}, 2, PRIOR, 4, 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("y has 1 values");
    assertThatThrownBy(() -> RobustFit.fit(x, y, 2, new double[] {1}, 4, 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("x[0] has 2 features, prior has 1");
    assertThatThrownBy(
            () -> RobustFit.fit(new double[][] {{1, 0}, {1, Double.NaN}}, y, 2, PRIOR, 4, 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("x[1][1] is not finite");
    assertThatThrownBy(
            () -> RobustFit.fit(x, new double[] {1, Double.POSITIVE_INFINITY}, 2, PRIOR, 4, 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("y[1] is not finite");
    assertThatThrownBy(() -> RobustFit.fit(x, y, 2, new double[] {1, Double.NaN}, 4, 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("prior[1] is not finite");
    assertThatThrownBy(() -> RobustFit.fit(x, y, 2, PRIOR, -1, 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("rejectMads");
    assertThatThrownBy(() -> RobustFit.fit(x, y, 2, PRIOR, 4, -1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("rounds");
  }
}
