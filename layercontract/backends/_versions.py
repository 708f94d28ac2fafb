"""Installed distribution versions, read without importing the packages."""

from importlib import metadata


def installed(*distributions):
    found = {}
    for dist in distributions:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return found
