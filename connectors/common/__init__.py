"""What every venue connector shares: the row sink (:mod:`~connectors.common.rows`), the normalizer
contract and its counters (:mod:`~connectors.common.normalizer`), the feed, the private side."""
