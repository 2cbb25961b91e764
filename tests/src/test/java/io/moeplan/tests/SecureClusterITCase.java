package io.moeplan.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeplan.launcher.cluster.ClusterSettings;
import io.moeplan.launcher.cluster.LocalCluster;
import io.moeplan.launcher.kafka.KafkaSecurity;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.Topics;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code moeplan cluster up --secure}: the broker process runs SASL_SSL with ACLs, the job on the
 * Flink processes and the executor process connect with their own client files and the loop
 * decides; a client without credentials is refused; neither {@code cluster status} nor any log or
 * output file of any process holds a password.
 */
class SecureClusterITCase {

  @TempDir static Path state;

  private static LocalCluster cluster;
  private static String bootstrap;
  private static String upOutput;

  @BeforeAll
  static void startCluster() throws Exception {
    ClusterSettings settings =
        ClusterProcesses.settings(state)
            .taskManagers(1)
            .slotsPerTaskManager(2)
            .parallelism(2)
            .pool(new ClusterSettings.PoolSettings("secure", 4))
            .executors(1)
            .jobArguments(List.of("--window-iterations", "4"))
            .secure(true)
            .build();
    bootstrap = "localhost:" + settings.kafkaPort();
    cluster = new LocalCluster(state);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    cluster.up(settings, new PrintStream(out, true, StandardCharsets.UTF_8));
    upOutput = out.toString(StandardCharsets.UTF_8);
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (cluster != null) {
      cluster.down();
    }
  }

  @Test
  void securedLoopDecidesAndKeepsEverySecretOutOfStatusLogsAndOutput() throws Exception {
    Properties tenant = cluster.clientProperties(bootstrap, KafkaSecurity.DEFAULT_TENANT);
    assertThat(tenant.getProperty("security.protocol")).isEqualTo("SASL_SSL");
    List<PlanDecision> decisions =
        new KafkaIo(tenant).readAtLeast(Topics.PLAN_DECISIONS.name(), Topics.PLAN_DECISIONS, 4);
    assertThat(decisions).hasSizeGreaterThanOrEqualTo(4);
    assertThat(decisions).extracting(PlanDecision::getJobId).containsOnly("secure");

    Properties anonymous = new Properties();
    anonymous.put("bootstrap.servers", bootstrap);
    anonymous.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
    assertThatThrownBy(
            () -> {
              try (KafkaConsumer<byte[], byte[]> consumer =
                  new KafkaConsumer<>(
                      anonymous, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                consumer.partitionsFor(Topics.PLAN_DECISIONS.name());
              }
            })
        .isInstanceOf(org.apache.kafka.common.errors.TimeoutException.class);

    ByteArrayOutputStream status = new ByteArrayOutputStream();
    cluster.status().print(new PrintStream(status, true, StandardCharsets.UTF_8));
    String statusText = status.toString(StandardCharsets.UTF_8);
    assertThat(statusText).contains("secured: SASL_SSL, SCRAM-SHA-512, ACLs");
    assertThat(upOutput).contains("(SASL_SSL, SCRAM-SHA-512, ACLs;");

    List<String> secrets = secrets();
    assertThat(secrets).hasSizeGreaterThanOrEqualTo(5);
    List<Path> scanned = new ArrayList<>();
    try (Stream<Path> files = Files.walk(state.resolve("logs"))) {
      files.filter(Files::isRegularFile).forEach(scanned::add);
    }
    assertThat(scanned).hasSizeGreaterThanOrEqualTo(4);
    List<String> texts = new ArrayList<>(List.of(statusText, upOutput));
    for (Path file : scanned) {
      texts.add(Files.readString(file, StandardCharsets.ISO_8859_1));
    }
    for (String text : texts) {
      for (String secret : secrets) {
        assertThat(text).doesNotContain(secret);
      }
    }
  }

  /** Every password and the keystore password of the cluster. */
  private static List<String> secrets() throws Exception {
    Properties secrets = new Properties();
    try (InputStream in = Files.newInputStream(state.resolve("security/secrets.properties"))) {
      secrets.load(in);
    }
    return secrets.stringPropertyNames().stream().map(secrets::getProperty).toList();
  }
}
