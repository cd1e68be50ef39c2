package org.hermod.shaping.internal;

import org.hermod.api.shaping.ShapingStrategy;
import org.hermod.api.shaping.ShapingStrategyContract;

public class AdaptiveStrategyContractTest extends ShapingStrategyContract {

    private final Rules rules = RulesParser.parse("hermod-shaping.rules", String.join("\n",
            "provider contract mx=*.contract.test",
            "on text=/TSS04/ -> decrease 0.5",
            "on text=/try again later/ count=3 within=1m -> suspend 10m",
            "on category=spam-related -> decrease 0.9"));

    @Override
    protected ShapingStrategy strategy() {
        return new AdaptiveStrategy(() -> rules);
    }
}
