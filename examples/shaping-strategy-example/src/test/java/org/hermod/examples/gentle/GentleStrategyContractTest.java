package org.hermod.examples.gentle;

import org.hermod.api.shaping.ShapingStrategy;
import org.hermod.api.shaping.ShapingStrategyContract;

/** Hermod's contract for every strategy: one {@code extends}. */
public class GentleStrategyContractTest extends ShapingStrategyContract {

    @Override
    protected ShapingStrategy strategy() {
        return new GentleStrategy();
    }
}
