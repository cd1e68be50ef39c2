/** The corpus evaluation tool behind {@code bench/classify-eval}; not an exported API. */
package org.hermod.bounce.eval;
