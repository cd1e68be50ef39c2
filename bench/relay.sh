#!/usr/bin/env bash
# bench/relay.sh - end-to-end relay throughput, Hermod vs Postfix, side by side on loopback.
#
#   smtp-source --> Hermod  127.0.0.1:$HERMOD_PORT --(spool, MX lookup via dnsmasq)--> smtp-sink 127.0.0.1:$HM_SINK_PORT
#   smtp-source --> Postfix 127.0.0.1:$PF_PORT     --(queue, relayhost)-------------> smtp-sink 127.0.0.1:$PF_SINK_PORT
#   smtp-source -------------------------------------------------------------------> smtp-sink 127.0.0.1:$CEIL_SINK_PORT
#   (the "ceiling": the same load with no MTA in between, what this machine's source, sink and loopback can move)
#
# Unpacks the Hermod distribution (karaf-assembly/target/hermod-karaf-*.tar.gz, built by `mvn install`)
# into a temp dir under /tmp, configures etc/org.hermod.smtp.cfg (port) and etc/org.hermod.delivery.cfg
# (dnsServers = a private dnsmasq on 127.0.0.1:$DNS_PORT that answers MX bench.test -> mx.bench.test ->
# 127.0.0.1; smtpPort = the sink's port), starts it with bin/start. A private Postfix instance (own
# config and queue in the temp dir, no syslog) relays everything to its own smtp-sink
# (relayhost = [127.0.0.1]:$PF_SINK_PORT). Both use at most DEST_CONC connections to the destination.
# After an unmeasured warm-up of each, RUNS times alternately: smtp-source sends MSGS messages of SIZE
# bytes to rcpt@bench.test over SESSIONS parallel sessions (a new connection per message).
#   accept msg/s = MSGS / (smtp-source start .. smtp-source exit, all messages got 2xx)
#   e2e msg/s    = MSGS / (smtp-source start .. the sink has received the MSGS-th message; smtp-sink -c)
# CPU per message from cgroup CPU accounting over the e2e interval (all processes of each server); jit_ms/msg is the
# part of Hermod's that its JIT compiler threads used (warm-up: it falls run by run as the JVM finishes compiling).
# Stops everything and removes the temp dir at exit (KEEP=1 keeps it).
#
# Usage: sudo bench/relay.sh [--build]        e.g. MSGS=2000 RUNS=1 bench/relay.sh
set -euo pipefail
SCRIPT=relay.sh
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HM_SINK_PORT=${HM_SINK_PORT:-12526}   # smtp-sink that Hermod delivers to
PF_SINK_PORT=${PF_SINK_PORT:-12626}   # smtp-sink that Postfix delivers to
CEIL_SINK_PORT=${CEIL_SINK_PORT:-12726} # smtp-sink that smtp-source sends to directly (no-MTA ceiling)
DNS_PORT=${DNS_PORT:-12553}           # dnsmasq (UDP+TCP) for Hermod's MX lookups
DEST_CONC=${DEST_CONC:-20}            # max parallel connections to the destination, both products
                                      # (Hermod maxConnectionsPerDomain, Postfix smtp_destination_concurrency_limit)
. "$BENCH_DIR/lib/common.sh"

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$BENCH_DIR/$SCRIPT"
  usage_common
  echo "  HM_SINK_PORT=$HM_SINK_PORT PF_SINK_PORT=$PF_SINK_PORT CEIL_SINK_PORT=$CEIL_SINK_PORT DNS_PORT=$DNS_PORT DEST_CONC=$DEST_CONC"
}
parse_common_args "$@"
prologue "$@"
case "$DEST_CONC" in ''|*[!0-9]*|0) die "DEST_CONC must be a positive integer";; esac
install_packages dnsmasq
check_ports "$HERMOD_PORT" "$PF_PORT" "$HM_SINK_PORT" "$PF_SINK_PORT" "$CEIL_SINK_PORT" "$DNS_PORT" \
            "$KARAF_SSH_PORT" "$KARAF_RMI_REG_PORT" "$KARAF_RMI_SRV_PORT"
make_workdir relay
write_helpers
RCPT_DOMAIN=bench.test

dns_start "$DNS_PORT"
sink_start hmsink "$HM_SINK_PORT"
sink_start pfsink "$PF_SINK_PORT"
sink_start ceilsink "$CEIL_SINK_PORT"

# ---- Hermod: unpack, configure delivery (MX via our dnsmasq, destination port = sink), start
hermod_unpack
cat > "$HM_HOME/etc/org.hermod.delivery.cfg" <<EOF
# written by bench/$SCRIPT
dnsServers = 127.0.0.1:$DNS_PORT
smtpPort = $HM_SINK_PORT
heloName = hermod.bench.invalid
maxConnectionsPerDomain = $DEST_CONC
tlsEnabled = false
EOF
pf_setup relay "$PF_SINK_PORT" "$DEST_CONC"
start_both
sink_of() { case "$1" in hermod) echo hmsink;; ceiling) echo ceilsink;; *) echo pfsink;; esac; }
SENT_hermod=0; SENT_postfix=0; SENT_ceiling=0
DEAD_hermod=""; DEAD_postfix=""; DEAD_ceiling=""     # set when a product failed to deliver: its later runs are skipped

# wait_drained PRODUCT: Postfix: queue empty (bounded); Hermod: nothing to wait for beyond the sink count
wait_drained() {
  [ "$1" = postfix ] || return 0
  local i; for i in $(seq 300); do [ "$(pf_queue_count)" = 0 ] && return 0; sleep 0.1; done
  warn "Postfix queue not empty after 30 s: $(pf_queue_count) files"
}

if [ "$WARMUP" -gt 0 ]; then
  echo "# warm-up: $WARMUP messages through each (not measured)"
  for p in hermod postfix; do
    s=$(sink_of "$p"); base=$(sink_count "$s")
    if ! bg_wait timeout "$RUN_TIMEOUT" smtp-source "${SRC_OPTS[@]}" -m "$WARMUP" "127.0.0.1:$(port_of "$p")" 2>"$WORK/src.err"; then
      printf -v "DEAD_$p" '%s' "warm-up: smtp-source failed: $(tail -1 "$WORK/src.err" | cut -c1-120)"
      warn "$p: $(eval echo "\$DEAD_$p")"; continue
    fi
    printf -v "SENT_$p" '%s' "$(( $(eval echo "\$SENT_$p") + WARMUP ))"
    if ! bg_wait python3 "$WORK/sinkwait.py" "$WORK/$s.cnt" "$(( base + WARMUP ))" "$RUN_TIMEOUT" >"$WORK/t2"; then
      printf -v "DEAD_$p" '%s' "warm-up: the sink got $(( $(sink_count "$s") - base )) of $WARMUP messages within ${RUN_TIMEOUT}s"
      warn "$p: $(eval echo "\$DEAD_$p")"
      [ "$p" = hermod ] && hermod_diag relay-stall
      continue
    fi
    wait_drained "$p"
  done
fi

NCPU=$(nproc)
echo "# relay bench: sessions=$SESSIONS msgs=$MSGS size=$SIZE runs=$RUNS warmup=$WARMUP dest_conc=$DEST_CONC cpus=$NCPU, new connection per message"
echo "# postfix $(postconf -d -h mail_version 2>/dev/null); hermod $(basename "$TARBALL"); java $(java -version 2>&1 | head -1 | sed 's/.*"\(.*\)".*/\1/')"
echo "# source: smtp-source ${SRC_OPTS[*]} -m $MSGS 127.0.0.1:PORT ; sinks: smtp-sink -u nobody -c 127.0.0.1:PORT 1024"
[ -n "$CG_ROOT" ] || echo "# no writable cgroup CPU accounting: CPU columns are 0"
printf "%-4s %-8s %8s %8s %9s %9s %8s %10s %10s %7s %8s %9s  %s\n" \
  run product accept_s e2e_s acc_msg/s e2e_msg/s cpu_s cpu_ms/msg jit_ms/msg cpu% src+sink sys_busy% check
RES="$WORK/results.txt"; : > "$RES"
FAILED=0
for r in $(seq "$RUNS"); do
  for p in hermod postfix ceiling; do
    dead=$(eval echo "\$DEAD_$p")
    if [ -n "$dead" ]; then
      printf "%-4s %-8s %8s %8s %9s %9s %8s %10s %10s %7s %8s %9s  %s\n" "$r" "$p" - - - - - - - - - - "SKIPPED ($dead)"
      FAILED=1; continue
    fi
    s=$(sink_of "$p"); cg=$(cg_of "$p")
    wait_drained "$p"
    base=$(sink_count "$s")
    jpid=""; [ "$p" = hermod ] && jpid=$(hermod_pid || true); k0=$(jit_ticks "$jpid")
    c0=$(cg_ns "$cg"); x0=$(( $(cg_ns "$CG_SRC") + $(cg_ns "$CG_SINK") )); read -r b0 j0 < <(busy_jiffies)
    t0=$(now)
    rc=0; bg_wait in_cg "$CG_SRC" timeout "$RUN_TIMEOUT" smtp-source "${SRC_OPTS[@]}" -m "$MSGS" "127.0.0.1:$(port_of "$p")" 2>"$WORK/src.err" || rc=$?
    t1=$(now)
    check=ok
    if [ "$rc" != 0 ]; then
      check="FAIL smtp-source rc=$rc: $(tail -1 "$WORK/src.err" | cut -c1-120)"; t2=$t1
    else
      printf -v "SENT_$p" '%s' "$(( $(eval echo "\$SENT_$p") + MSGS ))"
      left=$(awk -v t0="$t0" -v t1="$t1" -v T="$RUN_TIMEOUT" 'BEGIN{x=T-(t1-t0); print (x<10?10:int(x))}')
      if bg_wait python3 "$WORK/sinkwait.py" "$WORK/$s.cnt" "$(( base + MSGS ))" "$left" >"$WORK/t2"; then
        t2=$(cat "$WORK/t2")
      else
        t2=$(now); got=$(( $(sink_count "$s") - base ))
        check="FAIL sink got $got of $MSGS messages within RUN_TIMEOUT=${RUN_TIMEOUT}s"
        [ "$got" -gt 0 ] || printf -v "DEAD_$p" '%s' "nothing delivered in run $r"
      fi
    fi
    k1=$(jit_ticks "$jpid")
    c1=$(cg_ns "$cg"); x1=$(( $(cg_ns "$CG_SRC") + $(cg_ns "$CG_SINK") )); read -r b1 j1 < <(busy_jiffies)
    [ "$check" = ok ] || FAILED=1
    awk -v r="$r" -v p="$p" -v n="$MSGS" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v c="$(( c1 - c0 ))" -v x="$(( x1 - x0 ))" \
        -v bb="$(( b1 - b0 ))" -v jj="$(( j1 - j0 ))" -v ok="$check" -v res="$RES" \
        -v kk="$(( k1 - k0 ))" -v hz="$(getconf CLK_TCK)" -v jit="$jpid" 'BEGIN{
      a = t1 - t0; e = t2 - t0; cs = c / 1e9
      jv = (jit != "" && kk >= 0) # a JIT figure to show: the JVM was found and did not restart (ticks never fall)
      js = jv ? sprintf("%10.3f", 1000*kk/hz/n) : sprintf("%10s", "-")
      printf "%-4s %-8s %8.2f %8.2f %9.0f %9.0f %8.2f %10.3f %s %6.0f%% %8.2f %8.0f%%  %s\n", r, p, a, e, n/a, n/e, cs, 1000*cs/n, js, 100*cs/e, x/1e9, (jj > 0 ? 100*bb/jj : 0), ok
      if (ok == "ok") printf "%s %.3f %.3f %.6f %.6f\n", p, n/a, n/e, 1000*cs/n, (jv ? 1000*kk/hz/n : 0) >> res }'
  done
done

# duplicates / stragglers: what each sink got in total versus what was sent to that product
sleep 2
for p in hermod postfix ceiling; do
  got=$(sink_count "$(sink_of "$p")"); sent=$(eval echo "\$SENT_$p")
  [ "$got" -le "$sent" ] || warn "$p: its sink received $got messages but only $sent were sent (duplicate deliveries)"
done

echo
hermod_log_problems
pf_log_problems
if [ -s "$HM_HOME/data/hermod/log/delivery.jsonl" ]; then
  echo "# Hermod accounting log: $(wc -l < "$HM_HOME/data/hermod/log/delivery.jsonl") lines, outcomes:" \
    $(grep -o '"outcome":"[A-Za-z_]*"' "$HM_HOME/data/hermod/log/delivery.jsonl" | cut -d'"' -f4 | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')
fi
he=$(median "$RES" hermod 3); pe=$(median "$RES" postfix 3)
ha=$(median "$RES" hermod 2); pa=$(median "$RES" postfix 2)
hc=$(median "$RES" hermod 4); pc=$(median "$RES" postfix 4)
echo "SUMMARY sessions=$SESSIONS msgs=$MSGS size=$SIZE runs=$RUNS dest_conc=$DEST_CONC (median (min-max) over successful runs)"
ce=$(median "$RES" ceiling 3)
echo "relay e2e msg/s: hermod median $(stat3 "$RES" hermod 3) | postfix median $(stat3 "$RES" postfix 3) | ratio $(ratio "$he" "$pe")"
echo "no-MTA ceiling msg/s (smtp-source straight into smtp-sink): median $(stat3 "$RES" ceiling 3) | hermod/ceiling $(ratio "$he" "$ce") | postfix/ceiling $(ratio "$pe" "$ce")"
echo "relay accept msg/s: hermod median $(stat3 "$RES" hermod 2) | postfix median $(stat3 "$RES" postfix 2) | ratio $(ratio "$ha" "$pa")"
if [ -n "$CG_ROOT" ]; then
  echo "relay cpu ms/msg: hermod median $(stat3 "$RES" hermod 4) | postfix median $(stat3 "$RES" postfix 4) | ratio $(ratio "$hc" "$pc")"
  echo "hermod jit ms/msg (its JIT compiler threads' part of the above): median $(stat3 "$RES" hermod 5)"
fi
if [ "$FAILED" = 1 ]; then echo "$SCRIPT: some runs FAILED or were skipped (see check column); they are left out of the medians" >&2; exit 1; fi
