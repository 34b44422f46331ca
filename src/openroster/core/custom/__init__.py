"""Custom attributes: the definitions a tenant adds to its people, and their values."""
