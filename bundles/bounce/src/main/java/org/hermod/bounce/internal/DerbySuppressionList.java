package org.hermod.bounce.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.derby.jdbc.EmbeddedDataSource;
import org.hermod.api.bounce.SuppressionEntry;
import org.hermod.api.bounce.SuppressionList;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The suppression list in embedded Derby (table HERMOD_SUPPRESSION), with an in-memory set loaded at start for
 * {@link #contains}; writes go through to the database first.
 */
@Component(service = SuppressionList.class, configurationPid = "org.hermod.bounce",
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
public class DerbySuppressionList implements SuppressionList {

    private static final Logger LOG = LoggerFactory.getLogger(DerbySuppressionList.class);

    private volatile ConcurrentHashMap<String, Boolean> addresses = new ConcurrentHashMap<>();
    private volatile EmbeddedDataSource ds;
    private BundleContext context;
    private String dbDir;

    /** For OSGi. */
    public DerbySuppressionList() {
    }

    /** For tests and tools: opens (creating if needed) the database in the given directory. */
    public DerbySuppressionList(String databaseDir) throws SQLException {
        open(databaseDir);
    }

    @Activate
    void activate(BundleContext ctx, BounceConfig config) throws SQLException {
        this.context = ctx;
        open(dirOf(ctx, config));
    }

    /** Other settings of the PID change without a restart; the database is reopened only when its name changed. */
    @Modified
    synchronized void modified(BounceConfig config) throws SQLException {
        String dir = dirOf(context, config);
        if (!dir.equals(dbDir)) {
            open(dir);
        }
    }

    private static String dirOf(BundleContext ctx, BounceConfig config) {
        return KarafPaths.resolve(config.databaseName(), KarafPaths.data(ctx), "hermod/derby").toString();
    }

    private synchronized void open(String dir) throws SQLException {
        EmbeddedDataSource d = new EmbeddedDataSource();
        d.setDatabaseName(dir);
        d.setCreateDatabase("create");
        ConcurrentHashMap<String, Boolean> loaded = new ConcurrentHashMap<>();
        try (Connection c = d.getConnection()) {
            try (Statement s = c.createStatement()) {
                s.executeUpdate("CREATE TABLE HERMOD_SUPPRESSION (ADDRESS VARCHAR(320) NOT NULL PRIMARY KEY, "
                        + "REASON VARCHAR(200), CREATED TIMESTAMP NOT NULL, SOURCE VARCHAR(500))");
            } catch (SQLException e) {
                if (!"X0Y32".equals(e.getSQLState())) { // already exists
                    throw e;
                }
            }
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                    "SELECT ADDRESS FROM HERMOD_SUPPRESSION")) {
                while (rs.next()) {
                    loaded.put(rs.getString(1), Boolean.TRUE);
                }
            }
        }
        this.ds = d;
        this.addresses = loaded;
        this.dbDir = dir;
        LOG.info("suppression list {}: {} addresses", dir, loaded.size());
    }

    /** Closes nothing shared: Derby's embedded engine stays up for other users of the bundle. */
    @Deactivate
    void deactivate() {
        addresses.clear();
    }

    static String norm(String address) {
        String a = address == null ? "" : address.strip();
        if (a.startsWith("<") && a.endsWith(">")) {
            a = a.substring(1, a.length() - 1);
        }
        return a.toLowerCase(Locale.ROOT);
    }

    @Override
    public boolean add(String address, String reason, String source) {
        String a = norm(address);
        if (a.isEmpty() || addresses.containsKey(a)) {
            return false;
        }
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(
                "INSERT INTO HERMOD_SUPPRESSION (ADDRESS, REASON, CREATED, SOURCE) VALUES (?, ?, ?, ?)")) {
            ps.setString(1, a);
            ps.setString(2, cut(reason, 200));
            ps.setTimestamp(3, Timestamp.from(Instant.now()));
            ps.setString(4, cut(source, 500));
            ps.executeUpdate();
        } catch (SQLException e) {
            if (!"23505".equals(e.getSQLState())) { // duplicate: someone else added it
                throw new IllegalStateException("suppression add " + a + ": " + e.getMessage(), e);
            }
        }
        return addresses.put(a, Boolean.TRUE) == null;
    }

    @Override
    public boolean remove(String address) {
        String a = norm(address);
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(
                "DELETE FROM HERMOD_SUPPRESSION WHERE ADDRESS = ?")) {
            ps.setString(1, a);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException("suppression remove " + a + ": " + e.getMessage(), e);
        }
        return addresses.remove(a) != null;
    }

    @Override
    public boolean contains(String address) {
        return addresses.containsKey(norm(address));
    }

    @Override
    public List<SuppressionEntry> list(int limit) {
        List<SuppressionEntry> out = new ArrayList<>();
        if (limit <= 0) {
            return out;
        }
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT ADDRESS, REASON, CREATED, SOURCE FROM HERMOD_SUPPRESSION ORDER BY CREATED DESC, ADDRESS")) {
            ps.setMaxRows(limit);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new SuppressionEntry(rs.getString(1), rs.getString(2), rs.getTimestamp(3).toInstant(),
                            rs.getString(4)));
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("suppression list: " + e.getMessage(), e);
        }
        return out;
    }

    @Override
    public int size() {
        return addresses.size();
    }

    private static String cut(String s, int max) {
        return s == null ? null : s.length() <= max ? s : s.substring(0, max);
    }
}
