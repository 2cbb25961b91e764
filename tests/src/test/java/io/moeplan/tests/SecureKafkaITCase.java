package io.moeplan.tests;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.moeplan.executor.process.ExecutorSettings;
import io.moeplan.executor.process.KafkaExecutorIo;
import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.launcher.kafka.KafkaSecurity;
import io.moeplan.poolloader.KafkaAccessErrors;
import io.moeplan.poolloader.PoolPublisher;
import io.moeplan.schemas.SampleRecords;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A secured broker (SASL_SSL, SCRAM-SHA-512, StandardAuthorizer) with two tenants: clients without
 * credentials or with a wrong password are refused with a clear error in bounded time, and tenant
 * A's principal can use its own topics but neither produce to nor read tenant B's.
 */
class SecureKafkaITCase {

  private static final Duration BOUND = Duration.ofSeconds(20);
  private static EmbeddedKafkaBroker broker;

  @BeforeAll
  static void startBroker() {
    broker = EmbeddedKafkaBroker.builder().secure(true).tenants(List.of("A", "B")).build().start();
  }

  @AfterAll
  static void stopBroker() {
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void clientWithoutCredentialsIsRefusedWithinBound() {
    Properties plain = new Properties();
    plain.put("bootstrap.servers", broker.bootstrapServers());
    plain.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "5000");
    long started = System.nanoTime();
    assertThatThrownBy(() -> send(plain, "A.moe.expert-load"))
        .hasStackTraceContaining("A.moe.expert-load");
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(BOUND);
  }

  @Test
  void wrongPasswordIsRefusedAsAuthenticationFailure() {
    Properties wrong = broker.clientProperties(KafkaSecurity.tenantPrincipal("A"));
    wrong.put(
        "sasl.jaas.config",
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"tenant-A\""
            + " password=\"not-the-password\";");
    long started = System.nanoTime();
    assertThatThrownBy(() -> send(wrong, "A.moe.expert-load"))
        .hasRootCauseInstanceOf(SaslAuthenticationException.class)
        .rootCause()
        .hasMessageContaining("Authentication failed");
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(BOUND);
  }

  @Test
  void tenantUsesItsOwnTopicsAndCannotForgeTheJobsOutputs() throws Exception {
    Properties tenantA = broker.clientProperties(KafkaSecurity.tenantPrincipal("A"));
    send(tenantA, "A.moe.expert-load");
    send(tenantA, "A.moe.worker-times");
    send(tenantA, "A.moe.plan-pool");
    // decisions reach the tenant from the job; the tenant itself may not write them
    send(broker.clientProperties(KafkaSecurity.JOB), "A.moe.plan-decisions");
    assertThat(readAll(tenantA, "A.moe.plan-decisions")).isEqualTo(1);
    for (String topic : List.of("A.moe.plan-decisions", "A.moe.model-fit")) {
      assertThatThrownBy(() -> send(tenantA, topic))
          .hasRootCauseInstanceOf(TopicAuthorizationException.class);
    }
  }

  @Test
  void tenantCannotProduceToOrReadAnotherTenantsTopics() {
    Properties tenantA = broker.clientProperties(KafkaSecurity.tenantPrincipal("A"));
    for (String topic : List.of("B.moe.expert-load", "B.moe.plan-decisions", "moe.expert-load")) {
      long started = System.nanoTime();
      assertThatThrownBy(() -> send(tenantA, topic))
          .hasRootCauseInstanceOf(TopicAuthorizationException.class)
          .rootCause()
          .satisfies(
              e ->
                  assertThat(((TopicAuthorizationException) e).unauthorizedTopics())
                      .containsExactly(topic));
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(BOUND);
    }
    assertThatThrownBy(() -> readAll(tenantA, "B.moe.plan-decisions"))
        .isInstanceOf(TopicAuthorizationException.class)
        .satisfies(
            e ->
                assertThat(((TopicAuthorizationException) e).unauthorizedTopics())
                    .containsExactly("B.moe.plan-decisions"));
  }

  @Test
  void moeplansClientsNameTheRefusedTopicOperationAndGrant() {
    Properties tenantA = broker.clientProperties(KafkaSecurity.tenantPrincipal("A"));
    String bootstrap = broker.bootstrapServers();
    long started = System.nanoTime();
    assertThatThrownBy(
            () -> new KafkaExecutorIo(tenantA, ExecutorSettings.TopicNames.DEFAULT.prefixed("B")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "not authorized to READ topic 'B.moe.plan-decisions' as User:tenant-A on "
                + bootstrap
                + ": the broker has no ACL allowing it; a platform team grants it with:"
                + " kafka-acls.sh --bootstrap-server "
                + bootstrap
                + " --command-config admin.properties --add --allow-principal User:tenant-A"
                + " --operation Read --topic B.moe.plan-decisions");
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(BOUND);

    Throwable refused =
        catchThrowable(
            () ->
                PoolPublisher.publish(SampleRecords.planPool("B.job"), "B.moe.plan-pool", tenantA));
    String explained = KafkaAccessErrors.explain(refused, "WRITE", "B.moe.plan-pool", tenantA);
    assertThat(explained)
        .startsWith("not authorized to WRITE topic 'B.moe.plan-pool' as User:tenant-A")
        .endsWith("--operation Write --topic B.moe.plan-pool");

    Properties wrong = new Properties();
    wrong.putAll(tenantA);
    wrong.put(
        "sasl.jaas.config",
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"tenant-A\""
            + " password=\"wrong-password\";");
    Throwable failedLogin =
        catchThrowable(
            () -> PoolPublisher.publish(SampleRecords.planPool("A.job"), "A.moe.plan-pool", wrong));
    assertThat(KafkaAccessErrors.explain(failedLogin, "WRITE", "A.moe.plan-pool", wrong))
        .startsWith("the broker " + bootstrap + " refused the login of User:tenant-A")
        .doesNotContain("wrong-password");
    for (String secret : broker.security().secrets()) {
      assertThat(explained).doesNotContain(secret);
    }
  }

  @Test
  void jobAndPoolLoaderHaveOnlyTheirRoles() throws Exception {
    Properties job = broker.clientProperties(KafkaSecurity.JOB);
    send(job, "B.moe.plan-decisions");
    assertThatThrownBy(() -> send(job, "B.moe.expert-load"))
        .hasRootCauseInstanceOf(TopicAuthorizationException.class);
    Properties loader = broker.clientProperties(KafkaSecurity.POOL_LOADER);
    send(loader, "A.moe.plan-pool");
    assertThatThrownBy(() -> send(loader, "A.moe.plan-decisions"))
        .hasRootCauseInstanceOf(TopicAuthorizationException.class);
  }

  @Test
  void secretsAreInOwnerOnlyFiles() throws Exception {
    KafkaSecurity security = broker.security();
    Path file = security.clientPropertiesFile(KafkaSecurity.tenantPrincipal("A"));
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(security.directory())))
        .isEqualTo("rwx------");
    String text = Files.readString(file, StandardCharsets.UTF_8);
    assertThat(text).contains("security.protocol=SASL_SSL", "sasl.mechanism=SCRAM-SHA-512");
    assertThat(Files.readString(security.caCertificate())).startsWith("-----BEGIN CERTIFICATE");
  }

  @Test
  void aTenantNoLongerListedLosesItsAccess(@TempDir Path data) throws Exception {
    int port = freePort();
    int controllerPort = freePort();
    Properties tenantB;
    try (EmbeddedKafkaBroker first = secured(data, port, controllerPort, List.of("A", "B"))) {
      tenantB = first.clientProperties(KafkaSecurity.tenantPrincipal("B"));
      send(tenantB, "B.moe.expert-load");
    }

    // the same broker data, started again with tenant A only
    try (EmbeddedKafkaBroker second = secured(data, port, controllerPort, List.of("A"))) {
      send(second.clientProperties(KafkaSecurity.tenantPrincipal("A")), "A.moe.expert-load");
      long started = System.nanoTime();
      assertThatThrownBy(() -> send(tenantB, "B.moe.expert-load"))
          .hasRootCauseInstanceOf(SaslAuthenticationException.class);
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(BOUND);
      assertThat(second.security().clientPropertiesFile(KafkaSecurity.tenantPrincipal("B")))
          .doesNotExist();
      assertThat(second.security().users()).doesNotContain(KafkaSecurity.tenantPrincipal("B"));
      try (Admin admin = Admin.create(second.clientProperties(KafkaSecurity.ADMIN))) {
        assertThat(
                admin.describeAcls(AclBindingFilter.ANY).values().get(BOUND.toSeconds(), SECONDS))
            .isNotEmpty()
            .noneMatch(acl -> acl.entry().principal().equals("User:tenant-B"));
      }
    }
  }

  private static EmbeddedKafkaBroker secured(
      Path data, int port, int controllerPort, List<String> tenants) {
    return EmbeddedKafkaBroker.builder()
        .secure(true)
        .tenants(tenants)
        .dataDirectory(data)
        .port(port)
        .controllerPort(controllerPort)
        .build()
        .start();
  }

  private static int freePort() throws java.io.IOException {
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static void send(Properties client, String topic) throws Exception {
    Properties properties = new Properties();
    properties.putAll(client);
    properties.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
    properties.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "10000");
    properties.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer())) {
      producer
          .send(new ProducerRecord<>(topic, "k".getBytes(StandardCharsets.UTF_8), new byte[] {1}))
          .get(BOUND.toSeconds(), TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException("sending to " + topic + " failed", e.getCause());
    }
  }

  private static int readAll(Properties client, String topic) {
    Properties properties = new Properties();
    properties.putAll(client);
    properties.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = KafkaIo.assignFromStart(consumer, topic);
      int read = 0;
      long deadline = System.nanoTime() + BOUND.toNanos();
      while (System.nanoTime() < deadline) {
        read += consumer.poll(Duration.ofMillis(200)).count();
        var end = consumer.endOffsets(partitions);
        if (partitions.stream().allMatch(p -> consumer.position(p) >= end.get(p))) {
          break;
        }
      }
      return read;
    }
  }
}
