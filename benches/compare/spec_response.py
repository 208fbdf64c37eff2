"""The engine-independent half of the comparison implementations.

`duckdb_metrics.py` and `polars_metrics.py` compute, each with its own engine,
only integer aggregates (counts, sums of whole seconds, sums of ringing time
in whole milliseconds, one row per bucket / heatmap cell / user, one page of
calls). This module reads the request (SPEC section 2) and turns those
aggregates into the response of SPEC section 4: exact ratios of integers,
rounded once, half away from zero, to 3 (rates), 2 (changes) or 1 (averages)
decimals, with every bucket and all 168 heatmap cells present.

Standard library only. The request is assumed valid (callfunnel validates it;
these scripts do not reproduce its error envelopes).
"""

import json
import sys
from datetime import date, datetime, timedelta, timezone

WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
CONNECTED_RESULTS = ("ANSWERED", "TRANSFERRED")
STAGES = ("DIAL", "CONNECTED", "CONVERSATION", "CONVERSION")


class Request:
    """The request fields the computation needs, with SPEC defaults applied."""

    def __init__(self, body):
        self.body = body
        self.date_from = date.fromisoformat(body["date"]["from"])
        self.date_to = date.fromisoformat(body["date"]["to"])
        compare = body.get("compare_date")
        if compare:
            self.compare_from = date.fromisoformat(compare["from"])
            self.compare_to = date.fromisoformat(compare["to"])
        else:
            # the equally long period that ends the day before date.from
            length = (self.date_to - self.date_from).days + 1
            self.compare_from = self.date_from - timedelta(days=length)
            self.compare_to = self.date_from - timedelta(days=1)
        self.user_ids = list(body.get("user_ids") or [])
        # allo_numbers only applies when user_ids is empty (both non-empty is invalid)
        self.allo_numbers = [] if self.user_ids else list(body.get("allo_numbers") or [])
        self.tags = sorted({t.strip().lower() for t in (body.get("tags") or []) if t.strip()})
        self.granularity = (body.get("granularity") or "DAY").upper()
        self.timezone = body.get("timezone") or "UTC"
        self.threshold = int(body.get("conversation_threshold_seconds", 60))
        self.extend = body.get("extend")
        self.stage = (body.get("stage") or "").upper() or None
        self.page = int(body.get("page", 1))
        self.size = int(body.get("size", 20))

    @property
    def items(self):
        return self.extend == "items"

    @property
    def offset(self):
        return (self.page - 1) * self.size

    def utc_window(self):
        """UTC instants [first, last) surely holding both periods in any zone."""
        first = min(self.date_from, self.compare_from) - timedelta(days=2)
        last = max(self.date_to, self.compare_to) + timedelta(days=3)
        as_utc = lambda d: datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
        return as_utc(first), as_utc(last)

    def buckets(self):
        """First day of every bucket of the current period, ascending."""
        out = []
        start = bucket_start(self.date_from, self.granularity)
        while start <= self.date_to:
            out.append(start)
            if self.granularity == "DAY":
                start += timedelta(days=1)
            elif self.granularity == "WEEK":
                start += timedelta(days=7)
            else:
                start = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return out


def bucket_start(day, granularity):
    if granularity == "DAY":
        return day
    if granularity == "WEEK":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def load_request(path):
    with open(path, encoding="utf-8") as handle:
        return Request(json.load(handle))


# ---------------------------------------------------------------------------
# Rounding (SPEC section 4): exact on integers, half away from zero, once.
# ---------------------------------------------------------------------------

def ratio(numerator, denominator, decimals):
    """numerator / denominator rounded to `decimals`; None when denominator is 0."""
    numerator, denominator = int(numerator), int(denominator)
    if denominator == 0:
        return None
    negative = (numerator < 0) != (denominator < 0) and numerator != 0
    n, d = abs(numerator), abs(denominator)
    scale = 10 ** decimals
    magnitude = (2 * n * scale + d) // (2 * d)
    value = magnitude / scale
    return -value if negative else value


def count_metric(value, previous):
    return {"value": int(value), "previous": int(previous),
            "change": ratio(value - previous, previous, 2)}


def mean_metric(current, previous, unit):
    """current/previous = (sum, count); mean = sum / (count * unit)."""
    (s1, c1), (s0, c0) = current, previous
    change = ratio(s1 * c0 - s0 * c1, s0 * c1, 2) if c1 > 0 and c0 > 0 else None
    return {"value": ratio(s1, c1 * unit, 1), "previous": ratio(s0, c0 * unit, 1),
            "change": change}


# ---------------------------------------------------------------------------
# Assembly.
# ---------------------------------------------------------------------------

def utc_text(micros):
    if micros is None:
        return None
    moment = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=int(micros))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def build(request, totals, series, heatmap, leaderboard, last_updated_micros, items):
    """The response of SPEC section 4 from the engine's aggregates.

    totals: {"current": {...}, "previous": {...}} with integer keys dials,
        connected, conversations, conversions, ringing_known, ringing_millis, talk_sum;
    series: {bucket first day (date): (dials, connected, conversions)};
    heatmap: {(iso weekday 1..7, hour): (dials, connected)};
    leaderboard: [(user_id, name, email, connected)] already in SPEC order;
    items: None, or the page as a list of dicts with keys id, user_id, user_name,
        user_email, allo_number, allo_number_label, contact_number, result,
        duration, date_micros, connected, conversation, conversion.
    """
    cur, prev = totals["current"], totals["previous"]
    cur = {k: int(v or 0) for k, v in cur.items()}
    prev = {k: int(v or 0) for k, v in prev.items()}
    funnel = {}
    for name in ("dials", "connected", "conversations", "conversions"):
        funnel[name] = {"count": count_metric(cur[name], prev[name]),
                        "rate": ratio(cur[name], cur["dials"], 3)}

    points = {"dials": [], "connected": [], "connection_rate": [], "conversions": []}
    for first_day in request.buckets():
        dials, connected, conversions = (int(x or 0) for x in series.get(first_day, (0, 0, 0)))
        text = first_day.isoformat()
        points["dials"].append({"date": text, "value": dials})
        points["connected"].append({"date": text, "value": connected})
        points["connection_rate"].append({"date": text, "value": ratio(connected, dials, 3) or 0.0})
        points["conversions"].append({"date": text, "value": conversions})

    cells = {"dials": [], "connected": [], "connection_rate": []}
    for weekday, day in enumerate(WEEKDAYS, start=1):
        for hour in range(24):
            dials, connected = (int(x or 0) for x in heatmap.get((weekday, hour), (0, 0)))
            cells["dials"].append({"day": day, "hour": hour, "value": dials})
            cells["connected"].append({"day": day, "hour": hour, "value": connected})
            cells["connection_rate"].append(
                {"day": day, "hour": hour, "value": ratio(connected, dials, 3) or 0.0})

    board = [{"user": {"id": uid, "name": name, "email": email}, "connected": int(n)}
             for uid, name, email, n in leaderboard]

    time_spent = {
        "avg_ringing_time_seconds": mean_metric(
            (cur["ringing_millis"], cur["ringing_known"]),
            (prev["ringing_millis"], prev["ringing_known"]), 1000),
        "avg_conversation_time_seconds": mean_metric(
            (cur["talk_sum"], cur["connected"]), (prev["talk_sum"], prev["connected"]), 1),
        "total_conversation_time_seconds": count_metric(cur["talk_sum"], prev["talk_sum"]),
    }

    data = {
        "date": {"from": request.date_from.isoformat(), "to": request.date_to.isoformat()},
        "compare_date": {"from": request.compare_from.isoformat(),
                         "to": request.compare_to.isoformat()},
        "funnel": funnel,
        "time_series": points,
        "heatmap": cells,
        "leaderboard": board,
        "time_spent": time_spent,
        "last_updated": utc_text(last_updated_micros),
    }
    if request.items:
        total = {"DIAL": cur["dials"], "CONNECTED": cur["connected"],
                 "CONVERSATION": cur["conversations"], "CONVERSION": cur["conversions"]}[request.stage]
        total_pages = -(-total // request.size)
        rows = []
        for row in items:
            user = None
            if any(row[k] is not None for k in ("user_id", "user_name", "user_email")):
                user = {"id": row["user_id"], "name": row["user_name"], "email": row["user_email"]}
            if row["conversion"]:
                stage = "CONVERSION"
            elif row["conversation"]:
                stage = "CONVERSATION"
            elif row["connected"]:
                stage = "CONNECTED"
            else:
                stage = "DIAL"
            rows.append({
                "id": row["id"],
                "user": user,
                "allo_number": row["allo_number"],
                "allo_number_label": row["allo_number_label"],
                "contact_number": row["contact_number"],
                "stage": stage,
                "voicemail": row["result"] == "VOICEMAIL",
                "duration": int(row["duration"] or 0),
                "date": utc_text(row["date_micros"]),
            })
        data["items"] = {
            "data": rows,
            "pagination": {"page": request.page, "size": request.size, "total_count": total,
                           "total_pages": total_pages, "has_more": request.page < total_pages},
        }
    return {"data": data}


def emit(response, compact=False):
    text = json.dumps(response, ensure_ascii=False, separators=(",", ":") if compact else None,
                      indent=None if compact else 2)
    sys.stdout.write(text + "\n")


def note(message):
    print(message, file=sys.stderr)
