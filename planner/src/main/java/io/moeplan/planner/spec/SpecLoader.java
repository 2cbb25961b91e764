package io.moeplan.planner.spec;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Reads {@link ClusterSpec}, {@link ModelSpec} and {@link ParallelConfig} from YAML ({@code .yaml},
 * {@code .yml}) or JSON files. Every error names the file and the field: unknown fields, missing
 * fields, wrong types and out-of-range values (sizes are checked before anything is allocated).
 * Only {@code expertFixedSeconds} is optional (default 0, as in the Avro record).
 */
public final class SpecLoader {
  private static final String EXAMPLES = "/io/moeplan/planner/examples/";
  private static final Map<String, Object> DEFAULTS = Map.of("expertFixedSeconds", 0.0);
  private static final long MAX_FILE_BYTES = 1 << 20;

  private SpecLoader() {}

  /** Loads a cluster spec from a YAML or JSON file. */
  public static ClusterSpec loadCluster(Path file) {
    return load(file, ClusterSpec.class);
  }

  /** Loads a model spec from a YAML or JSON file. */
  public static ModelSpec loadModel(Path file) {
    return load(file, ModelSpec.class);
  }

  /** Loads a parallel config from a YAML or JSON file. */
  public static ParallelConfig loadParallelConfig(Path file) {
    return load(file, ParallelConfig.class);
  }

  /** Loads one of the example specs shipped with the planner, e.g. {@code model-gpt-moe.yaml}. */
  public static <T extends Record> T loadExample(String name, Class<T> type) {
    try (InputStream in = SpecLoader.class.getResourceAsStream(EXAMPLES + name)) {
      if (in == null) {
        throw new SpecException(name + ": no such example spec");
      }
      return parse(name, in.readAllBytes(), type);
    } catch (IOException e) {
      throw new SpecException(name + ": cannot read: " + e.getMessage(), e);
    }
  }

  /** Loads a spec record of the given type from a YAML or JSON file. */
  public static <T extends Record> T load(Path file, Class<T> type) {
    String name = file.getFileName() == null ? file.toString() : file.getFileName().toString();
    try {
      long size = Files.size(file);
      if (size > MAX_FILE_BYTES) {
        throw new SpecException(name + ": file too large for a spec (" + size + " bytes)");
      }
      return parse(name, Files.readAllBytes(file), type);
    } catch (IOException e) {
      throw new SpecException(name + ": cannot read: " + e, e);
    }
  }

  /** Parses spec text; {@code name} (a file name) picks YAML or JSON and prefixes every error. */
  public static <T extends Record> T parse(String name, byte[] content, Class<T> type) {
    String lower = name.toLowerCase(java.util.Locale.ROOT);
    ObjectMapper mapper =
        lower.endsWith(".json") ? new ObjectMapper() : new ObjectMapper(new YAMLFactory());
    JsonNode root;
    try {
      root = mapper.readTree(content);
    } catch (JsonProcessingException e) {
      throw new SpecException(
          name
              + ": not valid "
              + (lower.endsWith(".json") ? "JSON" : "YAML")
              + ": "
              + e.getOriginalMessage()
              + locationOf(e),
          e);
    } catch (IOException e) {
      throw new SpecException(name + ": cannot parse: " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new SpecException(name + ": expected a mapping of field names to values");
    }
    RecordComponent[] components = type.getRecordComponents();
    List<String> known = new ArrayList<>();
    for (RecordComponent c : components) {
      known.add(c.getName());
    }
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!known.contains(field)) {
        throw new SpecException(
            name
                + ": unknown field '"
                + field
                + "' (known fields: "
                + String.join(", ", known)
                + ")");
      }
    }
    Object[] args = new Object[components.length];
    Class<?>[] types = new Class<?>[components.length];
    for (int i = 0; i < components.length; i++) {
      RecordComponent c = components[i];
      types[i] = c.getType();
      JsonNode value = root.get(c.getName());
      if (value == null || value.isNull()) {
        Object fallback = DEFAULTS.get(c.getName());
        if (fallback == null) {
          throw new SpecException(name + ": missing field '" + c.getName() + "'");
        }
        args[i] = fallback;
      } else {
        args[i] = convert(name, c.getName(), value, c.getType());
      }
    }
    try {
      Constructor<T> constructor = type.getDeclaredConstructor(types);
      return constructor.newInstance(args);
    } catch (InvocationTargetException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IllegalArgumentException) {
        throw new SpecException(name + ": " + cause.getMessage(), cause);
      }
      throw new IllegalStateException(cause);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("spec type " + type.getName() + " cannot be built", e);
    }
  }

  private static Object convert(String name, String field, JsonNode value, Class<?> type) {
    if (type == double.class) {
      if (!value.isNumber()) {
        throw new SpecException(name + ": field '" + field + "' must be a number, got " + value);
      }
      return value.doubleValue();
    }
    boolean integral =
        value.isIntegralNumber()
            || (value.isNumber() && value.doubleValue() == Math.rint(value.doubleValue()));
    if (!integral) {
      throw new SpecException(name + ": field '" + field + "' must be an integer, got " + value);
    }
    if (type == int.class) {
      if (!value.canConvertToInt()
          && !(value.isNumber() && Math.abs(value.doubleValue()) <= Integer.MAX_VALUE)) {
        throw new SpecException(
            name + ": field '" + field + "' is out of range for an int, got " + value);
      }
      return value.isIntegralNumber() ? value.intValue() : (int) value.doubleValue();
    }
    if (type == long.class) {
      if (!value.canConvertToLong()
          && !(value.isNumber() && Math.abs(value.doubleValue()) <= Long.MAX_VALUE)) {
        throw new SpecException(
            name + ": field '" + field + "' is out of range for a long, got " + value);
      }
      return value.isIntegralNumber() ? value.longValue() : (long) value.doubleValue();
    }
    throw new IllegalStateException("unsupported spec field type " + type);
  }

  private static String locationOf(JsonProcessingException e) {
    if (e.getLocation() == null) {
      return "";
    }
    return " (line "
        + e.getLocation().getLineNr()
        + ", column "
        + e.getLocation().getColumnNr()
        + ")";
  }
}
