/** An example shaping strategy bundle ({@code gentle}): decrease only, never below a floor. Not exported. */
package org.hermod.examples.gentle;
