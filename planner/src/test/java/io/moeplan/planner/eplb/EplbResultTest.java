package io.moeplan.planner.eplb;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class EplbResultTest {

  private static EplbResult result(int lastPhysical) {
    return new EplbResult(
        new int[][] {{0, lastPhysical}}, new int[][][] {{{0, 1}, {-1, -1}}}, new int[][] {{2, 0}});
  }

  @Test
  void resultsWithTheSameValuesAreEqual() {
    assertThat(result(0)).isEqualTo(result(0)).hasSameHashCodeAs(result(0));
    assertThat(result(0)).isNotEqualTo(result(1));
  }

  @Test
  void printsTheArrayContents() {
    assertThat(result(0).toString())
        .isEqualTo("EplbResult[phy2log=[[0, 0]], log2phy=[[[0, 1], [-1, -1]]], logcnt=[[2, 0]]]");
  }
}
