package io.moeplan.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.flink.job.JobMetrics;
import io.moeplan.flink.job.PlanSelectorConfig;
import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.launcher.kafka.KafkaSecurity;
import io.moeplan.schemas.DeadLetter;
import io.moeplan.schemas.DeadLetterReason;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.SampleRecords;
import io.moeplan.schemas.Topics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * One plan-selector job serving two tenants on a secured broker: it connects as its own principal
 * with the client file the broker wrote, decides for each tenant's job from that tenant's topics to
 * that tenant's decisions topic, nothing lost, and dead-letters to A's dead-letter topic a load
 * that tenant A published into its own topic under tenant B's job id. No password, keystore
 * password or CA body appears in any log line of the whole run.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SecureMultiTenantITCase {

  private static final int PARALLELISM = 2;
  private static final int WINDOW = 2;
  private static final int RANKS = 4;
  private static final long FIRST = 10;
  private static final long LAST = 15;
  private static final int DECISIONS_PER_JOB = 2 * (int) ((LAST - FIRST + 1) / WINDOW);

  @RegisterExtension
  static final MiniClusterExtension FLINK =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder()
              .setNumberTaskManagers(1)
              .setNumberSlotsPerTaskManager(PARALLELISM)
              .setConfiguration(BadInputITCase.fastMetrics())
              .build());

  private static LogCapture logs;
  private static EmbeddedKafkaBroker broker;

  @BeforeAll
  static void startBroker() {
    logs = LogCapture.start();
    broker = EmbeddedKafkaBroker.builder().secure(true).tenants(List.of("A", "B")).build().start();
  }

  @AfterAll
  static void stopBroker() {
    try {
      if (broker != null) {
        broker.close();
      }
    } finally {
      logs.close();
    }
  }

  @Test
  @Order(1)
  void decidesForEachTenantFromItsOwnTopicsAndDeadLettersForeignJobIds(@TempDir Path checkpoints)
      throws Exception {
    KafkaSecurity security = broker.security();
    PlanSelectorConfig config =
        PlanSelectorConfig.fromArgs(
            "--kafka-config",
            security.clientPropertiesFile(KafkaSecurity.JOB).toString(),
            "--topic-prefix",
            "A,B",
            "--window-iterations",
            Integer.toString(WINDOW),
            "--parallelism",
            Integer.toString(PARALLELISM),
            "--checkpoint-interval",
            "1 s",
            "--checkpoint-dir",
            checkpoints.toUri().toString());
    assertThat(config.bootstrapServers()).isEqualTo(broker.bootstrapServers());
    KafkaIo loader = new KafkaIo(broker.clientProperties(KafkaSecurity.POOL_LOADER));
    KafkaIo tenantA = new KafkaIo(broker.clientProperties(KafkaSecurity.tenantPrincipal("A")));
    KafkaIo tenantB = new KafkaIo(broker.clientProperties(KafkaSecurity.tenantPrincipal("B")));

    JobClient job = PlanSelectorJobITCase.submit(config);
    int sent = 0;
    try {
      loader.send("A.moe.plan-pool", Topics.PLAN_POOL, "A.job", SampleRecords.planPool("A.job"));
      tenantB.send("B.moe.plan-pool", Topics.PLAN_POOL, "B.job", SampleRecords.planPool("B.job"));
      for (long iteration = FIRST; iteration <= LAST; iteration++) {
        for (int rank = 0; rank < RANKS; rank++) {
          send(tenantA, "A", "A.job", rank, iteration);
          send(tenantB, "B", "B.job", rank, iteration);
          sent += 2;
        }
        if (iteration == FIRST + 1) {
          // tenant A, in its own topic, claims to be a rank of B's job
          send(tenantA, "A", "B.job", 0, iteration + 1);
          sent++;
        }
      }

      List<PlanDecision> decisionsA =
          tenantA.readAtLeast("A.moe.plan-decisions", Topics.PLAN_DECISIONS, DECISIONS_PER_JOB);
      List<PlanDecision> decisionsB =
          tenantB.readAtLeast("B.moe.plan-decisions", Topics.PLAN_DECISIONS, DECISIONS_PER_JOB);
      List<DeadLetter> deadLettersA =
          tenantA.readAtLeast("A.moe.expert-load.dlq", Topics.EXPERT_LOAD_DLQ, 1);

      Map<String, PlanDecision> byIdA = PlanSelectorJobITCase.byId(decisionsA);
      Map<String, PlanDecision> byIdB = PlanSelectorJobITCase.byId(decisionsB);
      assertThat(byIdA).hasSize(DECISIONS_PER_JOB);
      assertThat(byIdB).hasSize(DECISIONS_PER_JOB);
      assertThat(decisionsA).extracting(PlanDecision::getJobId).containsOnly("A.job");
      assertThat(decisionsB).extracting(PlanDecision::getJobId).containsOnly("B.job");
      // the same loads, the same decisions: B's were not touched by A's foreign record
      assertThat(asJob(byIdB, "A.job")).isEqualTo(byIdA);
      assertThat(deadLettersA).hasSize(1);
      DeadLetter foreign = deadLettersA.get(0);
      assertThat(foreign.getReason()).isEqualTo(DeadLetterReason.INVALID_FIELD);
      assertThat(foreign.getSourceTopic()).isEqualTo("A.moe.expert-load");
      assertThat(foreign.getDetail())
          .isEqualTo(
              "jobId 'B.job' belongs to tenant 'B', not to tenant 'A' of topic"
                  + " 'A.moe.expert-load': job ids in the topics of tenant 'A' must start with"
                  + " 'A.'");
      // every load is used or dead-lettered: nothing lost
      Map<String, Long> counts =
          BadInputITCase.awaitCounts(
              FLINK,
              job,
              sent,
              JobMetrics.RECORDS_USED,
              JobMetrics.DUPLICATES,
              JobMetrics.DEAD_LETTERED);
      // read once every load is accounted for, so a dead letter sent to B would be there
      assertThat(tenantB.readAtLeast("B.moe.expert-load.dlq", Topics.EXPERT_LOAD_DLQ, 0)).isEmpty();
      assertThat(counts.get(JobMetrics.RECORDS_IN)).isEqualTo(sent);
      assertThat(counts.get(JobMetrics.RECORDS_USED)).isEqualTo(sent - 1);
      assertThat(counts.get(JobMetrics.DEAD_LETTERED)).isEqualTo(1);
      assertThat(counts.getOrDefault(JobMetrics.DUPLICATES, 0L)).isZero();
    } finally {
      PlanSelectorJobITCase.cancelAndAwait(job);
    }
  }

  @Test
  @Order(2)
  void noSecretAppearsInAnyLogLine() throws Exception {
    KafkaSecurity security = broker.security();
    List<String> secrets = new ArrayList<>(security.secrets());
    // the CA certificate's body is not secret, but no key or certificate material belongs in logs
    for (String line : Files.readAllLines(security.caCertificate())) {
      if (!line.startsWith("-----") && line.length() >= 40) {
        secrets.add(line);
      }
    }
    assertThat(secrets).hasSizeGreaterThan(6);
    List<String> lines = logs.lines();
    // the run was logged: broker start, the job's Kafka clients and the job's settings
    assertThat(lines).anyMatch(line -> line.contains("secured broker"));
    assertThat(lines).anyMatch(line -> line.contains("sasl.jaas.config = [hidden]"));
    for (String line : lines) {
      // nor the users' salted SCRAM keys the storage format lists
      assertThat(line).doesNotContain("storedKey=", "serverKey=");
      for (String secret : secrets) {
        assertThat(line).as("a log line").doesNotContain(secret);
      }
    }
  }

  private static void send(KafkaIo io, String tenant, String jobId, int rank, long iteration) {
    ExpertLoad load = SampleRecords.expertLoad(jobId, rank, iteration);
    io.send(
        tenant + ".moe.expert-load", Topics.EXPERT_LOAD, Topics.expertLoadKey(jobId, rank), load);
  }

  /** The decisions renamed to another job: its id in the job id and each decision id. */
  private static Map<String, PlanDecision> asJob(Map<String, PlanDecision> decisions, String job) {
    Map<String, PlanDecision> renamed = new TreeMap<>();
    decisions.forEach(
        (id, decision) -> {
          String from = decision.getJobId();
          String newId = job + id.substring(from.length());
          renamed.put(
              newId, PlanDecision.newBuilder(decision).setJobId(job).setDecisionId(newId).build());
        });
    return renamed;
  }
}
