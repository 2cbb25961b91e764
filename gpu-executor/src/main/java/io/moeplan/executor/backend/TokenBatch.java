package io.moeplan.executor.backend;

/**
 * Token embeddings entering a layer, row-major (tokens x hidden); rank r owns rows [r *
 * tokensPerRank, (r + 1) * tokensPerRank).
 */
public record TokenBatch(int ranks, int tokensPerRank, int hidden, float[] embeddings) {

  /** Validates the array length against the dimensions. */
  public TokenBatch {
    if (ranks <= 0 || tokensPerRank <= 0 || hidden <= 0) {
      throw new IllegalArgumentException("ranks, tokensPerRank and hidden must be positive");
    }
    if (embeddings.length != (long) ranks * tokensPerRank * hidden) {
      throw new IllegalArgumentException(
          "embeddings hold " + embeddings.length + " values, expected ranks*tokensPerRank*hidden");
    }
  }

  /** Seeded embeddings, standard normal; never zero. */
  public static TokenBatch random(int ranks, int tokensPerRank, int hidden, long seed) {
    java.util.Random rnd = new java.util.Random(seed);
    float[] x = new float[Math.multiplyExact(ranks * tokensPerRank, hidden)];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) rnd.nextGaussian();
    }
    return new TokenBatch(ranks, tokensPerRank, hidden, x);
  }

  /** Total number of tokens. */
  public int tokens() {
    return ranks * tokensPerRank;
  }

  /** The rank that owns a token. */
  public int rankOf(int token) {
    return token / tokensPerRank;
  }
}
