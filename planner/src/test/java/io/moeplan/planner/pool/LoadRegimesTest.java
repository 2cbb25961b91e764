package io.moeplan.planner.pool;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.planner.placement.LoadMatrix;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LoadRegimesTest {

  /** One layer, one source: the load of each sample leans to expert 0 or to expert 1. */
  private static LoadHistory leaning(double... shareOfExpertZero) {
    List<LoadMatrix> samples = new ArrayList<>();
    for (double s : shareOfExpertZero) {
      samples.add(LoadMatrix.of(new double[][] {{100 * s, 100 * (1 - s)}}));
    }
    return new LoadHistory(List.of(samples), "test");
  }

  @Test
  void separatesTwoLoadRegimesAndAveragesEach() {
    LoadHistory history = leaning(0.9, 0.1, 0.8, 0.2, 0.9, 0.1);

    List<LoadRegimes.Regime> regimes = LoadRegimes.find(history, 2);

    assertThat(regimes).hasSize(2);
    assertThat(regimes.get(0).samples()).containsExactly(0, 2, 4);
    assertThat(regimes.get(1).samples()).containsExactly(1, 3, 5);
    assertThat(regimes.get(0).weight()).isEqualTo(0.5);
    LoadMatrix mean = regimes.get(0).meanByLayer().get(0);
    assertThat(mean.tokens(0, 0)).isCloseTo(260.0 / 3, org.assertj.core.data.Offset.offset(1e-9));
  }

  @Test
  void neverMakesMoreRegimesThanDistinctLoads() {
    LoadHistory history = leaning(0.7, 0.7, 0.7);

    List<LoadRegimes.Regime> regimes = LoadRegimes.find(history, 4);

    assertThat(regimes).hasSize(1);
    assertThat(regimes.get(0).samples()).containsExactly(0, 1, 2);
    assertThat(regimes.get(0).weight()).isEqualTo(1.0);
  }
}
