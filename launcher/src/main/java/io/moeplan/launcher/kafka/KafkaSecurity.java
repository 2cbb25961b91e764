package io.moeplan.launcher.kafka;

import io.moeplan.schemas.Tenants;
import io.moeplan.schemas.Topic;
import io.moeplan.schemas.Topics;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * The security of a secured moeplan broker, kept in one directory: a certificate authority and the
 * broker's TLS key pair (made with the JDK's {@code keytool}), a random SCRAM-SHA-512 password per
 * principal, the broker's server settings (SASL_SSL for clients, mutual TLS for the controller,
 * {@code StandardAuthorizer} with no access unless an ACL grants it), one client properties file
 * per principal, and the ACLs that give each principal only what its role needs.
 *
 * <p>Principals: {@link #ADMIN} (super user: the broker itself, topic creation, ACLs), {@link #JOB}
 * (the plan-selector job), {@link #POOL_LOADER} (publishes pools), and one per tenant ({@link
 * #tenantPrincipal}): the training job and executors of the tenant's topic prefix. The passwords
 * and the keystore password live only in files readable by their owner alone ({@code 0600}).
 */
public final class KafkaSecurity {

  /** The super user: the broker's own inter-broker identity, topic creation and ACL changes. */
  public static final String ADMIN = "moeplan-admin";

  /** The plan-selector job: reads every tenant's inputs, writes every tenant's outputs. */
  public static final String JOB = "moeplan-job";

  /** The pool loader: writes every tenant's plan-pool topic. */
  public static final String POOL_LOADER = "moeplan-pool-loader";

  /** The principal of the tenant without a topic prefix (moeplan's plain topics). */
  public static final String DEFAULT_TENANT = "moeplan-tenant";

  /** The SASL mechanism of every client. */
  public static final String MECHANISM = "SCRAM-SHA-512";

  /**
   * The second SASL mechanism of the client listener, for clients whose SCRAM fails against Kafka 4
   * (see {@link #serverProperties}).
   */
  public static final String PLAIN = "PLAIN";

  /** Distinguished name of the broker's certificate; the controller listener's principal. */
  static final String BROKER_DN = "CN=moeplan-broker";

  /** The consumer groups of the plan-selector job start with its default group id. */
  public static final String JOB_GROUP_PREFIX = "moeplan-plan-selector";

  private static final String SECRETS = "secrets.properties";
  private static final String KEYSTORE_PASSWORD = "keystore.password";
  private static final String USER_PASSWORD = "user.";
  private static final char[] ALPHABET =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".toCharArray();
  private static final long KEYTOOL_BOUND_SECONDS = 60;

  private final Path directory;
  private final List<String> tenants;
  private final Map<String, String> passwords;
  private final String keystorePassword;

  private KafkaSecurity(
      Path directory, List<String> tenants, Map<String, String> passwords, String keystore) {
    this.directory = directory;
    this.tenants = tenants;
    this.passwords = passwords;
    this.keystorePassword = keystore;
  }

  /**
   * The security kept in {@code directory}, created there on first use: key pairs and certificate
   * authority, and a password for every principal of {@code tenants} (topic prefixes; the empty
   * string is the tenant of moeplan's plain topics) that has none yet.
   */
  public static KafkaSecurity prepare(Path directory, List<String> tenants) {
    return prepare(directory, tenants, List.of());
  }

  /**
   * As {@link #prepare(Path, List)}, with the broker's certificate valid for these host names too
   * (besides {@code localhost} and {@code 127.0.0.1}), e.g. its name in a container network. The
   * names apply when the keys are first made.
   */
  public static KafkaSecurity prepare(Path directory, List<String> tenants, List<String> hosts) {
    List<String> checked = checkTenants(tenants);
    for (String host : hosts) {
      if (!host.matches("[A-Za-z0-9.-]{1,253}")) {
        throw new IllegalArgumentException("not a host name: '" + host + "'");
      }
    }
    try {
      Files.createDirectories(directory);
      restrictDirectory(directory);
      Path secretsFile = directory.resolve(SECRETS);
      Properties secrets = new Properties();
      if (Files.exists(secretsFile)) {
        try (InputStream in = Files.newInputStream(secretsFile)) {
          secrets.load(in);
        }
      }
      boolean changed = false;
      if (secrets.getProperty(KEYSTORE_PASSWORD) == null) {
        secrets.setProperty(KEYSTORE_PASSWORD, randomPassword());
        changed = true;
      }
      Map<String, String> passwords = new LinkedHashMap<>();
      for (String user : principals(checked)) {
        String password = secrets.getProperty(USER_PASSWORD + user);
        if (password == null) {
          password = randomPassword();
          secrets.setProperty(USER_PASSWORD + user, password);
          changed = true;
        }
        passwords.put(user, password);
      }
      // a tenant of an earlier run that is no longer listed loses its password and client file;
      // KafkaAccess.grant removes its credential and ACLs from the broker
      for (String key : new TreeMap<>(secrets).keySet().stream().map(Object::toString).toList()) {
        String user = key.startsWith(USER_PASSWORD) ? key.substring(USER_PASSWORD.length()) : null;
        if (user != null && !passwords.containsKey(user)) {
          secrets.remove(key);
          changed = true;
          Files.deleteIfExists(directory.resolve(user + ".properties"));
        }
      }
      if (changed) {
        writePrivate(secretsFile, secrets, "moeplan broker secrets: keep private");
      }
      KafkaSecurity security =
          new KafkaSecurity(
              directory,
              checked,
              Collections.unmodifiableMap(passwords),
              secrets.getProperty(KEYSTORE_PASSWORD));
      if (!Files.exists(security.keystore()) || !Files.exists(security.caCertificate())) {
        security.generateKeys(hosts);
      }
      return security;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare the broker's security in " + directory, e);
    }
  }

  /**
   * Checks tenants' topic prefixes ({@link Tenants#problem}; the empty prefix is the tenant of the
   * plain topics), without repeats.
   */
  public static List<String> checkTenants(List<String> tenants) {
    Set<String> seen = new LinkedHashSet<>();
    for (String tenant : tenants) {
      String problem = tenant.isEmpty() ? null : Tenants.problem(tenant);
      if (problem != null) {
        throw new IllegalArgumentException(problem);
      }
      if (!seen.add(tenant)) {
        throw new IllegalArgumentException("topic prefix '" + tenant + "' is given twice");
      }
    }
    return List.copyOf(seen);
  }

  /** The principal (SCRAM user name) of the tenant with this topic prefix. */
  public static String tenantPrincipal(String prefix) {
    return prefix.isEmpty() ? DEFAULT_TENANT : "tenant-" + prefix;
  }

  /**
   * Whether {@code user} is a SCRAM user this class makes (the fixed principals and every
   * tenant's): the users {@link KafkaAccess#grant} may remove once their tenant is no longer
   * listed.
   */
  static boolean managedUser(String user) {
    return user.equals(ADMIN)
        || user.equals(JOB)
        || user.equals(POOL_LOADER)
        || user.equals(DEFAULT_TENANT)
        || user.startsWith("tenant-");
  }

  /** Every principal of these tenants, the fixed ones first. */
  static List<String> principals(List<String> tenants) {
    List<String> users = new ArrayList<>(List.of(ADMIN, JOB, POOL_LOADER));
    tenants.forEach(tenant -> users.add(tenantPrincipal(tenant)));
    return users;
  }

  /** Where the files are. */
  public Path directory() {
    return directory;
  }

  /** The tenants (topic prefixes) of this broker, in order. */
  public List<String> tenants() {
    return tenants;
  }

  /** Every SCRAM user with a password. */
  public Set<String> users() {
    return passwords.keySet();
  }

  /** The CA certificate (PEM) every client trusts. */
  public Path caCertificate() {
    return directory.resolve("ca.pem");
  }

  /** The broker's key pair and certificate chain (PKCS12). */
  Path keystore() {
    return directory.resolve("broker.p12");
  }

  /** The client properties file of {@code user}, once {@link #writeClientFiles} has run. */
  public Path clientPropertiesFile(String user) {
    return directory.resolve(user + ".properties");
  }

  /**
   * Every secret of this directory: the passwords and the private keys' store password. For tests
   * that check none of them is ever logged or printed.
   */
  public Set<String> secrets() {
    Set<String> secrets = new LinkedHashSet<>(passwords.values());
    secrets.add(keystorePassword);
    return secrets;
  }

  /**
   * The server settings of a secured single-node broker on these ports: SASL_SSL with SCRAM-SHA-512
   * for clients and between brokers, mutual TLS on the controller listener, and the standard
   * authorizer with {@link #ADMIN} and the broker's certificate as super users.
   *
   * <p>The same users may also log in with {@link #PLAIN} over the same TLS listener, for clients
   * whose SCRAM fails against Kafka 4 brokers (librdkafka before 2.6.1, e.g. Debian's 2.0.2 under
   * the Python client): the password then travels inside the TLS connection, and the principal and
   * its ACLs are the same.
   */
  public Properties serverProperties(int port, int controllerPort) {
    Properties properties = new Properties();
    properties.put(
        "listeners", "SASL_SSL://localhost:" + port + ",CONTROLLER://localhost:" + controllerPort);
    properties.put("advertised.listeners", "SASL_SSL://localhost:" + port);
    properties.put("listener.security.protocol.map", "SASL_SSL:SASL_SSL,CONTROLLER:SSL");
    properties.put("inter.broker.listener.name", "SASL_SSL");
    properties.put("sasl.enabled.mechanisms", MECHANISM + "," + PLAIN);
    StringBuilder plainUsers =
        new StringBuilder("org.apache.kafka.common.security.plain.PlainLoginModule required");
    passwords.forEach(
        (user, password) ->
            plainUsers.append(" user_").append(user).append("=\"").append(password).append('"'));
    properties.put(
        "listener.name.sasl_ssl.plain.sasl.jaas.config", plainUsers.append(';').toString());
    properties.put("sasl.mechanism.inter.broker.protocol", MECHANISM);
    properties.put(
        "listener.name.sasl_ssl." + MECHANISM.toLowerCase() + ".sasl.jaas.config",
        jaas(ADMIN, passwords.get(ADMIN)));
    properties.put("ssl.keystore.type", "PKCS12");
    properties.put("ssl.keystore.location", keystore().toString());
    properties.put("ssl.keystore.password", keystorePassword);
    properties.put("ssl.key.password", keystorePassword);
    properties.put("ssl.truststore.type", "PEM");
    properties.put("ssl.truststore.location", caCertificate().toString());
    properties.put("listener.name.controller.ssl.client.auth", "required");
    properties.put(
        "authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
    properties.put("super.users", "User:" + ADMIN + ";User:" + BROKER_DN);
    properties.put("allow.everyone.if.no.acl.found", "false");
    return properties;
  }

  /**
   * The StorageTool arguments that create every user's SCRAM credential when the storage is
   * formatted, so the broker's own user exists before it first connects to itself.
   */
  public List<String> formatArguments() {
    List<String> arguments = new ArrayList<>();
    passwords.forEach(
        (user, password) -> {
          arguments.add("--add-scram");
          arguments.add(MECHANISM + "=[name=" + user + ",password=" + password + "]");
        });
    return arguments;
  }

  /** The password of {@code user}. */
  String password(String user) {
    String password = passwords.get(user);
    if (password == null) {
      throw new IllegalArgumentException("no SCRAM user '" + user + "' in " + directory);
    }
    return password;
  }

  /** Client settings that authenticate as {@code user} on {@code bootstrapServers}. */
  public Properties clientProperties(String user, String bootstrapServers) {
    Properties properties = new Properties();
    properties.put("bootstrap.servers", bootstrapServers);
    properties.put("security.protocol", "SASL_SSL");
    properties.put("sasl.mechanism", MECHANISM);
    properties.put("sasl.jaas.config", jaas(user, password(user)));
    properties.put("ssl.truststore.type", "PEM");
    properties.put("ssl.truststore.location", caCertificate().toString());
    return properties;
  }

  /** Writes every user's client properties file ({@code 0600}) for {@code bootstrapServers}. */
  public void writeClientFiles(String bootstrapServers) {
    for (String user : passwords.keySet()) {
      writePrivate(
          clientPropertiesFile(user),
          clientProperties(user, bootstrapServers),
          "Kafka client settings of "
              + user
              + " (SASL_SSL, SCRAM-SHA-512): --kafka-config of moeplan commands; keep private");
    }
  }

  /**
   * The ACLs of every principal but the super user: the job reads each tenant's loads, pools and
   * worker times, writes its decisions, dead letters and model fits, and uses the consumer groups
   * starting with {@link #JOB_GROUP_PREFIX}; the pool loader writes each tenant's pools; a tenant
   * reads and describes the topics of its prefix, uses its groups, and writes its loads, pools and
   * worker times (a tenant without prefix: moeplan's plain topics), and nothing else.
   */
  public List<AclBinding> acls() {
    return acls(tenants);
  }

  /** The topics a tenant's executors and training job write to. */
  private static final List<Topic<?, ?>> TENANT_WRITES =
      List.of(Topics.EXPERT_LOAD, Topics.PLAN_POOL, Topics.WORKER_TIMES);

  /** The ACLs of {@link #acls()} for these tenants (topic prefixes; empty: the plain topics). */
  public static List<AclBinding> acls(List<String> tenants) {
    List<AclBinding> acls = new ArrayList<>();
    String job = "User:" + JOB;
    String loader = "User:" + POOL_LOADER;
    for (String tenant : tenants) {
      for (Topic<?, ?> topic : Topics.ALL) {
        String name = Topics.prefixed(tenant, topic.name());
        boolean input =
            topic == Topics.EXPERT_LOAD
                || topic == Topics.PLAN_POOL
                || topic == Topics.WORKER_TIMES;
        acls.add(literalTopic(name, job, input ? AclOperation.READ : AclOperation.WRITE));
        acls.add(literalTopic(name, job, AclOperation.DESCRIBE));
        if (topic == Topics.PLAN_POOL) {
          acls.add(literalTopic(name, loader, AclOperation.WRITE));
          acls.add(literalTopic(name, loader, AclOperation.DESCRIBE));
        }
      }
      String principal = "User:" + tenantPrincipal(tenant);
      // a tenant reads and describes its topics, and writes only what its training job sends:
      // loads, measured times and pools; decisions, fits and dead letters are the job's to write
      for (AclOperation operation : List.of(AclOperation.READ, AclOperation.DESCRIBE)) {
        if (tenant.isEmpty()) {
          for (Topic<?, ?> topic : Topics.ALL) {
            acls.add(literalTopic(topic.name(), principal, operation));
          }
        } else {
          acls.add(
              allow(
                  new ResourcePattern(ResourceType.TOPIC, tenant + ".", PatternType.PREFIXED),
                  principal,
                  operation));
        }
      }
      for (Topic<?, ?> topic : TENANT_WRITES) {
        acls.add(
            literalTopic(Topics.prefixed(tenant, topic.name()), principal, AclOperation.WRITE));
      }
      if (!tenant.isEmpty()) {
        acls.add(
            allow(
                new ResourcePattern(ResourceType.GROUP, tenant + ".", PatternType.PREFIXED),
                principal,
                AclOperation.READ));
      }
    }
    acls.add(
        allow(
            new ResourcePattern(ResourceType.GROUP, JOB_GROUP_PREFIX, PatternType.PREFIXED),
            job,
            AclOperation.READ));
    return acls;
  }

  private static AclBinding literalTopic(String topic, String principal, AclOperation operation) {
    return allow(
        new ResourcePattern(ResourceType.TOPIC, topic, PatternType.LITERAL), principal, operation);
  }

  private static AclBinding allow(
      ResourcePattern pattern, String principal, AclOperation operation) {
    return new AclBinding(
        pattern, new AccessControlEntry(principal, "*", operation, AclPermissionType.ALLOW));
  }

  private static String jaas(String user, String password) {
    return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
        + user
        + "\" password=\""
        + password
        + "\";";
  }

  /**
   * Makes the CA (its key stays in {@code ca.p12}), the broker's key pair with a certificate for
   * localhost signed by the CA, and the CA certificate as PEM for clients.
   */
  private void generateKeys(List<String> hosts) throws IOException {
    Path ca = directory.resolve("ca.p12");
    Path request = directory.resolve("broker.csr");
    Path signed = directory.resolve("broker-chain.pem");
    for (Path stale : List.of(ca, keystore(), caCertificate(), request, signed)) {
      Files.deleteIfExists(stale);
    }
    String validity = "3650";
    keytool(
        "-genkeypair",
        "-keystore",
        ca.toString(),
        "-storetype",
        "PKCS12",
        "-alias",
        "ca",
        "-keyalg",
        "EC",
        "-groupname",
        "secp256r1",
        "-dname",
        "CN=moeplan local CA",
        "-ext",
        "bc:c",
        "-validity",
        validity);
    keytool(
        "-exportcert",
        "-rfc",
        "-keystore",
        ca.toString(),
        "-alias",
        "ca",
        "-file",
        caCertificate().toString());
    keytool(
        "-genkeypair",
        "-keystore",
        keystore().toString(),
        "-storetype",
        "PKCS12",
        "-alias",
        "broker",
        "-keyalg",
        "EC",
        "-groupname",
        "secp256r1",
        "-dname",
        BROKER_DN,
        "-validity",
        validity);
    keytool(
        "-certreq",
        "-keystore",
        keystore().toString(),
        "-alias",
        "broker",
        "-file",
        request.toString());
    keytool(
        "-gencert",
        "-rfc",
        "-keystore",
        ca.toString(),
        "-alias",
        "ca",
        "-infile",
        request.toString(),
        "-outfile",
        signed.toString(),
        "-validity",
        validity,
        "-ext",
        san(hosts),
        "-ext",
        "eku=serverAuth,clientAuth");
    // the reply holds the whole chain, so keytool can verify it without trusting the CA first
    Files.writeString(
        signed,
        Files.readString(signed) + Files.readString(caCertificate()),
        StandardOpenOption.TRUNCATE_EXISTING);
    keytool(
        "-importcert",
        "-noprompt",
        "-keystore",
        keystore().toString(),
        "-alias",
        "broker",
        "-file",
        signed.toString());
    Files.delete(request);
    Files.delete(signed);
    for (Path file : List.of(ca, keystore(), caCertificate())) {
      restrict(file);
    }
  }

  private static String san(List<String> hosts) {
    StringBuilder san = new StringBuilder("san=dns:localhost,ip:127.0.0.1");
    for (String host : hosts) {
      san.append(",dns:").append(host);
    }
    return san.toString();
  }

  /** Runs the JDK's keytool with the store password passed through its environment. */
  private void keytool(String... arguments) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(List.of(arguments));
    command.addAll(List.of("-storepass:env", "MOEPLAN_STOREPASS"));
    if (List.of(arguments).contains("-genkeypair")) {
      command.addAll(List.of("-keypass:env", "MOEPLAN_STOREPASS"));
    }
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("MOEPLAN_STOREPASS", keystorePassword);
    Process process = builder.start();
    ByteArrayOutputStream output = new ByteArrayOutputStream();
    try (InputStream in = process.getInputStream()) {
      in.transferTo(output);
      if (!process.waitFor(KEYTOOL_BOUND_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IOException("keytool " + arguments[0] + " did not finish in time");
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running keytool " + arguments[0], e);
    }
    if (process.exitValue() != 0) {
      throw new IOException(
          "keytool "
              + arguments[0]
              + " failed with exit code "
              + process.exitValue()
              + ": "
              + output.toString(StandardCharsets.UTF_8).trim());
    }
  }

  private static void writePrivate(Path file, Properties properties, String comment) {
    try {
      createPrivateFile(file);
      try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.TRUNCATE_EXISTING)) {
        properties.store(out, comment);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  /**
   * Creates {@code file} anew (replacing one that exists), empty and readable and writable by its
   * owner only from its first moment where the file system has POSIX permissions: nobody can open
   * it before its mode is set and keep reading what is written later.
   */
  public static void createPrivateFile(Path file) throws IOException {
    Files.deleteIfExists(file);
    try {
      Files.createFile(
          file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system: the directory's own protection applies
      Files.createFile(file);
    }
  }

  /**
   * Makes a file keytool wrote readable and writable by its owner only (it wrote it in this
   * owner-only directory), where the file system allows it.
   */
  private static void restrict(Path file) throws IOException {
    try {
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system: the directory's own protection applies
    }
  }

  private static void restrictDirectory(Path directory) throws IOException {
    try {
      Set<PosixFilePermission> owner = PosixFilePermissions.fromString("rwx------");
      Files.setPosixFilePermissions(directory, owner);
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system
    }
  }

  private static String randomPassword() {
    SecureRandom random = new SecureRandom();
    char[] password = new char[32];
    for (int i = 0; i < password.length; i++) {
      password[i] = ALPHABET[random.nextInt(ALPHABET.length)];
    }
    return new String(password);
  }
}
