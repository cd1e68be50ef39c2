package org.hermod.shaping.internal;

import java.nio.file.Path;
import java.nio.file.Paths;

import org.osgi.framework.BundleContext;

/** Karaf's etc/ and data/ from the framework properties, with a temp-dir fallback for tests. */
final class KarafPaths {

    private KarafPaths() {
    }

    static Path data(BundleContext ctx) {
        return dir(ctx, "karaf.data");
    }

    static Path etc(BundleContext ctx) {
        return dir(ctx, "karaf.etc");
    }

    /** {@code configured} when set (relative: against {@code base}; ${karaf.etc}/${karaf.data} expanded). */
    static Path resolve(BundleContext ctx, String configured, Path base, String relative) {
        if (configured != null && !configured.isBlank()) {
            String v = configured.strip().replace("${karaf.etc}", etc(ctx).toString())
                    .replace("${karaf.data}", data(ctx).toString());
            Path p = Paths.get(v);
            return p.isAbsolute() ? p : base.resolve(p);
        }
        return base.resolve(relative);
    }

    private static Path dir(BundleContext ctx, String property) {
        String v = ctx == null ? null : ctx.getProperty(property);
        if (v == null || v.isBlank()) {
            return Paths.get(System.getProperty("java.io.tmpdir"), "hermod-" + property.replace('.', '-'));
        }
        return Paths.get(v);
    }
}
