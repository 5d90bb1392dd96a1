# Start and stop the servers a served collection uses, for CI and for trying it out (sourced, not run):
#   . scripts/services.sh; start_services      PostgreSQL (Debian's cluster, as the postgres user) and
#                                               `chroma run` from .venv; exports ASSISTANT_TEST_PG_URL and
#                                               ASSISTANT_TEST_CHROMA_URL
#   stop_services                               stops what start_services started (a cluster that was
#                                               already running is left running; test databases dropped)
# Settings for the assistant itself (README, "One collection, many machines"):
#   ASSISTANT_STORE__CATALOG_URL=postgresql://assistant:assistant@127.0.0.1:5432/assistant
#   ASSISTANT_STORE__CHROMA_URL=$ASSISTANT_TEST_CHROMA_URL
_services_pg_started=""
_services_pg_port=""
_services_chroma_pid=""
_services_chroma_dir=""

start_services() {
  local ver cluster port
  if command -v pg_lsclusters >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    read -r ver cluster port _ < <(pg_lsclusters -h | head -1) || true
    if [ -n "${ver:-}" ]; then
      if ! pg_lsclusters -h | head -1 | grep -q online; then
        pg_ctlcluster "$ver" "$cluster" start && _services_pg_started="$ver $cluster"
      fi
      runuser -u postgres -- psql -p "$port" -qtc "SELECT 1 FROM pg_roles WHERE rolname='assistant_ci'" | grep -q 1 \
        || runuser -u postgres -- psql -p "$port" -qc "CREATE ROLE assistant_ci LOGIN CREATEDB PASSWORD 'assistant_ci'"
      runuser -u postgres -- psql -p "$port" -qtc "SELECT 1 FROM pg_database WHERE datname='assistant_ci'" | grep -q 1 \
        || runuser -u postgres -- createdb -p "$port" -O assistant_ci assistant_ci
      _services_pg_port=$port
      # a role for the tests only (loopback, a known password): it creates a database per test
      export ASSISTANT_TEST_PG_URL="postgresql://assistant_ci:assistant_ci@127.0.0.1:$port/assistant_ci"
      echo "services: PostgreSQL $ver/$cluster on port $port"
    fi
  else
    echo "services: no Debian PostgreSQL cluster to start here (or not root); the tests start their own"
  fi
  port=$(.venv/bin/python -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  _services_chroma_dir=$(mktemp -d)
  .venv/bin/chroma run --path "$_services_chroma_dir/data" --host 127.0.0.1 --port "$port" \
    >"$_services_chroma_dir/server.log" 2>&1 &
  _services_chroma_pid=$!
  for _ in $(seq 1 120); do
    if .venv/bin/python -c "import httpx,sys; sys.exit(httpx.get('http://127.0.0.1:$port/api/v2/heartbeat').status_code != 200)" 2>/dev/null; then
      export ASSISTANT_TEST_CHROMA_URL="http://127.0.0.1:$port"
      echo "services: chroma run on port $port"
      return 0
    fi
    sleep 0.5
  done
  echo "services: chroma run did not come up; the tests start their own" >&2
}

stop_services() {
  if [ -n "$_services_chroma_pid" ]; then
    kill "$_services_chroma_pid" 2>/dev/null || true
    wait "$_services_chroma_pid" 2>/dev/null || true
    rm -rf "$_services_chroma_dir"
  fi
  if [ -n "$_services_pg_port" ]; then
    # the databases the tests and benches created: owned by the CI role, named by tests/services.py and bench/common.py
    runuser -u postgres -- psql -p "$_services_pg_port" -qtc "SELECT d.datname FROM pg_database d JOIN pg_roles r \
      ON r.oid = d.datdba WHERE r.rolname = 'assistant_ci' AND d.datname ~ '^(t|bench_[a-z]+)_[0-9a-f]+$'" 2>/dev/null \
      | while read -r db; do [ -n "$db" ] && runuser -u postgres -- dropdb -p "$_services_pg_port" --force "$db" 2>/dev/null; done || true
  fi
  if [ -n "$_services_pg_started" ]; then
    # shellcheck disable=SC2086
    pg_ctlcluster $_services_pg_started stop || true
  fi
}
