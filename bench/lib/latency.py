#!/usr/bin/env python3
"""latency.py: per-message latency at low load, for bench/coldstart.sh.

  latency.py sink PORT OUTFILE
      An SMTP sink on 127.0.0.1:PORT. For every message it appends "SEQ EPOCH" to OUTFILE (flushed), where SEQ is
      the message's X-Bench-Seq header and EPOCH the wall time the final "." arrived.
  latency.py send PORT N GAP SIZE OUTFILE [LABEL]
      Sends N messages one after the other, each on a new connection (connect, EHLO, MAIL, RCPT, DATA, QUIT), one
      every GAP seconds at most (low load: never two at once). Appends "SEQ START ACCEPTED" per message to OUTFILE
      (epoch seconds: before connect; when the 250 after the final "." arrived). Exit 1 if a message is refused.
  latency.py report SENDFILE SINKFILE TIMEOUT
      Waits until the sink has every message SENDFILE lists (at most TIMEOUT s), then prints
      "accept_median accept_p99 e2e_median e2e_p99 n" in milliseconds (accept: start to 250; e2e: start to arrival
      at the sink). Exit 1 on timeout.
"""
import asyncio, os, socket, sys, time


def sink(port, out):
    f = open(out, "a", buffering=1)

    async def session(reader, writer):
        def say(s):
            writer.write(s.encode() + b"\r\n")
        say("220 latency-sink ESMTP")
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                cmd = line[:4].upper()
                if cmd in (b"EHLO", b"HELO"):
                    say("250-latency-sink\r\n250-PIPELINING\r\n250 8BITMIME")
                elif cmd == b"DATA":
                    say("354 go ahead")
                    await writer.drain()
                    seq = "-"
                    in_headers = True
                    while True:
                        l = await reader.readline()
                        if not l or l == b".\r\n":
                            break
                        if in_headers:
                            if l in (b"\r\n", b"\n"):
                                in_headers = False
                            elif l.lower().startswith(b"x-bench-seq:"):
                                seq = l.split(b":", 1)[1].strip().decode()
                    f.write("%s %.6f\n" % (seq, time.time()))
                    say("250 2.0.0 ok")
                elif cmd == b"QUIT":
                    say("221 bye")
                    await writer.drain()
                    break
                elif cmd in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                    say("250 ok")
                else:
                    say("502 5.5.2 not here")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(session, "127.0.0.1", port, limit=1 << 22)
        async with server:
            await server.serve_forever()
    asyncio.run(main())


def send(port, n, gap, size, out, label):
    f = open(out, "a", buffering=1)
    body_line = b"x" * 76 + b"\r\n"
    body = body_line * max(1, size // len(body_line))
    for i in range(1, n + 1):
        next_start = time.monotonic() + gap
        start = time.time()
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        r = s.makefile("rb")

        def reply():
            while True:
                l = r.readline(1024)
                if not l:
                    raise RuntimeError("connection closed")
                if l[3:4] != b"-":
                    return l
        def cmd(c, want):
            s.sendall(c + b"\r\n")
            l = reply()
            if not l.startswith(want):
                raise RuntimeError("%s -> %s" % (c[:20], l.strip()))
        if not reply().startswith(b"220"):
            raise RuntimeError("no greeting")
        cmd(b"EHLO client.bench.invalid", b"250")
        cmd(b"MAIL FROM:<sender@src.bench.invalid>", b"250")
        cmd(b"RCPT TO:<rcpt@bench.test>", b"250")
        cmd(b"DATA", b"354")
        msg = (b"From: <sender@src.bench.invalid>\r\nTo: <rcpt@bench.test>\r\nSubject: latency %d\r\n"
               b"Message-ID: <%s-%d@bench.invalid>\r\nX-Bench-Seq: %s-%d\r\n\r\n" % (i, label.encode(), i, label.encode(), i))
        s.sendall(msg + body + b".\r\n")
        l = reply()
        accepted = time.time()
        if not l.startswith(b"250"):
            raise RuntimeError("end of data -> %s" % l.strip())
        f.write("%s-%d %.6f %.6f\n" % (label, i, start, accepted))
        try:
            s.sendall(b"QUIT\r\n"); reply()
        except OSError:
            pass
        s.close()
        d = next_start - time.monotonic()
        if d > 0:
            time.sleep(d)


def pct(v, p):
    v = sorted(v)
    if not v:
        return float("nan")
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def report(sendfile, sinkfile, timeout):
    sent = {}
    for l in open(sendfile):
        seq, a, b = l.split()
        sent[seq] = (float(a), float(b))
    end = time.monotonic() + timeout
    while True:
        got = {}
        if os.path.exists(sinkfile):
            for l in open(sinkfile):
                p = l.split()
                if len(p) == 2 and p[0] in sent and p[0] not in got:
                    got[p[0]] = float(p[1])
        if len(got) >= len(sent) or time.monotonic() > end:
            break
        time.sleep(0.05)
    if len(got) < len(sent):
        print("timeout: the sink got %d of %d" % (len(got), len(sent)))
        sys.exit(1)
    acc = [1000 * (b - a) for a, b in sent.values()]
    e2e = [1000 * (got[k] - sent[k][0]) for k in sent]
    print("%.2f %.2f %.2f %.2f %d" % (pct(acc, 50), pct(acc, 99), pct(e2e, 50), pct(e2e, 99), len(sent)))


if __name__ == "__main__":
    a = sys.argv
    if a[1] == "sink":
        sink(int(a[2]), a[3])
    elif a[1] == "send":
        send(int(a[2]), int(a[3]), float(a[4]), int(a[5]), a[6], a[7] if len(a) > 7 else "m")
    elif a[1] == "report":
        report(a[2], a[3], float(a[4]))
    else:
        sys.exit(__doc__)
