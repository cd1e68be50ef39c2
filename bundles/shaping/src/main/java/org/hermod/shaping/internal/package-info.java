/**
 * The shaping bundle's implementation: the {@code Shaping} service, the rules file and its precedence, GCRA rate
 * limiters behind a throttle store, and the adaptive and fixed strategies.
 */
package org.hermod.shaping.internal;
