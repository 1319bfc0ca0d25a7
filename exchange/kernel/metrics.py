"""The exchange's Prometheus series: the one home of their names, labels and buckets.

Use cases and followers update them where things happen (a submission finishes, a delivery is queued); values
read from the store and the views (queue depths, positions) are set on each scrape by `exchange.services.metrics`.
They live in prometheus-client's default registry, beside its process and Python collectors.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, REGISTRY, Counter, Gauge, Histogram, generate_latest

# Seconds from the request to its answer: signature checks and the group commit take milliseconds to a second.
_SUBMISSION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Submit → queued: milliseconds when flowing, minutes to hours while flow control holds a delivery back.
_LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 21600.0)

SUBMISSIONS = Counter(
    "idx_submissions",
    "Submissions by business function and outcome: accepted, resubmitted, or the kind of refusal.",
    ["business_function", "outcome"],
)
SUBMISSION_SECONDS = Histogram(
    "idx_submission_seconds",
    "Time from reading a submission to its answer, whatever the outcome.",
    ["business_function"],
    buckets=_SUBMISSION_BUCKETS,
)
QUEUE_DEPTH = Gauge(
    "idx_queue_depth",
    "Messages waiting in a participant's queue of a business function (read from the queue view on scrape).",
    ["participant", "business_function"],
)
DELIVERY_LAG = Histogram(
    "idx_delivery_lag_seconds",
    "Time from a message's acceptance to its delivery being queued for one recipient.",
    buckets=_LAG_BUCKETS,
)
FOLLOWER_POSITION = Gauge(
    "idx_follower_position",
    "The last event-store position each follower of the log (projections, relay) has handled.",
    ["follower"],
)
LEASE_HELD = Gauge(
    "idx_lease_held",
    "1 while this process holds the lease of a follower of the log (it runs that follower), else 0.",
    ["follower"],
)
DELIVERY_PATH_LAG = Gauge(
    "idx_delivery_path_lag_seconds",
    "How long the oldest work the delivery path has not finished has waited, as last measured for admission: "
    "events of the log past the relay or the notifier, plus routes waiting in JetStream for the deliverer.",
)
LAG_WAITS = Counter(
    "idx_submission_lag_waits",
    "Submissions that waited for the delivery path to catch up before they were committed, by how the wait ended: "
    "passed (delivery caught up) or waited_out (the wait allowed ran out and the submission went on).",
    ["outcome"],
)
for _outcome in ("passed", "waited_out"):
    LAG_WAITS.labels(_outcome)  # both series from the start, at 0: a dashboard's rate of them is 0, not missing
LAG_WAIT_SECONDS = Histogram(
    "idx_submission_lag_wait_seconds",
    "How long a submission waited for the delivery path to catch up, passed or refused.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0),
)
EVENT_STORE_POSITION = Gauge("idx_event_store_position", "The last position of the event store's notification log.")


def exposition() -> tuple[bytes, str]:
    """Every series in the Prometheus text format, and its content type.

    The names here need no escaping, so the text is the classic 0.0.4 format every Prometheus version reads.
    """
    return generate_latest(REGISTRY), CONTENT_TYPE_PLAIN_0_0_4
