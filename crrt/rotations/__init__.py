"""Rotations: six-month rapid response teams planned from the nations' experts (issue 14)."""
