package io.moeplan.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.launcher.Moeplan;
import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.poolloader.PoolFiles;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Topics;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code moeplan pool build} then {@code pool publish} onto a real broker. */
class PoolPublishITCase {

  @Test
  void publishesABuiltPoolKeyedByJobWithClientSettingsFromAFile(@TempDir Path directory)
      throws Exception {
    EmbeddedKafkaBroker broker = SharedBroker.get();
    TestTopics topics = TestTopics.create(broker, "publish-it");
    Path pool = directory.resolve("job.pool");
    Path kafkaConfig =
        Files.writeString(
            directory.resolve("client.properties"), "client.id=pool-it\nlinger.ms=0\n");
    Path model =
        Files.writeString(
            directory.resolve("model.yaml"),
            "moeLayers: 2\nexpertCount: 8\ntopK: 2\nhidden: 256\nffnHidden: 1024\n"
                + "bytesPerElement: 2\noptimizerBytesPerParam: 12\ntokensPerRank: 4096\n");

    assertThat(run("pool", "build", "--model", model.toString(), "--out", pool.toString()))
        .isZero();
    StringWriter out = new StringWriter();
    int code =
        run(
            out,
            "pool",
            "publish",
            "--pool",
            pool.toString(),
            "--job",
            "published-job",
            "--topic",
            topics.pools(),
            "--bootstrap-servers",
            broker.bootstrapServers(),
            "--kafka-config",
            kafkaConfig.toString());

    assertThat(code).isZero();
    assertThat(out.toString()).contains("published pool v1 of job 'published-job'");
    List<PlanPool> pools = new KafkaIo(broker).readAtLeast(topics.pools(), Topics.PLAN_POOL, 1);
    PlanPool expected = PoolFiles.read(pool);
    expected.setJobId("published-job");
    assertThat(pools).containsExactly(expected);
  }

  private static int run(String... args) {
    return run(new StringWriter(), args);
  }

  private static int run(StringWriter out, String... args) {
    CommandLine commandLine = Moeplan.commandLine();
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(new StringWriter(), true));
    return commandLine.execute(args);
  }
}
