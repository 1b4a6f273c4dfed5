"""The screen's sync service: fetching from the hub, verifying with TUF, the verified cache, heartbeats and
proof-of-play uploads, the screen's config and doctor.

Screens are cheap mini-PCs on station walls and in buses, often on poor mobile links. Everything here
runs without a display and assumes the network and the hub may be slow, broken or hostile: every byte
is bounded in size and time before TUF verifies it. The painter (``signage.kiosk``) reads the cache this
package writes and imports only its light modules (config, cache, the play log, sd_notify).
"""
