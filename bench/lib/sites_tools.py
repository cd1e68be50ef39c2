#!/usr/bin/env python3
"""Helpers for bench/sites.sh: a counting SMTP sink and a pipelining SMTP injector (asyncio, loopback only).

  sites_tools.py sink PORT STATSFILE
      An SMTP server on 127.0.0.1:PORT that accepts everything and writes "connections messages" to STATSFILE
      (rewritten every 0.2 s) until it is killed.
  sites_tools.py inject PORT SESSIONS COUNT SIZE DOMAINS
      Sends COUNT messages of about SIZE bytes to 127.0.0.1:PORT over SESSIONS parallel sessions (many messages per
      session, commands pipelined per transaction). Message i goes to u<i>@<domain i mod DOMAINS>: with DOMAINS=1 to
      u<i>@bench.test, otherwise to d<NNNNN>.sites.test. Exits 1 when a message is not accepted with 250.
"""
import asyncio
import sys
import time


def domain_of(i, domains):
    return "bench.test" if domains == 1 else "d%05d.sites.test" % (i % domains)


async def run_sink(port, stats_file):
    counts = {"connections": 0, "messages": 0}

    async def session(reader, writer):
        counts["connections"] += 1
        writer.write(b"220 sink.bench ESMTP\r\n")
        in_data = False
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                if in_data:
                    if line == b".\r\n":
                        in_data = False
                        counts["messages"] += 1
                        writer.write(b"250 2.0.0 Ok\r\n")
                    continue
                cmd = line[:4].upper()
                if cmd == b"EHLO":
                    writer.write(b"250-sink.bench\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 100000000\r\n")
                elif cmd == b"DATA":
                    in_data = True
                    writer.write(b"354 go ahead\r\n")
                elif cmd == b"QUIT":
                    writer.write(b"221 2.0.0 Bye\r\n")
                    await writer.drain()
                    break
                else:
                    writer.write(b"250 2.0.0 Ok\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def report():
        while True:
            with open(stats_file + ".tmp", "w") as f:
                f.write("%d %d\n" % (counts["connections"], counts["messages"]))
            import os
            os.replace(stats_file + ".tmp", stats_file)
            await asyncio.sleep(0.2)

    server = await asyncio.start_server(session, "127.0.0.1", port, backlog=1024)
    async with server:
        await asyncio.gather(server.serve_forever(), report())


async def run_inject(port, sessions, count, size, domains):
    body = ("Subject: sites bench\r\nFrom: sender@src.bench.invalid\r\n\r\n"
            + ("x" * 76 + "\r\n") * max(1, size // 78)).encode()
    next_index = [0]
    failures = []

    async def expect(reader, prefix):
        line = await reader.readline()
        while line[3:4] == b"-":
            line = await reader.readline()
        if not line.startswith(prefix):
            raise RuntimeError("expected %r, got %r" % (prefix, line))

    async def one_session():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await expect(reader, b"220")
        writer.write(b"EHLO inject.bench.invalid\r\n")
        await expect(reader, b"250")
        while True:
            i = next_index[0]
            if i >= count:
                break
            next_index[0] += 1
            rcpt = "u%d@%s" % (i, domain_of(i, domains))
            writer.write(b"MAIL FROM:<sender@src.bench.invalid>\r\nRCPT TO:<" + rcpt.encode() + b">\r\nDATA\r\n")
            await expect(reader, b"250")
            await expect(reader, b"250")
            await expect(reader, b"354")
            writer.write(body + b".\r\n")
            try:
                await expect(reader, b"250")
            except RuntimeError as e:
                failures.append(str(e))
        writer.write(b"QUIT\r\n")
        await writer.drain()
        writer.close()

    await asyncio.gather(*(one_session() for _ in range(sessions)))
    if failures:
        print("%d messages not accepted, e.g. %s" % (len(failures), failures[0]), file=sys.stderr)
        return 1
    return 0


def main():
    if sys.argv[1] == "sink":
        asyncio.run(run_sink(int(sys.argv[2]), sys.argv[3]))
    elif sys.argv[1] == "inject":
        t0 = time.time()
        rc = asyncio.run(run_inject(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
                                    int(sys.argv[6])))
        print("%.3f" % (time.time() - t0))
        sys.exit(rc)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
