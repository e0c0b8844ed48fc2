#!/bin/sh
# HAProxy external check: grpc.health.v1 Check of one engine with the project's CLI.
# HAProxy calls it with: PROXY_ADDR PROXY_PORT SERVER_ADDR SERVER_PORT; exit 0 = up.
# SIMSEARCH_CLI overrides the CLI's path; SIMSEARCH_CHECK_FLAGS adds flags (e.g.
# "--tls_ca /etc/simsearch/ca.pem" for engines serving TLS).
# shellcheck disable=SC2086  # SIMSEARCH_CHECK_FLAGS is a list of flags
exec "${SIMSEARCH_CLI:-simsearch}" health --server "$3:$4" --timeout 1 ${SIMSEARCH_CHECK_FLAGS:-} >/dev/null 2>&1
