package io.moeplan.flink.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.schemas.DeadLetter;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.SampleRecords;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/**
 * Output records of no listed tenant (only possible with state restored from another tenant list)
 * are counted and kept from the sink, which then never meets a record it cannot place.
 */
class TenantRouterTest {

  private static final PlanSelectorConfig TENANTS_A_B =
      PlanSelectorConfig.fromArgs("--topic-prefix", "A,B");

  @Test
  void decisionsGoToTheListedTenantTheirJobNames() {
    RegistrySerializer.TopicOf<PlanDecision> topicOf =
        PlanSelectorJob.byJob(TENANTS_A_B, "moe.plan-decisions", PlanDecision::getJobId);

    assertThat(topicOf.apply(SampleRecords.planDecision("A.train", 1)))
        .isEqualTo("A.moe.plan-decisions");
    assertThat(topicOf.apply(SampleRecords.planDecision("B.train", 1)))
        .isEqualTo("B.moe.plan-decisions");
    // a tenant not (or no longer) listed, and a job of the plain topics
    assertThat(topicOf.apply(SampleRecords.planDecision("C.train", 1))).isNull();
    assertThat(topicOf.apply(SampleRecords.planDecision("local", 1))).isNull();
  }

  @Test
  void deadLettersGoToTheTenantOfTheirSourceTopic() {
    RegistrySerializer.TopicOf<DeadLetter> topicOf = PlanSelectorJob.bySourceTopic(TENANTS_A_B);
    DeadLetter letter = SampleRecords.deadLetter();

    letter.setSourceTopic("B.moe.worker-times");
    assertThat(topicOf.apply(letter)).isEqualTo("B.moe.expert-load.dlq");
    letter.setSourceTopic("moe.expert-load");
    assertThat(topicOf.apply(letter)).isNull();
  }

  @Test
  void aRecordOfNoListedTenantIsCountedAndNotPassedOn() throws Exception {
    TenantRouter<PlanDecision> router =
        new TenantRouter<>(
            PlanSelectorJob.byJob(TENANTS_A_B, "moe.plan-decisions", PlanDecision::getJobId),
            "decisions");
    try (OneInputStreamOperatorTestHarness<PlanDecision, PlanDecision> harness =
        new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(router))) {
      harness.open();

      harness.processElement(SampleRecords.planDecision("A.train", 1), 1);
      harness.processElement(SampleRecords.planDecision("C.train", 1), 2);
      harness.processElement(SampleRecords.planDecision("local", 1), 3);

      assertThat(harness.extractOutputValues())
          .extracting(d -> d.getJobId().toString())
          .containsExactly("A.train");
      assertThat(router.unroutable()).isEqualTo(2);
    }
  }
}
