package io.moeplan.poolloader;

import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;

/**
 * Explains a Kafka client's failure to use a topic in one sentence for the person running the
 * client: which principal was refused which operation on which topic, and the {@code kafka-acls.sh}
 * command that would grant it; a failed login with what to check; a broker that never answered with
 * the likely cause. Never includes a password.
 */
public final class KafkaAccessErrors {

  private static final Pattern USERNAME = Pattern.compile("username\\s*=\\s*\"([^\"]*)\"");

  private KafkaAccessErrors() {}

  /**
   * One sentence on why {@code operation} (READ, WRITE, DESCRIBE) on {@code topic} failed with
   * {@code error} for a client with settings {@code client}.
   */
  public static String explain(Throwable error, String operation, String topic, Properties client) {
    Throwable cause = rootKafkaCause(error);
    String principal = principal(client);
    String bootstrap = String.valueOf(client.getProperty("bootstrap.servers", "?"));
    if (cause instanceof TopicAuthorizationException denied) {
      String refused =
          denied.unauthorizedTopics().isEmpty()
              ? topic
              : String.join(", ", denied.unauthorizedTopics());
      return "not authorized to "
          + operation
          + " topic '"
          + refused
          + "' as "
          + principal
          + " on "
          + bootstrap
          + ": the broker has no ACL allowing it; a platform team grants it with: kafka-acls.sh"
          + " --bootstrap-server "
          + bootstrap
          + " --command-config admin.properties --add --allow-principal "
          + principal
          + " --operation "
          + capitalized(operation)
          + " --topic "
          + refused;
    }
    if (cause instanceof GroupAuthorizationException denied) {
      return "not authorized to use consumer group '"
          + denied.groupId()
          + "' as "
          + principal
          + " on "
          + bootstrap
          + ": grant it with kafka-acls.sh --add --allow-principal "
          + principal
          + " --operation Read --group "
          + denied.groupId();
    }
    if (cause instanceof SaslAuthenticationException) {
      return "the broker "
          + bootstrap
          + " refused the login of "
          + principal
          + " ("
          + cause.getMessage()
          + "): check sasl.mechanism and the user name and password in sasl.jaas.config of"
          + " --kafka-config";
    }
    if (cause instanceof SslAuthenticationException) {
      return "TLS handshake with "
          + bootstrap
          + " failed ("
          + firstLine(cause.getMessage())
          + "): check ssl.truststore.location (the broker's CA certificate) in --kafka-config";
    }
    if (cause instanceof AuthenticationException) {
      return "authentication with " + bootstrap + " failed: " + cause.getMessage();
    }
    if (cause instanceof TimeoutException
        && !client.getProperty("security.protocol", "PLAINTEXT").startsWith("SASL")) {
      return "no answer from "
          + bootstrap
          + " to "
          + operation
          + " topic '"
          + topic
          + "' in time ("
          + cause.getMessage()
          + "); if the broker is secured (SASL_SSL), connect with its client properties:"
          + " --kafka-config FILE";
    }
    return "cannot " + operation + " topic '" + topic + "' on " + bootstrap + ": " + cause;
  }

  /**
   * What to add to a failure's own message: {@code ": "} and {@link #explain}'s sentence when the
   * failure is a refused login or operation, the hint to connect with {@code --kafka-config} when a
   * client without SASL got no answer, nothing otherwise.
   */
  public static String hint(Throwable error, String operation, String topic, Properties client) {
    Throwable cause = rootKafkaCause(error);
    boolean access =
        cause instanceof TopicAuthorizationException
            || cause instanceof GroupAuthorizationException
            || cause instanceof AuthenticationException;
    boolean plainTimeout =
        cause instanceof TimeoutException
            && !client.getProperty("security.protocol", "PLAINTEXT").startsWith("SASL");
    return access || plainTimeout ? ": " + explain(error, operation, topic, client) : "";
  }

  /** The principal the settings log in as: {@code User:name}, or {@code ANONYMOUS}. */
  static String principal(Properties client) {
    Object jaas = client.get("sasl.jaas.config");
    if (jaas != null) {
      Matcher matcher = USERNAME.matcher(jaas.toString());
      if (matcher.find()) {
        return "User:" + matcher.group(1);
      }
    }
    return "User:ANONYMOUS";
  }

  private static Throwable rootKafkaCause(Throwable error) {
    Throwable cause = error;
    while (cause.getCause() != null
        && !(cause instanceof TopicAuthorizationException)
        && !(cause instanceof GroupAuthorizationException)
        && !(cause instanceof AuthenticationException)) {
      cause = cause.getCause();
    }
    return cause;
  }

  private static String capitalized(String operation) {
    String lower = operation.toLowerCase(java.util.Locale.ROOT);
    return Character.toUpperCase(lower.charAt(0)) + lower.substring(1);
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "no detail";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }
}
