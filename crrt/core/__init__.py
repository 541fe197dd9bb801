"""What every part stands on: configuration, database, time, errors, pagination."""
