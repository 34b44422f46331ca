"""The DingTalk dialect: ``gettoken`` and the legacy server API (``/topapi``): HR roster and contacts.

The package itself imports nothing heavy, so the SDK can use ``callback_crypto`` without
loading the server; ``dialect.py`` declares the dialect the server mounts (``DINGTALK``).
"""
