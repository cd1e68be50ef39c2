#!/usr/bin/env bash
# bench/accept.sh - SMTP accept throughput, Hermod vs Postfix, side by side on loopback.
#
#   smtp-source --> Hermod   127.0.0.1:$HERMOD_PORT  (durable spool; delivery held)
#   smtp-source --> Postfix  127.0.0.1:$PF_PORT      (durable queue; every message to the hold queue)
#
# Unpacks the Hermod distribution (karaf-assembly/target/hermod-karaf-*.tar.gz, built by `mvn install`)
# into a temp dir under /tmp, sets its SMTP port (etc/org.hermod.smtp.cfg) and starts it with bin/start;
# starts a private Postfix instance (own config and queue in the same temp dir, no syslog). Neither
# delivers: Hermod holds the destination domain (suspended in the spool before start, as
# `hermod:queue-suspend bench.test` would), Postfix puts every message on hold (check_client_access static:HOLD).
# Then, after an unmeasured warm-up of each, RUNS times alternately: smtp-source sends MSGS messages of
# SIZE bytes over SESSIONS parallel sessions, a new connection per message (like Postfix's reference
# runs), to Hermod, then to Postfix. accept msg/s = MSGS / (smtp-source start .. smtp-source exit);
# smtp-source exits non-zero on any reply other than 2xx. Checks per run: Hermod's spool journal
# (data/hermod/spool/*.seg) grew by >= MSGS*SIZE bytes; Postfix's hold queue grew by MSGS files.
# CPU per message from cgroup CPU accounting (all processes of each server, incl. short-lived ones).
# Stops everything and removes the temp dir at exit (KEEP=1 keeps it).
#
# Usage: sudo bench/accept.sh [--build]        e.g. MSGS=2000 RUNS=1 bench/accept.sh
set -euo pipefail
SCRIPT=accept.sh
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$BENCH_DIR/lib/common.sh"

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$BENCH_DIR/$SCRIPT"
  usage_common
}
parse_common_args "$@"
prologue "$@"
install_packages
check_ports "$HERMOD_PORT" "$PF_PORT" "$KARAF_SSH_PORT" "$KARAF_RMI_REG_PORT" "$KARAF_RMI_SRV_PORT"
make_workdir accept
write_helpers
RCPT_DOMAIN=bench.test

# ---- Hermod: unpack, configure (delivery held for the benchmark domain), start
hermod_unpack
# accept-only: the destination domain is suspended (the spool reads data/hermod/spool/suspended.txt at start, the
# file hermod:queue-suspend writes), so nothing is leased to delivery
mkdir -p "$HM_HOME/data/hermod/spool"
echo "$RCPT_DOMAIN" > "$HM_HOME/data/hermod/spool/suspended.txt"
# ---- Postfix: private instance, hold queue
pf_setup accept
start_both
# state_of PRODUCT: hermod: spool journal bytes; postfix: messages in the hold queue
state_of() { if [ "$1" = hermod ]; then hermod_seg_bytes; else pf_hold_count; fi; }

if [ "$WARMUP" -gt 0 ]; then
  echo "# warm-up: $WARMUP messages to each (not measured)"
  for p in hermod postfix; do
    bg_wait timeout "$RUN_TIMEOUT" smtp-source "${SRC_OPTS[@]}" -m "$WARMUP" "127.0.0.1:$(port_of "$p")" 2>"$WORK/src.err" \
      || die "warm-up of $p failed: $(tail -2 "$WORK/src.err")"
  done
fi

NCPU=$(nproc)
echo "# accept bench: sessions=$SESSIONS msgs=$MSGS size=$SIZE runs=$RUNS warmup=$WARMUP cpus=$NCPU, new connection per message"
echo "# postfix $(postconf -d -h mail_version 2>/dev/null); hermod $(basename "$TARBALL"); java $(java -version 2>&1 | head -1 | sed 's/.*"\(.*\)".*/\1/')"
echo "# source: smtp-source ${SRC_OPTS[*]} -m $MSGS 127.0.0.1:PORT"
[ -n "$CG_ROOT" ] || echo "# no writable cgroup CPU accounting: CPU columns are 0"
printf "%-4s %-8s %9s %10s %9s %10s %8s %8s %9s  %s\n" run product secs msg/s cpu_s cpu_ms/msg cpu% src_cpu sys_busy% check
RES="$WORK/results.txt"; : > "$RES"
FAILED=0
for r in $(seq "$RUNS"); do
  for p in hermod postfix; do
    cg=$(cg_of "$p")
    s0=$(state_of "$p")
    c0=$(cg_ns "$cg"); so0=$(cg_ns "$CG_SRC"); read -r b0 j0 < <(busy_jiffies)
    t0=$(now)
    rc=0; bg_wait in_cg "$CG_SRC" timeout "$RUN_TIMEOUT" smtp-source "${SRC_OPTS[@]}" -m "$MSGS" "127.0.0.1:$(port_of "$p")" 2>"$WORK/src.err" || rc=$?
    t1=$(now)
    c1=$(cg_ns "$cg"); so1=$(cg_ns "$CG_SRC"); read -r b1 j1 < <(busy_jiffies)
    check=ok
    if [ "$rc" != 0 ]; then
      check="FAIL smtp-source rc=$rc: $(tail -1 "$WORK/src.err" | cut -c1-120)"
    elif [ "$p" = hermod ]; then
      # the journal is fsynced before the 250 reply; allow a moment for any lagging metadata
      s1=$(state_of "$p"); [ $(( s1 - s0 )) -ge $(( MSGS * SIZE )) ] || { sleep 1; s1=$(state_of "$p"); }
      [ $(( s1 - s0 )) -ge $(( MSGS * SIZE )) ] || check="FAIL spool grew by $(( s1 - s0 )) bytes < MSGS*SIZE=$(( MSGS * SIZE ))"
    else
      s1=$(state_of "$p"); [ $(( s1 - s0 )) -ge "$MSGS" ] || { sleep 1; s1=$(state_of "$p"); }
      [ $(( s1 - s0 )) -eq "$MSGS" ] || check="FAIL hold queue grew by $(( s1 - s0 )) messages, expected $MSGS"
    fi
    [ "$check" = ok ] || FAILED=1
    awk -v r="$r" -v p="$p" -v n="$MSGS" -v t0="$t0" -v t1="$t1" -v c="$(( c1 - c0 ))" -v so="$(( so1 - so0 ))" \
        -v bb="$(( b1 - b0 ))" -v jj="$(( j1 - j0 ))" -v ok="$check" -v res="$RES" 'BEGIN{
      e = t1 - t0; cs = c / 1e9
      printf "%-4s %-8s %9.2f %10.0f %9.2f %10.3f %7.0f%% %8.2f %8.0f%%  %s\n", r, p, e, n/e, cs, 1000*cs/n, 100*cs/e, so/1e9, (jj > 0 ? 100*bb/jj : 0), ok
      if (ok == "ok") printf "%s %.3f %.6f %.3f\n", p, n/e, 1000*cs/n, e >> res }'
  done
done

echo
hermod_log_problems
pf_log_problems
if [ -n "$(ls -A "$HM_HOME/data/hermod/log" 2>/dev/null)" ] && [ -s "$HM_HOME/data/hermod/log/delivery.jsonl" ]; then
  warn "Hermod attempted deliveries although delivery was held ($(wc -l < "$HM_HOME/data/hermod/log/delivery.jsonl") accounting lines); accept figures include that work"
fi
hm=$(median "$RES" hermod 2); pm=$(median "$RES" postfix 2)
hc=$(median "$RES" hermod 3); pc=$(median "$RES" postfix 3)
echo "SUMMARY sessions=$SESSIONS msgs=$MSGS size=$SIZE runs=$RUNS (median (min-max) over successful runs)"
echo "accept msg/s: hermod median $(stat3 "$RES" hermod 2) | postfix median $(stat3 "$RES" postfix 2) | ratio $(ratio "$hm" "$pm")"
if [ -n "$CG_ROOT" ]; then
  echo "accept cpu ms/msg: hermod median $(stat3 "$RES" hermod 3) | postfix median $(stat3 "$RES" postfix 3) | ratio $(ratio "$hc" "$pc")"
fi
if [ "$FAILED" = 1 ]; then echo "$SCRIPT: some runs FAILED (see check column); they are left out of the medians" >&2; exit 1; fi
