"""The live parts: the Socket.IO server and its ``/visit`` namespace, the media hub, and
the readings data channel.
"""
