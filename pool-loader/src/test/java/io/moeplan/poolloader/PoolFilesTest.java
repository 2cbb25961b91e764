package io.moeplan.poolloader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeplan.planner.pool.Pool;
import io.moeplan.planner.pool.PoolOptions;
import io.moeplan.planner.pool.PoolSearch;
import io.moeplan.planner.pool.ProgressListener;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.schemas.PlanPool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PoolFilesTest {

  private static Pool pool;

  @BeforeAll
  static void searchASmallPool() {
    ClusterSpec cluster = new ClusterSpec(1, 4, 7.1e14, 3e11, 4e10, 30e-6, 80_000_000_000L, 6e-4);
    ModelSpec model = new ModelSpec(2, 8, 2, 256, 1024, 2, 12, 4096);
    pool = new PoolSearch(cluster, model, PoolOptions.defaults()).search(ProgressListener.NONE);
  }

  @Test
  void recordCarriesEveryPlanWithItsPlacementsAndPredictions() {
    PlanPool record = PoolRecords.toRecord(pool, "job-7", Instant.EPOCH, "test");

    assertThat(record.getJobId()).isEqualTo("job-7");
    assertThat(record.getPoolVersion()).isEqualTo(pool.poolVersion());
    assertThat(record.getPlans()).hasSize(pool.plans().size());
    for (int i = 0; i < pool.plans().size(); i++) {
      var plan = pool.plans().get(i);
      var written = record.getPlans().get(i);
      assertThat(written.getPlanId()).isEqualTo(plan.planId());
      assertThat(written.getParallel().getEp()).isEqualTo(plan.parallel().ep());
      assertThat(written.getPredictedIterationSeconds())
          .isEqualTo(plan.predictedIterationSeconds());
      for (int l = 0; l < plan.layers().size(); l++) {
        int[] slots = plan.layers().get(l).placement().slotToExpert();
        assertThat(written.getLayers().get(l).getSlotToExpert())
            .containsExactly(java.util.Arrays.stream(slots).boxed().toArray(Integer[]::new));
      }
    }
    assertThat(record.getModel().getExpertCount()).isEqualTo(8);
    assertThat(record.getCluster().getGpusPerNode()).isEqualTo(4);
    assertThat(record.getBuild().getLoadSource()).isEqualTo(pool.loadSource());
  }

  @Test
  void refusesAJobIdThatCannotBeAKey() {
    assertThatThrownBy(() -> PoolRecords.toRecord(pool, "a/b", Instant.EPOCH, "test"))
        .hasMessageContaining("job id");
  }

  @Test
  void writesAndReadsPoolFiles(@TempDir Path directory) throws Exception {
    PlanPool record = PoolRecords.toRecord(pool, "job-7", Instant.EPOCH, "test");
    Path file = directory.resolve("nested/pool.bin");

    PoolFiles.write(record, file);

    assertThat(PoolFiles.read(file)).isEqualTo(record);
  }

  @Test
  void namesTheFileWhenItIsMissingOrNotAPool(@TempDir Path directory) throws Exception {
    Path missing = directory.resolve("missing.pool");
    Path garbage = Files.writeString(directory.resolve("garbage.pool"), "cluster: {}\n");

    assertThatThrownBy(() -> PoolFiles.read(missing))
        .hasMessageContaining("missing.pool")
        .hasMessageContaining("no such pool file");
    assertThatThrownBy(() -> PoolFiles.read(garbage))
        .hasMessageContaining("garbage.pool: not a plan pool")
        .hasMessageContaining("C3 01");
  }
}
