package io.moeplan.planner.trace;

import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.spec.Limits;
import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Streams an expert-load trace in CSV (the format of the GPT-MoE trace): a header {@code
 * iteration,rank,layer,e0,...,e(E-1)} and one row per (iteration, rank, layer) with the tokens the
 * rank routed to each expert; rows of one iteration are contiguous. Gzip files ({@code .gz}) are
 * decompressed on the fly; only one iteration is held in memory.
 *
 * <p>Rank folding: when the replay has fewer workers than the trace has ranks, trace rank {@code r}
 * runs on worker {@code r mod workers} and its counts are added to that worker's row, so a worker
 * routes the tokens of every rank folded onto it; with at least as many workers as ranks, rank r is
 * worker r and the remaining workers route nothing.
 *
 * <p>Layers: a trace may hold any contiguous range of layers (a file of layers 12-23, say); the
 * layers of its first iteration are the file's layers ({@link #fileLayers()}). Samples keep the
 * trace's own layer numbers ({@link TraceSample#firstLayer()}). {@link #open(Path, int)} reads
 * every layer of the file, {@link #openLayers} a range of them and {@link #openModelLayers} the
 * first {@code L} layers in file order, for a model whose layer {@code l} is the file's {@code
 * l}-th.
 */
public final class TraceReader implements Closeable {
  private final String name;
  private final BufferedReader in;
  private final int workers;
  private final int firstLayer;
  private final int lastLayer;
  private final int experts;
  private final BitSet fileLayers = new BitSet();
  private final ArrayDeque<String> lookahead = new ArrayDeque<>();
  private long lookaheadLine;
  private long linesRead;
  private long lineNumber;
  private String pendingLine;
  private boolean finished;
  private long lastIteration = Long.MIN_VALUE;

  /** Which layers a reader keeps. */
  private enum Selection {
    /** The given range; layers the file lacks are absent from the samples. */
    LENIENT,
    /** The given range, which must lie within the file's layers. */
    WITHIN_FILE,
    /** Every layer of the file. */
    ALL,
    /** The file's first {@code count} layers ({@code first} holds the count). */
    FIRST_COUNT
  }

  private TraceReader(
      String name, InputStream raw, int workers, Selection selection, int first, int last)
      throws IOException {
    if (workers < 1 || workers > Limits.MAX_WORKERS) {
      throw new IllegalArgumentException(
          "workers must be in [1, " + Limits.MAX_WORKERS + "], got " + workers);
    }
    if (selection == Selection.FIRST_COUNT && first < 1) {
      throw new IllegalArgumentException("layer count must be >= 1, got " + first);
    }
    if ((selection == Selection.LENIENT || selection == Selection.WITHIN_FILE)
        && (first < 0 || last < first)) {
      throw new IllegalArgumentException(
          "layer range " + first + "-" + last + " is empty or negative");
    }
    this.name = name;
    this.in = new BufferedReader(new InputStreamReader(raw, StandardCharsets.UTF_8), 1 << 16);
    this.workers = workers;
    String header = in.readLine();
    linesRead = 1;
    lineNumber = 1;
    if (header == null) {
      throw new TraceFormatException(name + ":1: empty file, expected a header");
    }
    String[] cols = header.trim().split(",", -1);
    if (cols.length < 4
        || !cols[0].equals("iteration")
        || !cols[1].equals("rank")
        || !cols[2].equals("layer")) {
      throw new TraceFormatException(
          name
              + ":1: header must be iteration,rank,layer,e0,...; got '"
              + abbreviate(header)
              + "'");
    }
    for (int i = 3; i < cols.length; i++) {
      if (!cols[i].equals("e" + (i - 3))) {
        throw new TraceFormatException(
            name + ":1: column " + (i + 1) + " must be 'e" + (i - 3) + "', got '" + cols[i] + "'");
      }
    }
    this.experts = cols.length - 3;
    if (experts > Limits.MAX_EXPERTS) {
      throw new TraceFormatException(
          name + ":1: " + experts + " experts, more than " + Limits.MAX_EXPERTS);
    }
    peekFirstIteration();
    int fileFirst = fileLayers.nextSetBit(0);
    int fileLast = fileLayers.length() - 1;
    if (selection != Selection.LENIENT
        && !fileLayers.isEmpty()
        && fileLayers.cardinality() != fileLast - fileFirst + 1) {
      throw new TraceFormatException(
          name
              + ": holds layers "
              + describeLayers()
              + " in its first iteration; the layers of a trace must be contiguous");
    }
    switch (selection) {
      case ALL -> {
        first = fileLayers.isEmpty() ? 0 : fileFirst;
        last = fileLayers.isEmpty() ? 0 : fileLast;
      }
      case FIRST_COUNT -> {
        int count = first;
        if (fileLayers.cardinality() < count) {
          throw new TraceFormatException(
              name
                  + ": holds "
                  + fileLayers.cardinality()
                  + " layer(s) ("
                  + describeLayers()
                  + "), fewer than the "
                  + count
                  + " the model needs");
        }
        first = fileFirst;
        last = fileFirst + count - 1;
      }
      case WITHIN_FILE -> {
        if (fileLayers.isEmpty() || first < fileFirst || last > fileLast) {
          throw new TraceFormatException(
              name
                  + ": holds layers "
                  + describeLayers()
                  + "; layers "
                  + first
                  + "-"
                  + last
                  + " are not all among them");
        }
      }
      case LENIENT -> {}
    }
    this.firstLayer = first;
    this.lastLayer = last;
    long cells = (long) workers * experts * (lastLayer - firstLayer + 1L);
    if (cells > (1L << 28)) {
      throw new IllegalArgumentException(
          "workers x experts x layers = " + cells + " is too large to hold one iteration");
    }
  }

  /**
   * Opens a trace file ({@code .gz} is decompressed) folding ranks onto {@code workers} and keeping
   * layers {@code firstLayer..lastLayer} (inclusive; layers beyond the file's are simply absent).
   */
  public static TraceReader open(Path file, int workers, int firstLayer, int lastLayer)
      throws IOException {
    return open(file, workers, Selection.LENIENT, firstLayer, lastLayer);
  }

  /**
   * Opens a trace file keeping every layer it holds, numbered as in the file.
   *
   * @throws TraceFormatException when the layers of its first iteration are not contiguous
   */
  public static TraceReader open(Path file, int workers) throws IOException {
    return open(file, workers, Selection.ALL, 0, 0);
  }

  /**
   * Opens a trace file keeping its layers {@code firstLayer..lastLayer} (the trace's own numbers).
   *
   * @throws TraceFormatException naming the file's layers when the range is not within them
   */
  public static TraceReader openLayers(Path file, int workers, int firstLayer, int lastLayer)
      throws IOException {
    return open(file, workers, Selection.WITHIN_FILE, firstLayer, lastLayer);
  }

  /**
   * Opens a trace file for a model of {@code layers} layers: model layer {@code l} is the file's
   * {@code l}-th layer in order ({@code TraceSample.loads().get(l)}), whatever its number.
   *
   * @throws TraceFormatException naming the file's layers when it holds fewer than {@code layers}
   */
  public static TraceReader openModelLayers(Path file, int workers, int layers) throws IOException {
    return open(file, workers, Selection.FIRST_COUNT, layers, 0);
  }

  private static TraceReader open(Path file, int workers, Selection selection, int first, int last)
      throws IOException {
    InputStream raw = Files.newInputStream(file);
    try {
      if (file.toString().endsWith(".gz")) {
        raw = new GZIPInputStream(raw, 1 << 16);
      }
      return new TraceReader(file.toString(), raw, workers, selection, first, last);
    } catch (IOException | RuntimeException e) {
      raw.close();
      throw e;
    }
  }

  /** Reads from a stream of uncompressed CSV text; {@code name} prefixes error messages. */
  public static TraceReader fromStream(
      String name, InputStream csv, int workers, int firstLayer, int lastLayer) throws IOException {
    return new TraceReader(name, csv, workers, Selection.LENIENT, firstLayer, lastLayer);
  }

  /** Like {@link #fromStream(String, InputStream, int, int, int)}, keeping every layer it holds. */
  public static TraceReader fromStream(String name, InputStream csv, int workers)
      throws IOException {
    return new TraceReader(name, csv, workers, Selection.ALL, 0, 0);
  }

  /** The layers of the file's first iteration (the trace's own numbers), ascending. */
  public int[] fileLayers() {
    return fileLayers.stream().toArray();
  }

  /** The file's layers in words: {@code 12-23}, {@code 0, 2, 5} or {@code none}. */
  public String describeLayers() {
    if (fileLayers.isEmpty()) {
      return "none";
    }
    int first = fileLayers.nextSetBit(0);
    int last = fileLayers.length() - 1;
    if (fileLayers.cardinality() == last - first + 1) {
      return first == last ? Integer.toString(first) : first + "-" + last;
    }
    StringBuilder b = new StringBuilder();
    for (int l = first; l >= 0; l = fileLayers.nextSetBit(l + 1)) {
      b.append(b.length() == 0 ? "" : ", ").append(l);
    }
    return b.toString();
  }

  /** The first layer the samples hold (the trace's own number). */
  public int firstLayer() {
    return firstLayer;
  }

  /** The last layer the samples may hold (the trace's own number). */
  public int lastLayer() {
    return lastLayer;
  }

  /**
   * Reads the rows of the first iteration (and the first row after them) into the lookahead, noting
   * their layers.
   */
  private void peekFirstIteration() throws IOException {
    lookaheadLine = linesRead + 1;
    long[] head = new long[3];
    long iteration = Long.MIN_VALUE;
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      linesRead++;
      lineNumber = linesRead;
      lookahead.add(line);
      String row = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
      if (row.isBlank()) {
        continue;
      }
      parseHead(row, head);
      if (iteration == Long.MIN_VALUE) {
        iteration = head[0];
      } else if (head[0] != iteration) {
        break;
      }
      fileLayers.set((int) head[2]);
    }
  }

  private String readLine() throws IOException {
    if (!lookahead.isEmpty()) {
      lineNumber = lookaheadLine++;
      return lookahead.poll();
    }
    String line = in.readLine();
    if (line != null) {
      lineNumber = ++linesRead;
    }
    return line;
  }

  /** Experts per layer, from the header. */
  public int experts() {
    return experts;
  }

  /** The next iteration's sample, or {@code null} at the end of the file. */
  public TraceSample next() throws IOException {
    if (finished) {
      return null;
    }
    int layers = lastLayer - firstLayer + 1;
    double[][] acc = null;
    BitSet layerSeen = new BitSet();
    BitSet ranksSeen = new BitSet();
    long iteration = Long.MIN_VALUE;
    while (true) {
      String line = pendingLine != null ? pendingLine : readLine();
      pendingLine = null;
      if (line == null) {
        finished = true;
        break;
      }
      if (line.endsWith("\r")) {
        line = line.substring(0, line.length() - 1);
      }
      if (line.isBlank()) {
        continue;
      }
      long[] head = new long[3];
      int pos = parseHead(line, head);
      if (iteration == Long.MIN_VALUE) {
        iteration = head[0];
        if (iteration <= lastIteration) {
          throw new TraceFormatException(
              name
                  + ":"
                  + lineNumber
                  + ": iteration "
                  + iteration
                  + " follows iteration "
                  + lastIteration
                  + "; rows must be grouped by increasing iteration");
        }
      } else if (head[0] != iteration) {
        pendingLine = line;
        break;
      }
      int rank = (int) head[1];
      int layer = (int) head[2];
      ranksSeen.set(rank);
      if (layer < firstLayer || layer > lastLayer) {
        continue;
      }
      if (acc == null) {
        acc = new double[layers][workers * experts];
      }
      layerSeen.set(layer - firstLayer);
      parseCounts(line, pos, acc[layer - firstLayer], (rank % workers) * experts);
    }
    if (iteration == Long.MIN_VALUE) {
      return null;
    }
    lastIteration = iteration;
    List<LoadMatrix> loads = new ArrayList<>();
    int present = layerSeen.nextClearBit(0);
    if (acc == null || present == 0) {
      throw new TraceFormatException(
          name
              + ":"
              + lineNumber
              + ": iteration "
              + iteration
              + " has no rows for layers "
              + firstLayer
              + "-"
              + lastLayer
              + " (the file holds layers "
              + describeLayers()
              + ")");
    }
    for (int l = 0; l < present; l++) {
      loads.add(LoadMatrix.ofFlat(workers, experts, acc[l]));
    }
    return new TraceSample(iteration, firstLayer, loads, ranksSeen.cardinality());
  }

  private int parseHead(String line, long[] head) {
    int pos = 0;
    for (int i = 0; i < 3; i++) {
      int comma = line.indexOf(',', pos);
      if (comma < 0) {
        throw new TraceFormatException(
            name + ":" + lineNumber + ": expected " + (experts + 3) + " fields, got " + (i + 1));
      }
      head[i] = parseLong(line, pos, comma, i == 0 ? "iteration" : i == 1 ? "rank" : "layer");
      pos = comma + 1;
    }
    if (head[1] > Limits.MAX_WORKERS) {
      throw new TraceFormatException(
          name + ":" + lineNumber + ": rank " + head[1] + " is larger than " + Limits.MAX_WORKERS);
    }
    if (head[2] > Limits.MAX_LAYERS) {
      throw new TraceFormatException(
          name + ":" + lineNumber + ": layer " + head[2] + " is larger than " + Limits.MAX_LAYERS);
    }
    return pos;
  }

  private void parseCounts(String line, int pos, double[] row, int offset) {
    for (int e = 0; e < experts; e++) {
      int end = line.indexOf(',', pos);
      if (end < 0) {
        if (e != experts - 1) {
          throw new TraceFormatException(
              name + ":" + lineNumber + ": expected " + (experts + 3) + " fields, got " + (e + 4));
        }
        end = line.length();
      } else if (e == experts - 1) {
        throw new TraceFormatException(
            name + ":" + lineNumber + ": more than " + (experts + 3) + " fields");
      }
      row[offset + e] += parseLong(line, pos, end, "e" + e);
      pos = end + 1;
    }
  }

  private long parseLong(String line, int from, int to, String field) {
    if (from >= to) {
      throw new TraceFormatException(name + ":" + lineNumber + ": field '" + field + "' is empty");
    }
    long v = 0;
    for (int i = from; i < to; i++) {
      char c = line.charAt(i);
      if (c < '0' || c > '9' || v > (Long.MAX_VALUE - 9) / 10) {
        throw new TraceFormatException(
            name
                + ":"
                + lineNumber
                + ": field '"
                + field
                + "' must be a non-negative integer, got '"
                + abbreviate(line.substring(from, to))
                + "'");
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }

  private static String abbreviate(String s) {
    return s.length() > 60 ? s.substring(0, 60) + "..." : s;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
