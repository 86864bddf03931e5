"""Socket.IO signalling: one room per encounter, lobby and admission, SDP exchange.

Imports nothing from the rest of Hearth; the few things it needs from outside are declared
as protocols in ``signaling/ports.py`` and supplied by ``server``.
"""
