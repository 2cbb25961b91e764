package io.moeplan.planner.pool;

import io.moeplan.planner.spec.ParallelConfig;
import java.util.List;

/**
 * The outcome of {@link ConfigEnumerator#enumerate}: the valid parallel configs in enumeration
 * order and the refused combinations with their reasons.
 *
 * @param valid configs that satisfy every rule
 * @param refused combinations refused, in enumeration order
 */
public record ConfigEnumeration(List<ParallelConfig> valid, List<RefusedConfig> refused) {
  /** Copies both lists. */
  public ConfigEnumeration {
    valid = List.copyOf(valid);
    refused = List.copyOf(refused);
  }
}
