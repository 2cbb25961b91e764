package io.moeplan.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moeplan.executor.process.ExecutorSettings.BackendKind;
import io.moeplan.launcher.Moeplan;
import io.moeplan.launcher.bench.LoopBenchmark;
import io.moeplan.launcher.fit.ModelFitText;
import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.schemas.ModelFit;
import io.moeplan.schemas.Topics;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code moeplan bench loop} at a small size, through the code the command runs: both runs measure
 * the same iterations of the same workload, the static run keeps its layout, and what it prints
 * agrees with its JSON.
 */
class BenchLoopITCase {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void theABIsInternallyConsistent() throws Exception {
    LoopBenchmark.Settings settings =
        new LoopBenchmark.Settings(
            null, 10, 40, 10, 2, 64, 128, 32, 4, 5, 2, 7, BackendKind.CPU, Duration.ofSeconds(10));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    LoopBenchmark.Result result = new LoopBenchmark(settings, out).run();
    LoopBenchmark.print(result, out);
    String printed = bytes.toString(StandardCharsets.UTF_8);
    JsonNode json = JSON.readTree(LoopBenchmark.json(result));

    LoopBenchmark.RunResult a = result.staticRun();
    LoopBenchmark.RunResult b = result.moeplanRun();
    assertThat(a.measuredIterations()).isEqualTo(40).isEqualTo(b.measuredIterations());
    assertThat(result.sameWorkload()).isTrue();
    assertThat(a.workloadChecksum()).isEqualTo(b.workloadChecksum());
    assertThat(a.checksumIterations()).isEqualTo(50).isEqualTo(b.checksumIterations());
    assertThat(printed).contains("workload: identical in both runs").doesNotContain("WARNING");

    // the static run keeps the start layout: every decision KEEP, nothing applied or paid
    assertThat(a.switchesApplied()).isZero();
    assertThat(a.switchDecisions()).isZero();
    assertThat(a.keepDecisions()).isPositive().isEqualTo(a.decisions());
    assertThat(a.migrationPaidMillis()).isZero();
    assertThat(a.migrationPaidMeanMillis()).isZero();
    assertThat(b.decisions()).isPositive();

    for (LoopBenchmark.RunResult run : new LoopBenchmark.RunResult[] {a, b}) {
      assertThat(run.stepP50Millis()).as(run.label()).isPositive();
      assertThat(run.stepP50Millis()).as(run.label()).isLessThanOrEqualTo(run.stepP90Millis());
      assertThat(run.modelledStepMeanMillis()).as(run.label()).isPositive();
      assertThat(run.migrationPaidMeanMillis())
          .as(run.label())
          .isLessThanOrEqualTo(run.stepMeanMillis());
    }
    assertThat(result.measuredSpeedup())
        .isCloseTo(a.stepMeanMillis() / b.stepMeanMillis(), within(1e-12));
    assertThat(result.p50Ratio()).isCloseTo(a.stepP50Millis() / b.stepP50Millis(), within(1e-12));
    assertThat(a.stepsMillis()).hasSize(a.measuredIterations());
    assertThat(b.stepsMillis()).hasSize(b.measuredIterations());
    assertThat(result.speedupLow())
        .isLessThanOrEqualTo(result.measuredSpeedup())
        .isLessThan(result.speedupHigh());
    assertThat(result.measuredSpeedup()).isLessThanOrEqualTo(result.speedupHigh());
    assertThat(result.modelledSpeedup())
        .isCloseTo(a.modelledStepMeanMillis() / b.modelledStepMeanMillis(), within(1e-12));

    // the JSON holds the same figures, and the text prints them
    assertThat(json.get("measuredSpeedup").asDouble())
        .isCloseTo(
            json.at("/runs/static/stepMeanMs").asDouble()
                / json.at("/runs/moeplan/stepMeanMs").asDouble(),
            within(1e-12));
    assertThat(printed)
        .contains(
            "measured speedup: "
                + LoopBenchmark.ratio(json.get("measuredSpeedup").asDouble())
                + "x")
        .contains("p50 ratio " + LoopBenchmark.ratio(json.get("p50Ratio").asDouble()) + "x")
        .contains(
            "95% interval "
                + LoopBenchmark.ratio(json.get("speedupLow").asDouble())
                + "-"
                + LoopBenchmark.ratio(json.get("speedupHigh").asDouble())
                + "x")
        .contains(
            "modelled speedup for the same runs: "
                + LoopBenchmark.ratio(json.get("modelledSpeedup").asDouble())
                + "x");
    for (String run : new String[] {"static", "moeplan"}) {
      JsonNode node = json.at("/runs/" + run);
      for (String field :
          new String[] {
            "stepMeanMs", "stepP50Ms", "stepP90Ms", "migrationPaidMeanMs", "modelledStepMeanMs"
          }) {
        assertThat(printed)
            .as(run + " " + field)
            .contains(LoopBenchmark.ms(node.get(field).asDouble()));
      }
      assertThat(printed).contains(node.get("workloadChecksum").asText());
    }
    // both jobs publish their model once per window; what the text says of it is the last one's
    assertThat(a.fitsReceived()).isPositive();
    assertThat(b.fitsReceived()).isPositive();
    for (LoopBenchmark.RunResult run : new LoopBenchmark.RunResult[] {a, b}) {
      assertThat(run.fit()).as(run.label()).isNotNull();
      assertThat(printed)
          .contains(
              "published error: compute MAPE "
                  + ModelFitText.percent(run.fit().getComputeMape())
                  + ", r "
                  + ModelFitText.decimal(run.fit().getComputePearson()));
    }
    assertThat(json.at("/runs/static/switchesApplied").asLong()).isZero();
    assertThat(json.at("/runs/moeplan/measuredIterations").asInt()).isEqualTo(40);
    assertThat(json.get("sameWorkload").asBoolean()).isTrue();
  }

  @Test
  void fitPrintsTheLatestModelOfEveryJobFromTheCompactedTopic() throws Exception {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().port(0).build().start();
        KafkaProducer<byte[], byte[]> producer =
            new KafkaProducer<>(
                broker.clientProperties(), new ByteArraySerializer(), new ByteArraySerializer())) {
      for (ModelFit fit :
          List.of(fit("alpha", 1, 0.30), fit("beta", 2, 0.05), fit("alpha", 3, 0.08))) {
        producer
            .send(
                new ProducerRecord<>(
                    Topics.MODEL_FIT.name(),
                    Topics.MODEL_FIT.keyCodec().encode(fit.getJobId()),
                    Topics.MODEL_FIT.valueCodec().encode(fit)))
            .get();
      }

      String every = fit("--bootstrap-servers", broker.bootstrapServers());
      assertThat(every)
          .contains("job alpha (cpu workers, pool v1): model v3, calibrated")
          .contains("job beta (cpu workers, pool v1): model v2, calibrated")
          .contains("compute MAPE 8.0%")
          .contains("compute MAPE 5.0%")
          .doesNotContain("model v1,")
          .doesNotContain("MAPE 30.0%");
      assertThat(every.indexOf("job alpha")).isLessThan(every.indexOf("job beta"));

      String one = fit("--bootstrap-servers", broker.bootstrapServers(), "--job", "beta");
      assertThat(one).contains("job beta").doesNotContain("job alpha");

      String none = fit("--bootstrap-servers", broker.bootstrapServers(), "--job", "gamma");
      assertThat(none).contains("no ModelFit for job 'gamma'");
    }
  }

  private static String fit(String... args) {
    StringWriter out = new StringWriter();
    CommandLine commandLine = Moeplan.commandLine();
    commandLine.setOut(new PrintWriter(out, true));
    String[] command = new String[args.length + 1];
    command[0] = "fit";
    System.arraycopy(args, 0, command, 1, args.length);
    assertThat(commandLine.execute(command)).as(out.toString()).isZero();
    return out.toString();
  }

  private static ModelFit fit(String jobId, long version, double mape) {
    return ModelFit.newBuilder()
        .setJobId(jobId)
        .setWorkerClass("cpu")
        .setPoolVersion(1)
        .setModelVersion(version)
        .setCalibrated(true)
        .setLastIteration(10 * version)
        .setComputeSamples(512)
        .setComputeOutliers(4)
        .setFixedSeconds(4e-6)
        .setPerTokenSeconds(6e-5)
        .setPoolFixedSeconds(5e-6)
        .setPoolPerTokenSeconds(1.31e-4)
        .setMigrationCalibrated(false)
        .setMigrationSamples(0)
        .setMigrationBytesPerSecond(5e9)
        .setPoolMigrationBytesPerSecond(5e9)
        .setErrorWindows(3)
        .setErrorSamples(96)
        .setComputeMape(mape)
        .setComputePearson(0.9)
        .setStepMape(mape)
        .setPredictedStepSeconds(0.01)
        .setMeasuredStepSeconds(0.011)
        .setUpdatedAt(Instant.ofEpochMilli(1_700_000_000_000L))
        .build();
  }
}
