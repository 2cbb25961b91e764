package io.moeplan.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/** The Kafka client settings of a command: its {@code --kafka-config} file and its broker. */
final class KafkaClientConfig {
  private static final Logger LOG = LoggerFactory.getLogger(KafkaClientConfig.class);

  private KafkaClientConfig() {}

  /**
   * The settings of {@code kafkaConfig} (a properties file; none when null) with {@code
   * bootstrapServers} as the broker (a different broker in the file is logged as replaced); a file
   * that cannot be read is a usage error naming it.
   */
  static Properties load(CommandSpec spec, Path kafkaConfig, String bootstrapServers) {
    Properties properties = new Properties();
    if (kafkaConfig != null) {
      try (InputStream in = Files.newInputStream(kafkaConfig)) {
        properties.load(in);
      } catch (IOException e) {
        throw new ParameterException(
            spec.commandLine(), "--kafka-config " + kafkaConfig + ": " + e.getMessage(), e);
      }
    }
    Object inFile = properties.get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
    if (inFile != null && !inFile.toString().trim().equals(bootstrapServers)) {
      LOG.warn(
          "--kafka-config {} sets {}={}; --bootstrap-servers {} is used instead",
          kafkaConfig,
          CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG,
          inFile,
          bootstrapServers);
    }
    properties.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    return properties;
  }
}
