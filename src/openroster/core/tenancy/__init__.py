"""Tenants and the apps that call in on their behalf."""
