package io.moeplan.schemas;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The rules of tenants sharing one Kafka cluster and one plan-selector job. A tenant is a topic
 * prefix: its topics are {@code prefix.moe.expert-load}, {@code prefix.moe.plan-decisions}, ...
 * ({@link Topics#prefixed}), and its job ids start with the prefix and a dot ({@code
 * prefix.train-1}), so job ids never collide between tenants and the job can tell from a record's
 * job id which tenant it belongs to. A prefix is letters, digits, {@code '_'} and {@code '-'}, no
 * dot: no tenant's prefix, with its dot, is the start of another tenant's topics.
 */
public final class Tenants {

  private static final Pattern PREFIX = Pattern.compile("[A-Za-z0-9_-]{1,100}");

  private Tenants() {}

  /** Why {@code prefix} cannot be a topic prefix, or null when it can. */
  public static String problem(String prefix) {
    if (prefix == null || !PREFIX.matcher(prefix).matches()) {
      return "topic prefix must be 1-100 letters, digits, '_' or '-' (no '.'), got '"
          + prefix
          + "'";
    }
    for (Topic<?, ?> topic : Topics.ALL) {
      if (topic.name().startsWith(prefix + ".")) {
        // a tenant's ACLs are prefixed by 'prefix.': they would cover the plain topics
        return "topic prefix '"
            + prefix
            + "' is taken: moeplan's plain topics ("
            + topic.name()
            + ", ...) start with '"
            + prefix
            + ".', so the tenant's prefixed ACLs would cover them";
      }
    }
    return null;
  }

  /**
   * The prefixes of a comma-separated list (blank: none), checked, without repeats.
   *
   * @throws IllegalArgumentException naming a bad or repeated prefix
   */
  public static List<String> parse(String commaSeparated) {
    List<String> prefixes = new ArrayList<>();
    if (commaSeparated == null || commaSeparated.isBlank()) {
      return prefixes;
    }
    Set<String> seen = new LinkedHashSet<>();
    for (String part : commaSeparated.split(",", -1)) {
      String prefix = part.trim();
      String problem = problem(prefix);
      if (problem != null) {
        throw new IllegalArgumentException(problem);
      }
      if (!seen.add(prefix)) {
        throw new IllegalArgumentException("topic prefix '" + prefix + "' is given twice");
      }
      prefixes.add(prefix);
    }
    return prefixes;
  }

  /**
   * Whether {@code jobId} is a job id of the tenant {@code prefix}: it starts with {@code prefix.}.
   */
  public static boolean owns(String prefix, String jobId) {
    return jobId != null
        && jobId.length() > prefix.length() + 1
        && jobId.startsWith(prefix)
        && jobId.charAt(prefix.length()) == '.';
  }

  /**
   * Why {@code jobId} is not a job id of the tenant {@code prefix}, or null when it is: what a user
   * sees when an option names a job outside the tenant.
   */
  public static String notOwned(String prefix, String jobId) {
    if (owns(prefix, jobId)) {
      return null;
    }
    return "job id '"
        + jobId
        + "' must start with '"
        + prefix
        + ".': the job ids of tenant --topic-prefix "
        + prefix
        + " start with its prefix and a dot";
  }

  /**
   * The tenant prefix a job id names (the part before its first dot), or null without a dot or
   * without anything after it (no tenant {@link #owns} such an id).
   */
  public static String prefixOf(String jobId) {
    int dot = jobId == null ? -1 : jobId.indexOf('.');
    return dot <= 0 || dot == jobId.length() - 1 ? null : jobId.substring(0, dot);
  }
}
