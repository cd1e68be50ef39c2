#!/usr/bin/env bash
# bench/sites.sh - the egress model at scale: mail to 10,000 destination domains that roll up into 100 sites (MX
# host sets, served by a private dnsmasq), against mail to one domain, alternating in the same run, both through the
# same Hermod with traffic shaping and high per-site limits.
#
#   injector (python, pipelining) --> Hermod 127.0.0.1:$HERMOD_PORT --(MX via dnsmasq, egress paths)--> counting sink
#
# Prints per run: e2e msg/s (injection start .. the sink has every message), Hermod CPU per message (cgroup), and
# messages per new connection at the sink (connection reuse across the domains of a site: each message of the
# 10,000-domain run goes to another domain, so more than one message per connection is reuse across domains; idle
# connections kept from an earlier run are reused too, so after the warm-up the figure counts new connections only). The target: CPU per message
# with 10,000 domains at most 2x the single-domain figure, and messages per connection showing reuse across domains.
#
# Usage: sudo bench/sites.sh [--build]        e.g. MSGS=10000 RUNS=3 bench/sites.sh
set -euo pipefail
SCRIPT=sites.sh
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SINK_PORT=${SINK_PORT:-12526}
DNS_PORT=${DNS_PORT:-12553}
DOMAINS=${DOMAINS:-10000}
SITES=${SITES:-100}
DEST_CONC=${DEST_CONC:-10}
. "$BENCH_DIR/lib/common.sh"

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$BENCH_DIR/$SCRIPT"
  usage_common
  echo "  SINK_PORT=$SINK_PORT DNS_PORT=$DNS_PORT DOMAINS=$DOMAINS SITES=$SITES DEST_CONC=$DEST_CONC (connections per site)"
}
parse_common_args "$@"
prologue "$@"
install_packages dnsmasq
check_ports "$HERMOD_PORT" "$SINK_PORT" "$DNS_PORT" "$KARAF_SSH_PORT" "$KARAF_RMI_REG_PORT" "$KARAF_RMI_SRV_PORT"
make_workdir sites
write_helpers
TOOLS="$BENCH_DIR/lib/sites_tools.py"

# ---- DNS: bench.test -> mx.bench.test; d00000..d09999.sites.test -> mx<k>.sites.test (k = i mod SITES), all 127.0.0.1
CONF="$WORK/dnsmasq-sites.conf"
{
  echo "mx-host=bench.test,mx.bench.test,10"
  echo "host-record=mx.bench.test,127.0.0.1"
  for k in $(seq 0 $(( SITES - 1 ))); do echo "host-record=mx$k.sites.test,127.0.0.1"; done
  awk -v n="$DOMAINS" -v s="$SITES" 'BEGIN{ for (i = 0; i < n; i++) printf "mx-host=d%05d.sites.test,mx%d.sites.test,10\n", i, i % s }'
} > "$CONF"
( exec timeout "$TOTAL_TIMEOUT" dnsmasq --keep-in-foreground --port="$DNS_PORT" --no-resolv --no-hosts --no-poll \
    --listen-address=127.0.0.1 --bind-interfaces --user=root --group=root --local-ttl=300 --conf-file="$CONF" \
    --pid-file="$WORK/dnsmasq.pid" --log-facility="$WORK/dnsmasq.log" ) >/dev/null 2>"$WORK/dnsmasq.err" 8>&- 9>&- &
at_exit "stop_bg $!"
for i in $(seq 50); do
  timeout 5 python3 "$WORK/dnscheck.py" "$DNS_PORT" d00001.sites.test >/dev/null 2>&1 && break
  sleep 0.2
done
timeout 5 python3 "$WORK/dnscheck.py" "$DNS_PORT" d00001.sites.test >/dev/null || die "dnsmasq does not answer: $(cat "$WORK/dnsmasq.err")"

# ---- the counting sink
( exec timeout "$TOTAL_TIMEOUT" python3 "$TOOLS" sink "$SINK_PORT" "$WORK/sink.stats" ) 2>"$WORK/sink.err" 8>&- 9>&- &
at_exit "stop_bg $!"
wait_listen "$SINK_PORT" 10 || die "the sink is not listening: $(cat "$WORK/sink.err")"
sink_stats() { cat "$WORK/sink.stats" 2>/dev/null || echo "0 0"; }

# ---- Hermod: delivery through our DNS to the sink; shaping limits high enough not to be the bound
hermod_unpack
{
  echo "# written by bench/$SCRIPT"
  echo "dnsServers = 127.0.0.1:$DNS_PORT"
  echo "smtpPort = $SINK_PORT"
  echo "heloName = hermod.bench.invalid"
  echo "maxConnectionsPerDomain = $DEST_CONC"
  echo "tlsEnabled = false"
} > "$HM_HOME/etc/org.hermod.delivery.cfg"
{
  echo
  echo "# bench/$SCRIPT: every site (and the single bench domain) gets the same limits"
  echo "limits connections=$DEST_CONC messagesPerConnection=100 recipients=100"
} >> "$HM_HOME/etc/hermod-shaping.rules"
mkcg src CG_SRC
hermod_start

# run_once DOMAINS N: prints "e2e_s cpu_ms_per_msg msgs_per_conn" or a FAIL line
run_once() {
  local domains=$1 n=$2 c0 m0 c1 m1 t0 t2 cpu0 cpu1 deadline
  read -r c0 m0 < <(sink_stats)
  cpu0=$(cg_ns "$CG_HM")
  t0=$(now)
  in_cg "$CG_SRC" timeout "$RUN_TIMEOUT" python3 "$TOOLS" inject "$HERMOD_PORT" "$SESSIONS" "$n" "$SIZE" "$domains" \
    >"$WORK/inject.out" 2>"$WORK/inject.err" || { echo "FAIL injector: $(tail -1 "$WORK/inject.err")"; return 1; }
  deadline=$(( $(date +%s) + RUN_TIMEOUT ))
  while :; do
    read -r c1 m1 < <(sink_stats)
    [ $(( m1 - m0 )) -ge "$n" ] && break
    [ "$(date +%s)" -lt "$deadline" ] || { echo "FAIL the sink got $(( m1 - m0 )) of $n"; return 1; }
    sleep 0.05
  done
  t2=$(now)
  cpu1=$(cg_ns "$CG_HM")
  awk -v t0="$t0" -v t2="$t2" -v n="$n" -v c="$(( cpu1 - cpu0 ))" -v conns="$(( c1 - c0 ))" \
    'BEGIN{ printf "%.3f %.3f %.1f\n", t2 - t0, c / 1e6 / n, (conns > 0 ? n / conns : n) }'
}

if [ "$WARMUP" -gt 0 ]; then
  echo "# warm-up: $WARMUP messages each way (not measured; the site lookups of all $DOMAINS domains happen here too)"
  run_once 1 "$WARMUP" >/dev/null || die "warm-up failed (single domain)"
  run_once "$DOMAINS" "$(( WARMUP > DOMAINS ? WARMUP : DOMAINS ))" >/dev/null || die "warm-up failed ($DOMAINS domains)"
fi
echo "# sites bench: msgs=$MSGS size=$SIZE sessions=$SESSIONS runs=$RUNS domains=$DOMAINS sites=$SITES connections/site=$DEST_CONC cpus=$(nproc)"
printf "%-4s %-14s %8s %9s %10s %13s  %s\n" run destinations e2e_s e2e_msg/s cpu_ms/msg msgs/new-conn check
RES="$WORK/results.txt"
: > "$RES"
FAILED=0
for r in $(seq "$RUNS"); do
  if [ $(( r % 2 )) = 1 ]; then order="1 $DOMAINS"; else order="$DOMAINS 1"; fi
  for d in $order; do
    label=$([ "$d" = 1 ] && echo "1-domain" || echo "$d-domains")
    if out=$(run_once "$d" "$MSGS"); then
      read -r e cpu per <<<"$out"
      awk -v r="$r" -v l="$label" -v n="$MSGS" -v e="$e" -v cpu="$cpu" -v per="$per" -v res="$RES" 'BEGIN{
        printf "%-4s %-14s %8.2f %9.0f %10.3f %10.1f  ok\n", r, l, e, n/e, cpu, per
        printf "%s %.3f %.6f %.2f\n", l, n/e, cpu, per >> res }'
    else
      printf "%-4s %-14s %8s %9s %10s %10s  %s\n" "$r" "$label" - - - - "$out"
      FAILED=1
    fi
  done
done
echo
hermod_log_problems
many="$DOMAINS-domains"
echo "SUMMARY msgs=$MSGS runs=$RUNS domains=$DOMAINS sites=$SITES (median (min-max))"
echo "e2e msg/s: $many $(stat3 "$RES" "$many" 2) | 1-domain $(stat3 "$RES" 1-domain 2)"
echo "cpu ms/msg: $many $(stat3 "$RES" "$many" 3) | 1-domain $(stat3 "$RES" 1-domain 3) | ratio $(ratio "$(median "$RES" "$many" 3)" "$(median "$RES" 1-domain 3)")"
echo "msgs per new connection at the sink: $many $(stat3 "$RES" "$many" 4) | 1-domain $(stat3 "$RES" 1-domain 4)"
[ "$FAILED" = 0 ] || { echo "$SCRIPT: some runs FAILED" >&2; exit 1; }
