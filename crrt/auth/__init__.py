"""Users, roles, sessions, API tokens, password hashing, and the policy of who sees what."""
