package io.moeplan.planner.pool;

/**
 * A parallel config given for the search ({@link PoolOptions#parallel()}) that the cluster and
 * model refuse; the message names the config, the rule it breaks and the numbers behind it.
 */
public final class RefusedConfigException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final transient RefusedConfig refused;

  /** The exception for {@code refused}. */
  public RefusedConfigException(RefusedConfig refused) {
    super(
        String.format(
            "tp=%d,pp=%d,dp=%d,ep=%d,slots=%d is refused (%s): %s",
            refused.tp(),
            refused.pp(),
            refused.dp(),
            refused.ep(),
            refused.slotsPerWorker(),
            refused.reason(),
            refused.detail()));
    this.refused = refused;
  }

  /** The refusal, with the config as given. */
  public RefusedConfig refused() {
    return refused;
  }
}
