"""Practice charts (issue 9): a case library with answer keys that coders code in the normal
workspace, scored with the audit comparison engine. Practice charts are encounters with
is_practice=True: the default managers hide them from queues, billing, audits and metrics.

services.py writes (case library, attempts, scoring), library.py imports cases (demo charts,
CodiEsp), selectors.py reads (lists, results, learning statistics)."""
