package org.hermod.smtp.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.util.List;

import javax.net.ssl.SSLException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;

/**
 * The server certificate and key (PEM files in etc/) as a Netty {@link SslContext}: TLS 1.2 and 1.3 only, Netty's
 * default cipher suites (ECDHE with AES-GCM or ChaCha20-Poly1305), the JDK provider. When neither file exists on
 * first start, a self-signed certificate is generated and the fact is logged. {@link #reloadIfChanged()} (called from
 * a background thread) builds a new context when either file changes; sessions always take the current one, and a
 * broken new pair keeps the previous context in use.
 */
final class TlsCertificates {

    private static final Logger LOG = LoggerFactory.getLogger(TlsCertificates.class);

    private final Path cert;
    private final Path key;
    private final String[] protocols;
    private volatile SslContext context;
    private FileTime certTime;
    private FileTime keyTime;

    TlsCertificates(Path cert, Path key, String hostname, List<String> protocols) {
        this.cert = cert;
        this.key = key;
        this.protocols = protocols.toArray(new String[0]);
        if (!Files.exists(cert) && !Files.exists(key)) {
            try {
                SelfSigned.write(cert, key, hostname);
                LOG.warn("No TLS certificate found: generated a SELF-SIGNED certificate for {} in {} (key {}). Clients"
                        + " that verify certificates will refuse it; replace both files with your own (they are"
                        + " reloaded when they change).", hostname, cert, key);
            } catch (IOException | GeneralSecurityException | RuntimeException | LinkageError e) {
                LOG.error("Could not generate a self-signed certificate in {}: STARTTLS and TLS listeners are off", cert,
                        e);
            }
        }
        reloadIfChanged();
    }

    /** Re-reads the pair when either file changed. */
    synchronized void reloadIfChanged() {
        FileTime c;
        FileTime k;
        try {
            c = Files.getLastModifiedTime(cert);
            k = Files.getLastModifiedTime(key);
        } catch (IOException e) {
            if (context != null || certTime == null) {
                LOG.error("TLS certificate {} or key {} missing: {}", cert, key,
                        context != null ? "keeping the loaded certificate" : "STARTTLS and TLS listeners are off");
            }
            certTime = FileTime.fromMillis(0);
            return;
        }
        if (c.equals(certTime) && k.equals(keyTime)) {
            return;
        }
        certTime = c;
        keyTime = k;
        try {
            context = SslContextBuilder.forServer(cert.toFile(), key.toFile())
                    .sslProvider(SslProvider.JDK)
                    .protocols(protocols)
                    .build();
            LOG.info("TLS certificate loaded from {} ({})", cert, String.join(", ", protocols));
        } catch (SSLException | IllegalArgumentException e) {
            LOG.error("Cannot use TLS certificate {} with key {}: {}", cert, key,
                    context != null ? "keeping the previous one" : "STARTTLS and TLS listeners are off", e);
        }
    }

    /** Whether a certificate is loaded. */
    boolean available() {
        return context != null;
    }

    /** A handler for a new server-side TLS session; null when no certificate is loaded. */
    SslHandler newHandler(ByteBufAllocator alloc) {
        SslContext c = context;
        return c == null ? null : c.newHandler(alloc);
    }
}
