"""The Kafka a rendered chart expects, stood in by one broker of the Kafka image built here.

It answers under every bootstrap host name of the chart's kafka-client ConfigMap (Docker
network aliases), with that ConfigMap's security protocol: PLAINTEXT, or SASL_SSL with the
SCRAM mechanism and user it names, a certificate for those names signed by a CA written
where the chart's CA Secret would be, and the password its password Secret would hold. One
node, no authorizer: Strimzi's ACLs and replication are not part of this smoke run.
"""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2e.dockerkit import docker, logs, wait_for
from e2e.pods import StandIns

CLUSTER_ID = "q1Sh-9_ISia_zwGINzRvyQ"
CONTROLLER_PORT = 19093
INTERNAL_PORT = 19092


@dataclass
class Client:
    bootstrap: list[tuple[str, int]]
    protocol: str
    mechanism: str | None
    username: str | None

    @classmethod
    def of(cls, objs: list[dict[str, Any]]) -> Client:
        data = next(o["data"] for o in objs if o.get("kind") == "ConfigMap"
                    and o["metadata"]["name"].endswith("-kafka-client"))
        hosts = [(h.rsplit(":", 1)[0], int(h.rsplit(":", 1)[1]))
                 for h in data["FW_KAFKA_BOOTSTRAP"].split(",")]
        return cls(hosts, data["FW_KAFKA_SECURITY_PROTOCOL"], data.get("FW_KAFKA_SASL_MECHANISM"),
                   data.get("FW_KAFKA_SASL_USERNAME"))


def stand_ins(objs: list[dict[str, Any]], workdir: Path) -> StandIns:
    """Every Secret the pods read, with made-up values (and the CA of the stand-in broker)."""
    out = StandIns()
    for workload in (o for o in objs if o.get("kind") in ("Deployment", "StatefulSet")):
        pod = workload["spec"]["template"]["spec"]
        for item in pod["containers"][0].get("env", []):
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                out.secrets.setdefault((ref["name"], ref["key"]), secrets.token_hex(24))
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                for item in volume["secret"]["items"]:
                    out.secret_files[(volume["secret"]["secretName"], item["key"])] = workdir / "ca.crt"
    # One broker: topics the services create cannot have more replicas than that.
    out.env_overrides["FW_KAFKA_TOPIC_REPLICATION"] = "1"
    out.env_overrides["FW_AGGREGATOR_REPLICATION"] = "1"
    return out


def sasl_password(objs: list[dict[str, Any]], ins: StandIns) -> str | None:
    for workload in (o for o in objs if o.get("kind") in ("Deployment", "StatefulSet")):
        for item in workload["spec"]["template"]["spec"]["containers"][0].get("env", []):
            if item["name"] == "FW_KAFKA_SASL_PASSWORD":
                ref = item["valueFrom"]["secretKeyRef"]
                return ins.secrets[(ref["name"], ref["key"])]
    return None


def _certificates(workdir: Path, hosts: list[str]) -> str:
    """A CA (ca.crt, for the clients) and a PKCS12 server keystore for ``hosts``."""
    password = secrets.token_hex(12)

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=workdir, check=True, capture_output=True, timeout=60)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
        "-days", "2", "-subj", "/CN=framewire-e2e-ca")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", f"/CN={hosts[0]}")
    (workdir / "san.ext").write_text("subjectAltName=" + ",".join(f"DNS:{h}" for h in hosts) + "\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "2", "-extfile", "san.ext")
    ssl("pkcs12", "-export", "-in", "server.crt", "-inkey", "server.key", "-out", "server.p12",
        "-passout", f"pass:{password}")
    for name in ("ca.crt", "server.p12"):
        (workdir / name).chmod(0o644)
    return password


def kafka_env(client: Client, workdir: Path) -> dict[str, str]:
    """The apache/kafka-style environment of the stand-in broker."""
    host, port = client.bootstrap[0]
    env = {
        "CLUSTER_ID": CLUSTER_ID, "KAFKA_NODE_ID": "1", "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": f"1@{host}:{CONTROLLER_PORT}",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_LISTENERS": f"CLIENT://:{port},INTERNAL://:{INTERNAL_PORT},CONTROLLER://:{CONTROLLER_PORT}",
        "KAFKA_ADVERTISED_LISTENERS": f"CLIENT://{host}:{port},INTERNAL://{host}:{INTERNAL_PORT}",
        "KAFKA_INTER_BROKER_LISTENER_NAME": "INTERNAL",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1", "KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS": "8",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1", "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS": "8",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
        "KAFKA_MESSAGE_MAX_BYTES": "8454144", "KAFKA_REPLICA_FETCH_MAX_BYTES": "8454144",
        "KAFKA_HEAP_OPTS": "-Xmx512m -Xms512m",
    }
    protocol = client.protocol
    env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"] = f"CLIENT:{protocol},INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"
    if protocol.startswith("SASL"):
        mech = str(client.mechanism)
        env["KAFKA_SASL_ENABLED_MECHANISMS"] = mech
        env["KAFKA_LISTENER_NAME_CLIENT_SASL_ENABLED_MECHANISMS"] = mech
        jaas_var = "KAFKA_LISTENER_NAME_CLIENT_" + mech.replace("-", "__") + "_SASL_JAAS_CONFIG"
        env[jaas_var] = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    if protocol.endswith("SSL"):
        password = _certificates(workdir, sorted({h for h, _ in client.bootstrap}))
        env.update({
            "KAFKA_SSL_KEYSTORE_LOCATION": "/etc/kafka/secrets/server.p12",
            "KAFKA_SSL_KEYSTORE_TYPE": "PKCS12",
            "KAFKA_SSL_KEYSTORE_PASSWORD": password, "KAFKA_SSL_KEY_PASSWORD": password,
        })
    return env


def start_kafka(objs: list[dict[str, Any]], image: str, network: str, name: str, workdir: Path,
                ins: StandIns) -> Client:
    """Start the stand-in broker and wait until it serves (and knows the SCRAM user)."""
    client = Client.of(objs)
    env = kafka_env(client, workdir)
    args = ["run", "-d", "--name", name, "--network", network]
    for host in sorted({h for h, _ in client.bootstrap}):
        args += ["--network-alias", host]
    if "KAFKA_SSL_KEYSTORE_LOCATION" in env:
        args += ["-v", f"{workdir / 'server.p12'}:/etc/kafka/secrets/server.p12:ro"]
    for key, value in env.items():
        args += ["-e", f"{key}={value}"]
    docker(*args, image)
    host = client.bootstrap[0][0]

    def serving() -> bool:
        probe = docker("exec", name, "kafka-broker-api-versions.sh", "--bootstrap-server",
                       f"{host}:{INTERNAL_PORT}", timeout=90, check=False)
        if probe.returncode != 0 and "exited" in docker("inspect", "-f", "{{.State.Status}}", name).stdout:
            raise AssertionError(f"stand-in Kafka exited:\n{logs(name)}")
        return probe.returncode == 0

    wait_for("the stand-in Kafka serving", serving, 360, every_s=3)
    password = sasl_password(objs, ins)
    if client.protocol.startswith("SASL") and password:
        docker("exec", name, "kafka-configs.sh", "--bootstrap-server", f"{host}:{INTERNAL_PORT}", "--alter",
               "--add-config", f"{client.mechanism}=[password={password}]", "--entity-type", "users",
               "--entity-name", str(client.username), timeout=120)
    return client
