package org.hermod.shaping.internal;

import org.hermod.api.shaping.ShapingStrategy;
import org.hermod.api.shaping.ShapingStrategyContract;

public class FixedStrategyContractTest extends ShapingStrategyContract {

    @Override
    protected ShapingStrategy strategy() {
        return new FixedStrategy();
    }
}
