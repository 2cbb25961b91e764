package io.moeplan.planner.pool;

import io.moeplan.planner.placement.LoadMatrix;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Groups the samples of a {@link LoadHistory} into load regimes by a deterministic k-medoids.
 *
 * <p>A sample's feature vector is, for every layer, its per-expert token shares (expert totals over
 * the layer total), concatenated; distances are Euclidean (not squared, so a few outlying samples,
 * such as the first iterations of a training run, do not claim regimes of their own). The medoids
 * start as PAM's BUILD step picks them: first the sample with the smallest summed distance to all
 * others, then, one at a time, the sample that lowers the summed distance to the nearest medoid
 * most (stopping early when no sample lowers it, e.g. all samples alike). Then samples are assigned
 * to their nearest medoid and each medoid moves to the member with the smallest summed distance to
 * its cluster, until nothing changes. Ties go to the lowest index. Regimes are ordered by their
 * earliest sample.
 */
final class LoadRegimes {
  private static final int MAX_ROUNDS = 100;

  private LoadRegimes() {}

  /**
   * One regime: its samples, its share of all samples and its mean load per history layer.
   *
   * @param samples sample indices, ascending
   * @param weight samples in the regime over all samples
   * @param meanByLayer element-wise mean of the regime's samples, per history layer
   */
  record Regime(List<Integer> samples, double weight, List<LoadMatrix> meanByLayer) {}

  /** At most {@code k} regimes of the history's samples. */
  static List<Regime> find(LoadHistory history, int k) {
    int n = history.sampleCount();
    double[][] features = features(history);
    double[][] dist = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = i + 1; j < n; j++) {
        double d = 0;
        for (int x = 0; x < features[i].length; x++) {
          double diff = features[i][x] - features[j][x];
          d += diff * diff;
        }
        dist[i][j] = Math.sqrt(d);
        dist[j][i] = dist[i][j];
      }
    }
    int[] medoids = initialMedoids(dist, Math.min(k, n));
    int[] assign = new int[n];
    for (int round = 0; round < MAX_ROUNDS; round++) {
      assignAll(dist, medoids, assign);
      boolean moved = false;
      for (int c = 0; c < medoids.length; c++) {
        int best = medoids[c];
        double bestCost = clusterCost(dist, assign, c, best);
        for (int i = 0; i < n; i++) {
          if (assign[i] == c) {
            double cost = clusterCost(dist, assign, c, i);
            if (cost < bestCost || (cost == bestCost && i < best)) {
              best = i;
              bestCost = cost;
            }
          }
        }
        if (best != medoids[c]) {
          medoids[c] = best;
          moved = true;
        }
      }
      if (!moved) {
        break;
      }
    }
    assignAll(dist, medoids, assign);
    List<List<Integer>> members = new ArrayList<>();
    for (int c = 0; c < medoids.length; c++) {
      members.add(new ArrayList<>());
    }
    for (int i = 0; i < n; i++) {
      members.get(assign[i]).add(i);
    }
    members.removeIf(List::isEmpty);
    members.sort((a, b) -> Integer.compare(a.get(0), b.get(0)));
    List<Regime> regimes = new ArrayList<>(members.size());
    for (List<Integer> m : members) {
      regimes.add(new Regime(List.copyOf(m), (double) m.size() / n, means(history, m)));
    }
    return regimes;
  }

  private static double[][] features(LoadHistory history) {
    int n = history.sampleCount();
    int layers = history.layerCount();
    int experts = history.experts();
    double[][] f = new double[n][layers * experts];
    for (int i = 0; i < n; i++) {
      for (int l = 0; l < layers; l++) {
        LoadMatrix m = history.sample(l, i);
        double total = m.total();
        if (total > 0) {
          for (int e = 0; e < experts; e++) {
            f[i][l * experts + e] = m.expertTotal(e) / total;
          }
        }
      }
    }
    return f;
  }

  /** PAM's BUILD step: each next medoid is the sample that lowers the total distance most. */
  private static int[] initialMedoids(double[][] dist, int k) {
    int n = dist.length;
    int first = 0;
    double firstCost = Double.POSITIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      double s = 0;
      for (int j = 0; j < n; j++) {
        s += dist[i][j];
      }
      if (s < firstCost) {
        firstCost = s;
        first = i;
      }
    }
    int[] medoids = new int[k];
    medoids[0] = first;
    int count = 1;
    double[] nearest = dist[first].clone();
    while (count < k) {
      int next = -1;
      double nextGain = 0;
      for (int c = 0; c < n; c++) {
        double gain = 0;
        for (int i = 0; i < n; i++) {
          gain += Math.max(0, nearest[i] - dist[c][i]);
        }
        if (gain > nextGain) {
          nextGain = gain;
          next = c;
        }
      }
      if (next < 0) {
        break;
      }
      medoids[count++] = next;
      for (int i = 0; i < n; i++) {
        nearest[i] = Math.min(nearest[i], dist[next][i]);
      }
    }
    return Arrays.copyOf(medoids, count);
  }

  private static void assignAll(double[][] dist, int[] medoids, int[] assign) {
    for (int i = 0; i < assign.length; i++) {
      int best = 0;
      for (int c = 1; c < medoids.length; c++) {
        if (dist[i][medoids[c]] < dist[i][medoids[best]]) {
          best = c;
        }
      }
      assign[i] = best;
    }
  }

  private static double clusterCost(double[][] dist, int[] assign, int cluster, int center) {
    double s = 0;
    for (int i = 0; i < assign.length; i++) {
      if (assign[i] == cluster) {
        s += dist[center][i];
      }
    }
    return s;
  }

  private static List<LoadMatrix> means(LoadHistory history, List<Integer> samples) {
    List<LoadMatrix> out = new ArrayList<>(history.layerCount());
    int sources = history.sources();
    int experts = history.experts();
    for (int l = 0; l < history.layerCount(); l++) {
      double[] sum = new double[sources * experts];
      for (int i : samples) {
        double[] v = history.sample(l, i).toFlatArray();
        for (int x = 0; x < sum.length; x++) {
          sum[x] += v[x];
        }
      }
      for (int x = 0; x < sum.length; x++) {
        sum[x] /= samples.size();
      }
      out.add(LoadMatrix.ofFlat(sources, experts, sum));
    }
    return out;
  }
}
