"""Personal data across parts: a person's copy of everything held, and erasure, collected from
every part that holds some."""
