#!/usr/bin/env bash
# Builds Hermod and starts it in the foreground with its embedded defaults (Karaf console in this terminal):
# ESMTP on port 2525, spool and Derby under karaf-assembly/target/assembly/data. Ctrl-D or `shutdown` stops it.
set -euo pipefail
cd "$(dirname "$0")"
mvn -q -B -DskipTests install
exec karaf-assembly/target/assembly/bin/karaf "$@"
