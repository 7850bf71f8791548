# pg_server.sh: a private PostgreSQL server for the benchmarks (sourced by
# bench_pg.sh and bench_work_done.sh). The caller defines die, say, PY (the
# resolved python3) and KEEP (1: keep the data folder), and calls stop_pg when done.
PG_DIR= PG_BIN= PG_URI=

# PostgreSQL refuses to run as root: then its files and processes are postgres's.
pg_as() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

# Start a private server (as tests/run.sh does, with default durability) on
# 127.0.0.1 and a free port in 55500-55699, and set PG_URI; or die saying why.
start_pg() {
    local user port i
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] ||
        die "no initdb and pg_ctl under /usr/lib/postgresql/*/bin (or set STAU_BENCH_PG)"
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/stau-bench-pgdata.XXXXXX")
    if [ "$(id -u)" -eq 0 ]; then
        user=postgres
        chown postgres: "$PG_DIR" && pg_as test -w "$PG_DIR" ||
            die "the postgres user cannot write to $PG_DIR"
    else
        user=$(id -un)
    fi
    pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" --auth=trust --username="$user" \
        --encoding=UTF8 --locale=C >"$PG_DIR/initdb.log" 2>&1 ||
        die "initdb failed: $(tail -n 3 "$PG_DIR/initdb.log")"
    # Settings go in the file (as tests/run.sh has them); durability stays the default.
    {
        printf '%s\n' "" "# stau benchmarks: a private server, PostgreSQL's default durability." \
            "listen_addresses = '127.0.0.1'" "unix_socket_directories = '$PG_DIR'" \
            "max_connections = 50"
        # pg_stat_statements, for the profiles, when this PostgreSQL has it
        if [ -f "$(dirname "$PG_BIN")/lib/pg_stat_statements.so" ]; then
            printf '%s\n' "shared_preload_libraries = 'pg_stat_statements'"
        fi
    } | pg_as tee -a "$PG_DIR/data/postgresql.conf" >/dev/null
    port=55499
    for i in 1 2 3 4 5; do
        port=$("$PY" -c 'import socket, sys
for p in range(int(sys.argv[1]), 55700):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            continue
    print(p)
    break' $((port + 1)))
        [ -n "$port" ] || die "no free port in 55500-55699"
        pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -o "-p $port" \
            -w -t 30 -s start >"$PG_DIR/pg_ctl.log" 2>&1 && break
        if [ "$i" -eq 5 ] || ! grep -q 'could not bind' "$PG_DIR/server.log" 2>/dev/null; then
            die "the server did not start on port $port: $(tail -n 3 "$PG_DIR/server.log" 2>/dev/null)"
        fi
    done
    for i in $(seq 50); do
        "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$user" -d postgres && break
        [ "$i" -lt 50 ] || die "the server does not accept connections on 127.0.0.1:$port"
        sleep 0.1
    done
    PG_URI="postgresql://$user@127.0.0.1:$port/postgres"
    say "private PostgreSQL server $("$PG_BIN/postgres" --version | awk '{print $NF}') at $PG_URI (data in $PG_DIR)"
}

stop_pg() {
    [ -n "$PG_DIR" ] || return 0
    if [ -f "$PG_DIR/data/postmaster.pid" ]; then
        pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 -s stop >/dev/null 2>&1 || true
    fi
    if [ "$KEEP" = 1 ]; then
        say "kept the server's folder $PG_DIR (stopped)"
    else
        rm -rf "$PG_DIR"
    fi
    PG_DIR=
}

