package org.hermod.shaping.internal;

/**
 * The rules in force (bundle-internal service): the current snapshot of the rules file, swapped atomically on reload.
 * The shaping service and the adaptive strategy share it, so both read the same version.
 */
public interface RulesSource {

    Rules rules();
}
