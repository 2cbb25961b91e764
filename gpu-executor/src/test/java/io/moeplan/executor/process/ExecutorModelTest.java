package io.moeplan.executor.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeplan.executor.backend.LayerShape;
import io.moeplan.executor.backend.SlotLayout;
import io.moeplan.planner.placement.Placement;
import io.moeplan.schemas.LayerPlacement;
import io.moeplan.schemas.ParallelConfig;
import io.moeplan.schemas.Plan;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.SampleRecords;
import java.util.List;
import org.junit.jupiter.api.Test;

class ExecutorModelTest {

  private static final String JOB = "job";

  @Test
  void runsTheStartingPlansLayoutAndPlacementsAtThePoolsDimensions() {
    ExecutorModel model =
        ExecutorModel.of(SampleRecords.planPool(JOB), ExecutorSettings.DimOverrides.NONE);

    assertThat(model.layers()).isEqualTo(2);
    assertThat(model.shape()).isEqualTo(new LayerShape(2560, 10240, 4, 2));
    assertThat(model.layout()).isEqualTo(new SlotLayout(2, 2));
    assertThat(model.tokensPerRank()).isEqualTo(16384 / 2);
    assertThat(model.initial())
        .containsExactly(
            Placement.of(new int[] {0, 1, 2, 3}, 2, 2, 4),
            Placement.of(new int[] {3, 0, 1, 2}, 2, 2, 4));
  }

  @Test
  void dimensionOverridesReplaceThePoolsAndKeepItsPlacements() {
    ExecutorModel model =
        ExecutorModel.of(
            SampleRecords.planPool(JOB), new ExecutorSettings.DimOverrides(32, 48, 16));

    assertThat(model.shape()).isEqualTo(new LayerShape(32, 48, 4, 2));
    assertThat(model.tokensPerRank()).isEqualTo(16);
    assertThat(model.initial()[1].slotToExpert()).containsExactly(3, 0, 1, 2);
  }

  @Test
  void startsOnTheFirstPlanWhenThePoolHoldsSeveral() {
    PlanPool sample = SampleRecords.planPool(JOB);
    Plan first = sample.getPlans().get(0);
    Plan wider =
        Plan.newBuilder(first)
            .setPlanId(1)
            .setParallel(
                ParallelConfig.newBuilder(first.getParallel())
                    .setEp(1)
                    .setSlotsPerWorker(4)
                    .build())
            .setLayers(
                List.of(
                    new LayerPlacement(0, List.of(3, 2, 1, 0), 0.0),
                    new LayerPlacement(1, List.of(3, 2, 1, 0), 0.0)))
            .build();
    PlanPool pool = PlanPool.newBuilder(sample).setPlans(List.of(first, wider)).build();

    ExecutorModel model = ExecutorModel.of(pool, ExecutorSettings.DimOverrides.NONE);

    assertThat(model.layout()).isEqualTo(new SlotLayout(2, 2));
    assertThat(model.initial()[0].slotToExpert()).containsExactly(0, 1, 2, 3);
  }

  @Test
  void refusesAPoolWhoseStartingPlanLeavesALayerWithoutPlacementNamingIt() {
    PlanPool sample = SampleRecords.planPool(JOB);
    Plan first = sample.getPlans().get(0);
    Plan partial = Plan.newBuilder(first).setLayers(List.of(first.getLayers().get(0))).build();
    PlanPool pool = PlanPool.newBuilder(sample).setPlans(List.of(partial)).build();

    assertThatThrownBy(() -> ExecutorModel.of(pool, ExecutorSettings.DimOverrides.NONE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("pool of job 'job', plan 0")
        .hasMessageContaining("layer 1 has no placement");
  }

  @Test
  void refusesAPlacementThatLeavesAnExpertWithoutSlotNamingPlanAndLayer() {
    PlanPool sample = SampleRecords.planPool(JOB);
    Plan first = sample.getPlans().get(0);
    Plan broken =
        Plan.newBuilder(first)
            .setLayers(
                List.of(first.getLayers().get(0), new LayerPlacement(1, List.of(0, 0, 1, 2), 0.0)))
            .build();
    PlanPool pool = PlanPool.newBuilder(sample).setPlans(List.of(broken)).build();

    assertThatThrownBy(() -> ExecutorModel.of(pool, ExecutorSettings.DimOverrides.NONE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("plan 0, layer 1")
        .hasMessageContaining("expert 3 has no slot");
  }
}
