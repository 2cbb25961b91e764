package io.moeplan.poolloader;

import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Topics;
import io.moeplan.schemas.wire.WireFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Pool files: one {@code PlanPool} in Avro single-object encoding, the same bytes as on the {@code
 * moe.plan-pool} topic, so any Avro library reads them.
 */
public final class PoolFiles {

  /**
   * Largest pool file read (the broker's default maximum record size is 1 MiB; this is roomier).
   */
  public static final long MAX_BYTES = 64L << 20;

  private PoolFiles() {}

  /** Writes the pool to {@code file}, replacing it. */
  public static void write(PlanPool pool, Path file) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    Files.write(file, Topics.PLAN_POOL.valueCodec().encode(pool));
  }

  /**
   * Reads a pool file.
   *
   * @throws IllegalArgumentException naming the file and what is wrong with it
   */
  public static PlanPool read(Path file) throws IOException {
    long size;
    try {
      size = Files.size(file);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": no such pool file", e);
    }
    if (size > MAX_BYTES) {
      throw new IllegalArgumentException(
          file + ": " + size + " bytes, larger than the " + MAX_BYTES + "-byte limit of a pool");
    }
    try {
      return Topics.PLAN_POOL.valueCodec().decode(Files.readAllBytes(file));
    } catch (WireFormatException e) {
      throw new IllegalArgumentException(file + ": not a plan pool: " + e.getMessage(), e);
    }
  }
}
