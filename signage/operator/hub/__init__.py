"""The operator's hub: serves a repository's ``DIR/public`` over HTTP and keeps its signatures fresh.

``files`` is the WSGI application (read-only files, safe paths, HTTP caching); ``server`` runs it with
waitress next to the scheduled ``refresh`` job. The hub depends on the core, never the other way round.
"""
