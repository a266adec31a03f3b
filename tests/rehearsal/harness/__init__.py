"""The rehearsal harness: the umbrella chart rendered with real Helm and run in Docker as a kubelet would.

render     values file -> rendered objects (helm_python)
podspec    a pod template -> `docker run` arguments (env, security, limits, volumes, ports)
pods       one pod: its container, its probes, restarts, termination with preStop and grace
workloads  Deployments (replicas, rolling updates), hook Jobs in Helm order, CronJobs on demand
edge       Services and the Ingress as one local nginx (TLS from a self-signed certificate)
datastores PostgreSQL and Redis, embedded, behind the Services the charts name
cluster    all of the above for one release
traffic    HTTPS clients through the edge, open-loop load
"""
