"""Scrapy settings: safe, polite defaults, overridable per source and per run."""

from __future__ import annotations

import os

BOT_NAME = "opportunity_hub"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

CONTACT_URL = os.getenv("HUB_CONTACT_URL", "https://opportunityhub.example/contact")
USER_AGENT = f"OpportunityHubBot/0.1 (+{CONTACT_URL})"

# politeness
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
RETRY_TIMES = 3
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
CLOSESPIDER_ERRORCOUNT = 50

# nothing listens for remote commands
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

DOWNLOADER_MIDDLEWARES = {
    "spiders.recording.RecordMiddleware": 120,
    "spiders.recording.FetchTimeMiddleware": 130,
    "spiders.recording.ReplayMiddleware": 950,
}
ITEM_PIPELINES = {
    "pipelines.validate.ValidationPipeline": 100,
    "pipelines.normalize.NormalizationPipeline": 200,
    "pipelines.enrich.EnrichmentPipeline": 300,
    "pipelines.store.StorePipeline": 900,
}

# a replay file (HUB_REPLAY), a live recording (HUB_RECORD), a fixed clock
# (HUB_AS_OF), the database (HUB_DATABASE_URL) and the crawl run to write
# into (HUB_RUN_ID) are set per run by the crawl flow.
HUB_DATABASE_URL = os.getenv("HUB_DATABASE_URL", "sqlite:///data/hub.sqlite")
HUB_GEO_DIR = os.getenv("HUB_GEO_DIR")

LOG_LEVEL = os.getenv("HUB_LOG_LEVEL", "INFO")
FEED_EXPORT_ENCODING = "utf-8"
