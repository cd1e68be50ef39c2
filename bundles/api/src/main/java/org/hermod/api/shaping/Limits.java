package org.hermod.api.shaping;

/**
 * The limits of one egress path. A rate of 0 means unlimited.
 *
 * @param maxConnections connections open at once
 * @param maxMessagesPerConnection messages sent over one connection before it is closed
 * @param messagesPerSecond messages started per second (a day's 100,000 is 1.157/s)
 * @param connectionsPerSecond new connections per second
 * @param maxRecipientsPerTransaction RCPT TOs in one transaction
 */
public record Limits(int maxConnections, int maxMessagesPerConnection, double messagesPerSecond,
                     double connectionsPerSecond, int maxRecipientsPerTransaction) {

    /** What applies when no rule says otherwise. */
    public static final Limits DEFAULT = new Limits(20, 100, 0, 0, 100);

    public Limits {
        if (maxConnections < 0 || maxMessagesPerConnection < 1 || messagesPerSecond < 0 || connectionsPerSecond < 0
                || maxRecipientsPerTransaction < 1) {
            throw new IllegalArgumentException("limits out of range: connections >= 0, messages per connection >= 1,"
                    + " rates >= 0, recipients per transaction >= 1");
        }
    }

    /**
     * These limits with connections and rates multiplied by {@code factor} (0..1): at least one connection and, for a
     * limited rate, at least {@code floorRate} per second, so that a throttled path still drains.
     */
    public Limits scaled(double factor, double floorRate) {
        if (factor >= 1.0) {
            return this;
        }
        int conns = Math.max(1, (int) Math.floor(maxConnections * factor));
        double mps = messagesPerSecond == 0 ? 0 : Math.max(floorRate, messagesPerSecond * factor);
        double cps = connectionsPerSecond == 0 ? 0 : Math.max(floorRate, connectionsPerSecond * factor);
        return new Limits(Math.min(conns, maxConnections), maxMessagesPerConnection, mps, cps,
                maxRecipientsPerTransaction);
    }

    @Override
    public String toString() {
        return "connections=" + maxConnections + " messagesPerConnection=" + maxMessagesPerConnection + " rate="
                + rate(messagesPerSecond) + " connectionRate=" + rate(connectionsPerSecond) + " recipients="
                + maxRecipientsPerTransaction;
    }

    private static String rate(double perSecond) {
        if (perSecond == 0) {
            return "unlimited";
        }
        if (perSecond >= 1) {
            return String.format(java.util.Locale.ROOT, "%.2f/s", perSecond);
        }
        return String.format(java.util.Locale.ROOT, "%.1f/h", perSecond * 3600);
    }
}
