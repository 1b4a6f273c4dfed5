"""Operator side: the TUF repository (``repo``) and the publishing use cases on top of it (``channel``)."""
