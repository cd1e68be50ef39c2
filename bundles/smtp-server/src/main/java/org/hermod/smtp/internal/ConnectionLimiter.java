package org.hermod.smtp.internal;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * First handler of every connection: enforces the total and per-client-IP connection limits, and the per-client-IP
 * connection rate (clients in mynetworks are exempt from the rate). A connection over a limit gets {@code 421 4.7.0}
 * and is closed before any session is started.
 */
@ChannelHandler.Sharable
final class ConnectionLimiter extends ChannelInboundHandlerAdapter {

    private final AtomicInteger total = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, AtomicInteger> perIp = new ConcurrentHashMap<>();
    private volatile SmtpSettings settings;
    private final ClientRates rates;

    ConnectionLimiter(SmtpSettings settings, ClientRates rates) {
        this.settings = settings;
        this.rates = rates;
    }

    void update(SmtpSettings s) {
        this.settings = s;
    }

    int connections() {
        return total.get();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        InetAddress ip = ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress();
        SmtpSettings s = settings;
        int all = total.incrementAndGet();
        int mine = perIp.compute(ip, (k, v) -> {
            AtomicInteger c = v == null ? new AtomicInteger() : v;
            c.incrementAndGet();
            return c;
        }).get();
        ctx.channel().closeFuture().addListener(f -> release(ip));
        boolean tooFast = s.maxConnectionsPerIpPerMinute() > 0 && !s.mayRelay(ip)
                && rates.add(ip, ClientRates.Kind.CONNECTION, TimeUnit.MINUTES.toNanos(1), ctx.executor().ticker().nanoTime())
                > s.maxConnectionsPerIpPerMinute();
        if (all > s.maxConnections() || mine > s.maxConnectionsPerIp() || tooFast) {
            ctx.channel().config().setAutoRead(false);
            String why = all > s.maxConnections() ? "too many connections"
                    : tooFast ? "too many connections from your IP address per minute, try again later"
                    : "too many connections from your IP address";
            ctx.writeAndFlush(ByteBufUtil.writeAscii(ctx.alloc(), "421 4.7.0 " + s.hostname() + " Error: " + why + "\r\n"))
                    .addListener(ChannelFutureListener.CLOSE);
            return;
        }
        ctx.fireChannelActive();
    }

    private void release(InetAddress ip) {
        total.decrementAndGet();
        perIp.computeIfPresent(ip, (k, v) -> v.decrementAndGet() <= 0 ? null : v); // same lock as compute above
    }
}
