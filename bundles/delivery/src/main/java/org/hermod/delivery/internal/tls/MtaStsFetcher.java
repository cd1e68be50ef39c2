package org.hermod.delivery.internal.tls;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * Fetches an MTA-STS policy (RFC 8461 section 3.3): {@code GET https://mta-sts.<domain>/.well-known/mta-sts.txt} over
 * HTTP/1.1 to the addresses found with Hermod's own resolver, with SNI and the web server's certificate checked against
 * the trust store and the name {@code mta-sts.<domain>}; only a {@code 200} with {@code text/plain} counts (redirects are
 * not followed); the body is at most 64 KiB; connect and read each time out, and an attempt at one address ends after twice
 * the timeout however slowly the server answers. Blocking: call it off event loops.
 */
public final class MtaStsFetcher {

    /** RFC 8461 3.3: senders may limit the policy body; 64 KiB is the recommended bound. */
    public static final int MAX_BYTES = 64 * 1024;

    private final SSLContext ssl;
    private final int port;
    private final Duration timeout;

    /**
     * @param ssl the context whose trust managers check the web server (the JDK's trust store or {@code tls.trustStore})
     * @param port the HTTPS port (443; tests use another)
     * @param timeout for connecting and for each read; an attempt at one address is cut off at twice this
     */
    public MtaStsFetcher(SSLContext ssl, int port, Duration timeout) {
        this.ssl = ssl;
        this.port = port;
        this.timeout = timeout;
    }

    /** A failed fetch, named with its TLS-RPT result type. */
    public static final class FetchException extends IOException {
        private final String type;

        public FetchException(String type, String message, Throwable cause) {
            super(message, cause);
            this.type = type;
        }

        /** {@code sts-policy-fetch-error} or {@code sts-webpki-invalid}. */
        public String type() {
            return type;
        }
    }

    /** The policy text. Tries the addresses in order until one answers. */
    public String fetch(String domain, List<InetAddress> addresses) throws FetchException {
        String host = "mta-sts." + domain;
        if (addresses.isEmpty()) {
            throw new FetchException("sts-policy-fetch-error", host + " has no address", null);
        }
        FetchException last = null;
        for (InetAddress a : addresses) {
            try {
                return fetch(host, a);
            } catch (SSLException e) {
                last = new FetchException("sts-webpki-invalid", "https://" + host + ":" + port + ": " + e.getMessage(), e);
            } catch (FetchException e) {
                last = e;
            } catch (IOException e) {
                last = new FetchException("sts-policy-fetch-error", "https://" + host + ":" + port + " ("
                        + a.getHostAddress() + "): " + e, e);
            }
        }
        throw last;
    }

    private String fetch(String host, InetAddress address) throws IOException {
        int ms = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        long limit = 2L * ms;
        Socket plain = new Socket();
        java.util.concurrent.atomic.AtomicBoolean over = new java.util.concurrent.atomic.AtomicBoolean();
        // each read has its own timeout, but a server that answers a byte at a time could stretch the attempt without
        // end (and hold a fetch thread): at twice the timeout the socket is closed, which ends a blocked read
        java.util.concurrent.CompletableFuture.delayedExecutor(limit, java.util.concurrent.TimeUnit.MILLISECONDS)
                .execute(() -> {
                    if (!plain.isClosed() && over.compareAndSet(false, true)) {
                        try {
                            plain.close();
                        } catch (IOException e) {
                            // closing is all we wanted
                        }
                    }
                });
        try {
            return fetch(host, address, plain, ms);
        } catch (IOException e) {
            if (over.get()) {
                throw new FetchException("sts-policy-fetch-error", "https://" + host + ":" + port + " ("
                        + address.getHostAddress() + "): no complete answer within " + limit + " ms", e);
            }
            throw e;
        } finally {
            over.set(true); // the attempt is over: the delayed close has nothing left to do
            plain.close();
        }
    }

    private String fetch(String host, InetAddress address, Socket plain, int ms) throws IOException {
        plain.connect(new InetSocketAddress(address, port), ms);
        plain.setSoTimeout(ms);
        try (SSLSocket s = (SSLSocket) ssl.getSocketFactory().createSocket(plain, host, port, true)) {
            SSLParameters p = s.getSSLParameters();
            p.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name mta-sts.<domain>
            p.setServerNames(List.of(new SNIHostName(host)));
            p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
            s.setSSLParameters(p);
            s.startHandshake();
            OutputStream out = s.getOutputStream();
            out.write(("GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: " + host
                    + "\r\nUser-Agent: hermod\r\nAccept: text/plain\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return response(host, s.getInputStream());
        }
    }

    /** The most response header bytes read. */
    static final int MAX_HEADER_BYTES = 16 * 1024;

    /** Reads a status line, headers and a body (Content-Length, chunked, or until close), at most 64 KiB. */
    static String response(String host, InputStream raw) throws IOException {
        InputStream in = new java.io.BufferedInputStream(raw);
        String status = line(in);
        String[] sl = status.split(" ", 3);
        if (sl.length < 2 || !sl[0].startsWith("HTTP/1.")) {
            throw new FetchException("sts-policy-fetch-error", "https://" + host + ": not an HTTP response", null);
        }
        if (!sl[1].equals("200")) {
            throw new FetchException("sts-policy-fetch-error", "https://" + host + "/.well-known/mta-sts.txt: HTTP "
                    + status.substring(sl[0].length()).trim() + (sl[1].startsWith("3") ? " (redirects are not followed)" : ""),
                    null);
        }
        long length = -1;
        boolean chunked = false;
        String type = null;
        int headerBytes = 0;
        for (String h = line(in); !h.isEmpty(); h = line(in)) {
            headerBytes += h.length() + 2;
            if (headerBytes > MAX_HEADER_BYTES) { // a server trickling endless headers must not hold the fetch
                throw new FetchException("sts-policy-fetch-error", "https://" + host
                        + "/.well-known/mta-sts.txt: response headers longer than " + MAX_HEADER_BYTES + " bytes", null);
            }
            int c = h.indexOf(':');
            if (c <= 0) {
                continue;
            }
            String name = h.substring(0, c).trim().toLowerCase(Locale.ROOT);
            String value = h.substring(c + 1).trim();
            switch (name) {
                case "content-length" -> length = parseLength(value);
                case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
                case "content-type" -> type = value.toLowerCase(Locale.ROOT);
                default -> {
                }
            }
        }
        if (type == null || !type.startsWith("text/plain")) {
            throw new FetchException("sts-policy-fetch-error", "https://" + host
                    + "/.well-known/mta-sts.txt: Content-Type is " + type + ", not text/plain", null);
        }
        if (length > MAX_BYTES) {
            throw tooLarge(host);
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (chunked) {
            while (true) {
                String size = line(in);
                int semi = size.indexOf(';');
                int n;
                try {
                    n = Integer.parseInt((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
                } catch (NumberFormatException e) {
                    throw new FetchException("sts-policy-fetch-error", "https://" + host + ": bad chunk size", e);
                }
                if (n == 0) {
                    break;
                }
                if (n < 0 || body.size() + n > MAX_BYTES) {
                    throw tooLarge(host);
                }
                copy(in, body, n, host);
                line(in);
            }
        } else if (length >= 0) {
            copy(in, body, (int) length, host);
        } else {
            byte[] buf = new byte[4096];
            for (int r = in.read(buf); r >= 0; r = in.read(buf)) {
                if (body.size() + r > MAX_BYTES) {
                    throw tooLarge(host);
                }
                body.write(buf, 0, r);
            }
        }
        return body.toString(StandardCharsets.UTF_8);
    }

    private static long parseLength(String v) throws FetchException {
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new FetchException("sts-policy-fetch-error", "bad Content-Length " + v, e);
        }
    }

    private static FetchException tooLarge(String host) {
        return new FetchException("sts-policy-fetch-error", "https://" + host
                + "/.well-known/mta-sts.txt: the policy is larger than " + MAX_BYTES + " bytes", null);
    }

    private static void copy(InputStream in, ByteArrayOutputStream out, int n, String host) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length < n) {
            throw new FetchException("sts-policy-fetch-error", "https://" + host + ": the body ended early", null);
        }
        out.write(b);
    }

    /** One header line without its CRLF; at most 8 KiB. */
    private static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) {
                if (sb.length() == 0) {
                    throw new IOException("connection closed before the response ended");
                }
                break;
            }
            if (sb.length() > 8192) {
                throw new IOException("HTTP header line longer than 8 KiB");
            }
            sb.append((char) c);
        }
        int n = sb.length();
        return n > 0 && sb.charAt(n - 1) == '\r' ? sb.substring(0, n - 1) : sb.toString();
    }
}
