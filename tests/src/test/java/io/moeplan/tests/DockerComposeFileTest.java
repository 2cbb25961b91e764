package io.moeplan.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.moeplan.launcher.kafka.KafkaSecurity;
import io.moeplan.schemas.Topic;
import io.moeplan.schemas.Topics;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.kafka.common.acl.AclBinding;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * docker/docker-compose.yml: a compose implementation accepts it (docker-compose from Debian's
 * package, skipped where it is not installed), and its services, images and ports are the ones the
 * README documents.
 */
class DockerComposeFileTest {

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private static Path root;
  private static Path composeFile;

  @BeforeAll
  static void findFiles() {
    root = projectRoot().orElseThrow(() -> new AssertionError("docker/ not found above " + cwd()));
    composeFile = root.resolve("docker/docker-compose.yml");
  }

  @Test
  void composeImplementationAcceptsTheFileWithItsGpuProfile() throws Exception {
    assumeTrue(
        run(List.of("docker-compose", "version")).isPresent(),
        "docker-compose is not installed (Debian: apt-get install docker-compose): the compose"
            + " file is not validated by a compose implementation");
    Optional<Result> config =
        run(List.of("docker-compose", "-f", composeFile.toString(), "--profile", "gpu", "config"));
    assertThat(config).isPresent();
    assertThat(config.get().exitCode()).as("docker-compose config: %s", config.get()).isZero();
    JsonNode resolved = YAML.readTree(config.get().output());
    JsonNode services = resolved.path("services");
    assertThat(fieldNames(services))
        .contains(
            "kafka",
            "topics",
            "jobmanager",
            "taskmanager",
            "job-submit",
            "pool-loader",
            "executor-0",
            "executor-1",
            "executor-gpu");
    JsonNode gpu =
        services.path("executor-gpu").path("deploy").path("resources").path("reservations");
    assertThat(gpu.path("devices").get(0).path("driver").asText()).isEqualTo("nvidia");
    assertThat(services.path("executor-gpu").path("profiles").get(0).asText()).isEqualTo("gpu");
  }

  @Test
  void theTopicsServiceCreatesEveryRegisteredTopicWithItsCleanupPolicy() throws IOException {
    JsonNode services = YAML.readTree(composeFile.toFile()).path("services");
    String script = services.path("topics").path("command").get(0).asText();

    for (Topic<?, ?> topic : Topics.ALL) {
      assertThat(script)
          .as("the topics service creates %s", topic.name())
          .containsPattern(
              "(?m)^create " + Pattern.quote(topic.name()) + " " + topic.cleanupPolicy() + "$");
    }
  }

  @Test
  void servicesImagesAndPortsAreTheOnesTheReadmeDocuments() throws IOException {
    JsonNode services = YAML.readTree(composeFile.toFile()).path("services");
    String readme = Files.readString(root.resolve("README.md"));

    assertThat(services.path("kafka").path("image").asText()).isEqualTo("apache/kafka:4.2.0");
    assertThat(services.path("jobmanager").path("image").asText()).isEqualTo("flink:2.2.1-java17");
    assertThat(services.path("taskmanager").path("image").asText()).isEqualTo("flink:2.2.1-java17");
    assertThat(services.path("jobmanager").path("ports").get(0).asText()).isEqualTo("8081:8081");
    assertThat(services.path("kafka").path("ports").get(0).asText()).isEqualTo("9092:9092");
    assertThat(readme)
        .contains(
            "docker compose -f docker/docker-compose.yml up --build",
            "apache/kafka:4.2.0",
            "flink:2.2.1-java17",
            "http://localhost:8081",
            "localhost:9092");
    for (String service : fieldNames(services)) {
      assertThat(readme).as("README documents service %s", service).contains("`" + service + "`");
    }
  }

  @Test
  void dockerfileBuildsAsNonRootOnAJre17() throws IOException {
    String dockerfile = Files.readString(root.resolve("docker/Dockerfile"));
    assertThat(dockerfile)
        .contains("FROM maven:3.9-eclipse-temurin-17 AS build")
        .contains("FROM eclipse-temurin:17-jre AS runtime")
        .contains("USER moeplan");
    // the moeplan services share this block through a YAML merge key
    JsonNode moeplan = YAML.readTree(composeFile.toFile()).path("x-moeplan");
    assertThat(moeplan.path("build").path("dockerfile").asText()).isEqualTo("docker/Dockerfile");
    assertThat(moeplan.path("build").path("target").asText()).isEqualTo("runtime");
  }

  @Test
  void composeImplementationAcceptsTheSecuredProfile() throws Exception {
    assumeTrue(
        run(List.of("docker-compose", "version")).isPresent(),
        "docker-compose is not installed (Debian: apt-get install docker-compose): the secured"
            + " compose file is not validated by a compose implementation");
    Optional<Result> config =
        run(
            List.of(
                "docker-compose",
                "-f",
                composeFile.toString(),
                "-f",
                secureFile().toString(),
                "config"));
    assertThat(config).isPresent();
    assertThat(config.get().exitCode()).as("docker-compose config: %s", config.get()).isZero();
  }

  @Test
  void theSecuredProfileOverridesServicesOfTheBaseFile() throws IOException {
    JsonNode base = YAML.readTree(composeFile.toFile()).path("services");
    JsonNode secure = YAML.readTree(secureFile().toFile()).path("services");
    String readme = Files.readString(root.resolve("README.md"));

    for (String service : fieldNames(secure)) {
      if (!service.equals("security-init")) {
        assertThat(fieldNames(base)).as("the base file has service %s", service).contains(service);
      }
    }
    assertThat(secure.path("security-init").path("command").get(0).asText())
        .contains("moeplan security init --dir /etc/moeplan/security --host kafka --port 19092");
    assertThat(readme)
        .contains(
            "docker compose -f docker/docker-compose.yml -f docker/docker-compose.secure.yml up"
                + " --build",
            "`security-init`");
    assertThat(Files.readString(secureFile())).doesNotContainPattern("(?i)password\\s*=");
  }

  @Test
  void theSecuredTopicsServiceCreatesEveryTopicAndGrantsExactlyTheRolesAcls() throws IOException {
    JsonNode services = YAML.readTree(secureFile().toFile()).path("services");
    String script = services.path("topics").path("command").get(0).asText();

    for (Topic<?, ?> topic : Topics.ALL) {
      assertThat(script)
          .containsPattern(
              "(?m)^create " + Pattern.quote(topic.name()) + " " + topic.cleanupPolicy() + "$");
    }
    Set<String> granted = new TreeSet<>();
    for (String line : script.lines().map(String::trim).toList()) {
      if (line.startsWith("acl ")) {
        granted.addAll(expand(line));
      }
    }
    Set<String> wanted = new TreeSet<>();
    for (AclBinding acl : KafkaSecurity.acls(List.of(""))) {
      wanted.add(
          acl.entry().principal()
              + " "
              + acl.entry().operation()
              + " "
              + acl.pattern().resourceType()
              + " "
              + acl.pattern().name()
              + " "
              + acl.pattern().patternType());
    }
    assertThat(granted).isEqualTo(wanted);
  }

  @Test
  void everySecuredServiceGetsTheClientFilesItNamesOnItsOwnVolume() throws IOException {
    JsonNode services = YAML.readTree(secureFile().toFile()).path("services");
    String init = services.path("security-init").path("command").get(0).asText();
    // share /shares/VOLUME UID:GID FILE... -> the files of each volume
    Map<String, Set<String>> filesOf = new TreeMap<>();
    Map<String, String> mountOf = new TreeMap<>();
    for (JsonNode volume : services.path("security-init").path("volumes")) {
      String[] parts = volume.asText().split(":");
      mountOf.put(parts[1], parts[0]);
    }
    for (String line : init.lines().map(String::trim).toList()) {
      if (line.startsWith("share /")) {
        String[] words = line.split(" ");
        filesOf.put(mountOf.get(words[1]), new TreeSet<>(List.of(words).subList(3, words.length)));
      }
    }
    assertThat(filesOf).containsOnlyKeys("kafka-security", "flink-security", "moeplan-security");
    Map<String, String> expected =
        Map.of(
            "job-submit", "moeplan-job.properties",
            "pool-loader", "moeplan-pool-loader.properties",
            "executor-0", "moeplan-tenant.properties",
            "executor-1", "moeplan-tenant.properties",
            "executor-gpu", "moeplan-tenant.properties",
            "topics", "moeplan-admin.properties");
    expected.forEach(
        (service, file) ->
            assertThat(services.path(service).path("command").toString())
                .as("%s connects with %s", service, file)
                .contains("/etc/moeplan/security/" + file));
    for (String service : List.of("pool-loader", "executor-0", "executor-1", "executor-gpu")) {
      assertThat(volumeAt(services.path(service))).isEqualTo("moeplan-security");
    }
    for (String service : List.of("jobmanager", "taskmanager")) {
      assertThat(volumeAt(services.path(service))).isEqualTo("flink-security");
    }
    assertThat(volumeAt(services.path("kafka"))).isEqualTo("kafka-security");
    assertThat(volumeAt(services.path("topics"))).isEqualTo("kafka-security");
    assertThat(filesOf.get("moeplan-security"))
        .contains("ca.pem", "moeplan-pool-loader.properties", "moeplan-tenant.properties");
    assertThat(filesOf.get("flink-security")).containsExactly("ca.pem", "moeplan-job.properties");
    assertThat(filesOf.get("kafka-security"))
        .contains("ca.pem", "broker.p12", "broker.properties", "format.args")
        .doesNotContain("moeplan-job.properties", "moeplan-tenant.properties");
  }

  /** The volume a service mounts at /etc/moeplan/security. */
  private static String volumeAt(JsonNode service) {
    for (JsonNode volume : service.path("volumes")) {
      String[] parts = volume.asText().split(":");
      if (parts[1].equals("/etc/moeplan/security")) {
        return parts[0];
      }
    }
    return null;
  }

  /**
   * The ACLs of one {@code acl --allow-principal P --operation O... (--topic T)... | --group G
   * [--resource-pattern-type prefixed]} line, as "principal OPERATION TYPE name PATTERN".
   */
  private static List<String> expand(String line) {
    List<String> words = List.of(line.split("\\s+"));
    String principal = null;
    String pattern = "LITERAL";
    List<String> operations = new ArrayList<>();
    List<String> resources = new ArrayList<>();
    for (int i = 1; i < words.size(); i += 2) {
      String value = words.get(i + 1);
      switch (words.get(i)) {
        case "--allow-principal" -> principal = value;
        case "--operation" -> operations.add(value.toUpperCase(java.util.Locale.ROOT));
        case "--topic" -> resources.add("TOPIC " + value);
        case "--group" -> resources.add("GROUP " + value);
        case "--resource-pattern-type" -> pattern = value.toUpperCase(java.util.Locale.ROOT);
        default -> throw new AssertionError("unexpected " + words.get(i) + " in " + line);
      }
    }
    List<String> acls = new ArrayList<>();
    for (String operation : operations) {
      for (String resource : resources) {
        acls.add(principal + " " + operation + " " + resource + " " + pattern);
      }
    }
    return acls;
  }

  private static Path secureFile() {
    return root.resolve("docker/docker-compose.secure.yml");
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  private record Result(int exitCode, String output, String errors) {}

  /** Runs a command (bounded to 60 s); empty when it cannot be started. */
  private static Optional<Result> run(List<String> command) throws InterruptedException {
    Process process;
    Path output;
    Path errors;
    try {
      output = Files.createTempFile("compose-", ".out");
      errors = Files.createTempFile("compose-", ".err");
      process =
          new ProcessBuilder(command)
              .directory(root.toFile())
              .redirectOutput(output.toFile())
              .redirectError(errors.toFile())
              .start();
    } catch (IOException e) {
      return Optional.empty();
    }
    try {
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError(String.join(" ", command) + " did not finish within 60 s");
      }
      return Optional.of(
          new Result(
              process.exitValue(),
              Files.readString(output, StandardCharsets.UTF_8),
              Files.readString(errors, StandardCharsets.UTF_8)));
    } catch (IOException e) {
      throw new AssertionError("cannot read the output of " + command, e);
    } finally {
      try {
        Files.deleteIfExists(output);
        Files.deleteIfExists(errors);
      } catch (IOException e) {
        // a temporary file left behind
      }
    }
  }

  private static Optional<Path> projectRoot() {
    for (Path dir = cwd(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("docker/docker-compose.yml"))) {
        return Optional.of(dir);
      }
    }
    return Optional.empty();
  }

  private static Path cwd() {
    return Path.of("").toAbsolutePath();
  }
}
