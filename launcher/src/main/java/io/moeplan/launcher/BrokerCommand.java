package io.moeplan.launcher;

import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.launcher.kafka.KafkaSecurity;
import io.moeplan.schemas.Tenants;
import io.moeplan.schemas.Topic;
import io.moeplan.schemas.Topics;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

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

  @Option(
      names = "--secure",
      description =
          "Secure the broker: SASL_SSL with SCRAM-SHA-512 users, TLS with a CA and key pair"
              + " generated into DATA-DIR/security (kept with --data-dir), StandardAuthorizer with"
              + " ACLs per principal: moeplan-job (the plan-selector job), moeplan-pool-loader, and"
              + " one per tenant (moeplan-tenant for the plain topics, tenant-PREFIX for each"
              + " --topic-prefix). It prints the client properties file of each principal, for"
              + " --kafka-config; passwords are random and only in those files (mode 600).")
  boolean secure;

  @Option(
      names = "--topic-prefix",
      paramLabel = "PREFIX[,PREFIX...]",
      description =
          "Tenants: for each PREFIX also create PREFIX.moe.expert-load, ... and, with --secure,"
              + " the principal tenant-PREFIX with prefixed ACLs on 'PREFIX.' topics and groups"
              + " only. Without it, one tenant on the plain topics.")
  String topicPrefix;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws InterruptedException {
    List<String> tenants;
    try {
      tenants = topicPrefix == null ? List.of("") : Tenants.parse(topicPrefix);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--topic-prefix: " + e.getMessage());
    }
    EmbeddedKafkaBroker.Builder builder =
        EmbeddedKafkaBroker.builder()
            .port(port)
            .controllerPort(controllerPort)
            .partitions(partitions)
            .secure(secure)
            .tenants(tenants);
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
    System.out.println(
        "Kafka broker on "
            + broker.bootstrapServers()
            + (secure
                ? " (SASL_SSL, SCRAM-SHA-512, ACLs; Ctrl-C stops it)"
                : " (Ctrl-C stops it)"));
    for (String tenant : tenants) {
      for (Topic<?, ?> topic : Topics.forPrefix(tenant)) {
        System.out.printf("  %-30s %s%n", topic.name(), topic.compacted() ? "compacted" : "");
      }
    }
    if (secure) {
      KafkaSecurity security = broker.security();
      System.out.println("client properties (--kafka-config FILE), one per principal:");
      for (String user : security.users()) {
        System.out.printf("  %-22s %s%n", user, security.clientPropertiesFile(user));
      }
      System.out.println("CA certificate (PEM): " + security.caCertificate());
    }
    stopped.await();
    return 0;
  }
}
