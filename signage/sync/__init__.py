"""The screen side of signed distribution: fetching from the hub, verifying with TUF, caching.

Screens are cheap mini-PCs on station walls and in buses, often on poor mobile links. Everything here
runs without a display and assumes the network and the hub may be slow, broken or hostile: every byte
is bounded in size and time before TUF verifies it.
"""
