package org.hermod.shaping.internal;

/**
 * Where a rule came from: the file name and line, for {@code explain()} and events, e.g.
 * {@code hermod-shaping.rules:12 provider=gmail}.
 */
public record Origin(String file, int line, String what) {

    public static final Origin BUILT_IN = new Origin("default", 0, "built-in");

    @Override
    public String toString() {
        return this == BUILT_IN || line == 0 ? "default" : file + ":" + line + " " + what;
    }
}
