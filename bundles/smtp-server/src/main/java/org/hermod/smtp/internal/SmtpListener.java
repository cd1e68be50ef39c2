package org.hermod.smtp.internal;

import java.net.InetSocketAddress;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;

import io.netty.channel.Channel;

/**
 * One extra listener per factory configuration {@code org.hermod.smtp.listener} (e.g.
 * etc/org.hermod.smtp.listener-submission.cfg with {@code port = 587} and {@code mode = submission}). Its sessions
 * share the server's settings, certificate, authenticator and per-client counters; only the TLS and AUTH rules differ.
 */
@Component(configurationPid = "org.hermod.smtp.listener", configurationPolicy = ConfigurationPolicy.REQUIRE,
        immediate = true, service = SmtpListener.class)
@Designate(ocd = SmtpListenerConfig.class, factory = true)
public final class SmtpListener {

    private final SmtpServer server;
    private Channel channel;
    private String bound;

    @Activate
    public SmtpListener(@Reference SmtpServer server, SmtpListenerConfig config) throws InterruptedException {
        this.server = server;
        bind(config);
    }

    private void bind(SmtpListenerConfig c) throws InterruptedException {
        ListenerMode mode = ListenerMode.parse(c.mode());
        channel = server.bind(c.bindAddress(), c.port(), mode);
        bound = c.bindAddress() + ":" + c.port() + ":" + mode;
    }

    @Modified
    void modified(SmtpListenerConfig c) throws InterruptedException {
        if (!bound.equals(c.bindAddress() + ":" + c.port() + ":" + ListenerMode.parse(c.mode()))) {
            channel.close().syncUninterruptibly();
            bind(c);
        }
    }

    @Deactivate
    void stop() {
        channel.close().syncUninterruptibly();
    }

    /** The port actually bound. */
    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }
}
