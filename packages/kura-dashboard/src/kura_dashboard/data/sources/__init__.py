"""Where the dashboard reads from: Prometheus, the Kubernetes API, or the simulator."""
