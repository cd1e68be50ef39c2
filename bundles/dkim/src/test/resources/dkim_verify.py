"""Verifies every DKIM-Signature of a message with dkimpy (Debian python3-dkim; Ed25519 needs python3-nacl).

usage: dkim_verify.py MESSAGE_FILE NAME=TXT_RECORD...
The key records are served from the arguments (no DNS). Prints one line per signature:
  sig N: pass|fail a=ALGORITHM d=DOMAIN s=SELECTOR [reason]
"""
import re
import sys

import dkim

records = {}
for arg in sys.argv[2:]:
    name, _, value = arg.partition('=')
    records[name.rstrip('.').lower()] = value.encode('ascii')


def dnsfunc(name, timeout=5):
    return records.get(name.decode('ascii').rstrip('.').lower())


message = open(sys.argv[1], 'rb').read()
d = dkim.DKIM(message)
sigs = [v for (k, v) in d.headers if k.lower() == b'dkim-signature']
if not sigs:
    print('no signature')
for i, value in enumerate(sigs):
    tags = dict(re.findall(rb'(\w+)\s*=\s*([^;]*)', value))
    desc = 'a=%s d=%s s=%s' % (tags.get(b'a', b'?').decode().strip(), tags.get(b'd', b'?').decode().strip(),
                                tags.get(b's', b'?').decode().strip())
    try:
        ok = dkim.DKIM(message).verify(idx=i, dnsfunc=dnsfunc)
        print('sig %d: %s %s' % (i, 'pass' if ok else 'fail', desc))
    except Exception as e:  # a malformed signature is a failure, with its reason
        print('sig %d: fail %s %s' % (i, desc, e))
