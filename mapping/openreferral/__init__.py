"""Open Referral UK (HSDS-UK 3.0): the register's public records as a compliant feed.

Assets become services at locations, organisations become organizations with org-id
identifiers, categories, ownership class, legal form, data licence and record source
become published taxonomies linked through attributes. Ids are stable UUIDs derived from
the register's own ids. No Flask here: :mod:`web.openreferral` hands each request to
:mod:`mapping.openreferral.feed`. Front door: :func:`load_feed`, :func:`feed_query` and
the answers in :mod:`mapping.openreferral.feed`.
"""

from mapping.openreferral.query import FeedQuery, feed_query
from mapping.openreferral.records import FeedData, feed_stamp, load_feed

__all__ = ["FeedData", "FeedQuery", "feed_query", "feed_stamp", "load_feed"]
