"""Signals the code database sends to the apps that build on it.

codesets must not import encounters (encounters depends on codesets), so activation tells
whoever listens through a signal instead of calling them. Sent only after the activating
transaction has committed: a receiver that queues a task never sees a release that might
still roll back.
"""

from django.dispatch import Signal

# Sent with `release`: the Release just activated (status active, timeline closed).
release_activated = Signal()
