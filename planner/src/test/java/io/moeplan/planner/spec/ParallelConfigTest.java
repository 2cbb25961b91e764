package io.moeplan.planner.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ParallelConfigTest {

  @Test
  void pipelineStagesHoldContiguousBlocksOfLayersAndRanks() {
    ParallelConfig twoStages = new ParallelConfig(1, 2, 8, 8, 4);

    assertThat(twoStages.layersPerStage(12)).isEqualTo(6);
    assertThat(twoStages.stageOfLayer(5, 12)).isZero();
    assertThat(twoStages.stageOfLayer(6, 12)).isEqualTo(1);
    assertThat(twoStages.ranksPerStage(16)).isEqualTo(8);
    assertThat(twoStages.stageOfRank(7, 16)).isZero();
    assertThat(twoStages.stageOfRank(8, 16)).isEqualTo(1);
  }

  @Test
  void anUnevenLayerCountLeavesTheLastStageShort() {
    ParallelConfig threeStages = new ParallelConfig(1, 3, 1, 1, 4);

    assertThat(threeStages.layersPerStage(7)).isEqualTo(3);
    assertThat(threeStages.stageOfLayer(6, 7)).isEqualTo(2);
  }

  @Test
  void withoutPipelineEveryRankHostsEveryLayer() {
    ParallelConfig flat = ParallelConfig.expertParallel(8, 4);

    assertThat(flat.stageOfLayer(11, 12)).isZero();
    assertThat(flat.stageOfRank(15, 16)).isZero();
    assertThat(flat.ranksPerStage(16)).isEqualTo(16);
  }

  @Test
  void aWorldSizeThatDoesNotSplitIntoTheStagesIsRefused() {
    assertThatThrownBy(() -> new ParallelConfig(1, 2, 4, 4, 2).ranksPerStage(7))
        .hasMessage("a job of 7 ranks cannot run 2 pipeline stages");
  }
}
