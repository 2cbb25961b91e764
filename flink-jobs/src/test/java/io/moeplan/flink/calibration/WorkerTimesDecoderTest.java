package io.moeplan.flink.calibration;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.flink.input.RawRecord;
import io.moeplan.schemas.DeadLetterReason;
import io.moeplan.schemas.SampleRecords;
import io.moeplan.schemas.Topics;
import io.moeplan.schemas.WorkerTime;
import io.moeplan.schemas.WorkerTimes;
import io.moeplan.schemas.wire.ReleasedSchemas;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.junit.jupiter.api.Test;

class WorkerTimesDecoderTest {

  @Test
  void decodesValidTimesAndRoutesThemByTheJobOfTheirKey() {
    RawRecord record = raw("job/1", SampleRecords.workerTimes("job"));

    WorkerTimesDecoder.Decoded decoded = WorkerTimesDecoder.decode(record);

    assertThat(decoded.rejection()).isNull();
    assertThat(decoded.times()).isEqualTo(SampleRecords.workerTimes("job"));
    assertThat(WorkerTimesDecoder.jobKeyOf(record)).isEqualTo("job");
    assertThat(WorkerTimesDecoder.jobKeyOf(raw(null, SampleRecords.workerTimes("job"))))
        .isEqualTo("job");
  }

  @Test
  void readsRecordsOfExecutorsThatWriteVersionOne() throws Exception {
    Schema v1 = ReleasedSchemas.of("WorkerTimes").get(0);
    Schema worker = v1.getField("workers").schema().getElementType();
    GenericRecord time = new GenericData.Record(worker);
    time.put("worker", 0);
    time.put("tokens", 512L);
    time.put("activeSlots", 2);
    time.put("computeSeconds", 0.003);
    GenericRecord times = new GenericData.Record(v1);
    times.put("jobId", "job");
    times.put("executorId", "old-host/0");
    times.put("iteration", 7L);
    times.put("layer", 1);
    times.put("planVersion", 0L);
    times.put("backend", "cpu");
    times.put("workers", List.of(time));
    times.put("migratedBytes", 0L);
    times.put("migrationSeconds", 0.0);
    times.put("producedAt", 0L);
    byte[] bytes =
        new BinaryMessageEncoder<GenericRecord>(GenericData.get(), v1).encode(times).array();

    WorkerTimesDecoder.Decoded decoded =
        WorkerTimesDecoder.decode(
            new RawRecord(Topics.WORKER_TIMES.name(), 0, 0, "job/1".getBytes(), bytes, 0));

    assertThat(decoded.rejection()).isNull();
    WorkerTime read = decoded.times().getWorkers().get(0);
    assertThat(read.getTokens()).isEqualTo(512);
    assertThat(read.getMigratedBytes()).isZero();
    assertThat(read.getMigrationSeconds()).isZero();
  }

  @Test
  void rejectsTimesNamingTheField() {
    WorkerTimes duplicateWorker = SampleRecords.workerTimes("job");
    duplicateWorker.getWorkers().get(1).setWorker(0);
    WorkerTimes nan = SampleRecords.workerTimes("job");
    nan.getWorkers().get(0).setComputeSeconds(Double.NaN);
    WorkerTimes noSlots = SampleRecords.workerTimes("job");
    noSlots.getWorkers().get(1).setActiveSlots(0);

    assertThat(detail(raw("job/1", duplicateWorker)))
        .isEqualTo("workers[1].worker 0 appears twice");
    assertThat(detail(raw("job/1", nan)))
        .isEqualTo("workers[0].computeSeconds must be finite and >= 0, got NaN");
    assertThat(detail(raw("job/1", noSlots)))
        .isEqualTo("workers[1].activeSlots is 0 but tokens is 1024");
    assertThat(detail(raw("other/1", SampleRecords.workerTimes("job"))))
        .isEqualTo("Kafka key 'other/1' does not match the record's jobId/layer 'job/1'");
    WorkerTimesDecoder.Decoded garbage = WorkerTimesDecoder.decode(raw("job/1", new byte[] {1}));
    assertThat(garbage.rejection().reason()).isEqualTo(DeadLetterReason.UNDECODABLE);
    assertThat(WorkerTimesDecoder.jobKeyOf(raw(null, new byte[] {1})))
        .isEqualTo(WorkerTimesDecoder.UNKNOWN_JOB_KEY);
  }

  private static String detail(RawRecord record) {
    WorkerTimesDecoder.Decoded decoded = WorkerTimesDecoder.decode(record);
    assertThat(decoded.rejection().reason()).isEqualTo(DeadLetterReason.INVALID_FIELD);
    return decoded.rejection().detail();
  }

  private static RawRecord raw(String key, WorkerTimes times) {
    return raw(key, Topics.WORKER_TIMES.valueCodec().encode(times));
  }

  private static RawRecord raw(String key, byte[] value) {
    return new RawRecord(
        Topics.WORKER_TIMES.name(),
        0,
        0,
        key == null ? null : key.getBytes(StandardCharsets.UTF_8),
        value,
        0);
  }
}
