package org.hermod.bounce.internal.parse;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Jazzer over {@link BounceFuzzTarget}. In a plain test run it replays the seeds and every crash found so far
 * (src/test/resources/org/hermod/bounce/internal/parse/BounceFuzzTestInputs/parse/: Jazzer stores new findings there,
 * so they stay as regression tests); with JAZZER_FUZZ=1 (the "fuzz" execution in mvn verify) it fuzzes for
 * maxDuration.
 */
class BounceFuzzTest {

    @FuzzTest(maxDuration = "20s")
    void parse(byte[] input) {
        BounceFuzzTarget.fuzzerTestOneInput(input);
    }
}
