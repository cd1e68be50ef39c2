/** Example routing filter (a template). */
package org.hermod.example.filter;
