"""Selectors written by operators in the registry: CSS or XPath, told apart."""

from __future__ import annotations

from parsel import Selector, SelectorList

_XPATH_STARTS = ("/", "(", "./", "../", "string(", "normalize-space(")


def is_xpath(query: str) -> bool:
    return query.lstrip().startswith(_XPATH_STARTS)


def select(selector: Selector, query: str) -> SelectorList[Selector]:
    """CSS, or XPath when the query starts like a path (``/``, ``(``, ``./``)."""
    if is_xpath(query):
        return selector.xpath(query)
    return selector.css(query)
