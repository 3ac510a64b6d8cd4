package org.distillery.cli;

import org.distillery.notebook.Profile;
import picocli.CommandLine.ITypeConverter;

/** {@code --profile quick|full}; anything else is a usage error naming the accepted values. */
final class ProfileConverter implements ITypeConverter<Profile> {
    @Override
    public Profile convert(String value) {
        try {
            return Profile.parse(value);
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
