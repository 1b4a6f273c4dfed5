"""The operator console in a real browser: headless chromium against a real hub and a real screen."""
