package io.moeplan.schemas.wire;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** UTF-8 strings, used for record keys. Invalid UTF-8 is refused rather than replaced. */
public final class StringCodec implements Codec<String> {

  /** The one instance; the codec has no state. */
  public static final StringCodec UTF8 = new StringCodec();

  private StringCodec() {}

  @Override
  public byte[] encode(String value) {
    return value.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public String decode(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      throw new WireFormatException.Malformed(
          "key is not valid UTF-8 (" + bytes.length + " bytes)", e);
    }
  }
}
