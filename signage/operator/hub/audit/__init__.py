"""The audit log: every act of an operator, append-only and hash-chained, with a page and a verifier."""
