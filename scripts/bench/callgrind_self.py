#!/usr/bin/env python3
"""Self instruction counts (Ir) of a callgrind.out file, by object.

Usage: callgrind_self.py callgrind.out.PID [OBJECT_SUBSTRING]
Prints "<object> <Ir>" per object, or only the total of the objects whose
name contains OBJECT_SUBSTRING. Self cost: the cost lines of each function
block, without the inclusive cost lines that follow a calls= line.
Handles callgrind's name compression ("ob=(3) /path", later "ob=(3)").
"""
import collections
import re
import sys


def self_costs(path):
    names = {}
    cost = collections.Counter()
    ob = None
    skip_next = False
    events = None
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("events:"):
            events = line.split()[1:]
            continue
        m = re.match(r"^ob=(?:\((\d+)\))?\s*(.*)$", line)
        if m:
            key, name = m.groups()
            if key and name:
                names[key] = name
            ob = names.get(key, name) if key else name
            continue
        if line.startswith("calls="):
            skip_next = True
            continue
        if line and (line[0].isdigit() or line[0] in "+-*"):
            if skip_next:
                skip_next = False
                continue
            parts = line.split()
            if len(parts) >= 2 and ob is not None:
                cost[ob] += int(parts[1])
            continue
        # cob=, cfn=, cfi=, fn=, fl=, fi=, fe= and headers: no cost.
        m = re.match(r"^c?ob=\((\d+)\)\s+(.+)$", line)
        if m:
            names[m.group(1)] = m.group(2)
    if events and events[0] != "Ir":
        sys.exit(f"{path}: first event is {events[0]}, not Ir")
    return cost


def main():
    cost = self_costs(sys.argv[1])
    if len(sys.argv) > 2:
        print(sum(v for k, v in cost.items() if sys.argv[2] in k))
    else:
        for k, v in cost.most_common():
            print(k, v)


if __name__ == "__main__":
    main()
