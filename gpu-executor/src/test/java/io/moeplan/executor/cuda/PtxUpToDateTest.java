package io.moeplan.executor.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class PtxUpToDateTest {

  private static final Path CUDA_SOURCES = Path.of("src/main/cuda");

  @Test
  void everyCudaSourceHasPtxGeneratedFromItsCurrentText() throws Exception {
    List<Path> sources = cudaSources();
    assertThat(sources).isNotEmpty();
    for (Path cu : sources) {
      String name = cu.getFileName().toString().replace(".cu", "");
      String recorded = resource(name + ".cu.sha256");
      assertThat(recorded)
          .as(
              "%s changed without regenerating its PTX: run"
                  + " mvn -B -o -pl gpu-executor -Pptx generate-resources",
              cu)
          .isEqualTo(sha256(Files.readAllBytes(cu)));
      assertThat(resource(name + ".ptx")).contains(".target sm_90").contains(".visible .entry");
    }
  }

  @Test
  void everyKernelTheBackendLaunchesIsInThePtx() throws Exception {
    String kernels = resource("moe_kernels.ptx") + resource("expert_gemm.ptx");
    for (String name :
        List.of(
            "moe_gate_logits",
            "moe_softmax_topk",
            "moe_rank_counts",
            "moe_chunk_counts",
            "moe_chunk_offsets",
            "moe_assign_rows",
            "moe_permute",
            "moe_combine",
            "f32_to_bf16",
            "bf16_to_f32",
            "fill_uniform",
            "expert_gemm_gelu_bf16",
            "expert_gemm_f32",
            "expert_gemm_gelu_bf16_bk64",
            "expert_gemm_f32_bk64")) {
      assertThat(kernels).contains(".entry " + name + "(");
    }
  }

  @Test
  void theExpertGemmRunsOnTensorCores() throws Exception {
    assertThat(resource("expert_gemm.ptx"))
        .contains("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32")
        .contains("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16")
        .contains("cp.async.cg.shared.global");
  }

  private static List<Path> cudaSources() throws IOException {
    try (Stream<Path> files = Files.list(CUDA_SOURCES)) {
      return files.filter(p -> p.toString().endsWith(".cu")).sorted().toList();
    }
  }

  private static String resource(String name) throws IOException {
    try (InputStream in = CudaKernels.class.getResourceAsStream(name)) {
      assertThat(in).as("resource %s", name).isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
    }
  }

  private static String sha256(byte[] bytes) throws NoSuchAlgorithmException {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }
}
