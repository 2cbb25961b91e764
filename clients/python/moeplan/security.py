"""Kafka client settings for a secured moeplan broker, and tenants' topic names.

A secured moeplan broker (``./moeplan local --secure``, ``./moeplan broker --secure``) writes one
Java client properties file per principal (``security.protocol=SASL_SSL``, ``sasl.mechanism``,
``sasl.jaas.config``, ``ssl.truststore.location`` of a PEM CA certificate). librdkafka names the
same settings differently: :func:`client_config_from_properties` reads such a file and returns
``confluent_kafka`` settings. A tenant's topics carry its prefix (:func:`topic_names`), and its
job ids start with the prefix and a dot (see ``docs/security.md``).
"""

import logging
import re
from collections import namedtuple

from . import keys

LOG = logging.getLogger("moeplan")

# librdkafka before 2.6.1 fails SCRAM against Kafka 4 brokers ("invalid credentials")
_SCRAM_WORKS_FROM = 0x020601FF

_JAAS = re.compile(r'(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"')
_PREFIX = re.compile(r"[A-Za-z0-9_-]{1,100}")

# Java client settings with no librdkafka counterpart that a moeplan file may hold: ignored
_JAVA_ONLY = {"ssl.truststore.type", "key.serializer", "value.serializer"}

TopicNames = namedtuple(
    "TopicNames",
    "expert_load plan_pool plan_decisions dead_letters worker_times model_fit",
)


def topic_names(prefix=None):
    """The names of moeplan's topics, under a tenant's topic ``prefix`` (``teamA`` gives
    ``teamA.moe.expert-load``, ...) or, without one, as they are."""
    names = (
        "moe.expert-load",
        "moe.plan-pool",
        "moe.plan-decisions",
        "moe.expert-load.dlq",
        "moe.worker-times",
        "moe.model-fit",
    )
    if prefix is None or prefix == "":
        return TopicNames(*names)
    require_prefix(prefix)
    return TopicNames(*(f"{prefix}.{name}" for name in names))


def require_prefix(prefix):
    """``prefix`` itself; ValueError naming the rule otherwise (letters, digits, '_', '-')."""
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise ValueError(
            f"topic prefix must be 1-100 letters, digits, '_' or '-' (no '.'), got {prefix!r}"
        )
    if any(name.startswith(prefix + ".") for name in topic_names()):
        # a tenant's ACLs are prefixed by 'prefix.': they would cover the plain topics
        raise ValueError(
            f"topic prefix {prefix!r} is taken: moeplan's plain topics start with '{prefix}.',"
            " so the tenant's prefixed ACLs would cover them"
        )
    return prefix


def require_tenant_job(prefix, job_id):
    """``job_id`` when it is a job of tenant ``prefix`` (it starts with ``prefix.``); ValueError
    otherwise, as the plan-selector job would dead-letter its loads."""
    keys.require_job_id(job_id)
    require_prefix(prefix)
    if not (job_id.startswith(prefix + ".") and len(job_id) > len(prefix) + 1):
        raise ValueError(
            f"job id {job_id!r} must start with '{prefix}.': the job ids of tenant {prefix!r}"
            " start with its topic prefix and a dot"
        )
    return job_id


def read_properties(text):
    """The settings of a Java ``.properties`` text: ``key=value``, ``key: value`` or ``key value``
    lines, ``#`` and ``!`` comments, backslash line continuations and escapes (``\\=``,
    ``\\:``, ``\\uXXXX``, ...), as ``java.util.Properties.load`` reads them."""
    settings = {}
    logical = []
    pending = ""
    for raw in text.splitlines():
        line = raw.lstrip(" \t\f")
        if not pending and (not line or line[0] in "#!"):
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            pending += line[:-1]
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        logical.append(pending)
    for line in logical:
        key, value = _split(line)
        settings[_unescape(key)] = _unescape(value)
    return settings


def _split(line):
    """A logical line's key and (still escaped) value: the key ends at the first unescaped '=',
    ':' or white space; one '=' or ':' and the white space around it separate the value."""
    i = 0
    while i < len(line) and line[i] not in "=: \t\f":
        i += 2 if line[i] == "\\" else 1
    rest = line[i:].lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return line[:i], rest


def _unescape(text):
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\" or i + 1 == len(text):
            out.append(c)
            i += 1
            continue
        n = text[i + 1]
        if n == "u" and i + 6 <= len(text):
            out.append(chr(int(text[i + 2 : i + 6], 16)))
            i += 6
            continue
        out.append({"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(n, n))
        i += 2
    return "".join(out)


def client_config_from_properties(path, bootstrap_servers=None, mechanism=None):
    """``confluent_kafka`` settings from a Java Kafka client properties file.

    ``sasl.jaas.config`` (a ``PlainLoginModule`` or ``ScramLoginModule``) becomes
    ``sasl.username`` and ``sasl.password``; a PEM ``ssl.truststore.location`` becomes
    ``ssl.ca.location``; other settings pass through under their own names (librdkafka names
    ``security.protocol``, ``sasl.mechanism``, ``bootstrap.servers`` alike). A JKS or PKCS12
    truststore, which librdkafka cannot read, is a ValueError naming the setting.
    ``bootstrap_servers``, when given, replaces the file's.

    ``mechanism`` overrides the file's ``sasl.mechanism``. By default a SCRAM mechanism is kept
    where librdkafka can do SCRAM with Kafka 4 (2.6.1 and later); an older librdkafka (Debian's
    2.0.2) logs in with ``PLAIN`` instead, which a secured moeplan broker also accepts on its TLS
    listener for the same users, principals and ACLs (the password travels inside TLS).
    """
    with open(path, encoding="latin-1") as file:
        java = read_properties(file.read())
    config = {}
    for name, value in java.items():
        if name == "sasl.jaas.config":
            options = {k: _unescape(v) for k, v in _JAAS.findall(value)}
            if "username" not in options or "password" not in options:
                raise ValueError(
                    f"{path}: sasl.jaas.config names no username and password"
                    " (librdkafka needs sasl.username and sasl.password)"
                )
            config["sasl.username"] = options["username"]
            config["sasl.password"] = options["password"]
        elif name == "ssl.truststore.location":
            kind = java.get("ssl.truststore.type", "JKS").upper()
            if kind != "PEM":
                raise ValueError(
                    f"{path}: ssl.truststore.type {kind} cannot be read by librdkafka; give the"
                    " CA certificate as PEM (ssl.truststore.type=PEM, or ssl.ca.location)"
                )
            config["ssl.ca.location"] = value
        elif name.startswith("ssl.keystore.") or name.startswith("ssl.truststore."):
            if name not in _JAVA_ONLY and name != "ssl.truststore.type":
                raise ValueError(
                    f"{path}: {name} has no librdkafka counterpart; give the client key and"
                    " certificate as PEM (ssl.key.location, ssl.certificate.location)"
                )
        elif name in _JAVA_ONLY:
            continue
        else:
            config[name] = value
    if bootstrap_servers:
        config["bootstrap.servers"] = bootstrap_servers
    if mechanism is not None:
        config["sasl.mechanism"] = mechanism
    elif str(config.get("sasl.mechanism", "")).upper().startswith("SCRAM") and _old_librdkafka():
        if str(config.get("security.protocol", "")).upper() != "SASL_SSL":
            # PLAIN sends the password as it is: only inside TLS
            raise ValueError(
                f"librdkafka {_librdkafka_version()} cannot log in with {config['sasl.mechanism']}"
                f" to Kafka 4 brokers (fixed in 2.6.1), and the PLAIN fallback needs"
                f" security.protocol=SASL_SSL, got {config.get('security.protocol')!r}: use TLS,"
                f" a newer librdkafka, or pass mechanism= explicitly"
            )
        LOG.warning(
            "librdkafka %s cannot log in with %s to Kafka 4 brokers (fixed in 2.6.1): logging in"
            " as %s with PLAIN over %s instead",
            _librdkafka_version(),
            config["sasl.mechanism"],
            config.get("sasl.username"),
            config.get("security.protocol"),
        )
        config["sasl.mechanism"] = "PLAIN"
    return config


def _librdkafka_version():
    import confluent_kafka

    return confluent_kafka.libversion()[0]


def _old_librdkafka():
    import confluent_kafka

    return confluent_kafka.libversion()[1] < _SCRAM_WORKS_FROM
