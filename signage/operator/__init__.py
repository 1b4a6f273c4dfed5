"""The operator's side: importing court exports, signing and publishing channels, and the hub.

``importer`` reads exports, ``publish`` signs the TUF repository, ``hub`` is the Django project (telemetry, fleet,
console) that serves it. Runs on the operator's machine or server, never on a screen.
"""
