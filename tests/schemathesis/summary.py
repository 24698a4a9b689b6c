"""The numbers of one schemathesis run (tests/schemathesis/run.sh): cases
generated, passed and failed (from its summary), failures and operations
(from its JUnit report), as a few `key: value` lines.

    summary.py JUNIT STDOUT MODE SEED SECONDS EXIT_STATUS [KNOWN]

With KNOWN (tests/schemathesis/known.txt), the failures it lists are counted
apart; the last two lines are `new conformance failures: N` (an ST201 or
ST202 it does not list) and `other failures: N` (every other failed check:
a server error, a response that breaks the document; errors; and a run
that did not complete).
"""

import re
import sys
import xml.etree.ElementTree as ET

junit, stdout, mode, seed, seconds, status = sys.argv[1:7]
known = set()
if len(sys.argv) > 7:
    for line in open(sys.argv[7], encoding="utf-8"):
        if line.strip() and not line.startswith("#"):
            op, check, _why = (p.strip() for p in line.split("|", 2))
            assert check in ("ST201", "ST202"), f"only conformance failures may be known: {line}"
            known.add((op, check))
text = open(stdout, encoding="utf-8", errors="replace").read()


def count(pattern):
    m = re.search(pattern, text)
    return int(m.group(1)) if m else 0


operations = failing_operations = failures = errors = 0
new = []
seen_known = 0
try:
    for case in ET.parse(junit).getroot().iter("testcase"):
        operations += 1
        found = len(case.findall("failure"))
        for f in case.findall("failure"):
            if (case.attrib.get("name"), f.attrib.get("message")) in known:
                seen_known += 1
            else:
                new.append(f"{case.attrib.get('name')} {f.attrib.get('message')}")
        failures += found
        errors += len(case.findall("error"))
        failing_operations += 1 if found else 0
except (OSError, ET.ParseError):
    pass

lines = {
    "mode": mode,
    "seed": seed,
    "seconds": seconds,
    "operations": operations,
    "cases generated": count(r"(\d+) generated"),
    "unique failures": count(r"(\d+) unique failures"),
    "cases skipped": count(r"(\d+) skipped"),
    "failures": failures,
    "errors": errors,
    "operations failing": failing_operations,
    "exit status": status,
    "known failures (tests/schemathesis/known.txt)": seen_known,
}
for k, v in lines.items():
    print(f"{k}: {v}")
# The plain closing line of a test runner.
m = re.search(r"=+ (.*) in [0-9.]+s =+", text)
print(f"final line: {m.group(1) if m else '?'}")
conformance = [n for n in new if n.endswith((" ST201", " ST202"))]
other = [n for n in new if n not in conformance]
for n in new:
    print(f"new failure: {n}")
print(f"new conformance failures: {len(conformance)}")
# A run that did not run (hooks that fail to load, a document that does not
# parse: exit status 2 or more, no operation tested, no closing line) is a
# failure too, never a pass with nothing counted.
broken = 1 if (status not in ("0", "1") or operations == 0 or not m) else 0
if broken:
    print("the run did not complete: no operation tested, or schemathesis failed to start")
print(f"other failures: {len(other) + errors + broken}")
