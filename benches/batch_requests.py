#!/usr/bin/env python3
"""Write the request streams benches/batch.sh times, one JSON request a line.

  replay    the 83 allow and deny cases of tests/conformance/global-2016.json
            in turn: every line repeats one of 83.
  audit     an audit log: each line one of those 83 processing records with a
            context of its own (an age from 0 to 99, consent to 0-2 purposes,
            Do Not Track on or off), so almost every line is new text while
            the policy can tell only a few contexts apart.
  distinct  questions drawn at random from the whole standard vocabulary
            (1-3 data categories, a purpose, a recipient, an action, a
            context as above): nearly every request is one the policy has
            not decided before, so keeping decisions cannot help.

Usage: batch_requests.py COUNT DIRECTORY   (writes DIRECTORY/STREAM.jsonl)
"""

import json
import random
import re
import sys

count, directory = int(sys.argv[1]), sys.argv[2]
rng = random.Random(2016)

cases = json.load(open("tests/conformance/global-2016.json"))["cases"]
records = [c["request"] for c in cases if c.get("expect") in ("allow", "deny")]

std = open("policies/std/std.privet").read()
vocabulary = {
    kind: re.findall(rf"^{kind} ([a-z_.]+)", std, re.MULTILINE)
    for kind in ("data", "purpose", "recipient", "action", "subject")
}
consentable = ["marketing", "analytics", "personalize", "functional.service.improve"]


def context():
    facts = {"subject_age": rng.randrange(100)}
    consent = rng.sample(consentable, rng.randrange(3))
    if consent:
        facts["consent"] = consent
    if rng.random() < 0.2:
        facts["dnt"] = True
    return facts


def audit():
    request = dict(rng.choice(records))
    request["context"] = {**request.get("context", {}), **context()}
    return request


def distinct():
    request = {
        "data": rng.sample(vocabulary["data"], rng.randrange(1, 4)),
        "purpose": rng.choice(vocabulary["purpose"]),
        "recipient": rng.choice(vocabulary["recipient"]),
        "action": rng.choice(vocabulary["action"]),
        "context": context(),
    }
    if rng.random() < 0.5:
        request["subject"] = rng.choice(vocabulary["subject"])
    return request


streams = {
    "replay": lambda i: records[i % len(records)],
    "audit": lambda i: audit(),
    "distinct": lambda i: distinct(),
}
for name, make in streams.items():
    lines = [json.dumps(make(i), separators=(",", ":")) for i in range(count)]
    with open(f"{directory}/{name}.jsonl", "w") as out:
        out.write("\n".join(lines) + "\n")
    print(f"{name}: {count} requests, {len(set(lines))} distinct lines", file=sys.stderr)
with open(f"{directory}/one.jsonl", "w") as out:
    out.write(json.dumps(records[0], separators=(",", ":")) + "\n")
