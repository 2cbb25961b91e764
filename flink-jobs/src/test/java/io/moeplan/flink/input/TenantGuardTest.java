package io.moeplan.flink.input;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.schemas.SampleRecords;
import io.moeplan.schemas.Topics;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TenantGuardTest {

  private static final Map<String, String> LOAD_TOPICS =
      Map.of("A.moe.expert-load", "A", "B.moe.expert-load", "B");

  @Test
  void letsThroughTheTenantsOwnJobs() {
    TenantGuard guard = new TenantGuard(TenantGuard.Input.LOADS, LOAD_TOPICS);

    assertThat(guard.problem(load("A.moe.expert-load", "A.train", "A.train"))).isNull();
    assertThat(guard.problem(load("B.moe.expert-load", "B.train", "B.train"))).isNull();
  }

  @Test
  void refusesAnotherTenantsJobNamingBoth() {
    TenantGuard guard = new TenantGuard(TenantGuard.Input.LOADS, LOAD_TOPICS);

    assertThat(guard.problem(load("A.moe.expert-load", "B.train", "B.train")))
        .isEqualTo(
            "jobId 'B.train' belongs to tenant 'B', not to tenant 'A' of topic"
                + " 'A.moe.expert-load': job ids in the topics of tenant 'A' must start with 'A.'");
    assertThat(guard.problem(load("A.moe.expert-load", "train", "train")))
        .startsWith("jobId 'train' belongs to no tenant, not to tenant 'A'");
    // "AB.x" is not a job of "A": the prefix ends at the dot
    assertThat(guard.problem(load("A.moe.expert-load", "AB.train", "AB.train"))).isNotNull();
  }

  @Test
  void readsTheJobFromTheValueWhenTheKeyTellsNothing() {
    TenantGuard guard = new TenantGuard(TenantGuard.Input.LOADS, LOAD_TOPICS);

    assertThat(guard.problem(load("A.moe.expert-load", null, "B.train"))).contains("'B.train'");
    // a key that does not match the value is dead-lettered downstream for that mismatch
    assertThat(guard.problem(load("A.moe.expert-load", "nonsense", "A.train"))).isNull();
    RawRecord garbage =
        new RawRecord("A.moe.expert-load", 0, 1, null, new byte[] {1, 2, 3}, 1_000L);
    assertThat(guard.problem(garbage)).isNull();
  }

  @Test
  void checksPoolsAndWorkerTimesByTheirJob() {
    TenantGuard pools = new TenantGuard(TenantGuard.Input.POOLS, Map.of("A.moe.plan-pool", "A"));
    RawRecord foreignPool =
        new RawRecord(
            "A.moe.plan-pool",
            0,
            0,
            "A.train".getBytes(StandardCharsets.UTF_8),
            Topics.PLAN_POOL.valueCodec().encode(SampleRecords.planPool("B.train")),
            1_000L);
    assertThat(pools.problem(foreignPool)).contains("'B.train'", "tenant 'A'");

    TenantGuard times =
        new TenantGuard(TenantGuard.Input.WORKER_TIMES, Map.of("A.moe.worker-times", "A"));
    RawRecord foreignTimes =
        new RawRecord(
            "A.moe.worker-times",
            0,
            0,
            null,
            Topics.WORKER_TIMES.valueCodec().encode(SampleRecords.workerTimes("B.train")),
            1_000L);
    assertThat(times.problem(foreignTimes)).contains("'B.train'");
    assertThat(times.problem(new RawRecord("C.moe.worker-times", 0, 0, null, null, 0)))
        .contains("belongs to no tenant of the job");
  }

  private static RawRecord load(String topic, String keyJob, String valueJob) {
    RawRecord record = Loads.raw(SampleRecords.expertLoad(valueJob, 1, 10));
    record.topic = topic;
    if (keyJob == null) {
      record.key = null;
    } else if (!keyJob.equals(valueJob)) {
      record.key = keyJob.getBytes(StandardCharsets.UTF_8);
    } else {
      record.key = Topics.expertLoadKey(keyJob, 1).getBytes(StandardCharsets.UTF_8);
    }
    return record;
  }
}
