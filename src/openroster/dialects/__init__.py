"""Wire dialects: each speaks one platform's API over the core services."""
