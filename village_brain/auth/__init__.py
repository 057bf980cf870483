"""People: accounts with roles, their passwords, tokens and sessions, and who may do what."""
