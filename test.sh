#!/usr/bin/env bash
# Runs every test: unit tests, then the Pax Exam integration tests inside a real Karaf, which drive real peers.
# It first makes sure the programs those tests talk to are installed, installing the Debian packages when it can
# (as root, or with sudo), and stops with the package names when it cannot. Then: mvn -B verify (extra arguments
# are passed on, e.g. ./test.sh -pl bundles/spool).
set -euo pipefail
cd "$(dirname "$0")"

# program (a path or a name on PATH) -> the Debian package that brings it
declare -A needs=(
  [swaks]=swaks                       # SMTP client with pipelining, TLS and AUTH (itests)
  [/usr/sbin/smtp-source]=postfix     # Postfix's load generator and sink (itests, bench)
  [/usr/sbin/smtp-sink]=postfix
  [/usr/sbin/dnsmasq]=dnsmasq-base    # the DNS server MX lookups go to over the wire (itests)
  [python3]=python3                   # Python's email parser and smtplib (itests)
  [perl:Sisimai]=libsisimai-perl     # a second bounce parser (a Perl module) (itests, bench/classify-eval --peer)
  [openssl]=openssl                   # TLS clients and certificates (itests)
  [/usr/bin/python3]=python3          # the tests call Debian's python3 (a pyenv shim on PATH lacks its modules)
  [py:dkim]=python3-dkim              # dkimpy, the independent DKIM verifier (DkimIT, bundles/dkim tests)
  [py:nacl]=python3-nacl              # Ed25519 for dkimpy
  [py:dns]=python3-dnspython          # dkimpy's DNS lookups, sent to the tests' dnsmasq
  [/usr/sbin/slapd]=slapd             # a real LDAP server for recipient lookups (LdapRecipientIT)
  [/usr/sbin/slapadd]=slapd
  [/usr/bin/ldapsearch]=ldap-utils
  [/usr/sbin/named]=bind9             # an authoritative DNSSEC-signed zone for DANE (OutboundTlsIT)
  [/usr/bin/dnssec-keygen]=bind9-utils
  [/usr/bin/dnssec-signzone]=bind9-utils
)

have() { case "$1" in /*) [ -x "$1" ] ;; *) command -v "$1" >/dev/null 2>&1 ;; esac; }
sisimai_ok() { perl -MSisimai -e 1 >/dev/null 2>&1; }

missing=()
for prog in "${!needs[@]}"; do
  case "$prog" in
    perl:Sisimai) sisimai_ok && continue ;;
    py:*) [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import ${prog#py:}" >/dev/null 2>&1 && continue ;;
    *) have "$prog" && continue ;;
  esac
  pkg=${needs[$prog]}
  [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
done
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)

if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: the tests need these Debian packages: ${missing[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo="none"; fi
  if [ "$sudo" = none ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: cannot install them here (not root, no password-less sudo, or no apt-get):" >&2
    echo "  sudo apt-get install ${missing[*]}   # then run ./test.sh again" >&2
    exit 1
  fi
  # note: on Debian, installing postfix replaces another MTA package (exim4) if one is installed
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
  if ! $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    echo "test.sh: installing ${missing[*]} failed; install them and run ./test.sh again" >&2
    exit 1
  fi
fi

exec mvn -B verify "$@"
