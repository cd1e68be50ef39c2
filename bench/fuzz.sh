#!/usr/bin/env bash
# bench/fuzz.sh [seconds] - a long Jazzer run over the SMTP command parser, frame decoder (lines, DATA, BDAT) and
# session state machine (bundles/smtp-server: SmtpFuzzTarget; mvn verify runs the same target for 30 s).
#
# Uses the module's test class path (built here, offline after the first build) and Jazzer's CLI. The corpus grows in
# bundles/smtp-server/target/fuzz-corpus; a crash writes $OUT/crash-<sha1> and fails the script. Keep every crash:
# copy it to bundles/smtp-server/src/test/resources/org/hermod/smtp/internal/SmtpFuzzTestInputs/session/ so that
# every plain test run replays it (SmtpFuzzTest), then fix the bug.
#
# MVN=hermod-mvn to use another Maven command.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-3600}
MVN=${MVN:-mvn}
OUT=bundles/smtp-server/target
mkdir -p "$OUT/fuzz-corpus"
$MVN -q -o -pl bundles/smtp-server -am install -DskipTests >/dev/null
$MVN -q -o -pl bundles/smtp-server test-compile dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$PWD/$OUT/fuzz.classpath" >/dev/null
CP="bundles/smtp-server/target/test-classes:bundles/smtp-server/target/classes:$(cat "$OUT/fuzz.classpath")"
SEEDS=bundles/smtp-server/src/test/resources/org/hermod/smtp/internal/SmtpFuzzTestInputs/session
echo "fuzzing for ${SECONDS_TO_RUN}s; corpus $OUT/fuzz-corpus (seeds: $SEEDS)"
exec java -cp "$CP" com.code_intelligence.jazzer.Jazzer \
  --target_class=org.hermod.smtp.internal.SmtpFuzzTarget \
  --instrumentation_includes='org.hermod.**' \
  -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$OUT/" \
  "$OUT/fuzz-corpus" "$SEEDS"
