package io.moeplan.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class KeysTest {

  @Test
  void rankKeyFormatsAndParsesTheWireKey() {
    RankKey key = new RankKey("job-a", 7);

    assertThat(key.toString()).isEqualTo("job-a/7").isEqualTo(Topics.expertLoadKey("job-a", 7));
    assertThat(RankKey.parse("job-a/7")).isEqualTo(key);
    assertThat(RankKey.jobIdOf("job-a/7")).isEqualTo("job-a");
  }

  @Test
  void layerKeyFormatsAndParsesTheWireKeyAndDecisionIds() {
    LayerKey key = new LayerKey("job.b", 11);

    assertThat(key.toString()).isEqualTo("job.b/11").isEqualTo(Topics.planDecisionKey("job.b", 11));
    assertThat(LayerKey.parse("job.b/11")).isEqualTo(key);
    assertThat(key.decisionId(42))
        .isEqualTo("job.b/11/42")
        .isEqualTo(Topics.decisionId("job.b", 11, 42));
  }

  @Test
  void decisionIdsOfTheDefaultEpochStayAsTheyWereAndOtherEpochsGetTheirOwn() {
    LayerKey key = new LayerKey("job.b", 11);

    assertThat(key.decisionId(42, null, 0)).isEqualTo("job.b/11/42").isEqualTo(key.decisionId(42));
    assertThat(key.decisionId(42, "run-2", 0))
        .isEqualTo("job.b/11/42@run-2.0")
        .isEqualTo(Topics.decisionId("job.b", 11, 42, "run-2", 0));
    assertThat(key.decisionId(42, "run-2", 1)).isEqualTo("job.b/11/42@run-2.1");
    assertThat(key.decisionId(42, null, 1)).isEqualTo("job.b/11/42@.1");
    assertThat(
            java.util.Set.of(
                key.decisionId(42),
                key.decisionId(42, "r", 0),
                key.decisionId(42, "r", 1),
                key.decisionId(42, null, 1),
                key.decisionId(42, "s", 1)))
        .hasSize(5);
    assertThatThrownBy(() -> key.decisionId(42, "a/b", 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("run id");
    assertThatThrownBy(() -> key.decisionId(42, " ", 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void malformedKeysAreRefusedNamingTheKey() {
    assertThatThrownBy(() -> RankKey.parse("no-slash"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'no-slash'");
    assertThatThrownBy(() -> LayerKey.parse("job/x"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("layer in key 'job/x'");
    assertThatThrownBy(() -> LayerKey.parse("job/-1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("non-negative");
    assertThatThrownBy(() -> RankKey.parse("/3")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> RankKey.parse("a/b/3"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("without '/'");
  }

  @Test
  void jobIdsMayNotBeBlankOrContainTheSeparator() {
    assertThat(JobIds.problem("training-run-1")).isNull();
    assertThat(JobIds.problem("")).contains("non-blank");
    assertThat(JobIds.problem(" ")).contains("non-blank");
    assertThat(JobIds.problem(null)).contains("non-blank");
    assertThat(JobIds.problem("a/b")).contains("'a/b'");
    assertThatThrownBy(() -> new LayerKey("a/b", 0)).hasMessageContaining("without '/'");
  }

  @Test
  void decisionWindowsMapIterationsToWindowsAndEffectiveIterations() {
    int window = 10;
    int lead = 2;

    assertThat(DecisionWindows.windowOf(0, window)).isZero();
    assertThat(DecisionWindows.windowOf(19, window)).isEqualTo(1);
    assertThat(DecisionWindows.firstIteration(3, window)).isEqualTo(30);
    assertThat(DecisionWindows.lastIteration(3, window)).isEqualTo(39);
    assertThat(DecisionWindows.endsWindow(39, window)).isTrue();
    assertThat(DecisionWindows.endsWindow(40, window)).isFalse();
    assertThat(DecisionWindows.effectiveIteration(3, window, lead)).isEqualTo(41);
    for (long iteration = 0; iteration < 200; iteration++) {
      long due = DecisionWindows.windowEffectiveAt(iteration, window, lead);
      if (due >= 0) {
        assertThat(DecisionWindows.effectiveIteration(due, window, lead)).isEqualTo(iteration);
      } else {
        assertThat((iteration - lead + 1) % window != 0 || iteration - lead + 1 < window).isTrue();
      }
    }
    assertThat(DecisionWindows.windowEffectiveAt(11, window, lead)).isZero();
    assertThat(DecisionWindows.windowEffectiveAt(10, window, lead)).isEqualTo(-1);
  }
}
