"""Misybot: a multi-tenant AI customer-service backend. The app factory is `app.factory.create_app`.

This package file stays empty on purpose: importing a leaf module (`app.knowledge.lexical`, the settings)
must not load the whole service.
"""
