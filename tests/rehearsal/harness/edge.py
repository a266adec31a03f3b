"""Services and the Ingress as one local nginx (Debian's package, run as a process on 127.0.0.1).

Each Service gets a loopback address of its own (its "ClusterIP"), resolved by name inside the
containers (--add-host), and an nginx stream (TCP) proxy on its ports to its ready pods, as kube-proxy
does. The Ingress becomes an HTTPS server block, routing to the ready pods directly as ingress-nginx
does, with the annotations' body size, timeouts, buffering and per-client rate and connection limits.
Readiness changes rewrite the upstreams and reload nginx (SIGHUP: in-flight requests finish).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from processes import port_is_free

from harness.log import say
from harness.pods import Pod
from harness.podspec import Obj

NGINX = "/usr/sbin/nginx"
STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
ANNOTATION = "nginx.ingress.kubernetes.io/"


@dataclass(frozen=True)
class ServicePort:
    service: str
    address: str
    port: int
    target: int | str  # a containerPort or a port name


def _matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _target_port(pod: Pod, target: int | str) -> int | None:
    if isinstance(target, str) and not target.isdigit():
        number = pod.spec.container.ports.get(target)
        return pod.port(number) if number is not None else None
    return pod.host_ports.get(int(target))


def self_signed_certificate(directory: Path, host: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``host`` (what cert-manager's docket-selfsigned issuer gives)."""
    cert, key = directory / "tls.crt", directory / "tls.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={host}",
            "-addext",
            f"subjectAltName=DNS:{host},IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class Edge:
    """The release's Services and Ingresses served by one nginx master process."""

    def __init__(
        self,
        directory: Path,
        services: Sequence[Obj],
        ingresses: Sequence[Obj],
        pods: Callable[[], list[Pod]],
        https_port: int,
        http_port: int,
        external: Mapping[str, tuple[int, int]],
    ) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pods = pods
        self.https_port = https_port
        self.http_port = http_port
        self.ingresses = list(ingresses)
        self.services = {s["metadata"]["name"]: s for s in services}
        self.addresses: dict[str, str] = {}
        for index, name in enumerate(sorted([*self.services, *external]), start=1):
            self.addresses[name] = f"127.0.1.{index}"
        self.external = dict(external)  # name -> (service port, host port): PostgreSQL, Redis
        hosts = {r.get("host", "") for i in self.ingresses for r in i["spec"].get("rules") or []}
        self.host = sorted(hosts)[0] if hosts else "localhost"
        self.cert, self.key = self_signed_certificate(self.dir, self.host)
        self.process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._last = ""

    def service_ports(self) -> list[ServicePort]:
        return [
            ServicePort(name, self.addresses[name], int(p["port"]), p.get("targetPort", p["port"]))
            for name, svc in sorted(self.services.items())
            for p in svc["spec"].get("ports") or []
        ]

    def endpoints(self, service: str, target: int | str) -> list[int]:
        """Host ports of the ready pods the Service selects, on ``target``."""
        selector = self.services[service]["spec"].get("selector") or {}
        ports = []
        for pod in self.pods():
            if pod.ready and not pod.terminating and _matches(selector, pod.labels):
                port = _target_port(pod, target)
                if port is not None:
                    ports.append(port)
        return sorted(ports)

    # ---- configuration

    def _upstream(self, name: str, ports: Sequence[int], http: bool) -> str:
        servers = "".join(f"    server 127.0.0.1:{p} max_fails=0;\n" for p in ports)
        servers = servers or "    server 127.0.0.1:9 down;\n"  # no endpoints: refused, as with no ready pod
        keepalive = "    keepalive 64;\n" if http and ports else ""
        return f"  upstream {name} {{\n{servers}{keepalive}  }}\n"

    def _stream(self) -> str:
        blocks = []
        for sp in self.service_ports():
            upstream = f"svc_{sp.service}_{sp.port}".replace("-", "_")
            blocks.append(self._upstream(upstream, self.endpoints(sp.service, sp.target), http=False))
            blocks.append(
                f"  server {{ listen {sp.address}:{sp.port}; proxy_pass {upstream}; "
                "proxy_connect_timeout 2s; "
                "proxy_timeout 1h; }\n"
            )
        for name, (port, host_port) in sorted(self.external.items()):
            blocks.append(
                f"  server {{ listen {self.addresses[name]}:{port}; proxy_pass 127.0.0.1:{host_port}; "
                "proxy_connect_timeout 2s; proxy_timeout 1h; }\n"
            )
        return "stream {\n" + "".join(blocks) + "}\n"

    def _locations(self, ingress: Obj, zones: list[str]) -> str:
        notes = {
            k[len(ANNOTATION) :]: v
            for k, v in (ingress["metadata"].get("annotations") or {}).items()
            if k.startswith(ANNOTATION)
        }
        name = ingress["metadata"]["name"].replace("-", "_")
        settings = [
            f"client_max_body_size {notes.get('proxy-body-size', '1m')};",
            f"proxy_request_buffering {notes.get('proxy-request-buffering', 'on')};",
            f"proxy_buffering {notes.get('proxy-buffering', 'off')};",
            f"proxy_read_timeout {notes.get('proxy-read-timeout', '60')}s;",
            f"proxy_send_timeout {notes.get('proxy-send-timeout', '60')}s;",
            f"proxy_connect_timeout {notes.get('proxy-connect-timeout', '5')}s;",
            "proxy_next_upstream error timeout; proxy_next_upstream_tries 3;",  # ingress-nginx's defaults
            'proxy_http_version 1.1; proxy_set_header Connection "";',
            "proxy_set_header Host $host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "proxy_set_header X-Forwarded-Proto https; proxy_set_header X-Real-IP $remote_addr;",
        ]
        if rps := notes.get("limit-rps"):
            burst = int(rps) * int(notes.get("limit-burst-multiplier", "5"))
            zones.append(f"limit_req_zone $binary_remote_addr zone={name}_rps:10m rate={rps}r/s;")
            settings.append(f"limit_req zone={name}_rps burst={burst} nodelay;")
        if connections := notes.get("limit-connections"):
            zones.append(f"limit_conn_zone $binary_remote_addr zone={name}_conn:10m;")
            settings.append(f"limit_conn {name}_conn {connections};")
        blocks = []
        for rule in ingress["spec"].get("rules") or []:
            for path in (rule.get("http") or {}).get("paths") or []:
                backend = path["backend"]["service"]
                target = self._target_of(backend["name"], backend["port"])
                upstream = f"ing_{name}_{backend['name']}".replace("-", "_")
                zones.append(self._upstream(upstream, self.endpoints(backend["name"], target), http=True))
                body = "\n      ".join([*settings, f"proxy_pass http://{upstream};"])
                prefix = path["path"].rstrip("/")
                if path.get("pathType") == "Exact":
                    blocks.append(f"    location = {path['path']} {{\n      {body}\n    }}\n")
                elif prefix:
                    blocks.append(f"    location = {prefix} {{\n      {body}\n    }}\n")
                    blocks.append(f"    location {prefix}/ {{\n      {body}\n    }}\n")
                else:
                    blocks.append(f"    location / {{\n      {body}\n    }}\n")
        return "".join(blocks)

    def _target_of(self, service: str, port: Mapping[str, object]) -> int | str:
        for p in self.services[service]["spec"].get("ports") or []:
            if p.get("name") == port.get("name") or p["port"] == port.get("number"):
                target = p.get("targetPort", p["port"])
                return target if isinstance(target, str) else int(target)  # type: ignore[arg-type]
        raise ValueError(f"ingress names port {port} of service {service}, which it does not have")

    def config(self) -> str:
        zones: list[str] = []
        locations = "".join(self._locations(ingress, zones) for ingress in self.ingresses)
        d = self.dir
        return (
            f"load_module {STREAM_MODULE};\n"
            f"worker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n"
            "events { worker_connections 4096; }\n" + self._stream() + "http {\n"
            f"  access_log {d}/access.log combined;\n"
            f"  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n"
            f"  fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n"
            "  limit_req_status 429; limit_conn_status 429;\n"  # as e2e.yml configures ingress-nginx
            + "".join(f"  {z}\n" if not z.startswith("  ") else z for z in zones)
            + f"  server {{\n    listen 127.0.0.1:{self.https_port} ssl default_server;\n"
            f"    server_name {self.host};\n"
            f"    ssl_certificate {self.cert};\n    ssl_certificate_key {self.key};\n" + locations + "  }\n"
            f"  server {{ listen 127.0.0.1:{self.http_port} default_server; "
            "return 308 https://$host$request_uri; }\n"  # ssl-redirect
            "}\n"
        )

    # ---- the process

    def start(self) -> None:
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.dir / sub).mkdir(exist_ok=True)
        self._write()
        # nginx retries a taken address for seconds before it gives up; meanwhile the pods would reach
        # whatever holds it (an earlier rehearsal's edge, and its database)
        for address, port in re.findall(r"listen (127\.[0-9.]+):([0-9]+)", self._last):
            if not port_is_free(int(port), address):
                raise RuntimeError(
                    f"edge: {address}:{port} is taken, most likely by an earlier rehearsal that was not "
                    "torn down: see `docker ps --filter label=io.docket.rehearsal` and its nginx"
                )
        say(
            f"edge: nginx on https://127.0.0.1:{self.https_port} (host {self.host}); services at "
            + ", ".join(f"{n}={a}" for n, a in sorted(self.addresses.items()))
        )
        self.process = subprocess.Popen(
            [NGINX, "-c", str(self.dir / "nginx.conf"), "-p", str(self.dir), "-g", "daemon off; user root;"],
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "nginx.stderr", "ab"),  # noqa: SIM115
            process_group=0,
        )
        time.sleep(0.3)
        if self.process.poll() is not None:
            raise RuntimeError(f"nginx did not start: {(self.dir / 'nginx.stderr').read_text()[-2000:]}")

    def _write(self) -> bool:
        text = self.config()
        if text == self._last:
            return False
        (self.dir / "nginx.conf").write_text(text)
        test = subprocess.run(
            [NGINX, "-t", "-q", "-c", str(self.dir / "nginx.conf"), "-p", str(self.dir), "-g", "user root;"],
            capture_output=True,
            text=True,
        )
        if test.returncode != 0:
            raise RuntimeError(f"edge: nginx refuses its config: {test.stderr.strip()}")
        self._last = text
        return True

    def refresh(self) -> None:
        """Rewrite the upstreams from the pods' readiness, and reload nginx if they changed."""
        with self._lock:
            if self._write() and self.process and self.process.poll() is None:
                os.kill(self.process.pid, signal.SIGHUP)
                time.sleep(0.2)  # the new workers take over within milliseconds

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
