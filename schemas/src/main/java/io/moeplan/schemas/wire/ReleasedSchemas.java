package io.moeplan.schemas.wire;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;

/**
 * The released writer schemas of a record, oldest first.
 *
 * <p>Every schema version that ever went out is kept as a resource {@code
 * io/moeplan/schemas/released/<RecordName>/v<N>.avsc}, numbered from 1 without gaps. Decoders
 * accept exactly these versions; the newest must equal the schema the classes were generated from
 * (a unit test enforces both).
 */
public final class ReleasedSchemas {

  private static final String ROOT = "io/moeplan/schemas/released/";

  private ReleasedSchemas() {}

  /** The released versions of the record with this simple name, v1 first; empty if none. */
  public static List<Schema> of(String recordName) {
    List<Schema> versions = new ArrayList<>();
    ClassLoader loader = ReleasedSchemas.class.getClassLoader();
    for (int version = 1; ; version++) {
      String path = resourcePath(recordName, version);
      try (InputStream in = loader.getResourceAsStream(path)) {
        if (in == null) {
          return List.copyOf(versions);
        }
        versions.add(new Schema.Parser().parse(in));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read released schema " + path, e);
      }
    }
  }

  /** The classpath location of one released version. */
  public static String resourcePath(String recordName, int version) {
    return ROOT + recordName + "/v" + version + ".avsc";
  }
}
