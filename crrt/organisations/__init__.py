"""Nations, EU institutions and partners; project membership and its history; institutions."""
