#!/usr/bin/env bash
# bench/filters.sh - what routing filters cost: Hermod relaying with the rule router (one rule per stage: mail, rcpt,
# data) and the three example filters (hermod-example-filter: one MAIL, one RCPT, one end-of-data filter) in the
# chain, against the same Hermod with all four disabled (hermod:filter-disable: the chain is empty, no stage is
# called), alternating in the same run on the same machine.
#
#   smtp-source --> Hermod 127.0.0.1:$HERMOD_PORT --(filters, spool, MX via dnsmasq)--> smtp-sink 127.0.0.1:$HM_SINK_PORT
#
# The rules and filters are trivial (they set a tenant, a tag and a header and refuse nothing the bench sends): what is
# measured is the chain itself, its thread hops per command and its header edits. Prints e2e msg/s per run and mode,
# the medians and the ratio filters/none (the target: within 10%).
#
# Also prints the Hermod JVM's context switches per message (all its threads, voluntary + involuntary): thread
# hand-offs are what a chain of cheap filters mostly costs. PERF=1 records each measured run with `perf record -g`
# into $WORK/perf-<mode>-<run>.data (use KEEP=1 to keep them; add -XX:+UnlockDiagnosticVMOptions
# -XX:+DumpPerfMapAtExit to EXTRA_JAVA_OPTS for Java symbols).
#
# Usage: sudo bench/filters.sh [--build]        e.g. MSGS=5000 RUNS=3 bench/filters.sh
set -euo pipefail
SCRIPT=filters.sh
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
make_workdir filters
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
# the shipped shaping rules, plus the bench destination's connections (the shipped default is lower than DEST_CONC)
{
  echo
  echo "# bench/$SCRIPT: the bench destination gets DEST_CONC connections"
  echo "limits domain=$RCPT_DOMAIN connections=$DEST_CONC messagesPerConnection=100"
} >> "$HM_HOME/etc/hermod-shaping.rules"
# one router rule per stage, none of which refuses the bench's mail
cat >> "$HM_HOME/etc/hermod-routing.rules" <<EOF
# bench/$SCRIPT
mail  from-domain=*.bench.invalid  -> tenant=bench continue
rcpt  to-domain=$RCPT_DOMAIN       -> tag:bench=yes continue
data  any                          -> add-header X-Bench-Routed "yes"
EOF
# the example filters: a sender and a recipient blocklist that list other domains, a tenant stamp
cat > "$HM_HOME/etc/org.hermod.example.filter.cfg" <<EOF
blockedSenders = blocked-sender.invalid
blockedDomains = blocked-rcpt.invalid
tenants = src.bench.invalid=bench
EOF
FILTERS="router example-sender-check example-blocklist example-tenant-stamp"
PERF=${PERF:-0}

# ctxsw: context switches so far of all live threads of the Hermod JVM
ctxsw() {
  # a thread that ends between the glob and cat makes cat fail: not an error (set -e, pipefail)
  { cat /proc/"$(hermod_pid)"/task/*/status 2>/dev/null || true; } | awk '/^(non)?voluntary_ctxt_switches/{n+=$2} END{print n+0}'
}

# mode filters|none: enable or disable the four filters, then wait until filter-list shows it
mode() {
  local verb want i f
  if [ "$1" = filters ]; then verb=enable; want=yes; else verb=disable; want=NO; fi
  for i in $(seq 60); do
    for f in $FILTERS; do console "hermod:filter-$verb $f" >/dev/null 2>&1 || true; done
    if [ "$(console "hermod:filter-list" 2>/dev/null | grep -cE "^ *($(echo "$FILTERS" | tr ' ' '|'))\b.*\b$want\b")" = 4 ]; then
      return 0
    fi
    sleep 1
  done
  console "hermod:filter-list" >&2 || true
  die "could not switch to $1 mode over the Karaf console (ssh port $KARAF_SSH_PORT)"
}

mkcg src CG_SRC
hermod_start
console "feature:install hermod-example-filter" >/dev/null || die "feature:install hermod-example-filter failed"
SRC_OPTS=(-s "$SESSIONS" -l "$SIZE" -f sender@src.bench.invalid -t "rcpt@$RCPT_DOMAIN" -M src.bench.invalid)
mode filters

if [ "$WARMUP" -gt 0 ]; then
  echo "# warm-up: $WARMUP messages in each mode (not measured)"
  for m in filters none; do
    mode "$m"
    run_once "$WARMUP" >/dev/null || die "warm-up failed in $m mode"
  done
fi
echo "# filters bench: sessions=$SESSIONS msgs=$MSGS size=$SIZE runs=$RUNS warmup=$WARMUP dest_conc=$DEST_CONC cpus=$(nproc)"
printf "%-4s %-8s %8s %8s %9s %9s %10s %10s  %s\n" run mode accept_s e2e_s acc_msg/s e2e_msg/s cpu_ms/msg ctxsw/msg check
RES="$WORK/results.txt"
: > "$RES"
FAILED=0
for r in $(seq "$RUNS"); do
  # alternate which mode goes first, so that neither always runs on a warmer JVM
  if [ $(( r % 2 )) = 1 ]; then order="filters none"; else order="none filters"; fi
  for m in $order; do
    mode "$m"
    perf_pid=""
    if [ "$PERF" = 1 ]; then
      perf record -q -g -o "$WORK/perf-$m-$r.data" -p "$(hermod_pid)" >/dev/null 2>&1 &
      perf_pid=$!
      sleep 1
    fi
    c0=$(cg_ns "$CG_HM"); s0=$(ctxsw)
    if out=$(run_once "$MSGS"); then
      c1=$(cg_ns "$CG_HM"); s1=$(ctxsw)
      read -r a e <<<"$out"
      awk -v r="$r" -v m="$m" -v n="$MSGS" -v a="$a" -v e="$e" -v c="$(( c1 - c0 ))" -v x="$(( s1 - s0 ))" -v res="$RES" 'BEGIN{
        printf "%-4s %-8s %8.2f %8.2f %9.0f %9.0f %10.3f %10.1f  ok\n", r, m, a, e, n/a, n/e, c/1e6/n, x/n
        printf "%s %.3f %.3f %.6f %.3f\n", m, n/a, n/e, c/1e6/n, x/n >> res }'
    else
      printf "%-4s %-8s %8s %8s %9s %9s %10s %10s  %s\n" "$r" "$m" - - - - - - "$out"
      FAILED=1
    fi
    if [ -n "$perf_pid" ]; then kill -INT "$perf_pid" 2>/dev/null; wait "$perf_pid" 2>/dev/null || true; fi
  done
done
echo
hermod_log_problems
se=$(median "$RES" filters 3); te=$(median "$RES" none 3)
echo "SUMMARY sessions=$SESSIONS msgs=$MSGS size=$SIZE runs=$RUNS dest_conc=$DEST_CONC (median (min-max))"
echo "relay e2e msg/s: filters $(stat3 "$RES" filters 3) | none $(stat3 "$RES" none 3) | ratio filters/none $(ratio "$se" "$te")"
echo "cpu ms/msg: filters $(stat3 "$RES" filters 4) | none $(stat3 "$RES" none 4)"
echo "context switches/msg: filters $(stat3 "$RES" filters 5) | none $(stat3 "$RES" none 5)"
if [ -s "$HM_HOME/data/hermod/log/delivery.jsonl" ]; then
  echo "# tenants in the accounting log (the route travels with the mail): $(grep -o '"tenant":"[^"]*"' "$HM_HOME/data/hermod/log/delivery.jsonl" | sort | uniq -c | tr '\n' ' ')"
fi
[ "$FAILED" = 0 ] || { echo "$SCRIPT: some runs FAILED" >&2; exit 1; }
