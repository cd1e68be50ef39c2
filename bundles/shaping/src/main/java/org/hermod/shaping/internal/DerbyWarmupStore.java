package org.hermod.shaping.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

import org.apache.derby.jdbc.EmbeddedDataSource;

/**
 * The warmup state in embedded Derby: table {@code HERMOD_WARMUP}, one row per (source, target), created on first use,
 * in the database the bounce bundle's suppression list uses ({@code ${karaf.data}/hermod/derby} by default; Derby's
 * engine is shared by every bundle wired to the derby bundle). A flush writes only the entries that changed since the
 * last one, as one batch of updates (then inserts for the rows that did not exist) in one transaction, so a crash
 * leaves the state of the last flush, never half of one.
 */
final class DerbyWarmupStore implements WarmupStore {

    private static final int WHY_MAX = 1000;
    private final String database;
    private final EmbeddedDataSource ds;
    private volatile boolean created;

    /** @param database the Derby database name (a directory, or {@code memory:name} for tests) */
    DerbyWarmupStore(String database) {
        this.database = database;
        this.ds = new EmbeddedDataSource();
        ds.setDatabaseName(database);
        ds.setCreateDatabase("create");
    }

    @Override
    public String describe() {
        return "Derby " + database + " table HERMOD_WARMUP";
    }

    private Connection connect() throws SQLException {
        Connection c = ds.getConnection();
        if (!created) {
            try (Statement s = c.createStatement()) {
                s.executeUpdate("CREATE TABLE HERMOD_WARMUP (SOURCE VARCHAR(200) NOT NULL, TARGET VARCHAR(600) NOT NULL,"
                        + " PLAN_DAY INT NOT NULL, PLAN_DATE DATE, SENT_TODAY BIGINT NOT NULL,"
                        + " DELIVERED_TODAY BIGINT NOT NULL, EPOCH_HOUR BIGINT NOT NULL, SENT_THIS_HOUR BIGINT NOT NULL,"
                        + " LAST_NEGATIVE_MS BIGINT, NEGATIVE_WHY VARCHAR(" + WHY_MAX + "), HELD VARCHAR(" + WHY_MAX
                        + "), CAP_EVENT_SENT SMALLINT NOT NULL, PRIMARY KEY (SOURCE, TARGET))");
            } catch (SQLException e) {
                if (!"X0Y32".equals(e.getSQLState())) { // X0Y32: it exists already
                    c.close();
                    throw e;
                }
            }
            created = true;
        }
        return c;
    }

    @Override
    public Map<Warmup.Key, Warmup.Entry> load() throws SQLException {
        Map<Warmup.Key, Warmup.Entry> out = new HashMap<>();
        try (Connection c = connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                "SELECT SOURCE, TARGET, PLAN_DAY, PLAN_DATE, SENT_TODAY, DELIVERED_TODAY, EPOCH_HOUR, SENT_THIS_HOUR,"
                        + " LAST_NEGATIVE_MS, NEGATIVE_WHY, HELD, CAP_EVENT_SENT FROM HERMOD_WARMUP")) {
            while (rs.next()) {
                Warmup.Entry e = new Warmup.Entry();
                e.day = rs.getInt(3);
                java.sql.Date d = rs.getDate(4);
                e.date = d == null ? null : d.toLocalDate();
                e.sentToday = rs.getLong(5);
                e.deliveredToday = rs.getLong(6);
                e.hour = rs.getLong(7);
                e.sentThisHour = rs.getLong(8);
                long negative = rs.getLong(9);
                e.lastNegative = rs.wasNull() ? null : Instant.ofEpochMilli(negative);
                e.negativeWhy = rs.getString(10);
                e.held = rs.getString(11);
                e.capEventSent = rs.getInt(12) != 0;
                out.put(new Warmup.Key(rs.getString(1), rs.getString(2)), e);
            }
        }
        return out;
    }

    @Override
    public void save(Map<Warmup.Key, Warmup.Entry> changed) throws SQLException {
        if (changed.isEmpty()) {
            return;
        }
        try (Connection c = connect()) {
            c.setAutoCommit(false);
            try {
                Map<Warmup.Key, Warmup.Entry> missing = new HashMap<>();
                try (PreparedStatement up = c.prepareStatement("UPDATE HERMOD_WARMUP SET PLAN_DAY = ?, PLAN_DATE = ?,"
                        + " SENT_TODAY = ?, DELIVERED_TODAY = ?, EPOCH_HOUR = ?, SENT_THIS_HOUR = ?, LAST_NEGATIVE_MS = ?,"
                        + " NEGATIVE_WHY = ?, HELD = ?, CAP_EVENT_SENT = ? WHERE SOURCE = ? AND TARGET = ?")) {
                    Warmup.Key[] order = changed.keySet().toArray(new Warmup.Key[0]);
                    for (Warmup.Key k : order) {
                        bind(up, 1, changed.get(k));
                        up.setString(11, k.source());
                        up.setString(12, k.target());
                        up.addBatch();
                    }
                    int[] counts = up.executeBatch();
                    for (int i = 0; i < order.length; i++) {
                        if (counts[i] == 0) {
                            missing.put(order[i], changed.get(order[i]));
                        }
                    }
                }
                if (!missing.isEmpty()) {
                    try (PreparedStatement in = c.prepareStatement("INSERT INTO HERMOD_WARMUP (PLAN_DAY, PLAN_DATE,"
                            + " SENT_TODAY, DELIVERED_TODAY, EPOCH_HOUR, SENT_THIS_HOUR, LAST_NEGATIVE_MS, NEGATIVE_WHY,"
                            + " HELD, CAP_EVENT_SENT, SOURCE, TARGET) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                        for (Map.Entry<Warmup.Key, Warmup.Entry> me : missing.entrySet()) {
                            bind(in, 1, me.getValue());
                            in.setString(11, me.getKey().source());
                            in.setString(12, me.getKey().target());
                            in.addBatch();
                        }
                        in.executeBatch();
                    }
                }
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
    }

    private static void bind(PreparedStatement ps, int i, Warmup.Entry e) throws SQLException {
        ps.setInt(i, e.day);
        ps.setDate(i + 1, e.date == null ? null : java.sql.Date.valueOf(e.date));
        ps.setLong(i + 2, e.sentToday);
        ps.setLong(i + 3, e.deliveredToday);
        ps.setLong(i + 4, e.hour);
        ps.setLong(i + 5, e.sentThisHour);
        if (e.lastNegative == null) {
            ps.setNull(i + 6, Types.BIGINT);
        } else {
            ps.setLong(i + 6, e.lastNegative.toEpochMilli());
        }
        ps.setString(i + 7, cut(e.negativeWhy));
        ps.setString(i + 8, cut(e.held));
        ps.setInt(i + 9, e.capEventSent ? 1 : 0);
    }

    private static String cut(String s) {
        return s == null || s.length() <= WHY_MAX ? s : s.substring(0, WHY_MAX);
    }
}
