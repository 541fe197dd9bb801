"""The expert pool: nominated specialists, their skills, languages, clearance and availability."""
