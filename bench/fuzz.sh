#!/usr/bin/env bash
# bench/fuzz.sh [seconds] [smtp|bounce|all] - long Jazzer runs (mvn verify runs the same targets briefly):
#   smtp    the SMTP command parser, frame decoder (lines, DATA, BDAT) and session state machine
#           (bundles/smtp-server: SmtpFuzzTarget; 30 s in mvn verify)
#   bounce  the DSN/ARF/auto-reply parser, the classifier input path and the VERP return-path decoder
#           (bundles/bounce: BounceFuzzTarget; 20 s in mvn verify)
#   all     both, one after the other, each for the given seconds (default)
#
# Uses each module's test class path (built here, offline after the first build) and Jazzer's CLI. The corpus grows in
# bundles/<module>/target/fuzz-corpus; a crash writes bundles/<module>/target/crash-<sha1> and fails the script. Keep
# every crash: copy it into the module's seed folder printed below, so that every plain test run replays it
# (SmtpFuzzTest, BounceFuzzTest), then fix the bug.
#
# MVN=hermod-mvn to use another Maven command.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-3600}
WHICH=${2:-all}
MVN=${MVN:-mvn}

# fuzz MODULE TARGET_CLASS SEEDS
fuzz() {
  local module=$1 target=$2 seeds=$3 out=bundles/$1/target
  mkdir -p "$out/fuzz-corpus"
  $MVN -q -o -pl "bundles/$module" -am install -DskipTests >/dev/null
  $MVN -q -o -pl "bundles/$module" test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile="$PWD/$out/fuzz.classpath" >/dev/null
  local cp="$out/test-classes:$out/classes:$(cat "$out/fuzz.classpath")"
  echo "fuzzing $target for ${SECONDS_TO_RUN}s; corpus $out/fuzz-corpus (seeds, where crashes go: $seeds)"
  java -cp "$cp" com.code_intelligence.jazzer.Jazzer \
    --target_class="$target" \
    --instrumentation_includes='org.hermod.**' \
    -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$out/" \
    "$out/fuzz-corpus" "$seeds"
}

case "$WHICH" in
  smtp|all) fuzz smtp-server org.hermod.smtp.internal.SmtpFuzzTarget \
              bundles/smtp-server/src/test/resources/org/hermod/smtp/internal/SmtpFuzzTestInputs/session ;;&
  bounce|all) fuzz bounce org.hermod.bounce.internal.parse.BounceFuzzTarget \
              bundles/bounce/src/test/resources/org/hermod/bounce/internal/parse/BounceFuzzTestInputs/parse ;;
  smtp) ;;
  *) echo "fuzz.sh: second argument must be smtp, bounce or all" >&2; exit 2 ;;
esac
