package io.moeplan.launcher;

import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.launcher.kafka.KafkaSecurity;
import io.moeplan.schemas.Tenants;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code moeplan security}: the keys and settings of a secured broker run elsewhere. */
@Command(
    name = "security",
    mixinStandardHelpOptions = true,
    description =
        "Keys, users and client settings of a secured Kafka broker (see docs/security.md).",
    subcommands = {SecurityCommand.Init.class})
final class SecurityCommand {

  /** {@code moeplan security init}. */
  @Command(
      name = "init",
      mixinStandardHelpOptions = true,
      description = {
        "Writes into DIR what a secured single-node broker in a container (e.g. the Apache Kafka"
            + " image of docker/docker-compose.secure.yml) and its clients need, as 'broker"
            + " --secure' makes it for its own broker: a CA and the broker's TLS key pair (for"
            + " localhost and --host), a random password per principal (moeplan-admin,"
            + " moeplan-job, moeplan-pool-loader, and the tenants), a client properties file per"
            + " principal on --bootstrap-servers, broker.properties (SASL_SSL on --port for"
            + " clients, mutual TLS on --controller-port, StandardAuthorizer), and format.args:"
            + " the kafka-storage.sh format arguments that create the SCRAM users, one per line.",
        "Files are readable by their owner only; no password is printed. Keys made before are"
            + " kept."
      })
  static final class Init implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--dir", required = true, description = "Directory to write to.")
    Path directory;

    @Option(
        names = "--host",
        defaultValue = "kafka",
        description = "The broker's host name for clients. Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(
        names = "--port",
        defaultValue = "19092",
        description = "The broker's SASL_SSL client port. Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(
        names = "--controller-port",
        defaultValue = "9093",
        description = "The KRaft controller port (mutual TLS). Default: ${DEFAULT-VALUE}.")
    int controllerPort;

    @Option(
        names = "--log-dir",
        defaultValue = "/var/lib/kafka/data",
        description = "The broker's log directory. Default: ${DEFAULT-VALUE}.")
    String logDirectory;

    @Option(
        names = "--topic-prefix",
        paramLabel = "PREFIX[,PREFIX...]",
        description =
            "Tenants: a principal tenant-PREFIX for each. Default: one tenant (moeplan-tenant) on"
                + " the plain topics.")
    String topicPrefix;

    @Override
    public Integer call() throws IOException {
      List<String> tenants;
      try {
        tenants = topicPrefix == null ? List.of("") : Tenants.parse(topicPrefix);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "--topic-prefix: " + e.getMessage());
      }
      KafkaSecurity security;
      try {
        security = KafkaSecurity.prepare(directory.toAbsolutePath(), tenants, List.of(host));
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "--host: " + e.getMessage());
      }
      String bootstrap = host + ":" + port;
      security.writeClientFiles(bootstrap);
      Properties broker =
          EmbeddedKafkaBroker.singleNodeProperties(port, controllerPort, Path.of(logDirectory), 2);
      broker.putAll(security.serverProperties(port, controllerPort));
      broker.put("listeners", "SASL_SSL://:" + port + ",CONTROLLER://:" + controllerPort);
      broker.put("advertised.listeners", "SASL_SSL://" + bootstrap);
      broker.put("controller.quorum.voters", "1@" + host + ":" + controllerPort);
      Path brokerFile = security.directory().resolve("broker.properties");
      writePrivate(brokerFile, String.join("\n", store(broker)) + "\n");
      Path formatFile = security.directory().resolve("format.args");
      writePrivate(formatFile, String.join("\n", security.formatArguments()) + "\n");
      var out = spec.commandLine().getOut();
      out.printf(
          "secured broker %s: settings %s, storage format arguments %s%n",
          bootstrap, brokerFile, formatFile);
      out.println("client properties (--kafka-config FILE), one per principal:");
      for (String user : security.users()) {
        out.printf("  %-22s %s%n", user, security.clientPropertiesFile(user));
      }
      out.println("CA certificate (PEM): " + security.caCertificate());
      out.flush();
      return 0;
    }

    private static List<String> store(Properties properties) {
      return properties.stringPropertyNames().stream()
          .sorted()
          .map(key -> key + "=" + properties.getProperty(key))
          .toList();
    }

    private static void writePrivate(Path file, String text) throws IOException {
      KafkaSecurity.createPrivateFile(file);
      try (OutputStream stream = Files.newOutputStream(file)) {
        stream.write(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      }
    }
  }
}
