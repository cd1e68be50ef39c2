package org.hermod.api.bounce;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.osgi.service.component.annotations.ComponentPropertyType;

/**
 * Component property type for {@link BounceClassifier#NAME}: annotate a classifier component with
 * {@code @ClassifierName("my-rules")} instead of typing the property name.
 */
@ComponentPropertyType
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.TYPE)
public @interface ClassifierName {

    /** Makes the property name {@code hermod.classifier.name}. */
    String PREFIX_ = "hermod.";

    /** The classifier's name. */
    String value();
}
