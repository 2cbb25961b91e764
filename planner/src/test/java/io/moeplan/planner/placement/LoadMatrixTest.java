package io.moeplan.planner.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LoadMatrixTest {

  @Test
  void totalsAreComputedOnce() {
    LoadMatrix load = LoadMatrix.of(new long[][] {{1, 2, 3}, {4, 5, 6}});

    assertThat(load.expertTotals()).containsExactly(5, 7, 9);
    assertThat(load.sourceTotal(1)).isEqualTo(15);
    assertThat(load.total()).isEqualTo(21);
    assertThat(load.tokens(1, 2)).isEqualTo(6);
  }

  @Test
  void groupedTotalsSumConsecutiveSources() {
    LoadMatrix load = LoadMatrix.of(new long[][] {{1, 2}, {3, 4}, {5, 6}});

    assertThat(load.groupedExpertTotals(2, 2)).containsExactly(4, 6, 5, 6);
  }

  @Test
  void raggedAndNegativeInputsAreRefused() {
    assertThatThrownBy(() -> LoadMatrix.of(new double[][] {{1, 2}, {3}}))
        .hasMessage("load row 1 has 1 experts, row 0 has 2");
    assertThatThrownBy(() -> LoadMatrix.of(new double[][] {{1, -2}}))
        .hasMessageContaining("must be finite and >= 0, got -2.0");
  }

  @Test
  void blendMixesTwoEstimates() {
    LoadMatrix a = LoadMatrix.of(new double[][] {{10, 0}});
    LoadMatrix b = LoadMatrix.of(new double[][] {{0, 10}});

    assertThat(a.blend(0.25, b, 0.75).toFlatArray()).containsExactly(2.5, 7.5);
  }
}
