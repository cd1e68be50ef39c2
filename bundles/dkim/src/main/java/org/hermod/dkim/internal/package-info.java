/** The DKIM bundle's implementation (not exported). */
package org.hermod.dkim.internal;
