package io.moeplan.launcher;

import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.schemas.Topic;
import io.moeplan.schemas.Topics;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code moeplan broker}: a local single-node Kafka broker with every moeplan topic. */
@Command(
    name = "broker",
    mixinStandardHelpOptions = true,
    description = {
      "Runs a single-node Kafka broker (KRaft) on this machine with every moeplan topic created,"
          + " until Ctrl-C.",
      "Point training jobs and other moeplan commands at the printed bootstrap address."
    })
final class BrokerCommand implements Callable<Integer> {

  @Option(
      names = "--port",
      defaultValue = "9092",
      description = "Client port on localhost (0 picks a free one). Default: ${DEFAULT-VALUE}.")
  int port;

  @Option(
      names = "--controller-port",
      defaultValue = "0",
      description = "KRaft controller port (0 picks a free one). Default: ${DEFAULT-VALUE}.")
  int controllerPort;

  @Option(
      names = "--data-dir",
      description =
          "Directory for the broker's logs, kept after exit. Default: a temporary directory"
              + " deleted on exit.")
  Path dataDirectory;

  @Option(
      names = "--partitions",
      defaultValue = "2",
      description = "Partitions of each topic. Default: ${DEFAULT-VALUE}.")
  int partitions;

  @Override
  public Integer call() throws InterruptedException {
    EmbeddedKafkaBroker.Builder builder =
        EmbeddedKafkaBroker.builder()
            .port(port)
            .controllerPort(controllerPort)
            .partitions(partitions);
    if (dataDirectory != null) {
      builder.dataDirectory(dataDirectory);
    }
    EmbeddedKafkaBroker broker = builder.build();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  broker.close();
                  stopped.countDown();
                },
                "moeplan-broker-shutdown"));
    broker.start();
    System.out.println("Kafka broker on " + broker.bootstrapServers() + " (Ctrl-C stops it)");
    for (Topic<?, ?> topic : Topics.ALL) {
      System.out.printf("  %-22s %s%n", topic.name(), topic.compacted() ? "compacted" : "");
    }
    stopped.await();
    return 0;
  }
}
