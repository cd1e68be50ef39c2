package org.hermod.bounce.internal;

import java.nio.file.Path;

import org.hermod.api.bounce.BounceClassifier;
import org.hermod.api.bounce.BounceClassifierContract;
import org.hermod.api.bounce.SuppressionList;
import org.hermod.api.bounce.SuppressionListContract;
import org.junit.Rule;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.Suite;

/** The bounce bundle's default implementations against the API's contract tests. */
@RunWith(Suite.class)
@Suite.SuiteClasses({ContractsTest.RuleClassifier.class, ContractsTest.DerbyList.class})
public class ContractsTest {

    /** The shipped rules (bundled defaults, no operator file). */
    public static class RuleClassifier extends BounceClassifierContract {
        @Override
        protected BounceClassifier classifier() {
            return new RuleBasedBounceClassifier((Path) null);
        }
    }

    /** The Derby-backed list, on disk. */
    public static class DerbyList extends SuppressionListContract {
        @Rule
        public TemporaryFolder tmp = new TemporaryFolder();

        @Override
        protected SuppressionList open() throws Exception {
            return new DerbySuppressionList(tmp.newFolder().toPath().resolve("db").toString());
        }
    }
}
