"""People and departments: users, the department tree, and bulk loading of many people at once."""
