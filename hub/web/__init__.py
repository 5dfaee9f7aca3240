"""The hub's web app: the consumer feed API, exports and (later) review pages."""
