#!/usr/bin/env bash
# bench/sizes.sh - the relay bench (bench/relay.sh) over a sweep of message sizes, one table at the end.
#
# For each size in SIZES it runs bench/relay.sh (Hermod, Postfix and the no-MTA ceiling side by side, RUNS runs
# each, fresh instances per size) and prints, per size: end-to-end msg/s of Hermod, Postfix and the ceiling
# (smtp-source straight into smtp-sink), Hermod/Postfix, Hermod/ceiling, and CPU ms per message of both.
# Message counts shrink with size so that each run moves a similar volume (override with MSGS_<size>).
#
# Usage: sudo bench/sizes.sh [--build]      e.g. SIZES="2048 102400" RUNS=1 bench/sizes.sh
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SIZES=${SIZES:-"2048 20480 102400 1048576"}
RUNS=${RUNS:-3}
case "${1:-}" in
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  --build|"") ;;
  *) echo "sizes.sh: unknown argument: $1" >&2; exit 2 ;;
esac
BUILD_ARG=${1:-}

msgs_for() {  # default message count per size: 5,000 up to 100 KB, 1,000 for 1 MB
  local v="MSGS_$1"
  if [ -n "${!v:-}" ]; then echo "${!v}"; elif [ "$1" -ge 1048576 ]; then echo 1000; else echo 5000; fi
}

OUT=$(mktemp -d /tmp/hermod-sizes.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
for s in $SIZES; do
  case "$s" in ''|*[!0-9]*) echo "sizes.sh: SIZES must be byte counts: $s" >&2; exit 2;; esac
  echo "# size $s bytes: bench/relay.sh with MSGS=$(msgs_for "$s") RUNS=$RUNS"
  if ! SIZE=$s MSGS=$(msgs_for "$s") RUNS=$RUNS "$BENCH_DIR/relay.sh" $BUILD_ARG | tee "$OUT/$s.txt"; then
    echo "sizes.sh: the relay bench failed for size $s (see above)" >&2
  fi
  BUILD_ARG=""   # build once at most
done

echo
echo "SIZES: relay end to end, medians (min-max) over $RUNS runs; ceiling = smtp-source straight into smtp-sink"
printf "%-9s %-24s %-24s %-24s %-9s %-11s %-17s\n" size hermod_msg/s postfix_msg/s ceiling_msg/s h/postfix h/ceiling cpu_ms/msg_h/pf
for s in $SIZES; do
  f="$OUT/$s.txt"
  e2e=$(grep '^relay e2e msg/s:' "$f" 2>/dev/null || true)
  ceil=$(grep '^no-MTA ceiling' "$f" 2>/dev/null || true)
  cpu=$(grep '^relay cpu ms/msg:' "$f" 2>/dev/null || true)
  h=$(sed -n 's/.*hermod median \([^|]*\) |.*/\1/p' <<<"$e2e")
  p=$(sed -n 's/.*postfix median \([^|]*\) |.*/\1/p' <<<"$e2e")
  r=$(sed -n 's/.*| ratio \(.*\)$/\1/p' <<<"$e2e")
  c=$(sed -n 's/.*: median \([^|]*\) |.*/\1/p' <<<"$ceil")
  hc=$(sed -n 's/.*hermod\/ceiling \([^ ]*\) .*/\1/p' <<<"$ceil")
  cm=$(sed -n 's/.*hermod median \([0-9.]*\).*postfix median \([0-9.]*\).*/\1 \/ \2/p' <<<"$cpu")
  printf "%-9s %-24s %-24s %-24s %-9s %-11s %-17s\n" "$s" "${h:-failed}" "${p:-failed}" "${c:-failed}" "${r:--}" "${hc:--}" "${cm:--}"
done
