"""Education for families (issue 18): topics as data, in two reading levels and several
languages, each with the points the family says back (teach-back).

The topics are TOML files under ``content/<language>/``; :func:`load_library` reads them and a
team's own directory. How readable each text is is measured by the server when it loads them
(``server/core/readability.py``): it needs a hyphenation dictionary, which is not the
standard library.
"""

from encounters.education.loader import load_builtin_library, load_library, parse_topic
from encounters.education.model import (
    SOURCE_LANGUAGE,
    Level,
    Library,
    Origin,
    Picture,
    Section,
    Source,
    TeachBackPoint,
    Topic,
    Version,
)

__all__ = [
    "SOURCE_LANGUAGE",
    "Level",
    "Library",
    "Origin",
    "Picture",
    "Section",
    "Source",
    "TeachBackPoint",
    "Topic",
    "Version",
    "load_builtin_library",
    "load_library",
    "parse_topic",
]
