package io.moeplan.poolloader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.pool.PoolOptions;
import io.moeplan.planner.pool.PoolSearch;
import io.moeplan.planner.pool.ProgressListener;
import io.moeplan.planner.pool.StartLayout;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.schemas.PlanPool;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class PoolRecordsTest {

  private static final ClusterSpec CLUSTER =
      new ClusterSpec(1, 4, 7.1e14, 3e11, 4e10, 30e-6, 80_000_000_000L, 6e-4);
  private static final ModelSpec MODEL = new ModelSpec(2, 8, 2, 256, 1024, 2, 12, 4096);

  private static Pool pool;

  @BeforeAll
  static void searchASmallPool() {
    pool = new PoolSearch(CLUSTER, MODEL, PoolOptions.defaults()).search(ProgressListener.NONE);
  }

  @Test
  void aRecordReadsBackAsThePoolItWasWrittenFrom() {
    Pool read = PoolRecords.fromRecord(PoolRecords.toRecord(pool, "job-7", Instant.EPOCH, "t"));

    assertThat(read.poolVersion()).isEqualTo(pool.poolVersion());
    assertThat(read.cluster()).isEqualTo(pool.cluster());
    assertThat(read.model()).isEqualTo(pool.model());
    assertThat(read.loadSource()).isEqualTo(pool.loadSource());
    assertThat(read.searchMillis()).isEqualTo(pool.searchMillis());
    assertThat(read.plans()).hasSameSizeAs(pool.plans());
    for (int i = 0; i < pool.plans().size(); i++) {
      var written = pool.plans().get(i);
      var plan = read.plans().get(i);
      assertThat(plan.planId()).isEqualTo(written.planId());
      assertThat(plan.parallel()).isEqualTo(written.parallel());
      assertThat(plan.predictedIterationSeconds()).isEqualTo(written.predictedIterationSeconds());
      assertThat(plan.layers()).isEqualTo(written.layers());
    }
    assertThat(read.startLayout()).isEqualTo(pool.startLayout());
  }

  @Test
  void aSearchedPoolStartsJobsOnTheContiguousLayoutUnderItsFirstPlansConfig() {
    Pool read = PoolRecords.fromRecord(PoolRecords.toRecord(pool, "job-7", Instant.EPOCH, "t"));
    ParallelConfig parallel = pool.plans().get(0).parallel();
    Placement contiguous =
        Placement.staticLayout(parallel.ep(), parallel.slotsPerWorker(), MODEL.expertCount());

    assertThat(read.startingPlan().planId()).isEqualTo(pool.plans().get(0).planId());
    assertThat(read.startLayout().source()).isEqualTo(StartLayout.CONTIGUOUS);
    for (int layer = 0; layer < MODEL.moeLayers(); layer++) {
      assertThat(read.startingPlacement(layer)).isEqualTo(contiguous);
    }
  }

  @Test
  void aRecordWithoutStartLayoutStartsOnTheFirstPlansPlacements() {
    PlanPool record = PoolRecords.toRecord(pool, "job-7", Instant.EPOCH, "t");
    record.setStartLayout(null);
    record.setStartLayoutSource(null);

    Pool read = PoolRecords.fromRecord(record);

    assertThat(read.startLayout()).isNull();
    for (int layer = 0; layer < MODEL.moeLayers(); layer++) {
      assertThat(read.startingPlacement(layer))
          .isEqualTo(pool.plans().get(0).layers().get(layer).placement());
    }
  }

  @Test
  void aStartLayoutGivenByTheUserTravelsWithThePool() {
    ParallelConfig parallel = pool.plans().get(0).parallel();
    int slots = parallel.ep() * parallel.slotsPerWorker();
    StringBuilder reversed = new StringBuilder();
    for (int s = 0; s < slots; s++) {
      reversed.append(s == 0 ? "" : ",").append((slots - 1 - s) % MODEL.expertCount());
    }
    StartLayout layout =
        StartLayout.parse("mine.txt", List.of("# reversed", reversed.toString()), parallel, MODEL);

    Pool read =
        PoolRecords.fromRecord(
            PoolRecords.toRecord(pool.withStartLayout(layout), "job-7", Instant.EPOCH, "t"));

    assertThat(read.startLayout()).isEqualTo(layout);
    assertThat(read.startLayout().source()).isEqualTo("mine.txt");
    assertThat(read.startingPlacement(1).slotToExpert()[0]).isEqualTo((slots - 1) % 8);
  }

  @Test
  void refusesAStartLayoutThatDoesNotFitTheFirstPlan() {
    PlanPool shortLayout = PoolRecords.toRecord(pool, "job-7", Instant.EPOCH, "t");
    shortLayout.setStartLayout(List.of(shortLayout.getStartLayout().get(0)));
    PlanPool badExpert = PoolRecords.toRecord(pool, "job-7", Instant.EPOCH, "t");
    List<Integer> slots = new ArrayList<>(badExpert.getStartLayout().get(1));
    slots.set(0, 42);
    badExpert.setStartLayout(List.of(badExpert.getStartLayout().get(0), slots));

    assertThatThrownBy(() -> PoolRecords.fromRecord(shortLayout))
        .hasMessageContaining("startLayout has 1 layers, the model 2");
    assertThatThrownBy(() -> PoolRecords.fromRecord(badExpert))
        .hasMessageContaining("pool of job 'job-7': startLayout[1]");
  }

  @Test
  void theStaticPoolStartsEveryLayerOnTheStaticLayout() {
    ParallelConfig parallel = new ParallelConfig(1, 1, 1, 4, 2);
    Pool read =
        PoolRecords.fromRecord(
            PoolRecords.staticPool("job", CLUSTER, MODEL, parallel, Instant.EPOCH));

    assertThat(read.plans()).hasSize(1);
    assertThat(read.startingPlan().parallel()).isEqualTo(parallel);
    for (int layer = 0; layer < MODEL.moeLayers(); layer++) {
      assertThat(read.startingPlacement(layer)).isEqualTo(Placement.staticLayout(4, 2, 8));
    }
  }

  @Test
  void refusesAPoolWithoutPlans() {
    PlanPool record = PoolRecords.toRecord(pool, "job-7", Instant.EPOCH, "t");
    record.setPlans(List.of());

    assertThatThrownBy(() -> PoolRecords.fromRecord(record))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("pool of job 'job-7' has no plans");
  }

  @Test
  void namesThePlanAndLayerOfAnInvalidPlacement() {
    PlanPool record = PoolRecords.toRecord(pool, "job-7", Instant.EPOCH, "t");
    var layer = record.getPlans().get(0).getLayers().get(1);
    List<Integer> slots = new ArrayList<>(layer.getSlotToExpert());
    slots.set(0, 99);
    layer.setSlotToExpert(slots);

    assertThatThrownBy(() -> PoolRecords.fromRecord(record))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("pool of job 'job-7', plan " + pool.plans().get(0).planId())
        .hasMessageContaining("layer 1: slotToExpert");
  }

  @Test
  void refusesAPlanThatMissesOrRepeatsALayer() {
    PlanPool missing = PoolRecords.toRecord(pool, "job-7", Instant.EPOCH, "t");
    missing.getPlans().get(0).setLayers(List.of(missing.getPlans().get(0).getLayers().get(0)));
    PlanPool repeated = PoolRecords.toRecord(pool, "job-7", Instant.EPOCH, "t");
    var first = repeated.getPlans().get(0).getLayers().get(0);
    repeated.getPlans().get(0).setLayers(List.of(first, first));
    PlanPool outside = PoolRecords.toRecord(pool, "job-7", Instant.EPOCH, "t");
    outside.getPlans().get(0).getLayers().get(1).setLayer(5);

    assertThatThrownBy(() -> PoolRecords.fromRecord(missing))
        .hasMessageContaining("layer 1 has no placement");
    assertThatThrownBy(() -> PoolRecords.fromRecord(repeated))
        .hasMessageContaining("layer 0 is placed twice");
    assertThatThrownBy(() -> PoolRecords.fromRecord(outside))
        .hasMessageContaining("layer 5 is outside the model's 0..1");
  }

  @Test
  void namesAnInvalidSpec() {
    PlanPool record = PoolRecords.toRecord(pool, "job-7", Instant.EPOCH, "t");
    record.getModel().setExpertCount(0);

    assertThatThrownBy(() -> PoolRecords.fromRecord(record))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("pool of job 'job-7': ");
  }
}
