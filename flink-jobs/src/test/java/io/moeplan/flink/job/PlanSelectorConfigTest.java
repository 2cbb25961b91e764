package io.moeplan.flink.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeplan.planner.selector.SelectorOptions;
import io.moeplan.schemas.DecisionWindows;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.flink.configuration.ConfigOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlanSelectorConfigTest {

  @Test
  void defaultsAreUsable() {
    PlanSelectorConfig config = PlanSelectorConfig.defaults();

    assertThat(config.windowIterations()).isEqualTo(DecisionWindows.DEFAULT_WINDOW_ITERATIONS);
    assertThat(config.leadIterations()).isEqualTo(DecisionWindows.DEFAULT_LEAD_ITERATIONS);
    assertThat(config.selectorOptions().horizonIterations())
        .isEqualTo(SelectorOptions.DEFAULT_HORIZON_WINDOWS * 10.0);
    assertThat(config.expertLoadTopic()).isEqualTo("moe.expert-load");
    assertThat(config.checkpointDir()).isEmpty();
  }

  @Test
  void takesTheWindowFlagsEveryCommandTakes() {
    PlanSelectorConfig config =
        PlanSelectorConfig.fromArgs(
            DecisionWindows.WINDOW_ITERATIONS_FLAG,
            "20",
            DecisionWindows.LEAD_ITERATIONS_FLAG,
            "3");

    assertThat(config.windowIterations()).isEqualTo(20);
    assertThat(config.leadIterations()).isEqualTo(3);
  }

  @Test
  void theFlinkConfigurationCarriesTheJobsSettingsUnderFlinksKeys() {
    PlanSelectorConfig config =
        PlanSelectorConfig.fromArgs(
            "--checkpoint-interval", "7 s",
            "--checkpoint-dir", "file:///tmp/ck",
            "--buffer-timeout", "5 ms",
            "--parallelism", "3");

    assertThat(PlanSelectorJob.flinkConfiguration(config).toMap())
        .containsEntry("state.backend.type", "rocksdb")
        .containsEntry("execution.checkpointing.incremental", "true")
        .containsEntry("execution.checkpointing.interval", "7 s")
        .containsEntry("execution.checkpointing.storage", "filesystem")
        .containsEntry("execution.checkpointing.dir", "file:///tmp/ck")
        .containsEntry("execution.buffer-timeout.interval", "5 ms")
        .containsEntry("parallelism.default", "3")
        .containsEntry("pipeline.object-reuse", "true")
        .containsEntry("pipeline.name", PlanSelectorJob.JOB_NAME);
  }

  @Test
  void parsesBothArgumentForms() {
    PlanSelectorConfig config =
        PlanSelectorConfig.fromArgs(
            "--window-iterations", "4", "--window-timeout=5 s", "--margin", "0.25");

    assertThat(config.windowIterations()).isEqualTo(4);
    assertThat(config.windowTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(config.margin()).isEqualTo(0.25);
    assertThat(config.selectorOptions().horizonIterations())
        .isEqualTo(SelectorOptions.DEFAULT_HORIZON_WINDOWS * 4.0);
    assertThat(config.selectorOptions().margin()).isEqualTo(0.25);
    assertThat(
            PlanSelectorConfig.fromArgs("--horizon-iterations", "7")
                .selectorOptions()
                .horizonIterations())
        .isEqualTo(7.0);
  }

  @Test
  void passesKafkaClientSettingsThrough() {
    PlanSelectorConfig config =
        PlanSelectorConfig.fromArgs(
            "--kafka.security.protocol", "SASL_SSL", "--kafka.sasl.mechanism=PLAIN");

    assertThat(config.kafkaProperties())
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("sasl.mechanism", "PLAIN")
        .hasSize(2);
    assertThat(PlanSelectorConfig.usage()).contains("--kafka.<setting>");
  }

  @Test
  void readsAKafkaConfigFileAndNeverShowsItsSecrets(@TempDir Path directory) throws Exception {
    Path file = directory.resolve("moeplan-job.properties");
    Files.writeString(
        file,
        "bootstrap.servers=broker:9093\n"
            + "security.protocol=SASL_SSL\n"
            + "sasl.jaas.config=ScramLoginModule required username=\"u\" password=\"s3cr3t\";\n"
            + "ssl.truststore.password=tru5t\n");

    PlanSelectorConfig config =
        PlanSelectorConfig.fromArgs(
            "--kafka-config", file.toString(), "--kafka.security.protocol", "SSL");

    assertThat(config.bootstrapServers()).isEqualTo("broker:9093");
    assertThat(config.kafkaProperties())
        .containsEntry("security.protocol", "SSL")
        .containsKey("sasl.jaas.config")
        .doesNotContainKey("bootstrap.servers");
    assertThat(config.toString())
        .doesNotContain("s3cr3t")
        .doesNotContain("tru5t")
        .contains("sasl.jaas.config=[hidden]", "security.protocol=SSL");
    assertThat(
            PlanSelectorConfig.fromArgs(
                    "--kafka-config", file.toString(), "--bootstrap-servers", "other:1")
                .bootstrapServers())
        .isEqualTo("other:1");
    assertThatThrownBy(
            () -> PlanSelectorConfig.fromArgs("--kafka-config", directory.resolve("no").toString()))
        .hasMessageContaining("option --kafka-config: cannot read");
  }

  @Test
  void topicPrefixesNameEachTenantsTopics() {
    PlanSelectorConfig config = PlanSelectorConfig.fromArgs("--topic-prefix", "teamA, teamB");

    assertThat(config.tenanted()).isTrue();
    assertThat(config.topicsOf(config.expertLoadTopic()))
        .containsExactly("teamA.moe.expert-load", "teamB.moe.expert-load");
    assertThat(PlanSelectorConfig.defaults().tenanted()).isFalse();
    assertThat(PlanSelectorConfig.defaults().topicsOf("moe.expert-load"))
        .containsExactly("moe.expert-load");
    assertThatThrownBy(() -> PlanSelectorConfig.fromArgs("--topic-prefix", "team.a"))
        .hasMessageContaining("option --topic-prefix: topic prefix must be")
        .hasMessageContaining("'team.a'");
    assertThatThrownBy(() -> PlanSelectorConfig.fromArgs("--topic-prefix", "a,b,a"))
        .hasMessageContaining("option --topic-prefix: topic prefix 'a' is given twice");
  }

  @Test
  void namesAnUnknownOption() {
    assertThatThrownBy(() -> PlanSelectorConfig.fromArgs("--windows", "3"))
        .hasMessageContaining("unknown option --windows");
  }

  @Test
  void namesTheOptionOfABadValue() {
    assertThatThrownBy(() -> PlanSelectorConfig.fromArgs("--window-iterations", "0"))
        .hasMessageContaining("--window-iterations must be >= 1, got 0");
    assertThatThrownBy(() -> PlanSelectorConfig.fromArgs("--lead-iterations", "soon"))
        .hasMessageContaining("--lead-iterations")
        .hasMessageContaining("soon");
    assertThatThrownBy(() -> PlanSelectorConfig.fromArgs("--margin"))
        .hasMessageContaining("--margin needs a value");
  }

  @Test
  void usageListsEveryOptionWithItsDescription() {
    String usage = PlanSelectorConfig.usage();

    for (ConfigOption<?> option : PlanSelectorOptions.ALL) {
      assertThat(usage).contains("--" + option.key());
    }
    assertThat(usage).contains("Iterations per window (the replan interval F)");
    assertThat(usage).contains("(default: 10)");
  }
}
