package org.hermod.bounce.internal;

import static org.junit.Assert.fail;

import java.nio.file.Files;
import java.nio.file.Path;

import org.hermod.bounce.eval.ClassifyEval;

/**
 * The corpus kept in this module as test data ({@code src/test/corpus}, with its licences). A missing corpus fails
 * the tests: it is part of the source tree, so its absence is a broken checkout, not a reason to skip.
 */
final class Corpus {

    private Corpus() {
    }

    static Path dir() {
        Path p = ClassifyEval.defaultCorpus();
        if (p == null) {
            fail("corpus not found: expected " + ClassifyEval.IN_REPO + "/bounces/manifest.tsv in the source tree");
        }
        return p;
    }

    static byte[] bounce(String name) throws Exception {
        Path f = dir().resolve("bounces/maildir/bsd").resolve(name);
        if (!Files.isRegularFile(f)) {
            fail("corpus file missing: " + f);
        }
        return Files.readAllBytes(f);
    }
}
