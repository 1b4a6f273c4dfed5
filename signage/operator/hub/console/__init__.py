"""The operator console: upload, review and publish lists; take down; roll back; fleet and reports."""
