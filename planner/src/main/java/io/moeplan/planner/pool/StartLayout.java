package io.moeplan.planner.pool;

import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The placement every MoE layer of a job runs before its first decision: the layout the training
 * job itself starts on, so it need not reshuffle its experts to match the pool. The selector starts
 * from it and its first decision switches away only when that pays.
 *
 * @param source where the layout came from: {@value #CONTIGUOUS} or a file name
 * @param placements one placement per MoE layer, in layer order
 */
public record StartLayout(String source, List<Placement> placements) {

  /** The name of the standard layout: worker {@code w} holds experts {@code wS .. wS + S - 1}. */
  public static final String CONTIGUOUS = "contiguous";

  /** Copies the list. */
  public StartLayout {
    Objects.requireNonNull(source, "source");
    placements = List.copyOf(placements);
    if (placements.isEmpty()) {
      throw new IllegalArgumentException("a start layout needs a placement per MoE layer");
    }
  }

  /**
   * The standard layout most training jobs start on: slot {@code s} holds expert {@code s mod
   * experts}, so with {@code S} slots per worker worker {@code w} holds experts {@code wS .. wS + S
   * - 1}, and spare slots repeat experts round-robin.
   */
  public static StartLayout contiguous(ParallelConfig parallel, ModelSpec model) {
    Placement placement =
        Placement.staticLayout(parallel.ep(), parallel.slotsPerWorker(), model.expertCount());
    List<Placement> layers = new ArrayList<>(model.moeLayers());
    for (int layer = 0; layer < model.moeLayers(); layer++) {
      layers.add(placement);
    }
    return new StartLayout(CONTIGUOUS, layers);
  }

  /**
   * A layout from a text file: one line per MoE layer, each the expert of every slot in slot order
   * (slot {@code s} on worker {@code s / slotsPerWorker}), separated by commas or spaces; a file of
   * one line gives every layer that line. Blank lines and lines starting with {@code #} are
   * skipped.
   *
   * @throws IllegalArgumentException naming the file, line and problem
   */
  public static StartLayout read(Path file, ParallelConfig parallel, ModelSpec model)
      throws IOException {
    return parse(file.getFileName().toString(), Files.readAllLines(file), parallel, model);
  }

  /** A layout from the lines of a layout file named {@code source} (see {@link #read}). */
  public static StartLayout parse(
      String source, List<String> lines, ParallelConfig parallel, ModelSpec model) {
    int slots = parallel.ep() * parallel.slotsPerWorker();
    List<Placement> layers = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String where = source + " line " + (i + 1);
      String[] fields = line.split("[,\\s]+");
      if (fields.length != slots) {
        throw new IllegalArgumentException(
            where
                + ": "
                + fields.length
                + " experts, but the plan has "
                + slots
                + " slots ("
                + parallel.ep()
                + " workers x "
                + parallel.slotsPerWorker()
                + ")");
      }
      int[] experts = new int[slots];
      for (int s = 0; s < slots; s++) {
        try {
          experts[s] = Integer.parseInt(fields[s]);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(
              where + ": slot " + s + " holds '" + fields[s] + "', not an expert number", e);
        }
      }
      try {
        layers.add(
            Placement.of(experts, parallel.ep(), parallel.slotsPerWorker(), model.expertCount()));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
      }
    }
    if (layers.size() == 1) {
      for (int layer = 1; layer < model.moeLayers(); layer++) {
        layers.add(layers.get(0));
      }
    }
    if (layers.size() != model.moeLayers()) {
      throw new IllegalArgumentException(
          source
              + ": "
              + layers.size()
              + " layouts, but the model has "
              + model.moeLayers()
              + " MoE layers (give one line per layer, or one line for all)");
    }
    return new StartLayout(source, layers);
  }

  /** The placement {@code layer} starts on. */
  public Placement placement(int layer) {
    return placements.get(layer);
  }

  /** Refuses a layout that does not fit {@code parallel} and {@code model}, naming the layer. */
  void checkFits(ParallelConfig parallel, ModelSpec model) {
    if (placements.size() != model.moeLayers()) {
      throw new IllegalArgumentException(
          "start layout '"
              + source
              + "' has "
              + placements.size()
              + " layers, the model "
              + model.moeLayers());
    }
    for (int layer = 0; layer < placements.size(); layer++) {
      Placement p = placements.get(layer);
      if (p.workerCount() != parallel.ep()
          || p.slotsPerWorker() != parallel.slotsPerWorker()
          || p.expertCount() != model.expertCount()) {
        throw new IllegalArgumentException(
            "start layout '"
                + source
                + "', layer "
                + layer
                + ": "
                + p.workerCount()
                + " workers x "
                + p.slotsPerWorker()
                + " slots of "
                + p.expertCount()
                + " experts, but the starting plan has "
                + parallel.ep()
                + " x "
                + parallel.slotsPerWorker()
                + " of "
                + model.expertCount());
      }
    }
  }
}
