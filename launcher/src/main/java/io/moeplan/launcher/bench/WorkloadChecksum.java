package io.moeplan.launcher.bench;

import java.util.Locale;

/**
 * A 64-bit FNV-1a hash of a run's workload: every iteration's number and the tokens each rank
 * routed to each expert of each layer ({@code counts[rank][layer][expert]}), in order. Two runs
 * that routed the same tokens in the same iterations have the same checksum.
 */
public final class WorkloadChecksum {

  private static final long OFFSET = 0xcbf29ce484222325L;
  private static final long PRIME = 0x100000001b3L;

  private long hash = OFFSET;
  private long iterations;

  /** Adds one iteration. */
  public void add(long iteration, long[][][] counts) {
    mix(iteration);
    for (long[][] rank : counts) {
      mix(rank.length);
      for (long[] layer : rank) {
        mix(layer.length);
        for (long count : layer) {
          mix(count);
        }
      }
    }
    iterations++;
  }

  private void mix(long value) {
    for (int shift = 0; shift < 64; shift += 8) {
      hash ^= (value >>> shift) & 0xff;
      hash *= PRIME;
    }
  }

  /** Iterations added. */
  public long iterations() {
    return iterations;
  }

  /** The hash so far. */
  public long value() {
    return hash;
  }

  /** The hash as 16 hex digits. */
  public String hex() {
    return String.format(Locale.ROOT, "%016x", hash);
  }
}
