"""The product's own errors, under one base class.

HubError
├── RegistryError       sources.toml is missing or wrong (every problem at once)
├── ConfigurationError  the environment or a file an operator supplies is wrong
└── CrawlError          a source's crawl could not run or finish
"""

from __future__ import annotations


class HubError(Exception):
    """Base of every error the hub raises on purpose."""


class RegistryError(HubError):
    def __init__(self, path: str, problems: list[str]) -> None:
        self.problems = problems
        listed = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path} has {len(problems)} problem(s):\n{listed}")


class ConfigurationError(HubError):
    pass


class CrawlError(HubError):
    pass
