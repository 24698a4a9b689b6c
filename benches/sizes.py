"""Bytes of code and read-only data by crate, from a GNU ld map file (see
benches/sizes.sh). Prints a Markdown table."""

import collections
import re
import subprocess
import sys

KINDS = (".text", ".rodata", ".data.rel.ro", ".gcc_except_table")
# lld's map: VMA, LMA, size, alignment, then an output section's name, an
# input section (`file:(name)`) or a symbol, indented by depth.
ROW = re.compile(r"^\s*[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+ (\s*)(\S.*)$")


def sections(path):
    """(output sections and their sizes, [(kind, symbol, bytes)] of the
    input sections of code and constants)."""
    outputs, inputs = {}, []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = ROW.match(line)
            if not m:
                continue
            size, indent, rest = int(m.group(1), 16), m.group(2), m.group(3)
            if not indent:
                outputs[rest] = outputs.get(rest, 0) + size
                continue
            at = rest.rfind(":(")
            if at < 0 or not rest.endswith(")"):
                continue
            name = rest[at + 2 : -1]
            kind = next((k for k in KINDS if name == k or name.startswith(k + ".")), None)
            if kind is not None:
                inputs.append((kind, name[len(kind) + 1 :], size))
    return outputs, inputs


def demangle(symbols):
    proc = subprocess.run(
        ["c++filt"], input="\n".join(symbols), capture_output=True, text=True, check=False
    )
    out = proc.stdout.splitlines()
    return out if proc.returncode == 0 and len(out) == len(symbols) else symbols


def crate_of(name):
    """The crate a demangled Rust path belongs to: its first component, or
    the trait impl's self type's (`<serde_json::Value as Debug>::fmt`)."""
    n = name
    # A drop glue or a blanket impl belongs to the type it is for.
    for prefix in ("core::ptr::drop_in_place<", "<core::ptr::drop_in_place<"):
        while n.startswith(prefix):
            n = n[len(prefix) :]
    n = n.lstrip("<&*")
    if re.match(r"^(ecp_nistz|p256_|p384_|ring_core_|GFp_|x25519_|chacha20_|aes_hw|bn_|LIMBS_|CRYPTO_|sha256_|sha512_|gcm_)", n):
        return "ring"
    n = re.sub(r"^(dyn |mut |const )+", "", n)
    if n.startswith("_ZN") or n.startswith("_R"):
        return "(unmangled)"
    head = re.split(r"::|<| as |\[|\(", n, maxsplit=1)[0].strip()
    if not head or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", head):
        return "(other)"
    return head


def main():
    path, label = sys.argv[1], sys.argv[2]
    outputs, rows = sections(path)
    names = demangle([s for _, s, _ in rows])
    by_crate = collections.Counter()
    by_kind = collections.Counter()
    for (kind, symbol, size), name in zip(rows, names):
        crate = crate_of(name) if symbol and not symbol.startswith(".") else "(unattributed)"
        if crate in ("(other)",) and kind != ".text":
            crate = "(unattributed)"
        by_crate[crate] += size
        by_kind[kind] += size
    total = sum(by_crate.values())
    image = sum(v for k, v in outputs.items() if not k.startswith(".debug") and k not in (".symtab", ".strtab", ".comment"))
    print(f"\n`{label}`: output sections (loaded image {image / 1e6:.2f} MB): "
          + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sorted(outputs.items(), key=lambda kv: -kv[1])[:8]))
    print(f"\n`{label}`: {total / 1e6:.2f} MB of code and constants "
          + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in by_kind.most_common()))
    print("\n| crate | bytes | share |\n| --- | ---: | ---: |")
    shown = 0
    for crate, size in by_crate.most_common():
        if shown == 20:
            break
        print(f"| `{crate}` | {size:,} | {100 * size / total:.1f}% |")
        shown += 1
    rest = total - sum(s for _, s in by_crate.most_common(20))
    if rest:
        print(f"| (the others) | {rest:,} | {100 * rest / total:.1f}% |")


if __name__ == "__main__":
    main()
