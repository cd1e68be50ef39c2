#!/usr/bin/env bash
# bench/coldstart.sh - latency of the first messages after a start at low load, Hermod vs Postfix, side by side.
#
#   latency.py send --> Hermod  127.0.0.1:$HERMOD_PORT --(spool, MX via dnsmasq)--> latency.py sink 127.0.0.1:$HM_SINK_PORT
#   latency.py send --> Postfix 127.0.0.1:$PF_PORT     --(queue, relayhost)-------> latency.py sink 127.0.0.1:$PF_SINK_PORT
#
# Per run and product: (re)start the server (a fresh JVM for Hermod, a fresh master for Postfix), wait until it
# answers 220, then send COLD messages (default 300) one after the other, a new connection each, at most one every
# GAP seconds (default 0.05: low load, never two at once), SIZE bytes each. Per message:
#   accept = connect .. the 250 after the final "."   (what the submitting application waits for)
#   e2e    = connect .. the final "." arrives at the sink (the sink timestamps it)
# Prints median and p99 of both per run and product, then the medians over the runs and the ratios Hermod/Postfix
# (below 1.00x: Hermod is faster). RUNS alternate hermod, postfix; each run restarts both.
#
# Usage: sudo bench/coldstart.sh [--build]        e.g. COLD=300 RUNS=3 GAP=0.05 bench/coldstart.sh
set -euo pipefail
SCRIPT=coldstart.sh
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HM_SINK_PORT=${HM_SINK_PORT:-12526}
PF_SINK_PORT=${PF_SINK_PORT:-12626}
DNS_PORT=${DNS_PORT:-12553}
COLD=${COLD:-300}
GAP=${GAP:-0.05}
SIZE=${SIZE:-2048}
RUNS=${RUNS:-3}
. "$BENCH_DIR/lib/common.sh"

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$BENCH_DIR/$SCRIPT"
  echo "  COLD=$COLD GAP=$GAP SIZE=$SIZE RUNS=$RUNS HM_SINK_PORT=$HM_SINK_PORT PF_SINK_PORT=$PF_SINK_PORT DNS_PORT=$DNS_PORT"
  usage_common
}
parse_common_args "$@"
prologue "$@"
case "$COLD" in ''|*[!0-9]*|0) die "COLD must be a positive integer";; esac
install_packages dnsmasq
check_ports "$HERMOD_PORT" "$PF_PORT" "$HM_SINK_PORT" "$PF_SINK_PORT" "$DNS_PORT" \
            "$KARAF_SSH_PORT" "$KARAF_RMI_REG_PORT" "$KARAF_RMI_SRV_PORT"
make_workdir coldstart
write_helpers
LAT="$BENCH_DIR/lib/latency.py"
dns_start "$DNS_PORT"
for s in hm:$HM_SINK_PORT pf:$PF_SINK_PORT; do
  ( exec timeout "$TOTAL_TIMEOUT" python3 "$LAT" sink "${s#*:}" "$WORK/${s%%:*}.arrivals" ) >"$WORK/${s%%:*}sink.err" 2>&1 8>&- 9>&- &
  at_exit "stop_bg $!"
  wait_listen "${s#*:}" 10 || die "latency sink not listening on ${s#*:}: $(cat "$WORK/${s%%:*}sink.err")"
done

hermod_unpack
cat > "$HM_HOME/etc/org.hermod.delivery.cfg" <<EOF
# written by bench/$SCRIPT
dnsServers = 127.0.0.1:$DNS_PORT
smtpPort = $HM_SINK_PORT
heloName = hermod.bench.invalid
tlsEnabled = false
EOF
pf_setup relay "$PF_SINK_PORT" 20

echo "# coldstart bench: cold=$COLD gap=${GAP}s size=$SIZE runs=$RUNS, one message at a time, a new connection each"
echo "# postfix $(postconf -d -h mail_version 2>/dev/null); hermod $(basename "$TARBALL"); java $(java -version 2>&1 | head -1 | sed 's/.*"\(.*\)".*/\1/')"
printf "%-4s %-8s %8s %12s %12s %12s %12s  %s\n" run product start_s acc_med_ms acc_p99_ms e2e_med_ms e2e_p99_ms check
RES="$WORK/results.txt"; : > "$RES"
FAILED=0
for r in $(seq "$RUNS"); do
  for p in hermod postfix; do
    t_s=$(now)
    if [ "$p" = hermod ]; then rm -f "$HM_HOME/karaf.pid"; hermod_start; port=$HERMOD_PORT; sinkf="$WORK/hm.arrivals"
    else pf_start; port=$PF_PORT; sinkf="$WORK/pf.arrivals"; fi
    t_up=$(awk -v a="$t_s" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')
    sendf="$WORK/send-$p-$r.txt"; : > "$sendf"
    check=ok
    if ! bg_wait timeout "$RUN_TIMEOUT" python3 "$LAT" send "$port" "$COLD" "$GAP" "$SIZE" "$sendf" "$p$r" 2>"$WORK/send.err"; then
      check="FAIL send: $(tail -1 "$WORK/send.err" | cut -c1-120)"
    elif ! out=$(bg_wait python3 "$LAT" report "$sendf" "$sinkf" 60); then
      check="FAIL $out"
    fi
    if [ "$p" = hermod ]; then hermod_stop; else pf_stop; fi
    if [ "$check" = ok ]; then
      read -r am ap em ep n <<< "$out"
      printf "%-4s %-8s %8s %12s %12s %12s %12s  %s\n" "$r" "$p" "$t_up" "$am" "$ap" "$em" "$ep" ok
      echo "$p $am $ap $em $ep" >> "$RES"
    else
      printf "%-4s %-8s %8s %12s %12s %12s %12s  %s\n" "$r" "$p" "$t_up" - - - - "$check"; FAILED=1
    fi
  done
done
echo
hermod_log_problems
pf_log_problems
echo "SUMMARY cold=$COLD gap=${GAP}s size=$SIZE runs=$RUNS (median (min-max) over successful runs; ratio hermod/postfix, below 1.00x is faster)"
for k in "2 accept median" "3 accept p99" "4 e2e median" "5 e2e p99"; do
  set -- $k
  echo "$2 $3 ms: hermod $(stat3 "$RES" hermod "$1") | postfix $(stat3 "$RES" postfix "$1") | ratio $(ratio "$(median "$RES" hermod "$1")" "$(median "$RES" postfix "$1")")"
done
[ "$FAILED" = 0 ] || { echo "$SCRIPT: some runs FAILED (see check column)" >&2; exit 1; }
