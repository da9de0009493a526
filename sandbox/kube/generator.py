"""Large, varied ACP views for benchmarks and limit tests, reproducible from a seed."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence

from .defaults import KubeObject

_OPERATORS = (
    ("clickhouse", "ClickHouse"),
    ("rds", "Alauda Container Platform Data Services RDS Framework"),
    ("envoy-gateway", "Alauda build of Envoy Gateway"),
    ("redis", "Alauda Cache Service for Redis OSS"),
    ("kafka", "Alauda Streams for Apache Kafka"),
    ("rabbitmq", "Alauda support for RabbitMQ"),
    ("postgres", "Alauda support for PostgreSQL"),
    ("mysql-mgr", "Alauda Database Service for MySQL-MGR"),
    ("mysql-pxc", "Alauda Database Service for MySQL-PXC"),
    ("mongodb", "Alauda support for MongoDB"),
    ("elasticsearch", "Alauda support for Elasticsearch"),
    ("opensearch", "OpenSearch"),
    ("tidb", "TiDB 分布式数据库"),
    ("milvus", "Milvus"),
    ("minio", "Alauda Object Storage for MinIO"),
    ("nacos", "Nacos"),
    ("rocketmq", "Alauda support for RocketMQ"),
    ("pulsar", "Apache Pulsar"),
    ("zookeeper", "ZooKeeper"),
    ("harbor-ce", "Alauda Build of Harbor"),
    ("gitlab-ce", "Alauda Build of GitLab"),
    ("sonarqube-ce", "Alauda Build of SonarQube"),
    ("nexus-ce", "Alauda Build of Nexus Repository"),
    ("jenkins", "Alauda Build of Jenkins"),
    ("tektoncd", "Alauda DevOps Pipelines"),
    ("argo-workflows", "Alauda Build of Argo Workflows"),
    ("knative", "Alauda Build of Knative Serving"),
    ("kserve", "Alauda AI Model Serving (KServe)"),
    ("kubeflow-training", "Kubeflow Training Operator"),
    ("kuberay", "KubeRay"),
    ("kubevirt", "Alauda Container Platform Virtualization"),
    ("cdi", "Containerized Data Importer"),
    ("rook-ceph", "Alauda Build of Rook-Ceph"),
    ("topolvm", "Alauda Build of TopoLVM"),
    ("external-secrets", "External Secrets Operator"),
    ("vault", "HashiCorp Vault"),
    ("keycloak", "Keycloak"),
    ("grafana", "Grafana Operator"),
    ("loki", "Grafana Loki"),
    ("tempo", "Grafana Tempo"),
    ("jaeger", "Alauda Build of Jaeger"),
    ("opentelemetry", "Alauda Build of OpenTelemetry"),
    ("victoriametrics", "VictoriaMetrics"),
    ("istio", "Alauda Service Mesh"),
    ("kong", "Kong Gateway"),
    ("apisix", "Apache APISIX"),
    ("dragonfly", "Dragonfly P2P Distribution"),
    ("flink", "Apache Flink Kubernetes Operator"),
    ("spark", "Spark on Kubernetes"),
    ("airflow", "Apache Airflow"),
    ("doris", "Apache Doris 数据仓库"),
    ("starrocks", "StarRocks"),
    ("seaweedfs", "SeaweedFS"),
    ("langflow", "Langflow"),
    ("dify", "Dify"),
    ("application-services-data-integration", "Alauda Application Services Data Integration Platform"),
)
_OPERATOR_VARIANTS = (
    ("", ""),
    ("-ee", " Enterprise"),
    ("-lite", " Lite"),
    ("-ha", " HA"),
    ("-multi-az", " Multi-AZ"),
    ("-cluster", " Cluster Edition"),
)
_PLUGINS = (
    ("aml-global", "Alauda AI Essentials", "Alauda AI 基础组件"),
    ("application-services-core", "Alauda Container Platform Data Services Essentials", ""),
    ("argo-rollouts", "Alauda Build of Argo Rollouts", ""),
    ("argocd", "Alauda Container Platform GitOps", ""),
    ("asm-global", "Alauda Service Mesh Essentials", ""),
    ("capi-provider-aws", "Alauda Container Platform EKS Provider", ""),
    ("capi-provider-azure", "Alauda Container Platform AKS Provider", ""),
    ("capi-provider-cce", "Alauda Container Platform CCE Provider", ""),
    ("capi-provider-gcp", "Alauda Container Platform GKE Provider", ""),
    ("capi-provider-ack", "Alauda Container Platform ACK Provider", ""),
    ("capi-provider-tke", "Alauda Container Platform TKE Provider", ""),
    ("cert-manager", "Alauda Build of cert-manager", "证书管理"),
    ("metallb", "Alauda Build of MetalLB", "负载均衡"),
    ("velero", "Alauda Container Platform Backup and Recovery", "备份与恢复"),
    ("volcano", "Alauda Build of Volcano", "批量调度"),
    ("kubevirt", "Alauda Container Platform Virtualization", ""),
    ("hami", "Alauda Build of HAMi", "GPU 虚拟化"),
    ("logcenter", "Alauda Container Platform Log Storage", "日志存储"),
    ("prometheus", "Alauda Container Platform Monitoring for Prometheus", "监控"),
    ("victoriametrics", "Alauda Container Platform Monitoring for VictoriaMetrics", "监控"),
    ("sriov-network", "Alauda Container Platform SR-IOV Network", ""),
    ("multus-cni", "Multus CNI", ""),
    ("kube-ovn-ovs-dpdk", "Kube-OVN with OVS-DPDK", ""),
    ("istio-egress", "Alauda Service Mesh Egress Gateway", ""),
    ("nvidia-gpu", "Alauda Build of NVIDIA GPU Device Plugin", "GPU 设备插件"),
    ("topolvm", "Alauda Build of TopoLVM", "本地存储"),
    ("ceph-csi", "Alauda Build of Ceph CSI", "分布式存储"),
    ("nfs-csi", "NFS CSI Driver", ""),
    ("harbor-proxy", "Harbor Proxy Cache", ""),
    ("tekton-dashboard", "Tekton Dashboard", ""),
    ("gatekeeper", "Alauda Build of OPA Gatekeeper", "策略管理"),
    ("kyverno", "Kyverno Policy Engine", ""),
    ("falco", "Falco Runtime Security", "运行时安全"),
    ("trivy", "Trivy Vulnerability Scanner", ""),
    ("langflow", "Langflow", ""),
    ("dify", "Dify", ""),
)
_PLUGIN_VARIANTS = ("", "-agent", "-exporter", "-dashboard", "-global", "-gateway", "-webhook", "-edge")
_CHANNELS = ("stable", "alpha", "latest", "preview", "v4.2", "v4.1")


def _version(rng: random.Random) -> str:
    version = f"{rng.choice((1, 2, 3, 4, 4, 4))}.{rng.randint(0, 12)}.{rng.randint(0, 20)}"
    roll = rng.random()
    if roll < 0.12:
        day = f"2025{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        version += f"-build.{day}{rng.randint(0, 235959):06d}"
    elif roll < 0.18:
        version += f"-r{rng.randint(1, 9)}"
    return version


def _operator_names(count: int, rng: random.Random) -> list[tuple[str, str]]:
    catalog = [
        (f"{slug}{suffix}-operator", f"{display}{label}")
        for slug, display in _OPERATORS
        for suffix, label in _OPERATOR_VARIANTS
    ]
    picked = rng.sample(catalog, min(count, len(catalog)))
    n = 2
    while len(picked) < count:
        picked += [(f"{name[: -len('-operator')]}-{n}-operator", f"{d} #{n}") for name, d in catalog]
        n += 1
    return picked[:count]


def generate_operator_views(count: int, clusters: Sequence[str], seed: int) -> list[KubeObject]:
    """`count` OperatorViews spread evenly over `clusters`, mostly Installed, never with empty channels."""
    rng = random.Random(seed)
    views: list[KubeObject] = []
    for i, cluster in enumerate(clusters):
        share = count // len(clusters) + (1 if i < count % len(clusters) else 0)
        for name, display in _operator_names(share, rng):
            views.append(_operator_view(cluster, name, display, rng))
    return views


def _operator_view(cluster: str, name: str, display: str, rng: random.Random) -> KubeObject:
    installed = f"{name}.v{_version(rng)}"
    roll = rng.random()
    phase: str | None = "Installed"
    if roll < 0.03:
        phase = "Pending"
    elif roll < 0.05:
        phase = "Failed"
    elif roll < 0.06:
        phase = ""
    elif roll < 0.075:
        phase = None
    elif roll < 0.085:
        phase = "Upgrading"
    subscription = {"installedCSV": installed} if phase == "Installed" and rng.random() > 0.01 else {}
    operator_status: dict[str, object] = {
        "installation": {"artifactName": name, "subscription": subscription}
    }
    if phase is not None:
        operator_status["phase"] = phase
    status: dict[str, object] = {"operatorStatus": operator_status}
    if rng.random() > 0.01:
        channels: list[dict[str, object]] = []
        for channel in rng.sample(_CHANNELS, rng.randint(1, 3)):
            csv = installed if not channels else f"{name}.v{_version(rng)}"
            version = csv.split(".v", 1)[1]
            channels.append(
                {
                    "name": channel,
                    "currentCSV": csv,
                    "currentCSVDesc": {"displayName": display, "version": version},
                }
            )
        status["packageManifestStatus"] = {"channels": channels}
    return {
        "apiVersion": "app.alauda.io/v1alpha1",
        "kind": "OperatorView",
        "metadata": {"name": name, "namespace": cluster},
        "status": status,
    }


def generate_plugin_views(count: int, clusters: Sequence[str], seed: int) -> list[KubeObject]:
    """`count` ModulePluginViews of every lifecycle, installed on zero to three clusters each."""
    rng = random.Random(seed + 1)
    catalog = [(f"{slug}{v}", en, zh) for slug, en, zh in _PLUGINS for v in _PLUGIN_VARIANTS]
    rng.shuffle(catalog)
    views = []
    for i in range(count):
        slug, en, zh = catalog[i % len(catalog)]
        if i >= len(catalog):
            slug, en = f"{slug}-{i // len(catalog) + 1}", f"{en} {i // len(catalog) + 1}"
        views.append(_plugin_view(slug, en, zh, clusters, rng))
    return views


def _plugin_view(name: str, en: str, zh: str, clusters: Sequence[str], rng: random.Random) -> KubeObject:
    labels = {"cpaas.io/module-name": name, "cpaas.io/module-type": "plugin"}
    roll = rng.random()
    lifecycle = (
        "agnostic"
        if roll < 0.5
        else "aligned"
        if roll < 0.8
        else "core"
        if roll < 0.9
        else None
        if roll < 0.95
        else ""
        if roll < 0.98
        else "deprecated"
    )
    if lifecycle is not None:
        labels["cpaas.io/lifecycle-type"] = lifecycle
    annotations = {"cpaas.io/description": f"{en}."}
    roll = rng.random()
    if roll < 0.85:
        display = {"en": en, "zh": f"{en} {zh}".strip() if zh else en}
        annotations["cpaas.io/display-name"] = json.dumps(display, ensure_ascii=False)
    elif roll < 0.9:
        annotations["cpaas.io/display-name"] = en
    where = rng.sample(list(clusters), min(len(clusters), rng.choice((0, 0, 1, 1, 1, 1, 2, 3))))
    installed = [{"cluster": c, "version": f"v4.{rng.randint(0, 2)}.{rng.randint(0, 20)}"} for c in where]
    return {
        "apiVersion": "app.alauda.io/v1alpha2",
        "kind": "ModulePluginView",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "status": {"installed": installed},
    }
