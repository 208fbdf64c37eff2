#!/usr/bin/env python3
"""Regenerates sample_data/calls.csv, the sample outbound call log of callfunnel.

Run from anywhere:  python3 sample_data/generate_sample.py
It writes sample_data/calls.csv next to this script. Standard library only,
fixed seed: the same Python 3 always writes the same bytes. The expected
responses in sample_data/expected_*.json (computed by expected.py) and the
figures hard-coded in tests/it/sample.rs depend on that exact file, so after
changing anything here, rerun expected.py and update the tests.

What the log holds (canonical CSV, SPEC section 1 column names):
- about 3,000 calls, 2024-02-19 .. 2024-03-31 in Europe/Paris local time,
  mostly Monday-Friday 08:00-18:59, a few evenings and weekends;
- 6 reps (one "Zoë Müller", one "Łukasz Nowak"; "Sam Carter" is renamed
  "Samuel Carter", with a new email, from 2024-03-11 on), and a few calls
  with no user at all;
- 3 Allo numbers labelled "Sales US", "Sales FR" and "Support";
- results: ~35% ANSWERED, a few TRANSFERRED, ~15% VOICEMAIL, NO_ANSWER, BUSY,
  FAILED, CANCELED and some empty (unknown), a few in lower or mixed case;
- duration 0 (or an empty cell) when not connected; connected calls spread
  from a few seconds to many minutes with a mass around 45-75 s, including
  calls of exactly 60 and 61 s;
- ringing_seconds in quarter seconds (3.5, 12, 27.25, ...), some unknown;
- tags from {demo_booked, qualified, follow_up, not_interested}, `;`-joined,
  in mixed case (e.g. "Demo_Booked;qualified");
- some INBOUND calls and a few SMS rows;
- timestamps in UTC `Z` form, some with `+01:00` / `+02:00` offsets;
- a handful of hand-placed calls: around local midnight at the edges of the
  2024-03-04..2024-03-17 period, two conversations dialled at the same
  instant (drilldown tie-break), calls of exactly 60 and 61 s, a conversation
  without a user, and the latest row of all is an inbound SMS;
- 3 duplicate ids: a corrected row for an earlier call, appended at the end
  (the occurrence read last wins).
"""

import csv
import os
import random
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

SEED = 20240304
PARIS = ZoneInfo("Europe/Paris")
UTC = timezone.utc
FIRST_DAY = date(2024, 2, 19)
LAST_DAY = date(2024, 3, 31)

FIELDS = [
    "id", "date", "direction", "type", "user_id", "user_name", "user_email",
    "allo_number", "allo_number_label", "contact_number", "result", "duration",
    "ringing_seconds", "tags",
]

NUMBERS = {
    "US": ("+14155550142", "Sales US"),
    "FR": ("+33187651234", "Sales FR"),
    "SUP": ("+33187659900", "Support"),
}

# (user_id, name, email, main number, share of the calls, connect skill)
REPS = [
    ("usr-4k2m9q", "Alice Martin", "alice.martin@example.com", "US", 0.20, 1.00),
    ("usr-7b1x3d", "Zoë Müller", "zoe.mueller@example.com", "FR", 0.18, 1.10),
    ("usr-9f8e2a", "Łukasz Nowak", "lukasz.nowak@example.com", "FR", 0.17, 0.95),
    ("usr-2c5v7n", "Sam Carter", "sam.carter@example.com", "US", 0.19, 0.90),
    ("usr-6h3j8p", "Priya Shah", "priya.shah@example.com", "SUP", 0.14, 1.05),
    ("usr-1a9z4w", "Mathéo Girard", "matheo.girard@example.com", "FR", 0.12, 0.85),
]
RENAMED = ("usr-2c5v7n", date(2024, 3, 11), "Samuel Carter", "samuel.carter@example.com")

TAG_CASES = {
    "demo_booked": ["demo_booked", "demo_booked", "Demo_Booked", "DEMO_BOOKED"],
    "qualified": ["qualified", "qualified", "Qualified"],
    "follow_up": ["follow_up", "follow_up", "Follow_Up"],
    "not_interested": ["not_interested", "Not_Interested"],
}

rng = random.Random(SEED)
used_ids = set()


def new_id():
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    while True:
        candidate = "cll-" + "".join(rng.choice(alphabet) for _ in range(10))
        if candidate not in used_ids:
            used_ids.add(candidate)
            return candidate


def contact_for(number_key):
    if number_key == "US":
        return "+1" + rng.choice(["212", "415", "646", "312", "617"]) + "555" + "%04d" % rng.randrange(10000)
    if number_key == "FR":
        return "+33" + rng.choice(["6", "7"]) + "%08d" % rng.randrange(10**8)
    return "+33" + rng.choice(["1", "4", "6"]) + "%08d" % rng.randrange(10**8)


def quarter(low, high):
    """A ringing time in quarter seconds between low and high."""
    return rng.randrange(int(low * 4), int(high * 4) + 1) / 4


def fmt_seconds(value):
    return ("%d" % value) if value == int(value) else ("%g" % value)


def format_date(instant_utc):
    """Z form mostly; some rows written with the Paris offset, a few with +02:00."""
    roll = rng.random()
    if roll < 0.80:
        return instant_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    if roll < 0.94:
        local = instant_utc.astimezone(PARIS)
    else:
        local = instant_utc.astimezone(timezone(timedelta(hours=2)))
    return local.isoformat(timespec="seconds")


def pick_result(skill, number_key):
    answered = 0.35 * skill
    weights = [
        ("ANSWERED", answered),
        ("TRANSFERRED", 0.03 if number_key != "SUP" else 0.07),
        ("VOICEMAIL", 0.15),
        ("NO_ANSWER", 0.24),
        ("BUSY", 0.07),
        ("FAILED", 0.04),
        ("CANCELED", 0.05),
        ("", 0.04),
    ]
    total = sum(w for _, w in weights)
    roll = rng.random() * total
    for name, weight in weights:
        roll -= weight
        if roll < 0:
            return name
    return "NO_ANSWER"


def connected_duration():
    roll = rng.random()
    if roll < 0.25:
        return rng.randint(3, 44)
    if roll < 0.62:
        if rng.random() < 0.12:
            return rng.choice([60, 61])
        return rng.randint(45, 75)
    if roll < 0.90:
        return rng.randint(76, 420)
    return rng.randint(421, 1500)


def pick_tags(result, duration):
    connected = result in ("ANSWERED", "TRANSFERRED")
    keys = []
    if connected:
        if duration > 60 and rng.random() < 0.22:
            keys.append("demo_booked")
        if rng.random() < 0.30:
            keys.append("qualified")
        if rng.random() < 0.15:
            keys.append("follow_up")
        if not keys and rng.random() < 0.20:
            keys.append("not_interested")
    else:
        if result == "VOICEMAIL" and rng.random() < 0.25:
            keys.append("follow_up")
        if rng.random() < 0.012:
            keys.append("demo_booked")
    rng.shuffle(keys)
    return ";".join(rng.choice(TAG_CASES[key]) for key in keys)


def user_fields(rep, day):
    user_id, name, email = rep[0], rep[1], rep[2]
    if user_id == RENAMED[0] and day >= RENAMED[1]:
        name, email = RENAMED[2], RENAMED[3]
    return user_id, name, email


def make_call(instant_utc, rep, number_key, direction="OUTBOUND", kind="CALL"):
    local_day = instant_utc.astimezone(PARIS).date()
    if rep is None:
        user_id = name = email = ""
    else:
        user_id, name, email = user_fields(rep, local_day)
    allo_number, label = NUMBERS[number_key]
    result = pick_result(rep[5] if rep else 1.0, number_key)
    duration = connected_duration() if result in ("ANSWERED", "TRANSFERRED") else 0
    if result in ("ANSWERED", "TRANSFERRED"):
        ringing = quarter(2, 25)
    elif result == "VOICEMAIL":
        ringing = quarter(18, 32)
    elif result in ("NO_ANSWER", ""):
        ringing = quarter(25, 45)
    elif result == "BUSY":
        ringing = quarter(0.5, 4)
    else:
        ringing = quarter(0, 6)
    ringing_cell = "" if rng.random() < 0.09 else fmt_seconds(ringing)
    if duration == 0 and rng.random() < 0.15:
        duration_cell = ""
    else:
        duration_cell = str(duration)
    if kind == "SMS":
        result, duration_cell, ringing_cell = "", "", ""
    result_cell = result
    if result and rng.random() < 0.02:
        result_cell = result.lower() if rng.random() < 0.5 else result.capitalize()
    direction_cell = direction
    if rng.random() < 0.01:
        direction_cell = direction.lower()
    return {
        "id": new_id(),
        "date": format_date(instant_utc),
        "direction": direction_cell,
        "type": kind,
        "user_id": user_id,
        "user_name": name,
        "user_email": email,
        "allo_number": allo_number,
        "allo_number_label": label,
        "contact_number": contact_for(number_key),
        "result": result_cell,
        "duration": duration_cell,
        "ringing_seconds": ringing_cell,
        "tags": pick_tags(result, duration) if kind == "CALL" else "",
        "_instant": instant_utc,
    }


def local_instant(day, hour, minute, second):
    return datetime.combine(day, time(hour, minute, second), tzinfo=PARIS).astimezone(UTC)


def pick_rep():
    roll = rng.random() * sum(rep[4] for rep in REPS)
    for rep in REPS:
        roll -= rep[4]
        if roll < 0:
            return rep
    return REPS[-1]


def number_for(rep):
    if rep[3] == "SUP" or rng.random() < 0.85:
        return rep[3]
    return rng.choice(["US", "FR", "SUP"])


def working_hour(number_key):
    # US prospects are reached in the late afternoon, Paris time.
    if number_key == "US":
        hours = [9, 10, 11, 14, 15, 15, 16, 16, 17, 17, 18, 18]
    else:
        hours = [8, 9, 9, 10, 10, 11, 11, 12, 14, 14, 15, 15, 16, 16, 17, 18]
    return rng.choice(hours)


def generate():
    rows = []
    day = FIRST_DAY
    while day <= LAST_DAY:
        weekday = day.weekday()
        if weekday < 5:
            volume = rng.randint(86, 110)
        else:
            volume = rng.randint(2, 6)
        for _ in range(volume):
            rep = pick_rep() if rng.random() > 0.012 else None
            number_key = number_for(rep) if rep else rng.choice(["US", "FR", "SUP"])
            if weekday < 5 and rng.random() > 0.04:
                hour = working_hour(number_key)
            else:
                hour = rng.choice([7, 10, 13, 19, 20, 21])
            instant = local_instant(day, hour, rng.randrange(60), rng.randrange(60))
            roll = rng.random()
            if roll < 0.09:
                row = make_call(instant, rep, number_key, direction="INBOUND")
            elif roll < 0.11:
                direction = "OUTBOUND" if rng.random() < 0.6 else "INBOUND"
                row = make_call(instant, rep, number_key, direction=direction, kind="SMS")
            else:
                row = make_call(instant, rep, number_key)
            rows.append(row)
        day += timedelta(days=1)
    return rows


def special_rows():
    """Hand-placed calls that pin down edge cases."""
    alice, zoe, lukasz, sam, priya, matheo = REPS
    rows = []

    def add(instant_utc, rep, number_key, result, duration, ringing, tags, date_text=None,
            direction="OUTBOUND", kind="CALL", call_id=None):
        row = make_call(instant_utc, rep, number_key, direction=direction, kind=kind)
        if call_id is not None:
            used_ids.discard(row["id"])
            used_ids.add(call_id)
            row["id"] = call_id
        row["result"] = result
        row["duration"] = duration
        row["ringing_seconds"] = ringing
        row["tags"] = tags
        row["date"] = date_text or instant_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(row)

    def utc(text):
        return datetime.fromisoformat(text).astimezone(UTC)

    # Local midnight edges of 2024-03-04..2024-03-17 (Europe/Paris, UTC+1).
    add(utc("2024-03-03T23:15:00+00:00"), zoe, "FR", "ANSWERED", "61", "3.5", "Demo_Booked;qualified")
    add(utc("2024-03-03T22:59:59+00:00"), zoe, "FR", "NO_ANSWER", "0", "27.25", "")
    add(utc("2024-03-04T00:30:00+01:00"), lukasz, "FR", "ANSWERED", "60", "12", "qualified",
        date_text="2024-03-04T00:30:00+01:00")
    add(utc("2024-03-17T22:45:00+00:00"), alice, "US", "ANSWERED", "95", "7.75", "demo_booked")
    add(utc("2024-03-17T23:40:00+00:00"), alice, "US", "ANSWERED", "130", "6", "demo_booked")
    add(utc("2024-03-18T00:10:00+01:00"), sam, "US", "VOICEMAIL", "0", "", "",
        date_text="2024-03-18T00:10:00+01:00")
    add(utc("2024-02-18T23:30:00+00:00"), priya, "SUP", "TRANSFERRED", "240", "9.5", "follow_up")
    # Two conversations dialled at the same instant (drilldown: id ascending).
    add(utc("2024-03-15T17:30:00+00:00"), sam, "US", "ANSWERED", "187", "4.25", "DEMO_BOOKED",
        call_id="cll-zz7tiebrk2")
    add(utc("2024-03-15T18:30:00+01:00"), lukasz, "FR", "TRANSFERRED", "75", "5",
        "follow_up", date_text="2024-03-15T18:30:00+01:00", call_id="cll-aa3tiebrk1")
    # A conversation with no user at all (drilldown "user": null).
    add(utc("2024-03-15T16:40:00+00:00"), None, "SUP", "ANSWERED", "310", "11.5", "demo_booked")
    # Exactly at the threshold and one second above, inside the period.
    add(utc("2024-03-12T09:20:00+00:00"), priya, "SUP", "ANSWERED", "60", "8", "demo_booked")
    add(utc("2024-03-12T09:25:00+00:00"), priya, "SUP", "ANSWERED", "61", "8.25", "")
    add(utc("2024-03-13T14:02:00+00:00"), matheo, "FR", "TRANSFERRED", "60", "", "Qualified")
    add(utc("2024-03-13T14:09:00+00:00"), matheo, "FR", "TRANSFERRED", "61", "", "")
    # A tagged call that never connected still converts.
    add(utc("2024-03-07T10:11:00+00:00"), alice, "US", "VOICEMAIL", "0", "24.5", "demo_booked;FOLLOW_UP")
    # The latest row of all: an inbound SMS (last_updated is taken before filters).
    add(utc("2024-03-31T23:42:17+02:00"), priya, "SUP", "", "", "", "",
        date_text="2024-03-31T23:42:17+02:00", direction="INBOUND", kind="SMS")
    return rows


def corrections(rows):
    """Three later rows for calls already in the log: the later one wins."""
    def pick(predicate):
        candidates = [r for r in rows if predicate(r)]
        return candidates[len(candidates) // 3]

    def in_current(row):
        local = row["_instant"].astimezone(PARIS).date()
        return date(2024, 3, 4) <= local <= date(2024, 3, 17)

    plain = lambda r: r["type"] == "CALL" and r["direction"] == "OUTBOUND" and r["user_id"]
    fixes = []
    # 1. NO_ANSWER that was in fact answered, long, and booked a demo.
    first = pick(lambda r: plain(r) and in_current(r) and r["result"] == "NO_ANSWER")
    fixed = dict(first, result="ANSWERED", duration="143", tags="demo_booked")
    fixes.append(fixed)
    # 2. An answered call whose tags were added afterwards.
    second = pick(lambda r: plain(r) and in_current(r) and r["result"] == "ANSWERED"
                  and r["tags"] == "" and int(r["duration"]) > 60 and r is not first)
    fixes.append(dict(second, tags="Qualified;Demo_Booked"))
    # 3. A call exported twice with its duration corrected, in the previous period.
    third = pick(lambda r: plain(r) and not in_current(r) and r["result"] == "ANSWERED"
                 and r["_instant"].astimezone(PARIS).date() < date(2024, 3, 4))
    fixes.append(dict(third, duration=str(int(third["duration"]) + 17)))
    return fixes


def main():
    rows = generate() + special_rows()
    rows.sort(key=lambda r: (r["_instant"], r["id"]))
    # The two calls dialled at the same instant: put the greater id first in the
    # file, so that only the id tie-break (not the file order) lists them right.
    first = next(i for i, r in enumerate(rows) if r["id"] == "cll-aa3tiebrk1")
    second = next(i for i, r in enumerate(rows) if r["id"] == "cll-zz7tiebrk2")
    rows[first], rows[second] = rows[second], rows[first]
    rows += corrections(rows)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "calls.csv")
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=FIELDS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print("wrote %d rows (%d unique ids) to %s" % (len(rows), len(used_ids), path))


if __name__ == "__main__":
    main()
