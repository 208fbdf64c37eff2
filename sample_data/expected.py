#!/usr/bin/env python3
"""An independent implementation of SPEC sections 3-4 (definitions version 2), to compute expected responses.

Usage:
    python3 sample_data/expected.py REQUEST.json [--calls CALLS.csv] [--exact]
                                                  [--input-tz ZONE] [--report]

Reads the canonical CSV call log (default: sample_data/calls.csv; enum values
and tags case-insensitive, the occurrence of an id read last wins), validates
nothing beyond what the sample needs, and prints the response JSON that
SPEC section 4 asks for. `--exact` skips rounding (the CLI's `--exact`).
`--report` prints the ingest report to standard error.

Standard library only. It shares no code with the Rust crate: it is the ground
truth for tests/it/sample.rs and sample_data/expected_*.json, which were made
with:
    python3 sample_data/expected.py sample_data/request.json > sample_data/expected_response.json
    python3 sample_data/expected.py sample_data/request_weekly.json > sample_data/expected_response_weekly.json
    python3 sample_data/expected.py sample_data/request_drilldown.json > sample_data/expected_response_drilldown.json
    python3 sample_data/expected.py sample_data/request.json --exact > sample_data/expected_response_exact.json
    python3 sample_data/expected.py sample_data/request_no_tags.json > sample_data/expected_response_no_tags.json

Arithmetic is exact (fractions.Fraction); a value is rounded once, half away
from zero, and only then turned into a float. Where a rounded value lies
exactly on a half, a note goes to standard error (such values are where a
floating-point implementation is most likely to differ).
"""

import argparse
import csv
import json
import os
import sys
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from zoneinfo import ZoneInfo

HERE = os.path.dirname(os.path.abspath(__file__))
# SPEC section 1 (definitions 2): every result value read; section 3: the connected ones.
RESULTS = {"ANSWERED", "VOICEMAIL", "TRANSFERRED", "TRANSFERRED_AI", "TRANSFERRED_EXTERNAL",
           "MISSED", "NO_ANSWER", "BUSY", "FAILED", "FAILED_EXTERNAL", "BLOCKED", "CANCELED",
           "CLOSED", "RECEIVED"}
CONNECTED = {"ANSWERED", "TRANSFERRED", "TRANSFERRED_AI", "TRANSFERRED_EXTERNAL"}
WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
STAGE_ORDER = ["DIAL", "CONNECTED", "CONVERSATION", "CONVERSION"]

EXACT = False
HALF_NOTES = []


# ----------------------------------------------------------------------------
# Reading the calls (SPEC section 1)
# ----------------------------------------------------------------------------

def parse_instant(text, input_tz):
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=input_tz)
    return moment.astimezone(timezone.utc)


def text_or_none(value):
    return value if value != "" else None


def read_calls(path, input_tz):
    """Returns (calls by id in first-seen order, rows read, duplicates collapsed)."""
    calls = {}
    rows_read = 0
    duplicates = 0
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            rows_read += 1
            direction = (row["direction"] or "OUTBOUND").upper()
            kind = (row["type"] or "CALL").upper()
            result = row["result"].upper() or None
            assert direction in ("OUTBOUND", "INBOUND"), row
            assert kind in ("CALL", "SMS"), row
            assert result is None or result in RESULTS, row
            duration = int(row["duration"]) if row["duration"] != "" else 0
            assert duration >= 0
            ringing = Fraction(row["ringing_seconds"]) if row["ringing_seconds"] != "" else None
            tags = [t.strip().lower() for t in row["tags"].split(";") if t.strip()]
            call = {
                "id": row["id"],
                "date": parse_instant(row["date"], input_tz),
                "direction": direction,
                "type": kind,
                "user_id": text_or_none(row["user_id"]),
                "user_name": text_or_none(row["user_name"]),
                "user_email": text_or_none(row["user_email"]),
                "allo_number": text_or_none(row["allo_number"]),
                "allo_number_label": text_or_none(row["allo_number_label"]),
                "contact_number": text_or_none(row["contact_number"]),
                "result": result,
                "duration": duration,
                "ringing_seconds": ringing,
                "tags": tags,
            }
            if call["id"] in calls:
                duplicates += 1
                del calls[call["id"]]
            calls[call["id"]] = call
    return list(calls.values()), rows_read, duplicates


# ----------------------------------------------------------------------------
# Rounding (SPEC section 4)
# ----------------------------------------------------------------------------

def rounded(value, decimals, what):
    """Rounds an exact Fraction half away from zero; returns a float."""
    if value is None:
        return None
    value = Fraction(value)
    if EXACT:
        return float(value)
    scale = 10 ** decimals
    scaled = abs(value) * scale
    if scaled.denominator != 1 and (scaled - int(scaled)) == Fraction(1, 2):
        HALF_NOTES.append("%s: exact value %s (= %r) lies on a half at %d decimals"
                          % (what, value, float(value), decimals))
    magnitude = int(scaled + Fraction(1, 2))  # floor(x + 1/2), x >= 0
    number = Fraction(magnitude, scale)
    return float(-number if value < 0 else number)


def rate(numerator, denominator, what):
    if denominator == 0:
        return None
    return rounded(Fraction(numerator, denominator), 3, what)


def change(value, previous, what):
    if previous is None or value is None or previous == 0:
        return None
    return rounded((Fraction(value) - Fraction(previous)) / Fraction(previous), 2, what)


def mean(values):
    if not values:
        return None
    return sum(values, Fraction(0)) / len(values)


def metric(value, previous, what):
    return {"value": value, "previous": previous, "change": change(value, previous, what)}


def average_metric(value, previous, what):
    return {
        "value": rounded(value, 1, what + ".value"),
        "previous": rounded(previous, 1, what + ".previous"),
        "change": change(value, previous, what + ".change"),
    }


# ----------------------------------------------------------------------------
# The computation (SPEC sections 3-4)
# ----------------------------------------------------------------------------

def day_of(text):
    return date.fromisoformat(text)


def utc_text(moment):
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def bucket_start(day, granularity):
    if granularity == "DAY":
        return day
    if granularity == "WEEK":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_bucket(day, granularity):
    if granularity == "DAY":
        return day + timedelta(days=1)
    if granularity == "WEEK":
        return day + timedelta(days=7)
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def compute(calls, request):
    zone = ZoneInfo(request.get("timezone") or "UTC")
    current = (day_of(request["date"]["from"]), day_of(request["date"]["to"]))
    if request.get("compare_date"):
        previous = (day_of(request["compare_date"]["from"]), day_of(request["compare_date"]["to"]))
    else:
        length = (current[1] - current[0]).days + 1
        previous = (current[0] - timedelta(days=length), current[0] - timedelta(days=1))
    user_ids = set(request.get("user_ids") or [])
    allo_numbers = set(request.get("allo_numbers") or [])
    tags = {t.lower() for t in (request.get("tags") or [])}
    threshold = request.get("conversation_threshold_seconds", 60)
    granularity = request.get("granularity") or "DAY"

    def counted(call):
        if call["direction"] != "OUTBOUND" or call["type"] != "CALL":
            return False
        if user_ids and call["user_id"] not in user_ids:
            return False
        if allo_numbers and call["allo_number"] not in allo_numbers:
            return False
        return True

    def local(call):
        return call["date"].astimezone(zone)

    def in_range(call, period):
        return period[0] <= local(call).date() <= period[1]

    def is_connected(call):
        return call["result"] in CONNECTED

    def is_conversation(call):
        return is_connected(call) and call["duration"] > threshold

    def is_conversion(call):
        # SPEC section 3, definitions 2: with no request tags, any tag converts.
        if not tags:
            return bool(call["tags"])
        return any(t in tags for t in call["tags"])

    def stage_of(call):
        if is_conversion(call):
            return "CONVERSION"
        if is_conversation(call):
            return "CONVERSATION"
        if is_connected(call):
            return "CONNECTED"
        return "DIAL"

    scoped = [c for c in calls if counted(c)]
    cur = [c for c in scoped if in_range(c, current)]
    prev = [c for c in scoped if in_range(c, previous)]

    stage_tests = {
        "dials": lambda c: True,
        "connected": is_connected,
        "conversations": is_conversation,
        "conversions": is_conversion,
    }
    funnel = {}
    for name, test in stage_tests.items():
        value = sum(1 for c in cur if test(c))
        before = sum(1 for c in prev if test(c))
        funnel[name] = {
            "count": metric(value, before, "funnel.%s.change" % name),
            "rate": rate(value, len(cur), "funnel.%s.rate" % name),
        }

    # Time series: every bucket from the one holding date.from to the one holding date.to.
    buckets = []
    start = bucket_start(current[0], granularity)
    while start <= current[1]:
        buckets.append(start)
        start = next_bucket(start, granularity)
    per_bucket = {b: {"dials": 0, "connected": 0, "conversions": 0} for b in buckets}
    for c in cur:
        cell = per_bucket[bucket_start(local(c).date(), granularity)]
        cell["dials"] += 1
        cell["connected"] += is_connected(c)
        cell["conversions"] += is_conversion(c)
    time_series = {
        "dials": [{"date": b.isoformat(), "value": per_bucket[b]["dials"]} for b in buckets],
        "connected": [{"date": b.isoformat(), "value": per_bucket[b]["connected"]} for b in buckets],
        "connection_rate": [
            {
                "date": b.isoformat(),
                "value": rate(per_bucket[b]["connected"], per_bucket[b]["dials"],
                              "time_series.connection_rate[%s]" % b) or 0.0,
            }
            for b in buckets
        ],
        "conversions": [{"date": b.isoformat(), "value": per_bucket[b]["conversions"]} for b in buckets],
    }

    cells = {(d, h): [0, 0] for d in range(7) for h in range(24)}
    for c in cur:
        moment = local(c)
        cells[(moment.weekday(), moment.hour)][0] += 1
        cells[(moment.weekday(), moment.hour)][1] += is_connected(c)
    order = [(d, h) for d in range(7) for h in range(24)]
    heatmap = {
        "dials": [{"day": WEEKDAYS[d], "hour": h, "value": cells[(d, h)][0]} for d, h in order],
        "connected": [{"day": WEEKDAYS[d], "hour": h, "value": cells[(d, h)][1]} for d, h in order],
        "connection_rate": [
            {
                "day": WEEKDAYS[d],
                "hour": h,
                "value": rate(cells[(d, h)][1], cells[(d, h)][0],
                              "heatmap.connection_rate[%s %d]" % (WEEKDAYS[d], h)) or 0.0,
            }
            for d, h in order
        ],
    }

    # Leaderboard: users with a dial in the current period; name and email of
    # that user's latest call (ties: greatest id) among those dials.
    users = {}
    for c in cur:
        if c["user_id"] is None:
            continue
        entry = users.setdefault(c["user_id"], {"latest": c, "connected": 0})
        if (c["date"], c["id"]) > (entry["latest"]["date"], entry["latest"]["id"]):
            entry["latest"] = c
        entry["connected"] += is_connected(c)
    # The SPEC does not say among which calls "latest" is taken; the sample is
    # built so that every reading agrees. Check it against all loaded calls.
    for user_id, entry in users.items():
        everything = [c for c in calls if c["user_id"] == user_id]
        latest = max(everything, key=lambda c: (c["date"], c["id"]))
        mine = entry["latest"]
        if (latest["user_name"], latest["user_email"]) != (mine["user_name"], mine["user_email"]):
            print("note: leaderboard name of %s depends on which calls are read" % user_id,
                  file=sys.stderr)
    leaderboard = [
        {
            "user": {
                "id": user_id,
                "name": entry["latest"]["user_name"],
                "email": entry["latest"]["user_email"],
            },
            "connected": entry["connected"],
        }
        for user_id, entry in sorted(users.items(), key=lambda kv: (-kv[1]["connected"], kv[0]))
    ]

    def ringing(period_calls):
        return mean([c["ringing_seconds"] for c in period_calls if c["ringing_seconds"] is not None])

    def talk(period_calls):
        return [c["duration"] for c in period_calls if is_connected(c)]

    cur_talk, prev_talk = talk(cur), talk(prev)
    time_spent = {
        "avg_ringing_time_seconds": average_metric(ringing(cur), ringing(prev),
                                                   "time_spent.avg_ringing_time_seconds"),
        "avg_conversation_time_seconds": average_metric(mean(cur_talk), mean(prev_talk),
                                                        "time_spent.avg_conversation_time_seconds"),
        "total_conversation_time_seconds": metric(sum(cur_talk), sum(prev_talk),
                                                  "time_spent.total_conversation_time_seconds.change"),
    }

    last_updated = utc_text(max(c["date"] for c in calls)) if calls else None

    data = {
        "date": {"from": current[0].isoformat(), "to": current[1].isoformat()},
        "compare_date": {"from": previous[0].isoformat(), "to": previous[1].isoformat()},
        "funnel": funnel,
        "time_series": time_series,
        "heatmap": heatmap,
        "leaderboard": leaderboard,
        "time_spent": time_spent,
        "last_updated": last_updated,
    }

    if request.get("extend") == "items":
        stage = request["stage"]
        test = {
            "DIAL": stage_tests["dials"],
            "CONNECTED": stage_tests["connected"],
            "CONVERSATION": stage_tests["conversations"],
            "CONVERSION": stage_tests["conversions"],
        }[stage]
        page = request.get("page", 1)
        size = request.get("size", 20)
        chosen = sorted((c for c in cur if test(c)), key=lambda c: c["id"])
        chosen.sort(key=lambda c: c["date"], reverse=True)  # stable: ties keep id order
        total = len(chosen)
        total_pages = -(-total // size)

        def user_of(c):
            if c["user_id"] is None and c["user_name"] is None and c["user_email"] is None:
                return None
            return {"id": c["user_id"], "name": c["user_name"], "email": c["user_email"]}

        data["items"] = {
            "data": [
                {
                    "id": c["id"],
                    "user": user_of(c),
                    "allo_number": c["allo_number"],
                    "allo_number_label": c["allo_number_label"],
                    "contact_number": c["contact_number"],
                    "stage": stage_of(c),
                    "voicemail": c["result"] == "VOICEMAIL",
                    "duration": c["duration"],
                    "date": utc_text(c["date"]),
                }
                for c in chosen[(page - 1) * size: page * size]
            ],
            "pagination": {
                "page": page,
                "size": size,
                "total_count": total,
                "total_pages": total_pages,
                "has_more": page < total_pages,
            },
        }

    check_invariants(data, cur)
    return {"data": data}


def check_invariants(data, cur):
    funnel = {k: v["count"]["value"] for k, v in data["funnel"].items()}
    assert funnel["dials"] >= funnel["connected"] >= funnel["conversations"]
    assert funnel["conversions"] <= funnel["dials"]
    series = data["time_series"]
    for name in ("dials", "connected", "conversions"):
        assert sum(p["value"] for p in series[name]) == funnel[name], name
    assert sum(c["value"] for c in data["heatmap"]["dials"]) == funnel["dials"]
    assert len(data["heatmap"]["dials"]) == 168
    with_user = sum(1 for c in cur if c["user_id"] is not None and c["result"] in CONNECTED)
    assert sum(e["connected"] for e in data["leaderboard"]) == with_user
    if "items" in data:
        assert data["items"]["pagination"]["total_count"] in funnel.values()


def main():
    global EXACT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("request")
    parser.add_argument("--calls", default=os.path.join(HERE, "calls.csv"))
    parser.add_argument("--exact", action="store_true")
    parser.add_argument("--input-tz", default="UTC")
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    EXACT = args.exact
    with open(args.request, encoding="utf-8") as handle:
        request = json.load(handle)
    calls, rows_read, duplicates = read_calls(args.calls, ZoneInfo(args.input_tz))
    if args.report:
        print("rows_read=%d duplicates=%d calls=%d" % (rows_read, duplicates, len(calls)),
              file=sys.stderr)
    response = compute(calls, request)
    for note in HALF_NOTES:
        print("note: " + note, file=sys.stderr)
    print(json.dumps(response, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
