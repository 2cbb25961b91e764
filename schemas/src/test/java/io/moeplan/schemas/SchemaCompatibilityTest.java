package io.moeplan.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.schemas.wire.ReleasedSchemas;
import io.moeplan.schemas.wire.SingleObjectCodec;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaNormalization;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The topic schemas are a public API: every change must keep readers and writers of every released
 * version working in both directions, and every change must be released as a new version.
 */
class SchemaCompatibilityTest {

  static List<Schema> topicSchemas() {
    List<Schema> schemas = new ArrayList<>();
    for (Topic<?, ?> topic : Topics.ALL) {
      schemas.add(((SingleObjectCodec<?>) topic.valueCodec()).schema());
    }
    return schemas;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("topicSchemas")
  void currentSchemaIsTheNewestReleasedVersion(Schema current) {
    List<Schema> released = ReleasedSchemas.of(current.getName());

    assertThat(released)
        .as(
            "released versions of %s; after changing the schema, release it as %s",
            current.getName(), ReleasedSchemas.resourcePath(current.getName(), released.size() + 1))
        .isNotEmpty();
    assertThat(SchemaNormalization.parsingFingerprint64(released.get(released.size() - 1)))
        .as(
            "%s changed without a release: add %s holding the new schema",
            current.getName(), ReleasedSchemas.resourcePath(current.getName(), released.size() + 1))
        .isEqualTo(SchemaNormalization.parsingFingerprint64(current));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("topicSchemas")
  void currentSchemaIsFullyCompatibleWithEveryReleasedVersion(Schema current) {
    for (Schema released : ReleasedSchemas.of(current.getName())) {
      assertThat(incompatibilities(current, released)).isEmpty();
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {"ExpertLoad-new-field-without-default.avsc", "ExpertLoad-rank-as-string.avsc"})
  void theCheckCatchesABreakingChange(String breakingVariant) throws IOException {
    Schema broken;
    try (InputStream in =
        getClass().getResourceAsStream("/io/moeplan/schemas/breaking/" + breakingVariant)) {
      broken = new Schema.Parser().parse(in);
    }

    assertThat(incompatibilities(broken, ReleasedSchemas.of("ExpertLoad").get(0))).isNotEmpty();
  }

  /** What breaks between a candidate schema and a released one, in either direction. */
  static List<String> incompatibilities(Schema candidate, Schema released) {
    List<String> problems = new ArrayList<>();
    var newReadsOld = SchemaCompatibility.checkReaderWriterCompatibility(candidate, released);
    if (newReadsOld.getType() != SchemaCompatibilityType.COMPATIBLE) {
      problems.add("new readers cannot read released writers: " + newReadsOld.getDescription());
    }
    var oldReadsNew = SchemaCompatibility.checkReaderWriterCompatibility(released, candidate);
    if (oldReadsNew.getType() != SchemaCompatibilityType.COMPATIBLE) {
      problems.add("released readers cannot read new writers: " + oldReadsNew.getDescription());
    }
    return problems;
  }
}
