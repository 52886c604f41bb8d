# Sourced by scripts/test: a throw-away PostgreSQL on loopback for the storage tests.
# Sets HEGUI_TEST_POSTGRES_URL. Without a PostgreSQL server installed, the PostgreSQL tests skip and say so.

start_test_postgres() {
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -z "$bindir" || ! -x "$bindir/initdb" ]]; then
    echo "test: no PostgreSQL server installed; the PostgreSQL tests will skip"
    return 0
  fi
  PG_TMP=$(mktemp -d /tmp/hegui-pg.XXXXXX)
  local port=${HEGUI_TEST_PG_PORT:-55432}
  local as=()
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres "$PG_TMP"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bindir/initdb" -D "$PG_TMP/data" -A trust -U hegui -E UTF8 >/dev/null
  # The port sits in the ephemeral range: a client socket of an earlier run can hold it for a while
  # (TIME_WAIT), so try the next few ports before giving up.
  local tries=0
  until "${as[@]}" "$bindir/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/log" -w \
    -o "-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c fsync=on" start >/dev/null; do
    tries=$((tries + 1))
    if ((tries >= 5)); then
      echo "test: PostgreSQL did not start; its log:" >&2
      tail -n 5 "$PG_TMP/log" >&2
      return 1
    fi
    port=$((port + 1))
  done
  PG_BINDIR="$bindir"
  PG_AS=("${as[@]}")
  export HEGUI_TEST_POSTGRES_URL="postgresql+psycopg://hegui@127.0.0.1:$port/postgres"
  echo "test: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

stop_test_postgres() {
  if [[ -n "${PG_TMP:-}" && -d "$PG_TMP/data" ]]; then
    "${PG_AS[@]}" "$PG_BINDIR/pg_ctl" -D "$PG_TMP/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_TMP"
  fi
}
