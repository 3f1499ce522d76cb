#!/usr/bin/env python3
"""Where the bytes of the wasm module go, grouped by the crate (or part of ours) whose code they are.

Input: `twiggy top -n 100000 --format csv` of a module built with names kept (the std-rebuilt
module through `wasm-bindgen --keep-debug`). Custom sections (names, producers) are left out:
the package ships without them. An item counts for the outermost path of its name, so a
serde function instantiated for our types counts as serde, and our derived visitors as ours.
Usage: python3 bench/lib/size-groups.py twiggy.csv
"""
import csv
import re
import sys

GROUPS = [
    ("core/alloc generic code", r"^(<)?(core|alloc|std)::(?!fmt|num::(flt2dec|dec2flt|fmt))"),
    ("formatting machinery (core::fmt)", r"^(<)?core::fmt"),
    ("float formatting and parsing", r"flt2dec|dec2flt|core::num::fmt|float"),
    ("serde_json", r"serde_json"),
    ("serde-wasm-bindgen", r"serde_wasm_bindgen"),
    ("serde (derive visitors, de machinery)", r"^(<)?(serde|serde_core)::|_::<impl serde"),
    ("wasm-bindgen / js-sys / web-sys", r"wasm_bindgen|js_sys|web_sys|__wbg|__wbindgen|externref"),
    ("gloo", r"gloo"),
    ("async plumbing (futures, wasm-bindgen-futures)", r"futures|PollFn|Waker|poll"),
    ("collections (hashbrown)", r"hashbrown"),
    ("allocator (talc)", r"talc"),
    ("base64ct, form_urlencoded, http, itoa", r"base64ct|form_urlencoded|itoa|^(<)?http::"),
]
OURS = r"tokenkeeper::(logic::session|logic::\w+|browser::\w+|js|platform)"


def group_of(name):
    if name.startswith("data segment"):
        return "data segments (strings, tables)"
    ours = re.search(OURS, name)
    outer = re.match(r"^<?([\w:]+)", name)
    # The outermost path decides: `<serde_wasm_bindgen::de::Deserializer as ...>` is swb's.
    head = outer.group(1) if outer else name
    if head.startswith("tokenkeeper::") and ours:
        return "our crate: " + ours.group(1).split("::", 1)[-1]
    for label, pattern in GROUPS:
        if re.search(pattern, head) or (not ours and re.search(pattern, name)):
            return label
    if ours:
        return "our crate: " + ours.group(1).split("::", 1)[-1]
    return "other (types, table, elements, unnamed)"


def main(path):
    totals = {}
    counts = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            name, size = row["Name"], int(row["ShallowSize"])
            if "subsection" in name or name.startswith("custom section"):
                continue
            g = group_of(name)
            totals[g] = totals.get(g, 0) + size
            counts[g] = counts.get(g, 0) + 1
    whole = sum(totals.values())
    print("| group | raw KB | share | items |")
    print("|---|---:|---:|---:|")
    for g, size in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"| {g} | {size / 1000:.1f} | {100 * size / whole:.1f} % | {counts[g]} |")
    print(f"| **total** | **{whole / 1000:.1f}** | | {sum(counts.values())} |")


if __name__ == "__main__":
    main(sys.argv[1])
