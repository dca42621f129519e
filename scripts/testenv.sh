#!/usr/bin/env bash
# testenv.sh runs a command with private Redis and PostgreSQL servers.
#
#   scripts/testenv.sh CMD [ARGS...]
#
# It installs what is missing (redis-server and postgresql from apt, as root;
# pglite-server with pgvector from npm into a cache directory), starts on
# spare loopback ports, each with a temporary data directory:
#   - redis-server                     -> CATO_TEST_REDIS_URL
#   - PostgreSQL (the system's, 15)    -> CATO_TEST_POSTGRES_URL
#   - pglite-server with pgvector      -> CATO_TEST_PGVECTOR_URL
#   - dynalite (DynamoDB, in memory)   -> CATO_TEST_DYNAMODB_URL
#     (dynalite 4.0.0 from npm into CACHE/dynalite; tests add a suffix of
#     their own to the table name of the URL)
# waits until each answers, runs CMD with those variables exported, stops every
# server it started (on success, failure or Ctrl-C) and exits with CMD's status.
# It also installs the OpenAI clients of the compatibility suite
# (scripts/compat/package.json, pinned by its package-lock.json) from npm into
# CACHE/compat, once per version of that lock file, and exports
#   - their directory                  -> CATO_TEST_NODE_COMPAT
# For the browser test of the operator's page it installs Debian's chromium
# from apt (as root) when missing, and exports
#   - the chromium binary              -> CATO_TEST_CHROMIUM
#   - where tests keep screenshots     -> CATO_TEST_ARTIFACTS
#     (default REPO/.testenv/artifacts, kept after exit)
#
# Environment:
#   CATO_TESTENV_CACHE  where npm packages are installed (default REPO/.testenv)
#   CATO_TESTENV_SKIP   space-separated things not to start or install:
#                       redis postgres pgvector dynamodb compat chromium
#   CATO_TESTENV_KEEP=1 keep the temporary data directories and logs after exit
set -euo pipefail

if [ "$#" -eq 0 ]; then
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
fi

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${CATO_TESTENV_CACHE:-$repo/.testenv}
skip=" ${CATO_TESTENV_SKIP:-} "

# Versions of the npm packages; pglite-socket 0.2.17 asks for exactly these.
pglite_socket_pkg=@electric-sql/pglite-socket@0.2.17
pglite_pkg=@electric-sql/pglite@0.5.14
pgvector_pkg=@electric-sql/pglite-pgvector@0.0.15
dynalite_version=4.0.0

log() { echo "testenv: $*" >&2; }
die() { log "$*"; exit 1; }
wants() { [[ "$skip" != *" $1 "* ]]; }

# --- installing ---------------------------------------------------------------

pg_bindir() {
	local d
	# Newest installed server first; initdb on PATH (a symlink) last.
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
			echo "$d"
			return 0
		fi
	done
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(readlink -f "$(command -v initdb)")"
		return 0
	fi
	return 1
}

apt_install() {
	[ "$(id -u)" -eq 0 ] || die "missing $*: install them (apt-get install -y $*) or run as root"
	command -v apt-get >/dev/null 2>&1 || die "missing $* and no apt-get to install them"
	export DEBIAN_FRONTEND=noninteractive
	local p need_update=0
	for p in "$@"; do
		# Empty package lists (a fresh image): update once, only then.
		if ! apt-cache show "$p" >/dev/null 2>&1; then need_update=1; fi
	done
	if [ "$need_update" -eq 1 ]; then
		log "apt-get update"
		apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
	fi
	log "apt-get install -y $*"
	# Several checkouts may run this at once: wait for the dpkg lock.
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >&2
}

install_missing() {
	local pkgs=()
	if wants redis && ! command -v redis-server >/dev/null 2>&1; then pkgs+=(redis-server); fi
	if wants postgres && ! pg_bindir >/dev/null; then pkgs+=(postgresql); fi
	if wants chromium && ! command -v chromium >/dev/null 2>&1; then pkgs+=(chromium); fi
	if [ "${#pkgs[@]}" -gt 0 ]; then apt_install "${pkgs[@]}"; fi
	if wants postgres; then
		id -u postgres >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ] ||
			die "PostgreSQL refuses to run as root and there is no postgres user"
		command -v pg_isready >/dev/null 2>&1 || [ -x "$(pg_bindir)/pg_isready" ] ||
			apt_install postgresql-client
	fi
	if wants pgvector && [ ! -x "$cache/npm/node_modules/.bin/pglite-server" ]; then
		command -v npm >/dev/null 2>&1 || die "npm is missing: install node 20 or set CATO_TESTENV_SKIP=pgvector"
		log "npm install $pglite_socket_pkg $pgvector_pkg into $cache/npm"
		mkdir -p "$cache/npm"
		[ -f "$cache/npm/package.json" ] || echo '{"private": true}' >"$cache/npm/package.json"
		npm install --prefix "$cache/npm" --no-audit --no-fund --loglevel=error \
			"$pglite_socket_pkg" "$pglite_pkg" "$pgvector_pkg" >&2
	fi
}

# install_dynalite installs dynalite into $cache/dynalite unless that
# version is there. Several checkouts may share the cache: the install
# holds a lock.
dynalite_dir=$cache/dynalite
dynalite_installed() {
	grep -qs "\"version\": \"$dynalite_version\"" "$dynalite_dir/node_modules/dynalite/package.json"
}
install_dynalite() {
	dynalite_installed && return 0
	command -v npm >/dev/null 2>&1 || die "npm is missing: install node 20 or set CATO_TESTENV_SKIP=dynamodb"
	mkdir -p "$dynalite_dir"
	(
		if command -v flock >/dev/null 2>&1; then flock -w 600 9 || die "waited 600s for $dynalite_dir/.lock"; fi
		dynalite_installed && exit 0
		log "npm install dynalite@$dynalite_version into $dynalite_dir"
		[ -f "$dynalite_dir/package.json" ] || echo '{"private": true}' >"$dynalite_dir/package.json"
		npm install --prefix "$dynalite_dir" --no-audit --no-fund --loglevel=error "dynalite@$dynalite_version" >&2
	) 9>"$dynalite_dir/.lock"
}

# install_compat installs the compatibility suite's clients into
# $cache/compat unless the installed lock file is the repository's. Several
# checkouts may share the cache: the install holds a lock.
compat_dir=$cache/compat
install_compat() {
	local lock="$repo/scripts/compat/package-lock.json"
	if [ -d "$compat_dir/node_modules" ] && cmp -s "$lock" "$compat_dir/.installed"; then return 0; fi
	command -v npm >/dev/null 2>&1 || die "npm is missing: install node 20 or set CATO_TESTENV_SKIP=compat"
	mkdir -p "$compat_dir"
	(
		if command -v flock >/dev/null 2>&1; then flock -w 600 9 || die "waited 600s for $compat_dir/.lock"; fi
		if [ -d "$compat_dir/node_modules" ] && cmp -s "$lock" "$compat_dir/.installed"; then exit 0; fi
		log "npm ci (the OpenAI clients of scripts/compat) into $compat_dir"
		rm -f "$compat_dir/.installed"
		cp "$repo/scripts/compat/package.json" "$lock" "$compat_dir/"
		npm ci --prefix "$compat_dir" --no-audit --no-fund --loglevel=error >&2
		cp "$lock" "$compat_dir/.installed"
	) 9>"$compat_dir/.lock"
}

# --- ports and waiting -----------------------------------------------------------

# spare_port prints a TCP port nobody listens on now. The kernel picks it;
# starting the server right after leaves a small race, covered by retries.
spare_port() {
	if command -v node >/dev/null 2>&1; then
		node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
		return
	fi
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

# wait_for NAME PID SECONDS CHECK... polls CHECK until it succeeds, the
# process dies or the time runs out.
wait_for() {
	local name=$1 pid=$2 secs=$3
	shift 3
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			log "$name exited while starting"
			return 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			log "$name did not answer within ${secs}s"
			return 1
		fi
		sleep 0.2
	done
}

# --- servers -------------------------------------------------------------------------

tmp=
pids=()
pg_data=
pg_bin=

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	if [ -n "$pg_data" ] && [ -f "$pg_data/postmaster.pid" ]; then
		as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
	fi
	for p in "${pids[@]}"; do
		# Give each a moment, then make sure.
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ -n "$tmp" ]; then
		if [ "${CATO_TESTENV_KEEP:-}" = 1 ] || { [ "$rc" -ne 0 ] && [ -z "${cmd_started:-}" ]; }; then
			log "logs kept in $tmp"
		else
			rm -rf "$tmp"
		fi
	fi
	exit "$rc"
}

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

start_redis() {
	local try port pid
	for try in 1 2 3; do
		port=$(spare_port)
		mkdir -p "$tmp/redis"
		redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
			--dir "$tmp/redis" --logfile "$tmp/redis/redis.log" --daemonize no &
		pid=$!
		if wait_for redis "$pid" 20 redis_ping "$port"; then
			pids+=("$pid")
			export CATO_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
			return 0
		fi
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	tail -n 20 "$tmp/redis/redis.log" >&2 || true
	die "could not start redis-server"
}

redis_ping() {
	if command -v redis-cli >/dev/null 2>&1; then
		[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
	else
		exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG
	fi
}

pg_ready() {
	local isready
	isready=$(command -v pg_isready || echo "$pg_bin/pg_isready")
	"$isready" -q -h 127.0.0.1 -p "$1" -U postgres -d postgres -t 2
}

start_postgres() {
	pg_bin=$(pg_bindir) || die "PostgreSQL is not installed"
	pg_data="$tmp/pg/data"
	mkdir -p "$tmp/pg"
	if [ "$(id -u)" -eq 0 ]; then chown postgres: "$tmp/pg"; fi
	as_pg "$pg_bin/initdb" -D "$pg_data" -U postgres -A trust -E UTF8 --no-locale --no-sync \
		>"$tmp/pg/initdb.log" 2>&1 || { cat "$tmp/pg/initdb.log" >&2; die "initdb failed"; }
	local try port
	for try in 1 2 3; do
		port=$(spare_port)
		# Durability is not tested against a throwaway cluster: fsync off.
		if as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$tmp/pg/server.log" -w -t 60 \
			-o "-p $port -c listen_addresses=127.0.0.1 -k $tmp/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
			start >/dev/null 2>&1 && wait_for postgres "" 30 pg_ready "$port"; then
			export CATO_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
			return 0
		fi
		as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1 || true
	done
	tail -n 20 "$tmp/pg/server.log" >&2 || true
	die "could not start PostgreSQL"
}

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_dynalite() {
	local try port pid
	mkdir -p "$tmp/dynalite"
	# dynalite throws from a request's 'error' handler when its client
	# closes the connection before dynalite has read the whole request (a
	# client that gave up on it, or a process that ended), and the
	# throw ends the server: every later test of the run then finds it
	# gone. DynamoDB drops such a request and serves on; so does this.
	cat >"$tmp/dynalite/serve-on.js" <<'JS'
process.on('uncaughtException', (err) => {
  if (err && err.code === 'ECONNRESET') {
    console.error('dynalite: a client closed its connection mid-request; serving on:', err.message)
    return
  }
  console.error(err)
  process.exit(1)
})
JS
	for try in 1 2 3; do
		port=$(spare_port)
		# In memory: each run starts empty. Tables leave CREATING at once.
		node --require "$tmp/dynalite/serve-on.js" "$dynalite_dir/node_modules/dynalite/cli.js" \
			--host 127.0.0.1 --port "$port" \
			--createTableMs 20 --deleteTableMs 20 --updateTableMs 20 \
			>>"$tmp/dynalite/server.log" 2>&1 &
		pid=$!
		if wait_for dynalite "$pid" 30 tcp_open "$port"; then
			pids+=("$pid")
			export CATO_TEST_DYNAMODB_URL="dynamodb://cato-test?region=us-east-1&endpoint=http://127.0.0.1:$port"
			return 0
		fi
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	tail -n 20 "$tmp/dynalite/server.log" >&2 || true
	die "could not start dynalite"
}

# launch_pglite starts pglite-server without waiting: it needs ~15 s, which
# the other servers use to come up.
pglite_pid=
pglite_port=
launch_pglite() {
	local bin="$cache/npm/node_modules/.bin/pglite-server"
	mkdir -p "$tmp/pglite"
	pglite_port=$(spare_port)
	# In memory (the default): each run starts empty.
	"$bin" --host=127.0.0.1 --port="$pglite_port" --max-connections=8 \
		--extensions=@electric-sql/pglite-pgvector:vector \
		>>"$tmp/pglite/server.log" 2>&1 &
	pglite_pid=$!
	pids+=("$pglite_pid")
}

await_pglite() {
	local try
	for try in 1 2 3; do
		if wait_for pglite "$pglite_pid" 90 pg_ready "$pglite_port"; then
			# pglite runs every connection in one PostgreSQL session: named
			# prepared statements clash and extended-protocol messages of two
			# connections interleave. One Query message per statement (or
			# batch) is atomic there, hence the simple protocol.
			export CATO_TEST_PGVECTOR_URL="postgres://postgres@127.0.0.1:$pglite_port/postgres?sslmode=disable&default_query_exec_mode=simple_protocol"
			return 0
		fi
		kill "$pglite_pid" 2>/dev/null || true
		wait "$pglite_pid" 2>/dev/null || true
		[ "$try" -lt 3 ] && launch_pglite
	done
	tail -n 20 "$tmp/pglite/server.log" >&2 || true
	die "could not start pglite-server"
}

install_missing
if wants dynamodb; then install_dynalite; fi
if wants compat; then
	install_compat
	export CATO_TEST_NODE_COMPAT="$compat_dir"
fi
if wants chromium; then
	CATO_TEST_CHROMIUM=$(command -v chromium) || die "chromium is missing: install it or set CATO_TESTENV_SKIP=chromium"
	export CATO_TEST_CHROMIUM
fi
export CATO_TEST_ARTIFACTS="${CATO_TEST_ARTIFACTS:-$repo/.testenv/artifacts}"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cato-testenv.XXXXXX")
chmod 755 "$tmp"

if wants pgvector; then launch_pglite; fi
if wants redis; then start_redis; fi
if wants postgres; then start_postgres; fi
if wants dynamodb; then start_dynalite; fi
if wants pgvector; then await_pglite; fi
log "redis=${CATO_TEST_REDIS_URL:-none} postgres=${CATO_TEST_POSTGRES_URL:-none} pgvector=${CATO_TEST_PGVECTOR_URL:-none} dynamodb=${CATO_TEST_DYNAMODB_URL:-none} compat=${CATO_TEST_NODE_COMPAT:-none} chromium=${CATO_TEST_CHROMIUM:-none}"

# CMD runs in the background so that a signal to this script is handled at
# once: the trap passes it on as SIGTERM (a background command ignores
# SIGINT), waits for CMD, and the EXIT trap stops the servers. Its standard
# input stays the script's.
cmd_started=1
signalled=
stop_cmd() {
	signalled=$1
	kill -TERM "$cmd_pid" 2>/dev/null || true
}
"$@" <&0 &
cmd_pid=$!
trap 'stop_cmd 130' INT
trap 'stop_cmd 143' TERM
trap 'stop_cmd 129' HUP
while :; do
	rc=0
	wait "$cmd_pid" || rc=$?
	# wait also returns when a trapped signal arrives: go on until CMD is gone.
	kill -0 "$cmd_pid" 2>/dev/null || break
done
exit "${signalled:-$rc}"
