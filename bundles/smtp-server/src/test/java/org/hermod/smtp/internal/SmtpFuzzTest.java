package org.hermod.smtp.internal;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Jazzer over {@link SmtpFuzzTarget}. In a plain test run it replays the seeds and every crash found so far
 * (src/test/resources/org/hermod/smtp/internal/SmtpFuzzTestInputs/session/: Jazzer stores new findings there, so they
 * stay as regression tests); with JAZZER_FUZZ=1 (the "fuzz" execution in mvn verify) it fuzzes for maxDuration.
 * bench/fuzz.sh runs the same target for longer.
 */
class SmtpFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void session(byte[] input) {
        SmtpFuzzTarget.fuzzerTestOneInput(input);
    }
}
