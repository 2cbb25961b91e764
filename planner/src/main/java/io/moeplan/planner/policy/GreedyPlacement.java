package io.moeplan.planner.policy;

import io.moeplan.planner.placement.Placement;
import java.util.Arrays;

/**
 * Longest-processing-time greedy placement over slots (SmartMoE's online rule): items sorted by
 * load descending (lower expert id first on equal load), each put on the worker with the least load
 * that still has a free slot; on an exact tie the worker that held the expert before wins, else the
 * lowest index.
 *
 * <p>With more slots than experts, the spare slots first go one at a time to the expert with the
 * largest load per replica (lowest id on ties, as EPLB's replication step); each replica is an item
 * of weight load / replicas, and a worker takes a second replica of the same expert only when no
 * other worker has room.
 */
public final class GreedyPlacement {
  private GreedyPlacement() {}

  /** Replica counts: one each, then spare slots to the largest load per replica. */
  public static int[] replicaCounts(double[] expertLoads, int slots) {
    int experts = expertLoads.length;
    if (slots < experts) {
      throw new IllegalArgumentException(slots + " slots cannot hold " + experts + " experts");
    }
    int[] counts = new int[experts];
    Arrays.fill(counts, 1);
    for (int spare = slots - experts; spare > 0; spare--) {
      int best = 0;
      for (int e = 1; e < experts; e++) {
        if (expertLoads[e] / counts[e] > expertLoads[best] / counts[best]) {
          best = e;
        }
      }
      counts[best]++;
    }
    return counts;
  }

  /** The greedy placement of {@code expertLoads}, sticky towards {@code previous}. */
  public static Placement place(double[] expertLoads, Placement previous) {
    return place(
        expertLoads,
        replicaCounts(expertLoads, previous.slotCount()),
        previous.workerCount(),
        previous.slotsPerWorker(),
        previous);
  }

  /** The greedy placement for given replica counts; {@code previous} may be null. */
  public static Placement place(
      double[] expertLoads, int[] replicas, int workers, int slotsPerWorker, Placement previous) {
    int experts = expertLoads.length;
    int items = 0;
    for (int r : replicas) {
      items += r;
    }
    if (items != workers * slotsPerWorker) {
      throw new IllegalArgumentException(
          "replica counts sum to " + items + ", expected " + workers * slotsPerWorker + " slots");
    }
    int[] itemExpert = new int[items];
    double[] itemWeight = new double[items];
    int k = 0;
    for (int e = 0; e < experts; e++) {
      for (int r = 0; r < replicas[e]; r++) {
        itemExpert[k] = e;
        itemWeight[k] = expertLoads[e] / replicas[e];
        k++;
      }
    }
    int[] order = sortByWeightDescending(itemWeight);
    boolean replicated = items > experts;
    int[] homes = previous == null ? null : homesOf(previous, experts);
    double[] workerLoad = new double[workers];
    int[] used = new int[workers];
    int[][] onWorker = new int[workers][slotsPerWorker];
    WorkerHeap heap = new WorkerHeap(workerLoad);
    int[] popped = new int[workers];
    for (int idx : order) {
      int e = itemExpert[idx];
      int best = heap.top();
      if (replicated && contains(onWorker[best], used[best], e)) {
        // look further for a worker without a replica of e (rare): pop, choose, push back
        int count = 0;
        while (!heap.isEmpty()) {
          int w = heap.top();
          if (count > 0
              && workerLoad[w] != workerLoad[best]
              && !contains(onWorker[best], used[best], e)) {
            break;
          }
          heap.remove(w);
          popped[count++] = w;
          if (count == 1 || better(w, best, e, workerLoad, onWorker, used, replicated, previous)) {
            best = w;
          }
        }
        for (int i = 0; i < count; i++) {
          heap.add(popped[i]);
        }
      } else if (homes != null && !isHome(homes, e, best)) {
        // an exact tie keeps the expert on a worker that held it before
        for (int at = homes[e]; at < homes[e + 1]; at++) {
          int h = homes[at];
          if (heap.contains(h)
              && workerLoad[h] == workerLoad[best]
              && !(replicated && contains(onWorker[h], used[h], e))) {
            best = h;
            break;
          }
        }
      }
      onWorker[best][used[best]++] = e;
      workerLoad[best] += itemWeight[idx];
      if (used[best] == slotsPerWorker) {
        heap.remove(best);
      } else {
        heap.increased(best);
      }
    }
    return arrange(onWorker, workers, slotsPerWorker, experts, previous);
  }

  /** Whether worker w is a better home than {@code best} for expert e (both popped). */
  private static boolean better(
      int w,
      int best,
      int e,
      double[] load,
      int[][] onWorker,
      int[] used,
      boolean replicated,
      Placement previous) {
    if (replicated) {
      boolean holds = contains(onWorker[w], used[w], e);
      boolean bestHolds = contains(onWorker[best], used[best], e);
      if (holds != bestHolds) {
        return !holds;
      }
    }
    if (load[w] != load[best]) {
      return load[w] < load[best];
    }
    if (previous != null) {
      boolean home = previous.workerHolds(w, e);
      boolean bestHome = previous.workerHolds(best, e);
      if (home != bestHome) {
        return home;
      }
    }
    return w < best;
  }

  private static boolean isHome(int[] homes, int e, int w) {
    for (int k = homes[e]; k < homes[e + 1]; k++) {
      if (homes[k] == w) {
        return true;
      }
    }
    return false;
  }

  /**
   * For each expert, the workers that hold it in {@code previous}, ascending, in one array: the
   * workers of expert e are at {@code [homes[e], homes[e + 1])}, offsets counted from index {@code
   * experts + 1}.
   */
  private static int[] homesOf(Placement previous, int experts) {
    int slots = previous.slotCount();
    int spw = previous.slotsPerWorker();
    int[] homes = new int[experts + 1 + slots];
    int[] counts = new int[experts];
    for (int slot = 0; slot < slots; slot++) {
      counts[previous.expertAt(slot)]++;
    }
    homes[0] = experts + 1;
    for (int e = 0; e < experts; e++) {
      homes[e + 1] = homes[e] + counts[e];
    }
    int[] fill = new int[experts];
    for (int slot = 0; slot < slots; slot++) {
      int e = previous.expertAt(slot);
      int w = slot / spw;
      int at = homes[e] + fill[e];
      if (fill[e] == 0 || homes[at - 1] != w) {
        homes[at] = w;
        fill[e]++;
      }
    }
    // duplicates on one worker leave unused cells: shrink each range to what was filled
    int[] out = new int[experts + 1 + slots];
    out[0] = experts + 1;
    for (int e = 0; e < experts; e++) {
      System.arraycopy(homes, homes[e], out, out[e], fill[e]);
      out[e + 1] = out[e] + fill[e];
    }
    return out;
  }

  /** Workers with a free slot, a binary min-heap by (load, index) with positions for updates. */
  private static final class WorkerHeap {
    private final double[] load;
    private final int[] heap;
    private final int[] pos;
    private int size;

    WorkerHeap(double[] load) {
      this.load = load;
      this.heap = new int[load.length];
      this.pos = new int[load.length];
      for (int w = 0; w < load.length; w++) {
        heap[w] = w;
        pos[w] = w;
      }
      this.size = load.length;
    }

    boolean isEmpty() {
      return size == 0;
    }

    int top() {
      return heap[0];
    }

    boolean contains(int w) {
      return pos[w] >= 0;
    }

    void add(int w) {
      heap[size] = w;
      pos[w] = size;
      size++;
      up(pos[w]);
    }

    void remove(int w) {
      int i = pos[w];
      int last = heap[--size];
      pos[w] = -1;
      if (i < size) {
        heap[i] = last;
        pos[last] = i;
        up(i);
        down(pos[last]);
      }
    }

    void increased(int w) {
      down(pos[w]);
    }

    private boolean less(int a, int b) {
      return load[a] < load[b] || (load[a] == load[b] && a < b);
    }

    private void up(int i) {
      int w = heap[i];
      while (i > 0) {
        int parent = (i - 1) / 2;
        if (!less(w, heap[parent])) {
          break;
        }
        heap[i] = heap[parent];
        pos[heap[i]] = i;
        i = parent;
      }
      heap[i] = w;
      pos[w] = i;
    }

    private void down(int i) {
      int w = heap[i];
      while (true) {
        int child = 2 * i + 1;
        if (child >= size) {
          break;
        }
        if (child + 1 < size && less(heap[child + 1], heap[child])) {
          child++;
        }
        if (!less(heap[child], w)) {
          break;
        }
        heap[i] = heap[child];
        pos[heap[i]] = i;
        i = child;
      }
      heap[i] = w;
      pos[w] = i;
    }
  }

  /** Item indices by weight descending, lower index first on equal weight (a stable sort). */
  static int[] sortByWeightDescending(double[] weight) {
    int n = weight.length;
    int[] idx = new int[n];
    double[] w = weight.clone();
    for (int i = 0; i < n; i++) {
      idx[i] = i;
    }
    // insertion sort of short runs, then merges; an item only passes strictly lighter ones
    final int run = 16;
    for (int lo = 0; lo < n; lo += run) {
      int hi = Math.min(lo + run, n);
      for (int i = lo + 1; i < hi; i++) {
        double key = w[i];
        int item = idx[i];
        int j = i - 1;
        while (j >= lo && w[j] < key) {
          w[j + 1] = w[j];
          idx[j + 1] = idx[j];
          j--;
        }
        w[j + 1] = key;
        idx[j + 1] = item;
      }
    }
    int[] idxTo = new int[n];
    double[] wTo = new double[n];
    for (int width = run; width < n; width *= 2) {
      for (int lo = 0; lo < n; lo += 2 * width) {
        int mid = Math.min(lo + width, n);
        int hi = Math.min(lo + 2 * width, n);
        int i = lo;
        int j = mid;
        int k = lo;
        while (i < mid && j < hi) {
          if (w[j] > w[i]) {
            wTo[k] = w[j];
            idxTo[k++] = idx[j++];
          } else {
            wTo[k] = w[i];
            idxTo[k++] = idx[i++];
          }
        }
        while (i < mid) {
          wTo[k] = w[i];
          idxTo[k++] = idx[i++];
        }
        while (j < hi) {
          wTo[k] = w[j];
          idxTo[k++] = idx[j++];
        }
      }
      int[] ti = idx;
      idx = idxTo;
      idxTo = ti;
      double[] tw = w;
      w = wTo;
      wTo = tw;
    }
    return idx;
  }

  private static boolean contains(int[] values, int count, int v) {
    for (int i = 0; i < count; i++) {
      if (values[i] == v) {
        return true;
      }
    }
    return false;
  }

  /**
   * Lays the experts of each worker into its slots so that an expert that already occupied a slot
   * of that worker in {@code previous} stays in that slot.
   */
  public static Placement arrange(
      int[][] onWorker, int workers, int slotsPerWorker, int experts, Placement previous) {
    int[] s2e = new int[workers * slotsPerWorker];
    boolean[] taken = new boolean[slotsPerWorker];
    boolean[] placed = new boolean[slotsPerWorker];
    for (int w = 0; w < workers; w++) {
      int base = w * slotsPerWorker;
      Arrays.fill(taken, false);
      Arrays.fill(placed, false);
      if (previous != null) {
        for (int i = 0; i < slotsPerWorker; i++) {
          for (int j = 0; j < slotsPerWorker; j++) {
            if (!placed[j] && !taken[i] && previous.expertAt(base + i) == onWorker[w][j]) {
              s2e[base + i] = onWorker[w][j];
              taken[i] = true;
              placed[j] = true;
              break;
            }
          }
        }
      }
      int next = 0;
      for (int j = 0; j < slotsPerWorker; j++) {
        if (placed[j]) {
          continue;
        }
        while (taken[next]) {
          next++;
        }
        s2e[base + next] = onWorker[w][j];
        taken[next] = true;
      }
    }
    return Placement.of(s2e, workers, slotsPerWorker, experts);
  }

  /** The largest per-worker token count of a placement, tokens split evenly among replicas. */
  public static double maxWorkerTokens(Placement placement, double[] expertLoads) {
    double[] perWorker = new double[placement.workerCount()];
    for (int s = 0; s < placement.slotCount(); s++) {
      int e = placement.expertAt(s);
      perWorker[placement.workerOf(s)] += expertLoads[e] / placement.replicaCount(e);
    }
    double max = 0;
    for (double v : perWorker) {
      max = Math.max(max, v);
    }
    return max;
  }
}
