/** The routing bundle's implementation (not exported). */
package org.hermod.routing.internal;
