"""Client settings from a secured moeplan broker's Java properties files, and tenants' topics."""

import confluent_kafka
import pytest

from confluent_kafka import KafkaError

from moeplan import LoadPublisher, client_config_from_properties, topic_names
from moeplan.security import read_properties, require_tenant_job

# as java.util.Properties.store writes a moeplan client file: ':' and '=' in values escaped
JAVA_FILE = r"""#Kafka client settings of tenant-teamA (SASL_SSL, SCRAM-SHA-512)
#Thu Dec 03 09:00:00 UTC 2026
bootstrap.servers=localhost\:35011
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username\="tenant-teamA" password\="Zx81abcDEF";
sasl.mechanism=SCRAM-SHA-512
security.protocol=SASL_SSL
ssl.truststore.location=/tmp/moeplan-kafka-1/security/ca.pem
ssl.truststore.type=PEM
"""


def test_a_java_client_file_maps_to_librdkafka_settings(tmp_path):
    path = tmp_path / "tenant-teamA.properties"
    path.write_text(JAVA_FILE)

    assert client_config_from_properties(path, mechanism="SCRAM-SHA-512") == {
        "bootstrap.servers": "localhost:35011",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "tenant-teamA",
        "sasl.password": "Zx81abcDEF",
        "ssl.ca.location": "/tmp/moeplan-kafka-1/security/ca.pem",
    }
    assert client_config_from_properties(path, "kafka:19092")["bootstrap.servers"] == "kafka:19092"
    # librdkafka before 2.6.1 cannot do SCRAM with Kafka 4: it logs in with PLAIN over TLS
    expected = "SCRAM-SHA-512" if confluent_kafka.libversion()[1] >= 0x020601FF else "PLAIN"
    assert client_config_from_properties(path)["sasl.mechanism"] == expected


@pytest.mark.skipif(
    confluent_kafka.libversion()[1] >= 0x020601FF, reason="this librdkafka does SCRAM itself"
)
def test_the_plain_fallback_never_sends_a_password_without_tls(tmp_path):
    path = tmp_path / "plaintext.properties"
    path.write_text(
        JAVA_FILE.replace("security.protocol=SASL_SSL", "security.protocol=SASL_PLAINTEXT")
    )
    with pytest.raises(ValueError, match="the PLAIN fallback needs security.protocol=SASL_SSL"):
        client_config_from_properties(path)
    # asked for explicitly, SCRAM is kept
    explicit = client_config_from_properties(path, mechanism="SCRAM-SHA-512")
    assert explicit["sasl.mechanism"] == "SCRAM-SHA-512"


def test_properties_syntax_as_java_reads_it():
    text = "! comment\n  a = 1\nb:2\nc 3\nlong=x\\\n   y\nesc=\\u0041\\=\\:\\\\\nempty=\n"
    assert read_properties(text) == {
        "a": "1",
        "b": "2",
        "c": "3",
        "long": "xy",
        "esc": "A=:\\",
        "empty": "",
    }


def test_a_truststore_librdkafka_cannot_read_is_named(tmp_path):
    path = tmp_path / "jks.properties"
    path.write_text("ssl.truststore.location=/x/truststore.jks\nssl.truststore.password=p\n")
    with pytest.raises(ValueError, match="ssl.truststore.type JKS cannot be read by librdkafka"):
        client_config_from_properties(path)


def test_a_prefix_covering_the_plain_topics_is_refused():
    with pytest.raises(ValueError, match="topic prefix 'moe' is taken"):
        topic_names("moe")
    assert topic_names("moe2").expert_load == "moe2.moe.expert-load"


def test_tenant_topics_and_job_ids():
    assert topic_names().plan_decisions == "moe.plan-decisions"
    names = topic_names("teamA")
    assert names.expert_load == "teamA.moe.expert-load"
    assert names.dead_letters == "teamA.moe.expert-load.dlq"
    assert require_tenant_job("teamA", "teamA.train") == "teamA.train"
    with pytest.raises(ValueError, match="must start with 'teamA.'"):
        require_tenant_job("teamA", "teamB.train")
    with pytest.raises(ValueError, match="no '.'"):
        topic_names("team.A")


class _Message:
    def topic(self):
        return "teamB.moe.expert-load"

    def key(self):
        return b"teamB.job/0"


def test_a_refused_send_names_the_principal_topic_and_grant():
    publisher = LoadPublisher(
        {"sasl.username": "tenant-teamA"}, "teamA.job", 1, [0], producer=object()
    )
    publisher._delivered(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED), _Message())
    assert publisher.failed == 1
    assert publisher.recent_problems[0].endswith(
        "not authorized to WRITE topic 'teamB.moe.expert-load' as User:tenant-teamA; a platform"
        " team grants it with: kafka-acls.sh --add --allow-principal User:tenant-teamA"
        " --operation Write --topic teamB.moe.expert-load"
    )
