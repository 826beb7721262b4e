"""Publishes four updates to ssed with PyPI's mercure-publisher (httpx, PyJWT),
as a Python application does: public with id, type and retry; private;
alternate topics; data with spaces and line breaks. Prints the id the hub
answered for each, one a line.

Environment: MERCURE_URL (the hub, .../.well-known/mercure) and
MERCURE_JWT_SECRET (the HS256 key; the library signs its own token, with
`exp`). Used by tests/mercure_clients.rs.
"""

import os

from mercure_publisher import MercureConfig, MercurePublisher

config = MercureConfig(
    hub_url=os.environ["MERCURE_URL"],
    publisher_jwt_key=os.environ["MERCURE_JWT_SECRET"],
    publish_topics=["https://example.com/{+any}"],
)
with MercurePublisher(config) as publisher:
    ids = [
        publisher.publish(
            "https://example.com/books/1",
            {"title": "public, from Python"},
            id="python-id-1",
            type="book.updated",
            retry=4000,
        ),
        publisher.publish("https://example.com/books/2", "private, from Python", private=True),
        publisher.publish(
            ["https://example.com/books/3", "https://example.com/users/7/books"],
            "alternates, from Python",
        ),
        publisher.publish("https://example.com/books/4", "a b+c&d\r\ne"),
    ]
for published in ids:
    print(published)
