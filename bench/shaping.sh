#!/usr/bin/env bash
# bench/shaping.sh - what traffic shaping costs: Hermod relaying with the shaping bundle (the shipped rules file, its
# provider rules and response rules active, a message token per delivery, feedback after every attempt) against the
# same Hermod with the shaping bundle stopped (delivery's static shaping: one source, no rates), alternating in the
# same run on the same machine.
#
#   smtp-source --> Hermod 127.0.0.1:$HERMOD_PORT --(spool, MX via dnsmasq, egress path)--> smtp-sink 127.0.0.1:$HM_SINK_PORT
#
# Both modes allow DEST_CONC connections to the destination (a rules line for bench.test in shaping mode,
# maxConnectionsPerDomain in static mode). The bundle is stopped and started over Karaf's ssh console between runs.
# Prints e2e msg/s per run and mode, the medians and the ratio shaping/static (the target: within 10%).
#
# Usage: sudo bench/shaping.sh [--build]        e.g. MSGS=5000 RUNS=3 bench/shaping.sh
set -euo pipefail
SCRIPT=shaping.sh
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HM_SINK_PORT=${HM_SINK_PORT:-12526}
DNS_PORT=${DNS_PORT:-12553}
DEST_CONC=${DEST_CONC:-20}
. "$BENCH_DIR/lib/common.sh"

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$BENCH_DIR/$SCRIPT"
  usage_common
  echo "  HM_SINK_PORT=$HM_SINK_PORT DNS_PORT=$DNS_PORT DEST_CONC=$DEST_CONC"
}
parse_common_args "$@"
prologue "$@"
install_packages dnsmasq
check_ports "$HERMOD_PORT" "$HM_SINK_PORT" "$DNS_PORT" "$KARAF_SSH_PORT" "$KARAF_RMI_REG_PORT" "$KARAF_RMI_SRV_PORT"
make_workdir shaping
write_helpers
RCPT_DOMAIN=bench.test
dns_start "$DNS_PORT"
sink_start hmsink "$HM_SINK_PORT"

hermod_unpack
{
  echo "# written by bench/$SCRIPT"
  echo "dnsServers = 127.0.0.1:$DNS_PORT"
  echo "smtpPort = $HM_SINK_PORT"
  echo "heloName = hermod.bench.invalid"
  echo "maxConnectionsPerDomain = $DEST_CONC"
  echo "tlsEnabled = false"
} > "$HM_HOME/etc/org.hermod.delivery.cfg"
# the shipped rules, plus the bench destination's connections (the shipped default is lower than DEST_CONC)
{
  echo
  echo "# bench/$SCRIPT: the bench destination gets as many connections as in static mode"
  echo "limits domain=$RCPT_DOMAIN connections=$DEST_CONC messagesPerConnection=100"
} >> "$HM_HOME/etc/hermod-shaping.rules"

# mode shaping|static: start or stop the shaping bundle and wait until the console shows it
mode() {
  local want cmd i
  if [ "$1" = shaping ]; then cmd="bundle:start org.hermod.hermod-shaping"; want=Active
  else cmd="bundle:stop org.hermod.hermod-shaping"; want=Resolved; fi
  for i in $(seq 60); do
    console "$cmd" >/dev/null 2>&1 || true
    if console "bundle:list -s" 2>/dev/null | grep 'org.hermod.hermod-shaping' | grep -q "$want"; then return 0; fi
    sleep 1
  done
  die "could not switch to $1 mode over the Karaf console (ssh port $KARAF_SSH_PORT)"
}

mkcg src CG_SRC
hermod_start
SRC_OPTS=(-s "$SESSIONS" -l "$SIZE" -f sender@src.bench.invalid -t "rcpt@$RCPT_DOMAIN" -M src.bench.invalid)
mode shaping

if [ "$WARMUP" -gt 0 ]; then
  echo "# warm-up: $WARMUP messages in each mode (not measured)"
  for m in shaping static; do
    mode "$m"
    run_once "$WARMUP" >/dev/null || die "warm-up failed in $m mode"
  done
fi
echo "# shaping bench: sessions=$SESSIONS msgs=$MSGS size=$SIZE runs=$RUNS warmup=$WARMUP dest_conc=$DEST_CONC cpus=$(nproc)"
printf "%-4s %-8s %8s %8s %9s %9s %10s  %s\n" run mode accept_s e2e_s acc_msg/s e2e_msg/s cpu_ms/msg check
RES="$WORK/results.txt"
: > "$RES"
FAILED=0
for r in $(seq "$RUNS"); do
  # alternate which mode goes first, so that neither always runs on a warmer JVM
  if [ $(( r % 2 )) = 1 ]; then order="shaping static"; else order="static shaping"; fi
  for m in $order; do
    mode "$m"
    c0=$(cg_ns "$CG_HM")
    if out=$(run_once "$MSGS"); then
      c1=$(cg_ns "$CG_HM")
      read -r a e <<<"$out"
      awk -v r="$r" -v m="$m" -v n="$MSGS" -v a="$a" -v e="$e" -v c="$(( c1 - c0 ))" -v res="$RES" 'BEGIN{
        printf "%-4s %-8s %8.2f %8.2f %9.0f %9.0f %10.3f  ok\n", r, m, a, e, n/a, n/e, c/1e6/n
        printf "%s %.3f %.3f %.6f\n", m, n/a, n/e, c/1e6/n >> res }'
    else
      printf "%-4s %-8s %8s %8s %9s %9s %10s  %s\n" "$r" "$m" - - - - - "$out"
      FAILED=1
    fi
  done
done
echo
hermod_log_problems
se=$(median "$RES" shaping 3); te=$(median "$RES" static 3)
echo "SUMMARY sessions=$SESSIONS msgs=$MSGS size=$SIZE runs=$RUNS dest_conc=$DEST_CONC (median (min-max))"
echo "relay e2e msg/s: shaping $(stat3 "$RES" shaping 3) | static $(stat3 "$RES" static 3) | ratio shaping/static $(ratio "$se" "$te")"
echo "cpu ms/msg: shaping $(stat3 "$RES" shaping 4) | static $(stat3 "$RES" static 4)"
[ "$FAILED" = 0 ] || { echo "$SCRIPT: some runs FAILED" >&2; exit 1; }
