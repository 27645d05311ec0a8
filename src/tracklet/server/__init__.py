"""The Tracklet server: a stateless ASGI application over a store chosen by URL."""
