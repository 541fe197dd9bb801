"""crrt: the coordination platform for the EU's multinational Cyber Rapid Response Teams."""

__version__ = "0.1.0"
