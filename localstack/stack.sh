#!/usr/bin/env bash
# Docker-free local stack for wormseal tests: a throwaway PostgreSQL 15 cluster and a single-node
# Ceph cluster (1 mon, 1 memstore OSD, radosgw) on 127.0.0.1, all state in one directory.
#
#   stack.sh start [DIR]   start a stack in DIR (default: new mktemp dir); env lines on stdout
#   stack.sh stop  [DIR]   stop everything started for DIR and remove DIR
#   stack.sh env   [DIR]   print the env lines again
#
# DIR defaults to $WORMSEAL_STACK_DIR for stop/env. Logs go to stderr and DIR/logs.
# Why Ceph RGW and not an emulator: RGW really enforces Object Lock COMPLIANCE retention and
# legal holds (design decision 6); several S3 emulators only store the settings.
set -euo pipefail

PG_BIN=${WORMSEAL_PG_BIN:-/usr/lib/postgresql/15/bin}
# memstore keeps every object in RAM; the size is only the capacity the OSD reports. RAM is used
# as data is written: measured ~2.1 GB OSD RSS for 1.1 GiB of objects. 4 GiB leaves room for a
# ~1 GB benchmark below the 95% "full" ratio.
OSD_BYTES=${WORMSEAL_STACK_OSD_BYTES:-4294967296}
# Fixed, well-known test credentials: the stack only listens on loopback and is thrown away.
ACCESS_KEY=WORMSEALLOCALACCESS01
SECRET_KEY=wormseal-local-secret-key-for-tests-only
# RGW does not check the region in SigV4 scopes; us-east-1 makes the SDK omit
# CreateBucketConfiguration/LocationConstraint, which RGW would otherwise compare with the
# zonegroup api_name ("default").
REGION=us-east-1
MARKER=.wormseal-stack

log() { printf '[stack %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Run a command as the postgres OS user: initdb/postgres refuse to run as root.
as_pg() {
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Resolve DIR for stop/env: explicit argument, else $WORMSEAL_STACK_DIR.
resolve_dir() {
  local d=${1:-${WORMSEAL_STACK_DIR:-}}
  [[ -n $d ]] || die "no stack directory given (argument or WORMSEAL_STACK_DIR)"
  realpath -m -- "$d"
}

# ---------------------------------------------------------------------------------------------
# Process handling. Only pids recorded in DIR/pids are ever signalled, and only if the process's
# command line still mentions DIR (guards against pid reuse after a reboot or a crash).
# ---------------------------------------------------------------------------------------------
pid_alive() {
  local pid=$1 state
  [[ -r /proc/$pid/stat ]] || return 1
  # A zombie counts as gone: our daemons are reparented and may wait for a reaper.
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z ]]
}

pid_belongs_to() {
  local pid=$1 dir=$2
  # "$dir/": every daemon's command line names a path inside DIR; the slash keeps /tmp/s1 from
  # matching /tmp/s10.
  pid_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/"
}

# stop_pid NAME PID DIR SIGNAL: signal, wait up to 15 s, then SIGKILL.
stop_pid() {
  local name=$1 pid=$2 dir=$3 sig=$4 i
  pid_belongs_to "$pid" "$dir" || return 0
  log "stopping $name (pid $pid)"
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  log "$name (pid $pid) ignored SIG$sig; killing"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  log "WARNING: $name (pid $pid) still alive"
}

stop_all() {
  local dir=$1 name pid i f
  # A start still running for this dir (e.g. the caller gave up waiting): stop it first so it
  # cannot spawn more daemons behind our back. Its own exit trap also stops what it started.
  if [[ -f $dir/pids/start.pid ]]; then
    pid=$(<"$dir/pids/start.pid")
    if [[ $pid =~ ^[0-9]+$ && $pid != "$$" ]] && pid_alive "$pid" &&
      tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'stack\.sh'; then
      log "stopping unfinished start (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      for ((i = 0; i < 400; i++)); do pid_alive "$pid" || break; sleep 0.1; done
    fi
  fi
  # radosgw before osd before mon, so each client goes before the service it talks to.
  for name in radosgw osd mon; do
    [[ -f $dir/pids/$name.pid ]] || continue
    pid=$(<"$dir/pids/$name.pid")
    [[ $pid =~ ^[0-9]+$ ]] && stop_pid "$name" "$pid" "$dir" TERM
  done
  # Pid files the ceph daemons write themselves: covers a start killed between spawning a
  # daemon and recording its pid.
  for f in "$dir"/ceph/run/*.pid; do
    [[ -f $f ]] || continue
    pid=$(<"$f")
    [[ $pid =~ ^[0-9]+$ ]] && stop_pid "$(basename "$f" .pid)" "$pid" "$dir" TERM
  done
  # The postmaster writes its own pid file; SIGINT = "fast" shutdown (no wait for clients).
  if [[ -f $dir/pg/postmaster.pid ]]; then
    pid=$(head -n1 "$dir/pg/postmaster.pid" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] && stop_pid postgres "$pid" "$dir" INT
  fi
  release_hugepages "$dir"
}

# ---------------------------------------------------------------------------------------------
# huge pages for Postgres's shared buffers
# ---------------------------------------------------------------------------------------------
# With gigabytes of shared buffers in 4 KB pages, Postgres's index scans spend much of their time on
# TLB misses; on a paravirtualised VM (PVM here, shadow page tables) measured over half of a
# window read, which huge pages made ~4x faster. As root, start reserves the pages the cluster
# needs on top of what the machine already has (vm.nr_hugepages is system-wide: several stacks
# add up) and stop gives them back; Postgres runs with huge_pages = try, so without the pages
# (not root, a read-only /proc/sys, no contiguous memory) it starts on 4 KB pages as before.
HUGEPAGES=/proc/sys/vm/nr_hugepages
HUGEPAGES_LOCK=/tmp/.wormseal-stack-hugepages.lock

# hugepages_add N: change vm.nr_hugepages by N (negative to give back) under a lock, so stacks
# starting or stopping at once do not overwrite each other's count; prints the change made.
hugepages_add() {
  local n=$1
  (
    flock 9
    local cur want got
    cur=$(<"$HUGEPAGES")
    want=$((cur + n))
    ((want < 0)) && want=0
    echo "$want" >"$HUGEPAGES" 2>/dev/null || { echo 0; exit 0; }
    got=$(<"$HUGEPAGES")
    echo $((got - cur))
  ) 9>"$HUGEPAGES_LOCK"
}

reserve_hugepages() {
  local need got
  if [[ $EUID -ne 0 || ! -w $HUGEPAGES ]]; then
    log "huge pages: not reserved (needs root and a writable $HUGEPAGES); postgres uses 4 KB pages"
    return 0
  fi
  need=$(as_pg "$PG_BIN/postgres" -D "$DIR/pg" -C shared_memory_size_in_huge_pages 2>/dev/null || true)
  [[ $need =~ ^[0-9]+$ && $need -gt 0 ]] || { log "huge pages: postgres did not say how many it needs; not reserved"; return 0; }
  got=$(hugepages_add "$need")
  if ((got < need)); then
    # Postgres maps its shared memory in one piece: a partial reservation is of no use to it.
    ((got > 0)) && hugepages_add "-$got" >/dev/null
    log "huge pages: the kernel gave $got of $need; postgres uses 4 KB pages"
    return 0
  fi
  echo "$got" >"$DIR/hugepages"
  log "huge pages: reserved $got x 2 MB for postgres's shared memory"
}

release_hugepages() {
  local dir=$1 n
  [[ -f $dir/hugepages ]] || return 0
  n=$(<"$dir/hugepages")
  [[ $n =~ ^[0-9]+$ ]] && hugepages_add "-$n" >/dev/null
  rm -f "$dir/hugepages"
}

# ---------------------------------------------------------------------------------------------
# start
# ---------------------------------------------------------------------------------------------
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

install_missing() {
  local need=() p sudo=()
  [[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl && -x $PG_BIN/psql ]] || need+=(postgresql-15)
  for p in ceph-common ceph-mon ceph-osd radosgw; do have_pkg "$p" || need+=("$p"); done
  command -v curl >/dev/null || need+=(curl)
  command -v python3 >/dev/null || need+=(python3)
  ((${#need[@]})) || return 0

  if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null || die "missing packages (${need[*]}) and not root; install them first"
    sudo=(sudo -n)
  fi
  log "installing missing Debian packages: ${need[*]} (log: $DIR/logs/apt.log)"
  STAGE_LOGS="$DIR/logs/apt.log"
  if [[ " ${need[*]} " == *" postgresql-15 "* ]]; then
    # Debian's postinst would otherwise create and start a system-wide 15/main cluster on :5432.
    "${sudo[@]}" mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' |
      "${sudo[@]}" tee /etc/postgresql-common/createcluster.d/wormseal-no-main.conf >/dev/null
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$DIR/logs/apt.log" 2>&1
  # --no-upgrade: a package that is installed but judged missing (e.g. WORMSEAL_PG_BIN points
  # elsewhere) must not be upgraded under other running clusters.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    --no-upgrade "${need[@]}" >>"$DIR/logs/apt.log" 2>&1
  [[ -x $PG_BIN/initdb ]] || die "no $PG_BIN/initdb after installing postgresql-15 (set WORMSEAL_PG_BIN?)"
}

# Prints N distinct free TCP ports on 127.0.0.1 (sockets held open together so they differ).
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# spawn NAME CMD...: run a daemon in the foreground of its own session (so a Ctrl-C in the
# caller's terminal or the caller's process group ending does not hit it), detached from our
# stdout (callers capture our stdout and would otherwise never see EOF), pid in DIR/pids.
spawn() {
  local name=$1
  shift
  setsid "$@" </dev/null >>"$DIR/logs/$name.out" 2>&1 &
  echo $! >"$DIR/pids/$name.pid"
}

# --connect-timeout only bounds the first connection; a mon that dies mid-call would leave the
# CLI waiting forever, hence the outer timeout.
ceph_cli() { timeout 30 ceph -c "$CONF" --connect-timeout 15 "$@"; }

# wait_for WHAT SECONDS PIDNAME CMD...: poll CMD every 0.2 s; fail early if the daemon died.
wait_for() {
  local what=$1 secs=$2 pidname=$3 i pid
  shift 3
  for ((i = 0; i < secs * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [[ -n $pidname ]]; then
      pid=$(<"$DIR/pids/$pidname.pid")
      pid_alive "$pid" || die "$pidname exited while waiting for $what"
    fi
    sleep 0.2
  done
  die "timed out after ${secs}s waiting for $what"
}

osd_up() { ceph_cli osd stat -f json 2>/dev/null | grep -q '"num_up_osds":1'; }
rgw_http() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$RGW_PORT/"; }
# A signed ListBuckets with the test keys: proves the user exists and auth works end to end.
rgw_signed() {
  curl -fsS --max-time 5 --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    "http://127.0.0.1:$RGW_PORT/" | grep -q ListAllMyBucketsResult
}

write_env() {
  cat >"$DIR/env" <<EOF
export DATABASE_URL='postgres://postgres@127.0.0.1:$PG_PORT/wormseal'
export WORMSEAL_S3_ENDPOINT='http://127.0.0.1:$RGW_PORT'
export AWS_REGION='$REGION'
export AWS_ACCESS_KEY_ID='$ACCESS_KEY'
export AWS_SECRET_ACCESS_KEY='$SECRET_KEY'
export WORMSEAL_STACK_DIR='$DIR'
EOF
}

on_start_exit() {
  local rc=$?
  [[ $rc -eq 0 ]] && return 0
  local f
  log "start failed (exit $rc) during: ${STAGE:-?}"
  for f in $STAGE_LOGS; do
    [[ -s $f ]] || continue
    printf -- '----- last lines of %s -----\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
  # Do not leave half a stack running; keep the logs for inspection.
  [[ -d ${DIR:-}/pids ]] && stop_all "$DIR"
  [[ -n ${DIR:-} ]] && log "logs kept in $DIR/logs; remove with: bash $0 stop $DIR"
  exit "$rc"
}

stage() {
  STAGE=$1
  STAGE_LOGS=$2
  log "$1"
}

cmd_start() {
  local t0=$SECONDS
  STAGE="preparing directory" STAGE_LOGS=""
  trap on_start_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  if [[ -n ${1:-} ]]; then
    DIR=$(realpath -m -- "$1")
    if [[ -e $DIR ]]; then
      [[ -d $DIR ]] || die "$DIR exists and is not a directory"
      [[ -z $(ls -A "$DIR") ]] || die "$DIR is not empty (another stack? stop it first)"
    fi
    mkdir -p "$DIR"
  else
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/wormseal-stack.XXXXXX")
  fi
  # The path ends up in single-quoted env lines and in ceph.conf values.
  [[ $DIR =~ ^[A-Za-z0-9/._-]+$ ]] || { rmdir "$DIR" 2>/dev/null; DIR=; die "unsupported characters in stack dir path"; }
  # mktemp makes it 0700; the postgres user must be able to reach DIR/pg.
  chmod 755 "$DIR"
  mkdir -p "$DIR/logs" "$DIR/pids" "$DIR/ceph/run" "$DIR/ceph/crash" "$DIR/ceph/rgw"
  : >"$DIR/$MARKER"
  echo $$ >"$DIR/pids/start.pid"
  log "stack dir: $DIR"

  install_missing

  local ports
  ports=$(free_ports 3)
  read -r PG_PORT MON_PORT RGW_PORT <<<"$ports"
  CONF=$DIR/ceph/ceph.conf
  local fsid osd_uuid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  echo "$PG_PORT $MON_PORT $RGW_PORT" >"$DIR/ports"

  # ---- PostgreSQL, started first so it warms up while Ceph boots --------------------------
  stage "initdb (postgres port $PG_PORT)" "$DIR/logs/initdb.log"
  mkdir -p "$DIR/pg"
  : >"$DIR/logs/initdb.log"
  : >"$DIR/logs/postgres.log"
  if [[ $EUID -eq 0 ]]; then
    chown postgres: "$DIR/pg" "$DIR/logs/initdb.log" "$DIR/logs/postgres.log"
    as_pg test -w "$DIR/pg" || die "user postgres cannot write $DIR/pg (is a parent directory of $DIR not traversable? use a dir under /tmp)"
  fi
  chmod 700 "$DIR/pg"
  as_pg "$PG_BIN/initdb" -D "$DIR/pg" -U postgres --auth=trust -E UTF8 --no-locale \
    --no-sync --no-instructions >>"$DIR/logs/initdb.log" 2>&1
  # Throwaway cluster: durability settings off for speed. TCP only: no Unix socket in the shared
  # /var/run/postgresql (and socket paths are limited to 107 bytes, DIR may be long).
  # A server's cache, not the 128 MB default sized for the smallest machines: a quarter of the
  # memory, at most 4 GB (PostgreSQL's usual starting point for a dedicated server). The sealer
  # reads rows soon after they were written, and they should still be in shared buffers, as on a
  # production server sized for its hot table. With 2 GB, the benchmark's 3M-event backlog (heap
  # 2.3 GB, indexes 1 GB) did not fit, and the sealer's Postgres backends spent 5.2 and 4.0 µs per
  # event sealing it, against 3.2 and 2.3 with 4 GB (2.2-3.1 for the 1M backlog, which fits).
  local mem_kb sb_mb
  mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
  sb_mb=$(( mem_kb / 4 / 1024 ))
  (( sb_mb > 4096 )) && sb_mb=4096
  (( sb_mb < 128 )) && sb_mb=128
  cat >>"$DIR/pg/postgresql.conf" <<EOF

# --- wormseal local stack ---
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 200
# A quarter of the memory, at most 4 GB (see stack.sh).
shared_buffers = ${sb_mb}MB
fsync = off
synchronous_commit = off
full_page_writes = off
# Huge pages when reserve_hugepages got them, 4 KB pages otherwise.
huge_pages = try
EOF
  reserve_hugepages
  stage "starting postgres" "$DIR/logs/postgres.log"
  as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg" -l "$DIR/logs/postgres.log" -w -t 60 start >/dev/null

  # ---- Ceph config --------------------------------------------------------------------------
  # Everything a daemon or client would put under /var/{run,log,lib}/ceph or /etc/ceph is
  # redirected into DIR so that stacks never share sockets, pid files or state.
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$MON_PORT]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.1/32
ms bind ipv6 = false
# msgr2 only: one mon port instead of two, nothing listening on the legacy protocol.
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
keyring = $DIR/ceph/keyring
run dir = $DIR/ceph/run
crash dir = $DIR/ceph/crash
log file = $DIR/logs/\$cluster-\$name.log
log to stderr = false
mon cluster log file = default=$DIR/logs/ceph.\$channel.log cluster=$DIR/logs/ceph.log
# One OSD: size-1 pools, CRUSH picks OSDs not hosts, few PGs (RGW creates ~7 pools and the
# default 32 PGs each would exceed mon_max_pg_per_osd with one OSD); no mgr, so no autoscaler.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
# Single mon: commit map changes every 0.1 s instead of every 1 s. RGW's first start creates
# its pools one map change at a time, so this is most of the difference in boot time.
paxos propose interval = 0.1
paxos min wait = 0.01
# cephx is off, so the global_id reclaim warning means nothing here.
mon warn on insecure global id reclaim allowed = false
# Do not let the mon shut itself down because the host disk is fairly full (default crit 5%).
mon data avail warn = 2
mon data avail crit = 1

[mon]
mon data = $DIR/ceph/mon.\$id
pid file = $DIR/ceph/run/\$name.pid

[osd]
osd data = $DIR/ceph/osd.\$id
pid file = $DIR/ceph/run/\$name.pid
osd objectstore = memstore
memstore device bytes = $OSD_BYTES

[client.rgw]
# radosgw defaults its mon connection to "secure" mode, which needs cephx session keys; with
# auth disabled that fails with "get_initial_auth_request returned -13". Loopback only: crc.
ms mon client mode = crc
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $DIR/ceph/rgw
EOF

  # ---- mon -----------------------------------------------------------------------------------
  stage "creating mon (port $MON_PORT)" "$DIR/logs/ceph-mon.a.log $DIR/logs/mon.out $DIR/logs/mkfs.log"
  : >"$DIR/logs/mkfs.log"
  # auth is off, but `ceph-mon --mkfs` still wants a keyring with a mon. key to seed its store.
  ceph-authtool --create-keyring "$DIR/ceph/keyring" --gen-key -n mon. --cap mon 'allow *' \
    >>"$DIR/logs/mkfs.log" 2>&1
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/ceph/monmap" \
    >>"$DIR/logs/mkfs.log" 2>&1
  ceph-mon -c "$CONF" -i a --mkfs --monmap "$DIR/ceph/monmap" --keyring "$DIR/ceph/keyring" \
    >>"$DIR/logs/mkfs.log" 2>&1
  stage "starting mon" "$DIR/logs/ceph-mon.a.log $DIR/logs/mon.out"
  spawn mon ceph-mon -c "$CONF" -i a -f
  wait_for "mon quorum" 30 mon ceph_cli mon stat

  # ---- osd -----------------------------------------------------------------------------------
  stage "creating memstore osd ($OSD_BYTES bytes)" "$DIR/logs/ceph-osd.0.log $DIR/logs/osd.out $DIR/logs/mkfs.log"
  local osd_id
  osd_id=$(ceph_cli osd new "$osd_uuid" 2>>"$DIR/logs/mkfs.log")
  [[ $osd_id == 0 ]] || die "expected osd id 0, got '$osd_id'"
  mkdir -p "$DIR/ceph/osd.0"
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$DIR/logs/mkfs.log" 2>&1
  stage "starting osd" "$DIR/logs/ceph-osd.0.log $DIR/logs/osd.out"
  spawn osd ceph-osd -c "$CONF" -i 0 -f
  wait_for "osd.0 up" 60 osd osd_up

  # ---- radosgw ---------------------------------------------------------------------------------
  stage "starting radosgw (port $RGW_PORT)" "$DIR/logs/ceph-client.rgw.log $DIR/logs/radosgw.out"
  spawn radosgw radosgw -c "$CONF" -n client.rgw -f
  # First start creates the realm/zone and its pools; that is most of the boot time.
  wait_for "radosgw HTTP" 90 radosgw rgw_http

  stage "creating S3 user" "$DIR/logs/radosgw-admin.log"
  radosgw-admin -c "$CONF" user create --uid=wormseal --display-name="wormseal tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >>"$DIR/logs/radosgw-admin.log" 2>&1
  stage "checking signed S3 request" "$DIR/logs/ceph-client.rgw.log"
  wait_for "signed ListBuckets" 30 radosgw rgw_signed

  stage "creating database wormseal" "$DIR/logs/postgres.log"
  "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt \
    -c 'CREATE DATABASE wormseal' >/dev/null

  write_env
  rm -f "$DIR/pids/start.pid"
  STAGE=ready
  log "stack ready in $((SECONDS - t0))s: postgres 127.0.0.1:$PG_PORT, s3 http://127.0.0.1:$RGW_PORT"
  cat "$DIR/env"
}

cmd_stop() {
  local dir
  dir=$(resolve_dir "${1:-}")
  [[ -d $dir ]] || { log "$dir does not exist; nothing to stop"; return 0; }
  # Refuse to rm -rf a directory this script did not create.
  [[ -e $dir/$MARKER ]] || die "$dir has no $MARKER marker; not a wormseal stack dir, not touching it"
  stop_all "$dir"
  rm -rf -- "$dir"
  log "stopped and removed $dir"
}

cmd_env() {
  local dir
  dir=$(resolve_dir "${1:-}")
  [[ -f $dir/env ]] || die "$dir/env not found (stack not started, or start did not finish)"
  cat "$dir/env"
}

case ${1:-} in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  env) shift; cmd_env "$@" ;;
  *) usage ;;
esac
