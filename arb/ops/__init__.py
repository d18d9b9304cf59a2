"""Operations: what a running arb process shows and says while it trades (metrics, dashboard, alerts).

The trading loop never waits on any of it. It publishes immutable :class:`~arb.ops.snapshot.Snapshot`
values and :class:`~arb.ops.snapshot.OpsEvent` records into one :class:`~arb.ops.snapshot.OpsHub`;
the metrics endpoint, the dashboard and the alert rules read the hub from their own thread.
"""
