"""Monitoring built from the plan: the DCGM exporter's counters, the Prometheus rules of a
site (GPU health, MIG layout, per-workload latency SLO burn rates) and the grid's Grafana
dashboard. Everything here is plain data; render/k8s_objects.py wraps it in Kubernetes objects.
"""
