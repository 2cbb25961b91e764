package io.moeplan.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TopicsTest {

  @Test
  void registersEveryTopicOnceWithItsCleanupPolicy() {
    assertThat(Topics.ALL)
        .extracting(Topic::name)
        .containsExactly(
            "moe.expert-load",
            "moe.plan-pool",
            "moe.plan-decisions",
            "moe.expert-load.dlq",
            "moe.worker-times",
            "moe.model-fit");
    assertThat(Topics.ALL)
        .filteredOn(Topic::compacted)
        .extracting(Topic::name)
        .containsExactly("moe.plan-pool", "moe.plan-decisions", "moe.model-fit");
    assertThat(Topics.PLAN_POOL.cleanupPolicy()).isEqualTo("compact");
    assertThat(Topics.EXPERT_LOAD.cleanupPolicy()).isEqualTo("delete");
  }

  @Test
  void registryCannotBeModified() {
    assertThatThrownBy(() -> Topics.ALL.add(Topics.EXPERT_LOAD))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void findsTopicsByName() {
    assertThat(Topics.byName("moe.plan-decisions")).contains(Topics.PLAN_DECISIONS);
    assertThat(Topics.byName("moe.unknown")).isEmpty();
  }

  @Test
  void buildsKeysAndDeterministicDecisionIds() {
    assertThat(Topics.expertLoadKey("job", 7)).isEqualTo("job/7");
    assertThat(Topics.planDecisionKey("job", 3)).isEqualTo("job/3");
    assertThat(Topics.decisionId("job", 3, 12)).isEqualTo("job/3/12");
    assertThat(Topics.deadLetterKey("moe.expert-load", 1, 42)).isEqualTo("moe.expert-load/1/42");
  }
}
