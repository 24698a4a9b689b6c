"""The numbers of one schemathesis run (tests/schemathesis/run.sh): cases
generated, passed and failed (from its summary), failures and operations
(from its JUnit report), as a few `key: value` lines.

    summary.py JUNIT STDOUT MODE SEED SECONDS EXIT_STATUS
"""

import re
import sys
import xml.etree.ElementTree as ET

junit, stdout, mode, seed, seconds, status = sys.argv[1:7]
text = open(stdout, encoding="utf-8", errors="replace").read()


def count(pattern):
    m = re.search(pattern, text)
    return int(m.group(1)) if m else 0


operations = failing_operations = failures = errors = 0
try:
    for case in ET.parse(junit).getroot().iter("testcase"):
        operations += 1
        found = len(case.findall("failure"))
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
}
for k, v in lines.items():
    print(f"{k}: {v}")
# The plain closing line of a test runner.
m = re.search(r"=+ (.*) in [0-9.]+s =+", text)
print(f"final line: {m.group(1) if m else '?'}")
