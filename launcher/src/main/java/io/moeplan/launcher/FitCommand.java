package io.moeplan.launcher;

import io.moeplan.launcher.fit.ModelFitReader;
import io.moeplan.launcher.fit.ModelFitText;
import io.moeplan.schemas.JobIds;
import io.moeplan.schemas.ModelFit;
import io.moeplan.schemas.Tenants;
import io.moeplan.schemas.Topics;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code moeplan fit}: the latest calibrated performance model of every job, from Kafka. */
@Command(
    name = "fit",
    mixinStandardHelpOptions = true,
    description = {
      "Prints the latest ModelFit of every job (or of --job) from the compacted moe.model-fit"
          + " topic: the performance model the plan-selector job calibrated from the executors'"
          + " measured times (model version, fixed and per-token compute constants against the"
          + " pool's, migration throughput), and its error over the latest windows (compute MAPE"
          + " and Pearson r, step MAPE, migration MAPE), each sample predicted before it joined"
          + " the fit.",
      "Reads every partition from the beginning to its end, without a consumer group. With"
          + " --follow it then prints every new fit as it arrives, until Ctrl-C."
    })
final class FitCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(
      names = "--bootstrap-servers",
      defaultValue = "localhost:9092",
      description = "Kafka bootstrap servers. Default: ${DEFAULT-VALUE}.")
  String bootstrapServers;

  @Option(
      names = "--job",
      paramLabel = "ID",
      description = "Only this job's fit. Default: every job's.")
  String job;

  @Option(
      names = "--follow",
      description = "After the latest fits, print every new one as it arrives, until Ctrl-C.")
  boolean follow;

  @Option(names = "--topic", description = "The ModelFit topic. Default: ${DEFAULT-VALUE}.")
  String topic = Topics.MODEL_FIT.name();

  @Option(
      names = "--timeout",
      defaultValue = "10s",
      description =
          "How long to wait for the broker to answer and for the topic to be read to its end"
              + " (e.g. 500ms, 10s). Default: ${DEFAULT-VALUE}.")
  String timeout;

  @Option(
      names = "--kafka-config",
      paramLabel = "FILE",
      description =
          "Kafka client settings (a properties file), e.g. the tenant-PREFIX.properties a"
              + " secured moeplan broker writes.")
  Path kafkaConfig;

  @Option(
      names = "--topic-prefix",
      paramLabel = "PREFIX",
      description = "Read the tenant PREFIX's topic, PREFIX.<topic>.")
  String topicPrefix;

  private final AtomicBoolean stopping = new AtomicBoolean();

  @Override
  public Integer call() throws Exception {
    if (job != null && JobIds.problem(job) != null) {
      throw new ParameterException(spec.commandLine(), "--job: " + JobIds.problem(job));
    }
    Duration bound = ExecutorCommand.parseDuration(spec, "--timeout", timeout);
    if (bound.isZero()) {
      throw new ParameterException(spec.commandLine(), "--timeout must be > 0");
    }
    if (topicPrefix != null) {
      String problem = Tenants.problem(topicPrefix);
      if (problem != null) {
        throw new ParameterException(spec.commandLine(), "--topic-prefix: " + problem);
      }
      topic = Topics.prefixed(topicPrefix, topic);
    }
    Properties client = KafkaClientConfig.load(spec, kafkaConfig, bootstrapServers);
    PrintWriter out = spec.commandLine().getOut();
    try (ModelFitReader reader = ModelFitReader.open(client, topic, bound)) {
      if (!reader.readToEnd(bound)) {
        throw new IllegalArgumentException(
            "topic '"
                + topic
                + "' on "
                + bootstrapServers
                + " was not read to its end within "
                + bound.toMillis()
                + " ms (raise --timeout)");
      }
      List<ModelFit> fits =
          reader.latest().values().stream()
              .filter(f -> job == null || job.equals(f.getJobId()))
              .toList();
      if (fits.isEmpty()) {
        out.println(
            (job == null ? "no ModelFit records" : "no ModelFit for job '" + job + "'")
                + " on topic '"
                + topic
                + "' at "
                + bootstrapServers
                + " (the plan-selector job publishes one per window of iterations once executors"
                + " report measured times)");
      }
      for (ModelFit fit : fits) {
        out.println(ModelFitText.block(fit));
      }
      if (reader.skipped() > 0) {
        out.printf("%d records skipped, the last: %s%n", reader.skipped(), reader.lastProblem());
      }
      out.flush();
      if (follow) {
        follow(reader, out);
      }
    }
    return 0;
  }

  private void follow(ModelFitReader reader, PrintWriter out) {
    try (StopOnExit exit = StopOnExit.on("moeplan-fit-stop", () -> stopping.set(true))) {
      while (!stopping.get()) {
        for (ModelFit fit : reader.poll(Duration.ofMillis(500))) {
          if (job == null || job.equals(fit.getJobId())) {
            out.println(ModelFitText.block(fit));
            out.flush();
          }
        }
      }
    }
  }
}
