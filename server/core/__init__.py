"""What every layer of the server may use, and which uses nothing else of Hearth's:
settings, the clock, keyed hashes and tokens, translations, logging, background rounds.
"""
