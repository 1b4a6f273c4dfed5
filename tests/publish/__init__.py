"""Tests of the operator side: the playlist documents, the TUF repository and the publishing use cases."""
