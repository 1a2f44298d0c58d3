"""The Helm chart, validated offline: lint, render, strict schemas, and what each scenario promises."""

import copy
import json
import re

import pytest
import yaml

from deploycheck import manifests, render, sync
from deploycheck.contract import workload_problems
from deploycheck.paths import CHART, K8S_DIR
from deploycheck.testing import named, of_kind, rendered, require_tools
from deploycheck.workloads import chart_workloads
from framewire.core.admin import TopicPolicy, fixed_topics
from framewire.core.topics import Topics

pytestmark = pytest.mark.unit

SCENARIOS = [s.name for s in render.scenarios()]
SERVICES = ("models", "gateway", "inference", "aggregator", "tracker", "dashboard")
# Workloads whose pod name is their instance id, so part of their transactional id.
STATEFUL = {"inference": "FW_INFERENCE_WORKER_ID", "tracker": "FW_TRACKER_TRACKER_ID"}
WORKLOAD_KINDS = ("Deployment", "StatefulSet")


def workloads_of(objs):
    """Every Deployment and StatefulSet (inference and the tracker are StatefulSets)."""
    return [o for kind in WORKLOAD_KINDS for o in of_kind(objs, kind)]


@pytest.fixture(autouse=True)
def _tools() -> None:
    require_tools()


def test_scenarios_exist():
    # Given the ci/ folder, then it holds at least a minimal dev and a production scenario
    assert {"dev", "production"} <= set(SCENARIOS)


@pytest.mark.parametrize("name", SCENARIOS)
def test_helm_lint_passes_strictly(name):
    # Given a scenario's values; when helm lints the chart with them; then it raises nothing
    scenario = next(s for s in render.scenarios() if s.name == name)
    render.helm_lint([scenario.values_file])


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_rendered_object_passes_strict_schemas(name):
    # Given a scenario rendered for a cluster serving Strimzi, KEDA and the Prometheus Operator
    objs = list(rendered(name))
    # When every object is validated (core: kubernetes-validate --strict; custom: strict CRDs)
    problems = manifests.validate_manifests(objs)
    # Then none has a problem, and every service the scenario enables is deployed
    assert problems == []
    values = yaml.safe_load((CHART / "ci" / f"{name}-values.yaml").read_text())
    enabled = {s for s in SERVICES if values.get(s, {}).get("enabled", True)}
    components = {d["metadata"]["labels"]["app.kubernetes.io/component"] for d in workloads_of(objs)}
    assert components == enabled


@pytest.mark.parametrize("name", SCENARIOS)
def test_containers_run_real_commands_with_known_settings(name):
    # Given the containers of a rendered scenario
    workloads = chart_workloads(list(rendered(name)))
    # When their command lines, env names, required settings and ports are checked against the code
    # Then all is consistent
    assert workload_problems(workloads) == []


@pytest.mark.parametrize("name", SCENARIOS)
def test_pods_are_non_root_read_only_and_probed(name):
    for deployment in workloads_of(rendered(name)):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            ports = {p["name"] for p in container["ports"]}
            assert "livenessProbe" in container
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                if probe in container:
                    assert container[probe]["httpGet"]["port"] in ports


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_service_is_probed_on_the_same_paths(name):
    # Given the rendered workloads / Then liveness is /healthz and readiness /readyz for each
    for deployment in workloads_of(rendered(name)):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            paths = {p: container[p]["httpGet"]["path"] for p in
                     ("startupProbe", "livenessProbe", "readinessProbe") if p in container}
            where = f"{name}: {deployment['metadata']['name']}"
            assert paths == {"startupProbe": "/healthz", "livenessProbe": "/healthz",
                             "readinessProbe": "/readyz"}, where


def test_dev_scenario_has_one_plain_kafka_node_and_no_optional_features():
    objs = rendered("dev")
    # Then a one-node KRaft cluster without auth backs the services
    kafka = of_kind(objs, "Kafka")[0]
    assert [listener["tls"] for listener in kafka["spec"]["kafka"]["listeners"]] == [False]
    assert of_kind(objs, "KafkaNodePool")[0]["spec"]["replicas"] == 1
    assert of_kind(objs, "KafkaNodePool")[0]["spec"]["roles"] == ["controller", "broker"]
    client = named(objs, "ConfigMap", "-kafka-client")["data"]
    assert client["FW_KAFKA_SECURITY_PROTOCOL"] == "PLAINTEXT"
    assert client["FW_KAFKA_BOOTSTRAP"] == f"{kafka['metadata']['name']}-kafka-bootstrap:9092"
    # And optional features stay off, with no resources set by default
    for kind in ("KafkaUser", "ScaledObject", "ServiceMonitor", "PrometheusRule", "Ingress"):
        assert of_kind(objs, kind) == []
    for deployment in workloads_of(objs):
        assert "resources" not in deployment["spec"]["template"]["spec"]["containers"][0]


def test_production_uses_three_brokers_scram_over_tls_and_acls():
    objs = rendered("production")
    kafka = of_kind(objs, "Kafka")[0]
    pool = of_kind(objs, "KafkaNodePool")[0]
    user = of_kind(objs, "KafkaUser")[0]
    # Then the only listener is TLS with SCRAM-SHA-512, and ACLs are enforced
    listeners = kafka["spec"]["kafka"]["listeners"]
    assert [(li["tls"], li["authentication"]["type"]) for li in listeners] == [(True, "scram-sha-512")]
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    assert pool["spec"]["replicas"] == 3
    assert kafka["spec"]["kafka"]["config"]["min.insync.replicas"] == 2
    assert user["spec"]["authentication"]["type"] == "scram-sha-512"
    assert user["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    # And every service logs in as that user with the password the User Operator writes
    client = named(objs, "ConfigMap", "-kafka-client")["data"]
    assert client["FW_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert client["FW_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert client["FW_KAFKA_SASL_USERNAME"] == user["metadata"]["name"]
    for deployment in workloads_of(objs):
        env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        secret = env["FW_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert secret == {"name": user["metadata"]["name"], "key": "password"}


def test_production_scales_inference_with_keda_on_consumer_lag():
    objs = rendered("production")
    scaled = of_kind(objs, "ScaledObject")[0]
    inference = named(objs, "StatefulSet", "-inference")
    # Then KEDA owns the replica count of the inference StatefulSet
    assert scaled["spec"]["scaleTargetRef"]["name"] == inference["metadata"]["name"]
    assert scaled["spec"]["scaleTargetRef"]["kind"] == "StatefulSet"
    assert "replicas" not in inference["spec"]
    # And the kafka trigger watches the group the workers join, on the brokers they use
    kafka_trigger = next(t for t in scaled["spec"]["triggers"] if t["type"] == "kafka")
    meta = kafka_trigger["metadata"]
    client = named(objs, "ConfigMap", "-kafka-client")["data"]
    assert meta["bootstrapServers"] == client["FW_KAFKA_BOOTSTRAP"]
    assert meta["consumerGroup"] == f"{client['FW_KAFKA_TOPIC_PREFIX']}inference"
    assert int(meta["lagThreshold"]) > int(meta["activationLagThreshold"]) >= 0
    assert {"sasl", "tls"} <= set(meta)
    auth = of_kind(objs, "TriggerAuthentication")[0]
    assert kafka_trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
    # And never more replicas than partitions, plus an optional lag-in-seconds trigger
    values = yaml.safe_load((CHART / "ci" / "production-values.yaml").read_text())
    assert scaled["spec"]["maxReplicaCount"] <= values["inference"]["framePartitions"]
    assert {t["type"] for t in scaled["spec"]["triggers"]} == {"kafka", "prometheus"}


def test_keda_prometheus_query_uses_metrics_inference_exports():
    # Given the metric names an inference worker registers
    from prometheus_client import CollectorRegistry

    from framewire.inference.metrics import InferenceMetrics

    registry = CollectorRegistry()
    InferenceMetrics(registry)
    exported = {m.name for m in registry.collect()}
    # When the production ScaledObject's Prometheus trigger is read
    scaled = of_kind(rendered("production"), "ScaledObject")[0]
    query = next(t for t in scaled["spec"]["triggers"] if t["type"] == "prometheus")["metadata"]["query"]
    # Then every framewire metric it names is one the workers export
    used = set(re.findall(r"framewire_[a-z_]+", query))
    assert used and used <= exported


def test_keda_max_replicas_above_partition_count_is_refused():
    # Given more replicas allowed than frames partitions exist
    sets = {"keda.enabled": "true", "keda.maxReplicas": "9", "inference.framePartitions": "8"}
    # When rendering, then helm stops with a message naming both values
    with pytest.raises(render.RenderError, match=r"keda.maxReplicas \(9\).*inference.framePartitions \(8\)"):
        render.helm_template([CHART / "ci" / "dev-values.yaml"], sets=sets)


def test_strimzi_topics_are_the_fixed_topics_with_the_same_configs():
    # Given the KafkaTopics of the dev scenario
    objs = rendered("dev")
    prefix = named(objs, "ConfigMap", "-kafka-client")["data"]["FW_KAFKA_TOPIC_PREFIX"]
    topics = {t["spec"]["topicName"]: t["spec"]["config"] for t in of_kind(objs, "KafkaTopic")}
    # When compared with the topics the services ensure at start-up
    expected = {s.name: s.config for s in fixed_topics(Topics(prefix), TopicPolicy())}
    # Then names and configs agree, so operator and services never fight over a setting
    assert topics == expected


def test_guarded_resources_are_skipped_with_a_warning_when_the_api_is_missing():
    # Given a cluster without Strimzi, KEDA or the Prometheus Operator
    values = [CHART / "ci" / "production-values.yaml"]
    objs = render.parse_manifests(render.helm_template(values, api_versions=[]))
    # When the production scenario is rendered, then no custom resource is emitted
    assert {o["apiVersion"].split("/")[0] for o in objs} <= {"v1", "apps", "policy", "networking.k8s.io"}
    # And the install notes say what was left out
    notes = render.helm_template(values, api_versions=[], show_notes=True)
    assert "WARNING" in notes
    for kind in ("Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "ScaledObject"):
        assert f" {kind} (install" in notes


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ({"inferense.replicas": "2"}, "additional properties 'inferense' not allowed"),
        ({"keda.lagThreshold": "many"}, "/keda/lagThreshold"),
        ({"kafka.securityProtocol": "SASL_TLS"}, "/kafka/securityProtocol"),
        ({"gateway.settings.FW_KAFKA_BOOTSTRAP": "x:1"}, "'FW_KAFKA_BOOTSTRAP' does not match"),
        ({"inference.replicas": "-1"}, "/inference/replicas"),
        ({"tracker.settings.FW_INFERENCE_MAX_AGE_MS": "1"}, "'FW_INFERENCE_MAX_AGE_MS' does not match"),
        ({"tracker.metricsPort": "0"}, "/tracker/metricsPort"),
    ],
)
def test_broken_values_are_refused_by_the_schema(sets, message):
    # Given a valid scenario plus one broken value; when linted, then helm names the problem
    with pytest.raises(render.RenderError, match=message):
        render.helm_lint([CHART / "ci" / "dev-values.yaml"], sets=sets)


def test_missing_bootstrap_without_strimzi_is_a_clear_error():
    # Given the default values (no Strimzi) and no bootstrap servers
    # When rendering, then the error says which value to set
    with pytest.raises(render.RenderError, match=r"kafka\.bootstrap is required"):
        render.helm_template([])


def test_connection_values_that_strimzi_would_override_are_refused():
    # Given Strimzi enabled and a bootstrap server that would be silently ignored
    sets = {"kafka.bootstrap": "elsewhere:9092"}
    # When rendering, then helm says the connection comes from the Strimzi cluster
    with pytest.raises(render.RenderError, match="comes from the Strimzi cluster"):
        render.helm_template([CHART / "ci" / "dev-values.yaml"], sets=sets)


def test_unknown_field_in_a_rendered_custom_resource_is_caught():
    # Given a valid Kafka resource with a field Strimzi v1 no longer has (spec.kafka.replicas)
    kafka = copy.deepcopy(of_kind(rendered("production"), "Kafka")[0])
    kafka["spec"]["kafka"]["replicas"] = 3
    # When validated strictly, then the unknown field is reported
    problems = manifests.validate_object(kafka)
    assert any("'replicas' was unexpected" in p for p in problems)


def test_unknown_field_in_a_rendered_core_object_is_caught():
    deployment = copy.deepcopy(named(rendered("dev"), "Deployment", "-gateway"))
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    problems = manifests.validate_object(deployment)
    assert problems and all("imagePullPolicyy" in p for p in problems)


def test_monitoring_objects_carry_the_k8s_sources_unchanged():
    # Given the one source of the rules and the dashboard under k8s/
    rules = yaml.safe_load(K8S_DIR.joinpath("prometheus-rules.yaml").read_text())
    dashboard = json.loads(K8S_DIR.joinpath("grafana-dashboard.json").read_text())
    # When the production scenario renders its PrometheusRule and dashboard ConfigMap
    objs = rendered("production")
    rule = of_kind(objs, "PrometheusRule")[0]
    config_map = named(objs, "ConfigMap", "-grafana-dashboard")
    # Then both carry exactly that content, labelled for the operator and Grafana's sidecar
    assert rule["spec"]["groups"] == rules["groups"]
    assert json.loads(config_map["data"]["framewire.json"]) == dashboard
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"


def test_kustomize_renders_the_dashboard_configmap_from_k8s():
    # Given `kubectl kustomize k8s/` (the dashboard for clusters without the chart)
    objs = render.kustomize_k8s()
    # Then it is a valid ConfigMap holding the dashboard JSON unchanged
    assert manifests.validate_manifests(objs) == []
    (config_map,) = of_kind(objs, "ConfigMap")
    dashboard = json.loads(K8S_DIR.joinpath("grafana-dashboard.json").read_text())
    assert json.loads(config_map["data"]["framewire.json"]) == dashboard


def test_an_alert_without_expression_is_caught():
    rule = copy.deepcopy(of_kind(rendered("production"), "PrometheusRule")[0])
    del rule["spec"]["groups"][-1]["rules"][0]["expr"]
    assert any("'expr' is a required property" in p for p in manifests.validate_object(rule))


def test_values_yaml_documents_every_key():
    # Given values.yaml; when each key is looked at, then a comment sits right above it
    # (children of a key documented with "# --" are that key's default value)
    assert undocumented_keys(CHART.joinpath("values.yaml").read_text()) == []


def test_chart_copies_of_k8s_files_are_current():
    # Given the dashboard and rules written under k8s/; then the chart packages them unchanged
    assert sync.drift() == []


def undocumented_keys(text: str) -> list[str]:
    lines = text.splitlines()
    stack: list[tuple[int, bool]] = []
    missing = []
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "-")) or ":" not in stripped:
            continue
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        above = next((p for p in reversed(lines[: number - 1]) if p.strip()), "")
        commented = above.strip().startswith("#") and len(above) - len(above.lstrip()) == indent
        inherited = any(default for _, default in stack)
        if not commented and not inherited:
            missing.append(f"line {number}: {stripped.split(':')[0]}")
        stack.append((indent, inherited or (commented and above.strip().startswith("# --"))))
    return missing


@pytest.mark.parametrize("component", sorted(STATEFUL))
@pytest.mark.parametrize("name", SCENARIOS)
def test_transactional_workloads_keep_their_pod_name_as_instance_id(name, component):
    # Given a scenario's inference or tracker workload
    objs = rendered(name)
    workload = named(objs, "StatefulSet", f"-{component}")
    # Then it is a StatefulSet (a replaced pod keeps its name) governed by a headless Service
    headless = named(objs, "Service", f"-{component}-pods")
    assert workload["spec"]["serviceName"] == headless["metadata"]["name"]
    assert headless["spec"]["clusterIP"] == "None"
    assert workload["spec"]["podManagementPolicy"] == "Parallel"
    # And the instance id (so the transactional id) is the pod name
    env = {e["name"]: e for e in workload["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env[STATEFUL[component]]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


@pytest.mark.parametrize("name", SCENARIOS)
def test_tracker_serves_probes_and_metrics_on_the_port_it_is_told(name):
    # Given a scenario's tracker StatefulSet, ConfigMap and Service
    objs = rendered(name)
    values = yaml.safe_load((CHART / "values.yaml").read_text())["tracker"]
    container = named(objs, "StatefulSet", "-tracker")["spec"]["template"]["spec"]["containers"][0]
    config = named(objs, "ConfigMap", "-tracker")["data"]
    service = named(objs, "Service", "-tracker")
    # Then it runs `framewire tracker` with its HTTP server on metricsPort, on every address
    assert container["args"] == ["tracker"]
    assert config["FW_TRACKER_HTTP_PORT"] == str(values["metricsPort"])
    assert config["FW_TRACKER_HTTP_HOST"] == "0.0.0.0"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"metrics": values["metricsPort"]}
    # And its Service offers that port as "metrics", the one the ServiceMonitor scrapes
    assert [(p["name"], p["port"]) for p in service["spec"]["ports"]] == [("metrics", values["metricsPort"])]


def test_service_monitor_scrapes_every_pod_once():
    # Given the production scenario's ServiceMonitor and Services
    objs = rendered("production")
    monitor = of_kind(objs, "ServiceMonitor")[0]
    selector = monitor["spec"]["selector"]["matchLabels"]
    ports = {e["port"] for e in monitor["spec"]["endpoints"]}
    # When the Services it selects are matched on the endpoint port names
    scraped: dict[str, list[str]] = {}
    for service in of_kind(objs, "Service"):
        labels = service["metadata"]["labels"]
        if selector.items() <= labels.items() and ports & {p["name"] for p in service["spec"]["ports"]}:
            scraped.setdefault(labels["app.kubernetes.io/component"], []).append(service["metadata"]["name"])
    # Then every component's pods are scraped (the tracker's included) through exactly one
    # Service: the headless Services of the StatefulSets would scrape their pods a second time
    components = {w["metadata"]["labels"]["app.kubernetes.io/component"] for w in workloads_of(objs)}
    assert set(scraped) == components >= {"tracker", "inference"}
    assert all(len(names) == 1 for names in scraped.values()), scraped


def test_tracker_pdb_follows_its_values():
    # Given the default chart (the PDB on) and the dev scenario (off)
    defaults = render.parse_manifests(render.helm_template([], sets={"kafka.bootstrap": "kafka:9092"}))
    pdb = named(defaults, "PodDisruptionBudget", "-tracker")
    tracker = named(defaults, "StatefulSet", "-tracker")
    # Then the PDB selects exactly the tracker's pods and lets one go at a time
    assert pdb["spec"]["selector"]["matchLabels"] == tracker["spec"]["selector"]["matchLabels"]
    assert pdb["spec"]["maxUnavailable"] == 1
    dev = [o["metadata"]["name"] for o in of_kind(rendered("dev"), "PodDisruptionBudget")]
    assert not [n for n in dev if n.endswith("-tracker")]


def test_inference_reaches_the_model_server_at_its_info_url_and_downloads_by_its_service():
    # Given the dev scenario, which deploys the model server
    objs = rendered("dev")
    models = named(objs, "Service", "-models")
    url = f"http://{models['metadata']['name']}:{models['spec']['ports'][0]['port']}"
    # Then inference asks the server's info URL, and the server advertises its Service
    assert named(objs, "ConfigMap", "-inference")["data"]["FW_INFERENCE_MODEL_SERVER_URL"] == f"{url}/models"
    args = named(objs, "Deployment", "-models")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--public-url") + 1] == url
