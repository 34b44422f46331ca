"""Security suite: tenant isolation, authentication, secret storage, file permissions (docs/security.md)."""
