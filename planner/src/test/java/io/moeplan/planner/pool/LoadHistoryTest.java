package io.moeplan.planner.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.trace.TraceSample;
import java.util.List;
import org.junit.jupiter.api.Test;

class LoadHistoryTest {
  private static final LoadMatrix ONE_BY_TWO = LoadMatrix.of(new double[][] {{1, 2}});

  @Test
  void refusesLayersWithDifferentSampleCountsNamingTheLayer() {
    assertThatThrownBy(
            () ->
                new LoadHistory(List.of(List.of(ONE_BY_TWO), List.of(ONE_BY_TWO, ONE_BY_TWO)), "t"))
        .hasMessage("layer 1 has 2 samples, layer 0 has 1");
  }

  @Test
  void refusesSamplesOfAnotherShapeNamingTheSample() {
    LoadMatrix twoByTwo = LoadMatrix.of(new double[][] {{1, 2}, {3, 4}});

    assertThatThrownBy(() -> new LoadHistory(List.of(List.of(ONE_BY_TWO, twoByTwo)), "t"))
        .hasMessage("sample 1 of layer 0 is 2x2, expected 1x2");
  }

  @Test
  void turnsIterationMajorTraceSamplesIntoLayersAndDropsRowsWithoutARank() {
    // a reader opened with 3 workers on a 2-rank trace leaves row 2 empty
    LoadMatrix layer0 = LoadMatrix.of(new double[][] {{1, 2}, {3, 4}, {0, 0}});
    LoadMatrix layer1 = LoadMatrix.of(new double[][] {{5, 6}, {7, 8}, {0, 0}});
    TraceSample first = new TraceSample(1, 0, List.of(layer0, layer1), 2);
    TraceSample second = new TraceSample(11, 0, List.of(layer1, layer0), 2);

    LoadHistory history = LoadHistory.fromSamples(List.of(first, second), "trace");

    assertThat(history.layerCount()).isEqualTo(2);
    assertThat(history.sampleCount()).isEqualTo(2);
    assertThat(history.sources()).isEqualTo(2);
    assertThat(history.sample(1, 0).tokens(1, 0)).isEqualTo(7.0);
    assertThat(history.sample(1, 1).tokens(0, 1)).isEqualTo(2.0);
    assertThat(history.source()).isEqualTo("trace");
  }
}
