package io.moeplan.launcher.kafka;

import io.moeplan.launcher.Directories;
import io.moeplan.schemas.Topic;
import io.moeplan.schemas.Topics;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A single-node Kafka broker (Apache Kafka's own KRaft server, combined broker and controller)
 * running inside this JVM on free loopback ports.
 *
 * <p>It formats its log directory on first start, creates moeplan's topics, and can be stopped and
 * started again on the same data and ports. When it created its own temporary directory, {@link
 * #close()} deletes it.
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

  private final Path dataDirectory;
  private final boolean ownsDataDirectory;
  private final int port;
  private final int controllerPort;
  private final int partitions;
  private final List<Topic<?, ?>> topics;
  private final Map<String, String> overrides;
  private final String clusterId;
  private final boolean secure;
  private final List<String> tenants;
  private KafkaSecurity security;
  private KafkaRaftServer server;

  private EmbeddedKafkaBroker(Builder builder) throws IOException {
    this.ownsDataDirectory = builder.dataDirectory == null;
    this.dataDirectory =
        ownsDataDirectory
            ? Files.createTempDirectory("moeplan-kafka-")
            : Files.createDirectories(builder.dataDirectory);
    this.port = builder.port == 0 ? freePort() : builder.port;
    this.controllerPort = builder.controllerPort == 0 ? freePort() : builder.controllerPort;
    this.partitions = builder.partitions;
    this.topics = List.copyOf(builder.topics);
    this.overrides = Map.copyOf(builder.overrides);
    this.clusterId = existingClusterId(dataDirectory.resolve("logs"));
    this.secure = builder.secure;
    this.tenants = List.copyOf(builder.tenants);
  }

  /**
   * The cluster id of the storage formatted in {@code logDirectory} before (by another process or
   * broker object on the same data), else a new one: formatting keeps a storage only for its own
   * cluster id.
   */
  private static String existingClusterId(Path logDirectory) throws IOException {
    Path meta = logDirectory.resolve("meta.properties");
    if (Files.exists(meta)) {
      Properties properties = new Properties();
      try (var in = Files.newInputStream(meta)) {
        properties.load(in);
      }
      String id = properties.getProperty("cluster.id");
      if (id != null && !id.isBlank()) {
        return id;
      }
    }
    return Uuid.randomUuid().toString();
  }

  /** A builder with the defaults: temporary directory, free ports, every moeplan topic. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Starts the broker (formatting its storage the first time), waits until it answers and creates
   * the configured topics that do not exist yet.
   */
  public synchronized EmbeddedKafkaBroker start() {
    if (server != null) {
      throw new IllegalStateException("broker already running on " + bootstrapServers());
    }
    long started = System.nanoTime();
    if (secure && security == null) {
      security = KafkaSecurity.prepare(dataDirectory.resolve("security"), tenants);
      security.writeClientFiles(bootstrapServers());
    }
    Properties properties = serverProperties();
    format(properties);
    KafkaRaftServer raftServer =
        new KafkaRaftServer(KafkaConfig.fromProps(properties, false), Time.SYSTEM);
    raftServer.startup();
    server = raftServer;
    try (Admin admin = admin()) {
      awaitReady(admin);
      createTopics(admin, topics);
      for (String tenant : tenants) {
        if (!tenant.isEmpty()) {
          createTopics(admin, Topics.forPrefix(tenant));
        }
      }
      if (security != null) {
        KafkaAccess.grant(admin, security, bootstrapServers());
      }
    }
    LOG.info(
        "Kafka broker ready on {} in {} ms (data in {})",
        bootstrapServers(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started),
        dataDirectory);
    return this;
  }

  /** Stops the broker and keeps its data, so {@link #start()} brings it back on the same data. */
  public synchronized void stop() {
    if (server == null) {
      return;
    }
    server.shutdown();
    server.awaitShutdown();
    server = null;
  }

  /** Whether the broker is running. */
  public synchronized boolean isRunning() {
    return server != null;
  }

  /** {@code host:port} of the client listener, stable across restarts. */
  public String bootstrapServers() {
    return "localhost:" + port;
  }

  /** Where the broker keeps its logs and metadata. */
  public Path dataDirectory() {
    return dataDirectory;
  }

  /** Creates further topics, with this broker's partition count; existing ones are kept. */
  public void createTopics(Collection<? extends Topic<?, ?>> extraTopics) {
    try (Admin admin = admin()) {
      createTopics(admin, extraTopics);
    }
  }

  /**
   * Client properties that reach this broker, to be extended by producers and consumers; on a
   * secured broker those of its super user {@link KafkaSecurity#ADMIN}.
   */
  public Properties clientProperties() {
    if (secure) {
      return clientProperties(KafkaSecurity.ADMIN);
    }
    Properties properties = new Properties();
    properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    return properties;
  }

  /**
   * Client properties that authenticate as {@code user} (a principal of {@link KafkaSecurity}) on
   * this secured broker.
   *
   * @throws IllegalStateException when the broker is not secured or not yet started
   */
  public Properties clientProperties(String user) {
    return security().clientProperties(user, bootstrapServers());
  }

  /** Whether clients must authenticate (SASL_SSL) and be authorized by ACLs. */
  public boolean isSecure() {
    return secure;
  }

  /**
   * The keys, passwords and client files of this secured broker (prepared by its first {@link
   * #start()}).
   */
  public KafkaSecurity security() {
    if (security == null) {
      throw new IllegalStateException(
          secure ? "the secured broker has not been started yet" : "the broker is not secured");
    }
    return security;
  }

  /** The topic prefixes of the tenants whose topics (and, when secured, users) this broker has. */
  public List<String> tenants() {
    return tenants;
  }

  /** Stops the broker and deletes its data directory if it created it. */
  @Override
  public void close() {
    stop();
    if (ownsDataDirectory) {
      deleteRecursively(dataDirectory);
    }
  }

  private Properties serverProperties() {
    Properties properties =
        singleNodeProperties(port, controllerPort, dataDirectory.resolve("logs"), partitions);
    if (security != null) {
      properties.putAll(security.serverProperties(port, controllerPort));
    }
    properties.putAll(overrides);
    return properties;
  }

  /**
   * The server properties of a single-node KRaft Kafka (combined broker and controller) on
   * localhost: the embedded broker's, and those of a broker run as its own process.
   */
  public static Properties singleNodeProperties(
      int port, int controllerPort, Path logDirectory, int partitions) {
    Properties properties = new Properties();
    properties.put("process.roles", "broker,controller");
    properties.put("node.id", "1");
    properties.put("controller.quorum.voters", "1@localhost:" + controllerPort);
    properties.put(
        "listeners", "PLAINTEXT://localhost:" + port + ",CONTROLLER://localhost:" + controllerPort);
    properties.put("advertised.listeners", "PLAINTEXT://localhost:" + port);
    properties.put("controller.listener.names", "CONTROLLER");
    properties.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    properties.put("inter.broker.listener.name", "PLAINTEXT");
    properties.put("log.dirs", logDirectory.toString());
    properties.put("num.partitions", Integer.toString(partitions));
    properties.put("offsets.topic.replication.factor", "1");
    properties.put("offsets.topic.num.partitions", "4");
    properties.put("transaction.state.log.replication.factor", "1");
    properties.put("transaction.state.log.min.isr", "1");
    properties.put("share.coordinator.state.topic.replication.factor", "1");
    properties.put("share.coordinator.state.topic.min.isr", "1");
    properties.put("group.initial.rebalance.delay.ms", "0");
    properties.put("auto.create.topics.enable", "false");
    return properties;
  }

  private void format(Properties properties) {
    format(
        properties,
        dataDirectory.resolve("server.properties"),
        clusterId,
        security == null ? List.of() : security.formatArguments());
  }

  /**
   * Writes {@code properties} to {@code config} and formats the storage they name with Kafka's
   * StorageTool (a storage formatted before is kept).
   */
  public static void format(Properties properties, Path config, String clusterId) {
    format(properties, config, clusterId, List.of());
  }

  /**
   * As {@link #format(Properties, Path, String)}, with further StorageTool arguments (e.g. the
   * SCRAM users of a secured broker); the file is readable by its owner only, as it may hold the
   * keystore password.
   */
  public static void format(
      Properties properties, Path config, String clusterId, List<String> moreArguments) {
    try {
      KafkaSecurity.createPrivateFile(config);
      try (OutputStream out = Files.newOutputStream(config)) {
        properties.store(out, "moeplan single-node Kafka broker");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + config, e);
    }
    List<String> arguments =
        new ArrayList<>(
            List.of("format", "-t", clusterId, "-c", config.toString(), "--ignore-formatted"));
    arguments.addAll(moreArguments);
    ByteArrayOutputStream output = new ByteArrayOutputStream();
    int exitCode;
    try (PrintStream print = new PrintStream(output, true, StandardCharsets.UTF_8)) {
      exitCode = StorageTool.execute(arguments.toArray(String[]::new), print);
    } catch (Exception e) {
      throw new IllegalStateException("cannot format the Kafka storage of " + config, e);
    }
    if (exitCode != 0) {
      throw new IllegalStateException(
          "formatting the Kafka storage of "
              + config
              + " failed with exit code "
              + exitCode
              + ": "
              // without the bootstrap records: they hold the SCRAM users' salted keys
              + output
                  .toString(StandardCharsets.UTF_8)
                  .lines()
                  .filter(line -> !line.contains("UserScramCredentialRecord"))
                  .collect(java.util.stream.Collectors.joining("\n")));
    }
  }

  private Admin admin() {
    Properties properties = clientProperties();
    properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
    properties.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");
    return Admin.create(properties);
  }

  private void awaitReady(Admin admin) {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    Exception last = null;
    while (System.nanoTime() < deadline) {
      try {
        if (!admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).isEmpty()) {
          return;
        }
      } catch (ExecutionException | TimeoutException e) {
        last = e;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the broker", e);
      }
    }
    throw new IllegalStateException(
        "Kafka broker on " + bootstrapServers() + " not ready after " + READY_TIMEOUT, last);
  }

  private void createTopics(Admin admin, Collection<? extends Topic<?, ?>> wanted) {
    try {
      Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      List<NewTopic> missing = new ArrayList<>();
      for (Topic<?, ?> topic : wanted) {
        if (!existing.contains(topic.name())) {
          Map<String, String> configs = new LinkedHashMap<>();
          configs.put(TopicConfig.CLEANUP_POLICY_CONFIG, topic.cleanupPolicy());
          missing.add(new NewTopic(topic.name(), partitions, (short) 1).configs(configs));
        }
      }
      if (!missing.isEmpty()) {
        admin.createTopics(missing).all().get(30, TimeUnit.SECONDS);
      }
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        throw new IllegalStateException("cannot create topics on " + bootstrapServers(), e);
      }
    } catch (TimeoutException e) {
      throw new IllegalStateException("timed out creating topics on " + bootstrapServers(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating topics", e);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    }
  }

  private static void deleteRecursively(Path root) {
    try {
      Directories.deleteRecursively(root);
    } catch (UncheckedIOException e) {
      LOG.warn("could not delete {} completely", root, e);
    }
  }

  /** Settings of an {@link EmbeddedKafkaBroker}; every one has a default. */
  public static final class Builder {
    private Path dataDirectory;
    private int port;
    private int controllerPort;
    private int partitions = 2;
    private final List<Topic<?, ?>> topics = new ArrayList<>(Topics.ALL);
    private final Map<String, String> overrides = new LinkedHashMap<>();
    private boolean secure;
    private final List<String> tenants = new ArrayList<>();

    private Builder() {}

    /**
     * Secures the broker: SASL_SSL with SCRAM-SHA-512 users, TLS keys and a CA generated into
     * {@code security/} of the data directory, and ACLs granting each principal only what its role
     * needs ({@link KafkaSecurity}).
     */
    public Builder secure(boolean secure) {
      this.secure = secure;
      return this;
    }

    /**
     * The tenants: topic prefixes whose topics ({@code prefix.moe.expert-load}, ...) the broker
     * creates besides the configured ones, and, when secured, whose principals and prefixed ACLs it
     * sets up; the empty prefix is the tenant of moeplan's plain topics. Default: the plain tenant
     * alone.
     */
    public Builder tenants(List<String> prefixes) {
      tenants.clear();
      tenants.addAll(KafkaSecurity.checkTenants(prefixes));
      return this;
    }

    /** Keeps logs in this directory (kept on close) instead of a temporary one. */
    public Builder dataDirectory(Path directory) {
      this.dataDirectory = directory;
      return this;
    }

    /** The client port; 0 (the default) picks a free one. */
    public Builder port(int port) {
      this.port = checkPort(port, "port");
      return this;
    }

    /** The controller port; 0 (the default) picks a free one. */
    public Builder controllerPort(int port) {
      this.controllerPort = checkPort(port, "controllerPort");
      return this;
    }

    /** Partitions of every topic the broker creates (default 2). */
    public Builder partitions(int partitions) {
      if (partitions < 1) {
        throw new IllegalArgumentException("partitions must be >= 1, got " + partitions);
      }
      this.partitions = partitions;
      return this;
    }

    /** Creates these topics instead of every moeplan topic. */
    public Builder topics(Collection<? extends Topic<?, ?>> wanted) {
      topics.clear();
      topics.addAll(wanted);
      return this;
    }

    /** Sets any Kafka server property, overriding the defaults. */
    public Builder brokerProperty(String key, String value) {
      overrides.put(key, value);
      return this;
    }

    /** Creates the broker without starting it. */
    public EmbeddedKafkaBroker build() {
      if (tenants.isEmpty()) {
        tenants.add("");
      }
      try {
        return new EmbeddedKafkaBroker(this);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot prepare the broker's data directory", e);
      }
    }

    private static int checkPort(int port, String name) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException(name + " must be in 0..65535, got " + port);
      }
      return port;
    }
  }
}
