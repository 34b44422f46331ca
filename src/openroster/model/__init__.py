"""The domain's vocabulary, below both the core and the store.

``entities`` holds the frozen domain types (users, departments, tenants, apps,
custom attributes), ``errors`` the errors the core and the store raise in the
domain's words, ``rate`` the call rate a throttle enforces. Nothing here imports
another openroster package.
"""
