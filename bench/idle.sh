#!/usr/bin/env bash
# bench/idle.sh - throughput while many idle connections are held open, Hermod vs Postfix, side by side on loopback.
#
#   idle holder: IDLE connections (default 10,000) --> the server, greeted and then silent (a slowloris crowd)
#   smtp-source: SESSIONS x MSGS messages            --> the same server, measured with and without the crowd
#
# Both servers accept into their queues and deliver nothing (as in accept.sh: Hermod's destination domain is
# suspended, Postfix holds every message). Hermod gets maxConnections/maxConnectionsPerIp above IDLE (all clients
# are 127.0.0.1). Postfix keeps its process model: PF_PROC_LIMIT smtpd processes (default 200) serve everything; when
# they are all busy Postfix's stress mode shortens its timeouts - that is how Postfix survives such a crowd, so the
# script reports it rather than raising the limit to 10,000 processes.
# Per product and run: msg/s without the crowd, msg/s with it, the idle connections still open and greeted at the
# end of the loaded run, and the server's resident memory. RUNS alternate hermod, postfix. When smtp-source fails
# under the crowd (a connection that times out), that run counts as 0 msg/s.
#
# Usage: sudo bench/idle.sh [--build]        e.g. IDLE=2000 MSGS=5000 RUNS=1 WARMUP=0 bench/idle.sh
set -euo pipefail
SCRIPT=idle.sh
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IDLE=${IDLE:-10000}               # idle connections held during the loaded run
. "$BENCH_DIR/lib/common.sh"

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$BENCH_DIR/$SCRIPT"
  echo "  IDLE=$IDLE"
  usage_common
}
parse_common_args "$@"
prologue "$@"
install_packages
check_ports "$HERMOD_PORT" "$PF_PORT" "$KARAF_SSH_PORT" "$KARAF_RMI_REG_PORT" "$KARAF_RMI_SRV_PORT"
# the holder and the server each need a descriptor per connection (each process has its own limit)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $(( IDLE + 2000 )) ] \
  || die "open-file limit $(ulimit -n) is below IDLE+2000=$(( IDLE + 2000 )); raise the hard limit (ulimit -Hn)"
make_workdir idle
write_helpers
RCPT_DOMAIN=bench.test

cat > "$WORK/hold.py" <<'PYEOF'
#!/usr/bin/env python3
"""hold.py PORT N STATUS: open N connections to 127.0.0.1:PORT (non-blocking), read each greeting, send nothing.
Writes "open=<still open> greeted=<greeted and open> closed=<closed by the server> failed=<connect failed>" to
STATUS once a second; runs until SIGTERM."""
import errno, os, selectors, signal, socket, sys, time
port, n, status = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
sel = selectors.DefaultSelector()
state = {}
failed = closed = 0
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    rc = s.connect_ex(("127.0.0.1", port))
    if rc not in (0, errno.EINPROGRESS):
        failed += 1; s.close(); continue
    state[s] = False
    sel.register(s, selectors.EVENT_READ)
    if i % 500 == 499:  # do not flood the accept queue faster than a server can take it
        time.sleep(0.05)
last = 0
while not stop:
    for key, _ in sel.select(0.2):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            data = b""
        if not data:
            sel.unregister(s); s.close(); closed += 1; state.pop(s, None)
        elif data.startswith(b"220"):
            state[s] = True
    if time.monotonic() - last >= 1:
        last = time.monotonic()
        with open(status + ".tmp", "w") as f:
            f.write("open=%d greeted=%d closed=%d failed=%d\n" % (len(state), sum(state.values()), closed, failed))
        os.replace(status + ".tmp", status)
PYEOF

hermod_unpack
cat >> "$HM_HOME/etc/org.hermod.smtp.cfg" <<CFG
maxConnections = $(( IDLE + 1000 ))
maxConnectionsPerIp = $(( IDLE + 1000 ))
CFG
mkdir -p "$HM_HOME/data/hermod/spool"
echo "$RCPT_DOMAIN" > "$HM_HOME/data/hermod/spool/suspended.txt"
pf_setup accept
start_both

# resident memory (MiB) of the server: the JVM, or Postfix's master and all its children
rss_mb() {
  if [ "$1" = hermod ]; then
    ps -o rss= -p "$(hermod_pid)" | awk '{printf "%.0f", $1/1024}'
  else
    local m; m=$(tr -dc 0-9 < "$PF_BASE/spool/pid/master.pid" 2>/dev/null)
    ps -o rss= --ppid "$m" -p "$m" | awk '{s+=$1} END{printf "%.0f", s/1024}'
  fi
}
measure() {  # measure PRODUCT -> prints "secs msg/s", or "FAIL 0"
  local t0 t1 rc=0
  t0=$(now)
  bg_wait in_cg "$CG_SRC" timeout "$RUN_TIMEOUT" smtp-source "${SRC_OPTS[@]}" -m "$MSGS" "127.0.0.1:$(port_of "$1")" \
    2>"$WORK/src.err" || rc=$?
  t1=$(now)
  if [ "$rc" != 0 ]; then echo "FAIL 0"; return; fi
  awk -v a="$t0" -v b="$t1" -v n="$MSGS" 'BEGIN{printf "%.2f %.0f\n", b-a, n/(b-a)}'
}
status_field() { sed -E "s/.*$1=([0-9]+).*/\\1/" "$WORK/hold.status" 2>/dev/null || echo 0; }

if [ "$WARMUP" -gt 0 ]; then
  echo "# warm-up: $WARMUP messages to each (not measured)"
  for p in hermod postfix; do
    bg_wait timeout "$RUN_TIMEOUT" smtp-source "${SRC_OPTS[@]}" -m "$WARMUP" "127.0.0.1:$(port_of "$p")" 2>"$WORK/src.err" \
      || die "warm-up of $p failed: $(tail -2 "$WORK/src.err")"
  done
fi
echo "# idle bench: idle=$IDLE sessions=$SESSIONS msgs=$MSGS size=$SIZE runs=$RUNS cpus=$(nproc);" \
  "Postfix default_process_limit=$PF_PROC_LIMIT"
printf "%-4s %-8s %11s %11s %7s %10s %10s %8s  %s\n" run product base_msg/s idle_msg/s ratio idle_open idle_greet rss_MiB check
RES="$WORK/results.txt"; : > "$RES"
for r in $(seq "$RUNS"); do
  for p in hermod postfix; do
    base=$(measure "$p")
    rm -f "$WORK/hold.status"
    python3 "$WORK/hold.py" "$(port_of "$p")" "$IDLE" "$WORK/hold.status" & HOLD=$!
    # wait until every connection is open, refused or closed (at most 60 s)
    for i in $(seq 600); do
      [ -f "$WORK/hold.status" ] && [ $(( $(status_field open) + $(status_field closed) + $(status_field failed) )) -ge "$IDLE" ] \
        && [ "$(status_field greeted)" -ge "$(status_field open)" ] && break
      sleep 0.1
    done
    loaded=$(measure "$p")
    sleep 1.5  # the holder writes its status once a second
    open=$(status_field open); greet=$(status_field greeted)
    mem=$(rss_mb "$p")
    kill "$HOLD" 2>/dev/null; wait "$HOLD" 2>/dev/null || true
    # a failed run without the crowd makes the row invalid; with the crowd, failing is the result (0 msg/s)
    check=ok
    case "$loaded" in FAIL*) check="smtp-source failed under the crowd: $(tail -1 "$WORK/src.err" | cut -c1-90)";; esac
    case "$base" in FAIL*) check="FAIL (run without idle clients failed)";; esac
    b=${base#* }; l=${loaded#* }
    printf "%-4s %-8s %11s %11s %7s %10s %10s %8s  %s\n" "$r" "$p" "$b" "$l" "$(ratio "$l" "$b")" "$open" "$greet" "$mem" "$check"
    case "$check" in FAIL*) ;; *) echo "$p $b $l $open $greet $mem" >> "$RES";; esac
  done
done
echo
hermod_log_problems
pf_log_problems
echo "SUMMARY idle=$IDLE sessions=$SESSIONS msgs=$MSGS runs=$RUNS (medians over successful runs)"
for p in hermod postfix; do
  echo "$p: msg/s without idle clients $(median "$RES" "$p" 2), with $IDLE idle clients $(median "$RES" "$p" 3);" \
    "idle connections open/greeted at the end $(median "$RES" "$p" 4)/$(median "$RES" "$p" 5); RSS $(median "$RES" "$p" 6) MiB"
done
