"""A minimal Kubernetes API server over real HTTP, for the charts' `lookup` calls.

Helm's `lookup` asks the API server which resources group version v1 serves (discovery), then GETs
one object and reads a 404 Status as "not there". This server answers exactly those requests from
the objects a test stores, so a cluster-aware render (helm_python.Config.render) runs Helm's real
lookup code over a socket; everything else answers 404, and every request is recorded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import helm_python as helm
from servers import serving_in_background

# the core (v1) resources the charts look up, as discovery lists them
RESOURCES = {"Secret": "secrets", "PersistentVolumeClaim": "persistentvolumeclaims"}
NOT_FOUND = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}


@dataclass
class Cluster:
    """Objects by (kind, namespace, name), and the paths the API server was asked for."""

    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def add(self, obj: dict[str, Any]) -> None:
        metadata = obj["metadata"]
        self.objects[(obj["kind"], metadata["namespace"], metadata["name"])] = obj

    def answer(self, path: str) -> dict[str, Any] | None:
        if path == "/api/v1":
            return {
                "kind": "APIResourceList",
                "groupVersion": "v1",
                "resources": [
                    {
                        "name": plural,
                        "singularName": kind.lower(),
                        "namespaced": True,
                        "kind": kind,
                        "verbs": ["get"],
                    }
                    for kind, plural in RESOURCES.items()
                ],
            }
        parts = path.strip("/").split("/")
        if len(parts) == 6 and parts[:3] == ["api", "v1", "namespaces"]:
            namespace, plural, name = parts[3], parts[4], parts[5]
            kind = next((k for k, p in RESOURCES.items() if p == plural), "")
            return self.objects.get((kind, namespace, name))
        return None


def _handler(cluster: Cluster) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # a quiet server
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            cluster.requests.append(path)
            body = cluster.answer(path)
            status = 200 if body is not None else 404
            data = json.dumps(body if body is not None else NOT_FOUND).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def serve(cluster: Cluster, namespace: str) -> Iterator[helm.Config]:
    """A Helm configuration pointing at ``cluster``, served on 127.0.0.1 while the block runs."""
    with serving_in_background(ThreadingHTTPServer(("127.0.0.1", 0), _handler(cluster))) as server:
        port = server.server_address[1]
        kubeconfig = _kubeconfig(port, namespace)
        with helm.Config(kubeconfig_content=kubeconfig, namespace=namespace) as config:
            yield config


def _kubeconfig(port: int, namespace: str) -> str:
    return f"""apiVersion: v1
kind: Config
clusters: [{{name: test, cluster: {{server: "http://127.0.0.1:{port}"}}}}]
contexts: [{{name: test, context: {{cluster: test, user: test, namespace: {namespace}}}}}]
current-context: test
users: [{{name: test, user: {{token: test}}}}]
"""
