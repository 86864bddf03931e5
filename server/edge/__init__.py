"""What the HTTP entry points share: who is asking (session cookie, CSRF, Origin) and
errors turned into responses.
"""
