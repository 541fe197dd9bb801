"""Jobs: periodic and one-off work run by the workers, each claimed with a lease."""
