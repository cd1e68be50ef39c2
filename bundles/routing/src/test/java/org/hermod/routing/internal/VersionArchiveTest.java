package org.hermod.routing.internal;

import static org.junit.Assert.assertEquals;

import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.Version;

/** Rollback goes back to the version that was active before, not to the one first seen before. */
public class VersionArchiveTest {

    private static Bundle bundle(Path manifest, String version) {
        return (Bundle) Proxy.newProxyInstance(VersionArchiveTest.class.getClassLoader(), new Class<?>[] {Bundle.class},
                (p, m, a) -> switch (m.getName()) {
                    case "getSymbolicName" -> "acme.filter";
                    case "getVersion" -> Version.parseVersion(version);
                    case "getEntry" -> manifest.toUri().toURL();
                    default -> null;
                });
    }

    @Test
    public void rollbackFollowsTheOrderVersionsRanIn() throws Exception {
        Path dir = Files.createTempDirectory("archive");
        Path mf = dir.resolve("MANIFEST.MF");
        Files.writeString(mf, "Manifest-Version: 1.0\r\nBundle-SymbolicName: acme.filter\r\n\r\n");
        VersionArchive archive = new VersionArchive(dir.resolve("filters"));
        for (String v : new String[] {"1.0.0", "2.0.0", "3.0.0", "1.0.0", "3.0.0"}) { // 1 -> 2 -> 3 -> 1 -> 3
            archive.archive(bundle(mf, v));
        }
        assertEquals("first seen", List.of("1.0.0", "2.0.0", "3.0.0"), archive.versions("acme.filter"));
        assertEquals("1.0.0 ran before 3.0.0 (first-seen order would say 2.0.0)", "1.0.0",
                archive.previous("acme.filter", "3.0.0").orElseThrow().version());

        archive.rolledBack("acme.filter", "3.0.0", "1.0.0");
        archive.archive(bundle(mf, "1.0.0")); // the rolled-back-to version binds again
        assertEquals("a second rollback goes further back, not to the version left", "2.0.0",
                archive.previous("acme.filter", "1.0.0").orElseThrow().version());
        archive.rolledBack("acme.filter", "1.0.0", "2.0.0");
        assertEquals("2.0.0", archive.previous("acme.filter", "3.0.0").orElseThrow().version());
    }
}
