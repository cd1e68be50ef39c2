# bench/lib/common.sh - shared code of bench/accept.sh and bench/relay.sh (sourced, not run).
#
# Provides: knob defaults, a whole-script time bound, package installation, busy-port checks,
# cgroup CPU accounting, a private Hermod instance (unpacked distribution), a private Postfix
# instance (own config and queue under the work dir, no syslog), smtp-sink, dnsmasq, statistics,
# and one cleanup (trap EXIT) that stops everything that was started.
# Everything listens on 127.0.0.1 only.

# ---------------------------------------------------------------- knobs
SESSIONS=${SESSIONS:-20}          # smtp-source parallel sessions
MSGS=${MSGS:-20000}               # messages per measured run
SIZE=${SIZE:-2048}                # message payload bytes
RUNS=${RUNS:-3}                   # measured runs per product (alternating hermod, postfix)
WARMUP=${WARMUP:-2000}            # unmeasured messages sent to each product first (0: none)
RUN_TIMEOUT=${RUN_TIMEOUT:-300}   # bound of one run (s)
START_TIMEOUT=${START_TIMEOUT:-180}  # bound of Hermod start-up until it answers 220 (s)
TOTAL_TIMEOUT=${TOTAL_TIMEOUT:-1800} # bound of the whole script (s)
HERMOD_PORT=${HERMOD_PORT:-12525} # Hermod SMTP listener
PF_PORT=${PF_PORT:-12625}         # Postfix smtpd listener
KARAF_SSH_PORT=${KARAF_SSH_PORT:-12101}    # Karaf admin ports of our instance (must not clash with
KARAF_RMI_REG_PORT=${KARAF_RMI_REG_PORT:-12099}   # another Karaf on the machine)
KARAF_RMI_SRV_PORT=${KARAF_RMI_SRV_PORT:-12444}
PF_PROC_LIMIT=${PF_PROC_LIMIT:-200}  # Postfix default_process_limit (default 100; 20 sessions fit either way)
KEEP=${KEEP:-0}                   # 1: keep the work dir (logs, spool, queue) for inspection

REPO=$(cd "$BENCH_DIR/.." && pwd)
TARBALL=${TARBALL:-$REPO/karaf-assembly/target/hermod-karaf-0.2.0-SNAPSHOT.tar.gz}
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

# ---------------------------------------------------------------- basics
die() { echo "$SCRIPT: error: $*" >&2; exit 1; }
warn() { echo "$SCRIPT: warning: $*" >&2; WARNINGS=$((WARNINGS + 1)); }
WARNINGS=0
now() { date +%s.%N; }
FG_PID=""
# bg_wait CMD...: run CMD in the background and wait for it, so a TERM/INT interrupts the wait at
# once (bash runs traps only after a foreground child exits). Returns CMD's exit status.
bg_wait() { "$@" & FG_PID=$!; local rc=0; wait "$FG_PID" || rc=$?; FG_PID=""; return $rc; }

usage_common() {
  cat <<EOF
Environment knobs (defaults):
  SESSIONS=$SESSIONS MSGS=$MSGS SIZE=$SIZE RUNS=$RUNS WARMUP=$WARMUP
  HERMOD_PORT=$HERMOD_PORT PF_PORT=$PF_PORT KARAF_SSH_PORT=$KARAF_SSH_PORT
  KARAF_RMI_REG_PORT=$KARAF_RMI_REG_PORT KARAF_RMI_SRV_PORT=$KARAF_RMI_SRV_PORT
  RUN_TIMEOUT=$RUN_TIMEOUT START_TIMEOUT=$START_TIMEOUT TOTAL_TIMEOUT=$TOTAL_TIMEOUT KEEP=$KEEP
  TARBALL=$TARBALL
  BUILD=1 (or --build): build the distribution first with 'mvn -q -DskipTests install'
Must run as root (the Postfix master needs it). Uses loopback addresses only.
EOF
}

# parse_common_args "$@": --build, -h/--help
parse_common_args() {
  for a in "$@"; do
    case "$a" in
      --build) BUILD=1 ;;
      -h|--help) usage; exit 0 ;;
      *) echo "$SCRIPT: unknown argument: $a" >&2; usage >&2; exit 2 ;;
    esac
  done
}

# Build (optional) and check the distribution, then re-exec the script under `timeout` once
# (SIGTERM at TOTAL_TIMEOUT runs the cleanup trap; SIGKILL 60 s later).
prologue() {
  if [ -z "${_BENCH_INNER:-}" ]; then
    if [ "${BUILD:-0}" = 1 ]; then
      command -v mvn >/dev/null || die "BUILD=1 but mvn is not installed"
      echo "# building the distribution: (cd $REPO && mvn -q -DskipTests install)" >&2
      (cd "$REPO" && mvn -q -DskipTests install) || die "build failed"
    fi
    if [ ! -f "$TARBALL" ]; then
      die "Hermod distribution $TARBALL not found; build it first with 'mvn install' (or 'mvn -q -DskipTests install') in $REPO, or run this script with --build / BUILD=1"
    fi
    export _BENCH_INNER=1 BUILD=0
    exec timeout -k 60 "$TOTAL_TIMEOUT" "$0" "$@"
  fi
  [ "$(id -u)" = 0 ] || die "must run as root (the private Postfix instance's master process needs it)"
  for v in SESSIONS MSGS SIZE RUNS WARMUP RUN_TIMEOUT START_TIMEOUT; do
    case "${!v}" in ''|*[!0-9]*) die "$v must be a non-negative integer, got '${!v}'";; esac
  done
  [ "$MSGS" -gt 0 ] && [ "$RUNS" -gt 0 ] && [ "$SESSIONS" -gt 0 ] || die "MSGS, RUNS and SESSIONS must be > 0"
  command -v java >/dev/null || [ -n "${JAVA_HOME:-}" ] || die "java not found (Hermod needs a JDK 17+)"
  command -v python3 >/dev/null || die "python3 not found"
}

# install_packages [dnsmasq]: Postfix (debconf 'No configuration': no /etc/postfix/main.cf,
# nothing started) for smtp-source/smtp-sink/postfix; dnsmasq-base if asked.
install_packages() {
  if ! command -v smtp-source >/dev/null || ! command -v postfix >/dev/null || ! command -v smtp-sink >/dev/null; then
    echo "# installing postfix (debconf: No configuration) ..." >&2
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q postfix >/dev/null \
      || { timeout 300 apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q postfix >/dev/null; } \
      || die "could not install postfix"
  fi
  if [ "${1:-}" = dnsmasq ] && ! command -v dnsmasq >/dev/null; then
    echo "# installing dnsmasq-base ..." >&2
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q dnsmasq-base >/dev/null \
      || { timeout 300 apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q dnsmasq-base >/dev/null; } \
      || die "could not install dnsmasq-base"
  fi
}

port_busy() { ss -Hltn "sport = :$1" | grep -q . || ss -Hlun "sport = :$1" | grep -q .; }
tcp_listening() { ss -Hltn "sport = :$1" | grep -q .; }
# check_ports PORT...: refuse to run when one is busy (TCP listen or UDP bound) or duplicated
check_ports() {
  local p seen=" "
  for p in "$@"; do
    case "$p" in ''|*[!0-9]*) die "bad port '$p'";; esac
    [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "bad port '$p'"
    case "$seen" in *" $p "*) die "port $p configured twice";; esac
    seen="$seen$p "
    if port_busy "$p"; then die "port $p is already in use: $(ss -Hltnup "sport = :$p" | head -1)"; fi
  done
}
# wait_listen PORT TIMEOUT_S: wait until something listens on 127.0.0.1:PORT (TCP)
wait_listen() { local i; for i in $(seq $(( $2 * 10 ))); do tcp_listening "$1" && return 0; sleep 0.1; done; return 1; }

# stop_bg PID: TERM a background job of this shell, KILL after 5 s, reap it quietly
stop_bg() {
  kill "$1" 2>/dev/null || return 0
  local i; for i in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null
  return 0
}

# ---------------------------------------------------------------- work dir and cleanup
WORK=""
CLEANUPS=()      # commands run (in reverse order) by cleanup
at_exit() { CLEANUPS+=("$*"); }
cleanup() {
  set +e
  trap '' INT TERM
  exec 2>&9 1>&8     # the script's own stdout/stderr, even when interrupted inside a redirected command
  [ -n "$FG_PID" ] && kill "$FG_PID" 2>/dev/null
  local i
  for (( i=${#CLEANUPS[@]}-1; i>=0; i-- )); do eval "${CLEANUPS[$i]}"; done
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then
    if [ "$KEEP" = 1 ]; then echo "# KEEP=1: work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
  fi
}
make_workdir() {
  WORK=$(mktemp -d "/tmp/hermod-bench-$1.XXXXXX")
  chmod 755 "$WORK"      # the Postfix daemons (user postfix) must traverse it
  exec 8>&1 9>&2
  trap cleanup EXIT
  trap 'echo "$SCRIPT: interrupted (or TOTAL_TIMEOUT=$TOTAL_TIMEOUT s reached); cleaning up" >&9; exit 130' INT TERM
}

# ---------------------------------------------------------------- CPU accounting (cgroup v1 cpuacct or v2)
CG_ROOT=""; CG_V=0
if [ -d /sys/fs/cgroup/cpuacct ] && [ -w /sys/fs/cgroup/cpuacct ]; then
  CG_ROOT=/sys/fs/cgroup/cpuacct; CG_V=1
elif [ -f /sys/fs/cgroup/cgroup.controllers ] && [ -w /sys/fs/cgroup ]; then
  CG_ROOT=/sys/fs/cgroup; CG_V=2
fi
# mkcg NAME VAR: create a cgroup, set VAR to its path (empty when CPU accounting is unavailable)
mkcg() {
  printf -v "$2" '%s' ""
  [ -n "$CG_ROOT" ] || return 0
  local d="$CG_ROOT/hermod-bench-$1-$$"
  mkdir -p "$d" 2>/dev/null || return 0
  at_exit "cg_remove '$d'"
  printf -v "$2" '%s' "$d"
}
# cg_remove DIR: kill -9 whatever is left in it (only processes this script started), remove it
cg_remove() {
  local t
  for t in $(cat "$1/cgroup.procs" 2>/dev/null); do kill -9 "$t" 2>/dev/null; done
  for t in $(seq 50); do rmdir "$1" 2>/dev/null && return 0; sleep 0.1; done
}
cg_ns() {  # CPU nanoseconds used so far by cgroup $1 (0 without accounting)
  [ -n "${1:-}" ] || { echo 0; return; }
  if [ "$CG_V" = 1 ]; then cat "$1/cpuacct.usage"; else awk '/^usage_usec/{printf "%d\n", $2*1000}' "$1/cpu.stat"; fi
}
# in_cg CGROUP CMD...: run CMD inside the cgroup (plain run when CGROUP is empty)
in_cg() { local cg=$1; shift; if [ -n "$cg" ]; then sh -c 'echo $$ > "$0/cgroup.procs"; exec "$@"' "$cg" "$@"; else "$@"; fi; }
busy_jiffies() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
# jit_ticks PID: CPU clock ticks (user+system) the JVM's JIT compiler threads (C1, C2) have used so far; 0 if unknown.
# Part of the JVM's CPU, shown apart because it is spent while the JVM warms up, not per message for good. A compiler
# thread that exits (the JDK adds and removes them with load on machines with more cores) takes its ticks with it, so
# on such machines the figure is a lower bound.
jit_ticks() {
  [ -n "${1:-}" ] && [ -d "/proc/$1/task" ] || { echo 0; return; }
  # cat, not awk over the files: a thread that ends between the glob and the read must not end the count
  { cat /proc/"$1"/task/*/stat 2>/dev/null || true; } | awk '{ if (match($0, /\(.*\)/)) { comm = substr($0, RSTART + 1, RLENGTH - 2);
         split(substr($0, RSTART + RLENGTH + 1), f, " "); if (comm ~ /^C[12] CompilerThre/) t += f[12] + f[13] } }
       END { print t + 0 }'
}

# ---------------------------------------------------------------- helper programs
write_helpers() {
  cat > "$WORK/greet.py" <<'PYEOF'
#!/usr/bin/env python3
"""greet.py PORT: connect to 127.0.0.1:PORT, expect a 220 greeting, QUIT. Exit 0 on 220."""
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    f = s.makefile("rb")
    line = f.readline(512)
    while line[3:4] == b"-":
        line = f.readline(512)
    ok = line.startswith(b"220")
    s.sendall(b"QUIT\r\n"); f.readline(512); s.close()
    sys.exit(0 if ok else 1)
except Exception:
    sys.exit(1)
PYEOF
  cat > "$WORK/sinkwait.py" <<'PYEOF'
#!/usr/bin/env python3
"""sinkwait.py COUNTFILE N TIMEOUT: wait until an `smtp-sink -c` counter file shows mesg>=N; print
the wall time (epoch s) when seen. Polls the file tail every 5 ms. Exit 1 on timeout (prints last)."""
import re, sys, time
path, n, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + timeout
last = -1
pat = re.compile(rb"mesg=(\d+)")
while time.monotonic() < end:
    try:
        with open(path, "rb") as f:
            f.seek(0, 2); sz = f.tell(); f.seek(max(0, sz - 96))
            m = pat.findall(f.read())
            if m:
                last = int(m[-1])
                if last >= n:
                    print("%.6f" % time.time()); sys.exit(0)
    except FileNotFoundError:
        pass
    time.sleep(0.005)
print("timeout last=%d" % last); sys.exit(1)
PYEOF
  cat > "$WORK/dnscheck.py" <<'PYEOF'
#!/usr/bin/env python3
"""dnscheck.py PORT NAME: one MX query over UDP to 127.0.0.1:PORT; exit 0 when NOERROR with answers."""
import random, socket, struct, sys
port, name = int(sys.argv[1]), sys.argv[2]
qid = random.randrange(65536)
q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 15, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
try:
    s.sendto(q, ("127.0.0.1", port)); r = s.recv(4096)
except Exception as e:
    print("no answer:", e); sys.exit(1)
rid, flags, qd, an = struct.unpack(">HHHH", r[:8])
print("rcode=%d answers=%d" % (flags & 15, an)); sys.exit(0 if rid == qid and flags & 15 == 0 and an > 0 else 1)
PYEOF
}

# ---------------------------------------------------------------- Hermod (unpacked distribution)
HM_HOME=""; CG_HM=""
# hermod_unpack: unpack the tarball into $WORK/hermod, set our ports (SMTP, Karaf ssh/rmi)
hermod_unpack() {
  mkdir -p "$WORK/hermod"
  tar -xzf "$TARBALL" -C "$WORK/hermod" || die "cannot unpack $TARBALL"
  HM_HOME=$(find "$WORK/hermod" -mindepth 1 -maxdepth 1 -type d | head -1)
  [ -x "$HM_HOME/bin/start" ] || die "$TARBALL does not look like a Karaf distribution (no bin/start)"
  cat > "$HM_HOME/etc/org.hermod.smtp.cfg" <<EOF
# written by bench/$SCRIPT
port = $HERMOD_PORT
bindAddress = 127.0.0.1
hostname = hermod.bench.invalid
EOF
  # our Karaf must not collide with another Karaf's admin ports (default 8101 / 1099 / 44444)
  sed -i -E "s/^(\s*sshPort\s*=).*/\1 $KARAF_SSH_PORT/" "$HM_HOME/etc/org.apache.karaf.shell.cfg"
  sed -i -E -e "s/^(\s*rmiRegistryPort\s*=).*/\1 $KARAF_RMI_REG_PORT/" \
            -e "s/^(\s*rmiServerPort\s*=).*/\1 $KARAF_RMI_SRV_PORT/" "$HM_HOME/etc/org.apache.karaf.management.cfg"
}
hermod_pid() { local p; p=$(tr -dc 0-9 < "$HM_HOME/karaf.pid" 2>/dev/null); [ -n "$p" ] && echo "$p"; }
# hermod_start: bin/start inside the Hermod cgroup, wait until the SMTP port answers 220
hermod_start() {
  mkcg hermod CG_HM
  at_exit hermod_stop
  ( cd "$HM_HOME" && in_cg "$CG_HM" env KARAF_REDIRECT="$HM_HOME/data/karaf.out" bin/start ) >"$WORK/hermod-start.log" 2>&1 8>&- 9>&- \
    || { cat "$WORK/hermod-start.log" >&2; die "Hermod bin/start failed"; }
  local t_end=$(( $(date +%s) + START_TIMEOUT ))
  while :; do
    if tcp_listening "$HERMOD_PORT" && timeout 10 python3 "$WORK/greet.py" "$HERMOD_PORT"; then break; fi
    if [ "$(date +%s)" -ge "$t_end" ]; then
      tail -5 "$HM_HOME/data/log/karaf.log" | cut -c1-250 >&2 2>/dev/null
      hermod_diag "start-failure"
      die "Hermod did not answer 220 on 127.0.0.1:$HERMOD_PORT within START_TIMEOUT=${START_TIMEOUT}s"
    fi
    if [ -f "$HM_HOME/karaf.pid" ] && ! kill -0 "$(hermod_pid)" 2>/dev/null; then
      tail -20 "$HM_HOME/data/log/karaf.log" >&2 2>/dev/null
      die "Hermod exited during start-up"
    fi
    sleep 0.5
  done
}
# hermod_diag TAG: thread dump (SIGQUIT, written to the JVM's stdout) and logs into one file that
# outlives the work dir, for a hung or failed Hermod
hermod_diag() {
  local pid f="/tmp/hermod-bench-$1-$(date +%Y%m%d-%H%M%S).txt"
  pid=$(hermod_pid)
  [ -n "$pid" ] && kill -3 "$pid" 2>/dev/null && sleep 2
  { echo "== $TARBALL"; echo "== data/log/karaf.log (last 300 lines)"; tail -300 "$HM_HOME/data/log/karaf.log" 2>/dev/null
    echo "== data/karaf.out (JVM stdout, thread dump)"; cat "$HM_HOME/data/karaf.out" 2>/dev/null; } > "$f"
  echo "$SCRIPT: Hermod diagnostics (log tail, thread dump) saved to $f" >&2
}
hermod_stop() {
  [ -n "$HM_HOME" ] && [ -d "$HM_HOME" ] || return 0
  local pid; pid=$(hermod_pid)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    ( cd "$HM_HOME" && timeout 60 bin/stop ) >/dev/null 2>&1
    local i; for i in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then echo "# Hermod did not stop within 30 s: kill -9 $pid" >&2; kill -9 "$pid" 2>/dev/null; fi
  fi
  # leftovers (the bin/karaf wrapper shell, ...) are in CG_HM and get killed by cg_remove;
  # without cgroups, kill what runs from our unpacked directory (pids we started)
  if [ -z "$CG_HM" ]; then
    for pid in $(pgrep -f "$HM_HOME/" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  fi
}
hermod_seg_bytes() { find "$HM_HOME/data/hermod/spool" -name '*.seg' -printf '%s\n' 2>/dev/null | awk '{s+=$1} END{printf "%d\n", s}'; }
hermod_log_problems() {
  local l="$HM_HOME/data/log/karaf.log"
  [ -f "$l" ] || return 0
  local n; n=$(grep -cE '\| (ERROR|WARN) ' "$l" || true)
  if [ "${n:-0}" -gt 0 ]; then
    echo "# Hermod karaf.log: $n WARN/ERROR lines, most frequent:"
    grep -E '\| (ERROR|WARN) ' "$l" | sed -E 's/^[^|]*\|[^|]*\|[^|]*\|//; s/[0-9]+/N/g' | sort | uniq -c | sort -rn | head -5 | cut -c1-220 | sed 's/^/#   /'
  fi
}

# ---------------------------------------------------------------- Postfix (private instance)
PF_BASE=""; PF_CONF=""; CG_PF=""
# pf_setup MODE [SINK_PORT [DEST_CONC]]: MODE accept (every message goes to the hold queue: accepted,
# queued durably, never delivered) or relay (relayhost = [127.0.0.1]:SINK_PORT)
pf_setup() {
  local mode=$1 sink=${2:-} conc=${3:-20}
  PF_BASE="$WORK/postfix"; PF_CONF="$PF_BASE/etc"
  mkdir -p "$PF_CONF" "$PF_BASE/spool" "$PF_BASE/lib"
  chmod 755 "$PF_BASE" "$PF_CONF"
  local restr="permit_mynetworks, reject" relay="relayhost ="
  if [ "$mode" = accept ]; then
    restr="check_client_access static:HOLD, permit_mynetworks, reject"
  else
    relay="relayhost = [127.0.0.1]:$sink"
  fi
  cat > "$PF_CONF/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $PF_CONF
queue_directory = $PF_BASE/spool
data_directory = $PF_BASE/lib
maillog_file_prefixes = $PF_BASE
maillog_file = $PF_BASE/maillog
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.bench.invalid
mydomain = bench.invalid
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = $restr
$relay
smtp_tls_security_level = none
smtpd_tls_security_level = none
biff = no
append_dot_mydomain = no
default_process_limit = $PF_PROC_LIMIT
smtp_destination_concurrency_limit = $conc
EOF
  cat > "$PF_CONF/master.cf" <<EOF
127.0.0.1:$PF_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}
pf_start() {
  mkcg postfix CG_PF
  at_exit pf_stop
  timeout 60 postfix -c "$PF_CONF" set-permissions >/dev/null 2>&1 || true
  if ! in_cg "$CG_PF" timeout 60 postfix -c "$PF_CONF" start >"$PF_BASE/start.log" 2>&1 8>&- 9>&-; then
    # postfix logs errors to syslog only unless stderr is a tty; show them via script(1)
    command -v script >/dev/null && timeout 30 script -qc "postfix -c $PF_CONF check" /dev/null >&2
    cat "$PF_BASE/start.log" >&2; die "postfix start failed"
  fi
  wait_listen "$PF_PORT" 15 || die "postfix not listening on 127.0.0.1:$PF_PORT"
  timeout 10 python3 "$WORK/greet.py" "$PF_PORT" || die "postfix on 127.0.0.1:$PF_PORT does not answer 220"
}
pf_stop() {
  [ -n "$PF_CONF" ] && [ -f "$PF_CONF/main.cf" ] || return 0
  local mp; mp=$(head -1 "$PF_BASE/spool/pid/master.pid" 2>/dev/null | tr -dc 0-9)
  [ -n "$mp" ] && kill -0 "$mp" 2>/dev/null || return 0
  timeout 30 postfix -c "$PF_CONF" stop >/dev/null 2>&1 || timeout 10 postfix -c "$PF_CONF" abort >/dev/null 2>&1
  local i; for i in $(seq 50); do kill -0 "$mp" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$mp" 2>/dev/null && kill -9 "$mp" 2>/dev/null
  return 0
}
pf_count() { find "$@" -type f 2>/dev/null | wc -l; }
pf_queue_count() { local q=$PF_BASE/spool; pf_count "$q/maildrop" "$q/incoming" "$q/active" "$q/deferred"; }
pf_hold_count() { pf_count "$PF_BASE/spool/hold"; }
pf_log_problems() {
  local n; n=$(grep -cE 'warning|fatal|panic|reject' "$PF_BASE/maillog" 2>/dev/null || true)
  if [ "${n:-0}" -gt 0 ]; then
    echo "# Postfix maillog: $n warning/fatal/reject lines, most frequent:"
    grep -E 'warning|fatal|panic|reject' "$PF_BASE/maillog" | sed -E 's/^[A-Z][a-z]{2} +[0-9]+ [0-9:]+ //; s/\[[0-9]+\]//; s/[0-9A-F]{10,}/ID/g' \
      | sort | uniq -c | sort -rn | head -5 | cut -c1-220 | sed 's/^/#   /'
  fi
}

# ---------------------------------------------------------------- smtp-sink, dnsmasq
CG_SINK=""
# sink_start NAME PORT: an smtp-sink with running counters (-c) in $WORK/NAME.cnt
sink_start() {
  local name=$1 port=$2
  [ -n "$CG_SINK" ] || mkcg sink CG_SINK
  # the subshell execs timeout: $! is timeout's pid, killing it stops the sink too
  ( if [ -n "$CG_SINK" ]; then echo "$BASHPID" > "$CG_SINK/cgroup.procs"; fi
    exec timeout "$TOTAL_TIMEOUT" smtp-sink -u nobody -c "127.0.0.1:$port" 1024 >"$WORK/$name.cnt" 2>"$WORK/$name.err" ) 8>&- 9>&- &
  at_exit "stop_bg $!"
  wait_listen "$port" 10 || die "smtp-sink $name not listening on 127.0.0.1:$port: $(cat "$WORK/$name.err")"
}
# sink_count NAME: messages received so far
sink_count() {
  local c; c=$(tail -c 96 "$WORK/$1.cnt" 2>/dev/null | tr '\r' '\n' | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -1)
  echo "${c:-0}"
}
# dns_start PORT: dnsmasq answering MX bench.test -> mx.bench.test (127.0.0.1) on 127.0.0.1:PORT, with a TTL of
# 300 s like real MX records (dnsmasq's default for local records is 0, which would make every message a DNS query).
dns_start() {
  local port=$1
  ( exec timeout "$TOTAL_TIMEOUT" dnsmasq --keep-in-foreground --port="$port" --no-resolv --no-hosts --no-poll \
      --listen-address=127.0.0.1 --bind-interfaces --user=root --group=root --local-ttl=300 \
      --mx-host=bench.test,mx.bench.test,10 --host-record=mx.bench.test,127.0.0.1 \
      --log-facility="$WORK/dnsmasq.log" --pid-file="$WORK/dnsmasq.pid" ) >/dev/null 2>"$WORK/dnsmasq.err" 8>&- 9>&- &
  at_exit "stop_bg $!"
  local i ok=0
  for i in $(seq 50); do
    if timeout 5 python3 "$WORK/dnscheck.py" "$port" bench.test >/dev/null; then ok=1; break; fi
    sleep 0.1
  done
  [ "$ok" = 1 ] || die "dnsmasq on 127.0.0.1:$port does not answer MX bench.test: $(cat "$WORK/dnsmasq.err" 2>/dev/null)"
}

# ---------------------------------------------------------------- statistics
# stat3 FILE PRODUCT COLUMN: "median (min-max)" of the column over the rows of PRODUCT (col 1)
stat3() {
  awk -v p="$2" -v k="$3" '$1==p{print $k}' "$1" | sort -g | awk '
    {v[NR]=$1} END{ if (NR==0) {print "n/a"; exit}
      m = (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2
      printf "%s (%s-%s)\n", fmt(m), fmt(v[1]), fmt(v[NR]) }
    function fmt(x) { return (x >= 100) ? sprintf("%.0f", x) : (x >= 10) ? sprintf("%.1f", x) : sprintf("%.3g", x) }'
}
median() { awk -v p="$2" -v k="$3" '$1==p{print $k}' "$1" | sort -g | awk '{v[NR]=$1} END{ if (NR==0) {print "nan"; exit}; print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2 }'; }
# ratio A B: "A/B" formatted like 9.6x
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a=="nan" || b=="nan" || b+0==0) print "n/a"; else printf "%.2fx\n", a/b }'; }

# start_both: starts the private Postfix (set up before) and Hermod, and defines the per-product helpers both
# benchmarks use (port_of, cg_of PRODUCT) and the smtp-source options SRC_OPTS.
start_both() {
  mkcg src CG_SRC
  echo "# starting Postfix (127.0.0.1:$PF_PORT) and Hermod (127.0.0.1:$HERMOD_PORT, from $TARBALL) in $WORK ..."
  pf_start
  local t_s
  t_s=$(date +%s)
  hermod_start
  echo "# Hermod answers 220 after $(( $(date +%s) - t_s )) s"
  SRC_OPTS=(-s "$SESSIONS" -l "$SIZE" -f sender@src.bench.invalid -t "rcpt@$RCPT_DOMAIN" -M src.bench.invalid)
}
# product "ceiling" (relay.sh): smtp-source straight into a sink, no MTA; its CPU column is the sink's
port_of() { case "$1" in hermod) echo "$HERMOD_PORT";; ceiling) echo "$CEIL_SINK_PORT";; *) echo "$PF_PORT";; esac; }
cg_of() { case "$1" in hermod) echo "$CG_HM";; ceiling) echo "$CG_SINK";; *) echo "$CG_PF";; esac; }

# ---- for benches that drive one Hermod (shaping.sh, filters.sh)
# console CMD: one Karaf console command over ssh (OpenSSH; the password comes from an askpass helper in $WORK)
console() {
  [ -x "$WORK/askpass" ] || { printf '#!/bin/sh\necho karaf\n' > "$WORK/askpass"; chmod +x "$WORK/askpass"; }
  SSH_ASKPASS="$WORK/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 timeout 60 setsid ssh -q -T \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o PubkeyAuthentication=no \
    -p "$KARAF_SSH_PORT" karaf@127.0.0.1 "$1" </dev/null | cat
}
# run_once N: prints "accept_s e2e_s", or a FAIL line and returns 1
run_once() {
  local n=$1 base t0 t1 t2 left
  base=$(sink_count hmsink)
  t0=$(now)
  bg_wait in_cg "$CG_SRC" timeout "$RUN_TIMEOUT" smtp-source "${SRC_OPTS[@]}" -m "$n" "127.0.0.1:$HERMOD_PORT" 2>"$WORK/src.err" \
    || { echo "FAIL smtp-source: $(tail -1 "$WORK/src.err" | cut -c1-120)"; return 1; }
  t1=$(now)
  left=$(awk -v t0="$t0" -v t1="$t1" -v T="$RUN_TIMEOUT" 'BEGIN{x=T-(t1-t0); print (x<10?10:int(x))}')
  bg_wait python3 "$WORK/sinkwait.py" "$WORK/hmsink.cnt" "$(( base + n ))" "$left" >"$WORK/t2" \
    || { echo "FAIL the sink got $(( $(sink_count hmsink) - base )) of $n"; return 1; }
  t2=$(cat "$WORK/t2")
  awk -v t0="$t0" -v t1="$t1" -v t2="$t2" 'BEGIN{printf "%.3f %.3f\n", t1-t0, t2-t0}'
}

