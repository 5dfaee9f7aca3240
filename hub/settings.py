"""Scrapy settings: safe, polite defaults, overridable per source and per run."""

from __future__ import annotations

import os

BOT_NAME = "opportunity_hub"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

CONTACT_URL = os.getenv("HUB_CONTACT_URL", "https://opportunityhub.example/contact")
USER_AGENT = f"OpportunityHubBot/0.1 (+{CONTACT_URL})"

# politeness, overridable per source (the registry's `politeness` table) and
# per run (`-s NAME=VALUE`); CONTRIBUTING.md lists them
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# the least time between two requests to one host, and AutoThrottle's floor.
# Keep it above 0 on live crawls: with the asyncio reactor Scrapy 2.19 lets a
# slot whose delay is 0 start every queued request at once, whatever
# CONCURRENT_REQUESTS_PER_DOMAIN says (BackoffRetryMiddleware refuses 0)
DOWNLOAD_DELAY = 0.25
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# seconds: the n-th retry waits base * 2**n, at most max; a Retry-After on a
# 429 or 503 is waited out up to HUB_RETRY_AFTER_MAX, beyond which the host's
# remaining requests are left for the source's next run
HUB_RETRY_BACKOFF_BASE = 1.0
HUB_RETRY_BACKOFF_MAX = 60.0
HUB_RETRY_AFTER_MAX = 120.0
REDIRECT_MAX_TIMES = 10
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
CLOSESPIDER_ERRORCOUNT = 50

# safety: private, loopback, link-local and metadata addresses are refused on
# a live crawl, except these hosts ("host" or "host:port", matched as written)
HUB_ALLOWED_PRIVATE_HOSTS: list[str] = []

# the validation gate: a run whose required fields fall below this share of
# its listings fails (flows.crawl.judge); set HUB_CLOSING_DATE_REQUIRED in a
# source's `politeness` table when the source gives closing dates
HUB_REQUIRED_FIELDS = ["title", "provider_name", "url"]
HUB_CLOSING_DATE_REQUIRED = False

# nothing listens for remote commands
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

DOWNLOADER_MIDDLEWARES = {
    # refuses non-http(s) URLs and, live, private addresses, before anything
    # else (robots.txt included) can connect
    "spiders.middlewares.AddressGuardMiddleware": 40,
    "spiders.middlewares.SizeLimitMiddleware": 45,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "spiders.middlewares.RobotsStatusMiddleware": 100,
    "spiders.recording.RecordMiddleware": 120,
    "spiders.recording.FetchTimeMiddleware": 130,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "spiders.middlewares.BackoffRetryMiddleware": 550,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "spiders.middlewares.SameUrlRedirectMiddleware": 600,
    # last before the network: a replay never reaches it
    "spiders.recording.ReplayMiddleware": 950,
}
ITEM_PIPELINES = {
    "pipelines.validate.ValidationPipeline": 100,
    "pipelines.normalize.NormalizationPipeline": 200,
    "pipelines.enrich.EnrichmentPipeline": 300,
    "pipelines.coverage.CoveragePipeline": 800,
    "pipelines.store.StorePipeline": 900,
}

# a replay file (HUB_REPLAY), a live recording (HUB_RECORD), a fixed clock
# (HUB_AS_OF), the database (HUB_DATABASE_URL) and the crawl run to write
# into (HUB_RUN_ID) are set per run by the crawl flow.
HUB_DATABASE_URL = os.getenv("HUB_DATABASE_URL", "sqlite:///data/hub.sqlite")
HUB_GEO_DIR = os.getenv("HUB_GEO_DIR")
# GOV.UK Find an apprenticeship: without a key that source is "not configured"
HUB_FAA_API_KEY = os.getenv("HUB_FAA_API_KEY")

LOG_LEVEL = os.getenv("HUB_LOG_LEVEL", "INFO")
FEED_EXPORT_ENCODING = "utf-8"
