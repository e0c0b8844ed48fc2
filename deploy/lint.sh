#!/usr/bin/env bash
# Lints what can be checked without a cluster or Docker: YAML style (yamllint), the
# HAProxy config (haproxy -c), the Kubernetes manifests through kustomize when kubectl
# is installed, and the shell scripts' syntax. What is not checked here is listed in
# deploy/README.md.
set -euo pipefail
cd "$(dirname "$0")"
fail=0
command -v yamllint >/dev/null || { echo "FAIL: yamllint is not installed (./scripts/install-deps.sh)" >&2; exit 1; }
command -v haproxy >/dev/null || { echo "FAIL: haproxy is not installed (./scripts/install-deps.sh)" >&2; exit 1; }
yamllint -s -c .yamllint kubernetes/ compose.yaml && echo "ok: yamllint deploy/kubernetes deploy/compose.yaml" || fail=1
SIMSEARCH_LB_LISTEN=127.0.0.1:50050 SIMSEARCH_LB_STATS=127.0.0.1:8404 SIMSEARCH_ENGINE_1=127.0.0.1:50061 \
SIMSEARCH_ENGINE_2=127.0.0.1:50062 SIMSEARCH_ENGINE_3=127.0.0.1:50063 \
SIMSEARCH_HEALTH_CHECK="$PWD/haproxy/grpc-health-check.sh" \
  haproxy -c -q -f haproxy/haproxy.cfg && echo "ok: haproxy -c haproxy/haproxy.cfg" || fail=1
for s in haproxy/grpc-health-check.sh; do sh -n "$s" && echo "ok: sh -n $s" || fail=1; done
# The sync script embedded in the ConfigMap.
sed -n '/^  sync.sh: |$/,$p' kubernetes/sync-config.yaml | tail -n +2 | sed 's/^    //' > /tmp/simsearch-sync.$$.sh
sh -n /tmp/simsearch-sync.$$.sh && echo "ok: sh -n (ConfigMap sync.sh)" || fail=1
rm -f /tmp/simsearch-sync.$$.sh
if command -v kubectl >/dev/null; then
  kinds=$(kubectl kustomize kubernetes | grep -c '^kind:') && echo "ok: kubectl kustomize: $kinds objects" || fail=1
else
  echo "skipped: kubectl kustomize (kubectl not installed)"
fi
exit $fail
