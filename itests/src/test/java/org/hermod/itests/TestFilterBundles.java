package org.hermod.itests;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * Builds filter bundles at test time: a jar with {@code org.hermod.itests.filters.TestFilter} (read from the test's
 * own classes) and a manifest whose headers choose its version and behaviour. Plain java.util.jar: the manifest is
 * written by hand, so nothing beyond the JDK has to be provisioned into the container.
 */
final class TestFilterBundles {

    static final String FILTER_CLASS = "org.hermod.itests.filters.TestFilter";

    private TestFilterBundles() {
    }

    /**
     * Writes the bundle to {@code dir} and returns its path.
     *
     * @param name the filter name (and, prefixed, the bundle's symbolic name)
     * @param version the bundle version
     * @param headers Hermod-Test-* headers: Mode, Reply, Timeout
     */
    static Path write(Path dir, String name, String version, Map<String, String> headers) throws IOException {
        Manifest m = new Manifest();
        Attributes a = m.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", "org.hermod.itests.filter." + name);
        a.putValue("Bundle-Version", version);
        a.putValue("Bundle-Activator", FILTER_CLASS);
        a.putValue("Import-Package", "org.hermod.api,org.hermod.api.filter,org.hermod.api.routing,"
                + "org.osgi.framework");
        a.putValue("Hermod-Test-Name", name);
        headers.forEach(a::putValue);
        Files.createDirectories(dir);
        Path jar = dir.resolve(name + "-" + version + ".jar");
        String entry = FILTER_CLASS.replace('.', '/') + ".class";
        try (OutputStream file = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(file, m);
             InputStream cls = TestFilterBundles.class.getClassLoader().getResourceAsStream(entry)) {
            if (cls == null) {
                throw new IOException("test class not found: " + entry);
            }
            out.putNextEntry(new JarEntry(entry));
            cls.transferTo(out);
            out.closeEntry();
        }
        return jar;
    }
}
