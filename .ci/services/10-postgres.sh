# Sourced by .ci/run: a throwaway PostgreSQL cluster on 127.0.0.1 for the tests marked `postgres`
# (tests/services/postgres.py gives each test its own database in it). Installs Debian's
# `postgresql` if missing (apt-get update once, quietly), runs initdb/pg_ctl as user postgres with
# the data dir under a temp dir, exports CIVIC_TEST_PG_URL and CIVIC_REQUIRE_POSTGRES=1, and
# registers a stop in cleanup_hooks.
_pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "$(_pg_bin)" ]; then
  echo "CI: installing postgresql"
  (apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq postgresql >/dev/null) \
    || echo "CI: could not install postgresql; the postgres tests will fail" >&2
fi
PG_BIN="$(_pg_bin)"
if [ -n "$PG_BIN" ]; then
  PG_DIR="$(mktemp -d /tmp/civic-pg.XXXXXX)"
  PG_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  _pg_as() { if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  [ "$(id -u)" = "0" ] && chown postgres "$PG_DIR"
  if _pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" --auth=trust -U postgres >"$PG_DIR/initdb.log" 2>&1 \
     && _pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
          -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_DIR -c fsync=off -c full_page_writes=off" start >/dev/null \
     && _pg_as "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres civic_test; then
    export CIVIC_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/civic_test"
    cleanup_hooks+=("_pg_as '$PG_BIN/pg_ctl' -D '$PG_DIR/data' -m immediate stop >/dev/null 2>&1; rm -rf '$PG_DIR'")
    echo "CI: PostgreSQL on 127.0.0.1:$PG_PORT"
  else
    echo "CI: PostgreSQL did not start; see $PG_DIR" >&2
  fi
fi
export CIVIC_REQUIRE_POSTGRES=1
