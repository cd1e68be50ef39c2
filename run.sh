#!/usr/bin/env bash
# Builds Hermod and starts it with its embedded defaults: ESMTP on port 2525, spool and Derby under
# karaf-assembly/target/assembly/data.
# In a terminal the Karaf console runs here (Ctrl-D or `shutdown` stops Hermod). Without a terminal (nohup, a service
# manager, a container, CI) Karaf starts in server mode, without a local console, and runs until it is stopped
# (karaf-assembly/target/assembly/bin/stop, or a signal); reach the console with
# `karaf-assembly/target/assembly/bin/client` or `ssh -p 8101 karaf@127.0.0.1` (password karaf).
set -euo pipefail
cd "$(dirname "$0")"
mvn -q -B -DskipTests install
karaf=karaf-assembly/target/assembly/bin/karaf
if [ -t 0 ]; then
  exec "$karaf" "$@"
fi
echo "run.sh: no terminal on standard input: starting Karaf in server mode (console: bin/client or ssh -p 8101 karaf@127.0.0.1)" >&2
exec "$karaf" server "$@"
